"""Operating the pipeline from a terminal: progress and logs, `altor doctor`, `altor run`."""
