"""Pull fills and daily totals from the PropReports HTTP API as CSV text.

PropReports answers a form POST (``action=fills`` or ``action=report&type=totalsByDate``) with one
page of CSV whose last non-empty line is a footer ``Page N/M``. ``PropReportsClient`` fetches
pages 1..M, checks that they fit together and returns one CSV text with the header once.
Transient failures (connection errors, timeouts, HTTP 5xx and 429) are retried with exponential
backoff; other HTTP errors are raised at once. The token is read from an environment variable at
call time and never logged or put in an error message.

``defs.resources.PropReportsApi`` is the thin Dagster resource over the plain client.
"""

from __future__ import annotations

import logging
import os
import random
import re
import time
from collections.abc import Callable
from datetime import date

import requests

from risk_dagster.core.trader_ids import validate_trader_id

log = logging.getLogger(__name__)

_FOOTER = re.compile(r"^Page\s+(\d+)\s*/\s*(\d+)$")
# A bound on the page loop so that a bogus footer cannot make us fetch forever.
MAX_PAGES = 10_000
_BODY_PREFIX = 300  # characters of a reply quoted in error messages


class PropReportsError(RuntimeError):
    """The API failed or replied with something we cannot read."""


class PropReportsHTTPError(PropReportsError):
    """The API answered with an HTTP error status (``status`` holds it)."""

    def __init__(self, status: int, body: str):
        self.status = status
        super().__init__(f"PropReports HTTP {status}: {body[:_BODY_PREFIX]!r}")


def _is_retryable(status: int) -> bool:
    return status == 429 or status >= 500


def split_page(text: str) -> tuple[str | None, str, int, int]:
    """Split one reply into (header, rows, page N, page count M).

    ``header`` is the first line (None when the page holds only the footer); ``rows`` is the
    text between header and footer, kept verbatim so that quoted fields with line breaks survive.
    Raises PropReportsError when the last non-empty line is not ``Page N/M`` with 1 <= N <= M.
    """
    body, _, footer = text.strip().rpartition("\n")
    match = _FOOTER.match(footer.strip())
    if match is None:
        raise PropReportsError(f"reply has no 'Page N/M' footer: {text[:_BODY_PREFIX]!r}")
    page, pages = int(match.group(1)), int(match.group(2))
    if not 1 <= page <= pages:
        raise PropReportsError(f"impossible footer {footer.strip()!r}")
    if not body.strip():
        return None, "", page, pages
    header, _, rows = body.lstrip("\ufeff").partition("\n")
    return header.rstrip("\r"), rows.strip("\r\n"), page, pages


def join_pages(fetch_page: Callable[[int], str]) -> str:
    """Fetch pages 1..M with ``fetch_page(n)`` and return one CSV text, header once.

    M comes from page 1's footer; every page must report the same M, its own number as N, and
    the same header as the other non-empty pages. Returns "" when no page has any content.
    """
    header: str | None = None
    chunks: list[str] = []
    pages = 1
    page = 1
    while page <= pages:
        page_header, rows, got_page, got_pages = split_page(fetch_page(page))
        if page == 1:
            pages = got_pages
            if pages > MAX_PAGES:
                raise PropReportsError(f"reply claims {pages} pages (limit {MAX_PAGES})")
        elif got_pages != pages:
            raise PropReportsError(f"page {page} says {got_pages} pages, page 1 said {pages}")
        if got_page != page:
            raise PropReportsError(f"asked for page {page}, reply footer says page {got_page}")
        if page_header is not None:
            if header is None:
                header = page_header
            elif page_header != header:
                raise PropReportsError(
                    f"page {page} header {page_header!r} differs from {header!r}"
                )
            if rows:
                chunks.append(rows)
        page += 1
    if header is None:
        return ""
    return "\n".join([header, *chunks]) + "\n"


def _decode(response: requests.Response) -> str:
    # requests assumes ISO-8859-1 for text/* without a charset; PropReports exports are UTF-8.
    if "charset" in response.headers.get("Content-Type", "").lower():
        return response.text
    return response.content.decode("utf-8", errors="replace")


class PropReportsClient:
    """Plain (Dagster-free) PropReports client; see the module docstring.

    base_url: the API endpoint, e.g. ``https://firm.propreports.com/api.php``.
    token_env_var: name of the environment variable holding the API token.
    timeout_s: per-request timeout in seconds. max_retries: retries after the first attempt.
    backoff_s: first retry delay in seconds; it doubles each retry, plus up to 25% jitter.
    sleep, rng, session: injectable for tests.
    """

    def __init__(
        self,
        base_url: str,
        *,
        token_env_var: str = "PROPREPORTS_TOKEN",
        timeout_s: float = 30,
        max_retries: int = 4,
        backoff_s: float = 1.0,
        sleep: Callable[[float], None] = time.sleep,
        rng: random.Random | None = None,
        session: requests.Session | None = None,
    ):
        self.base_url = base_url
        self.token_env_var = token_env_var
        self.timeout_s = timeout_s
        self.max_retries = max_retries
        self.backoff_s = backoff_s
        self._sleep = sleep
        self._rng = rng or random.Random()
        self._session = session or requests.Session()

    def fetch_fills(self, account_id: str, start: date, end: date) -> str:
        """All fills of ``account_id`` from ``start`` to ``end`` (inclusive) as CSV text."""
        return self._fetch({"action": "fills"}, account_id, start, end)

    def fetch_totals_by_date(self, account_id: str, start: date, end: date) -> str:
        """Daily totals of ``account_id`` from ``start`` to ``end`` (inclusive) as CSV text."""
        return self._fetch({"action": "report", "type": "totalsByDate"}, account_id, start, end)

    def _fetch(self, kind: dict[str, str], account_id: str, start: date, end: date) -> str:
        account = validate_trader_id(account_id)
        if end < start:
            raise ValueError(f"end {end} is before start {start}")
        token = self._token()
        base = {
            **kind,
            "token": token,
            "accountId": account,
            "startDate": start.isoformat(),
            "endDate": end.isoformat(),
        }
        log.info("PropReports %s for %s %s..%s", kind, account, start, end)
        return join_pages(lambda page: self.post({**base, "page": str(page)}))

    def _token(self) -> str:
        token = os.environ.get(self.token_env_var, "").strip()
        if not token:
            raise PropReportsError(
                f"environment variable {self.token_env_var} is not set: it must hold the "
                "PropReports API token"
            )
        return token

    def retry_delay(self, retry: int) -> float:
        """Seconds to wait before retry number ``retry`` (0-based): backoff_s * 2**retry, +0-25%."""
        return self.backoff_s * (2**retry) * (1 + 0.25 * self._rng.random())

    def post(self, form: dict[str, str]) -> str:
        """POST ``form`` (url-encoded) and return the reply text, retrying transient failures."""
        last_error = ""
        for attempt in range(self.max_retries + 1):
            if attempt:
                self._sleep(self.retry_delay(attempt - 1))
            try:
                response = self._session.post(self.base_url, data=form, timeout=self.timeout_s)
            except (requests.ConnectionError, requests.Timeout) as exc:
                last_error = f"{type(exc).__name__}: {exc}"
            else:
                text = _decode(response)
                if response.status_code < 400:
                    return text
                if not _is_retryable(response.status_code):
                    raise PropReportsHTTPError(response.status_code, text)
                last_error = f"HTTP {response.status_code}: {text[:_BODY_PREFIX]!r}"
            log.warning("PropReports attempt %d failed: %s", attempt + 1, last_error)
        raise PropReportsError(
            f"PropReports failed after {self.max_retries + 1} attempts; last: {last_error}"
        )
