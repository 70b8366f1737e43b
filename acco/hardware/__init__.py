"""Hardware models: operational array, memory instances and levels, the accelerator."""

from acco.hardware.models import (
    DIRECTIONS,
    MEMORY_OPERANDS,
    Accelerator,
    MemoryInstance,
    MemoryLevel,
    OperationalArray,
    Port,
)

__all__ = [
    "DIRECTIONS",
    "MEMORY_OPERANDS",
    "Accelerator",
    "MemoryInstance",
    "MemoryLevel",
    "OperationalArray",
    "Port",
]
