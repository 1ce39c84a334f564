"""The figures an ingest run ends with: files and rows passed, quarantined and failed, and pass rates."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import polars as pl

OUTCOME_SCHEMA: dict[str, pl.DataType] = {
    "path": pl.String(),
    "status": pl.String(),
    "rows_read": pl.UInt64(),
    "rows_loaded": pl.UInt64(),
    "rows_quarantined": pl.UInt64(),
    "rows_duplicate": pl.UInt64(),
    "reasons": pl.String(),
    "zone_rule": pl.String(),  # "<rule>:<zone>"; rules venue/default_utc mean a default zone was assumed
}
DEFAULT_ZONE_RULES = ("venue", "default_utc")


@dataclass(frozen=True)
class IngestSummary:
    files_seen: int
    files_skipped: int
    files_loaded: int
    files_partial: int
    files_quarantined: int
    files_failed: int
    files_duplicate: int  # the same bytes already settled under another path: reported, not loaded again
    files_unreadable: int  # landing entries skipped unopened: links to nowhere, FIFOs, devices, too large
    rows_read: int
    rows_loaded: int
    rows_quarantined: int
    rows_duplicate: int
    pass_rate_files: float  # files that loaded (wholly or partly) / files judged (duplicates and skipped entries aside)
    pass_rate_rows: float  # rows loaded / rows read
    files_zone_defaulted: int = 0  # files whose naive times were read in a default zone (no statement, no option)
    zone_defaults: tuple[str, ...] = ()  # those default rules, e.g. ("default_utc:UTC",)

    @property
    def ok(self) -> bool:
        """A run succeeds when nothing failed; quarantine is a normal, reported outcome."""
        return self.files_failed == 0

    def as_dict(self) -> dict[str, object]:
        return {**asdict(self), "ok": self.ok}

    def warnings(self) -> list[str]:
        """Lines a person must see: naive times read in a zone nobody stated."""
        if not self.files_zone_defaulted:
            return []
        return [
            f"{self.files_zone_defaulted:,} files had naive times read in a default zone "
            f"({', '.join(self.zone_defaults)}); pass --timezone if that is wrong"
        ]

    def headline(self) -> str:
        processed = self.files_seen - self.files_skipped
        return (
            f"{self.files_seen:,} files seen, {self.files_skipped:,} unchanged, {processed:,} processed: "
            f"{self.pass_rate_files:.2%} passed ({self.files_loaded:,} loaded, {self.files_partial:,} partial), "
            f"{self.files_quarantined:,} quarantined, {self.files_duplicate:,} duplicate, "
            f"{self.files_unreadable:,} skipped, {self.files_failed:,} failed; "
            f"rows {self.rows_loaded:,} loaded / {self.rows_read:,} read, {self.rows_quarantined:,} quarantined"
        )


def summarize(outcomes: pl.DataFrame, files_seen: int, files_skipped: int) -> IngestSummary:
    """Aggregate per-file outcomes (``OUTCOME_SCHEMA``) of one run."""

    def count(status: str) -> int:
        return int(outcomes.filter(pl.col("status") == status).height)

    def total(column: str) -> int:
        return int(outcomes.get_column(column).sum() or 0) if outcomes.height else 0

    unchanged = count("unchanged")  # touched but unchanged: found out only by hashing
    judged = outcomes.height - unchanged - count("duplicate") - count("skipped")
    zones = (
        outcomes.get_column("zone_rule").fill_null("")
        if "zone_rule" in outcomes.columns
        else pl.Series([], dtype=pl.String)
    )
    defaulted = zones.filter(zones.str.split(":").list.first().is_in(DEFAULT_ZONE_RULES))
    passed = count("loaded") + count("partial")
    rows_read = total("rows_read")
    return IngestSummary(
        files_seen=files_seen,
        files_skipped=files_skipped + unchanged,
        files_loaded=count("loaded"),
        files_partial=count("partial"),
        files_quarantined=count("quarantined"),
        files_failed=count("failed"),
        files_duplicate=count("duplicate"),
        files_unreadable=count("skipped"),
        rows_read=rows_read,
        rows_loaded=total("rows_loaded"),
        rows_quarantined=total("rows_quarantined"),
        rows_duplicate=total("rows_duplicate"),
        pass_rate_files=passed / judged if judged else 1.0,
        pass_rate_rows=total("rows_loaded") / rows_read if rows_read else 1.0,
        files_zone_defaulted=defaulted.len(),
        zone_defaults=tuple(sorted(defaulted.unique().to_list())),
    )
