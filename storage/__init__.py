"""Adapters that own every side effect, by tier: warm/ (clickhouse-connect, embedded chDB or server), cold/ (Parquet),
hot/ (embedded | Hazelcast), backups/ (native BACKUP or clickhouse-backup)."""
