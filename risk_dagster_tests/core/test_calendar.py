import datetime as dt

from risk_dagster.core.calendar import is_session, previous_session, session_bounds, sessions


def test_nyse_sessions_skip_weekends_and_holidays():
    days = sessions("XNYS", dt.date(2024, 12, 23), dt.date(2025, 1, 3))
    assert dt.date(2024, 12, 25) not in days.date  # Christmas
    assert dt.date(2024, 12, 28) not in days.date  # Saturday
    assert len(days) == 8  # 23, 24, 26, 27, 30, 31 Dec, 2, 3 Jan
    assert not is_session("XNYS", dt.date(2025, 1, 1))
    assert previous_session("XNYS", dt.date(2024, 12, 26)) == dt.date(2024, 12, 24)


def test_24_7_sessions_and_bounds():
    days = sessions("24/7", dt.date(2024, 1, 6), dt.date(2024, 1, 7))
    assert len(days) == 2
    opens, closes = session_bounds("24/7", days)
    assert (closes - opens).max().total_seconds() == 86400


def test_nyse_early_close():
    days = sessions("XNYS", dt.date(2024, 11, 29), dt.date(2024, 11, 29))
    opens, closes = session_bounds("XNYS", days)
    assert closes[0].hour == 18  # 13:00 New York (day after Thanksgiving) is 18:00 UTC
