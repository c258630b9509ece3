"""run_process_group stops the whole tree, including a grandchild that ignores SIGINT."""

import os
import signal
import subprocess
import sys
import textwrap
import time

import psutil

# A parent that starts a grandchild ignoring SIGINT, writes both pids, then sleeps.
TREE = textwrap.dedent("""
    import signal, subprocess, sys, time
    child = subprocess.Popen([sys.executable, "-c",
        "import signal, time; signal.signal(signal.SIGINT, signal.SIG_IGN); time.sleep(600)"])
    open(sys.argv[1], "w").write(f"{child.pid}\\n")
    time.sleep(600)
""")
SUPERVISOR = textwrap.dedent("""
    import sys
    from risk_dagster.process_group import run_process_group
    sys.exit(run_process_group([sys.executable, "-c", sys.argv[1], sys.argv[2]], grace_s=1.0))
""")


def _start(tmp_path):
    pids = tmp_path / "pids"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    sup = subprocess.Popen([sys.executable, "-c", SUPERVISOR, TREE, str(pids)], env=env,
                           start_new_session=True)
    deadline = time.monotonic() + 30
    while not (pids.exists() and pids.read_text().endswith("\n")):
        assert time.monotonic() < deadline and sup.poll() is None, "the tree did not start"
        time.sleep(0.05)
    tree = psutil.Process(sup.pid).children(recursive=True)
    assert len(tree) == 2  # the command and its grandchild
    return sup, tree


def _alive(procs):
    alive = []
    for p in procs:
        try:
            if p.is_running() and p.status() != psutil.STATUS_ZOMBIE:
                alive.append(p)
        except psutil.NoSuchProcess:
            pass
    return alive


def test_sigterm_stops_the_whole_tree(tmp_path):
    sup, tree = _start(tmp_path)
    try:
        sup.send_signal(signal.SIGTERM)
        assert sup.wait(timeout=20) == 128 + signal.SIGTERM
        assert _alive(tree) == []  # the SIGINT-deaf grandchild was killed after the grace time
    finally:
        for p in _alive(tree):
            p.kill()


def test_sigint_stops_the_whole_tree(tmp_path):
    sup, tree = _start(tmp_path)
    try:
        sup.send_signal(signal.SIGINT)
        assert sup.wait(timeout=20) == 128 + signal.SIGINT
        assert _alive(tree) == []
    finally:
        for p in _alive(tree):
            p.kill()
