import datetime as dt

from risk_dagster.defs.resources import ModelSettings, MonitoringSettings, RecommendationSettings
from risk_dagster.models import TrainingConfig
from risk_dagster.monitoring import MonitoringConfig
from risk_dagster.recommendations import RecommendationConfig


def test_unset_settings_keep_the_domain_defaults():
    assert ModelSettings().training_config() == TrainingConfig()
    assert MonitoringSettings().config() == MonitoringConfig()
    assert RecommendationSettings().to_config() == RecommendationConfig()


def test_settings_override_what_they_set():
    cfg = ModelSettings(n_trials=3, cutoff="2024-09-30").training_config()
    assert cfg.n_trials == 3 and cfg.cutoff == dt.date(2024, 9, 30)
    assert cfg.n_folds == TrainingConfig().n_folds
    rec = RecommendationSettings(kill_switch_share=0.02, periods_per_year=365).to_config()
    assert rec.kill_switch_share == 0.02 and rec.periods_per_year == 365
    assert rec.p_warn == RecommendationConfig().p_warn
    assert MonitoringSettings(alpha=0.01).config().alpha == 0.01
