"""dlt sources, one module per vendor. Plain dlt: no Dagster here, so each runs alone."""
