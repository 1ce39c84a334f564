"""One-pass proof that a frame meets a pandera contract, for the hot paths of cache builds.

pandera's polars backend runs every check as its own query (~40 per contract) to build a report of failure
cases: right for a frame that fails, too slow to prove thousands of good frames. :func:`passes` translates a
contract's column types, nullability, built-in checks (``gt``/``ge``/``lt``/``le``/``isin``/``str_matches``),
``unique`` and its DataFrame-level checks into one polars query. It only ever says "passes" or "cannot tell";
:func:`enforce_fast` then asks pandera itself, which gives the verdict and its report. A contract feature the
translation does not know (another check, coercion, regex columns) always falls back to pandera.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pandera.polars as pa
import polars as pl

from validation.contracts import enforce

_BUILTIN: dict[str, Callable[[pl.Expr, dict[str, Any]], pl.Expr]] = {
    "greater_than": lambda c, s: c > s["min_value"],
    "greater_than_or_equal_to": lambda c, s: c >= s["min_value"],
    "less_than": lambda c, s: c < s["max_value"],
    "less_than_or_equal_to": lambda c, s: c <= s["max_value"],
    "isin": lambda c, s: c.is_in(list(s["allowed_values"])),
    "str_matches": lambda c, s: c.str.contains(f"^(?:{s['pattern']})"),
}


def _custom(check: Any) -> bool:
    """A user-written, vectorised check (a function of ``PolarsData`` returning a boolean column)."""
    return check.name not in _BUILTIN and not check.element_wise and callable(getattr(check, "_check_fn", None))


def _column_exprs(name: str, column: Any, dtype: pl.DataType) -> list[pl.Expr] | None:
    if column.regex or column.coerce or dtype != column.dtype.type:
        return None
    col = pl.col(name)
    exprs = [] if column.nullable else [col.null_count() == 0]
    # Text checks (patterns, vocabularies) hold for every row iff they hold for the value of every run of equal
    # rows (each row's value is its run's, each run's is a row's): one pass comparing neighbours, where
    # ``unique()`` hashed every string (a cache batch's text columns are one or a few runs; 3-4x cheaper).
    values = col.rle().struct.field("value") if dtype in (pl.String, pl.Categorical) else col
    for check in column.checks:
        if _custom(check):
            continue  # run by ``passes`` on the lazy frame, as pandera runs it
        rule = _BUILTIN.get(check.name or "")
        if rule is None or check.ignore_na is False:
            return None
        exprs.append((values.is_null() | rule(values, check.statistics)).all())  # pandera ignores nulls in checks
    return exprs


@dataclass(frozen=True)
class _Proof:
    """What :func:`passes` runs for one contract on frames of one schema: built once, reused for every frame.

    Building the polars expressions in Python (``lit``, ``col``, schema look-ups) cost more than running them
    on a cache batch's frames (~60% of ``passes``), and it held the GIL the build's other thread needed."""

    schema: pa.DataFrameSchema  # kept alive, so the id it is cached under is never reused while cached
    exprs: tuple[pl.Expr, ...]  # column rules (and the order-proven uniqueness, last), aliased ``_0``, ``_1``, …
    custom: tuple[tuple[Any, str], ...]  # (check, column or "*"): functions of the frame, run per frame
    unique: tuple[str, ...]


_PROOFS: dict[tuple[int, tuple[tuple[str, pl.DataType], ...]], _Proof | None] = {}
_PROOFS_MAX = 256  # distinct (contract, frame schema) pairs: a handful in a build; bounded all the same


def _proof(schema: pa.DataFrameSchema, frame_schema: pl.Schema) -> _Proof | None:
    """The cached :class:`_Proof` of ``schema`` for frames of ``frame_schema``; None: only pandera can tell.

    Keyed by the contract object's identity: contracts are module-level constants, never changed after import."""
    key = (id(schema), tuple(frame_schema.items()))
    if key in _PROOFS:
        found = _PROOFS[key]
        if found is None or found.schema is schema:
            return found
    proof = _build_proof(schema, frame_schema)
    if len(_PROOFS) >= _PROOFS_MAX:
        _PROOFS.clear()
    _PROOFS[key] = proof
    return proof


def _build_proof(schema: pa.DataFrameSchema, frame_schema: pl.Schema) -> _Proof | None:
    if schema.coerce or schema.unique_column_names or schema.add_missing_columns or schema.ordered:
        return None
    present = set(frame_schema)
    if any(col.required and name not in present for name, col in schema.columns.items()):
        return None
    if schema.strict and not present <= set(schema.columns):
        return None
    exprs: list[pl.Expr] = []
    for name, column in schema.columns.items():
        if name not in present:
            continue
        found = _column_exprs(name, column, frame_schema[name])
        if found is None:
            return None
        exprs += found
    custom = [(c, name) for name, col in schema.columns.items() if name in present for c in col.checks if _custom(c)]
    custom += [(c, "*") for c in schema.checks]
    if any(check.ignore_na is False and key != "*" for check, key in custom):
        return None
    unique = list(schema.unique or [])
    if not present >= set(unique):
        return None
    if unique:
        ordered = frame_schema[unique[-1]].is_numeric() or frame_schema[unique[-1]].is_temporal()
        exprs.append(_sorted_unique(unique) if ordered else ~pl.struct(unique).is_duplicated().any())
    aliased = tuple(e.alias(f"_{i}") for i, e in enumerate(exprs))
    return _Proof(schema, aliased, tuple(custom), tuple(unique))


def passes(schema: pa.DataFrameSchema, frame: pl.DataFrame) -> bool:
    """True only when ``frame`` certainly meets ``schema`` (False: ask pandera)."""
    proof = _proof(schema, frame.schema)
    if proof is None:
        return False
    lazy = frame.lazy()
    checks: list[pl.LazyFrame] = []
    for check, key in proof.custom:
        result = check._check_fn(pa.PolarsData(lazy, key))
        if not isinstance(result, pl.LazyFrame):
            return False
        if key != "*":  # pandera ignores nulls in column checks
            result = pl.concat([result, lazy.select(pl.col(key).is_null().alias("_null"))], how="horizontal")
            result = result.select(pl.any_horizontal(pl.all()))
        checks.append(result.select(pl.all().all()))
    exprs, unique = proof.exprs, list(proof.unique)
    # the column rules and every custom check in one call (polars runs the queries side by side)
    frames = pl.collect_all([lazy.select(exprs), *checks] if exprs else checks)
    verdicts = [v for f in frames for v in f.row(0)]
    if unique and not verdicts[len(exprs) - 1]:  # not proven by order: hash the key (the proof pandera makes)
        verdicts[len(exprs) - 1] = bool(lazy.select(~pl.struct(unique).is_duplicated().any()).collect().item())
    return all(verdicts)


def _sorted_unique(key: list[str]) -> pl.Expr:
    """True when ``key`` is unique because of the rows' order, without hashing: every column but the last is
    constant and the last strictly rises (one symbol's bars in time order, as every cache build holds them).
    False only means "not proven this way"."""
    *fixed, last = key
    rising = (pl.col(last).to_physical().diff() > 0).all() & (pl.col(last).null_count() == 0)
    for name in fixed:
        rising &= (pl.col(name) == pl.col(name).first()).all() & (pl.col(name).null_count() == 0)
    return rising


def enforce_fast(schema: pa.DataFrameSchema, frame: pl.DataFrame) -> pl.DataFrame:
    """:func:`validation.contracts.enforce` with the one-pass proof first: the same verdict, pandera's report."""
    return frame if passes(schema, frame) else enforce(schema, frame)
