"""Duplicates across files: the same (venue, symbol, minute) delivered by two source files.

Identical copies are harmless (ReplacingMergeTree keeps one) and are dropped silently. Conflicting
copies are an anomaly naming both sources and the one kept: the file of greater precedence
(``core.fingerprint.file_precedence``: the larger file; ingest inserts only its copy, and later than what it
replaces), so the winner never depends on which file was ingested first or in which run. Here the copies are
ranked by ``version``: at ingest that column holds the precedence, in the store the load time (the later
insert is the winner by construction). Two versions of the same path are a
corrected re-delivery, not a conflict (the newer one supersedes the older at ingest).
"""

from __future__ import annotations

import polars as pl

from validation.catalogue import as_anomalies, empty_anomalies

_VALUES = ("open", "high", "low", "close", "volume")


def conflicting_copies(copies: pl.DataFrame, paths: pl.DataFrame) -> pl.DataFrame:
    """``copies``: venue, symbol, ts, source_id, version + the OHLCV values, for minutes stored by more than
    one source. ``paths``: source_id, path. Returns one ``duplicate_across_files`` anomaly per conflicting minute."""
    if copies.height == 0:
        return empty_anomalies()
    named = copies.join(paths.select("source_id", "path"), on="source_id", how="left").with_columns(
        pl.col("path").fill_null("?")
    )
    # One row per distinct (source, values): the same file's repeated inserts collapse here.
    named = named.unique(subset=["venue", "symbol", "ts", "source_id", *_VALUES])
    per_minute = (
        named.sort("version", descending=True)
        .group_by("venue", "symbol", "ts")
        .agg(
            pl.struct(*_VALUES).n_unique().alias("variants"),
            pl.col("path").n_unique().alias("paths"),
            pl.col("source_id").first().alias("source_id"),
            pl.col("path").first().alias("kept"),
            pl.col("path").get(1).alias("other"),
            pl.col("close").first().alias("kept_close"),
            pl.col("close").get(1).alias("other_close"),
        )
    )
    conflicts = per_minute.filter((pl.col("variants") > 1) & (pl.col("paths") > 1))
    if conflicts.height == 0:
        return empty_anomalies()
    conflicts = conflicts.with_columns(
        detail=pl.format(
            "conflicting values in {} (close {}, kept: larger file) and {} (close {})",
            "kept",
            "kept_close",
            "other",
            "other_close",
        )
    )
    return as_anomalies(conflicts.sort("venue", "symbol", "ts"), "duplicate_across_files")
