"""Temporal mapping search: the memory allocator, LOMA (exhaustive) and its helpers."""

from acco.search.allocator import DoesNotFit, allocate
from acco.search.loma import LomaConfig, loma, lpf_list, multiset_permutations, temporal_loop_sizes

__all__ = [
    "DoesNotFit",
    "LomaConfig",
    "allocate",
    "loma",
    "lpf_list",
    "multiset_permutations",
    "temporal_loop_sizes",
]
