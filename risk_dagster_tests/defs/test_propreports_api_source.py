"""raw_trades pulling from the PropReports API (a canned server on 127.0.0.1)."""

import datetime as dt
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

import dagster as dg
import pytest

from risk_dagster.core.lake import Lake
from risk_dagster.defs.resources import LakeResource, TradeSource
from risk_dagster.defs.partitions import RANGE_END_TAG, RANGE_START_TAG
from risk_dagster_tests.factories import date_assets

raw_trades = date_assets()["raw_trades"]

FILLS_HEADER = ("Date/Time,Account,B/S,Qty,Symbol,Price,Route,Liq,Comm,Ecn Fee,SEC,ORF,CAT,TAF,FTT,"
                "NSCC,Acc,Clr,Misc,Order Id,Fill Id,Currency,ISIN,CUSIP,Status,PropReports Id")
TOTALS_HEADER = ("Date,Type,Orders,Fills,Qty,Gross,Comm,Ecn Fee,SEC,ORF,CAT,TAF,FTT,NSCC,Acc,Clr,"
                 "Misc,Net,Unrealized Δ,Total Δ")


def _fill(day, minute, side, price, n):
    return (f"{day} 10:{minute:02d}:00,ACC1,{side},100,AAPL,{price},ARCA,A,0.5,0,0,0,0,0,0,0,0,0,0,"
            f"O{n},F{n},USD,US0378331005,037833100,,{n}")


REPLIES = {
    "fills": (f"{FILLS_HEADER}\n{_fill('01/03/2024', 1, 'B', 100, 1)}\n{_fill('01/03/2024', 2, 'S', 101, 2)}\n"
              "Page 1/2\n",
              f"{FILLS_HEADER}\n{_fill('01/04/2024', 3, 'T', 102, 3)}\n{_fill('01/04/2024', 4, 'B', 101.5, 4)}\n"
              "Page 2/2\n"),
    "report": (f"{TOTALS_HEADER}\n01/03/2024,Eq,2,2,200,100,1,0,0,0,0,0,0,0,0,0,0,99,0,99\n"
               f"01/04/2024,Eq,2,2,200,50,1,0,0,0,0,0,0,0,0,0,0,49,0,49\nPage 1/1\n",),
}


@pytest.fixture
def api_url():
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            form = {k: v[0] for k, v in parse_qs(self.rfile.read(
                int(self.headers["Content-Length"])).decode()).items()}
            body = REPLIES[form["action"]][int(form["page"]) - 1].encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/csv; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/api.php"
    httpd.shutdown()
    httpd.server_close()


def test_raw_trades_from_the_api(tmp_path, api_url, monkeypatch):
    monkeypatch.setenv("PROPREPORTS_TOKEN", "t0k3n")
    source = TradeSource(kind="propreports_api", data_dir=str(tmp_path), api_base_url=api_url,
                         api_accounts=["ACC1"])
    with dg.instance_for_test() as instance:
        result = dg.materialize([raw_trades], instance=instance, resources={
            "lake": LakeResource(data_dir=str(tmp_path)), "source": source},
            tags={RANGE_START_TAG: "2024-01-03", RANGE_END_TAG: "2024-01-04"})
        assert result.success
    lake = Lake(tmp_path)
    fills = lake.read_df("raw_fills", "date")
    assert len(fills) == 4 and fills["short_sale"].sum() == 1
    totals = lake.read_df("raw_totals", "date").set_index("trade_date")
    assert totals.loc[dt.date(2024, 1, 3), "net_pnl"] == 99 and not totals["derived"].any()
