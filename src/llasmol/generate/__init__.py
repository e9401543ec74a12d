"""llasmol.generate"""
