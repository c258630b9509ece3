"""Trader ids become Dagster partition keys and folder names: validate them first."""

from __future__ import annotations

import re

# Letters, digits and a few separators that are safe in a path component and in a Dagster
# multi-partition key (which forbids | , [ ]). It must start with a letter or digit, so "." and
# ".." are impossible, and it is at most 64 characters (a 0x wallet address is 42).
_TRADER_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@+\-]{0,63}$")


class InvalidTraderId(ValueError):
    """A trader id that cannot be used as a partition key or a path component."""


def validate_trader_id(value: object) -> str:
    """Return ``value`` stripped if it is a valid trader id, else raise InvalidTraderId."""
    if not isinstance(value, str):
        raise InvalidTraderId(f"trader id must be text, got {type(value).__name__}: {value!r}")
    tid = value.strip()
    if not _TRADER_ID.fullmatch(tid):
        raise InvalidTraderId(
            f"invalid trader id {value!r}: use 1-64 letters, digits or _ . @ + -, starting with a "
            "letter or digit (no path separators, spaces, '|', ',', '[' or ']')"
        )
    return tid


def is_valid_trader_id(value: object) -> bool:
    try:
        validate_trader_id(value)
    except InvalidTraderId:
        return False
    return True
