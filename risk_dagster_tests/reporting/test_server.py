"""The report server serves <data>/reports and <data>/live read-only, and nothing else."""

import http.client
import os
import urllib.request

import pytest

from risk_dagster.reporting.links import report_url, served_relative
from risk_dagster.reporting.server import serve_in_thread


@pytest.fixture
def data_dir(tmp_path):
    (tmp_path / "reports" / "model_evaluation" / "2024-06-28 run a").mkdir(parents=True)
    (tmp_path / "reports" / "model_evaluation" / "2024-06-28 run a" / "evaluation.html").write_text(
        "<html><title>eval</title></html>")
    (tmp_path / "live" / "2024-07-01").mkdir(parents=True)
    (tmp_path / "live" / "2024-07-01" / "report.html").write_text("<html>morning</html>")
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "champion.json").write_text('{"secret": 1}')
    (tmp_path / "dagster_home").mkdir()
    (tmp_path / "dagster_home" / "dagster.yaml").write_text("telemetry: {}")
    outside = tmp_path.parent / f"{tmp_path.name}_outside"
    outside.mkdir()
    (outside / "passwd").write_text("root:x:0:0")
    os.symlink(outside, tmp_path / "reports" / "escape")
    return tmp_path


@pytest.fixture
def server(data_dir):
    srv, thread = serve_in_thread(data_dir)
    yield srv
    srv.shutdown()
    thread.join(5)
    srv.server_close()


def _get(server, path, method="GET"):
    host, port = server.server_address[:2]
    con = http.client.HTTPConnection(host, port, timeout=5)
    con.request(method, path)  # sent as is: urllib would normalise '..' away
    resp = con.getresponse()
    body = resp.read()
    con.close()
    return resp.status, body


def test_serves_reports_and_live(server):
    assert _get(server, "/live/2024-07-01/report.html") == (200, b"<html>morning</html>")
    status, body = _get(server, "/reports/model_evaluation/2024-06-28%20run%20a/evaluation.html")
    assert (status, body) == (200, b"<html><title>eval</title></html>")
    status, body = _get(server, "/reports/model_evaluation/")
    assert status == 200 and b"2024-06-28 run a/" in body  # a folder listing
    status, body = _get(server, "/")
    assert status == 200 and b'href="/reports/"' in body and b'href="/live/"' in body
    assert _get(server, "/favicon.ico") == (204, b"")  # no icon, and no error in the browser


@pytest.mark.parametrize("path", [
    "/models/champion.json", "/dagster_home/dagster.yaml",
    "/reports/../models/champion.json", "/live/%2e%2e/models/champion.json",
    "/reports/..%2fmodels/champion.json", "/../../etc/passwd", "/reports/escape/passwd",
    "/reportsX/", "//etc/passwd",
])
def test_refuses_everything_else(server, path):
    status, body = _get(server, path)
    assert status == 404, (path, body)
    assert b"secret" not in body and b"root:x" not in body


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE"])
def test_no_writes(server, data_dir, method):
    status, _ = _get(server, "/live/2024-07-01/report.html", method)
    assert status == 501
    assert (data_dir / "live" / "2024-07-01" / "report.html").read_text() == "<html>morning</html>"


def test_binds_loopback_by_default(server):
    assert server.server_address[0] == "127.0.0.1"


def test_report_url_opens_the_report(server, data_dir):
    host, port = server.server_address[:2]
    path = data_dir / "reports" / "model_evaluation" / "2024-06-28 run a" / "evaluation.html"
    url = report_url(f"http://{host}:{port}/", data_dir, path)
    assert url == (f"http://{host}:{port}/reports/model_evaluation/2024-06-28%20run%20a/"
                   "evaluation.html")
    with urllib.request.urlopen(url, timeout=5) as resp:
        assert resp.read() == b"<html><title>eval</title></html>"
    folder = report_url(f"http://{host}:{port}", data_dir, data_dir / "reports" / "model_evaluation")
    assert folder == f"http://{host}:{port}/reports/model_evaluation/"
    with urllib.request.urlopen(folder, timeout=5) as resp:
        assert b"2024-06-28 run a" in resp.read()


def test_report_url_relative_path_and_refusals(data_dir):
    assert report_url("http://h:1", data_dir, "live/2024-07-01/report.html") == \
        "http://h:1/live/2024-07-01/report.html"
    assert str(served_relative(data_dir, data_dir / "live" / "x.csv")) == "live/x.csv"
    for bad in [data_dir / "models" / "champion.json", data_dir, data_dir.parent / "x.html",
                data_dir / "reports" / "escape" / "passwd", "reports/../models/champion.json"]:
        with pytest.raises(ValueError):
            report_url("http://h:1", data_dir, bad)
