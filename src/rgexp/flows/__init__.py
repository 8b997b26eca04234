"""rgexp.flows"""
