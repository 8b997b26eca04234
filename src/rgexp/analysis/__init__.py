"""rgexp.analysis"""
