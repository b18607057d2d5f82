"""Reading streams that answer short reads (sockets, multipart bodies)."""
from __future__ import annotations

from typing import BinaryIO


def read_full(source: BinaryIO, size: int) -> bytes:
    """`size` bytes from `source`, fewer only at its end: read again after a short read."""
    parts, wanted = [], size
    while wanted > 0:
        piece = source.read(wanted)
        if not piece:
            break
        parts.append(piece)
        wanted -= len(piece)
    return b"".join(parts)
