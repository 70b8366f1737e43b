"""Exit statuses of the pipeline's steps, one meaning each (docs/pipeline.md, "Exit statuses").

A driver (run.sh, `acco run`) goes on after OK and SCENARIOS_FAILED and stops on anything else.
"""

from __future__ import annotations

import signal

#: everything done
OK = 0
#: some scenarios failed (recorded; the rest is usable) or, for Step 2, some scenarios have no result
SCENARIOS_FAILED = 1
#: bad input or usage (a malformed file, a wrong option, outputs of other inputs); nothing was written
BAD_INPUT = 2
#: the environment failed: disk full, no permission, `--out` not a folder, an unreachable Dask scheduler
ENVIRONMENT = 3
#: stopped by Ctrl-C (SIGINT) or by SIGTERM (`timeout`, batch schedulers): 128 + the signal's number
INTERRUPTED = 128 + int(signal.SIGINT)
TERMINATED = 128 + int(signal.SIGTERM)


def for_signal(signum: int) -> int:
    """The exit status of a step stopped by signal `signum`."""
    return 128 + int(signum)


__all__ = ["BAD_INPUT", "ENVIRONMENT", "INTERRUPTED", "OK", "SCENARIOS_FAILED", "TERMINATED", "for_signal"]
