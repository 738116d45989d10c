"""intfp.analysis"""
