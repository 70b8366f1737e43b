"""The ZigZag peer as seen from ACCO's side: its private venv, one subprocess per run, a JSON cache.

* :func:`ensure_venv` creates ``benchmarks/.peers/zigzag-venv`` once (``python3.11 -m venv`` +
  ``pip install zigzag-dse==3.9.1 six``; zigzag imports ``six`` without declaring it) and reuses it
  afterwards (a stamp file records what was installed).
* :func:`run_zigzag` runs ``zigzag_runner.py`` with that venv's python in a fresh subprocess for
  one :class:`ZigZagRun` and returns its JSON result, cached under ``benchmarks/.peers/cache/``
  keyed on the contents of the input files and the settings that influence the result.

Nothing here imports ZigZag; it only runs the installed package in the peer venv.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from .zigzag_runner import RUNNER_VERSION

BENCH_DIR = Path(__file__).resolve().parents[1]
PEERS_DIR = BENCH_DIR / ".peers"
VENV_DIR = PEERS_DIR / "zigzag-venv"
CACHE_DIR = PEERS_DIR / "cache"
RUNNER = Path(__file__).resolve().with_name("zigzag_runner.py")

ZIGZAG_VERSION = "3.9.1"
REQUIREMENTS = (f"zigzag-dse=={ZIGZAG_VERSION}", "six")
STAMP = VENV_DIR / ".bench-installed"


class PeerError(RuntimeError):
    """The peer venv could not be set up or a ZigZag run failed."""


def venv_python() -> Path:
    """Path of the peer venv's python interpreter."""
    return VENV_DIR / "bin" / "python"


def _base_python() -> str:
    """The machine's Python 3.11+ used to create the venv (python3.11, else python3)."""
    for name in ("python3.11", "python3"):
        exe = shutil.which(name)
        if exe is None:
            continue
        out = subprocess.run(
            [exe, "-c", "import sys; print(sys.version_info >= (3, 11))"], capture_output=True, text=True
        )
        if out.returncode == 0 and out.stdout.strip() == "True":
            return exe
    raise PeerError("zigzag-dse 3.9.1 needs Python >= 3.11; neither python3.11 nor python3 is one")


def ensure_venv(log: Any = sys.stderr) -> Path:
    """Create the peer venv with zigzag-dse 3.9.1 + six unless it already exists; return its python."""
    wanted = " ".join(REQUIREMENTS)
    if venv_python().exists() and STAMP.exists() and STAMP.read_text().strip() == wanted:
        return venv_python()
    PEERS_DIR.mkdir(parents=True, exist_ok=True)
    if not venv_python().exists():
        print(f"creating peer venv {VENV_DIR} ...", file=log, flush=True)
        subprocess.run([_base_python(), "-m", "venv", str(VENV_DIR)], check=True)
    print(f"installing {wanted} into the peer venv ...", file=log, flush=True)
    pip = subprocess.run(
        [str(venv_python()), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", *REQUIREMENTS],
        capture_output=True,
        text=True,
    )
    if pip.returncode != 0:
        raise PeerError(f"pip install {wanted} failed:\n{pip.stdout}\n{pip.stderr}")
    STAMP.write_text(wanted + "\n")
    return venv_python()


def peer_version() -> str:
    """Version of zigzag-dse installed in the peer venv."""
    out = subprocess.run(
        [str(venv_python()), "-c", "from importlib.metadata import version; print(version('zigzag-dse'))"],
        capture_output=True,
        text=True,
        check=True,
    )
    return out.stdout.strip()


@dataclass(frozen=True)
class ZigZagRun:
    """One ZigZag invocation: input files and search settings."""

    hardware: str
    workload: str
    mapping: str
    engine: str  # "loma" | "salsa"
    lpf_limit: int = 6
    seed: int = 1
    iterations: int = 1000
    start_temperature: float = 0.05
    chains: int = 1
    opt: str = "energy"
    #: evaluate only these layer ids (comma list; None = all)
    layers: str | None = None
    #: JSON {layer id: [[dim, size], ...]}: complete temporal ordering imposed on a layer
    orderings: str | None = None
    #: add per-level word accesses, energies and their terms to every layer record
    detail: bool = False

    def effective_settings(self) -> dict[str, Any]:
        """Settings that influence the result (the cache key): LOMA ignores the SALSA knobs and
        SALSA ignores the lpf limit (zigzag 3.9.1 only raises it to the number of temporal dims).
        ``layers``/``orderings``/``detail`` enter the key only when set, so plain runs keep theirs."""
        common: dict[str, Any] = {"engine": self.engine, "opt": self.opt}
        for key in ("layers", "orderings", "detail"):
            if getattr(self, key):
                common[key] = getattr(self, key)
        if self.engine == "loma":
            return {**common, "lpf_limit": self.lpf_limit}
        return {
            **common,
            "seed": self.seed,
            "iterations": self.iterations,
            "start_temperature": self.start_temperature,
            "chains": self.chains,
        }

    def cache_key(self) -> str:
        """Hash of runner version, zigzag version, input file contents and effective settings."""
        h = hashlib.sha256()
        meta = {"runner": RUNNER_VERSION, "zigzag": ZIGZAG_VERSION, **self.effective_settings()}
        h.update(json.dumps(meta, sort_keys=True).encode())
        for path in (self.hardware, self.workload, self.mapping):
            h.update(hashlib.sha256(Path(path).read_bytes()).digest())
        return h.hexdigest()[:24]

    def cache_path(self) -> Path:
        """JSON file holding this run's cached result."""
        stem = "-".join(Path(p).stem for p in (self.hardware, self.workload))
        if self.layers:
            stem += "-L" + self.layers.replace(",", "_")
        return CACHE_DIR / f"{stem}-{self.engine}-{self.cache_key()}.json"

    def argv(self) -> list[str]:
        """Runner command line (peer python + runner script + options)."""
        extra = [*(["--layers", self.layers] if self.layers else []), *(["--orderings", self.orderings] if self.orderings else [])]
        extra += ["--detail"] if self.detail else []
        return [
            str(venv_python()),
            str(RUNNER),
            "--hardware", self.hardware,
            "--workload", self.workload,
            "--mapping", self.mapping,
            "--engine", self.engine,
            "--opt", self.opt,
            "--lpf-limit", str(self.lpf_limit),
            "--seed", str(self.seed),
            "--iterations", str(self.iterations),
            "--start-temperature", repr(self.start_temperature),
            "--chains", str(self.chains),
            *extra,
        ]  # fmt: skip


def run_zigzag(run: ZigZagRun, *, use_cache: bool = True, timeout: float | None = None) -> dict[str, Any]:
    """Result of ``run`` (from the cache unless ``use_cache`` is false); adds ``cached`` to it."""
    path = run.cache_path()
    if use_cache and path.exists():
        result = json.loads(path.read_text())
        result["cached"] = True
        return result
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env["PYTHONHASHSEED"] = "0"
    proc = subprocess.run(run.argv(), capture_output=True, text=True, env=env, timeout=timeout)
    if proc.returncode != 0:
        raise PeerError(f"ZigZag run failed ({run}):\n{proc.stderr[-4000:]}")
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
    if not lines:
        raise PeerError(f"ZigZag run printed no JSON ({run}):\n{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}")
    result = json.loads(lines[-1])
    result["run"] = asdict(run)
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(result, indent=1))
    tmp.replace(path)
    result["cached"] = False
    return result
