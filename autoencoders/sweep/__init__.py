"""Sweeps: a grid into configs, scheduled locally or on Ray, with warm worker processes."""
