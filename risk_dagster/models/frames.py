"""Model design frames: join features to labels, normalise per trader, fingerprint the data.

Inputs follow the team contracts: a features frame (``trade_date, trader_id`` + numeric
features known at D's close) and ``risk_labels`` (``large_loss``, ``next_net_pnl`` (USD),
``label_date``, ``label_status``).
"""

from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd

from risk_dagster.models.config import KEY_COLUMNS

LABEL_COLUMNS = ("label_date", "large_loss", "next_net_pnl", "label_status")


def feature_columns(features: pd.DataFrame) -> list[str]:
    """Numeric, non-key columns of a features frame, in frame order."""
    return [
        c for c in features.columns
        if c not in KEY_COLUMNS and pd.api.types.is_numeric_dtype(features[c])
    ]


def training_frame(features: pd.DataFrame, labels: pd.DataFrame) -> pd.DataFrame:
    """Feature rows with a complete label, sorted by (trade_date, trader_id), index 0..n-1.

    Adds ``label_date`` (datetime64), ``large_loss`` (int 0/1) and ``next_net_pnl`` (USD).
    Rows whose label is pending, missing or 'no_next_trade' are dropped.
    """
    lab = labels[list(KEY_COLUMNS) + list(LABEL_COLUMNS)]
    lab = lab[(lab["label_status"] == "complete") & lab["large_loss"].notna()]
    out = features.merge(lab, on=list(KEY_COLUMNS), how="inner", validate="one_to_one")
    out["trade_date"] = pd.to_datetime(out["trade_date"])
    out["label_date"] = pd.to_datetime(out["label_date"])
    out["large_loss"] = out["large_loss"].astype("int64")
    out["next_net_pnl"] = out["next_net_pnl"].astype("float64")
    del out["label_status"]
    # in place where it can be: each copy of a pooled frame is ~0.6 GB at 500 traders
    if not is_sorted(out):
        out = out.sort_values(list(KEY_COLUMNS))
    out.index = pd.RangeIndex(len(out))
    return out


def is_sorted(frame: pd.DataFrame) -> bool:
    """Whether ``frame``'s rows are in strictly increasing (trade_date, trader_id) order."""
    if len(frame) < 2:
        return True
    d = frame["trade_date"].to_numpy()
    t = frame["trader_id"].to_numpy()
    return bool(((d[1:] > d[:-1]) | ((d[1:] == d[:-1]) & (t[1:] > t[:-1]))).all())


def normalize_by_trader(frame: pd.DataFrame, columns: list[str], min_periods: int,
                        chunk_columns: int = 16) -> pd.DataFrame:
    """Each column as a z-score against the trader's own history strictly before D.

    frame: rows with ``trader_id``, ``trade_date`` and ``columns`` (any order; the output keeps
    ``frame``'s index). For row D the mean and std use the trader's non-missing values on dates
    < D (expanding, point in time); NaN until ``min_periods`` prior values exist or if std is 0.
    Output: float64 frame of ``columns``. Computed ``chunk_columns`` columns at a time (each
    column's z-scores depend on that column only), so the working memory is a few copies of a
    chunk instead of ten copies of the whole frame (9 GB at 300k rows x 259 columns).
    """
    keys = pd.DataFrame({"t": frame["trader_id"].to_numpy(), "d": frame["trade_date"].to_numpy()})
    perm = keys.sort_values(["t", "d"], kind="stable").index.to_numpy()
    g = keys["t"].to_numpy()[perm]
    out = np.empty((len(frame), len(columns)), dtype=np.float64)
    for start in range(0, len(columns), chunk_columns):
        chunk = list(columns[start:start + chunk_columns])
        x = pd.DataFrame(frame[chunk].to_numpy(np.float64)[perm], columns=chunk)
        seen = x.notna().astype("float64")
        v = x.fillna(0.0)
        n = seen.groupby(g).cumsum() - seen
        s = v.groupby(g).cumsum() - v
        q = (v * v).groupby(g).cumsum() - v * v
        mean = s / n.where(n > 0)
        var = (q - n * mean * mean) / (n - 1).where(n > 1)
        std = np.sqrt(var.clip(lower=0.0)).where(lambda t: t > 1e-12)
        z = ((x - mean) / std).where(n >= min_periods)
        out[perm, start:start + len(chunk)] = z.to_numpy(np.float64)
    return pd.DataFrame(out, index=frame.index, columns=list(columns))


def fingerprint(frame: pd.DataFrame) -> str:
    """SHA-256 of a frame's values and column names (row order matters), hex."""
    h = hashlib.sha256("|".join(map(str, frame.columns)).encode())
    h.update(pd.util.hash_pandas_object(frame, index=False).to_numpy().tobytes())
    return h.hexdigest()
