"""URLs of reports under the data directory, as the report server (``risk-dagster reports``)
serves them."""

from __future__ import annotations

import os
from pathlib import Path, PurePosixPath
from urllib.parse import quote

# The only folders of the data directory the report server shows (HTML, CSV, JSON reports).
SERVED_FOLDERS = ("reports", "live")


def served_relative(data_dir: str | os.PathLike[str], path: str | os.PathLike[str]) -> PurePosixPath:
    """``path`` relative to ``data_dir``, as a POSIX path whose first part is a served folder.

    Raises ``ValueError`` if ``path`` (symlinks resolved) is outside ``<data>/reports`` and
    ``<data>/live``.
    """
    root = Path(data_dir).resolve()
    target = Path(path)
    target = (target if target.is_absolute() else root / target).resolve()
    try:
        rel = target.relative_to(root)
    except ValueError:
        raise ValueError(f"{path} is not under the data directory {root}") from None
    if not rel.parts or rel.parts[0] not in SERVED_FOLDERS:
        raise ValueError(f"{path} is not in a served folder ({', '.join(SERVED_FOLDERS)}) of {root}")
    return PurePosixPath(*rel.parts)


def report_url(base_url: str, data_dir: str | os.PathLike[str],
               path: str | os.PathLike[str]) -> str:
    """The URL of the report at ``path`` (under ``<data>/reports`` or ``<data>/live``) on the
    report server at ``base_url`` (e.g. ``http://127.0.0.1:3001``); each path part is
    percent-encoded. A folder's URL ends with ``/`` (the server lists it)."""
    rel = served_relative(data_dir, path)
    tail = "/" if (Path(data_dir).resolve() / rel).is_dir() else ""
    return base_url.rstrip("/") + "/" + "/".join(quote(p, safe="") for p in rel.parts) + tail
