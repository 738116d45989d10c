"""intfp.sim"""
