"""Dagster definitions by stage. Thin wrappers over plain functions in the package."""
