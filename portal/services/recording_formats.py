"""Recognise a recording's container from its first bytes, not just its name."""
from __future__ import annotations

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
