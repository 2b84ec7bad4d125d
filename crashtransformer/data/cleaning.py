"""Text cleaning for crash narratives and summaries: whitespace, mojibake, optional PII masks.

Text functions only; data.records.clean_record applies them to a CrashRecord and keeps the
original narrative in `metadata["Original_Narrative"]` whenever cleaning changed more than
whitespace, so nothing the officer wrote is lost. With `scrub_pii`, phone numbers and e-mail
addresses become `[PHONE]` / `[EMAIL]` everywhere, the kept original included (a masked
export must not carry the numbers in another column).

Mojibake is UTF-8 text that was once decoded as cp1252 (`â€™` for `’`); real exports also carry
damaged remnants of it (`â` + no-break space in the CRIS narratives), which are repaired to
the space they stood for.
"""

from __future__ import annotations

import re
from collections import Counter


# A lead byte of a 2-4 byte UTF-8 sequence seen through cp1252, then continuation bytes seen
# through cp1252 (0x80-0xBF map to these characters).
_CP1252_CONTINUATION = "\u0080-\u00bf\u0152\u0153\u0160\u0161\u0178\u017d\u017e\u0192\u02c6\u02dc" \
    "\u2013\u2014\u2018\u2019\u201a\u201c\u201d\u201e\u2020\u2021\u2022\u2026\u2030\u2039\u203a\u20ac\u2122"
_MOJIBAKE = re.compile(f"[\u00c2-\u00f4][{_CP1252_CONTINUATION}]{{1,3}}")

# Typographic characters mapped to what police narratives otherwise use (plain ASCII).
_TYPOGRAPHIC = str.maketrans({
    "\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"', "\u2013": "-", "\u2014": "-",
    "\u2026": "...", "\u00a0": " ", "\u2009": " ", "\u202f": " ", "\u2007": " ",
    "\u200b": "", "\u200c": "", "\u200d": "", "\ufeff": "",
})
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_BLANK_LINE = re.compile(r"\n[ \t]*\n\s*")

# Phone numbers: 10 digits with separators (a bare 10-digit run could be a crash ID, kept).
_PHONE = re.compile(r"(?<![\w-])(?:\+?1[\s.-]?)?(?:\(\d{3}\)\s?|\d{3}[\s.-])\d{3}[\s.-]\d{4}(?![\w-])")
_EMAIL = re.compile(r"\b[\w.+-]+@[\w-]+(?:\.[\w-]+)*\.[A-Za-z]{2,}\b")


def normalize_whitespace(text: str) -> str:
    """Control characters dropped, runs of spaces and tabs collapsed to one space, each line stripped.
    Line breaks stay, one per run (two where a blank line parts paragraphs): a scanned narrative's
    line starts are where its margin clipped letters, which plan/scan_repair.py restores."""
    if text.isprintable():  # no line break, no control character: the fast path
        return " ".join(text.split())
    text = _CONTROL.sub("", text).replace("\r\n", "\n").replace("\r", "\n")
    paragraphs = ("\n".join(" ".join(line.split()) for line in part.split("\n") if line.strip())
                  for part in _BLANK_LINE.split(text))
    return "\n\n".join(part for part in paragraphs if part)


def _repair_match(match: re.Match) -> str:
    chunk = match.group(0)
    for end in range(len(chunk), 1, -1):  # the longest prefix that is a real UTF-8 sequence
        try:
            return chunk[:end].encode("cp1252").decode("utf-8") + chunk[end:]
        except UnicodeError:
            continue
    if chunk.startswith("\u00e2\u00a0"):  # a punctuation/space sequence that lost a byte
        return " " + chunk[2:]
    return chunk


def repair_mojibake(text: str) -> str:
    """Undo UTF-8-read-as-cp1252 damage and map typographic punctuation to ASCII."""
    if not text.isascii():
        text = _MOJIBAKE.sub(_repair_match, text).translate(_TYPOGRAPHIC)
    return text


def scrub_pii(text: str, counts: Counter | None = None) -> str:
    """Phone numbers -> [PHONE], e-mail addresses -> [EMAIL]; `counts` tallies the masks."""
    text, emails = _EMAIL.subn("[EMAIL]", text)
    text, phones = _PHONE.subn("[PHONE]", text)
    if counts is not None:
        counts["email"] += emails
        counts["phone"] += phones
    return text


def clean_text(text: str, pii: bool = False, counts: Counter | None = None) -> str:
    """Mojibake repair, whitespace normalization and (optionally) PII masks, in that order."""
    text = normalize_whitespace(repair_mojibake(text))
    return scrub_pii(text, counts) if pii else text


def cut_at_word(text: str, limit: int) -> str:
    """The longest start of `text` of at most `limit` characters that ends at a word boundary
    (a hard cut only when those characters hold a single word)."""
    if len(text) <= limit:
        return text
    head = text[:limit]
    last_word = re.search(r"\s\S*\Z", head)  # where the word the cut may fall in starts
    if not text[limit].isspace() and last_word and head[:last_word.start()].strip():
        head = head[:last_word.start()]
    return head.rstrip()
