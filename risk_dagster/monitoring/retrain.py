"""Which traders to retrain this week, from their drift and decay results.

A trader is retrained when its drift check alarms and/or its live performance decayed, unless
it was retrained less than ``cfg.cooldown_sessions`` sessions ago (a drift that persists after a
retrain would otherwise retrain it every day). The run key (trader, ISO week of ``today``,
reason) makes the sensor idempotent: evaluating it several times a week launches one run.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from risk_dagster.core.calendar import sessions
from risk_dagster.core.settings import DEFAULT_CALENDAR
from risk_dagster.monitoring.config import MonitoringConfig
from risk_dagster.monitoring.decay import DecayResult
from risk_dagster.monitoring.drift import DriftResult


@dataclass(frozen=True)
class RetrainDecision:
    """trader_id; reason: ``drift``, ``decay`` or ``drift+decay`` (a short run-tag value);
    detail: the plain-words why; run_key: ``retrain:<trader>:<YYYY-Www>:<reason>``."""

    trader_id: str
    reason: str
    run_key: str
    detail: str = ""


def sessions_between(last: dt.date, today: dt.date, calendar: str = DEFAULT_CALENDAR) -> int:
    """Sessions after ``last`` up to and including ``today`` (0 when today <= last)."""
    if today <= last:
        return 0
    return len(sessions(calendar, last + dt.timedelta(days=1), today))


def run_key(trader_id: str, today: dt.date, reason: str) -> str:
    """Deterministic dedup key: one retrain per trader, ISO week and reason."""
    year, week, _ = today.isocalendar()
    return f"retrain:{trader_id}:{year}-W{week:02d}:{reason}"


def retrain_decisions(drift: dict[str, DriftResult], decay: dict[str, DecayResult],
                      last_retrain: dict[str, dt.date], today: dt.date,
                      cfg: MonitoringConfig | None = None, *,
                      calendar: str = DEFAULT_CALENDAR) -> list[RetrainDecision]:
    """Retrain decisions for ``today``, sorted by trader.

    drift / decay: results per trader (either may miss a trader); last_retrain: date of each
    trader's last (re)training, absent = never; calendar: exchange-calendars code or ``24/7``
    for counting the cooldown in sessions.
    """
    cfg = cfg or MonitoringConfig()
    out = []
    for trader in sorted(set(drift) | set(decay)):
        d, k = drift.get(trader), decay.get(trader)
        causes = [name for name, hit in (("drift", d is not None and d.drifted),
                                         ("decay", k is not None and k.decayed)) if hit]
        if not causes:
            continue
        last = last_retrain.get(trader)
        if last is not None and sessions_between(last, today, calendar) < cfg.cooldown_sessions:
            continue
        reason = "+".join(causes)
        detail = "; ".join(r.reason for r, hit in ((d, "drift" in causes), (k, "decay" in causes)) if hit)
        out.append(RetrainDecision(trader, reason, run_key(trader, today, reason), detail))
    return out
