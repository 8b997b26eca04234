"""rgexp.rg"""
