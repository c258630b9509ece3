"""Small PropReports-style CSV texts for the ingest tests."""

from __future__ import annotations


FILLS_26 = ["Date/Time", "Account", "B/S", "Qty", "Symbol", "Price", "Route", "Liq", "Comm",
            "Ecn Fee", "SEC", "ORF", "CAT", "TAF", "FTT", "NSCC", "Acc", "Clr", "Misc", "Order Id",
            "Fill Id", "Currency", "ISIN", "CUSIP", "Status", "PropReports Id"]
# The 22-column variant: no Currency, ISIN, CUSIP, Status.
FILLS_22 = [c for c in FILLS_26 if c not in {"Currency", "ISIN", "CUSIP", "Status"}]

DEFAULT_FILL = {"Date/Time": "01/02/2024 09:30:00", "Account": "T0001", "B/S": "B", "Qty": "100",
                "Symbol": "AAPL", "Price": "185.50", "Route": "ARCA", "Liq": "A", "Comm": "0.50",
                "Ecn Fee": "-0.20", "SEC": "0", "ORF": "0.01", "CAT": "0.001", "TAF": "0",
                "FTT": "0", "NSCC": "0", "Acc": "0", "Clr": "0.05", "Misc": "0", "Order Id": "O1",
                "Fill Id": "F1", "Currency": "USD", "ISIN": "US0378331005", "CUSIP": "037833100",
                "Status": "", "PropReports Id": "9001"}


def csv_text(columns: list[str], rows: list[dict[str, str]], newline: str = "\n") -> str:
    """CSV text with ``columns`` as header; each row fills missing columns from DEFAULT_FILL."""
    def cell(v: str) -> str:
        return f'"{v}"' if "," in v else v

    lines = [",".join(columns)]
    lines += [",".join(cell({**DEFAULT_FILL, **r}.get(c, "")) for c in columns) for r in rows]
    return newline.join(lines) + newline


def fill_rows(n: int, **overrides: str) -> list[dict[str, str]]:
    """``n`` distinct fills (ids F1..Fn, order O1..On) with ``overrides`` applied to each."""
    return [{"Fill Id": f"F{i + 1}", "Order Id": f"O{i + 1}", **overrides} for i in range(n)]
