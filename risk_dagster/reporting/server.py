"""A read-only HTTP server for the data directory's reports (``risk-dagster reports``).

Serves ``<data>/reports/`` and ``<data>/live/`` (files and folder listings) and nothing else of
the data directory: the lake, the models and the Dagster instance stay private. GET and HEAD
only (any other method is answered 501 by ``http.server``); a path that resolves (symlinks
included) outside the two folders is answered 404. Binds to 127.0.0.1 unless told otherwise.
"""

from __future__ import annotations

import html
import os
import threading
from functools import partial
from http import HTTPStatus
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlsplit

from risk_dagster.reporting.links import SERVED_FOLDERS

DEFAULT_HOST = "127.0.0.1"


class ReportRequestHandler(SimpleHTTPRequestHandler):
    """``SimpleHTTPRequestHandler`` restricted to the served folders of ``directory``."""

    server_version = "risk-dagster-reports"
    quiet = False

    def _allowed(self, fs_path: str) -> bool:
        target = Path(fs_path).resolve()
        root = Path(self.directory).resolve()
        for folder in SERVED_FOLDERS:
            base = (root / folder).resolve()
            if target == base or base in target.parents:
                return True
        return False

    def _is_index(self) -> bool:
        return unquote(urlsplit(self.path).path) in ("", "/")

    def send_head(self):
        if self._is_index():
            return self._index()
        if unquote(urlsplit(self.path).path) == "/favicon.ico":  # browsers ask on every page
            self.send_response(HTTPStatus.NO_CONTENT)
            self.end_headers()
            return None
        # translate_path drops '..' and '.' parts; _allowed also catches symlinks leading out
        if not self._allowed(self.translate_path(self.path)):
            self.send_error(HTTPStatus.NOT_FOUND, "Not a report")
            return None
        return super().send_head()

    def _index(self):
        """The landing page: a link to each served folder that exists."""
        import io

        root = Path(self.directory)
        items = "".join(f'<li><a href="/{f}/">{html.escape(f)}/</a></li>'
                        for f in SERVED_FOLDERS if (root / f).is_dir())
        body = ("<!DOCTYPE html><html><head><meta charset='utf-8'><title>risk_dagster reports"
                f"</title></head><body><h1>risk_dagster reports</h1><ul>{items or '<li>none yet</li>'}"
                "</ul></body></html>").encode()
        self.send_response(HTTPStatus.OK)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        return io.BytesIO(body)

    def log_message(self, format, *args):  # noqa: A002 (the stdlib's signature)
        if not self.quiet:
            super().log_message(format, *args)


def make_server(data_dir: str | os.PathLike[str], host: str = DEFAULT_HOST, port: int = 0,
                *, quiet: bool = False) -> ThreadingHTTPServer:
    """A server (not yet serving) for ``data_dir``'s reports on ``host:port`` (``port=0``: any
    free port; read it back from ``server.server_address``)."""
    handler = type("Handler", (ReportRequestHandler,), {"quiet": quiet})
    server = ThreadingHTTPServer((host, int(port)), partial(handler, directory=str(Path(data_dir).resolve())))
    server.daemon_threads = True
    return server


def serve_in_thread(data_dir: str | os.PathLike[str], host: str = DEFAULT_HOST, port: int = 0,
                    *, quiet: bool = True) -> tuple[ThreadingHTTPServer, threading.Thread]:
    """Start a report server in a daemon thread; stop it with ``server.shutdown()``."""
    server = make_server(data_dir, host, port, quiet=quiet)
    thread = threading.Thread(target=server.serve_forever, name="report-server", daemon=True)
    thread.start()
    return server, thread
