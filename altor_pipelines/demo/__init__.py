"""The simulated company: a world generator, its vendor API servers and a ClickHouse loader."""
