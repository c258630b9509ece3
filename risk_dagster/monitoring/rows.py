"""One trader's rows as a float matrix with named columns: what the drift tests read.

The tests of ``drift.py`` and ``behaviour.py`` need a handful of numeric columns of a few hundred
rows, and ``drift_report`` runs them for hundreds of traders a morning. Frames per trader spent
most of that time in pandas indexing, copies and dtype checks; a ``Rows`` is a view on one
matrix of every trader's rows, read by column name. A ``Rows`` also converts from and to a
frame, for the callers that hold frames.
"""

from __future__ import annotations

import numpy as np
import pandas as pd


class Rows:
    """Rows of one trader, sorted by date: ``values`` (rows x columns, float64), the column
    ``names``, the ``dates`` (datetime64[D]) and the ``trader_id``."""

    __slots__ = ("values", "names", "index", "dates", "trader_id")

    def __init__(self, values: np.ndarray, names, dates: np.ndarray | None = None,
                 trader_id: str = "", index: dict[str, int] | None = None):
        self.values = values
        self.names = list(names)
        self.index = index if index is not None else {c: j for j, c in enumerate(self.names)}
        self.dates = dates if dates is not None else np.full(len(values), np.datetime64("NaT"),
                                                             dtype="datetime64[D]")
        self.trader_id = trader_id

    @classmethod
    def from_frame(cls, frame: pd.DataFrame, columns=None) -> "Rows":
        """The numeric ``columns`` of ``frame`` (default: every numeric column; missing ->
        NaN, as ``ks.numeric_matrix``) in ``frame``'s row order."""
        if columns is None:
            columns = [c for c in frame.columns if c not in ("trade_date", "trader_id")
                       and pd.api.types.is_numeric_dtype(frame[c])
                       and not pd.api.types.is_bool_dtype(frame[c])]
        columns = [c for c in dict.fromkeys(columns) if c in frame]
        values = frame[columns].to_numpy(dtype=float, na_value=np.nan) if columns else \
            np.empty((len(frame), 0))
        dates = (pd.to_datetime(frame["trade_date"]).to_numpy().astype("datetime64[D]")
                 if "trade_date" in frame else None)
        trader = str(frame["trader_id"].iloc[0]) if "trader_id" in frame and len(frame) else ""
        return cls(values, columns, dates, trader)

    def __len__(self) -> int:
        return len(self.values)

    def __contains__(self, name) -> bool:
        return name in self.index

    def __getitem__(self, name: str) -> np.ndarray:
        return self.values[:, self.index[name]]

    def matrix(self, columns) -> np.ndarray:
        """(rows x len(columns)) float matrix of ``columns``."""
        return self.values[:, [self.index[c] for c in columns]]

    def rows(self, start: int, stop: int) -> "Rows":
        """Rows ``start:stop`` (a view)."""
        return Rows(self.values[start:stop], self.names, self.dates[start:stop],
                    self.trader_id, self.index)

    def tail(self, n: int) -> "Rows":
        return self.rows(max(len(self) - n, 0), len(self))

    def with_column(self, name: str, values: np.ndarray) -> "Rows":
        """A copy with ``name`` set to ``values`` (added when new)."""
        if name in self.index:
            out = self.values.copy()
            out[:, self.index[name]] = values
            return Rows(out, self.names, self.dates, self.trader_id, self.index)
        return Rows(np.column_stack([self.values, values]), [*self.names, name], self.dates,
                    self.trader_id)

    def to_frame(self, columns=None) -> pd.DataFrame:
        """A frame of ``columns`` (default: all) with ``trade_date`` and ``trader_id``."""
        columns = self.names if columns is None else list(columns)
        frame = pd.DataFrame(self.matrix(columns), columns=columns)
        frame.insert(0, "trader_id", self.trader_id)
        frame.insert(0, "trade_date", pd.to_datetime(self.dates).date)
        return frame


def concat(first: Rows, second: Rows) -> Rows:
    """``first``'s rows then ``second``'s (same columns)."""
    if first.names != second.names:
        second = Rows(second.matrix(first.names), first.names, second.dates, second.trader_id)
    return Rows(np.concatenate([first.values, second.values]), first.names,
                np.concatenate([first.dates, second.dates]), first.trader_id or second.trader_id,
                first.index)


def as_rows(frame, columns=None) -> Rows:
    """``frame`` as ``Rows`` (a ``Rows`` is returned as it is)."""
    return frame if isinstance(frame, Rows) else Rows.from_frame(frame, columns)


def days(values) -> np.ndarray:
    """Dates (``datetime.date``, datetime64 or strings) as datetime64[D]: each distinct value
    converted once (a few hundred sessions for hundreds of thousands of rows)."""
    values = np.asarray(values)
    if np.issubdtype(values.dtype, np.datetime64):
        return values.astype("datetime64[D]")
    codes, uniques = pd.factorize(values)
    converted = pd.to_datetime(pd.Series(uniques, dtype=object)).to_numpy().astype(
        "datetime64[D]")
    return np.append(converted, np.datetime64("NaT", "D"))[codes]  # code -1: missing


def firm_rows(frame: pd.DataFrame, traders: list[str], columns: list[str]) -> dict[str, Rows]:
    """Each of ``traders``' rows of ``frame`` (``trade_date``, ``trader_id`` and ``columns``),
    sorted by date (ties in frame order), as ``Rows`` that are views on one matrix: the frame
    is read once for every trader instead of once per trader (a ``groupby`` into frames of
    every column)."""
    codes = pd.Categorical(frame["trader_id"].to_numpy(), categories=traders).codes
    selected = np.flatnonzero(codes >= 0)
    dates = days(frame["trade_date"].to_numpy()[selected])
    order = np.lexsort((dates, codes[selected]))
    positions, dates, codes = selected[order], dates[order], codes[selected][order]
    values = np.empty((len(positions), len(columns)))
    for j, c in enumerate(columns):
        values[:, j] = frame[c].to_numpy(dtype=float, na_value=np.nan)[positions]
    bounds = np.searchsorted(codes, np.arange(len(traders) + 1))
    index = {c: j for j, c in enumerate(columns)}
    return {t: Rows(values[a:b], columns, dates[a:b], t, index)
            for t, a, b in zip(traders, bounds[:-1], bounds[1:], strict=True)}
