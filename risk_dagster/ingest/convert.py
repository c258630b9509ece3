"""Vectorized conversion of text columns to numbers, UTC times, codes and trader ids.

Each converter works on a whole column at once (pyarrow.compute); only when a value is bad does it
look for the first offending record, so that the IngestError can name its line and column.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from risk_dagster.core.trader_ids import InvalidTraderId, validate_trader_id
from risk_dagster.ingest.reader import RawTable

# A trailing UTC offset after a clock time: "09:30:00+05:30", "9:30 -0400", "09:30Z".
_OFFSET = r"\d{1,2}:\d{2}(:\d{2}(\.\d+)?)?\s*(Z|[+-]\d{2}:?\d{2})$"


def _first(mask: np.ndarray | pa.Array) -> int:
    return int(np.flatnonzero(np.asarray(mask, dtype=bool))[0])


def numbers(raw: RawTable, col: str, *, required: bool = True) -> np.ndarray:
    """Column ``col`` as float64. Accepts thousands separators ("1,234.50"), accounting negatives
    ("(12.50)" = -12.5) and scientific notation; an empty cell is an error when ``required``, else
    NaN. Text or a non-finite value is an error naming the line."""
    try:  # fast path: plain numbers only
        values = pc.cast(raw.column(col, trim=False), pa.float64()).to_numpy(zero_copy_only=False)
        if np.isfinite(values).all():
            return values
    except pa.ArrowInvalid:
        pass
    text = raw.column(col)
    s = pc.replace_substring(text, ",", "")
    neg = pc.and_(pc.starts_with(s, "("), pc.ends_with(s, ")"))
    has_neg = pc.any(neg).as_py()
    if has_neg:
        s = pc.if_else(neg, pc.utf8_slice_codeunits(s, 1, -1), s)
    empty = pc.equal(s, "").to_numpy(zero_copy_only=False)
    if required and empty.any():
        raise raw.error(_first(empty), col, "empty value, a number is required")
    s = pc.if_else(pc.equal(s, ""), pa.scalar(None, pa.string()), s)
    try:
        values = pc.cast(s, pa.float64()).to_numpy(zero_copy_only=False)
    except pa.ArrowInvalid:
        values = pd.to_numeric(pd.Series(s.to_pandas()), errors="coerce").to_numpy(float)
    bad = ~np.isfinite(values) & ~empty
    if bad.any():
        i = _first(bad)
        raise raw.error(i, col, f"not a number (got {text[i].as_py()!r})")
    if has_neg:
        values = np.where(neg.to_numpy(zero_copy_only=False), -values, values)
    return values


def counts(raw: RawTable, col: str) -> np.ndarray:
    """Column ``col`` as int64 counts (>= 0, whole numbers)."""
    values = numbers(raw, col)
    bad = (values < 0) | (values != np.round(values))
    if bad.any():
        i = _first(bad)
        raise raw.error(i, col, f"count must be a whole number >= 0 (got {values[i]:g})")
    return values.astype(np.int64)


def positive(raw: RawTable, col: str, label: str) -> np.ndarray:
    """Column ``col`` as float64, every value > 0 (quantities, prices)."""
    values = numbers(raw, col)
    bad = ~(values > 0)
    if bad.any():
        i = _first(bad)
        raise raw.error(i, col, f"{label} must be > 0 (got {values[i]:g})")
    return values


def fee_sum(raw: RawTable, cols: list[str]) -> np.ndarray:
    """Sum of the fee columns present (USD, cost > 0; an empty cell counts as 0)."""
    total = np.zeros(raw.n_rows)
    for col in cols:
        total += np.nan_to_num(numbers(raw, col, required=False), nan=0.0)
    return total


def text(raw: RawTable, col: str, *, required: bool = True) -> pa.Array:
    """Trimmed text of ``col``; an empty value is an error when ``required``, else null."""
    s = raw.column(col)
    empty = pc.equal(s, "").to_numpy(zero_copy_only=False)
    if required and empty.any():
        raise raw.error(_first(empty), col, "empty value")
    return pc.if_else(pc.equal(s, ""), pa.scalar(None, pa.string()), s) if empty.any() else s


def trader_ids(raw: RawTable, col: str) -> pa.Array:
    """Validated trader ids of ``col`` (only the distinct values are checked, so this is cheap)."""
    s = text(raw, col)
    for value in pc.unique(s).to_pylist():
        try:
            validate_trader_id(value)
        except InvalidTraderId as exc:
            raise raw.error(_first(pc.equal(s, value)), col, str(exc)) from None
    return s


def codes(raw: RawTable, col: str, mapping: dict[str, str | None], *,
          unknown: str = "error") -> tuple[pa.Array, int]:
    """Map the values of ``col`` (case-insensitive) through ``mapping``.

    Returns the mapped array and how many non-empty values were not in the mapping; those are an
    error naming the line when ``unknown="error"``, else null.
    """
    keys = {str(k).strip().upper(): v for k, v in mapping.items()}
    s = pc.utf8_upper(raw.column(col))
    idx = pc.index_in(s, value_set=pa.array(list(keys), pa.string()))
    out = pc.take(pa.array(list(keys.values()), pa.string()), idx)
    missing = pc.and_(pc.is_null(idx), pc.not_equal(s, "")).to_numpy(zero_copy_only=False)
    if missing.any() and unknown == "error":
        i = _first(missing)
        allowed = ", ".join(repr(k) for k in mapping)
        got = raw.column(col)[i].as_py()
        raise raw.error(i, col, f"unknown value {got!r} (expected {allowed})")
    return out, int(missing.sum())


def utc_times(raw: RawTable, cols: list[str], formats: list[str],
              timezone: str | None) -> pd.Series:
    """Timestamps of ``cols`` (joined with a space) as UTC, tz-aware pandas Series.

    ``formats`` are strptime formats tried in order. Without ``%z`` the text is local time in
    ``timezone`` (IANA name; DST gaps and repeats are errors); with ``%z`` every value must carry
    its own UTC offset. Values with and without an offset in one file are an error naming both.
    """
    label = " + ".join(cols)
    s = raw.column(cols[0]) if len(cols) == 1 else pc.binary_join_element_wise(
        *[raw.column(c) for c in cols], " ")
    empty = pc.equal(s, "").to_numpy(zero_copy_only=False)
    if empty.any():
        raise raw.error(_first(empty), label, "empty timestamp")
    with_offset = any("%z" in f for f in formats)
    _check_offsets(raw, s, label, with_offset)
    if not with_offset and not timezone:
        raise raw.error(None, label, "no timezone given for local timestamps")
    parsed = pc.strptime(s, format=formats[0], unit="us", error_is_null=True)
    for fmt in formats[1:]:
        parsed = pc.coalesce(parsed, pc.strptime(s, format=fmt, unit="us", error_is_null=True))
    bad = pc.is_null(parsed).to_numpy(zero_copy_only=False)
    if bad.any():
        i = _first(bad)
        raise raw.error(i, label, f"cannot read time {s[i].as_py()!r} as {' or '.join(formats)}")
    ts = pd.Series(parsed.to_pandas())
    if with_offset:
        return ts.dt.tz_convert("UTC") if ts.dt.tz is not None else ts.dt.tz_localize("UTC")
    local = ts.dt.tz_localize(timezone, ambiguous="NaT", nonexistent="NaT")
    if local.isna().any():
        i = _first(local.isna().to_numpy())
        raise raw.error(i, label, f"local time {s[i].as_py()!r} is ambiguous or does not exist in "
                        f"{timezone} (daylight-saving change)")
    return local.dt.tz_convert("UTC")


def _check_offsets(raw: RawTable, s: pa.Array, label: str, expect_offset: bool) -> None:
    has = pc.match_substring_regex(s, _OFFSET).to_numpy(zero_copy_only=False)
    if has.all() == has.any():  # all or none carry an offset
        if has.any() != expect_offset:
            want = "with" if expect_offset else "without"
            raise raw.error(0, label, f"timestamps must be {want} a UTC offset "
                            f"(got {s[0].as_py()!r}); fix the time format")
        return
    i, j = _first(has), _first(~has)
    raise raw.error(max(i, j), label, "mixed timezones: line "
                    f"{raw.lines()[i]} carries a UTC offset ({s[i].as_py()!r}), line "
                    f"{raw.lines()[j]} does not ({s[j].as_py()!r})")
