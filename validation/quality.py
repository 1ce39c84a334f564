"""Symbol-day quality rows and the pass rates of a validate run.

Failure counts leave out anything a known event explains. A file passes when it loaded and every
row it lost to quarantine is explained; a row passes when it is in ``bars_1m`` or its quarantine is
explained; a symbol-day passes unless it failed (too little unexplained coverage, too many
unexplained error rows). Warnings make a day ``suspect`` but fail nothing: they are for a person to look at.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

import polars as pl

from core.proportions import accounted, breakdown, percent
from core.quality_rules import CheckThresholds
from validation.catalogue import ERROR
from validation.known_events import Allowlist, annotate

STATUS_OK = "ok"
STATUS_SUSPECT = "suspect"
STATUS_FAILED = "failed"

SYMBOL_DAY_SCHEMA: dict[str, pl.DataType] = {
    "venue": pl.String(),
    "symbol": pl.String(),
    "day": pl.Date(),
    "expected": pl.UInt32(),
    "present": pl.UInt32(),
    "off_session": pl.UInt32(),
    "missing": pl.UInt32(),
    "quarantined": pl.UInt32(),
    "quarantined_unexplained": pl.UInt32(),
    "anomalies": pl.UInt32(),
    "known": pl.UInt32(),
    "by_check": pl.String(),
    "coverage": pl.Float64(),
    "status": pl.String(),
}


def symbol_days(
    day_counts: pl.DataFrame,
    anomalies: pl.DataFrame,
    quarantined: pl.DataFrame,
    thresholds: Callable[[str], CheckThresholds],
    first_day: date | None = None,
) -> pl.DataFrame:
    """One quality row per symbol-day.

    ``day_counts``: venue, symbol, day, expected, present, off_session (from the checks).
    ``anomalies``: every anomaly of the range (ingest and validate), with ``known_event``; an interval
    that began before ``first_day`` counts on ``first_day``.
    ``quarantined``: venue, symbol, day, explained — one row per quarantined bar of the range.
    """
    keys = ["venue", "symbol", "day"]
    day = pl.col("ts").dt.date()
    a = anomalies.with_columns(
        day=pl.max_horizontal(day, pl.lit(first_day)) if first_day else day, _known=pl.col("known_event") != ""
    )
    counts = a.group_by(keys).agg(
        anomalies=(~pl.col("_known")).sum(),
        known=pl.col("_known").sum(),
        # A known gap explains its minutes; gaps are attributed to the day they start.
        known_missing=pl.when(pl.col("_known") & (pl.col("check") == "gap")).then(pl.col("minutes")).otherwise(0).sum(),
    )
    by_check = (
        a.filter(~pl.col("_known"))
        .group_by(*keys, "check")
        .len()
        .sort("check")
        .group_by(keys)
        .agg(pl.format("{}={}", "check", "len").str.join(", ").alias("by_check"))
    )
    q = quarantined.group_by(keys).agg(quarantined=pl.len(), quarantined_unexplained=(~pl.col("explained")).sum())
    rows = (
        day_counts.join(counts, on=keys, how="full", coalesce=True)
        .join(by_check, on=keys, how="left")
        .join(q, on=keys, how="full", coalesce=True)
    )
    rows = rows.with_columns(
        pl.col(
            "expected",
            "present",
            "off_session",
            "anomalies",
            "known",
            "known_missing",
            "quarantined",
            "quarantined_unexplained",
        ).fill_null(0),
        pl.col("by_check").fill_null(""),
    ).with_columns(  # a quarantined minute was delivered (and counts as an error row), it is not missing
        missing=(
            pl.col("expected").cast(pl.Int64) - pl.col("present").cast(pl.Int64) - pl.col("quarantined").cast(pl.Int64)
        ).clip(lower_bound=0)
    )
    unexplained_missing = (pl.col("missing") - pl.col("known_missing")).clip(lower_bound=0)
    rows = rows.with_columns(
        coverage=pl.when(pl.col("expected") > 0).then(1 - unexplained_missing / pl.col("expected")).otherwise(1.0)
    )
    venues = rows["venue"].unique().to_list()
    limits = pl.DataFrame(
        {
            "venue": venues,
            "_min_cov": [thresholds(v).day_failed_coverage for v in venues],
            "_max_err": [thresholds(v).day_failed_error_ratio for v in venues],
        },
        schema={"venue": pl.String, "_min_cov": pl.Float64, "_max_err": pl.Float64},
    )
    rows = rows.join(limits, on="venue", how="left")
    size = pl.max_horizontal("expected", pl.col("present") + pl.col("off_session") + pl.col("quarantined")).clip(
        lower_bound=1
    )
    failed = (pl.col("coverage") < pl.col("_min_cov")) | (pl.col("quarantined_unexplained") / size > pl.col("_max_err"))
    suspect = (pl.col("anomalies") > 0) | (pl.col("quarantined_unexplained") > 0) | (unexplained_missing > 0)
    rows = rows.with_columns(
        status=pl.when(failed)
        .then(pl.lit(STATUS_FAILED))
        .when(suspect)
        .then(pl.lit(STATUS_SUSPECT))
        .otherwise(pl.lit(STATUS_OK))
    )
    return rows.select(*(pl.col(c).cast(t) for c, t in SYMBOL_DAY_SCHEMA.items())).sort(keys)


STATE_OK = "ok"
STATE_BREACH = "breach"
STATE_NO_DATA = "no_data"


@dataclass(frozen=True)
class PassRates:
    first: date
    last: date
    files_checked: int
    files_passed: int
    files_quarantined: int
    files_partial: int
    rows_checked: int
    rows_passed: int
    rows_quarantined: int
    symbol_days: int
    symbol_days_ok: int
    symbol_days_suspect: int
    symbol_days_failed: int
    anomalies_by_check: dict[str, int]
    known_events: dict[str, int]
    threshold: float
    allowlist: str
    files_short: int = 0  # loaded or partial, but rows of it were quarantined for no known event: not passed

    @staticmethod
    def _rate(passed: int, total: int) -> float:
        return passed / total if total else 1.0

    @property
    def pass_rate_files(self) -> float:
        return self._rate(self.files_passed, self.files_checked)

    @property
    def pass_rate_rows(self) -> float:
        return self._rate(self.rows_passed, self.rows_checked)

    @property
    def pass_rate_symbol_days(self) -> float:
        return self._rate(self.symbol_days - self.symbol_days_failed, self.symbol_days)

    @property
    def state(self) -> str:
        """``no_data`` when the range held no row to check (never shown as passed), else ``breach`` or ``ok``."""
        if self.rows_checked == 0 and self.symbol_days == 0 and self.files_checked == 0:
            return STATE_NO_DATA
        return STATE_BREACH if self.breach else STATE_OK

    @property
    def breach(self) -> bool:
        """Files or rows below the threshold (symbol-days are coarse: one bad day of ten is 90%)."""
        return self.pass_rate_files < self.threshold or self.pass_rate_rows < self.threshold

    def file_outcomes(self) -> dict[str, int]:
        """Checked files by verdict; the values add up to ``files_checked``."""
        return accounted(
            self.files_checked,
            {
                "passed": self.files_passed,
                "with unexplained quarantined rows": self.files_short,
                "quarantined whole": self.files_quarantined,
            },
        )

    def row_outcomes(self) -> dict[str, int]:
        """Checked rows by verdict; the values add up to ``rows_checked``."""
        unexplained = self.rows_checked - self.rows_passed
        return accounted(
            self.rows_checked,
            {
                "loaded": self.rows_checked - self.rows_quarantined,
                "quarantined for a known event": self.rows_quarantined - unexplained,
                "quarantined unexplained": unexplained,
            },
        )

    def symbol_day_outcomes(self) -> dict[str, int]:
        """Symbol-days by status; the values add up to ``symbol_days``."""
        return accounted(
            self.symbol_days,
            {"ok": self.symbol_days_ok, "suspect": self.symbol_days_suspect, "failed": self.symbol_days_failed},
        )

    def headline(self) -> str:
        if self.state == STATE_NO_DATA:
            return f"{self.first}..{self.last}: NO DATA — no file, row or symbol-day to check in the range"
        return (
            f"{self.first}..{self.last}: {breakdown(self.files_checked, self.file_outcomes(), 'files')} "
            f"({percent(self.files_passed, self.files_checked)} passed); "
            f"{breakdown(self.rows_checked, self.row_outcomes(), 'rows')} "
            f"({percent(self.rows_passed, self.rows_checked, 3)} passed); "
            f"{breakdown(self.symbol_days, self.symbol_day_outcomes(), 'symbol-days')}; "
            f"{sum(self.anomalies_by_check.values()):,} anomalies, "
            f"{sum(self.known_events.values()):,} explained by known events"
            + (f" — BELOW the {self.threshold:.2%} threshold" if self.breach else "")
        )

    def as_dict(self) -> dict[str, Any]:
        out = dict(self.__dict__.items())
        out.update(
            first=self.first.isoformat(),
            last=self.last.isoformat(),
            pass_rate_files=self.pass_rate_files,
            pass_rate_rows=self.pass_rate_rows,
            pass_rate_symbol_days=self.pass_rate_symbol_days,
            breach=self.breach,
            state=self.state,
            headline=self.headline(),
            file_outcomes=self.file_outcomes(),
            row_outcomes=self.row_outcomes(),
            symbol_day_outcomes=self.symbol_day_outcomes(),
        )
        return out


def file_verdicts(files: pl.DataFrame, quarantined: pl.DataFrame) -> pl.DataFrame:
    """``files``: source_id, path, status (one per file in scope); ``quarantined``: source_id, explained.
    Adds ``passed``: loaded, and nothing it lost to quarantine is unexplained."""
    lost = quarantined.group_by("source_id").agg(unexplained=(~pl.col("explained")).sum())
    out = files.join(lost, on="source_id", how="left").with_columns(pl.col("unexplained").fill_null(0))
    return out.with_columns(passed=pl.col("status").is_in(["loaded", "partial"]) & (pl.col("unexplained") == 0))


def pass_rates(
    first: date,
    last: date,
    files: pl.DataFrame,
    days: pl.DataFrame,
    anomalies: pl.DataFrame,
    threshold: float,
    allowlist: str,
) -> PassRates:
    """``files`` from :func:`file_verdicts`; ``days`` from :func:`symbol_days`; ``anomalies`` with ``known_event``."""
    unexplained = anomalies.filter(pl.col("known_event") == "")
    known = anomalies.filter(pl.col("known_event") != "")
    status = days["status"].value_counts() if days.height else pl.DataFrame({"status": [], "count": []})
    by_status = dict(zip(status["status"].to_list(), status["count"].to_list(), strict=True))
    loaded = int(days["present"].sum()) + int(days["off_session"].sum()) if days.height else 0
    quarantined = int(days["quarantined"].sum()) if days.height else 0
    failed_rows = int(days["quarantined_unexplained"].sum()) if days.height else 0
    return PassRates(
        first=first,
        last=last,
        files_checked=files.height,
        files_passed=int(files["passed"].sum()) if files.height else 0,
        files_quarantined=int((files["status"] == "quarantined").sum()) if files.height else 0,
        files_partial=int((files["status"] == "partial").sum()) if files.height else 0,
        files_short=int((~files["passed"] & files["status"].is_in(["loaded", "partial"])).sum()) if files.height else 0,
        rows_checked=loaded + quarantined,
        rows_passed=loaded + quarantined - failed_rows,
        rows_quarantined=quarantined,
        symbol_days=days.height,
        symbol_days_ok=by_status.get(STATUS_OK, 0),
        symbol_days_suspect=by_status.get(STATUS_SUSPECT, 0),
        symbol_days_failed=by_status.get(STATUS_FAILED, 0),
        anomalies_by_check=dict(sorted(unexplained.group_by("check").len().iter_rows())),
        known_events=dict(sorted(known.group_by("known_event").len().iter_rows())),
        threshold=threshold,
        allowlist=allowlist,
    )


def reannotate(stored: pl.DataFrame, allowlist: Allowlist) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Stored anomalies judged by today's allowlist, and the ingest-time ones whose annotation changed
    (they keep their rows; only those are written again)."""
    judged = annotate(stored.drop("known_event"), allowlist)
    changed = judged.filter((pl.col("origin") == "ingest") & (pl.col("known_event") != stored["known_event"]))
    return judged, changed


def explain_quarantine(quarantined: pl.DataFrame, anomalies: pl.DataFrame) -> pl.DataFrame:
    """Adds ``explained`` to quarantined rows.

    A row is explained when every error anomaly of it (same source and line) is a known event.
    """
    errors = (
        anomalies.filter((pl.col("severity") == ERROR) & (pl.col("line") > 0))
        .group_by("source_id", "line")
        .agg(explained=(pl.col("known_event") != "").all())
    )
    return quarantined.join(errors, on=["source_id", "line"], how="left").with_columns(
        pl.col("explained").fill_null(False)
    )
