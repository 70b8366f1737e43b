"""Sub-stack (cut range) enumeration of ACCO's depth-first stage.

A range ``(cut_before, cut_after)`` holds the layers after `cut_before` up to `cut_after`
(None = network start / end). Ranges come from the forced cuts (explicit + weight-overflow) plus
every combination of up to `cut_max` extra cut points, in the original's first-seen order
(docs/causal.md): ``(None,None), (None,0), (0,None), (None,1), (1,None), ..., (0,1), (0,2), ...``.
"""

from __future__ import annotations

from itertools import combinations
from typing import Iterable, Sequence

from acco.causal.transform import CAUSAL_SOURCE
from acco.depthfirst.geometry import StackGraph
from acco.errors import InputError

Range = tuple[int | None, int | None]


def enumerate_ranges(
    node_ids: Sequence[int],
    input_ids: Iterable[int],
    forced_cuts: Iterable[int] = (),
    cut_max: int = 0,
    already: Iterable[Range] = (),
) -> list[Range]:
    """All contiguous ranges reachable with the forced cuts plus <= `cut_max` extra cuts (original order)."""
    if not isinstance(cut_max, int) or isinstance(cut_max, bool) or cut_max < 0:
        raise InputError(CAUSAL_SOURCE, "cut_max", "a non-negative integer", repr(cut_max))
    ids = list(node_ids)
    last = max(i for i in ids if i not in set(input_ids))
    forced = sorted({c for c in forced_cuts if c != last and c not in set(input_ids)})
    free = [i for i in ids if i not in set(input_ids) and i != last and i not in forced]
    bounds = [-1] + forced, forced + [last]
    possible = sum((e - s) * (e - s + 1) // 2 for s, e in zip(*bounds))
    out: list[Range] = []
    seen: set[Range] = set()
    extra = 0
    while extra <= cut_max:
        cands: list[tuple[int, ...]] = []
        for k in range(extra + 1):
            cands += list(combinations(free, k))
        for cand in cands:
            cuts = sorted(list(cand) + forced)
            for before, after in zip([None] + cuts, cuts + [None]):
                if (before, after) not in seen:
                    seen.add((before, after))
                    out.append((before, after))
        if len(out) >= possible:
            break
        extra += 1
    done = set(already)
    return [r for r in out if r not in done]


def drop_multi_output_splits(g: StackGraph, ranges: Sequence[Range]) -> list[Range]:
    """Remove ranges that contain a multi-output node (out-degree > 1) without ending on one (id-range test)."""
    layer_ids = [n for n in g.order if n not in g.input_ids]
    last = max(layer_ids)
    multi = [n for n in g.order if len(g.consumers(n)) > 1]
    keep = []
    for before, after in ranges:
        b = -1 if before is None else before
        a = last if after is None else after
        inside = range(b + 1, a + 1)
        if any(m in inside for m in multi) and a not in multi:
            continue
        keep.append((before, after))
    return keep


def stack_ranges(
    g: StackGraph,
    node_ids: Sequence[int],
    forward_cuts: Iterable[int],
    reverse_cuts: Iterable[int] | None,
    cut_max: int,
) -> list[Range]:
    """Ranges of the forward pass, then the new ranges of the reversed weight-cut pass (as ACCO runs them)."""
    out: list[Range] = []
    inputs = g.input_ids
    last = g.order[-1]
    passes = [list(forward_cuts)] + ([list(reverse_cuts)] if reverse_cuts is not None else [])
    for cuts in passes:
        rs = enumerate_ranges(node_ids, inputs, cuts, cut_max, already=out)
        rs = drop_multi_output_splits(g, rs)
        out.extend(r for r in rs if r[0] != last)
    return out
