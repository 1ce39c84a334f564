"""The cold tier: the Parquet cache (``store``), its checksummed manifest (``manifest``) and the DuckDB catalog."""
