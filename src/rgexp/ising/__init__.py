"""rgexp.ising"""
