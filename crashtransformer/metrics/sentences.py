"""The sentences of a summary (a model's, a reference's): where a summary may be cut and keep its sense.

Summaries are written prose, unlike the police narratives plan/patterns.py splits: a sentence ends
at . ! ? before a capital (or at a line break, as after a preamble "Here is ...:"), except after an
abbreviation or a single letter ("S. Texas Blvd", "Veh. 2"). Used by the reranker's clean prefix
(infer/rerank.py) and the cleaner of training targets (prepare/faithful.py).
"""

from __future__ import annotations

import re

_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z\"'(\[])|\s*\n\s*")
_ABBREVIATION = re.compile(r"\b(?:[a-z]|st|ave|blvd|dr|rd|hwy|mr|mrs|ms|no|approx|vs|etc|veh|unit)\.$", re.IGNORECASE)


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) of each sentence, surrounding whitespace left out."""
    spans, start = [], 0
    for end in _SENTENCE_END.finditer(text):
        if _ABBREVIATION.search(text[start:end.start()]):
            continue
        spans.append((start, end.start()))
        start = end.end()
    spans.append((start, len(text)))
    return [(s + len(text[s:e]) - len(text[s:e].lstrip()), e - (len(text[s:e]) - len(text[s:e].rstrip())))
            for s, e in spans if text[s:e].strip()]


def split_sentences(text: str) -> list[str]:
    return [text[s:e] for s, e in sentence_spans(text)]
