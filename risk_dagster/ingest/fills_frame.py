"""Assemble converted columns into the canonical FILLS frame: trade dates, fill ids, checks.

``fill_id`` is the source's id where it has a usable one, otherwise the sha1 hex of the row's
normalized fields (trader, UTC time in microseconds, symbol, side, short flag, qty, price, fees,
order id, then the source's extra hash columns). There is no occurrence counter: two identical
rows get the same id and are reported as duplicates naming both lines.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from risk_dagster.core.calendar import fill_session_dates, is_session
from risk_dagster.core.schemas import FILLS
from risk_dagster.ingest.errors import IngestError
from risk_dagster.ingest.reader import RawTable
from risk_dagster.ingest.row_warnings import (DUPLICATE_ROWS, NOT_A_SESSION, OUTSIDE_HOURS,
                                              RowWarning)

WARNINGS_ATTR = "ingest_warnings"
LINES_ATTR = "source_lines"  # the file line of each row of a parsed frame (see encode_lines)


def encode_lines(lines: np.ndarray) -> str:
    """File lines as text for ``DataFrame.attrs`` (which pandas compares and JSON-encodes, so it
    cannot hold an array): ``"range:2:1002"`` for consecutive lines, else base64 of int64."""
    import base64

    lines = np.asarray(lines, dtype=np.int64)
    if len(lines) == 0 or (lines == np.arange(lines[0], lines[0] + len(lines))).all():
        start = int(lines[0]) if len(lines) else 2
        return f"range:{start}:{start + len(lines)}"
    return "b64:" + base64.b64encode(lines.tobytes()).decode("ascii")


def frame_lines(frame: pd.DataFrame) -> np.ndarray | None:
    """The file line of each row of a frame a parser returned (None if it has none)."""
    import base64

    code = frame.attrs.get(LINES_ATTR)
    if not code:
        return None
    if code.startswith("range:"):
        a, b = (int(x) for x in code.split(":")[1:])
        return np.arange(a, b, dtype=np.int64)
    return np.frombuffer(base64.b64decode(code[4:]), dtype=np.int64)


def session_dates(ts_utc: pd.Series, calendar: str) -> pd.Series:
    """Session date of each UTC time: the date in the calendar's timezone (UTC for 24/7), or for
    an overnight calendar (CME Globex) the session the time trades in (``fill_session_dates``)."""
    return fill_session_dates(ts_utc, calendar)[0]


def row_session_dates(raw: RawTable, ts_utc: pd.Series, calendar: str,
                      row_calendars: pa.Array | None) -> pd.Series:
    """Session date of each fill: by its own calendar where ``row_calendars`` names one (a
    future's exchange), else by the partitions' ``calendar``. Fills outside their exchange's
    trading hours are dated to the next session and counted in the warnings."""
    if row_calendars is None or row_calendars.null_count == len(row_calendars):
        groups = [(calendar, None)]
    else:
        codes = pd.Series(row_calendars.to_pandas()).fillna(calendar).to_numpy(object)
        groups = [(code, codes == code) for code in pd.unique(codes)]
    dates = pd.Series(np.empty(len(ts_utc), "datetime64[ns]"))
    for code, mask in groups:
        if mask is None:
            dates, outside = fill_session_dates(ts_utc, code)
            mask = np.ones(len(ts_utc), dtype=bool)
        else:
            part, outside = fill_session_dates(ts_utc[mask].reset_index(drop=True), code)
            dates[mask] = part.to_numpy()
        if outside.any():
            rows = np.flatnonzero(mask)
            first = int(rows[np.flatnonzero(outside)[0]])
            raw.warnings.append(RowWarning(
                "{file}: {n} fill(s) outside {code} trading hours (first on line {first}); "
                "dated to the next session", order=OUTSIDE_HOURS, key=(code,),
                n=int(outside.sum()), first=int(raw.lines()[first]),
                sort=int(raw.lines()[rows[0]]), file=raw.path.name, code=code))
    return dates


def content_hash(parts: list[pa.Array]) -> pa.Array:
    """sha1 hex of each row's parts joined with a unit separator (nulls as empty text)."""
    joined = pc.binary_join_element_wise(*[pc.cast(p, pa.string()) for p in parts], "\x1f",
                                         null_handling="replace", null_replacement="")
    keys = pa.table({"i": pa.array(np.arange(len(joined))), "k": joined})
    con = duckdb.connect()
    try:
        con.register("keys", keys)
        return con.sql("SELECT sha1(k) AS h FROM keys ORDER BY i").to_arrow_table()["h"] \
            .combine_chunks()
    finally:
        con.close()


def check_unique(raw: RawTable, ids: pd.Series, column: str | None, what: str) -> None:
    """Raise naming both lines when two records share an id."""
    later = ids.duplicated(keep="first").to_numpy()
    if later.any():
        j = int(np.flatnonzero(later)[0])
        i = int(np.flatnonzero((ids == ids.iloc[j]).to_numpy())[0])
        raise raw.error(j, column, f"duplicate of line {raw.lines()[i]}: {what} {ids.iloc[j]!r}")


def check_dates(frame: pd.DataFrame, allowed: Iterable[dt.date], *, file: str = "<frame>",
                lines: np.ndarray | None = None, column: str | None = "trade_date") -> None:
    """Raise IngestError naming the first row whose ``trade_date`` is not in ``allowed``.

    ``lines`` gives each row's line in the file; by default row ``i`` is line ``i + 2`` (a frame in
    file order, one record per line, as the parsers return it).
    """
    allowed_days = pd.DatetimeIndex(pd.to_datetime(sorted(set(allowed))))
    days = pd.to_datetime(frame["trade_date"])
    bad = ~days.isin(allowed_days).to_numpy()
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        line = int(lines[i]) if lines is not None else i + 2
        shown = ", ".join(str(d.date()) for d in allowed_days[:5]) + (
            ", ..." if len(allowed_days) > 5 else "")
        raise IngestError(file, line, column, f"trade date {days.iloc[i].date()} is outside the "
                          f"expected partition(s) ({shown})")


def non_session_warning(raw: RawTable, dates: pd.Series, calendar: str,
                        row_calendars: pa.Array | None = None) -> None:
    """Warn about fills dated on a day that is not a session of their calendar (a future's own
    exchange calendar, else ``calendar``)."""
    if row_calendars is None or row_calendars.null_count == len(row_calendars):
        # one calendar: only the distinct days matter
        groups = [(calendar, np.unique(np.asarray(dates, dtype="datetime64[D]")))]
    else:
        codes = pd.Series(row_calendars.to_pandas()).fillna(calendar)
        pairs = pd.DataFrame({"code": codes.to_numpy(),
                              "day": pd.to_datetime(dates).to_numpy()}).drop_duplicates()
        groups = pairs.groupby("code")["day"]
    for code, days in groups:
        bad = []
        for d in days:
            try:
                if not is_session(code, pd.Timestamp(d).date()):
                    bad.append(d)
            except Exception:  # noqa: BLE001 - beyond the calendar's bounds: the landing refuses it
                continue
        if bad:
            raw.warnings.append(RowWarning(
                "{file}: fills on {n} day(s) that are not {code} sessions (first {first})",
                order=NOT_A_SESSION, key=(code,), days=[pd.Timestamp(d).date() for d in bad],
                sort=code, file=raw.path.name, code=code))


def build_fills(raw: RawTable, cols: dict[str, object], **kw) -> pd.DataFrame:
    """:func:`fills_table` as a pandas frame (it equals ``FILLS.conform`` of itself); warnings go
    to ``frame.attrs[WARNINGS_ATTR]``, the file lines to ``frame.attrs[LINES_ATTR]``."""
    table, lines = fills_table(raw, cols, **kw)
    out = table.to_pandas()
    out.attrs[WARNINGS_ATTR] = [str(w) for w in raw.warnings]
    out.attrs[LINES_ATTR] = encode_lines(lines)
    return out


def fills_table(raw: RawTable, cols: dict[str, object], *, source: str, calendar: str,
                fill_id: pa.Array | None, hash_extra: list[pa.Array], id_column: str | None,
                time_column: str, expected_dates: Iterable[dt.date] | None
                ) -> tuple[pa.Table, np.ndarray]:
    """The FILLS table (``FILLS.arrow``) from converted columns ``cols`` (ts as a UTC pandas
    Series; trader_id, symbol, side, short_sale, qty, price, fees, liquidity, route, order_id,
    realized_pnl as Arrow or numpy arrays; optional asset_class, multiplier (USD per price unit,
    default 1.0) and calendar (a fill's own exchange calendar, null = ``calendar``)), and the
    file line of each of its rows. Warnings go to ``raw.warnings``."""
    ts = cols["ts"]
    n = len(ts)
    row_calendars = cols.get("calendar")
    dates = row_session_dates(raw, ts, calendar, row_calendars)
    multiplier = np.asarray(cols.get("multiplier", np.ones(n)), dtype=float)
    ids = fill_id
    if fill_id is None or fill_id.null_count:  # hash only when some row lacks a source id
        hashed = content_hash([
            cols["trader_id"], pa.array(ts.dt.as_unit("us").values.view("int64")),
            cols["symbol"], cols["side"], cols["short_sale"], cols["qty"], cols["price"],
            cols["fees"], cols["order_id"], *hash_extra])
        ids = hashed if fill_id is None else pc.coalesce(fill_id, hashed)
    keep = None
    if len(pc.unique(ids)) < len(ids):
        keep = _drop_exact_duplicates(raw, ids)
        kept_ids = ids.filter(pa.array(keep))
        what = "fill id" if fill_id is not None else "identical fill (content hash)"
        if len(pc.unique(kept_ids)) < len(kept_ids):
            placeholder = np.array([f"\x00dropped{i}" for i in range(len(ids))], dtype=object)
            check_unique(raw, pd.Series(np.where(keep, ids.to_numpy(zero_copy_only=False),
                                                 placeholder)),
                         id_column if fill_id is not None else None, what)
    if expected_dates is not None:
        check_dates(pd.DataFrame({"trade_date": dates}), expected_dates, file=str(raw.path),
                    lines=raw.lines(), column=time_column)
    non_session_warning(raw, dates, calendar, row_calendars)
    arrays = {
        "asset_class": pa.nulls(n, pa.string()), "calendar": pa.nulls(n, pa.string()),
        **{k: v for k, v in cols.items() if k != "ts"}, "multiplier": multiplier,
        "trade_date": dates.to_numpy().astype("datetime64[D]"),
        "ts": pa.array(ts, type=FILLS.arrow.field("ts").type),
        "notional": np.asarray(cols["qty"]) * np.asarray(cols["price"]) * multiplier,
        "fill_id": ids, "source": pa.array([source] * len(ts), pa.string()),
    }
    table = pa.Table.from_arrays(
        [pa.array(arrays[f.name], from_pandas=True).cast(f.type)  # NaN = null, as from pandas
         if not isinstance(arrays[f.name], pa.Array)
         else arrays[f.name].cast(f.type) for f in FILLS.arrow], schema=FILLS.arrow)
    lines = raw.lines()
    if keep is not None:
        table, lines = table.filter(pa.array(keep)), lines[keep]
    return table, lines


def _drop_exact_duplicates(raw: RawTable, ids: pa.Array) -> np.ndarray:
    """Rows to keep: a row whose every cell equals an earlier row's (an exact duplicate line, as
    a re-saved or concatenated export repeats) is dropped and counted in the warnings; rows that
    share an id but differ are left for the duplicate check to refuse."""
    if not all(pa.types.is_string(t) for t in raw.table.schema.types):
        # a streamed block with columns read as numbers: its cells' text is gone
        raise raw.error(None, None, "repeated fill ids in a block read with number columns")
    text = pc.binary_join_element_wise(*[raw.column(h, trim=False) for h in raw.header], "\x1f")
    dup = pd.Series(text.to_numpy(zero_copy_only=False)).duplicated(keep="first").to_numpy()
    if dup.any():
        j = int(np.flatnonzero(dup)[0])
        first = int(np.flatnonzero(pc.equal(text, text[j]).to_numpy(zero_copy_only=False))[0])
        lines = raw.lines()
        raw.warnings.append(RowWarning(
            "{file}: dropped {n} exact duplicate row(s) (first on line {first}, same as line "
            "{same})", order=DUPLICATE_ROWS, n=int(dup.sum()), first=int(lines[j]),
            same=int(lines[first]), file=raw.path.name))
    return ~dup
