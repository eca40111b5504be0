"""The simulated company and everything measured on it: the world generator, its vendor API
servers, the ClickHouse loader, simulated agents, the demo run, `altor eval` and the benchmarks.

The product (`altor_pipelines`) never imports this package; this package imports the product.
"""
