"""Which terms of ACCO's per-layer energy differ from ZigZag 3.9.1's, and by how much (ACCO side).

ACCO reproduces the original ACCO cost model (a 2022-era ZigZag).  zigzag-dse 3.9.1 evaluates the
same (layer, spatial mapping, temporal mapping) with four documented differences in the energy
path, each found by comparing the two term by term (``docs/mappers_vs_zigzag.md``):

``pr_trunc``
    Input tile sizes along a partially relevant dim (IX = s*OX + FX): 3.9.1's
    ``LayerNode.calc_tensor_dim`` truncates the cumulative loop sizes to integers *before* the
    extent formula (``int(3.5) = 3``, marked "TODO this int conversion is suspicious" in its
    source) and clips to the layer's IX; the original truncates the *result*
    (``int(s*3.5 + FX - s)``).  Equal for stride 1, smaller in 3.9.1 for stride 2 with a
    fractional spatial OX/OY (IX 8 -> 7 for OX 3.5, FX 3).
``port_cycles``
    Transfers to/from the level below (tl, fl at memory level > 0): the original limits the
    elements moved per cycle by the other side's port (``another_side_bw``) and the max bandwidth,
    and bills ``ceil(amount / per_cycle)`` cycles of full words per period; 3.9.1's
    ``_calc_memory_access`` bills ``ceil(amount * precision / bw_min) * bw_min / bw_max`` words.
``int_words``
    3.9.1 truncates every word-access count to an integer (``int(...)``); the original keeps the
    fraction (e.g. 614.6 words of a 157 323-element tile over a 2 048-bit port).
``mac_stationarity``
    Innermost reads of an input (tl at its memory level 0): 3.9.1 (the API always sets
    ``access_same_data_considered_as_no_access``) divides the period count by the MAC-level
    stationarity (product of the innermost irrelevant loops); the original computes that number
    but does not use it (``cycle_each_level = [1] + cycle_cabl_level``).

:func:`explain` evaluates a mapping with ACCO's model and with the rules applied one after another
(in :data:`RULES` order) and returns the energy after each step; with all four applied the result
equals ZigZag 3.9.1's energy for the mapping.  Nothing here changes ACCO's model.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator
from dataclasses import dataclass
from unittest import mock

from acco.cost import model as cost_model
from acco.cost import patterns as cost_patterns
from acco.cost.patterns import DIRS, build_patterns
from acco.hardware.models import Accelerator
from acco.mapping.spatial import SpatialMapping, spatial_mapping_for
from acco.mapping.temporal import TemporalMapping
from acco.model_versions import ACCO_2022, ZIGZAG_391, port_words_391
from acco.workload.layer import Layer

#: the documented differences, in the order :func:`explain` applies them
RULES: tuple[str, ...] = ("pr_trunc", "port_cycles", "int_words", "mac_stationarity")

RULE_TEXT = {
    "pr_trunc": "stride-2 input tile from int()-truncated fractional OX/OY (IX 8 -> 7)",
    "port_cycles": "no port-limited whole-cycle billing of tl/fl",
    "int_words": "word counts truncated to int",
    "mac_stationarity": "innermost input reads / MAC-level stationarity",
}


def parse_zigzag_temporal_mapping(text: str) -> TemporalMapping:
    """ZigZag's printed temporal mapping (``str(cme.mapping.temporal_mapping)``), e.g.
    ``{O: [[(C, 64), (FY, 3)], [(OY, 4)], []], W: [...], I: [...]}``, as a TemporalMapping."""
    body = text.strip()
    if not (body.startswith("{") and body.endswith("}")):
        raise ValueError(f"not a ZigZag temporal mapping: {text!r}")
    parts = re.split(r"(?:^|,\s*)(\w+):\s*", body[1:-1])
    levels: dict[str, list[list[tuple[str, int]]]] = {}
    for op, per in zip(parts[1::2], parts[2::2]):
        per = per.strip().rstrip(",").strip()
        if not (per.startswith("[") and per.endswith("]")):
            raise ValueError(f"operand {op}: not a list of levels: {per!r}")
        levels[op] = [
            [(d, int(round(float(s)))) for d, s in re.findall(r"\((\w+),\s*([\d.]+)\)", lv)]
            for lv in re.findall(r"\[([^\[\]]*)\]", per[1:-1])
        ]
    if not levels:
        raise ValueError(f"no operands in ZigZag temporal mapping {text!r}")
    return TemporalMapping.from_dict(levels)


@contextlib.contextmanager
def _truncating_pr_extent() -> Iterator[None]:
    """Within the block, ACCO's pattern builder computes pr extents as ZigZag 3.9.1 does (the model's
    ``pr_trunc``, acco.model_versions.truncated_pr_extent, clipped per input dim)."""
    real_decouple = cost_patterns._decouple

    def decouple(layer: Layer, op: str, levels: list, model: str = ACCO_2022) -> list:
        return real_decouple(layer, op, levels, ZIGZAG_391)

    with mock.patch.object(cost_patterns, "_decouple", decouple):
        yield


@dataclass(frozen=True)
class Terms:
    """Word accesses and energy per (operand, memory level name, direction), plus the totals."""

    words: dict[tuple[str, str, str], float]
    energy: dict[tuple[str, str, str], float]
    mac_energy: float

    @property
    def total(self) -> float:
        return self.mac_energy + sum(self.energy.values())


def terms(
    layer: Layer,
    acc: Accelerator,
    temporal: TemporalMapping,
    spatial: SpatialMapping | None = None,
    rules: frozenset[str] | set[str] = frozenset(),
) -> Terms:
    """ACCO's energy terms of one mapping, with the given ZigZag 3.9.1 rules applied (none: ACCO's own)."""
    unknown = set(rules) - set(RULES)
    if unknown:
        raise ValueError(f"unknown rules {sorted(unknown)}; known: {', '.join(RULES)}")
    spatial = spatial or spatial_mapping_for(layer, acc)
    with _truncating_pr_extent() if "pr_trunc" in rules else contextlib.nullcontext():
        pats = build_patterns(layer, spatial, temporal)
    if "mac_stationarity" in rules:
        total = cost_patterns.total_cycles(layer, temporal)
        for op in layer.input_operands:
            t = pats[op].transfers[0]["tl"]
            if t.count:
                t.count = total // cost_patterns.mac_stationarity(
                    layer, op, cost_patterns._stationary(layer, op, temporal.levels[op])
                )
    acco_words = cost_model.word_accesses(layer, acc, pats)
    words: dict[tuple[str, str, str], float] = {}
    energy: dict[tuple[str, str, str], float] = {}
    for op, pat in pats.items():
        chain = acc.chain(layer.memory_operand_links[op])
        for m in range(pat.n_mem):
            inst = chain[m].instance
            for d in DIRS:
                t = pat.transfers[m][d]
                if "port_cycles" in rules:
                    if t.amount == 0 or t.precision == 0 or t.count == 0:
                        w = 0.0
                    else:
                        max_bw, min_bw = cost_model._bw(chain[m], d)
                        w = port_words_391(t.amount, t.precision, t.count, max_bw, min_bw, pat.unit_count[m + 1])
                else:
                    w = getattr(acco_words[op][m], d)
                if "int_words" in rules:
                    w = float(int(w))
                key = (op, chain[m].name, d)
                words[key] = w
                energy[key] = w * (inst.r_cost if d in ("tl", "th") else inst.w_cost)
    return Terms(words, energy, acc.array.unit_energy * layer.total_macs)


@dataclass(frozen=True)
class Explanation:
    """ACCO's energy of a mapping, and the energy after applying each 3.9.1 rule in turn."""

    acco: Terms
    steps: tuple[tuple[str, Terms], ...]  # (rule, terms with this and all earlier rules)

    @property
    def zigzag391(self) -> float:
        """Energy with all rules applied (what ZigZag 3.9.1 computes for the mapping)."""
        return self.steps[-1][1].total if self.steps else self.acco.total

    def rule_deltas(self) -> dict[str, float]:
        """Energy change (pJ) of each rule, ACCO minus 3.9.1 sign: positive = ACCO higher."""
        out, prev = {}, self.acco.total
        for rule, t in self.steps:
            out[rule] = prev - t.total
            prev = t.total
        return out

    def term_deltas(self, rule: str) -> dict[tuple[str, str, str], tuple[float, float, float]]:
        """Terms changed by one rule: key -> (words before, words after, energy change before - after)."""
        names = [r for r, _ in self.steps]
        i = names.index(rule)
        before = self.acco if i == 0 else self.steps[i - 1][1]
        after = self.steps[i][1]
        return {
            k: (before.words[k], after.words[k], before.energy[k] - after.energy[k])
            for k in before.words
            if abs(before.words[k] - after.words[k]) > 1e-9
        }


def explain(layer: Layer, acc: Accelerator, temporal: TemporalMapping, spatial: SpatialMapping | None = None) -> Explanation:
    """Evaluate ``temporal`` with ACCO's model, then with the 3.9.1 rules added one by one."""
    spatial = spatial or spatial_mapping_for(layer, acc)
    base = terms(layer, acc, temporal, spatial)
    steps, applied = [], set()
    for rule in RULES:
        applied.add(rule)
        steps.append((rule, terms(layer, acc, temporal, spatial, frozenset(applied))))
    return Explanation(base, tuple(steps))
