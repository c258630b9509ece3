import pytest

from risk_dagster.core.trader_ids import InvalidTraderId, validate_trader_id


@pytest.mark.parametrize("good", ["T0001", "0xae5eacaf9c6b9111fd53034a602c192a04e082ed", "ACC-12.a_b", " T1 "])
def test_valid_ids(good):
    assert validate_trader_id(good) == good.strip()


@pytest.mark.parametrize("bad", ["", "a/b", "a\\b", "..", ".hidden", "a|b", "a,b", "a[1]", "a b",
                                 "x" * 65, None, 12])
def test_invalid_ids(bad):
    with pytest.raises(InvalidTraderId):
        validate_trader_id(bad)
