"""`altor eval`: the pipeline scored on a world against the world's `truth/`."""
