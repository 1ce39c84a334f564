"""Timestamps of any common layout to UTC, column-wise, without guessing.

- Epoch numbers: the unit (s, ms, µs, ns) is told by magnitude **per file**; a column that mixes
  units is refused (``mixed_epoch_units``), because one such row is either a bug or a shifted bar.
- Date strings: ISO-8601 (``T`` or space, ``Z``/``±hh:mm``/``GMT+hhmm`` offsets), ``YYYY.MM.DD``,
  ``YYYYMMDD``, ``DD.MM.YYYY``/``MM/DD/YYYY`` with optional ``HH:MM[:SS[.fff]]`` or ``HHMMSS``.
  Day-first vs month-first is decided by evidence across the whole column (a component > 12); when
  both readings fit every row the file is refused as ``ambiguous_date_order`` unless the operator
  (``--date-order``) or the format's documentation says which.
- Naive times are read in a zone chosen by a stated rule (:func:`choose_zone`), recorded per file.
"""

from __future__ import annotations

import re

import polars as pl

from core.errors import UnreadableFileError
from core.formats.frame import TS_TYPE
from core.formats.protocol import (
    ZONE_DEFAULT_UTC,
    ZONE_EXPLICIT,
    ZONE_OPTION,
    ZONE_VENUE,
    ReaderOptions,
    ZoneChoice,
)
from core.sessions import CRYPTO, EQUITY, NEW_YORK, session_of

EXPLICIT_UTC = ZoneChoice("UTC", ZONE_EXPLICIT)

_TIME = (
    r"(?:(?:[T ]|\s+)(?P<H>\d{1,2}):?(?P<M>\d{2})(?::?(?P<S>\d{2})(?:[.,](?P<F>\d{1,9}))?)?"
    r"(?:\s*(?P<P>[AaPp]\.?[Mm]\.?))?)?"
    r"\s*(?P<Z>Z|UTC|GMT|(?:GMT|UTC)?\s?[+-]\d{2}:?\d{2})?$"
)
# family -> regex; y/m/d named, or a/b (day/month in an order decided by evidence)
_FAMILIES: dict[str, str] = {
    "ymd": r"^(?P<y>\d{4})[-./](?P<m>\d{1,2})[-./](?P<d>\d{1,2})" + _TIME,
    "ymd_compact": r"^(?P<y>(?:19|20)\d{2})(?P<m>[01]\d)(?P<d>[0-3]\d)" + _TIME,
    "xy_year": r"^(?P<a>\d{1,2})[-./](?P<b>\d{1,2})[-./](?P<y>\d{4})" + _TIME,
}
_EPOCH = r"^-?\d+(?:\.\d+)?$"
# Upper bounds (exclusive) of |value| per unit: 1e11 s is year 5138, 1e14 ms is 5138, and so on.
_UNITS = (("s", 1e11, 1000.0), ("ms", 1e14, 1.0), ("µs", 1e17, 1e-3), ("ns", float("inf"), 1e-6))


def choose_zone(options: ReaderOptions) -> ZoneChoice:
    """Zone of naive times a format does not state: ``--timezone``, else the venue's session zone, else UTC."""
    if options.timezone:
        return ZoneChoice(options.timezone, ZONE_OPTION)
    if options.venue:
        session = session_of(options.venue)
        if session == EQUITY:
            return ZoneChoice(NEW_YORK, ZONE_VENUE)
        if session == CRYPTO and options.venue != "generic":
            return ZoneChoice("UTC", ZONE_VENUE)
    return ZoneChoice("UTC", ZONE_DEFAULT_UTC)


def epoch_to_utc(values: pl.Series) -> pl.Series:
    """Epoch numbers of one unit (told by magnitude) to UTC ms; a column mixing units is refused."""
    numbers = values.cast(pl.Float64, strict=False)
    magnitude = numbers.abs()
    unit = pl.select(
        pl.when(magnitude < _UNITS[0][1])
        .then(pl.lit(0))
        .when(magnitude < _UNITS[1][1])
        .then(pl.lit(1))
        .when(magnitude < _UNITS[2][1])
        .then(pl.lit(2))
        .otherwise(pl.lit(3))
        .alias("unit")
    ).to_series()
    seen = unit.filter(magnitude.is_not_null()).unique().sort().to_list()
    if len(seen) > 1:
        names = " and ".join(_UNITS[u][0] for u in seen)
        first_odd = int((unit != (unit.filter(magnitude.is_not_null()).mode().sort()[0])).arg_true()[0]) + 1
        raise UnreadableFileError(f"mixed_epoch_units ({names} in one time column; e.g. data row {first_odd})")
    if not seen:
        return pl.Series(values.name, [None] * values.len(), dtype=TS_TYPE)
    largest = float(magnitude.max() or 0)  # type: ignore[arg-type]
    if seen == [0] and largest < 1e8:
        raise UnreadableFileError(
            f"time numbers up to {largest:.0f} are too small for epoch seconds (1973 at most): "
            "not epoch times (spreadsheet serial dates?)"
        )
    ints = values.cast(pl.String).str.strip_chars().cast(pl.Int64, strict=False) if values.dtype == pl.String else None
    if values.dtype.is_integer():
        ints = values.cast(pl.Int64, strict=False)
    millis: pl.Series
    if ints is not None and ints.null_count() == numbers.null_count():  # integers: exact arithmetic
        divisor = {0: None, 1: 1, 2: 1_000, 3: 1_000_000}[seen[0]]
        millis = ints * 1000 if divisor is None else ints // divisor
    else:
        millis = (numbers * _UNITS[seen[0]][2]).round(0).cast(pl.Int64, strict=False)
    # beyond ±292 million years the cast would wrap: outside the datetime range the row is unparseable
    millis = pl.select(pl.when(pl.lit(millis).abs() < 9_000_000_000_000_000).then(pl.lit(millis))).to_series()
    return millis.cast(pl.Datetime("ms")).dt.replace_time_zone("UTC").cast(TS_TYPE)


_COMPACT_DAY = r"^(?:19|20)\d{2}[01]\d[0-3]\d$"


_SAMPLE_ROWS = 2000


def _stats(text: pl.Series) -> dict[str, object]:
    """The layout decision: shape from the first and last rows (every row is still parsed, and a row of
    another shape is quarantined); the day/month evidence from every row of the file."""
    t = pl.col("t")
    present = t.is_not_null() & (t != "")
    head = pl.concat([text.head(_SAMPLE_ROWS), text.tail(_SAMPLE_ROWS)]) if text.len() > 2 * _SAMPLE_ROWS else text
    stats = (
        head.to_frame("t")
        .select(
            t.filter(present).first().alias("sample"),
            t.filter(present).str.contains(_EPOCH).all().alias("epoch"),
            t.filter(present).str.contains(_COMPACT_DAY).all().alias("compact"),
            present.sum().alias("n"),
            *(t.str.contains(pattern).sum().alias(family) for family, pattern in _FAMILIES.items()),
        )
        .row(0, named=True)
    )
    if int(stats["xy_year"] or 0) * 2 >= int(stats["n"] or 0):
        xy = r"^\s*(\d{1,2})[-./](\d{1,2})[-./]\d{4}"  # the same a/b groups as the family, cheaper
        stats |= (
            text.to_frame("t")
            .select(
                t.str.extract(xy, 1).cast(pl.Int32, strict=False).max().alias("a_max"),
                t.str.extract(xy, 2).cast(pl.Int32, strict=False).max().alias("b_max"),
            )
            .row(0, named=True)
        )
    stats["n"] = int(stats["n"] or 0)
    return stats


def _date_order(a_max: int, b_max: int, sample: str, told: str | None) -> tuple[str, str]:
    """(day group, month group) of a ``a/b/yyyy`` family from evidence, else from what was told."""
    if a_max > 12 and b_max > 12:
        raise UnreadableFileError(f"dates such as {sample!r} have values above 12 in both day and month positions")
    if a_max > 12:
        order = "dmy"
    elif b_max > 12:
        order = "mdy"
    elif told in ("dmy", "mdy"):
        order = told
    else:
        raise UnreadableFileError(
            f"ambiguous_date_order: dates such as {sample!r} read both day-first and month-first "
            "(no day above 12 in the file); pass --date-order dmy or mdy"
        )
    if told in ("dmy", "mdy") and told != order:
        raise UnreadableFileError(f"--date-order {told} contradicts the file: dates such as {sample!r} are {order}")
    return ("a", "b") if order == "dmy" else ("b", "a")


def _offset_minutes(zone: pl.Expr) -> pl.Expr:
    digits = zone.str.replace_all(r"[^0-9]", "")
    sign = pl.when(zone.str.contains("-")).then(-1).otherwise(1)
    hours = digits.str.slice(0, 2).cast(pl.Int32, strict=False).fill_null(0)
    minutes = digits.str.slice(2, 2).cast(pl.Int32, strict=False).fill_null(0)
    return sign * (hours * 60 + minutes)


def _hour() -> pl.Expr:
    """24-hour clock; ``12:05 AM`` is 00:05 and ``1:05 PM`` 13:05 (an hour above 12 with AM/PM is invalid)."""
    hour = pl.col("H").cast(pl.Int32, strict=False)
    meridiem = pl.col("P").str.to_lowercase().str.slice(0, 1)
    twelve = pl.when(hour <= 12).then(hour % 12)
    return (
        pl.when(meridiem.is_null())
        .then(hour)
        .when(meridiem == "a")
        .then(twelve)
        .otherwise(twelve + 12)
        .cast(pl.String)
        .str.zfill(2)
    )


def _canonical(day: str, month: str) -> pl.Expr:
    def pad(name: str, width: int) -> pl.Expr:
        return pl.col(name).str.zfill(width)

    return pl.concat_str(
        [
            pad("y", 4),
            pl.lit("-"),
            pad(month, 2),
            pl.lit("-"),
            pad(day, 2),
            pl.lit(" "),
            pl.when(pl.col("H").is_null()).then(pl.lit("00")).otherwise(_hour()),
            pl.lit(":"),
            pad("M", 2).fill_null("00"),
            pl.lit(":"),
            pad("S", 2).fill_null("00"),
            pl.lit("."),
            pl.col("F").fill_null("0").str.pad_end(6, "0").str.slice(0, 6),
        ]
    ).str.to_datetime("%Y-%m-%d %H:%M:%S%.f", time_unit="ms", strict=False)


_DIRECTIVES = {"y": "%Y", "m": "%m", "d": "%d", "H": "%H", "M": "%M", "S": "%S"}


def strptime_format(sample: str, family: str, day: str, month: str) -> str | None:
    """The chrono format that reads ``sample`` exactly (``2024.03.01 10:00`` -> ``%Y.%m.%d %H:%M``), or None.

    Only a speed-up: a column this format does not read completely goes the regex way, so the format
    of one sample never decides alone."""
    match = re.match(_FAMILIES[family], sample)
    if match is None or "%" in sample:
        return None
    spans = []
    for group, value in match.groupdict().items():
        if value is None:
            continue
        start, end = match.span(group)
        if group in ("a", "b"):  # day and month groups of a/b/yyyy, as decided
            directive = "%d" if group == day else "%m"
        elif group == "H":
            directive = "%I" if match.group("P") else "%H"
        elif group == "F":
            if sample[start - 1] != ".":
                return None
            start, directive = start - 1, "%.f"
        elif group == "P":
            directive = "%p"
        elif group == "Z":
            prefix = re.match(r"^(GMT|UTC)?\s?", value)
            literal = prefix.group(0) if prefix else ""
            directive = value if value in ("Z", "UTC", "GMT") else literal + "%z"
        else:
            directive = _DIRECTIVES[group]
        spans.append((start, end, directive))
    out, position = [], 0
    for start, end, directive in sorted(spans):
        out += [sample[position:start], directive]
        position = end
    return "".join([*out, sample[position:]])


def _fast(text: pl.Series, fmt: str) -> pl.Series | None:
    try:
        parsed = text.str.to_datetime(fmt, time_unit="ms", strict=False)
    except pl.exceptions.PolarsError:
        return None
    missed = pl.select((pl.lit(text).is_not_null() & (pl.lit(text) != "") & pl.lit(parsed).is_null()).any()).item()
    return None if missed else parsed


def strings_to_utc(
    text: pl.Series, options: ReaderOptions, *, stated: ZoneChoice | None = None, date_order: str | None = None
) -> tuple[pl.Series, ZoneChoice]:
    """Date/time strings to UTC ms and the zone rule that applied; unparseable rows become null.

    ``stated`` is the zone the format documents for naive times; ``date_order`` what the format
    documents for ``a/b/yyyy`` dates (the operator's ``--date-order`` wins over both evidence-free readings).
    """
    text = text.cast(pl.String).str.strip_chars()
    stats = _stats(text)
    n, sample = int(stats["n"]), str(stats["sample"])  # type: ignore[call-overload]
    if not n:
        raise UnreadableFileError("the time column is empty")
    if stats["epoch"] and not stats["compact"]:
        return epoch_to_utc(text), EXPLICIT_UTC
    family = max(_FAMILIES, key=lambda f: int(stats[f] or 0))  # type: ignore[call-overload]
    if int(stats[family] or 0) * 2 < n:  # type: ignore[call-overload]
        raise UnreadableFileError(f"timestamps such as {sample!r} match no known layout")
    day, month = "d", "m"
    if family == "xy_year":
        told = options.date_order or date_order
        day, month = _date_order(int(stats["a_max"] or 0), int(stats["b_max"] or 0), sample, told)  # type: ignore[call-overload]
    fmt = strptime_format(sample, family, day, month)
    fast = _fast(text, fmt) if fmt else None
    if fast is not None:
        assert fmt is not None
        if isinstance(fast.dtype, pl.Datetime) and fast.dtype.time_zone is not None:
            return fast.dt.convert_time_zone("UTC").cast(TS_TYPE), EXPLICIT_UTC
        if fmt.endswith(("Z", "UTC", "GMT")):
            return fast.dt.replace_time_zone("UTC").cast(TS_TYPE), EXPLICIT_UTC
        zone = stated or choose_zone(options)
        try:
            local = fast.dt.replace_time_zone(zone.zone, ambiguous="null", non_existent="null")
        except pl.exceptions.PolarsError as exc:
            raise UnreadableFileError(f"unknown time zone {zone.zone!r}: {exc}") from exc
        return local.dt.convert_time_zone("UTC").cast(TS_TYPE), zone
    parts = text.to_frame("t").lazy().select(pl.col("t").str.extract_groups(_FAMILIES[family]).struct.unnest())
    counted = parts.select(
        (pl.col("Z").is_not_null() & pl.col("y").is_not_null()).sum().alias("zoned"),
        pl.col("y").is_not_null().sum().alias("matched"),
    ).collect()
    n_zoned, n_matched = int(counted["zoned"][0]), int(counted["matched"][0])
    if 0 < n_zoned < n_matched:
        raise UnreadableFileError(f"some timestamps carry a UTC offset and some do not (e.g. {sample!r})")
    naive = _canonical(day, month)
    if n_zoned:
        utc = (naive - pl.duration(minutes=_offset_minutes(pl.col("Z")))).dt.replace_time_zone("UTC")
        return parts.select(utc.cast(TS_TYPE)).collect().to_series(), EXPLICIT_UTC
    zone = stated or choose_zone(options)
    in_zone = naive.dt.replace_time_zone(zone.zone, ambiguous="null", non_existent="null")
    try:
        return parts.select(in_zone.dt.convert_time_zone("UTC").cast(TS_TYPE)).collect().to_series(), zone
    except pl.exceptions.PolarsError as exc:
        raise UnreadableFileError(f"unknown time zone {zone.zone!r}: {exc}") from exc


def datetimes_to_utc(values: pl.Series, options: ReaderOptions) -> tuple[pl.Series, ZoneChoice]:
    """Typed datetimes (Parquet): aware ones as they are, naive ones by the zone rule."""
    assert isinstance(values.dtype, pl.Datetime)
    if values.dtype.time_zone is not None:
        return values.dt.convert_time_zone("UTC").cast(TS_TYPE), EXPLICIT_UTC
    zone = choose_zone(options)
    local = values.dt.replace_time_zone(zone.zone, ambiguous="null", non_existent="null")
    return local.dt.convert_time_zone("UTC").cast(TS_TYPE), zone


def to_utc(values: pl.Series, options: ReaderOptions, **stated: object) -> tuple[pl.Series, ZoneChoice]:
    """Any time column (numbers, datetimes, strings) to UTC ms and the zone rule that applied."""
    if isinstance(values.dtype, pl.Datetime):
        return datetimes_to_utc(values, options)
    if isinstance(values.dtype, pl.Date):
        return strings_to_utc(values.cast(pl.String), options, **stated)  # type: ignore[arg-type]
    if values.dtype.is_numeric():
        return epoch_to_utc(values), EXPLICIT_UTC
    return strings_to_utc(values, options, **stated)  # type: ignore[arg-type]
