"""llasmol.train"""
