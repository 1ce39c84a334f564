"""Adapters that own every side effect: warm (chDB | clickhouse-connect), cold (Parquet), hot (embedded | Hazelcast)."""
