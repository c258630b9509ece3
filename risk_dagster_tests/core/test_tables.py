"""write_dates: each date's rows, in the frame's order, replace that date's partition; read_panel
of some columns."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pyarrow.parquet as pq
import pytest

from risk_dagster.core.lake import Lake
from risk_dagster.core.tables import read_panel, write_dates

D1, D2, D3 = dt.date(2024, 1, 2), dt.date(2024, 1, 3), dt.date(2024, 1, 4)


def test_rows_go_to_their_date_in_frame_order_and_other_dates_become_empty(tmp_path):
    lake = Lake(tmp_path)
    lake.write("scores", "date", D3.isoformat(), pd.DataFrame({"trade_date": [D3], "x": [9.0]}))
    frame = pd.DataFrame({
        "trade_date": [D2, D1, D2, D1, D2],
        "trader_id": ["T3", "T2", "T1", "T1", "T2"],
        "x": [1.0, 2.0, 3.0, 4.0, 5.0],
        "note": ["a", None, None, None, "b"],
    })
    write_dates(lake, "scores", frame, [D1, D2, D3])
    d1 = pq.read_table(lake.partition_path("scores", "date", D1.isoformat()))
    d2 = lake.read_df("scores", "date", [D2.isoformat()])
    d3 = lake.read_df("scores", "date", [D3.isoformat()])
    assert d1.column("trader_id").to_pylist() == ["T2", "T1"]
    assert d1.column("x").to_pylist() == [2.0, 4.0]
    # a column that is null on every row of D1 keeps the type it has over the frame
    assert str(d1.schema.field("note").type) == "string"
    assert d2["trader_id"].tolist() == ["T3", "T1", "T2"]
    assert d2["x"].tolist() == [1.0, 3.0, 5.0]
    assert d2["note"].tolist() == ["a", None, "b"]
    assert d2["trade_date"].tolist() == [D2, D2, D2]
    assert len(d3) == 0 and list(d3.columns) == ["trade_date", "trader_id", "x", "note"]


def test_rows_of_dates_not_asked_for_are_not_written(tmp_path):
    lake = Lake(tmp_path)
    frame = pd.DataFrame({"trade_date": [D1, D2], "x": [1.0, 2.0]})
    write_dates(lake, "scores", frame, [D2])
    assert lake.keys("scores", "date") == [D2.isoformat()]
    assert lake.read_df("scores", "date")["x"].tolist() == [2.0]


def test_read_panel_reads_only_the_columns_asked_for(tmp_path):
    lake = Lake(tmp_path)
    frame = pd.DataFrame({"trade_date": [D2, D1, D2], "trader_id": ["T2", "T1", "T1"],
                          "net_pnl": [1.0, 2.0, 3.0], "notional": [10.0, 20.0, 30.0]})
    write_dates(lake, "trader_day_panel", frame, [D1, D2])
    got = read_panel(lake, columns=["trade_date", "trader_id", "net_pnl"])
    assert list(got.columns) == ["trade_date", "trader_id", "net_pnl"]
    assert got.values.tolist() == [[D1, "T1", 2.0], [D2, "T1", 3.0], [D2, "T2", 1.0]]
    with pytest.raises(ValueError, match="not panel columns"):
        read_panel(lake, columns=["trade_date", "no_such_column"])


def test_query_in_key_order_gives_the_ordered_df_of_a_shuffled_table():
    """Streamed into one float64 block and ordered afterwards: the same frame as DuckDB's
    ORDER BY + .df() (dtypes, NULLs, column order), here from rows stored out of order and
    in chunks of one vector (so several chunks and the in-place reordering both run)."""
    import duckdb
    import numpy as np

    from risk_dagster.core.tables import query_in_key_order

    rng = np.random.default_rng(5)
    n = 5000
    days = pd.bdate_range("2024-01-02", periods=50).date
    frame = pd.DataFrame({
        "a": rng.normal(size=n), "trade_date": days[np.arange(n) % 50],
        "trader_id": [f"T{i // 50:03d}" for i in range(n)], "count": rng.integers(0, 9, n),
        "note": rng.choice(["x", "y", None], n), **{f"f{i}": rng.normal(size=n) for i in range(11)},
    })
    frame.loc[rng.random(n) < 0.1, "f3"] = np.nan
    frame = frame.sample(frac=1.0, random_state=1)
    con = duckdb.connect()
    con.register("src", frame)
    con.execute("CREATE TABLE t AS SELECT * FROM src")
    sql, params = "SELECT * FROM t WHERE count < ?", [7]
    want = con.execute(sql + " ORDER BY trade_date, trader_id", params).df()
    got = query_in_key_order(con, sql, params, vectors_per_chunk=1)
    assert len(got) == len(want) > 3000 and not got["f3"].notna().all()
    pd.testing.assert_frame_equal(got, want, check_exact=True)
    assert query_in_key_order(con, "SELECT * FROM t WHERE count < 0").empty
