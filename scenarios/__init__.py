"""Shipped scenario files, installed as package data so `learncomm run community` works anywhere."""
