"""llasmol.serve"""
