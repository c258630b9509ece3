"""The fleet trains every trader even when one fails, then says which failed."""

from __future__ import annotations

import pytest

from risk_dagster.core.lake import Lake
from risk_dagster.models import fleet


def test_one_traders_failure_does_not_stop_the_others(tmp_path, monkeypatch, synthetic,
                                                        fast_cfg, trader_result):
    features, labels = synthetic

    def train(f, lab, tid, cfg):
        if tid == "T0002":
            raise ValueError("one class in the fit rows")
        return trader_result

    monkeypatch.setattr(fleet, "read_training_data", lambda lake, ids: (features, labels))
    monkeypatch.setattr(fleet, "train_candidates", train)
    with pytest.raises(fleet.TraderTrainingError) as err:
        fleet.train_traders(str(tmp_path), ["T0001", "T0002", "T0003"], fast_cfg)
    assert err.value.failed == {"T0002": "ValueError: one class in the fit rows"}
    assert [s["owner"] for s in err.value.trained] == ["T0001", "T0003"]
    assert "T0002: ValueError" in str(err.value) and "1 of 3 traders" in str(err.value)
    # the others' predictions and models are stored
    assert Lake(tmp_path).keys(fleet.TRADER_PREDICTIONS, "trader") == ["T0001", "T0003"]
    assert all(s["paths"] for s in err.value.trained)


def test_each_trader_trains_on_exactly_its_rows_in_order(tmp_path, monkeypatch, synthetic,
                                                         fast_cfg, trader_result):
    features, labels = synthetic
    features = features.sample(frac=1.0, random_state=3).reset_index(drop=True)  # interleaved
    seen = {}

    def train(f, lab, tid, cfg):
        seen[tid] = (f, lab)
        return trader_result

    monkeypatch.setattr(fleet, "read_training_data", lambda lake, ids: (features, labels))
    monkeypatch.setattr(fleet, "train_candidates", train)
    fleet.train_traders(str(tmp_path), ["T0003", "T0001", "T9999"], fast_cfg)
    for tid in ("T0003", "T0001", "T9999"):
        f, lab = seen[tid]
        assert f.equals(features[features["trader_id"] == tid]), tid
        assert list(f.index) == list(features.index[features["trader_id"] == tid]), tid
        assert lab.equals(labels[labels["trader_id"] == tid]), tid
    assert len(seen["T0001"][0]) > 0 and len(seen["T0003"][1]) > 0
    assert len(seen["T9999"][0]) == 0 and list(seen["T9999"][0].columns) == list(features.columns)
