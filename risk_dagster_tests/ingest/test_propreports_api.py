"""PropReportsApi against a canned HTTP server on 127.0.0.1."""

from __future__ import annotations

import threading
from datetime import date
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

import pytest

from risk_dagster.core.trader_ids import InvalidTraderId
from risk_dagster.defs.resources import PropReportsApi
from risk_dagster.ingest.propreports_api import (
    PropReportsError,
    PropReportsHTTPError,
    join_pages,
    split_page,
)

TOKEN = "s3cret-token"
HEADER = "Date,Account,Symbol,Qty,Price"
PAGES = {
    1: f"{HEADER}\n2024-01-02,ACC1,AAPL,100,190.5\n2024-01-02,ACC1,AAPL,-100,191\nPage 1/3\n",
    2: f"{HEADER}\r\n2024-01-03,ACC1,MSFT,50,370.25\r\nPage 2/3\r\n",
    3: f'{HEADER}\n2024-01-04,ACC1,"ODD\nNAME",10,1.5\n\nPage 3/3\n\n',
}


class CannedServer:
    """Answers each POST with the next (status, body) from ``replies`` and records the forms."""

    def __init__(self):
        self.replies: list[tuple[int, str]] = []
        self.forms: list[dict[str, str]] = []
        self.content_types: list[str] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                raw = self.rfile.read(int(self.headers["Content-Length"])).decode()
                outer.content_types.append(self.headers["Content-Type"])
                outer.forms.append({k: v[0] for k, v in parse_qs(raw).items()})
                status, body = outer.replies.pop(0) if outer.replies else (500, "no reply")
                data = body.encode()
                self.send_response(status)
                self.send_header("Content-Type", "text/csv")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):  # keep test output quiet
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/api.php"


@pytest.fixture
def server():
    srv = CannedServer()
    thread = threading.Thread(target=srv.httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield srv
    srv.httpd.shutdown()
    srv.httpd.server_close()
    thread.join(timeout=5)


@pytest.fixture(autouse=True)
def token(monkeypatch):
    monkeypatch.setenv("PROPREPORTS_TOKEN", TOKEN)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")


def _client(server, sleeps=None, **kw):
    api = PropReportsApi(base_url=server.url, **kw)
    return api.get_client(sleep=(sleeps.append if sleeps is not None else _no_sleep))


def _no_sleep(seconds):
    raise AssertionError(f"unexpected sleep({seconds})")


def test_three_pages_are_joined_with_one_header_and_form_fields_posted(server):
    server.replies = [(200, PAGES[1]), (200, PAGES[2]), (200, PAGES[3])]
    text = _client(server).fetch_fills(" ACC1 ", date(2024, 1, 2), date(2024, 1, 4))
    assert text == (
        f"{HEADER}\n2024-01-02,ACC1,AAPL,100,190.5\n2024-01-02,ACC1,AAPL,-100,191\n"
        '2024-01-03,ACC1,MSFT,50,370.25\n2024-01-04,ACC1,"ODD\nNAME",10,1.5\n'
    )
    assert server.content_types == ["application/x-www-form-urlencoded"] * 3
    assert server.forms == [
        {
            "action": "fills",
            "token": TOKEN,
            "accountId": "ACC1",
            "startDate": "2024-01-02",
            "endDate": "2024-01-04",
            "page": str(n),
        }
        for n in (1, 2, 3)
    ]


def test_totals_by_date_posts_report_action(server):
    server.replies = [(200, "Date,Net\n2024-01-02,-12.5\nPage 1/1\n")]
    text = _client(server).fetch_totals_by_date("ACC1", date(2024, 1, 2), date(2024, 1, 2))
    assert text == "Date,Net\n2024-01-02,-12.5\n"
    assert server.forms[0]["action"] == "report"
    assert server.forms[0]["type"] == "totalsByDate"
    assert server.forms[0]["page"] == "1"


def test_503_then_200_is_retried_with_backoff(server):
    server.replies = [(503, "busy"), (429, "slow down"), (200, "A,B\n1,2\nPage 1/1")]
    sleeps: list[float] = []
    client = _client(server, sleeps, backoff_s=0.5)
    text = client.fetch_fills("ACC1", date(2024, 1, 2), date(2024, 1, 2))
    assert text == "A,B\n1,2\n"
    assert len(server.forms) == 3
    # Exponential: 0.5 then 1.0, each with at most 25% jitter on top.
    assert len(sleeps) == 2
    assert 0.5 <= sleeps[0] <= 0.625 and 1.0 <= sleeps[1] <= 1.25


def test_retries_are_bounded(server):
    server.replies = [(502, "bad gateway")] * 10
    sleeps: list[float] = []
    with pytest.raises(PropReportsError, match=r"after 3 attempts.*HTTP 502"):
        client = _client(server, sleeps, max_retries=2)
        client.fetch_fills("ACC1", date(2024, 1, 2), date(2024, 1, 2))
    assert len(server.forms) == 3 and len(sleeps) == 2


def test_connection_error_is_retried():
    import socket

    with socket.socket() as sock:  # a port that was free a moment ago: nothing listens there
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    sleeps: list[float] = []
    api = PropReportsApi(base_url=f"http://127.0.0.1:{port}/api.php", max_retries=1, timeout_s=2)
    with pytest.raises(PropReportsError, match="after 2 attempts.*ConnectionError"):
        api.get_client(sleep=sleeps.append).fetch_fills("ACC1", date(2024, 1, 2), date(2024, 1, 2))
    assert len(sleeps) == 1


def test_401_is_not_retried_and_names_status_and_body(server):
    server.replies = [(401, "invalid token"), (200, "A\n1\nPage 1/1")]
    with pytest.raises(PropReportsHTTPError, match="401.*invalid token") as err:
        _client(server).fetch_fills("ACC1", date(2024, 1, 2), date(2024, 1, 2))
    assert err.value.status == 401
    assert len(server.forms) == 1
    assert TOKEN not in str(err.value)


def test_missing_token_fails_clearly_without_request(server, monkeypatch):
    monkeypatch.delenv("PROPREPORTS_TOKEN")
    with pytest.raises(PropReportsError, match="PROPREPORTS_TOKEN is not set"):
        _client(server).fetch_fills("ACC1", date(2024, 1, 2), date(2024, 1, 2))
    assert server.forms == []


def test_malformed_footer_fails_clearly(server):
    server.replies = [(200, "A,B\n1,2\nPage one of two\n")]
    with pytest.raises(PropReportsError, match="no 'Page N/M' footer"):
        _client(server).fetch_fills("ACC1", date(2024, 1, 2), date(2024, 1, 2))


def test_invalid_account_is_rejected_before_any_request(server):
    with pytest.raises(InvalidTraderId):
        _client(server).fetch_fills("../etc", date(2024, 1, 2), date(2024, 1, 2))
    assert server.forms == []


@pytest.mark.parametrize(
    "pages, message",
    [
        ({1: "A\n1\nPage 1/2", 2: "A\n2\nPage 2/3"}, "page 2 says 3 pages"),
        ({1: "A\n1\nPage 1/2", 2: "B\n2\nPage 2/2"}, "header 'B' differs"),
        ({1: "A\n1\nPage 1/2", 2: "A\n2\nPage 1/2"}, "footer says page 1"),
        ({1: "A\n1\nPage 3/2"}, "impossible footer"),
    ],
)
def test_inconsistent_pages_fail(pages, message):
    with pytest.raises(PropReportsError, match=message):
        join_pages(pages.__getitem__)


def test_footer_only_pages_are_empty():
    assert split_page("Page 1/1\n") == (None, "", 1, 1)
    assert join_pages({1: "Page 1/1"}.__getitem__) == ""
    assert join_pages({1: "A\n1\nPage 1/2", 2: "Page 2/2"}.__getitem__) == "A\n1\n"


def test_resource_methods_fetch_directly(server):
    server.replies = [(200, "A,B\n1,2\nPage 1/1\n")]
    api = PropReportsApi(base_url=server.url)
    assert api.fetch_fills("ACC1", date(2024, 1, 2), date(2024, 1, 3)) == "A,B\n1,2\n"
    assert server.forms[0]["endDate"] == "2024-01-03"


def test_end_before_start_is_rejected(server):
    with pytest.raises(ValueError, match="before start"):
        _client(server).fetch_fills("ACC1", date(2024, 1, 3), date(2024, 1, 2))
    assert server.forms == []
