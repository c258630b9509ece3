"""Notifications to the risk desk (Slack-compatible webhook, email)."""

from risk_dagster.notify.notifier import ChannelResult, Notifier, NotifyResult

__all__ = ["ChannelResult", "Notifier", "NotifyResult"]
