"""``champion_drift_report`` on a fixed small firm gives fixed results, column by column.

The firm: ten simulated traders (``make_panel``, real ``build_features`` / ``build_labels``),
two of them changing behaviour after the champions' cutoff, with champions of every family
(rules, logistic, trader_lgbm, a pooled_lgbm serving three traders), a trader without a
champion, a champion whose folder is missing, a reference cut short by a drift retraining and
a champion trained past the first checked date. Three dates are checked with one
``DriftCache``, as the asset does for a range. The expected values (``data/drift_report_pinned.json``)
were written by the code before the drift report was vectorised, which kept them (floats to 1e-9
relative); they were written again when counts stopped being KS-tested
(``MonitoringConfig.ks_min_distinct``): the same alarms and retrain decisions, other drift scores,
q-values and drift shares (fewer tests in each Benjamini-Hochberg family).

Regenerate only when a change of results is intended and said:
``PYTHONPATH=$PWD python -m risk_dagster_tests.monitoring.test_mon_drift_report_pinned``.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path

import numpy as np
import pandas as pd

from risk_dagster.evaluation.champions import write_champion
from risk_dagster.features.build import build_features
from risk_dagster.labels.build import build_labels
from risk_dagster.models import save_model
from risk_dagster.models.baselines import fit_logistic, fit_rules
from risk_dagster.models.calibration import fit_platt
from risk_dagster.models.config import TrainingConfig
from risk_dagster.models.frames import training_frame
from risk_dagster.models.lgbm import LgbmRiskModel, trader_codes
from risk_dagster.models.training import pooled_design
from risk_dagster.models.tuning import lgb_params, train_booster
from risk_dagster.monitoring import MonitoringConfig
from risk_dagster.monitoring.drift_report import DriftCache, champion_drift_report
from risk_dagster_tests.factories import make_panel

EXPECTED = Path(__file__).parent / "data" / "drift_report_pinned.json"
CUTOFF = dt.date(2025, 5, 30)
LATE_CUTOFF = dt.date(2025, 8, 29)  # T0006's champion: the first date is inside its window
CHANGE = dt.date(2025, 7, 1)
CHANGED = ("T0004", "T0008")
DAYS = (dt.date(2025, 6, 20), dt.date(2025, 8, 15), dt.date(2025, 10, 6))
LAST_RETRAIN = {"T0007": dt.date(2025, 3, 3), "T0001": dt.date(2025, 9, 1)}
LGBM_FEATURES = ["net_pnl_d0", "pnl_vol_21d", "loss_streak", "drawdown_21d", "large_losses_5d",
                 "n_orders_ewma_7d", "notional_ewma_7d", "avg_order_notional_ewma_7d",
                 "tilt_score", "mkt_vol_regime", "win_rate_21d", "n_round_trips_ewma_7d"]
STRUCTURE = {"learning_rate": 0.1, "num_leaves": 7, "min_data_in_leaf": 20,
             "feature_fraction": 0.8, "bagging_fraction": 0.9, "lambda_l2": 1.0}


def _panel() -> pd.DataFrame:
    panel = make_panel(10, 460, seed=13)
    # a new habit after CHANGE: bigger and busier (orders, notional, round trips)
    later = panel["trader_id"].isin(CHANGED) & (panel["trade_date"] >= CHANGE)
    for col, k in {"n_orders": 2.5, "n_fills": 2.5, "notional": 4.0, "avg_order_notional": 1.6,
                   "max_position_notional": 3.0, "n_round_trips": 2.5, "qty": 4.0}.items():
        panel.loc[later, col] = panel.loc[later, col] * k
    return panel


def _meta(train: pd.DataFrame, auc: float, brier: float, cfg: TrainingConfig) -> dict:
    return {"training_window": {"first_trade_date": train["trade_date"].min().date().isoformat(),
                                "last_trade_date": train["trade_date"].max().date().isoformat(),
                                "last_label_date": train["label_date"].max().date().isoformat(),
                                "cutoff": None},
            "cv_metrics": {"auc": auc, "brier": brier}, "data_fingerprint": "pinned",
            "config": cfg.as_json()}


def _boosters(X, y, pnl, cat) -> dict:
    return {k: train_booster(lgb_params(k, STRUCTURE, 7), X, t, 30, cat)
            for k, t in (("classifier", y), ("regressor", pnl), ("var05", pnl))}


def _lgbm(train: pd.DataFrame, owner: str, cfg: TrainingConfig, pooled: bool) -> LgbmRiskModel:
    X = train[LGBM_FEATURES].to_numpy(np.float64)
    cats = sorted(train["trader_id"].unique()) if pooled else None
    if pooled:
        X = np.column_stack([X, trader_codes(train["trader_id"], cats)])
    y = train["large_loss"].to_numpy(np.int64)
    boosters = _boosters(X, y, train["next_net_pnl"].to_numpy(np.float64),
                         [len(LGBM_FEATURES)] if pooled else [])
    platt = fit_platt(boosters["classifier"].predict(X, raw_score=True), y, 5)
    return LgbmRiskModel("pooled_lgbm" if pooled else "trader_lgbm", "pooled" if pooled else owner,
                         list(LGBM_FEATURES), boosters, platt, cats, cfg.norm_min_periods)


def build_firm(root: Path) -> tuple[pd.DataFrame, pd.DataFrame, Path]:
    """(features, labels, models root) of the pinned firm, champions written under ``root``."""
    panel = _panel()
    features, labels = build_features(panel), build_labels(panel)
    cfg = TrainingConfig()
    models = root / "models"

    def train_rows(tids, cutoff=CUTOFF, frame=features):
        data = training_frame(frame[frame["trader_id"].isin(tids)], labels)
        return data[data["label_date"] <= pd.Timestamp(cutoff)].reset_index(drop=True)

    def champion(model, tid, train, auc, brier):
        model.meta = _meta(train, auc, brier, cfg)
        path = save_model(model, models)
        write_champion(models, tid, {"family": model.family, "chosen": model.family,
                                     "path": str(path.relative_to(root))})
        return path

    for tid, auc in (("T0001", 0.61), ("T0003", 0.58), ("T0010", 0.6)):
        train = train_rows([tid])
        champion(fit_rules(train, cfg, tid), tid, train, auc, 0.09)
    for tid in ("T0002", "T0007"):
        train = train_rows([tid])
        half = len(train) * 2 // 3
        chosen = ["loss_streak", "pnl_vol_21d", "n_orders_ewma_7d", "notional_ewma_7d",
                  "win_rate_21d", "drawdown_21d"]
        champion(fit_logistic(train.iloc[:half], train.iloc[half:], chosen, cfg, tid), tid, train,
                 0.63, 0.085)
    train = train_rows(["T0004"])
    champion(_lgbm(train, "T0004", cfg, pooled=False), "T0004", train, 0.66, 0.08)
    pooled_tids = ["T0005", "T0006", "T0008"]
    design = pooled_design(features[features["trader_id"].isin(pooled_tids)].sort_values(
        ["trade_date", "trader_id"]).reset_index(drop=True), LGBM_FEATURES, cfg)
    train = train_rows(pooled_tids, frame=design)
    path = champion(_lgbm(train, "pooled", cfg, pooled=True), "T0005", train, 0.64, 0.082)
    write_champion(models, "T0008", {"family": "pooled_lgbm", "chosen": "pooled_lgbm",
                                     "path": str(path.relative_to(root))})
    train = train_rows(["T0006"], cutoff=LATE_CUTOFF)
    champion(fit_rules(train, cfg, "T0006"), "T0006", train, 0.6, 0.09)
    # T0009: no champion at all; T0010: its champion's folder is gone
    import shutil

    from risk_dagster.evaluation.champions import champion_model_path, read_champion

    shutil.rmtree(champion_model_path(models, read_champion(models, "T0010")))
    return features, labels, models


def pinned_reports(root: Path, cache: DriftCache | None = None, firm=None) -> pd.DataFrame:
    features, labels, models = firm or build_firm(root)
    cache, frames = cache or DriftCache(), []
    for day in DAYS:
        known = labels[pd.to_datetime(labels["label_date"]) <= pd.Timestamp(day)]
        frames.append(champion_drift_report(
            features[features["trade_date"] <= day], known, day, models, MonitoringConfig(),
            calendar="XNYS", last_retrain=LAST_RETRAIN, engine="scipy", cache=cache))
    out = pd.concat(frames, ignore_index=True)
    out["trade_date"] = out["trade_date"].astype(str)
    return out


def _plain(value):
    """A report cell as JSON holds it: numpy scalars as Python ones, missing as None (float NaN
    stays NaN)."""
    if isinstance(value, np.generic):
        value = value.item()
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    return value


def records(frame: pd.DataFrame) -> list[dict]:
    return [{c: _plain(v) for c, v in row.items()} for row in frame.to_dict(orient="records")]


def _same(got, want) -> bool:
    if isinstance(want, float) or isinstance(got, float):
        if got is None or want is None:  # a float column's NaN is the JSON's NaN
            return (got is None or np.isnan(got)) and (want is None or np.isnan(want))
        if np.isnan(want) or np.isnan(got):
            return bool(np.isnan(want) and np.isnan(got))
        return bool(np.isclose(got, want, rtol=1e-9, atol=1e-12))
    return got == want


VERSION = re.compile(r"\b\d{8}-[0-9a-f]{8}\b")


def _versionless(value):
    """A model version (``<cutoff>-<hash>``) replaced by ``<version>``: its hash covers the
    models package's source, which other changes move."""
    return VERSION.sub("<version>", value) if isinstance(value, str) else value


def test_drift_report_of_the_pinned_firm_is_unchanged(tmp_path):
    got = pinned_reports(tmp_path)
    want = json.loads(EXPECTED.read_text())
    assert list(got.columns) == list(want[0])
    # the firm exercises every path: checked, skipped and drifted traders, every family
    assert {r["status"] for r in want} == {"checked", "no champion", "inside training window"}
    assert sum(r["drifted"] is True for r in want) >= 3
    assert {r["retrain_reason"] for r in want} >= {"drift", "decay", "drift+decay"}
    assert any(r["drift_tested"] is False for r in want)
    assert all(VERSION.search(r["champion"]) for r in want if r["status"] != "no champion")
    assert_pinned(got)


def assert_pinned(report: pd.DataFrame) -> None:
    """Every cell of ``report`` is the pinned one (floats to 1e-9 relative)."""
    got, want = records(report), json.loads(EXPECTED.read_text())
    assert len(got) == len(want)
    for g, w in zip(got, want, strict=True):
        g, w = ({c: _versionless(v) for c, v in r.items()} for r in (g, w))
        bad = {c: (g[c], w[c]) for c in w if not _same(g[c], w[c])}
        assert not bad, f"{w['trade_date']} {w['trader_id']}: {bad}"


def test_rows_in_any_order_give_the_same_report(tmp_path):
    """Each trader's rows are sorted by date inside: a shuffled features frame (as a lake read
    in another order) gives the pinned report."""
    features, labels, models = build_firm(tmp_path)
    shuffled = features.sample(frac=1.0, random_state=3).reset_index(drop=True)
    assert_pinned(pinned_reports(tmp_path, firm=(shuffled, labels, models)))


def test_reference_fits_stored_in_the_lake_give_the_same_report(tmp_path):
    """A run with a store writes each reference fit; the next run (a new process: a new
    cache) reads them all instead of fitting, and both reports are the pinned one."""
    firm, store = build_firm(tmp_path), tmp_path / "fits"
    first, second = DriftCache(store=store), DriftCache(store=store)
    for cache in (first, second):
        assert_pinned(pinned_reports(tmp_path, cache, firm))
    assert first.written == len(list(store.glob("*.json"))) > 5 and first.stored == 0
    assert second.stored == first.written and second.written == 0
    assert second.prune() == 0 and second.prune(days=-1) == first.written


if __name__ == "__main__":  # regenerate the expected values (see the module docstring)
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        EXPECTED.parent.mkdir(exist_ok=True)
        report = pinned_reports(Path(tmp))
        EXPECTED.write_text(json.dumps(records(report), indent=1) + "\n")
        print(report[["trade_date", "trader_id", "status", "drifted", "drift_reason",
                      "retrain", "retrain_reason"]].to_string())
