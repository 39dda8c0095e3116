"""Evaluation: loss-independent metrics of a run, and the paired statistics that compare runs."""
