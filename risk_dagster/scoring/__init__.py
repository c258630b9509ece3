"""Scoring a date with each trader's champion model."""

from risk_dagster.scoring.score import ChampionScores, score_with_champions

__all__ = ["ChampionScores", "score_with_champions"]
