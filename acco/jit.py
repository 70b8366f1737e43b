"""numba, when present, for the compiled loops of every layer (cost kernel, Step 3's Pareto loops).

At the bottom of the package (nothing here imports ACCO), so any layer can compile a loop without
importing another layer's module: `available()` says whether compiled code is used, `_jit` compiles
a function (cached on disk by numba, next to the function's own module) or leaves it as Python.
"""

from __future__ import annotations

import os

try:  # pragma: no cover - exercised through `available()`
    import numba

    _NUMBA = True
except ImportError:  # pragma: no cover
    numba = None
    _NUMBA = False


def available() -> bool:
    """Whether the compiled evaluator is used (numba importable and not switched off by ACCO_EVALUATOR=numpy)."""
    return _NUMBA and os.environ.get("ACCO_EVALUATOR", "").lower() != "numpy"


def _jit(fn):
    return numba.njit(cache=True, nogil=True)(fn) if _NUMBA else fn
