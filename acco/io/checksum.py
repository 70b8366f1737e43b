"""Checksummed files: a payload sealed with the sha256 of its bytes, refused when they no longer match.

Result files, baseline files and mapper-cache shards are written as `HEADER + hex digest + "\\n" +
payload`. A reader recomputes the digest: one flipped bit anywhere makes the file count as missing
(recomputed or dropped), never used. Files written before the header existed (a bare pickle,
starting with the pickle opcode 0x80) are accepted as they are (docs/pipeline.md, "Integrity").
"""

from __future__ import annotations

import hashlib

#: first bytes of a sealed file (format tag and algorithm)
HEADER = b"ACCO-SHA256 "
_HEX = 64
_PICKLE_START = b"\x80"


class ChecksumError(Exception):
    """A sealed file whose payload does not match its checksum (or a damaged header)."""


def seal(payload: bytes) -> bytes:
    """`payload` with its checksum header."""
    return HEADER + hashlib.sha256(payload).hexdigest().encode() + b"\n" + payload


def unseal(data: bytes, source: str = "file") -> bytes:
    """The payload of a sealed file after checking its checksum; a legacy bare pickle is returned as is.

    Raises ChecksumError naming `source` when the digest does not match or the header is damaged.
    """
    if data.startswith(HEADER):
        start = len(HEADER) + _HEX + 1
        digest, payload = data[len(HEADER):start - 1], data[start:]
        if data[start - 1:start] != b"\n" or hashlib.sha256(payload).hexdigest().encode() != digest:
            raise ChecksumError(f"{source}: checksum mismatch (the file is damaged)")
        return payload
    if data.startswith(_PICKLE_START):  # written before checksums: accepted
        return data
    raise ChecksumError(f"{source}: damaged header (not a sealed ACCO file)")


def sealed_digest(data: bytes) -> str:
    """The checksum a sealed file states (or the sha256 of a legacy file's bytes): names its content."""
    if data.startswith(HEADER):
        return data[len(HEADER):len(HEADER) + _HEX].decode("ascii", "replace")
    return hashlib.sha256(data).hexdigest()


__all__ = ["ChecksumError", "HEADER", "seal", "sealed_digest", "unseal"]
