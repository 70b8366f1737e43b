"""Exit codes of the pipeline steps and of `acco run` (one meaning each, shared by all entry points).

0 = done; 1 = some scenarios failed (the rest is usable); 2 = bad input or usage;
3 = environment failure (disk, permissions, scheduler); 130/143 = interrupted (SIGINT/SIGTERM).
"""

OK = 0
SCENARIOS_FAILED = 1
BAD_INPUT = 2
ENVIRONMENT = 3
INTERRUPTED = 130
TERMINATED = 143
