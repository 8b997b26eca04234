"""rgexp.models"""
