"""Depth-first settings: one frozen, validated config (tile, caching flags, cuts, mapper, reference quirks).

Every quirk of the reference code that changes numbers (docs/depthfirst.md, "Quirks") is one named flag;
the defaults reproduce the reference (DeFiNES / ACCO) numbers, setting a flag to its other value
gives the corrected model.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from acco.search.loma import LomaConfig


@dataclass(frozen=True)
class DfConfig:
    """Depth-first schedule settings.

    tile_x, tile_y: output tile of the last layer of every stack.
    horizontal_caching, vertical_caching: ACCO's (H, V) flags; (True, False) = H-cached V-recompute,
        (True, True) = fully cached, (False, False) = fully recompute; (False, True) see
        `vertical_needs_horizontal`.
    cuts: explicit stack cuts ("cut after layer id"), merged with the weight-overflow cuts when
        `weight_overflow_cuts` is on; `layer_by_layer` puts every layer in its own stack.
    mapper: the per-layer mapper settings handed to `acco.search.best_mapping`.
    """

    tile_x: int
    tile_y: int
    horizontal_caching: bool = True
    vertical_caching: bool = True
    cuts: tuple[int, ...] = ()
    weight_overflow_cuts: bool = True
    reverse_greedy: bool = False
    layer_by_layer: bool = False
    mapper: Any = field(default_factory=lambda: LomaConfig(lpf_limit=6, objective="energy"))
    #: a tile larger than a stack's output is an error unless clipped to the output
    clip_tile_to_output: bool = False

    # ---- reference quirks (True = as the reference code computes) -------------------------
    #: §9.1 the leftover (smaller) tile is the first one of each row/column, not the last
    leftover_first: bool = True
    #: §9.3 cache writes of the stack input node are never charged (only reads)
    skip_input_cache_writes: bool = True
    #: §9.4 the V-cache read test compares the consumer's input level against the V level of the
    #: last tile of the first pass instead of the level actually used
    v_read_uses_last_tile_level: bool = True
    #: §9.5 cache reads are sized with the consumer's O_final precision instead of its input precision
    cache_read_output_precision: bool = True
    #: §9.7 (H=False, V=True) is fully recompute, but the live-activation estimate still assumes V caching
    vertical_needs_horizontal: bool = True
    #: §9.8 the first tile of a row does not count the H-caches it builds up (peak_H = peak_IO)
    first_column_peak_without_caches: bool = True
    #: §3.1 harmonisation as coded: the previous tile's H make-level is set to the current tile's
    #: level, the V level follows the latest differing tile (instead of the maximum)
    harmonise_as_reference: bool = True

    def __post_init__(self) -> None:
        for name in ("tile_x", "tile_y"):
            v = getattr(self, name)
            if not isinstance(v, int) or isinstance(v, bool) or v < 1:
                raise ValueError(f"{name} must be a positive integer, got {v!r}")
        object.__setattr__(self, "cuts", tuple(int(c) for c in self.cuts))

    @property
    def mode(self) -> tuple[bool, bool]:
        """The effective (H, V) overlap mode: V caching only with H caching (reference semantics)."""
        h = self.horizontal_caching
        return h, self.vertical_caching and h

    @property
    def mode_name(self) -> str:
        """fully-recompute, H-cached V-recompute or fully-cached."""
        h, v = self.mode
        return "fully-cached" if v else ("H-cached V-recompute" if h else "fully-recompute")
