"""Benchmarks measured on a generated world (`make bench`)."""
