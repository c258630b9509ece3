"""Streaming a fills CSV in blocks (ingest/stream.py): the same landing as the whole-file reader,
true file lines across blocks, and the whole-file reader's exact message on any error."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from risk_dagster.ingest import stream
from risk_dagster.ingest.dispatch import parse_file
from risk_dagster.ingest.inbox import LANDING, file_batch_id, process_inbox_file
from risk_dagster.ingest.stream import BlockReader, Unstreamable

from .samples import FILLS_26, csv_text

TODAY = dt.date(2024, 6, 28)
DAYS = ["01/02/2024", "01/03/2024", "01/04/2024", "01/05/2024", "01/08/2024"]


def _rows(n: int) -> list[dict[str, str]]:
    """``n`` fills over five sessions, in time order but for one late-reported fill."""
    rows = [{"Date/Time": f"{DAYS[i * len(DAYS) // n]} {9 + i % 7:02d}:{i % 60:02d}:{i % 59:02d}",
             "Account": f"T{1 + i % 3:04d}", "B/S": "BST"[i % 3], "Qty": str(100 + i),
             "Price": f"{50 + i / 100:.2f}", "Fill Id": f"F{i + 1}", "Order Id": f"O{i // 2}",
             "PropReports Id": str(9000 + i)} for i in range(n)]
    rows[n // 2]["Date/Time"] = "01/02/2024 15:59:00"  # a fill of the first day, reported late
    return rows


@pytest.fixture
def small_blocks(monkeypatch):
    monkeypatch.setattr(stream, "CHUNK_BYTES", 2048)  # ~12 records a block


def streamed_only(monkeypatch):
    """Fail if process_inbox_file falls back to the whole-file reader."""
    import risk_dagster.ingest

    def whole_file(*args, **kw):
        raise AssertionError("read whole, not streamed")

    monkeypatch.setattr(risk_dagster.ingest, "parse_file", whole_file)


@pytest.fixture(name="streamed_only")
def _streamed_only(monkeypatch):
    streamed_only(monkeypatch)


def _land(data: Path, name: str, text: str, **kw):
    path = data / "inbox" / "propreports" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return process_inbox_file(path, "propreports", data, calendar="XNYS",
                              first_date=dt.date(2024, 1, 2), today=TODAY, **kw)


def _landed(data: Path) -> dict[str, list[dict]]:
    """Each landed date file's rows, in stored order, without the landing time."""
    out = {}
    for path in sorted((data / LANDING / "fills").glob("date=*/*.parquet")):
        out[path.parent.name] = pq.read_table(path).drop_columns(["landed_at"]).to_pylist()
    return out


def test_block_lines_follow_the_file_across_quoted_newlines_and_blank_lines(tmp_path):
    header = "Date/Time,Account,B/S,Qty,Symbol,Price,Order Id,Fill Id\n"
    record = "01/02/2024 09:30:00,T0001,B,100,AAPL,185.5,O{i},F{i}\n"
    body = "".join(record.format(i=i) for i in range(1, 40))
    body += '01/02/2024 09:31:00,T0001,B,100,"AA\nPL",185.5,O40,F40\n\n'  # lines 41-42, blank 43
    body += "".join(record.format(i=i) for i in range(41, 60))
    path = tmp_path / "f.csv"
    path.write_bytes(header.encode() + body.encode())
    reader = BlockReader(path, chunk_bytes=300)
    blocks = list(reader)
    assert len(blocks) > 5
    lines = [int(x) for b in blocks for x in b.lines()]
    assert lines == [*range(2, 41), 41, *range(44, 63)]
    orders = [o for b in blocks for o in b.column("Order Id").to_pylist()]
    assert orders == [f"O{i}" for i in range(1, 60)]
    assert [o for b in blocks for o in b.column("Symbol").to_pylist()][39] == "AA\nPL"
    assert reader.batch_id == file_batch_id(path)


@pytest.mark.parametrize("content,why", [
    (b"\xef\xbb\xbfDate/Time,Qty\n01/02/2024 09:30:00,1\n01/02/2024 09:31:00,1,2\n",
     "a record with the wrong number of fields"),
    ("Date/Time,Qty\n01/02/2024 09:30:00,1\nGr\xfc\xdfe,1\n".encode("cp1252"), "not UTF-8"),
    ("Date/Time,Qty\n1,1\n".encode("utf-16"), "UTF-16"),
    (b"PK\x03\x04rest", "empty or a spreadsheet"),
])
def test_unusual_files_are_left_to_the_whole_file_reader(tmp_path, content, why):
    path = tmp_path / "f.csv"
    path.write_bytes(content)
    with pytest.raises(Unstreamable, match=why):
        list(BlockReader(path, chunk_bytes=1024))


def test_streamed_landing_equals_the_whole_file_landing(tmp_path, small_blocks, monkeypatch):
    text = csv_text(FILLS_26, _rows(200))
    assert len(text) > 10 * 2048  # many blocks
    whole = _land(tmp_path / "b", "fills.csv", text, parse=parse_file)
    streamed_only(monkeypatch)
    streamed = _land(tmp_path / "a", "fills.csv", text)
    assert streamed.status == whole.status == "landed"
    assert (streamed.rows, streamed.dates, streamed.batch_id, streamed.warnings) == (
        200, ["2024-01-02", "2024-01-03", "2024-01-04", "2024-01-05", "2024-01-08"],
        whole.batch_id, [])
    a, b = _landed(tmp_path / "a"), _landed(tmp_path / "b")
    assert a == b
    first_day = [r["fill_id"] for r in a["date=2024-01-02"]]
    assert first_day[-1] == "F101" and len(first_day) == 41  # the late fill, in file order
    assert not (tmp_path / "a" / LANDING / ".staging").exists() or not any(
        (tmp_path / "a" / LANDING / ".staging").iterdir())
    marker = json.loads((tmp_path / "a" / LANDING / "_batches" /
                         f"propreports-{streamed.batch_id}.json").read_text())
    assert (marker["rows"], marker["duplicates"], marker["bad_rows"]) == (200, 0, 0)


def test_a_bad_value_in_a_late_block_gets_the_whole_file_message(tmp_path, small_blocks):
    rows = _rows(200)
    rows[170]["Qty"] = "-5"
    result = _land(tmp_path, "fills.csv", csv_text(FILLS_26, rows))
    assert result.status == "rejected"
    assert result.error == "fills.csv, line 172, column 'Qty': quantity must be > 0 (got -5)"
    assert not (tmp_path / LANDING / "fills").exists()
    assert (tmp_path / "rejected" / "propreports" / "fills.csv.error.txt").exists()


def test_a_duplicate_line_in_another_block_is_dropped_as_by_the_whole_file_reader(
        tmp_path, small_blocks):
    rows = _rows(200)
    rows.insert(150, dict(rows[3]))  # an exact repeat of line 5, ~11 blocks later
    result = _land(tmp_path, "fills.csv", csv_text(FILLS_26, rows))
    assert result.status == "landed" and result.rows == 200
    assert result.warnings == [("fills.csv: dropped 1 exact duplicate row(s) (first on line 152, "
                                "same as line 5)")]


def test_fills_already_landed_are_merged_by_id_across_blocks(tmp_path, small_blocks,
                                                             streamed_only):
    rows = _rows(200)
    first = _land(tmp_path, "monday.csv", csv_text(FILLS_26, rows[:120]))
    assert first.status == "landed" and first.rows == 120
    again = _land(tmp_path, "week.csv", csv_text(FILLS_26, rows))  # 120 already landed
    assert again.status == "landed"
    assert (again.rows, again.duplicates) == (80, 120)
    assert again.warnings == [("week.csv: dropped 120 fill(s) already landed with the same "
                               "content (merged by fill id)")]
    ids = sorted(r["fill_id"] for day in _landed(tmp_path).values() for r in day)
    assert ids == sorted(f"F{i}" for i in range(1, 201))


def test_a_conflicting_refill_in_a_late_block_is_refused_with_its_line(tmp_path, small_blocks):
    rows = _rows(200)
    assert _land(tmp_path, "monday.csv", csv_text(FILLS_26, rows[:60])).status == "landed"
    before = _landed(tmp_path)
    rows[40]["Price"] = "99.99"  # F41 again, with another price
    result = _land(tmp_path, "week.csv", csv_text(FILLS_26, rows))
    assert result.status == "rejected"
    assert result.error.startswith("week.csv, line 42, column 'price': fill id 'F41' is already "
                                   "landed from monday.csv with a different price")
    assert _landed(tmp_path) == before


def test_an_unexpected_failure_while_staging_falls_back_and_leaves_nothing(tmp_path,
                                                                           small_blocks,
                                                                           monkeypatch):
    def disk_full(target, table):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(stream, "_write", disk_full)
    result = _land(tmp_path, "fills.csv", csv_text(FILLS_26, _rows(200)))
    assert result.status == "landed" and result.rows == 200  # read whole instead
    assert sum(len(day) for day in _landed(tmp_path).values()) == 200
    assert not any((tmp_path / LANDING / ".staging").glob("stream-*"))


# the shared data beside the checkout (../shared), as in test_real_sample.py
REAL = Path(__file__).resolve().parents[3] / "shared" / "data" / "real" / "hyperliquid_fills.csv"
HL_HEADER = ("Account,Coin,Execution Price,Size Tokens,Size USD,Side,Timestamp IST,Start Position,"
             "Direction,Closed PnL,Transaction Hash,Order ID,Crossed,Fee,Trade ID,Timestamp")


def _hyperliquid_text(n: int, odd: dict[int, str]) -> str:
    """A Hyperliquid trade history built like the real one: wallet accounts in blocks, IST times
    with unpadded hours, sizes in scientific notation, spreadsheet-rounded Trade IDs, CRLF line
    endings and no newline after the last line; row ``i`` has Direction ``odd[i]`` if given.
    Closed PnL ("0.2500"), a number that is also a hash column, keeps its text in the fill id."""
    lines = [HL_HEADER]
    for i in range(n):
        wallet = f"0x{(i * 4 // n) + 10:02x}{'ab' * 19}"
        day, minute = 2 + i * 20 // n, i % 600
        start = round(i * 0.5, 4)
        direction = odd.get(i, "Open Long" if i % 2 else "Close Long")
        lines.append(f"{wallet},@{100 + i % 7},{7.9 + i / 1000:.4f},{1e-05 * (1 + i % 3):.2E},"
                     f"12.34,{'BUY' if i % 2 else 'SELL'},{day:02d}-12-2024 "
                     f"{minute // 60}:{minute % 60:02d},{start},{direction},"
                     f"{(i % 5) * 0.25:.4f},0x{i:064x},"
                     f"{52017706630 + i // 3},{'TRUE' if i % 3 else 'FALSE'},0.0056,8.95E+14,"
                     "1.73E+12")
    return "\r\n".join(lines)


def _land_hyperliquid(data: Path, path: Path, **kw):
    dropped = data / "inbox" / "hyperliquid" / path.name
    dropped.parent.mkdir(parents=True, exist_ok=True)
    dropped.write_bytes(path.read_bytes())
    return process_inbox_file(dropped, "hyperliquid", data, calendar="24/7",
                              first_date=dt.date(2024, 9, 1), today=dt.date(2025, 6, 30), **kw)


def test_row_warnings_are_added_up_over_the_blocks(tmp_path, small_blocks, monkeypatch):
    odd = {30: "Spot Dust Conversion", 95: "Auto-Deleveraging", 140: "Spot Dust Conversion",
           141: "Auto-Deleveraging", 290: "Spot Dust Conversion"}
    source = tmp_path / "hl.csv"
    source.write_bytes(_hyperliquid_text(300, odd).encode())
    assert source.stat().st_size > 20 * 2048 and not source.read_bytes().endswith(b"\n")
    whole = _land_hyperliquid(tmp_path / "b", source, parse=parse_file)
    streamed_only(monkeypatch)
    streamed = _land_hyperliquid(tmp_path / "a", source)
    assert streamed.status == whole.status == "landed" and streamed.rows == 300
    expected = ["hl.csv: kept 2 fill(s) with Direction 'Auto-Deleveraging' (first on line 97) "
                "as ordinary fills",
                "hl.csv: kept 3 fill(s) with Direction 'Spot Dust Conversion' (first on line 32) "
                "as ordinary fills"]
    assert streamed.warnings == whole.warnings == expected
    assert _landed(tmp_path / "a") == _landed(tmp_path / "b")


def test_the_real_hyperliquid_sample_streams_with_its_warning(tmp_path, monkeypatch):
    if not REAL.exists():
        pytest.skip("shared/data/real is not beside the checkout")
    monkeypatch.setattr(stream, "CHUNK_BYTES", 256 << 10)  # 14 blocks
    whole = _land_hyperliquid(tmp_path / "b", REAL, parse=parse_file)
    streamed_only(monkeypatch)
    streamed = _land_hyperliquid(tmp_path / "a", REAL)
    assert (streamed.rows, whole.rows) == (15629, 15629)
    assert streamed.warnings == whole.warnings == [
        "hyperliquid_fills.csv: kept 1 fill(s) with Direction 'Spot Dust Conversion' (first on "
        "line 191) as ordinary fills"]
    assert _landed(tmp_path / "a") == _landed(tmp_path / "b")


def test_block_warnings_merge_as_the_whole_file_words_them():
    from risk_dagster.ingest.row_warnings import (EVENT_KIND, NOT_A_SESSION, OUTSIDE_HOURS,
                                                  RowWarning, merge_block_warnings)

    def kind(name, n, first):
        return RowWarning("{file}: kept {n} fill(s) with {column} {kind!r} (first on line "
                          "{first}) as ordinary fills", order=EVENT_KIND, key=(name,), n=n,
                          first=first, sort=name, file="f.csv", column="Direction", kind=name)

    def closed(days):
        return RowWarning("{file}: fills on {n} day(s) that are not {code} sessions (first "
                          "{first})", order=NOT_A_SESSION, key=("CMES",), days=days,
                          sort="CMES", file="f.csv", code="CMES")

    outside = RowWarning("{file}: {n} fill(s) outside {code} trading hours (first on line "
                         "{first}); dated to the next session", order=OUTSIDE_HOURS,
                         key=("CMES",), n=4, first=900, sort=2, file="f.csv", code="CMES")
    header = "f.csv: read as semicolon-separated values"
    blocks = [[header, closed([dt.date(2025, 1, 25)]), kind("Sell", 2, 10)],
              [header, kind("Buy", 1, 700), outside, kind("Sell", 5, 650),
               closed([dt.date(2025, 1, 18), dt.date(2025, 1, 25)])]]
    assert merge_block_warnings(blocks) == [
        header,
        "f.csv: kept 1 fill(s) with Direction 'Buy' (first on line 700) as ordinary fills",
        "f.csv: kept 7 fill(s) with Direction 'Sell' (first on line 10) as ordinary fills",
        "f.csv: 4 fill(s) outside CMES trading hours (first on line 900); dated to the next "
        "session",
        "f.csv: fills on 2 day(s) that are not CMES sessions (first 2025-01-18)"]
    assert all(type(w) is str for w in merge_block_warnings(blocks))


def test_blocks_with_numbers_or_padding_the_csv_parser_cannot_read_land_the_same(
        tmp_path, small_blocks, monkeypatch):
    """Numeric columns are parsed straight to float64; a block where one cell is not a plain
    number ("1,234.50", "(0.50)", " 7 ") is read as text instead and converted as the whole file
    is; padded text is trimmed either way."""
    rows = _rows(200)
    rows[60]["Comm"] = "1,234.50"
    rows[61]["Ecn Fee"] = "(0.50)"
    rows[120]["Qty"] = " 7 "
    rows[150]["Account"] = " T0002 "
    rows[151]["Symbol"] = "\u00a0MSFT"  # a no-break space, trimmed as Unicode whitespace
    text = csv_text(FILLS_26, rows)
    whole = _land(tmp_path / "b", "fills.csv", text, parse=parse_file)
    streamed_only(monkeypatch)
    streamed = _land(tmp_path / "a", "fills.csv", text)
    assert streamed.status == whole.status == "landed" and streamed.rows == 200
    a = _landed(tmp_path / "a")
    assert a == _landed(tmp_path / "b")
    by_id = {r["fill_id"]: r for day in a.values() for r in day}
    assert by_id["F61"]["fees"] == pytest.approx(1234.50 - 0.20 + 0.01 + 0.001 + 0.05)
    assert by_id["F62"]["fees"] == pytest.approx(0.50 - 0.50 + 0.01 + 0.001 + 0.05)
    assert (by_id["F121"]["qty"], by_id["F151"]["trader_id"], by_id["F152"]["symbol"]) == (
        7.0, "T0002", "MSFT")


@pytest.mark.parametrize("fmt", ["%m/%d/%Y %H:%M:%S", "%Y-%m-%d %H:%M", "%d-%m-%Y %H:%M:%S",
                                 "%Y%m%d;%H%M%S", "%m/%d/%Y", "%Y-%m-%dT%H:%M:%S"])
def test_fixed_width_times_read_as_strptime_reads_them(fmt):
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    from risk_dagster.ingest.convert import fixed_width_strptime

    rng = np.random.default_rng(3)
    stamps = np.datetime64("1900-01-01T00:00:00") + rng.integers(
        0, 300 * 365 * 86400, 20_000).astype("timedelta64[s]")
    text = pc.strftime(pa.array(stamps, pa.timestamp("s")), format=fmt)
    for unit in ("s", "us"):
        assert fixed_width_strptime(text, fmt, unit).equals(
            pc.strptime(text, format=fmt, unit=unit))


@pytest.mark.parametrize("values", [
    ["01/02/2024 09:30:00", "02/30/2024 09:30:00"],  # no such day: strptime would roll it over
    ["02/29/2023 09:30:00"], ["01/02/2024 09:30:60"], ["01/02/2024 24:00:00"],
    ["1/02/2024 09:30:00"], ["01/02/2024 09:30:00 "], ["01/02/1899 09:30:00"],
    ["01-02-2024 09:30:00"], ["01/02/2024 09:3O:00"],
])
def test_fixed_width_times_leave_anything_else_to_strptime(values):
    import pyarrow as pa

    from risk_dagster.ingest.convert import fixed_width_strptime

    assert fixed_width_strptime(pa.array(values), "%m/%d/%Y %H:%M:%S") is None
