"""Issue 21 items 4 and 6: signals stop every step cleanly, environment failures have their own exit status.

Signals: one SIGINT (to the process group, as Ctrl-C does) or SIGTERM (to the main process, as
`timeout` does) stops Step 1 within seconds with one line, status 130 / 143, no traceback and no pool
worker left; two SIGINTs never hang; after SIGKILL of the main process its workers exit on their own.
Environment: `--out` naming a file, a full disk, an unreachable or worker-less Dask scheduler: one line
naming the cause, status 3 (not 1, "some scenarios failed").
"""

from __future__ import annotations

import errno
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from acco import exitcodes
from acco.dse.cli import step1_main, step2_main

ROOT = Path(__file__).resolve().parents[1]
HW = ROOT / "inputs/hardware/Meta_prototype_DF.yaml"
WL = ROOT / "inputs/workloads/Meta_prototype/stftCNN_fixed_unrolling_oxoy_025_1x.yaml"
STEP1 = ROOT / "DfStackCutAndXform_mp_misc.py"


def _sweep(folder: Path, tiles: str = "[1, 2, 4, 8, 16]") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    p = folder / "sweep.yaml"
    p.write_text(f"name: stop\nhardware: [{HW}]\nworkloads: [{WL}]\ntile_x: {tiles}\ntile_y: [1, 2, 4]\n"
                 "caching: [[true, true], [false, false]]\ncut_max: 2\ntargets: [energy, latency]\n"
                 "mapper: {engine: loma, lpf_limit: 6}\nseed: 0\n")
    return p


def _small(folder: Path) -> Path:
    """One scenario (4x4, fully cached, energy, no extra cuts): ~1 s."""
    folder.mkdir(parents=True, exist_ok=True)
    p = folder / "small.yaml"
    p.write_text(f"name: small\nhardware: [{HW}]\nworkloads: [{WL}]\ntile_x: [4]\ntile_y: [4]\ncut_max: 0\n")
    return p


def _children(pid: int) -> set[int]:
    """Process ids whose parent is `pid` (from /proc)."""
    out = set()
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                stat = (d / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                out.add(int(d.name))
    return out


def _alive(pids: set[int]) -> set[int]:
    alive = set()
    for p in pids:
        try:
            state = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if state != "Z":
            alive.add(p)
    return alive


def _start(tmp_path: Path) -> tuple[subprocess.Popen, set[int]]:
    """Step 1 with 2 workers and no mapper cache, running; returns it and its pool workers."""
    sw = _sweep(tmp_path)
    p = subprocess.Popen([sys.executable, str(STEP1), "--sweep", str(sw), "--out", str(tmp_path / "out"), "--jobs", "2",
                          "--mapper-cache", "off", "--no-baselines"],
                         cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    deadline = time.time() + 60
    kids: set[int] = set()
    while time.time() < deadline and len(kids) < 2:
        kids = _children(p.pid) - {p.pid}
        time.sleep(0.05)
    time.sleep(1.0)  # the workers are computing
    kids = _children(p.pid)
    assert p.poll() is None and len(kids) >= 2, "Step 1 ended before it could be signalled"
    return p, kids


def _gone_within(pids: set[int], seconds: float) -> bool:
    deadline = time.time() + seconds
    while time.time() < deadline:
        if not _alive(pids):
            return True
        time.sleep(0.1)
    return False


@pytest.mark.parametrize("sig, to_group, code", [(signal.SIGINT, True, exitcodes.INTERRUPTED),
                                                 (signal.SIGTERM, False, exitcodes.TERMINATED)])
def test_one_signal_stops_step1_with_one_line_and_no_worker_left(tmp_path: Path, sig, to_group, code) -> None:
    p, kids = _start(tmp_path)
    t0 = time.time()
    (os.killpg if to_group else os.kill)(p.pid, sig)
    out, err = p.communicate(timeout=30)
    assert time.time() - t0 < 10 and p.returncode == code, err
    assert "Traceback" not in err and "stopped by " + sig.name + "; nothing half-written is left" in err.strip().splitlines()[-1]
    assert len([ln for ln in err.splitlines() if "stopped by" in ln]) == 1
    assert _gone_within(kids, 5), f"workers left: {_alive(kids)}"


def test_two_ctrl_c_never_hang(tmp_path: Path) -> None:
    p, kids = _start(tmp_path)
    os.killpg(p.pid, signal.SIGINT)
    time.sleep(0.05)
    os.killpg(p.pid, signal.SIGINT)
    p.communicate(timeout=15)
    assert p.returncode == exitcodes.INTERRUPTED
    assert _gone_within(kids, 5)


def test_sigkill_of_the_main_process_makes_its_workers_exit(tmp_path: Path) -> None:
    p, kids = _start(tmp_path)
    os.kill(p.pid, signal.SIGKILL)  # the main process only: the workers are orphaned
    p.communicate(timeout=15)
    assert _gone_within(kids, 5), f"orphaned workers still alive: {_alive(kids)}"


# ------------------------------------------------------------------------------------------------
# environment failures: status 3 and one line


def test_out_naming_a_file(tmp_path: Path, capsys) -> None:
    sw = _small(tmp_path)
    f = tmp_path / "file"
    f.write_text("x")
    assert step1_main(["--sweep", str(sw), "--out", str(f), "--quiet"]) == exitcodes.ENVIRONMENT
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "not a folder" in err and "Traceback" not in err


def test_disk_full_while_storing_a_result(tmp_path: Path, capsys, monkeypatch) -> None:
    import acco.dse.store as store

    def full(path, data):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))

    monkeypatch.setattr(store, "atomic_write_bytes", full)
    sw = _small(tmp_path)
    code = step1_main(["--sweep", str(sw), "--out", str(tmp_path / "o"), "--jobs", "1", "--quiet", "--no-baselines"])
    err = capsys.readouterr().err
    assert code == exitcodes.ENVIRONMENT and err.count("\n") == 1 and "disk full" in err, err


def test_unreachable_dask_scheduler(tmp_path: Path, capsys) -> None:
    import distributed  # noqa: F401  # installed by ./test.sh (requirements.lock): missing fails, never skips
    sw = _small(tmp_path)
    t0 = time.time()
    code = step1_main(["--sweep", str(sw), "--out", str(tmp_path / "o"), "--executor", "dask",
                       "--scheduler", "tcp://127.0.0.1:9", "--quiet", "--no-baselines"])
    err = capsys.readouterr().err
    assert code == exitcodes.ENVIRONMENT and "cannot reach the Dask scheduler" in err and err.count("\n") == 1, err
    assert time.time() - t0 < 30


def test_dask_scheduler_without_worker_says_so(tmp_path: Path) -> None:
    import distributed  # noqa: F401  # installed by ./test.sh (requirements.lock): missing fails, never skips
    from distributed import LocalCluster

    sw = _small(tmp_path)
    with LocalCluster(n_workers=0, processes=False, protocol="tcp", host="127.0.0.1", dashboard_address=None) as cluster:
        p = subprocess.Popen([sys.executable, str(STEP1), "--sweep", str(sw), "--out", str(tmp_path / "o"), "--executor", "dask",
                              "--scheduler", cluster.scheduler_address, "--quiet", "--no-baselines"],
                             cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        time.sleep(10)
        p.terminate()
        out, err = p.communicate(timeout=30)
    assert "no Dask worker connected" in err, err
    assert p.returncode == exitcodes.TERMINATED and "Traceback" not in err


def test_step2_interrupted_leaves_the_old_tables(tmp_path: Path, monkeypatch, capsys) -> None:
    """A signal during Step 2 (simulated in-process) keeps the earlier tables and removes its staging folder."""
    import acco.reports.compile as compile_mod
    from acco.stopping import Stopped

    sw = _small(tmp_path)
    out = tmp_path / "o"
    assert step1_main(["--sweep", str(sw), "--out", str(out), "--jobs", "1", "--quiet", "--no-baselines"]) == 0
    assert step2_main(["--sweep", str(sw), "--out", str(out), "--quiet"]) == 0
    before = {p.name: p.read_bytes() for p in (out / "step2").iterdir()}

    def stop(*a, **k):
        raise Stopped(signal.SIGTERM)

    monkeypatch.setattr(compile_mod, "range_csv", stop)
    assert step2_main(["--sweep", str(sw), "--out", str(out), "--quiet"]) == exitcodes.TERMINATED
    assert "Traceback" not in capsys.readouterr().err
    assert {p.name: p.read_bytes() for p in (out / "step2").iterdir()} == before
    assert not [p for p in out.iterdir() if p.name.startswith(".step2")]


def test_read_only_out(tmp_path: Path, capsys, monkeypatch) -> None:
    """A read-only --out (simulated: the tests may run as root, who may write anywhere)."""
    real_mkdir = Path.mkdir

    def ro(self, *a, **k):
        if str(self).startswith(str(tmp_path / "ro")):
            raise OSError(errno.EROFS, os.strerror(errno.EROFS), str(self))
        return real_mkdir(self, *a, **k)

    monkeypatch.setattr(Path, "mkdir", ro)
    sw = _small(tmp_path)
    assert step1_main(["--sweep", str(sw), "--out", str(tmp_path / "ro"), "--quiet"]) == exitcodes.ENVIRONMENT
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "no permission to write" in err and "Traceback" not in err


def test_step1_says_the_scenario_count_and_a_time_estimate_before_starting(tmp_path: Path, capsys) -> None:
    from acco.dse.runner import start_line

    big = start_line(4_000_000, 4_000_000, 2)
    assert big.startswith("step 1: 4,000,000 scenarios") and "roughly 10000 min" in big
    sw = _small(tmp_path)
    assert step1_main(["--sweep", str(sw), "--out", str(tmp_path / "o"), "--jobs", "1", "--no-baselines"]) == 0
    assert "step 1: 1 scenarios, 0 already done, 1 to compute on 1 processes: roughly 1 s" in capsys.readouterr().err


def test_every_steps_pool_workers_exit_when_their_parent_is_killed(tmp_path: Path) -> None:
    """Steps 2 and 3 (figures included) use the same `worker_pool` as Step 1: its workers, busy with a long
    job, exit on their own within seconds of a SIGKILL of the process that made the pool."""
    code = ("import time\nfrom acco.stopping import worker_pool\n"
            "ex = worker_pool(2)\nfuts = [ex.submit(time.sleep, 120) for _ in range(2)]\n"
            "time.sleep(1.0)\nprint(' '.join(str(p) for p in ex._processes), flush=True)\ntime.sleep(120)\n")
    p = subprocess.Popen([sys.executable, "-c", code], cwd=ROOT, stdout=subprocess.PIPE, text=True)
    kids = {int(x) for x in p.stdout.readline().split()}
    assert len(kids) == 2 and _alive(kids) == kids
    p.kill()
    p.wait()
    assert _gone_within(kids, 5), f"orphaned workers still alive: {_alive(kids)}"
