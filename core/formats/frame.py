"""The raw bar frame every reader returns, before venue/symbol/ids are attached."""

from __future__ import annotations

import codecs
from dataclasses import dataclass

import polars as pl

from core.errors import UnreadableFileError
from core.formats.archive import expand

TS_TYPE = pl.Datetime("ms", "UTC")

# line: 1-based line in the source file (header counted) so a person can find a quarantined row.
# raw: the source line, kept only when the row could not be parsed cleanly.
RAW_SCHEMA: dict[str, pl.DataType] = {
    "line": pl.UInt32(),
    "ts": TS_TYPE,
    "open": pl.Float64(),
    "high": pl.Float64(),
    "low": pl.Float64(),
    "close": pl.Float64(),
    "volume": pl.Float64(),
    "trades": pl.Int64(),
    "quote_volume": pl.Float64(),
    "raw": pl.String(),
    # bid/ask/mid for a row of a file that holds several quote sides (its symbol gets a .BID/.ASK
    # suffix); null when the file has one side (the reader's result says which).
    "side": pl.String(),
}
PRICE_SIDES = ("trade", "bid", "ask", "mid")


@dataclass(frozen=True)
class SourceFile:
    """A file's name and content; readers never touch the filesystem themselves."""

    name: str
    data: bytes
    path: str = ""  # where it was found (LEAN takes security type and market from the directories)

    def text_head(self, limit: int = 4096) -> str:
        return decode(self.payload()[:limit], strict=False)

    def members(self) -> list[tuple[str, bytes]]:
        """The plain bytes inside: the file itself, its decompressed stream or every zip member."""
        return expand(self.name, self.data)

    def payload(self) -> bytes:
        """The bytes of the single member (plain, decompressed or the only file of a zip)."""
        members = self.members()
        if len(members) != 1:
            raise UnreadableFileError(f"archive holds {len(members)} files, expected exactly 1")
        return members[0][1]


def decode(data: bytes, strict: bool = True) -> str:
    """Text of a file: UTF-8 (BOM dropped) or UTF-16 with a BOM; undecodable bytes are a reason, not a guess."""
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return data.decode("utf-16", errors="strict" if strict else "replace")
    try:
        return data.decode("utf-8-sig", errors="strict" if strict else "replace")
    except UnicodeDecodeError as exc:
        raise UnreadableFileError(f"not UTF-8 text (byte {exc.start}: {data[exc.start : exc.start + 4]!r})") from exc


def strip_bom(data: bytes) -> bytes:
    """UTF-8 bytes without a leading BOM; UTF-16 text re-encoded as UTF-8."""
    if data.startswith(codecs.BOM_UTF8):
        return data[3:]
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return decode(data).encode()
    return data


def conform_exprs(columns: list[str]) -> list[pl.Expr]:
    """Expressions that add missing optional columns and order/cast everything to :data:`RAW_SCHEMA`."""
    return [
        pl.col(name).cast(dtype, strict=False) if name in columns else pl.lit(None, dtype=dtype).alias(name)
        for name, dtype in RAW_SCHEMA.items()
    ]


def conform(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.select(conform_exprs(frame.columns))


def split_lines(payload: bytes) -> pl.DataFrame:
    """Every non-empty line of a text file as one string column, with its 1-based line number.

    The lenient path of every reader starts here: it never fails on ragged or truncated rows,
    so one bad line is quarantined alone instead of losing the file.
    """
    text = decode(payload, strict=False)
    lines = text.splitlines()
    frame = pl.DataFrame({"raw": lines}, schema={"raw": pl.String()}).with_row_index("line", offset=1)
    return frame.with_columns(pl.col("line").cast(pl.UInt32)).filter(pl.col("raw").str.strip_chars() != "")
