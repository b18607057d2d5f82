"""Recognise a recording's container from its first bytes, not just its name."""
from __future__ import annotations

import struct
from typing import BinaryIO

EBML_MAGIC = b"\x1a\x45\xdf\xa3"
DOCTYPE_ID = b"\x42\x82"
SNIFF_BYTES = 4096


def _vint(data: bytes, at: int) -> tuple[int, int] | None:
    """An EBML variable-length size at `at`: (value, length) or None."""
    if at >= len(data) or data[at] == 0:
        return None
    first = data[at]
    length = 8 - first.bit_length() + 1
    if at + length > len(data):
        return None
    value = first & (0xFF >> length)
    for byte in data[at + 1:at + length]:
        value = (value << 8) | byte
    return value, length


def ebml_doctype(head: bytes) -> str | None:
    """The DocType ("webm" or "matroska") named in the EBML header, if found."""
    at = head.find(DOCTYPE_ID, 4)
    if at < 0:
        return None
    size = _vint(head, at + 2)
    if size is None:
        return None
    value, length = size
    start = at + 2 + length
    return head[start:start + value].decode("ascii", "replace").strip("\x00") or None


def sniff_format(head: bytes) -> str | None:
    """mp4/mov (ISO BMFF 'ftyp' box at offset 4), webm/mkv (EBML header), or None."""
    if len(head) >= 12 and head[4:8] == b"ftyp":
        return "mov" if head[8:12] == b"qt  " else "mp4"
    if head.startswith(EBML_MAGIC):
        doctype = ebml_doctype(head)
        return {"webm": "webm", "matroska": "mkv"}.get(doctype or "", "ebml")
    return None


def content_matches(extension: str, head: bytes) -> bool:
    """Does the content agree with the extension? QuickTime and MP4 share a
    container, so either extension accepts either brand; an EBML file must
    name the matching DocType when it names one."""
    found = sniff_format(head)
    if extension in ("mp4", "mov"):
        return found in ("mp4", "mov")
    if extension in ("webm", "mkv"):
        return found in (extension, "ebml")
    return False


def _boxes(handle: BinaryIO, start: int, end: int):
    """(type, payload start, box end) of the ISO BMFF boxes between two offsets."""
    position = start
    while position + 8 <= end:
        handle.seek(position)
        size, kind = struct.unpack(">I4s", handle.read(8))
        header = 8
        if size == 1:
            size, header = struct.unpack(">Q", handle.read(8))[0], 16
        elif size == 0:
            size = end - position
        if size < header or position + size > end:
            return
        yield kind, position + header, position + size
        position += size


def mp4_duration_seconds(handle: BinaryIO, length: int) -> int | None:
    """The movie duration from moov/mvhd, reading only box headers (cheap even when
    moov sits at the end of a large file); None when it cannot be found."""
    try:
        for kind, start, end in _boxes(handle, 0, length):
            if kind != b"moov":
                continue
            for child, payload, _child_end in _boxes(handle, start, end):
                if child != b"mvhd":
                    continue
                handle.seek(payload)
                version = handle.read(4)[0]
                if version == 1:
                    handle.seek(payload + 4 + 16)
                    timescale, duration = struct.unpack(">IQ", handle.read(12))
                else:
                    handle.seek(payload + 4 + 8)
                    timescale, duration = struct.unpack(">II", handle.read(8))
                return round(duration / timescale) if timescale else None
    except (struct.error, IndexError, OSError):
        return None
    return None
