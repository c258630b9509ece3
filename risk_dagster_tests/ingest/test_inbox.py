import datetime as dt
from pathlib import Path

import dagster as dg

from risk_dagster.defs.resources import LakeResource, TradeSource
from risk_dagster.core.settings import Settings
from risk_dagster.defs.partitions import build_date_partitions
from risk_dagster.defs.sensors import build_inbox_sensor
from risk_dagster.ingest.inbox import (INBOX, _move, pending_files, process_inbox_file,
                                       read_landed)

inbox_sensor = build_inbox_sensor(build_date_partitions(Settings()))

HEADER = ("Date/Time,Account,B/S,Qty,Symbol,Price,Route,Liq,Comm,Ecn Fee,SEC,ORF,CAT,TAF,FTT,"
          "NSCC,Acc,Clr,Misc,Order Id,Fill Id,Currency,ISIN,CUSIP,Status,PropReports Id")
ROW = ("01/03/2024 10:{m:02d}:00,T0001,{side},100,AAPL,185.{m:02d},ARCA,A,0.5,-0.2,0,0,0,0,0,0,0,"
       "0,0,O{m},F{m},USD,US0378331005,037833100,,{m}")


def _drop(data_dir, name, lines, source="propreports"):
    folder = data_dir / INBOX / source
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text("\n".join(lines) + "\n")
    return path


def test_good_file_lands_and_is_archived(tmp_path):
    path = _drop(tmp_path, "fills.csv", [HEADER] + [ROW.format(m=m, side="BS"[m % 2]) for m in range(4)])
    assert pending_files(tmp_path) == [("propreports", path)]
    result = process_inbox_file(path, "propreports", tmp_path, calendar="XNYS")
    assert result.status == "landed", result.error
    assert result.dates == ["2024-01-03"] and result.rows == 4
    assert not path.exists() and result.moved_to.exists()
    landed = read_landed(tmp_path, "fills", ["2024-01-03"]).to_pandas()
    assert len(landed) == 4 and set(landed["trade_date"]) == {dt.date(2024, 1, 3)}
    # the same file dropped again replaces its landing file instead of doubling the rows
    again = _drop(tmp_path, "fills.csv", [HEADER] + [ROW.format(m=m, side="BS"[m % 2]) for m in range(4)])
    process_inbox_file(again, "propreports", tmp_path, calendar="XNYS")
    assert len(read_landed(tmp_path, "fills", ["2024-01-03"])) == 4
    assert len(list((tmp_path / "archive" / "propreports").iterdir())) == 2  # both copies kept


def test_bad_file_is_rejected_with_an_error_file_and_nothing_lands(tmp_path):
    rows = [ROW.format(m=m, side="B") for m in range(3)]
    rows[1] = rows[1].replace(",B,", ",X,")
    path = _drop(tmp_path, "bad.csv", [HEADER] + rows)
    result = process_inbox_file(path, "propreports", tmp_path, calendar="XNYS")
    assert result.status == "rejected"
    assert "line 3" in result.error and "B/S" in result.error
    error_file = result.moved_to.with_name(result.moved_to.name + ".error.txt")
    assert result.moved_to.parent == tmp_path / "rejected" / "propreports"
    assert "line 3" in error_file.read_text()
    assert read_landed(tmp_path, "fills", ["2024-01-03"]).num_rows == 0


def test_sensor_requests_inbox_runs_then_landed_dates(tmp_path):
    _drop(tmp_path, "fills.csv", [HEADER] + [ROW.format(m=m, side="B") for m in range(2)])
    resources = {"lake": LakeResource(data_dir=str(tmp_path)),
                 "source": TradeSource(kind="landing", data_dir=str(tmp_path))}
    with dg.instance_for_test() as instance:
        ctx = dg.build_sensor_context(instance=instance, resources=resources)
        result = inbox_sensor(ctx)
        assert [r.job_name for r in result.run_requests] == ["inbox_ingest_job"]
        config = result.run_requests[0].run_config["ops"]["ingest_inbox_files"]["config"]
        assert config["source"] == "propreports" and config["paths"][0].endswith("fills.csv")
        # the inbox job lands the file; the next tick asks for that date's partition once
        process_inbox_file(tmp_path / INBOX / "propreports" / "fills.csv", "propreports",
                           tmp_path, calendar="XNYS")
        ctx = dg.build_sensor_context(instance=instance, resources=resources, cursor=result.cursor)
        second = inbox_sensor(ctx)
        assert [(r.job_name, r.partition_key) for r in second.run_requests] == [("ingest_job", "2024-01-03")]
        ctx = dg.build_sensor_context(instance=instance, resources=resources, cursor=second.cursor)
        assert inbox_sensor(ctx).run_requests == []



def test_a_name_taken_between_a_check_and_the_move_is_never_overwritten(tmp_path, monkeypatch):
    # Another process archives a file of the same name just after this one looked: modelled by
    # every existence check answering "free" while the name is taken. The move must still keep
    # both files (the name is claimed atomically, not checked and then used).
    folder = tmp_path / "archive" / "propreports"
    folder.mkdir(parents=True)
    (folder / "fills.csv").write_text("archived first\n")
    src = tmp_path / "fills.csv"
    src.write_text("archived second\n")
    monkeypatch.setattr(Path, "exists", lambda self: False)
    moved = _move(src, folder)
    assert moved != folder / "fills.csv" and moved.parent == folder
    assert (folder / "fills.csv").read_text() == "archived first\n"
    assert moved.read_text() == "archived second\n" and not src.exists()
