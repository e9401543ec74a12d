"""llasmol.evaluate"""
