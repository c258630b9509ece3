"""Vectorized conversion of text columns to numbers, UTC times, codes and trader ids.

Each converter works on a whole column at once (pyarrow.compute); only when a value is bad does it
look for the first offending record, so that the IngestError can name its line and column.
"""

from __future__ import annotations

import re

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


# Beyond this magnitude a quantity, price or amount is a corrupted cell, not a trade (1e12 shares
# or dollars in one row): refused rather than stored, since notional = qty x price must be finite.
MAX_ABS = 1e12
# A comma that groups thousands: 1,234 / 12,345.67 / -1,234,567 (groups of exactly 3 digits).
_THOUSANDS = r"^[-+]?\d{1,3}(,\d{3})+(\.\d*)?([eE][-+]?\d+)?$"
# A decimal comma (mapping ``decimal: ","``), with optional dot or space thousands groups.
_DECIMAL_COMMA = r"^[-+]?(\d{1,3}([. \x{00a0}]\d{3})+|\d+)(,\d+)?([eE][-+]?\d+)?$"


def numbers(raw: RawTable, col: str, *, required: bool = True,
            max_abs: float = MAX_ABS) -> np.ndarray:
    """Column ``col`` as float64. Accepts thousands separators ("1,234.50" — groups of 3 digits
    only), accounting negatives ("(12.50)" = -12.5) and scientific notation; with
    ``raw.decimal == ","`` a decimal comma ("81,33", "1.234,5"). Any other comma ("81,33" in a
    file that did not declare a decimal comma) is an error, never read as thousands. An empty cell
    is an error when ``required``, else NaN. Text, a non-finite value or one beyond ``max_abs``
    is an error naming the line."""
    values = None
    parsed = raw.column(col, trim=False)
    if pa.types.is_floating(parsed.type):  # read as numbers by the CSV parser (stream.py)
        return _parsed_numbers(raw, col, parsed, required, max_abs)
    if raw.decimal != ",":
        try:  # fast path: plain numbers only
            values = pc.cast(raw.column(col, trim=False), pa.float64()).to_numpy(
                zero_copy_only=False)
        except pa.ArrowInvalid:
            values = None
    if values is not None:
        largest = np.abs(values).max(initial=0.0)  # NaN or inf: not the fast path
        if largest <= max_abs:
            return values
        if np.isfinite(largest):
            _check_magnitude(raw, col, values, max_abs)
    text = raw.column(col)
    neg = pc.and_(pc.starts_with(text, "("), pc.ends_with(text, ")"))
    has_neg = pc.any(neg).as_py()
    s = pc.if_else(neg, pc.utf8_slice_codeunits(text, 1, -1), text) if has_neg else text
    s = _plain_decimal(raw, col, s, text)
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
    _check_magnitude(raw, col, values, max_abs)
    return values


def _parsed_numbers(raw: RawTable, col: str, parsed: pa.Array, required: bool,
                    max_abs: float) -> np.ndarray:
    """:func:`numbers` of a column the CSV parser read as float64 (plain numbers only; an empty
    cell is null). What the text would have said differently is refused here, to be worded by
    the whole-file reader: an empty required cell, "nan" or "inf"."""
    values = parsed.to_numpy(zero_copy_only=False)
    empty = parsed.is_null().to_numpy(zero_copy_only=False)
    if required and empty.any():
        raise raw.error(_first(empty), col, "empty value, a number is required")
    bad = ~np.isfinite(values) & ~empty
    if bad.any():
        raise raw.error(_first(bad), col, "not a number (a non-finite value)")
    _check_magnitude(raw, col, values, max_abs)
    return values


def _plain_decimal(raw: RawTable, col: str, s: pa.Array, text: pa.Array) -> pa.Array:
    """``s`` with thousands separators removed and a declared decimal comma made a dot."""
    if raw.decimal == ",":
        ok = pc.or_(pc.match_substring_regex(s, _DECIMAL_COMMA), pc.equal(s, ""))
        bad = pc.invert(ok).to_numpy(zero_copy_only=False)
        if bad.any():
            i = _first(bad)
            raise raw.error(i, col, f"not a number with a decimal comma (got {text[i].as_py()!r})")
        s = pc.replace_substring_regex(s, r"[. \x{00a0}]", "")
        return pc.replace_substring(s, ",", ".")
    has_comma = pc.match_substring(s, ",")
    if not pc.any(has_comma).as_py():
        return s
    bad = pc.and_(has_comma, pc.invert(pc.match_substring_regex(s, _THOUSANDS))).to_numpy(
        zero_copy_only=False)
    if bad.any():
        i = _first(bad)
        raise raw.error(i, col, f"comma in {text[i].as_py()!r} is not a thousands separator "
                        "(groups of 3 digits); if the file uses a decimal comma, say so with "
                        "decimal: \",\" in the column mapping")
    return pc.replace_substring(s, ",", "")


def _check_magnitude(raw: RawTable, col: str, values: np.ndarray, max_abs: float) -> None:
    big = np.abs(values) > max_abs  # NaN (an empty optional cell) is not big
    if big.any():
        i = _first(big)
        raise raw.error(i, col, f"absurd value {values[i]:g} (beyond {max_abs:g}); refused")


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
    return _validated(raw, col, text(raw, col))


def accounts(raw: RawTable, col: str | None, account: str | None) -> pa.Array:
    """Trader ids from ``col``; where the export carries none (no column, or empty cells),
    ``account`` (the ``--account`` option), validated like the others. Without it an empty
    account is an error naming the line."""
    if account is not None:
        try:
            account = validate_trader_id(account)
        except InvalidTraderId as exc:
            raise raw.error(None, col or "account", f"--account: {exc}") from None
    if col is None:
        if account is None:
            raise raw.error(None, "account", "the export has no account column: give the "
                            "trader with --account ID")
        return pa.array([account] * raw.n_rows, pa.string())
    if account is not None:
        s = raw.column(col)
        return _validated(raw, col, pc.if_else(pc.equal(s, ""), account, s))
    return trader_ids(raw, col)


def _validated(raw: RawTable, col: str, s: pa.Array) -> pa.Array:
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
    fast = fixed_width_strptime(s, formats[0], "us")
    # values of one fixed-width shape carry an offset all or none: the first one tells
    _check_offsets(raw, s if fast is None else s.slice(0, 1), label, with_offset)
    if not with_offset and not timezone:
        raise raw.error(None, label, "no timezone given for local timestamps")
    parsed = fast if fast is not None else strict_strptime(raw, s, formats, label, what="time",
                                                           fast=False)
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


# Fractional seconds after a clock time ("09:39:29.400890"): strptime has no %f, so the fraction
# is cut off, the rest parsed, and the fraction added back (microseconds; finer digits refused).
_FRACTION = r"(\d:\d{2})\.(\d{1,6})($|\s|[+-]\d|Z)"


# The directives of fixed width that fixed_width_strptime reads, and their widths.
_FIXED = {"%Y": 4, "%m": 2, "%d": 2, "%H": 2, "%M": 2, "%S": 2}
_DIRECTIVE = re.compile(r"%.")


def _fixed_layout(fmt: str) -> tuple[int, list[tuple[str, int]], list[tuple[int, int]]] | None:
    """(width, [(directive, position)], [(position, literal byte)]) of a format made only of
    ``_FIXED`` directives and ASCII literals; None for any other format."""
    fields, literals, pos, i = [], [], 0, 0
    while i < len(fmt):
        if fmt[i] == "%":
            d = fmt[i:i + 2]
            if d not in _FIXED:
                return None
            fields.append((d, pos))
            pos, i = pos + _FIXED[d], i + 2
        else:
            if not fmt[i].isascii() or fmt[i].isdigit() or fmt[i] == ".":  # "." : a fraction?
                return None
            literals.append((pos, ord(fmt[i])))
            pos, i = pos + 1, i + 1
    if len({d for d, _ in fields}) != len(fields) or not {"%Y", "%m", "%d"} <= {
            d for d, _ in fields}:
        return None
    return pos, fields, literals


def fixed_width_strptime(s: pa.Array, fmt: str, unit: str = "us") -> pa.Array | None:
    """``s`` parsed with ``fmt`` when every value is the zero-padded rendering of a real date
    and time in a format of fixed width (``%m/%d/%Y %H:%M:%S``: digits where the directives
    are, the format's literals elsewhere, year 1900-2199); else None, and the caller parses with
    :func:`strict_strptime` (which words what is wrong). Read from the bytes at once, so there
    is nothing to roll over and nothing to check after."""
    layout = _fixed_layout(fmt)
    if layout is None or len(s) == 0 or s.null_count or not pa.types.is_string(s.type):
        return None
    width, fields, literals = layout
    offsets = np.frombuffer(s.buffers()[1], dtype=np.int32)[s.offset:s.offset + len(s) + 1]
    if not (np.diff(offsets) == width).all():
        return None
    cells = np.frombuffer(s.buffers()[2], dtype=np.uint8)[offsets[0]:offsets[-1]].reshape(
        len(s), width)
    # each byte position at once: digits where the directives are (a byte below "0" wraps
    # around above 9), the format's literal elsewhere
    x = np.ascontiguousarray(cells.T) - np.uint8(48)  # one row per byte position
    low, high = x.min(axis=1), x.max(axis=1)
    for p, b in literals:
        if not low[p] == high[p] == (b - 48) % 256:
            return None
    if any(high[p + k] > 9 for d, p in fields for k in range(_FIXED[d])):
        return None
    value = {}
    for d, p in fields:
        v = x[p].astype(np.int32)
        for k in range(1, _FIXED[d]):
            v = v * 10 + x[p + k]
        value[d] = v
    y, m, d = value["%Y"], value["%m"], value["%d"]
    hour, minute, second = (value.get(k, 0) for k in ("%H", "%M", "%S"))
    if (y.min() < 1900 or y.max() > 2199 or m.min() < 1 or m.max() > 12 or d.min() < 1
            or np.max(hour) > 23 or np.max(minute) > 59 or np.max(second) > 59):
        return None
    month = (y - 1900) * 12 + m - 1
    if (d > _MONTH_LENGTH[month]).any():
        return None
    days = _MONTH_START[month] + (d - 1)
    seconds = days.astype(np.int64) * 86400 + (hour * 3600 + minute * 60 + second)
    return pa.array(seconds * _PER_SECOND[unit], pa.timestamp(unit))


# First day (days since 1970-01-01) and length of every month of 1900-2199, by (year-1900)*12+m-1.
_MONTH_START = np.arange("1900-01", "2200-02", dtype="datetime64[M]").astype(
    "datetime64[D]").astype(np.int32)
_MONTH_LENGTH = np.diff(_MONTH_START)
_PER_SECOND = {"s": 1, "ms": 1_000, "us": 1_000_000, "ns": 1_000_000_000}


def strict_strptime(raw: RawTable, s: pa.Array, formats: list[str], label: str, *,
                    what: str = "date", unit: str = "us", fast: bool = True) -> pa.Array:
    """Parse ``s`` with the first matching strptime format; an unreadable value or an impossible
    date (``02/30/2024``, which strptime rolls over to March 1st) is an IngestError naming the
    line. Fractional seconds up to microseconds are accepted after ``%S``. ``fast``: try
    :func:`fixed_width_strptime` with the first format first."""
    if fast:
        done = fixed_width_strptime(s, formats[0], unit)
        if done is not None:
            return done
    original, frac = s, None
    if raw.fmt == "xlsx":  # real date cells arrive as ISO text (see reader._cell_text)
        formats = [*formats, "%Y-%m-%d %H:%M:%S", "%Y-%m-%d"]
    if any("%S" in f for f in formats) and pc.any(pc.match_substring_regex(s, _FRACTION)).as_py():
        digits = pc.extract_regex(s, r"\d:\d{2}\.(?P<f>\d{1,6})(?:$|\s|[+-]\d|Z)")
        digits = pc.fill_null(pc.struct_field(digits, "f"), "")
        padded = pc.utf8_rpad(digits, 6, "0")
        frac = pc.if_else(pc.equal(digits, ""), 0, pc.cast(
            pc.if_else(pc.equal(padded, "000000"), "0", padded), pa.int64()))
        s = pc.replace_substring_regex(s, _FRACTION, r"\1\3")
    parsed = None
    for fmt in formats:
        one = pc.strptime(s, format=fmt, unit=unit, error_is_null=True)
        _check_rollover(raw, s, one, fmt, label)
        parsed = one if parsed is None else pc.coalesce(parsed, one)
    bad = pc.is_null(parsed).to_numpy(zero_copy_only=False)
    if bad.any():
        i = _first(bad)
        raise raw.error(i, label, f"cannot read {what} {original[i].as_py()!r} as "
                        f"{' or '.join(formats)}")
    if frac is not None:
        as_int = pc.cast(parsed, pa.int64())
        parsed = pc.cast(pc.add(as_int, frac), parsed.type)
    return parsed


def _canon(s: pa.Array) -> pa.Array:
    """Text of a date/time with zero padding and case removed, for comparing renderings."""
    s = pc.utf8_lower(s)
    return pc.replace_substring_regex(s, r"(^|[^0-9])0+([0-9])", r"\1\2")


# strptime rolls over only a day past the month's end (02/30 -> 03/01: day 29-31 becomes the 1st
# to 3rd) and a leap second (:60/:61 -> :00/:01). With formats of these directives only, a row
# whose parsed day is past the 3rd and second past :01 cannot have rolled over, so only the other
# rows are rendered back (strftime is the costly part of the check).
_PLAIN_DIRECTIVES = re.compile(r"%[YymdeHIMSpbBhzTDFR%]")


def _rollover_candidates(parsed: pa.Array, fmt: str) -> pa.Array | None:
    """Mask of the rows that may have rolled over, None for every row (other directives)."""
    if _PLAIN_DIRECTIVES.sub("", fmt).count("%"):
        return None
    checks = []
    if re.search(r"%[deDF]", fmt):
        checks.append(pc.less_equal(pc.day(parsed), 3))
    if re.search(r"%[ST]", fmt):
        checks.append(pc.less_equal(pc.second(parsed), 1))
    if not checks:
        return pa.array(np.zeros(len(parsed), dtype=bool))
    mask = checks[0] if len(checks) == 1 else pc.or_(*checks)
    return pc.fill_null(mask, False)


def _check_rollover(raw: RawTable, s: pa.Array, parsed: pa.Array, fmt: str, label: str) -> None:
    """strptime rolls 02/30 over to 03/01: re-render what it read and compare with the text."""
    if not pc.any(pc.is_valid(parsed)).as_py():
        return
    text, naive_fmt = s, fmt
    if "%z" in fmt:  # compare the local clock text without its offset
        text = pc.replace_substring_regex(s, r"\s*(Z|[+-]\d{2}:?\d{2})$", "")
        naive_fmt = fmt.replace("%z", "").rstrip()
        parsed = pc.strptime(text, format=naive_fmt, unit="s", error_is_null=True)
    rows = _rollover_candidates(parsed, naive_fmt)
    if rows is not None:
        idx = pc.indices_nonzero(rows)
        if len(idx) == 0:
            return
        text, parsed = text.take(idx), parsed.take(idx)
    # whole seconds (the fraction was cut off before), or %S would render one
    shown = pc.strftime(pc.cast(parsed, pa.timestamp("s", parsed.type.tz)), format=naive_fmt)
    differs = pc.fill_null(pc.and_(pc.is_valid(parsed), pc.not_equal(shown, text)), False)
    if pc.any(differs).as_py():  # zero padding and case aside (only where the text differs)
        sub = pc.indices_nonzero(differs)
        canon_differs = pc.not_equal(_canon(shown.take(sub)), _canon(text.take(sub)))
        hits = sub.filter(pc.fill_null(canon_differs, False))
        if len(hits):
            j = hits[0].as_py()
            i = j if rows is None else idx[j].as_py()
            raise raw.error(i, label, f"impossible date {s[i].as_py()!r} (read as {fmt}: no "
                            f"such day; it would have become {shown[j].as_py()!r})")
