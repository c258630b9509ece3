"""Broker exports written from the brokers' documented columns, with hand-computed P&L.

MES round trips of trader ACC1 on the 2025-01-23 CME Globex session (point value $5):
- long 2 from 6100.00 to 6103.25: +3.25 pt x $5 x 2 = $32.50
- short 1 from 6110.00 to 6106.50: +3.50 pt x $5 x 1 = $17.50
- long 1 from 6095.00 to 6097.50: +2.50 pt x $5 x 1 = $12.50, opened at 17:30 Chicago on
  Wednesday 2025-01-22 (23:30 UTC), which is already the Thursday session.
Total $62.50 realized gross (the points alone sum to 12.50: what was stored without the point
value). Commission $0.50 per contract per side: 8 contract-sides = $4.00.
"""

from __future__ import annotations

import datetime as dt

MES_DATE = dt.date(2025, 1, 23)
MES_GROSS = 62.50
MES_FEES = 4.00

# (UTC time, action, qty, price, order id, exec id)
MES_FILLS = [
    ("2025-01-22T23:30:00Z", "Buy", 1, 6095.00, "9001", "E1"),
    ("2025-01-23T00:10:00Z", "Sell", 1, 6097.50, "9002", "E2"),
    ("2025-01-23T14:31:05Z", "Buy", 2, 6100.00, "9003", "E3"),
    ("2025-01-23T14:40:12Z", "Sell", 1, 6103.25, "9004", "E4"),
    ("2025-01-23T14:40:12Z", "Sell", 1, 6103.25, "9004", "E5"),
    ("2025-01-23T15:02:00Z", "Sell", 1, 6110.00, "9005", "E6"),
    ("2025-01-23T15:20:30Z", "Buy", 1, 6106.50, "9006", "E7"),
]


def tradovate_csv(account: str = "ACC1", contract: str = "MESH5") -> str:
    """Tradovate fills export: orderId, execId, contractName, action, qty, price, timestamp,
    commission, accountId."""
    lines = ["orderId,execId,contractName,action,qty,price,timestamp,commission,accountId"]
    for ts, action, qty, price, order, ex in MES_FILLS:
        lines.append(f"{order},{ex},{contract},{action},{qty},{price:.2f},{ts},"
                     f"{0.5 * qty:.2f},{account}")
    return "\n".join(lines) + "\n"


def ninjatrader_csv(account: str = "Sim101") -> str:
    """NinjaTrader 8 executions export of the same fills, New York local time, 12-hour clock."""
    import pandas as pd

    lines = ["Instrument,Action,Quantity,Price,Time,ID,E/X,Position,Order ID,Name,Commission,"
             "Rate,Account,Connection"]
    pos = 0
    for ts, action, qty, price, order, ex in MES_FILLS:
        local = pd.Timestamp(ts).tz_convert("America/New_York")
        clock = f"{local.month}/{local.day}/{local.year} {local.strftime('%I:%M:%S %p').lstrip('0')}"
        before, pos = pos, pos + (qty if action == "Buy" else -qty)
        ex_flag = "Entry" if abs(pos) > abs(before) else "Exit"
        position = "-" if pos == 0 else f"{abs(pos)} {'L' if pos > 0 else 'S'}"
        lines.append(f"MES 03-25,{action},{qty},{price:.2f},{clock},{ex},{ex_flag},{position},"
                     f"{order},{ex_flag},{0.5 * qty:.2f},1,{account},Continuum")
    return "\n".join(lines) + "\n"


IBKR_HEADER = ("ClientAccountID,CurrencyPrimary,AssetClass,Symbol,Description,Conid,Multiplier,"
               "TradeID,TradeDate,DateTime,Quantity,TradePrice,IBCommission,IBCommissionCurrency,"
               "Buy/Sell,IBOrderID,FifoPnlRealized,Exchange,OrderType")


def ibkr_flex_csv(account: str = "U1234567") -> str:
    """IBKR Flex Query trades of one account mixing a stock (AAPL) and the MES round trips.

    AAPL: buy 100 @ 222.10, sell 100 @ 223.35 -> $125.00 realized, commission $1.00 per fill.
    Futures carry IBKR's FifoPnlRealized on the closing fills (x multiplier 5).
    """
    import pandas as pd

    rows = [
        ("STK", "AAPL", "APPLE INC", "265598", 1, "T1", "2025-01-23 14:35:00", 100, 222.10, -1.0,
         "BUY", "O1", 0.0),
        ("STK", "AAPL", "APPLE INC", "265598", 1, "T2", "2025-01-23 15:50:00", -100, 223.35, -1.0,
         "SELL", "O2", 125.0),
    ]
    realized = {"E2": 12.5, "E4": 16.25, "E5": 16.25, "E7": 17.5}
    for ts, action, qty, price, order, ex in MES_FILLS:
        signed = qty if action == "Buy" else -qty
        rows.append(("FUT", "MESH5", "MES 21MAR25", "711280073", 5, f"F{ex}",
                     ts.replace("T", " ").rstrip("Z"), signed, price, -0.5 * qty,
                     action.upper(), f"O{order}", realized.get(ex, 0.0)))
    lines = [IBKR_HEADER]
    for asset, sym, desc, conid, mult, tid, utc, qty, price, comm, side, oid, pnl in rows:
        local = pd.Timestamp(utc, tz="UTC").tz_convert("America/New_York")
        lines.append(f"{account},USD,{asset},{sym},{desc},{conid},{mult},{tid},"
                     f"{local:%Y%m%d},{local:%Y%m%d;%H%M%S},{qty},{price},{comm},USD,{side},{oid},"
                     f"{pnl},{'CME' if asset == 'FUT' else 'NASDAQ'},LMT")
    return "\n".join(lines) + "\n"
