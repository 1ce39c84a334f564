"""The figures an ingest run ends with: files and rows passed, quarantined and failed, and pass rates."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields
from typing import Any

import polars as pl

from core.proportions import accounted, breakdown, share

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

    @classmethod
    def from_dict(cls, summary: Mapping[str, Any]) -> IngestSummary:
        """The summary of :meth:`as_dict` (a flow's result) back; a figure an older run did not report is 0."""
        values = {f.name: summary.get(f.name, 0) for f in fields(cls)}
        values["zone_defaults"] = tuple(summary.get("zone_defaults") or ())
        return cls(**values)

    @property
    def files_processed(self) -> int:
        """Files looked at this run: everything seen but the unchanged ones."""
        return self.files_seen - self.files_skipped

    @property
    def files_judged(self) -> int:
        """Processed files the gate judged: duplicates and unreadable landing entries are not judged."""
        return self.files_processed - self.files_duplicate - self.files_unreadable

    def file_outcomes(self) -> dict[str, int]:
        """What happened to each processed file; the values add up to :attr:`files_processed`."""
        return accounted(
            self.files_processed,
            {
                "loaded": self.files_loaded,
                "partial": self.files_partial,
                "quarantined": self.files_quarantined,
                "duplicate": self.files_duplicate,
                "skipped": self.files_unreadable,
                "failed": self.files_failed,
            },
        )

    def row_outcomes(self) -> dict[str, int]:
        """What happened to each row read; the values add up to ``rows_read``."""
        return accounted(
            self.rows_read,
            {
                "loaded": self.rows_loaded,
                "quarantined": self.rows_quarantined,
                "exact duplicates dropped": self.rows_duplicate,
            },
        )

    def as_dict(self) -> dict[str, object]:
        return {
            **asdict(self),
            "ok": self.ok,
            "files_processed": self.files_processed,
            "files_judged": self.files_judged,
            "file_outcomes": self.file_outcomes(),
            "row_outcomes": self.row_outcomes(),
        }

    def warnings(self) -> list[str]:
        """Lines a person must see: naive times read in a zone nobody stated."""
        if not self.files_zone_defaulted:
            return []
        return [
            f"{self.files_zone_defaulted:,} files had naive times read in a default zone "
            f"({', '.join(self.zone_defaults)}); pass --timezone if that is wrong"
        ]

    def file_line(self) -> str:
        """``12 files seen, 0 unchanged, 12 processed = 8 loaded + 3 partial + 1 quarantined + 0 failed; judged
        files passed: 11 of 12 (91.67%)`` (empty categories left out, except ``failed``)."""
        passed = self.files_loaded + self.files_partial
        processed = breakdown(self.files_processed, self.file_outcomes(), "processed", True, keep=("failed",))
        line = f"{self.files_seen:,} files seen, {self.files_skipped:,} unchanged, {processed}"
        return line + (f"; judged files passed: {share(passed, self.files_judged)}" if self.files_judged else "")

    def row_line(self) -> str:
        """``15,812 read = 15,805 loaded + 6 quarantined + 1 exact duplicates dropped; loaded 15,805 of …``"""
        line = breakdown(self.rows_read, self.row_outcomes(), "read", True, keep=("quarantined",))
        return line + (f"; loaded {share(self.rows_loaded, self.rows_read)}" if self.rows_read else "")

    def headline(self) -> str:
        return f"{self.file_line()}; rows {self.row_line()}"


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
