"""A typed CRIS narrative re-rendered the way an OCR'd CR-3 scan reads (issue 20: the independent
Texas set is OCR'd police text): all caps, hard line breaks, a left margin that clips a line's
first letter ("NIT 2"), the form's printed labels caught inside the text, a few look-alike
characters and split words. Seeded by the narrative, so a run is repeatable; the damage rates are
what a readable scan shows, not a worst case.

    from ocr_style import as_ocr_scan
    as_ocr_scan("unit 1 struck unit 2.")   # 'UNIT 1 STRUCK UNIT 2.' (short: no break to damage)

    # a CSV of scans for `run`: a random 300 of the shared CRIS file, as `docs/plan-extraction.md` ran it
    python bench/ocr_style.py ../shared/data/cris_narratives_llm_summaries.csv --sample 300 --seed 300 --out scans.csv
"""

from __future__ import annotations

import argparse
import hashlib
import random

LINE_WIDTH = (55, 85)  # characters per scanned line: the form's narrative box at typed widths
CLIPPED_LINE_START = 0.25  # share of lines whose first letter the scan's margin cuts off
FORM_LABEL_AT_START = 0.5  # share of scans that begin with the box's printed heading
FORM_LABEL_PER_LINE = 0.04  # share of line breaks where a printed label of the form shows through
LOOK_ALIKE_RATE = 0.004  # share of O, I, L, S read as 0, 1, |, 5
SPLIT_WORD_RATE = 0.01  # share of long words OCR splits with a space
FORM_LABELS = (
    "INVESTIGATOR'S NARRATIVE OPINION OF WHAT HAPPENED",
    "(ATTACH ADDITIONAL SHEETS IF NECESSARY)",
    "FA CT ORS & CONDITIONS",
    "FIELD DIAGRAM - NOT TO SCALE",
    "CONTRIBUTING FACTORS (INVESTIGATOR'S OPINION)",
)
LOOK_ALIKES = {"O": "0", "I": "1", "L": "|", "S": "5"}


def as_ocr_scan(narrative: str) -> str:
    rng = random.Random(hashlib.sha256(narrative.encode("utf-8")).digest())
    words = [_damaged_word(word, rng) for word in narrative.upper().split()]
    lines = _wrapped(words, rng)
    lines = [line[1:] if line[:1].isalpha() and rng.random() < CLIPPED_LINE_START else line for line in lines]
    out = [rng.choice(FORM_LABELS[:2])] if rng.random() < FORM_LABEL_AT_START else []
    for line in lines:
        out.append(line)
        if rng.random() < FORM_LABEL_PER_LINE:
            out.append(rng.choice(FORM_LABELS))
    return "\n".join(out)


def _damaged_word(word: str, rng: random.Random) -> str:
    chars = [LOOK_ALIKES[c] if c in LOOK_ALIKES and rng.random() < LOOK_ALIKE_RATE else c for c in word]
    if len(chars) >= 6 and rng.random() < SPLIT_WORD_RATE:
        cut = rng.randrange(2, len(chars) - 2)
        chars.insert(cut, " ")
    return "".join(chars)


def _wrapped(words: list[str], rng: random.Random) -> list[str]:
    lines, current, width = [], "", rng.randint(*LINE_WIDTH)
    for word in words:
        if current and len(current) + 1 + len(word) > width:
            lines.append(current)
            current, width = word, rng.randint(*LINE_WIDTH)
        else:
            current = f"{current} {word}" if current else word
    return lines + [current] if current else lines


def main() -> None:
    parser = argparse.ArgumentParser(description="Write a CSV of narratives rendered as OCR'd CR-3 scans.")
    parser.add_argument("csv", help="a CSV with a Narrative column")
    parser.add_argument("--sample", type=int, default=None, help="a random N of its rows (default: all)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    import pandas as pd

    frame = pd.read_csv(args.csv, dtype=str)
    if args.sample:
        frame = frame.sample(args.sample, random_state=args.seed)
    scans = [as_ocr_scan(text) for text in frame["Narrative"].fillna("")]
    pd.DataFrame({"Crash_ID": [f"SCAN{i:05d}" for i in range(len(scans))], "Narrative": scans}).to_csv(args.out, index=False)
    print(f"{len(scans)} scans -> {args.out}")


if __name__ == "__main__":
    main()
