"""QuantConnect LEAN minute zips (``Data/<type>/<market>/minute/<ticker>/<YYYYMMDD>_<trade|quote>.zip``).

As LEAN's ``Data/*/readme.md`` documents: no header; the time column is milliseconds since midnight
in the market's data time zone (equity ``usa``: America/New_York; forex and crypto: UTC); the date
and the ticker come from the file name (``<YYYYMMDD>_<ticker>_minute_<trade|quote>.csv``); equity
prices are deci-cents (÷ 10,000). Trade bars ``time,o,h,l,c,volume``; quote bars
``time,bo,bh,bl,bc,bidsize,ao,ah,al,ac,asksize`` give one row per side (symbol ``AAPL.BID``/``.ASK``,
volume 0: a last quote size is not traded volume). Tick files are trades, not bars: refused.
"""

from __future__ import annotations

import re

import polars as pl

from core.errors import UnreadableFileError
from core.formats.frame import SourceFile, conform, strip_bom
from core.formats.protocol import ZONE_FORMAT, ReaderOptions, ReadResult, ZoneChoice
from core.formats.tabular import read_table, to_float

NAME = "lean"
_MEMBER = re.compile(
    r"(?:^|[/!])(?P<date>\d{8})_(?P<ticker>[A-Za-z0-9.\-]+)_(?P<res>minute|second|hour|daily|tick)_(?P<kind>trade|quote|openinterest)\.csv$",
    re.IGNORECASE,
)
_TICK = re.compile(r"(?:^|[/!])\d{8}_[A-Za-z0-9.\-]+_(?:trade|quote)_tick\.csv$", re.IGNORECASE)
_SECURITY = re.compile(
    r"(?:^|/)(equity|forex|crypto|cfd|future|option|index|indexoption|futureoption)/([a-z0-9_]+)/(?:minute|tick|second)/",
    re.IGNORECASE,
)
_NUM = r"-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?"
_LINE = re.compile(rf"^\d{{1,8}}(?:,{_NUM}){{5}}(?:(?:,{_NUM}){{5}})?$")
_ZONES = {"equity": "America/New_York", "forex": "UTC", "crypto": "UTC", "cfd": "UTC"}
_DECI_CENTS = 10_000.0


def _where(source: SourceFile) -> str:
    return f"{source.path or ''}!{source.name}"


class LeanReader:
    name = NAME
    description = "QuantConnect LEAN minute trade/quote zips; ms since midnight in the data zone; equity deci-cents"

    def sniff(self, head: str, name: str) -> float:
        if _TICK.search(name):
            return 0.9  # read() refuses it with the reason
        lines = [line.strip() for line in head.lstrip("\ufeff").splitlines() if line.strip()][:5]
        if len(lines) > 1 and not head.endswith(("\n", "\r")):
            lines = lines[:-1]
        if not lines or not all(_LINE.match(line) for line in lines):
            return 0.0
        return 0.9 if _MEMBER.search(name) else 0.0

    def read(self, source: SourceFile, options: ReaderOptions) -> ReadResult:
        where = _where(source)
        if _TICK.search(source.name):
            raise UnreadableFileError("LEAN tick file: trade/quote ticks, not bars (needs a trade reader)")
        member = _MEMBER.search(source.name)
        if member is None:
            raise UnreadableFileError("LEAN minute data needs LEAN's member name <YYYYMMDD>_<ticker>_minute_<kind>.csv")
        if member.group("res").lower() != "minute":
            raise UnreadableFileError(f"not_1m_bars (LEAN {member.group('res').lower()} resolution)")
        security = _SECURITY.search(where.replace("\\", "/"))
        if security is None:
            raise UnreadableFileError(
                "LEAN file outside LEAN's Data/<type>/<market>/minute/<ticker>/ layout: security type "
                "(equity/forex/crypto) unknown, so neither its time zone nor its price unit is known"
            )
        kind, market = security.group(1).lower(), security.group(2).lower()
        if kind not in _ZONES:
            raise UnreadableFileError(f"LEAN {kind} data is not supported by the bar reader")
        zone = ZoneChoice(_ZONES[kind], ZONE_FORMAT)
        table = read_table(strip_bom(source.payload()), max_width=11)
        quote = member.group("kind").lower() == "quote"
        day = pl.lit(member.group("date")).str.to_date("%Y%m%d")
        scale = _DECI_CENTS if kind == "equity" else 1.0
        millis = to_float(table.column(0)).round(0).cast(pl.Int64, strict=False)
        local = (day.cast(pl.Datetime("ms")) + pl.duration(milliseconds=pl.lit(millis))).dt.replace_time_zone(
            zone.zone, ambiguous="null", non_existent="null"
        )
        base = table.fields.select("line", "raw", local.dt.convert_time_zone("UTC").alias("ts"))
        sides = [("bid", 1), ("ask", 6)] if quote else [(None, 1)]
        parts = []
        for side, first in sides:
            prices = {
                n: to_float(table.column(first + i)) / scale for i, n in enumerate(("open", "high", "low", "close"))
            }
            volume = pl.lit(0.0) if quote else pl.lit(to_float(table.column(5)))
            part = base.with_columns(
                *(pl.lit(v).alias(k) for k, v in prices.items()),
                volume.alias("volume"),
                pl.lit(side, pl.String).alias("side"),
            )
            expected = 11 if quote else 6
            clean = pl.all_horizontal(pl.col(c).is_not_null() for c in ("ts", "open", "high", "low", "close", "volume"))
            clean = clean & (pl.col("raw").str.count_matches(",") == expected - 1)
            parts.append(part.with_columns(raw=pl.when(clean).then(None).otherwise(pl.col("raw"))))
        frame = conform(pl.concat(parts, how="vertical"))
        venue = None if kind == "equity" else market
        notes = (f"LEAN {kind}/{market}", "deci-cents ÷ 10000") if kind == "equity" else (f"LEAN {kind}/{market}",)
        return ReadResult(
            frame, NAME, zone.label, "bid+ask" if quote else "trade", venue, member.group("ticker").upper(), notes
        )
