"""Recognise a recording's container from its first bytes, not just its name."""
from __future__ import annotations

import math
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


SEGMENT_ID, INFO_ID, CLUSTER_ID = 0x18538067, 0x1549A966, 0x1F43B675
TIMECODE_SCALE_ID, DURATION_ID = 0x2AD7B1, 0x4489


def _ebml_element(handle: BinaryIO) -> tuple[int, int | None, int] | None:
    """(id, size or None when unknown, header length) of the element at the handle's position."""
    first = handle.read(1)
    if not first or first[0] == 0:
        return None
    id_length = 8 - first[0].bit_length() + 1
    if id_length > 4:
        return None
    element_id = int.from_bytes(first + handle.read(id_length - 1), "big")
    head = handle.read(1)
    if not head or head[0] == 0:
        return None
    size_length = 8 - head[0].bit_length() + 1
    size = head[0] & (0xFF >> size_length)
    for byte in handle.read(size_length - 1):
        size = (size << 8) | byte
    unknown = size == (1 << (7 * size_length)) - 1
    return element_id, None if unknown else size, id_length + size_length


def _ebml_children(handle: BinaryIO, start: int, end: int):
    """(id, payload start, payload end) of the elements between two offsets."""
    position = start
    while position < end:
        handle.seek(position)
        element = _ebml_element(handle)
        if element is None:
            return
        element_id, size, header = element
        payload = position + header
        payload_end = end if size is None else min(payload + size, end)
        yield element_id, payload, payload_end
        if size is None:  # an unknown size runs to the parent's end: nothing follows it
            return
        position = payload_end


def ebml_duration_seconds(handle: BinaryIO, length: int) -> int | None:
    """The duration in Segment/Info of a WebM or Matroska file (Duration x
    TimecodeScale nanoseconds); None when the writer left it out, as live
    recorders often do. Reads element headers only, up to the first Cluster."""
    try:
        for element_id, start, end in _ebml_children(handle, 0, length):
            if element_id != SEGMENT_ID:
                continue
            for child_id, payload, child_end in _ebml_children(handle, start, end):
                if child_id == CLUSTER_ID:
                    return None
                if child_id == INFO_ID:
                    return _info_duration(handle, payload, child_end)
    except (struct.error, OSError, ValueError):
        return None
    return None


def _info_duration(handle: BinaryIO, start: int, end: int) -> int | None:
    scale, duration = 1_000_000, None
    for element_id, payload, payload_end in _ebml_children(handle, start, end):
        if element_id not in (TIMECODE_SCALE_ID, DURATION_ID) or payload_end - payload > 8:
            continue
        handle.seek(payload)
        data = handle.read(payload_end - payload)
        if element_id == TIMECODE_SCALE_ID and data:
            scale = int.from_bytes(data, "big")
        elif element_id == DURATION_ID and len(data) in (4, 8):
            duration = struct.unpack(">f" if len(data) == 4 else ">d", data)[0]
    if duration is None or not math.isfinite(duration) or duration < 0:
        return None
    return round(duration * scale / 1e9)
