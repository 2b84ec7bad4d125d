"""Exact and near-duplicate narratives, and seeded splits that keep duplicates together.

Real police narratives repeat nearly word for word (copy-pasted boilerplate, a second report of
the same crash). A validation set that holds near-copies of training rows reports figures that
are too good, so:

- `DuplicateFinder` reads narratives one at a time (memory: one 64-number MinHash signature per
  row) and groups them: exact duplicates by a hash of the normalized text (lower case, letters
  and digits only), near duplicates by MinHash over word 3-shingles with LSH banding (16 bands
  of 4; 32 of 2 below a 0.65 threshold), confirmed when the estimated Jaccard similarity reaches `threshold` (0.8 by default).
- `assign_splits` shuffles whole groups with a seed and fills test, then validation, then train,
  so every member of a group lands in the same split.
"""

from __future__ import annotations

import hashlib
import random
import re
import zlib
from dataclasses import dataclass

import numpy as np

SHINGLE_WORDS = 3  # word n-gram length of a shingle; short narratives make one shingle
NUM_PERM = 64  # MinHash signature length
BANDS = 16  # LSH bands of NUM_PERM // BANDS rows: pairs at 0.8 similarity collide with p > 0.999
LOW_THRESHOLD_BANDS = 32  # below 0.65, bands of 2 rows: pairs at 0.5 still collide with p > 0.9999
MAX_BUCKET_CHECKS = 32  # members of one LSH bucket a new row is compared with (boilerplate buckets grow)
_PRIME = (1 << 31) - 1
_NON_WORD = re.compile(r"[^0-9a-z]+")

TRAIN, VALIDATION, TEST, DROPPED = 0, 1, 2, -1
SPLIT_NAMES = {TRAIN: "train", VALIDATION: "validation", TEST: "test"}


def normalize_for_matching(text: str) -> str:
    return _NON_WORD.sub(" ", text.lower()).strip()


def shingle_hashes(normalized: str, size: int = SHINGLE_WORDS) -> np.ndarray:
    words = normalized.split()
    grams = {" ".join(words[i:i + size]) for i in range(max(1, len(words) - size + 1))}
    return np.fromiter((zlib.crc32(g.encode()) for g in grams), dtype=np.uint64, count=len(grams))


@dataclass
class Match:
    index: int  # the earlier row this one duplicates
    similarity: float  # 1.0 for an exact duplicate, else the MinHash estimate
    exact: bool


class DuplicateFinder:
    """Add narratives in order; each gets an index and, if it repeats an earlier one, a Match."""

    def __init__(self, threshold: float = 0.8, seed: int = 1):
        if not 0 < threshold <= 1:
            raise ValueError("near-duplicate threshold must be in (0, 1]")
        self.threshold = threshold
        rng = np.random.default_rng(seed)
        self._a = rng.integers(1, _PRIME, NUM_PERM, dtype=np.uint64)[:, None]
        self._b = rng.integers(0, _PRIME, NUM_PERM, dtype=np.uint64)[:, None]
        bands = LOW_THRESHOLD_BANDS if threshold < 0.65 else BANDS
        self._rows = NUM_PERM // bands
        self._signatures = np.zeros((1024, NUM_PERM), dtype=np.uint32)
        self._exact: dict[bytes, int] = {}
        self._buckets: list[dict[bytes, list[int]]] = [{} for _ in range(bands)]
        self._parent: list[int] = []
        self.matches: dict[int, Match] = {}

    def __len__(self) -> int:
        return len(self._parent)

    def signature(self, normalized: str) -> np.ndarray:
        hashes = shingle_hashes(normalized) % _PRIME
        return ((self._a * hashes[None, :] + self._b) % _PRIME).min(axis=1).astype(np.uint32)

    def add(self, text: str) -> Match | None:
        index = len(self._parent)
        self._parent.append(index)
        normalized = normalize_for_matching(text)
        digest = hashlib.blake2b(normalized.encode(), digest_size=16).digest()
        first = self._exact.setdefault(digest, index)
        if first != index:
            return self._link(index, Match(first, 1.0, True))
        signature = self.signature(normalized)
        if index >= len(self._signatures):
            self._signatures = np.concatenate([self._signatures, np.zeros_like(self._signatures)])
        self._signatures[index] = signature
        best: Match | None = None
        for band, buckets in enumerate(self._buckets):
            key = signature[band * self._rows:(band + 1) * self._rows].tobytes()
            members = buckets.setdefault(key, [])
            for other in members[:MAX_BUCKET_CHECKS]:
                similarity = float(np.mean(self._signatures[other] == signature))
                if similarity >= self.threshold and (best is None or similarity > best.similarity):
                    best = Match(other, similarity, False)
            members.append(index)
        return self._link(index, best) if best else None

    def _link(self, index: int, match: Match) -> Match:
        self.matches[index] = match
        self._parent[index] = self._root(match.index)
        return match

    def _root(self, index: int) -> int:
        while self._parent[index] != index:
            self._parent[index] = self._parent[self._parent[index]]
            index = self._parent[index]
        return index

    def groups(self) -> list[int]:
        """Group id of every row: the index of its group's first row."""
        return [self._root(i) for i in range(len(self._parent))]


def assign_splits(groups: list[int], keep: list[bool], validation_split: float, test_split: float,
                  seed: int) -> list[int]:
    """TRAIN / VALIDATION / TEST per row (DROPPED where keep is False), whole groups at a time.

    Targets are fractions of the kept rows; a group is placed while its split is under target,
    so a split overshoots by less than one group.
    """
    if not (0 <= validation_split < 1 and 0 <= test_split < 1 and validation_split + test_split < 1):
        raise ValueError("validation and test fractions must be in [0, 1) and add up to less than 1")
    members: dict[int, list[int]] = {}
    for index, group in enumerate(groups):
        if keep[index]:
            members.setdefault(group, []).append(index)
    kept = sum(len(rows) for rows in members.values())
    targets = {TEST: round(kept * test_split), VALIDATION: round(kept * validation_split)}
    order = sorted(members)
    random.Random(seed).shuffle(order)
    split_of = [DROPPED] * len(groups)
    filled = {TEST: 0, VALIDATION: 0}
    for group in order:
        split = next((s for s in (TEST, VALIDATION) if filled[s] < targets[s]), TRAIN)
        if split != TRAIN:
            filled[split] += len(members[group])
        for index in members[group]:
            split_of[index] = split
    return split_of
