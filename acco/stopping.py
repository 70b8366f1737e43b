"""Stopping cleanly: one Ctrl-C or SIGTERM ends a step within seconds, and no worker outlives it.

`install_handlers` (called by every step's entry point) turns the first SIGINT or SIGTERM into a
`Stopped` exception after killing the worker processes of every pool made by `worker_pool`; the
step's `finally` blocks then remove their temporaries and the entry point prints one line and exits
with 128 + the signal's number. A second signal while that runs exits at once (never hangs).

Pool workers ignore SIGINT (the terminal sends it to the whole process group; the parent decides)
and watch their parent: when it disappears (SIGKILL, a crash) they exit on their own within
`WATCH_SECONDS`, so they never keep computing or writing for nobody.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
import weakref
from typing import TYPE_CHECKING, Any, Callable

from acco.exitcodes import for_signal

if TYPE_CHECKING:
    from concurrent.futures import ProcessPoolExecutor

#: how often a pool worker checks that its parent is alive (seconds)
WATCH_SECONDS = 0.5

_pools: "weakref.WeakSet[ProcessPoolExecutor]" = weakref.WeakSet()
_signals_seen = 0


class Stopped(KeyboardInterrupt):
    """The step was asked to stop by signal `signum` (SIGINT or SIGTERM)."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = int(signum)

    @property
    def name(self) -> str:
        return signal.Signals(self.signum).name


def kill_workers() -> int:
    """Kill the worker processes of every live pool made by `worker_pool`; return how many were signalled."""
    return sum(_kill(ex) for ex in list(_pools))


def _kill(ex: Any) -> int:
    n = 0
    for p in list((getattr(ex, "_processes", None) or {}).values()):
        try:
            if p.is_alive():
                p.kill()
                n += 1
        except (OSError, ValueError, AssertionError):
            continue
    return n


def install_early(prog: str) -> None:
    """Before a step's (slow) imports: a signal ends the process at once with one line (nothing to clean yet)."""
    def early(signum: int, frame: Any) -> None:
        sys.stderr.write(f"\n{prog}: stopped by {signal.Signals(signum).name} while starting\n")
        sys.stderr.flush()
        os._exit(for_signal(signum))

    if threading.current_thread() is threading.main_thread():
        for s in (signal.SIGINT, signal.SIGTERM):
            signal.signal(s, early)


def _handler(signum: int, frame: Any) -> None:
    global _signals_seen
    _signals_seen += 1
    kill_workers()
    if _signals_seen > 1:  # a second signal while the first is handled: leave now
        os._exit(for_signal(signum))
    raise Stopped(signum)


def install_handlers() -> dict[int, Any]:
    """SIGINT and SIGTERM of this (main) process raise `Stopped` after killing the pools' workers; returns
    the handlers they replace (for `restore_handlers`)."""
    global _signals_seen
    _signals_seen = 0
    if threading.current_thread() is not threading.main_thread():
        return {}
    return {int(s): signal.signal(s, _handler) for s in (signal.SIGINT, signal.SIGTERM)}


def restore_handlers(old: dict[int, Any]) -> None:
    """Put back the handlers `install_handlers` replaced (a step run inside another program)."""
    for s, h in old.items():
        signal.signal(s, h if h is not None else signal.SIG_DFL)


def _watch_parent(ppid: int) -> None:
    while True:
        time.sleep(WATCH_SECONDS)
        if os.getppid() != ppid:
            os._exit(1)


def worker_setup(initializer: Callable[..., Any] | None = None, *initargs: Any) -> None:
    """Start of a pool worker: ignore SIGINT, default SIGTERM, watch the parent, then `initializer`."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    threading.Thread(target=_watch_parent, args=(os.getppid(),), daemon=True, name="acco-watch-parent").start()
    if initializer is not None:
        initializer(*initargs)


def worker_pool(jobs: int, initializer: Callable[..., Any] | None = None, initargs: tuple = ()) -> "ProcessPoolExecutor":
    """A process pool whose workers stop with the step (see the module's docstring).

    Leaving its `with` block by an exception, or `stop()`, kills the workers and does not wait for them
    (waiting on a pool whose workers were killed can hang in Python 3.11); a normal end waits as usual."""
    from concurrent.futures import ProcessPoolExecutor

    class _Pool(ProcessPoolExecutor):
        def stop(self) -> None:
            _kill(self)
            self.shutdown(wait=False, cancel_futures=True)

        def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> bool:
            if exc_type is None:
                self.shutdown(wait=True)
            else:
                self.stop()
            return False

    ex = _Pool(max_workers=jobs, initializer=worker_setup, initargs=(initializer, *initargs))
    _pools.add(ex)
    return ex


__all__ = ["Stopped", "WATCH_SECONDS", "install_early", "install_handlers", "restore_handlers", "kill_workers", "worker_pool", "worker_setup"]
