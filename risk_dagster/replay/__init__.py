"""Replay of the firm through time: what following the morning's recommendations would have done
(``outcomes``), the rules baseline's mornings (``baseline``), the progress file (``progress``) and
the report (``report``). The loop that drives Dagster is ``risk_dagster.replay_runner``."""
