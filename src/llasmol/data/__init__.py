"""llasmol.data"""
