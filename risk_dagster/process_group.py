"""Run a command tree (``dagster dev`` and everything it starts) and stop all of it.

The command runs in its own session, hence its own process group: the webserver, the daemon,
the code server and the runs they launch all share that group. On SIGINT (Ctrl-C) or SIGTERM
the group gets SIGINT (what ``dagster dev`` shuts down cleanly on), and whatever is still
alive after ``grace_s`` seconds gets SIGKILL. The group is also cleared when the command exits
on its own, so nothing it started outlives it.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Mapping, Sequence

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # a member we may not signal still exists
        return True
    return True


def stop_group(proc: subprocess.Popen, grace_s: float = 10.0,
               first_signal: int = signal.SIGINT) -> None:
    """Send ``first_signal`` to ``proc``'s process group, wait up to ``grace_s`` seconds for
    every member to exit, then SIGKILL the rest. ``proc`` must lead its own session."""
    pgid = proc.pid
    try:
        os.killpg(pgid, first_signal)
    except ProcessLookupError:
        proc.poll()
        return
    deadline = time.monotonic() + grace_s
    while time.monotonic() < deadline:
        proc.poll()  # reap the leader, or its zombie keeps the group alive
        if not _group_alive(pgid):
            return
        time.sleep(0.1)
    try:
        os.killpg(pgid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.wait()


def run_process_group(cmd: Sequence[str], *, env: Mapping[str, str] | None = None,
                      grace_s: float = 10.0) -> int:
    """Run ``cmd`` in a new session until it exits or this process gets SIGINT/SIGTERM.

    Out: the command's exit code, or 128 + the signal number when stopped by a signal. Either
    way no process of the group is left running."""
    received: list[int] = []

    def _on_signal(signum, _frame):
        received.append(signum)

    previous = {s: signal.signal(s, _on_signal) for s in STOP_SIGNALS}
    proc = subprocess.Popen(list(cmd), env=None if env is None else dict(env),
                            start_new_session=True)
    try:
        while not received:
            try:
                code = proc.wait(timeout=0.2)
                break
            except subprocess.TimeoutExpired:
                continue
        stop_group(proc, grace_s)  # also clears what an exited command left behind
        return 128 + received[0] if received else code
    finally:
        if proc.poll() is None:  # an exception in between: never leave the tree running
            stop_group(proc, 0.0)
        for sig, handler in previous.items():
            signal.signal(sig, handler)
