"""intfp.rtl"""
