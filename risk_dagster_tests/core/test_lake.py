import threading

import pandas as pd
import pytest

from risk_dagster.core.lake import Lake, partition_cache
from risk_dagster.core.trader_ids import InvalidTraderId


def test_write_replaces_partition_and_reads_back(tmp_path):
    lake = Lake(tmp_path)
    lake.write("raw_fills", "date", "2024-01-02", pd.DataFrame({"x": [1, 2, 3]}))
    lake.write("raw_fills", "date", "2024-01-02", pd.DataFrame({"x": [7]}))  # re-run
    lake.write("raw_fills", "date", "2024-01-03", pd.DataFrame({"x": [10]}))
    assert lake.keys("raw_fills", "date") == ["2024-01-02", "2024-01-03"]
    assert lake.read_df("raw_fills", "date")["x"].tolist() == [7, 10]
    con = lake.connect()
    assert con.execute("SELECT sum(x) FROM raw_fills").fetchone()[0] == 17
    # no temp files are left behind
    assert [p.name for p in (tmp_path / "raw_fills" / "date=2024-01-02").iterdir()] == ["data.parquet"]


def test_failed_write_keeps_previous_partition(tmp_path):
    lake = Lake(tmp_path)
    lake.write("a", "date", "2024-01-02", pd.DataFrame({"x": [1]}))
    with pytest.raises(Exception):
        lake.write("a", "date", "2024-01-02", pd.DataFrame({"x": [object()]}))
    assert lake.read_df("a", "date")["x"].tolist() == [1]
    assert len(list((tmp_path / "a" / "date=2024-01-02").iterdir())) == 1


def test_trader_partition_keys_are_validated(tmp_path):
    lake = Lake(tmp_path)
    for bad in ["../etc", "a/b", "a|b", "", ".."]:
        with pytest.raises(InvalidTraderId):
            lake.partition_dir("trader_models", "trader", bad)
    with pytest.raises(ValueError):
        lake.partition_dir("x", "date", "2024/01/02")
    with pytest.raises(ValueError):
        lake.asset_dir("../x")


def test_concurrent_writers_of_different_partitions(tmp_path):
    lake = Lake(tmp_path)

    def write(day):
        for i in range(20):
            lake.write("a", "date", f"2024-01-{day:02d}", pd.DataFrame({"x": [day] * (i + 1)}))

    threads = [threading.Thread(target=write, args=(d,)) for d in range(1, 9)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    frame = lake.read_df("a", "date")
    assert sorted(frame.groupby("x").size().to_dict().items()) == [(d, 20) for d in range(1, 9)]


def test_unpartitioned_table(tmp_path):
    lake = Lake(tmp_path)
    lake.write_table("trader_registry", pd.DataFrame({"trader_id": ["T1"]}))
    assert lake.read_table("trader_registry")["trader_id"].tolist() == ["T1"]


def test_staged_writes_land_together_or_not_at_all(tmp_path):
    lake = Lake(tmp_path)
    lake.write("a", "date", "2024-01-02", pd.DataFrame({"x": [1]}))
    with pytest.raises(RuntimeError):
        with lake.staged() as stage:
            stage.write("a", "date", "2024-01-02", pd.DataFrame({"x": [2]}))
            stage.write("a", "date", "2024-01-03", pd.DataFrame({"x": [3]}))
            raise RuntimeError("late chunk failed")
    assert lake.keys("a", "date") == ["2024-01-02"]
    assert lake.read_df("a", "date")["x"].tolist() == [1]
    with lake.staged() as stage:
        stage.write("a", "date", "2024-01-02", pd.DataFrame({"x": [2]}))
        stage.write("a", "date", "2024-01-03", pd.DataFrame({"x": [3]}))
        stage.write_table("reg", pd.DataFrame({"x": [9]}))
        assert lake.read_df("a", "date")["x"].tolist() == [1]  # not visible before the end
    assert lake.read_df("a", "date")["x"].tolist() == [2, 3]
    assert lake.read_table("reg")["x"].tolist() == [9]
    assert not any((tmp_path / ".staging").iterdir())


def test_partition_cache_reads_what_is_stored_and_rereads_a_rewritten_partition(tmp_path):
    lake = Lake(tmp_path)
    lake.write("a", "date", "2024-01-02", pd.DataFrame({"x": [1, 2], "s": ["p", "q"]}))
    lake.write("a", "date", "2024-01-03", pd.DataFrame({"x": pd.Series([], dtype="int64"),
                                                        "s": pd.Series([], dtype=object)}))
    lake.write("a", "date", "2024-01-04", pd.DataFrame({"x": [3], "s": ["r"]}))
    sql = "SELECT * FROM a ORDER BY x"
    plain = (lake.read_df("a", "date"), lake.connect(["a"]).execute(sql).df())
    with partition_cache() as cache:
        cached = (lake.read_df("a", "date"), lake.connect(["a"]).execute(sql).df())
        assert len(cache._tables) == 3
        pd.testing.assert_frame_equal(cached[0], plain[0])  # the empty day's null column too
        pd.testing.assert_frame_equal(cached[1], plain[1])
        lake.write("a", "date", "2024-01-04", pd.DataFrame({"x": [30], "s": ["r"]}))  # re-run
        assert lake.read_df("a", "date")["x"].tolist() == [1, 2, 30]
        assert lake.connect(["a"]).execute("SELECT sum(x) FROM a").fetchone()[0] == 33
    assert lake.read_df("a", "date")["x"].tolist() == [1, 2, 30]  # off again: from the files


def test_partition_cache_drops_the_least_recently_read_beyond_its_budget(tmp_path):
    lake = Lake(tmp_path)
    for day in ("2024-01-02", "2024-01-03", "2024-01-04"):
        lake.write("a", "date", day, pd.DataFrame({"x": range(1000)}))
    one = lake.read("a", "date", ["2024-01-02"]).nbytes  # 8,000 bytes
    with partition_cache(max_bytes=2 * one) as cache:
        lake.read("a", "date", ["2024-01-02", "2024-01-03"])
        lake.read("a", "date", ["2024-01-02"])  # read again: now the most recent
        lake.read("a", "date", ["2024-01-04"])  # over budget: 01-03 goes
        assert [k.split("date=")[1][:10] for k in cache._tables] == ["2024-01-02", "2024-01-04"]
        assert cache.nbytes == 2 * one
        assert lake.read_df("a", "date")["x"].sum() == 3 * sum(range(1000))
