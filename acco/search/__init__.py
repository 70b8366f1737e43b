"""Temporal mapping search: the memory allocator, LOMA (exhaustive), SALSA, and the memoised `best_mapping`."""

from acco.search.allocator import DoesNotFit, allocate
from acco.search.loma import LomaConfig, SearchResult, loma, lpf_list, multiset_permutations, temporal_loop_sizes
from acco.search.memo import DEFAULT_CACHE, MappingCache, best_mapping
from acco.search.salsa import SalsaConfig, salsa

__all__ = [
    "DEFAULT_CACHE",
    "DoesNotFit",
    "MappingCache",
    "SalsaConfig",
    "SearchResult",
    "best_mapping",
    "LomaConfig",
    "allocate",
    "loma",
    "lpf_list",
    "multiset_permutations",
    "salsa",
    "temporal_loop_sizes",
]
