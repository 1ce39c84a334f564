"""Backup snapshots of the warm tier: the catalog and drills (``snapshots``), where they go (``target``), and the
Altinity clickhouse-backup driver; ``factory`` picks the target from the settings."""
