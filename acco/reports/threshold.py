"""The on-chip rule's threshold said out loud: which value Step 3 uses, where it came from, and the alternative.

The original ACCO keeps a strategy's data on chip when its sub-stacks' summed peak activation footprint is
below a constant 1 MiB, whatever the hardware; `--threshold hardware` (or `step3: {threshold_mib: hardware}`
in the sweep) uses each hardware's own activation buffer instead, so that editing that buffer changes Step 3.
"""

from __future__ import annotations

from typing import Any, Mapping


def _mib(x: float) -> str:
    return f"{x:g} MiB"


def threshold_note(th: float | Mapping[str, float], origin: str, sweep: Any) -> str:
    """One paragraph for Step 3's output: the threshold `th` (one value or per hardware), its `origin`, and
    each hardware's own activation buffer when the constant is used (so a user sees why a buffer edit
    changes nothing)."""
    from acco.dse.sweep import hardware_name
    from acco.reports.allocate import activation_buffer_mib

    if isinstance(th, Mapping):
        per = ", ".join(f"{k} {_mib(v)}" for k, v in th.items())
        return f"on-chip threshold: each hardware's activation buffer ({per}), from {origin}"
    own = ", ".join(f"{hardware_name(h)} {_mib(activation_buffer_mib(h))}" for h in sweep.hardware)
    return (f"on-chip threshold: {_mib(th)}, from {origin}; the hardware's own activation buffer ({own}) is used "
            "with --threshold hardware or 'step3: {threshold_mib: hardware}' in the sweep")


def threshold_origin(cli_mib: float | None, cli_hardware: bool, sweep: Any) -> str:
    """Where the threshold comes from: the command line, the sweep's step3 key, or the default."""
    if cli_mib is not None:
        return "--threshold-mib"
    if cli_hardware:
        return "--threshold hardware"
    return f"{sweep.path} step3.threshold_mib" if _sweep_sets_threshold(sweep.path) else \
        "the default (the original ACCO's constant; step3.threshold_mib in the sweep changes it)"


def _sweep_sets_threshold(path: str) -> bool:
    """True when the sweep file itself sets step3.threshold_mib."""
    from acco.io.yamlfile import read_yaml

    data = read_yaml(path)
    s3 = data.get("step3") if isinstance(data, dict) else None
    return isinstance(s3, dict) and "threshold_mib" in s3


__all__ = ["threshold_note", "threshold_origin"]
