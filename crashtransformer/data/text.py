"""Decoding bytes of any encoding without an exception, and finding what did not decode.

Every reader opens text with DECODE_ERRORS: a byte that does not decode becomes one lone
surrogate, U+DC00 + byte (as Python's surrogateescape does for bytes >= 0x80; surrogateescape
itself raises on an undecodable byte below 0x80, which UTF-16 and UTF-32 input has). The row that
holds one is rejected (`has_surrogate`), and `printable` shows it as U+FFFD in the rejects file.
"""

from __future__ import annotations

import codecs
import re
from pathlib import Path

from crashtransformer.core.errors import UserError

DECODE_ERRORS = "crashtransformer.escape"
_SURROGATE = re.compile("[\ud800-\udfff]")


def _escape_bytes(error: UnicodeError) -> tuple[str, int]:
    if not isinstance(error, UnicodeDecodeError):
        raise error
    bad = error.object[error.start:error.end]
    return "".join(chr(0xDC00 + byte) for byte in bad), error.end


codecs.register_error(DECODE_ERRORS, _escape_bytes)


def has_surrogate(text: str) -> bool:
    """True when `text` holds a byte that did not decode, or a lone surrogate from a JSON escape:
    neither is a character, and neither can be written to a UTF-8 file."""
    return not text.isascii() and _SURROGATE.search(text) is not None


def printable(text: str) -> str:
    """`text` with every lone surrogate shown as U+FFFD, writable as UTF-8."""
    return _SURROGATE.sub("\ufffd", text)


def check_encoding(encoding: str, path: Path) -> str:
    """`encoding` when Python knows it; a misspelt --encoding is the user's to fix."""
    try:
        codecs.lookup(encoding)
        return encoding
    except LookupError:
        raise UserError(f"{path}: unknown encoding '{encoding}' (--encoding); use e.g. utf-8, cp1252 or utf-16") from None


_ESCAPED = re.compile("[\udc80-\udcff]")  # a byte >= 0x80 that was not UTF-8


def detect_encoding(sample: bytes) -> str:
    """utf-8-sig (BOM), utf-8, or cp1252 when the sample has non-UTF-8 bytes and no UTF-8 text.

    Exports come as UTF-8 or as Windows cp1252; a UTF-8 file with a few stray bytes stays UTF-8
    (those rows are reported as undecodable rather than the whole file being misread).
    """
    if sample.startswith(b"\xef\xbb\xbf"):
        return "utf-8-sig"
    if sample.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "utf-16"
    text = sample.decode("utf-8", errors="surrogateescape")
    bad = len(_ESCAPED.findall(text[:-4]))  # the sample may cut the last character in half
    good = sum(1 for ch in text if ord(ch) > 127 and not _ESCAPED.match(ch))
    return "cp1252" if bad and not good else "utf-8"
