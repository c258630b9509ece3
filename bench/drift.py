"""Bench: drift alarms and retraining on the simulated firm, in one process.

    .venv/bin/python -m bench.drift                       # 40 traders, 2024-2025, 10 affected
    .venv/bin/python -m bench.drift --traders 100 --affected 25 --end 2026-06-30

Steps: simulate the firm with a ``trader_behaviour`` change injected at ``--change`` for
``--affected`` traders (chosen among those present for the whole period; the simulator's days
before the change are identical to a firm without it), ingest, build panel/features/labels;
train each trader's champion on the sessions up to ``--reference-end`` (the first year); check
every trader daily (``check_every=1``) as ``drift_report`` does, with the default
MonitoringConfig unless overridden: KS (SciPy engine, same p-values as Evidently, see
``monitoring/ks.py``) of the champion's own-behaviour features and ``p_large_loss`` over 20 rows,
plus the behaviour shift test of the fingerprint over 5 rows, BH across all; reference = the
trader's last 250 rows up to ``--reference-end`` after its first 21 (``warmup_rows``).

Figures:
1. stationary false alarms: share of trader-weeks (ISO weeks, checks from the first session
   after the reference to the day before the change, every trader) with >= 1 alarm. Target <= 5%.
2. detection: share of affected traders with an alarm within 5 of their sessions from the change
   (1 = change day); false alarms of the unaffected traders over the same post-change period
   (share of trader-weeks). Target >= 90%. Then the same scan at other BH levels.
3. recovery: the old champion vs a champion retrained with data up to the K-th session after the
   change (``--retrain-after``), both scored on the affected traders' days after that session
   (out of sample for both); also the old champion before the change and right after it.
"""

from __future__ import annotations

import argparse
import datetime as dt
import resource
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from bench.simulation_study import (FIXED_FEATURES, alarm_features, full_period_traders,
                                    nth_session_after, predict_history, probability_metrics,
                                    score_window, simulate_frames, train_champion)
from risk_dagster.core.lake import Lake
from risk_dagster.models import TrainingConfig
from risk_dagster.monitoring import (MonitoringConfig, detection_delay, drift_scores,
                                     false_alarm_rate, scan_drift)
from risk_dagster.monitoring.drift import reference_window
from risk_dagster.monitoring.drift_report import drift_features, feature_windows
from risk_dagster.simulator import InjectedChange, SimulationConfig


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--traders", type=int, default=40)
    p.add_argument("--start", default="2024-01-02")
    p.add_argument("--end", default="2025-12-31")
    p.add_argument("--reference-end", default="2024-12-31")
    p.add_argument("--change", default="2025-06-02")
    p.add_argument("--affected", type=int, default=10)
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--tilt-prone", type=float, default=0.9)
    p.add_argument("--size-mult", type=float, default=1.8)
    p.add_argument("--activity-mult", type=float, default=1.5)
    p.add_argument("--edge-shift", type=float, default=-0.1)
    p.add_argument("--retrain-after", default="5,20,60", help="sessions after the change, comma list")
    p.add_argument("--n-trials", type=int, default=10)
    p.add_argument("--n-folds", type=int, default=2)
    p.add_argument("--features", choices=["champion", "fixed"], default="champion",
                   help="tested set: each champion's selected features, or FIXED_FEATURES")
    p.add_argument("--no-predictions", action="store_true", help="do not test p_large_loss")
    p.add_argument("--no-evidently", action="store_true", help="skip the Evidently timing")
    p.add_argument("--ks-windows", default=None, help="KS window lengths, comma list "
                   "(default: MonitoringConfig's; empty: no KS test)")
    p.add_argument("--shift-windows", default=None, help="shift-test window lengths, comma list "
                   "(default: MonitoringConfig's; empty: no shift test)")
    p.add_argument("--alpha", type=float, default=None, help="BH level (default: MonitoringConfig's)")
    p.add_argument("--ks-min-distinct", type=int, default=None, help="features with fewer "
                   "distinct reference values are not KS-tested (default: MonitoringConfig's; "
                   "0: every feature)")
    p.add_argument("--warmup-rows", type=int, default=None,
                   help="first rows of a trader kept out of its reference (default: MonitoringConfig's)")
    return p.parse_args()


def _config(a: argparse.Namespace) -> tuple[SimulationConfig, list[str]]:
    base = SimulationConfig(n_traders=a.traders, start=dt.date.fromisoformat(a.start),
                            end=dt.date.fromisoformat(a.end), seed=a.seed)
    stable = full_period_traders(base)
    rng = np.random.default_rng(a.seed)
    affected = sorted(rng.choice(stable, size=min(a.affected, len(stable)), replace=False).tolist())
    change = InjectedChange(dt.date.fromisoformat(a.change), "trader_behaviour",
                            trader_ids=tuple(affected), tilt_prone=a.tilt_prone,
                            size_mult=a.size_mult, activity_mult=a.activity_mult,
                            edge_shift=a.edge_shift)
    return SimulationConfig(**{**base.__dict__, "changes": (change,)}), affected


def _windows(text: str) -> tuple[int, ...]:
    return tuple(int(x) for x in text.split(",") if x)


def _monitoring(a: argparse.Namespace) -> MonitoringConfig:
    over = {}
    if a.ks_windows is not None:
        over["current_windows"] = _windows(a.ks_windows)
    if a.shift_windows is not None:
        over["shift_windows"] = _windows(a.shift_windows)
    if a.alpha is not None:
        over["alpha"] = a.alpha
    if a.ks_min_distinct is not None:
        over["ks_min_distinct"] = a.ks_min_distinct
    if a.warmup_rows is not None:
        over["warmup_rows"] = a.warmup_rows
    return MonitoringConfig(**over)


def _train_all(data: dict, cutoff: dt.date, traders: list[str], cfg: TrainingConfig) -> dict:
    out = {}
    for t in traders:
        model = train_champion(data["features"], data["labels"], t, cutoff, cfg)
        if model is not None:
            out[t] = model
    return out


def _predictions(data: dict, champions: dict) -> pd.DataFrame:
    return pd.concat([predict_history(m, data["features"], t) for t, m in champions.items()],
                     ignore_index=True)


def _fmt(m: dict) -> str:
    return (f"n={m['n']:5d} pos={m['positives']:4d} base={m['base_rate']:.3f}  AUC={m['auc']:.3f} "
            f"(mean per trader {m['mean_trader_auc']:.3f})  Brier={m['brier']:.4f}  "
            f"log-loss={m['logloss']:.4f}")


def _scan(data: dict, champions: dict, preds: pd.DataFrame | None, ref_end: dt.date,
          mcfg: MonitoringConfig, fixed: bool) -> tuple[pd.DataFrame, pd.DataFrame, dict]:
    frame = data["features"][data["features"]["trader_id"].isin(list(champions))]
    if preds is not None:
        frame = frame.merge(preds, on=["trade_date", "trader_id"], how="left")
    feats = {t: list(FIXED_FEATURES) if fixed else drift_features(m.features)
             for t, m in champions.items()}
    windows = feature_windows(sorted(set().union(*feats.values())))
    return (scan_drift(frame, feats, ref_end, mcfg, engine="scipy", check_every=1, windows=windows),
            frame, feats)


def _time_evidently(frame: pd.DataFrame, feats: dict, ref_end: dt.date, mcfg: MonitoringConfig,
                    check: dt.date) -> None:
    t = sorted(feats)[0]
    rows = frame[frame["trader_id"] == t].sort_values("trade_date")
    ref = reference_window(rows, ref_end, mcfg, feature_windows(feats[t]))
    cur = rows[(rows["trade_date"] > ref_end) & (rows["trade_date"] <= check)]
    out = {}
    for engine in ("scipy", "evidently"):
        t0 = time.perf_counter()
        out[engine] = drift_scores(ref, cur, feats[t], mcfg, engine=engine)
        out[engine + "_s"] = time.perf_counter() - t0
    same = np.allclose(out["scipy"].table["p_value"], out["evidently"].table["p_value"])
    print(f"  one check of {t} ({len(feats[t])} features x {len(mcfg.current_windows)} windows, "
          f"incl. calibration): scipy {out['scipy_s']:.2f} s, evidently {out['evidently_s']:.2f} s "
          f"(first call, incl. import); same KS p-values: {same}")


def main() -> None:
    a = _args()
    warnings.filterwarnings("ignore")
    t_start = time.perf_counter()
    sim_cfg, affected = _config(a)
    ref_end, change = dt.date.fromisoformat(a.reference_end), sim_cfg.changes[0].date
    mcfg = _monitoring(a)
    tcfg = TrainingConfig(n_trials=a.n_trials, n_folds=a.n_folds, timeout_s=30.0,
                          min_trader_rows=180, min_trader_positives=15)
    c = sim_cfg.changes[0]
    print(f"simulated firm: {a.traders} traders, {a.start}..{a.end}, seed {a.seed}; change "
          f"{change} for {len(affected)} traders {list(affected)}: tilt_prone={c.tilt_prone}, "
          f"size x{c.size_mult}, activity x{c.activity_mult}, edge {c.edge_shift:+}")
    with tempfile.TemporaryDirectory(prefix="bench_drift_") as tmp:
        t0 = time.perf_counter()
        data = simulate_frames(sim_cfg, Lake(Path(tmp)))
        print(f"[data] {data['fills']:,} fills, {len(data['features']):,} trader-days, "
              f"{data['features'].shape[1] - 2} features: {time.perf_counter() - t0:.1f} s")
    dates = data["dates"]
    traders = sorted(data["features"]["trader_id"].unique())

    t0 = time.perf_counter()
    champions = _train_all(data, ref_end, traders, tcfg)
    fams = pd.Series([m.family for m in champions.values()]).value_counts().to_dict()
    print(f"[train] champions up to {ref_end} for {len(champions)}/{len(traders)} traders "
          f"{fams} (n_trials={a.n_trials}, n_folds={a.n_folds}, min_trader_rows=180, "
          f"min_trader_positives=15): {time.perf_counter() - t0:.1f} s")
    preds = _predictions(data, champions)

    t0 = time.perf_counter()
    scan, frame, feats = _scan(data, champions, None if a.no_predictions else preds, ref_end, mcfg,
                               a.features == "fixed")
    n_feats = np.mean([len(f) for f in feats.values()])
    print(f"[scan] {len(scan):,} daily checks (SciPy KS engine; KS of {n_feats:.1f} features "
          f"({a.features} set) per trader on average{'' if a.no_predictions else ' + p_large_loss'}, "
          f"windows {mcfg.current_windows}; shift test of {len(mcfg.shift_features)} fingerprint "
          f"columns, windows {mcfg.shift_windows}; BH alpha={mcfg.alpha}): "
          f"{time.perf_counter() - t0:.1f} s")
    if not a.no_evidently:
        _time_evidently(frame, feats, ref_end, mcfg, change)

    pre = scan[scan["check_date"] < change]
    fa = false_alarm_rate(pre)
    unmonitored = sorted(set(champions) - set(scan["trader_id"]))
    print(f"   not monitored (reference < {mcfg.min_reference_sessions} rows after the warm-up, "
          f"counted nowhere): {len(unmonitored)} of {len(champions)} champions {unmonitored}")
    print(f"\n1. stationary false alarms ({pre['check_date'].min()}..{pre['check_date'].max()}, "
          f"{pre['trader_id'].nunique()} traders): {fa['n_alarm_weeks']}/{fa['n_trader_weeks']} "
          f"trader-weeks = {fa['rate']:.1%} (per check {fa['check_rate']:.2%}); target <= 5%: "
          f"{'met' if fa['rate'] <= 0.05 else 'MISSED'}")
    print(f"   tests most often named by those alarms: {alarm_features(pre).head(6).to_dict()}; "
          f"traders: {pre.loc[pre['drifted'], 'trader_id'].value_counts().head(6).to_dict()}")

    post = scan[scan["check_date"] >= change]
    monitored = [t for t in affected if t in champions]
    det = detection_delay(post, frame, change, monitored, within=5)
    others = post[~post["trader_id"].isin(affected)]
    fa_post = false_alarm_rate(others)
    per = det["per_trader"]
    print(f"2. detection of the change on {change}: {int((per['delay_sessions'] <= 5).sum())}/"
          f"{det['n_affected']} affected traders within 5 sessions = {det['detected_within']:.0%} "
          f"(median delay {det['median_delay']} sessions; delays "
          f"{per['delay_sessions'].tolist()}); target >= 90%: "
          f"{'met' if det['detected_within'] >= 0.9 else 'MISSED'}")
    print(f"   unaffected traders after the change: {fa_post['n_alarm_weeks']}/"
          f"{fa_post['n_trader_weeks']} trader-weeks with an alarm = {fa_post['rate']:.1%}")
    print(f"   tests most often named by those alarms: {alarm_features(others).head(6).to_dict()}")
    first_hits = post[post["trader_id"].isin(monitored) & post["drifted"]].groupby("trader_id").head(1)
    for r in first_hits.itertuples():
        print(f"   {r.trader_id} {r.check_date}: {r.reason[:150]}")

    changed = post[post["trader_id"].isin(monitored)]
    weeks_in = (pd.to_datetime(changed["check_date"]) - pd.Timestamp(change)).dt.days // 7
    spans = {"weeks 1-4": weeks_in < 4, "weeks 5-12": weeks_in.between(4, 11),
             "weeks 13+": weeks_in >= 12}
    print("   changed traders, share of trader-weeks still alarming against the old reference: "
          + ", ".join(f"{k} {false_alarm_rate(changed[m])['rate']:.0%}" for k, m in spans.items()))
    print("   the same scan at other BH levels (an alarm is a smallest q-value <= alpha):")
    for alpha in (0.005, 0.002, 0.001, 0.0005, 0.0002):
        at = scan.assign(drifted=scan["score"] >= -np.log10(alpha))
        pre_a, post_a = at[at["check_date"] < change], at[at["check_date"] >= change]
        det_a = detection_delay(post_a, frame, change, monitored, within=5)
        print(f"     alpha={alpha:<7}: false alarms {false_alarm_rate(pre_a)['rate']:6.1%}, detected "
              f"within 5 sessions {det_a['detected_within']:4.0%}, unaffected after the change "
              f"{false_alarm_rate(post_a[~post_a['trader_id'].isin(affected)])['rate']:6.1%}")

    print("\n3. recovery after retraining (affected traders, pooled rows; old = champion up to "
          f"{ref_end})")
    before = score_window(preds, data["labels"], ref_end + dt.timedelta(days=1),
                          change - dt.timedelta(days=1))
    print(f"   old champion, {ref_end + dt.timedelta(days=1)}..{change - dt.timedelta(days=1)} (before the change): "
          f"{_fmt(probability_metrics(before[before['trader_id'].isin(monitored)]))}")
    print(f"   unaffected traders, same window (control): "
          f"{_fmt(probability_metrics(before[~before['trader_id'].isin(affected)]))}")
    for k in [int(x) for x in a.retrain_after.split(",") if x]:
        cutoff = nth_session_after(dates, change, k)
        early = score_window(preds, data["labels"], change, cutoff)
        print(f"   old champion, {change}..{cutoff} (the first {k} sessions after the change): "
              f"{_fmt(probability_metrics(early[early['trader_id'].isin(monitored)]))}")
        t0 = time.perf_counter()
        retrained = _train_all(data, cutoff, monitored, tcfg)
        new_preds = _predictions(data, retrained)
        later = (cutoff + dt.timedelta(days=1), dates[-1])
        old_late = score_window(preds[preds["trader_id"].isin(list(retrained))], data["labels"], *later)
        new_late = score_window(new_preds, data["labels"], *later)
        fams = pd.Series([m.family for m in retrained.values()]).value_counts().to_dict()
        print(f"   retrained with data up to {cutoff} ({k} sessions after the change; "
              f"{len(retrained)} traders {fams}, {time.perf_counter() - t0:.1f} s); "
              f"scored on {later[0]}..{later[1]}:")
        print(f"     old champion: {_fmt(probability_metrics(old_late))}")
        print(f"     retrained:    {_fmt(probability_metrics(new_late))}")
        ctrl = score_window(preds[~preds["trader_id"].isin(affected)], data["labels"], *later)
        print(f"     unaffected traders, old champion, same days (control): "
              f"{_fmt(probability_metrics(ctrl))}")

    print(f"\nwall time {time.perf_counter() - t_start:.1f} s, peak RSS {_peak_rss_mb():,.0f} MB")


if __name__ == "__main__":
    main()
