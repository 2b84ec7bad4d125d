"""Words an OCR'd scan broke, mended before the patterns read the text (plan/graph.py).

A scanned CR-3 narrative box prints the form's headings into the text ("FAILED TO\\nFA CT ORS &
CONDITIONS\\nCONTROL SPEED"), reads letters as look-alike digits ("5TRUCK", "C0NTROL", "1MPACT"),
loses the first letter of a line where the margin clips it ("NORTH\\nOUND", "\\nAILED TO") and
splits a word with a stray space ("STR UCK"). The patterns read words, so each of these hides a
cause, a movement or a collision. The mends are conservative: a word is changed only when it is
not a word we know and exactly one reading makes it one of the words crash narratives are told in
(plan/scan_words.py). Headings and look-alikes are mended in place (same length); a restored
letter or a removed space changes the length, so `repair` also returns the map from the mended
text's offsets back to the narrative's: evidence spans stay offsets into the text as given.

    repair("UNIT 1\\nAILED TO C0NTROL SPEED")[0]  # 'UNIT 1\\nFAILED TO CONTROL SPEED'
"""

from __future__ import annotations

import functools
import itertools
import re

from crashtransformer.plan.literal_first import compile_literal_first
from crashtransformer.plan.scan_words import COMMON_WORDS, CRASH_WORDS, FORM_LABELS

KNOWN_WORDS = CRASH_WORDS | COMMON_WORDS
_LETTERS = "abcdefghijklmnopqrstuvwxyz"
_LOOK_ALIKES = {"0": "o", "1": "il", "5": "s", "|": "li"}  # what OCR reads a letter as -> the letters it may be
_MAX_LOOK_ALIKES = 3  # per word: more than this is a code ("1I05"), not a damaged word
_MIN_LETTERS = 2  # a word with fewer real letters is a unit or a number ("u5", "unit 1s rear"), not a damaged word
# What a stray space may cut off a word that is itself a word ("turn ed"); "drive way", "pick up"
# and "side swiped" are how people write, and stay as written.
_INFLECTION_TAILS = frozenset("ed ing ped ded led red ted ned ly er ers ion ions".split())
_LOOK_ALIKE = re.compile(r"[015|](?<=[A-Za-z][015|])|[015|](?=[A-Za-z])")  # opens with a class: re skips ahead to it
_WORD_AROUND = re.compile(r"[A-Za-z015|]*")
# What is left after the known readings: a 0, 1 or | inside a word, a 0 or | ending one, a 0 opening one
_IN_WORD = compile_literal_first(r"(?<=[a-z])[0|1](?=[a-z])|(?<=[a-z]{2})[0|](?=\b)|\b0(?=[a-z])")
_DEFAULT_LETTER = {"0": "o", "1": "l", "|": "l"}
_LINE_START_WORD = re.compile(r"(?:^|(?<=\n))[ \t]*([A-Za-z]+)")
_WORD_PAIR = re.compile(r"(?=\b([A-Za-z]{2,}) ([A-Za-z]{2,})\b)")
# A clipped word that is a word itself, mended only where it reads as the verb: its object follows
# ("...AND\\nTRUCK UNIT 2") or a passive stands before it ("WAS\\nTRUCK IN THE REAR"); "TRUCK WAS
# TOWING" stays a truck.
_CLIPPED_VERBS = {"truck": "struck"}
_VERB_OBJECT = re.compile(r"\s+(?:unit|units|u\d|v\d|veh|vehicle|the|a|an|it|him|her|his|its|by|#)\b", re.I)
_VERB_PASSIVE = re.compile(r"\b(?:was|were|been|being|then|had)\s*$", re.I)
# "RAN\nHE RED LIGHT": a clipped "the" where a pronoun cannot stand, before what only "the" precedes
_ARTICLE_NOUN = re.compile(r"\s+(?:red|green|yellow|rear|front|intersection|roadway|road|street|highway|lane|inside"
                           r"|outside|center|middle|traffic|light|signal|stop|same|other|driver|vehicle|unit|\d)\b", re.I)


def _label_pattern(label: str) -> str:
    """A heading as OCR prints it: any case, a stray space between letters ("fa ct ors"), one
    line break before it taken with it so that blanking it joins, not splits, a sentence."""
    parts = [r"\s+" if char == " " else re.escape(char) + r" ?" for char in label]
    return r"\n?" + "".join(parts)


_FORM_LABEL = compile_literal_first("|".join(_label_pattern(label) for label in FORM_LABELS))


@functools.lru_cache(maxsize=256)  # the graph, the checker, the graph's summary and the prompt each read one crash
def repair(narrative: str) -> tuple[str, tuple[int, ...] | None]:
    """The mended text and, when its length changed, the original offset of each of its offsets
    (one more entry than characters, for span ends); None when offsets are unchanged."""
    text = _without_form_labels(_without_look_alikes(narrative))
    edits = _clipped_letters(text) + _split_words(text)
    if not edits:
        return text, None
    pieces, offsets, cursor = [], [], 0
    for position, insert, delete in sorted(edits):
        if position < cursor:  # two mends touch the same place: keep the first
            continue
        pieces.append(text[cursor:position])
        offsets.extend(range(cursor, position))
        pieces.append(insert)
        offsets.extend([position] * len(insert))
        cursor = position + delete
    pieces.append(text[cursor:])
    offsets.extend(range(cursor, len(text) + 1))
    return "".join(pieces), tuple(offsets)


def map_span(span: list[int] | tuple[int, int], offsets: tuple[int, ...] | None) -> list[int]:
    """An evidence span in the mended text, as offsets into the narrative as given."""
    if offsets is None:
        return list(span)
    return [offsets[span[0]], offsets[span[1]]]


def _without_form_labels(text: str) -> str:
    lowered = text.lower()
    if len(lowered) != len(text):  # a Unicode letter that lowers to two: offsets would not hold
        return text
    pieces, cursor = [], 0
    for match in _FORM_LABEL.finditer(lowered):
        pieces += [text[cursor:match.start()], " " * (match.end() - match.start())]
        cursor = match.end()
    return "".join(pieces) + text[cursor:] if pieces else text


def guessed_letters(lowered: str) -> str:
    """The letter OCR most often means by a 0, 1 or | inside a word (same length): how the
    patterns read what `repair` could not confirm ("hosp1tal", "rai|road"); a guess, so it is not
    put into the text a summary quotes."""
    return _IN_WORD.sub(lambda m: _DEFAULT_LETTER[m.group()], lowered)


def _without_look_alikes(text: str) -> str:
    """Digits and bars read for letters inside a word, where one reading makes a known word."""
    pieces, cursor = [], 0
    for match in _LOOK_ALIKE.finditer(text):
        start = match.start()
        while start > 0 and (text[start - 1].isalpha() or text[start - 1] in _LOOK_ALIKES):
            start -= 1
        end = _WORD_AROUND.match(text, match.start()).end()
        if start < cursor or (start and text[start - 1].isalnum()) or (end < len(text) and text[end].isalnum()):
            continue  # a later look-alike of a word already read, or part of a code ("i10", "3rd1")
        word = _known_reading(text[start:end])
        if word is not None:
            pieces += [text[cursor:start], word]
            cursor = end
    return "".join(pieces) + text[cursor:] if pieces else text


def _known_reading(token: str) -> str | None:
    slots = [i for i, char in enumerate(token) if char in _LOOK_ALIKES]
    if len(token) == 2 and token[1] == "0" and token[0].isalpha():  # "FAILED T0 CONTROL": "to", "no", "so", "go"
        word = token[0].lower() + "o"
        return (word.upper() if token[0].isupper() else word) if word in COMMON_WORDS else None
    if len(slots) > _MAX_LOOK_ALIKES or len(token) - len(slots) < _MIN_LETTERS:
        return None
    readings = set()
    for letters in itertools.product(*(_LOOK_ALIKES[token[i]] for i in slots)):
        chars = list(token.lower())
        for i, letter in zip(slots, letters):
            chars[i] = letter
        word = "".join(chars)
        if word in KNOWN_WORDS or any(c + word in CRASH_WORDS for c in _LETTERS):  # the clipped "EH1CLE" too
            readings.add(word)
    if len(readings) != 1:
        return None
    word = readings.pop()
    return word.upper() if token.upper() == token else word


def _clipped_letters(text: str) -> list[tuple[int, str, int]]:
    """(where, letter to insert, 0) for a line's first word that lost its first letter."""
    if "\n" not in text:
        return []
    edits = []
    for match in _LINE_START_WORD.finditer(text):
        word = match.group(1).lower()
        if word in _CLIPPED_VERBS and (_VERB_OBJECT.match(text, match.end(1))
                                       or _VERB_PASSIVE.search(text, max(0, match.start() - 12), match.start())):
            letter = _CLIPPED_VERBS[word][0]
        elif word == "o" or (word == "he" and _ARTICLE_NOUN.match(text, match.end(1))):
            letter = "t"  # "FAILED\nO CONTROL": no word is a lone "o"; "RAN\nHE RED LIGHT"
        elif word in KNOWN_WORDS or len(word) < 2:
            continue
        else:
            letters = [c for c in _LETTERS if c + word in KNOWN_WORDS]  # "ot": "lot" or "not", left alone
            if len(letters) != 1:
                continue
            letter = letters[0]
        edits.append((match.start(1), letter if match.group(1).islower() else letter.upper(), 0))
    return edits


def _split_words(text: str) -> list[tuple[int, str, int]]:
    """(where the stray space is, "", 1) for a crash word split in two by a space: in scanned text
    (it has the scan's line breaks; typed text is left as written, and is not searched, for speed)."""
    if "\n" not in text:
        return []
    edits = []
    for match in _WORD_PAIR.finditer(text):
        head, tail = match.group(1).lower(), match.group(2).lower()
        if head + tail in CRASH_WORDS and tail not in KNOWN_WORDS and (
                head not in KNOWN_WORDS or tail in _INFLECTION_TAILS):
            edits.append((match.end(1), "", 1))
    return edits
