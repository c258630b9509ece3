"""Progress lines: counts, elapsed and ETA as plain text off a terminal; nothing when quiet."""

import io

from rich.console import Console

from risk_dagster.core import progress
from risk_dagster.reporting.progress import ProgressDisplay


class Clock:
    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now


def _display(quiet=False, every_s=10.0):
    out, clock = io.StringIO(), Clock()
    console = Console(file=out, force_terminal=False, width=200)
    return ProgressDisplay(quiet=quiet, console=console, every_s=every_s, clock=clock), out, clock


def test_plain_lines_with_counts_elapsed_and_eta():
    display, out, clock = _display()
    with display:
        display.update("risk_scores", 0, 250, "dates")
        clock.now += 30
        display.update("risk_scores", 50, 250, "dates")  # 0.6 s per date: 200 left = 2:00
        clock.now += 5
        display.update("risk_scores", 60, 250, "dates")  # within every_s: not printed
        clock.now += 35
        display.update("risk_scores", 250, 250, "dates")
        display.update("risk_scores", 250, 250, "dates")  # the same end twice: one line
    lines = out.getvalue().splitlines()
    assert [ln.split() for ln in lines] == [
        ["risk_scores", "0/250", "dates", "0:00", "elapsed"],
        ["risk_scores", "50/250", "dates", "0:30", "elapsed,", "ETA", "2:00"],
        ["risk_scores", "250/250", "dates", "1:10", "elapsed"],
    ]


def test_steps_get_no_eta_and_a_note():
    display, out, clock = _display()
    display.update("daily_pipeline_job", 1, 8, "steps", note="raw_trades, 250 partitions")
    clock.now += 3725
    display.update("daily_pipeline_job", 8, 8, "steps", note="done")
    assert out.getvalue().splitlines() == [
        "  daily_pipeline_job                 1/8 steps  0:00 elapsed  raw_trades, 250 partitions",
        "  daily_pipeline_job                 8/8 steps  1:02:05 elapsed  done"]


def test_quiet_prints_nothing():
    display, out, _ = _display(quiet=True)
    with display:
        display.update("x", 1, 2, "dates")
        display.print("landed a.csv")
    assert out.getvalue() == ""


def test_loops_report_through_core_progress():
    display, out, _ = _display(every_s=0.0)
    seen = []
    with progress.listening(display.update), progress.listening(
            lambda *a: seen.append(a)):
        assert list(progress.track(["a", "b"], "trade_recommendations", "dates")) == ["a", "b"]
    assert seen == [("trade_recommendations", 0, 2, "dates"),
                    ("trade_recommendations", 1, 2, "dates"),
                    ("trade_recommendations", 2, 2, "dates")]
    assert "trade_recommendations" in out.getvalue() and "2/2 dates" in out.getvalue()
    list(progress.track(["c"], "after", "dates"))  # no listener left: nothing more shown
    assert "after" not in out.getvalue()
