"""The realistic mess of real narratives, applied so that character spans stay exact.

Noise changes the words of unlabelled parts only (abbreviations, typos, sentence joins) and
changes labelled parts only by choosing another whole phrasing before the text is built (unit
naming, FTCS-style shorthand) or by changing case, which keeps every length. `noise` (0..1)
scales every probability; 0 gives clean text.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass

from crashtransformer.prepare.synthetic import phrases as P

Part = tuple[str, str | None, str | None]  # (text, span label or None, key)

CLEAN_UNIT_STYLES = ("Unit {n}", "Vehicle {n}")
NOISY_UNIT_STYLES = ("U{n}", "V{n}", "Unit #{n}", "Veh {n}", "vehicle {word}", "unit {n}", "Unit# {n}", "unit-{n}")
_NUMBER_WORDS = ("zero", "one", "two", "three")
# Non-motorists are units too, but not "vehicles": those styles fall back to a unit style.
_NON_MOTORIST_STYLE = {"Vehicle {n}": "Unit {n}", "V{n}": "U{n}", "Veh {n}": "Unit {n}", "vehicle {word}": "unit {word}"}

_ABBREVIATIONS = {  # word or phrase -> the shorthand officers write
    "northbound": ("N/B", "NB", "nb"), "southbound": ("S/B", "SB", "sb"), "eastbound": ("E/B", "EB", "eb"),
    "westbound": ("W/B", "WB", "wb"), "block": ("blk", "blk."), "intersection": ("intx", "int."),
    "approximately": ("approx", "approx."), "vehicle": ("veh",), "without": ("w/o",), "with": ("w/",),
    "information": ("info",), "parking lot": ("pkg lot", "PL"), "area of impact": ("AOI",),
    "traveling": ("travelling", "trav."), "driver": ("drvr",), "passenger": ("pass.",), "and": ("&",),
}
_ABBREVIATION_PATTERN = re.compile(r"\b(" + "|".join(sorted(_ABBREVIATIONS, key=len, reverse=True)) + r")\b")
_WORD = re.compile(r"[A-Za-z]{4,}")


@dataclass
class NoiseStyle:
    """How one narrative writes units and phrases, and its case; drawn once per crash."""

    noise: float
    unit_style: str
    lowercase: bool
    uppercase: bool

    @classmethod
    def draw(cls, rng: random.Random, nrng: random.Random, noise: float) -> NoiseStyle:
        clean = rng.choices(CLEAN_UNIT_STYLES, weights=(4, 1))[0]  # content generator: same at every noise level
        noisy = nrng.choice(NOISY_UNIT_STYLES)
        style = noisy if nrng.random() < noise else clean
        case = nrng.random()
        lowercase = case < min(1.0, 1.5 * noise)  # most real CRIS narratives are all lower case
        uppercase = not lowercase and case > 1 - 0.1 * noise
        return cls(noise, style, lowercase, uppercase)

    def unit_name(self, number: int, kind: str, style: str | None = None) -> str:
        style = style or self.unit_style
        if kind != "vehicle":
            style = _NON_MOTORIST_STYLE.get(style, style)
        return style.format(n=number, word=_NUMBER_WORDS[number])

    def mention(self, number: int, kind: str, written: str, nrng: random.Random) -> str:
        """Usually the narrative's own way; under noise, sometimes another ("U1" after "Unit 1")."""
        other = nrng.choice(NOISY_UNIT_STYLES)
        return self.unit_name(number, kind, other) if nrng.random() < 0.15 * self.noise else written

    def factor_phrase(self, key: str, rng: random.Random, nrng: random.Random) -> str:
        phrase = rng.choice(P.FACTOR_PHRASES[key])
        shorthand = P.FACTOR_ABBREVIATIONS.get(key, ())
        abbreviate = nrng.random() < 0.4 * self.noise
        return nrng.choice(shorthand) if shorthand and abbreviate else phrase

    def manner_template(self, key: str, rng: random.Random, nrng: random.Random) -> str:
        template = rng.choice(P.MANNER_PHRASES[key])
        shorthand = P.MANNER_ABBREVIATIONS.get(key, ())
        abbreviate = nrng.random() < 0.25 * self.noise
        return nrng.choice(shorthand) if shorthand and abbreviate else template


def _abbreviate(text: str, nrng: random.Random, noise: float) -> str:
    def swap(match: re.Match) -> str:
        word = match.group(0)
        return nrng.choice(_ABBREVIATIONS[word]) if nrng.random() < 0.5 * noise else word
    return _ABBREVIATION_PATTERN.sub(swap, text)


def _typo(word: str, nrng: random.Random) -> str:
    at = nrng.randrange(1, len(word) - 1)
    kind = nrng.randrange(3)
    if kind == 0:  # two letters swapped
        return word[:at] + word[at + 1] + word[at] + word[at + 2:]
    if kind == 1:  # a letter dropped
        return word[:at] + word[at + 1:]
    return word[:at] + word[at] + word[at:]  # a letter doubled


def _misspell(text: str, nrng: random.Random, noise: float) -> str:
    return _WORD.sub(lambda m: _typo(m.group(0), nrng) if nrng.random() < 0.03 * noise else m.group(0), text)


def _sentence_gap(nrng: random.Random, noise: float) -> str:
    draw = nrng.random()
    if draw < 0.08 * noise:
        return ""  # "struck unit 2.approximate aoi": real narratives lose the space
    return "  " if draw < 0.2 * noise else " "


def apply_noise(sentences: list[list[Part]], style: NoiseStyle, nrng: random.Random) -> tuple[str, list[dict]]:
    """Join sentences into the narrative and its spans, noising unlabelled text only."""
    noise, pieces, spans, offset = style.noise, [], [], 0
    for number, sentence in enumerate(sentences):
        parts = list(sentence) if number == 0 else [(_sentence_gap(nrng, noise), None, None), *sentence]
        for text, label, key in parts:
            if label is None and noise > 0:
                text = _misspell(_abbreviate(text, nrng, noise), nrng, noise)
            if style.lowercase:
                text = text.lower()
            elif style.uppercase:
                text = text.upper()
            if label:
                spans.append({"start": offset, "end": offset + len(text), "label": label, "key": key})
            pieces.append(text)
            offset += len(text)
    return "".join(pieces), spans
