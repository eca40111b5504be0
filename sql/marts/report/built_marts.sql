-- The marts present in the warehouse (the report rebuilds them when one is missing).
SELECT table_name FROM duckdb_tables() WHERE schema_name = 'marts'
