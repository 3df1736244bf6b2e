"""A local replica of the EKS lab, made of real processes (see replica.py)."""
