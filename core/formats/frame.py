"""The raw bar frame every reader returns, before venue/symbol/ids are attached."""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass

import polars as pl

from core.errors import UnreadableFileError

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
    "buy_volume": pl.Float64(),  # taker-buy (aggressor buy) base volume where the vendor publishes it
    "raw": pl.String(),
}


@dataclass(frozen=True)
class SourceFile:
    """A file's name and content; readers never touch the filesystem themselves."""

    name: str
    data: bytes

    def text_head(self, limit: int = 4096) -> str:
        return self.payload()[:limit].decode("utf-8", errors="replace")

    def payload(self) -> bytes:
        """The CSV bytes: the file itself, or the single member of a ``.zip``."""
        if not self.name.lower().endswith(".zip"):
            return self.data
        try:
            with zipfile.ZipFile(io.BytesIO(self.data)) as archive:
                members = [m for m in archive.namelist() if not m.endswith("/")]
                if len(members) != 1:
                    raise UnreadableFileError(f"zip archive holds {len(members)} files, expected exactly 1")
                return archive.read(members[0])
        except zipfile.BadZipFile as exc:
            raise UnreadableFileError(f"not a readable zip archive: {exc}") from exc


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
    text = payload.decode("utf-8", errors="replace")
    lines = text.splitlines()
    frame = pl.DataFrame({"raw": lines}, schema={"raw": pl.String()}).with_row_index("line", offset=1)
    return frame.with_columns(pl.col("line").cast(pl.UInt32)).filter(pl.col("raw").str.strip_chars() != "")
