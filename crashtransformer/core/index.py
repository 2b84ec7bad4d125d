"""A set of keys (Crash_IDs, reject keys) with one 64-bit value each, in 24 bytes a key.

`run` must know every Crash_ID its output directory already holds, however many nights of
crashes that is. A dict of Crash_ID to a 16-hex-digit narrative digest takes 157 MB at a million
(tracemalloc); this index keeps a 128-bit BLAKE2b digest of each key and its value in sorted
numpy blocks instead: 24 MB at a million, and a lookup is a binary search per block.

A digest stands for its key: two different keys share one with probability about n²/2¹²⁹
(10⁻²⁶ at a million), far below the chance of a disk flipping the bit that records them.

New keys go to a small dict first; it is sorted into a block when it fills, and blocks of equal
size are merged (a binary counter) up to BLOCK_CAP, so no merge ever copies more than a block's
worth: peak memory stays a few megabytes over the data itself.
"""

from __future__ import annotations

import hashlib

import numpy as np

PENDING_CAP = 8192  # keys held in a dict before they are sorted into a block
BLOCK_CAP = 1 << 18  # keys in the largest merged block (6 MB); beyond it blocks are only searched
UNKNOWN = 0  # the value of a key added without one


def key_digest(key: str) -> tuple[int, int]:
    """The two 64-bit halves of the key's 128-bit BLAKE2b digest."""
    digest = hashlib.blake2b(key.encode("utf-8", "surrogatepass"), digest_size=16).digest()
    return int.from_bytes(digest[:8], "little"), int.from_bytes(digest[8:], "little")


class _Block:
    """Keys sorted by (high, low) half, and their values."""

    def __init__(self, high: np.ndarray, low: np.ndarray, values: np.ndarray):
        order = np.lexsort((low, high))
        self.high, self.low, self.values = high[order], low[order], values[order]

    def __len__(self) -> int:
        return len(self.high)

    def find(self, high: int, low: int) -> int | None:
        """The position of the key, or None."""
        start = int(np.searchsorted(self.high, np.uint64(high), "left"))
        while start < len(self.high) and int(self.high[start]) == high:
            if int(self.low[start]) == low:
                return start
            start += 1
        return None

    @staticmethod
    def merged(first: "_Block", second: "_Block") -> "_Block":
        return _Block(np.concatenate([first.high, second.high]), np.concatenate([first.low, second.low]),
                      np.concatenate([first.values, second.values]))


class DigestIndex:
    """Membership and a value per key; `add` keeps the first value given for a key."""

    def __init__(self) -> None:
        self._pending: dict[tuple[int, int], int] = {}
        self._blocks: list[_Block] = []
        self._size = 0

    def __len__(self) -> int:
        return self._size

    def __bool__(self) -> bool:
        return self._size > 0

    def __contains__(self, key: str) -> bool:
        return self._lookup(key_digest(key)) is not None

    def get(self, key: str) -> int | None:
        """The key's value, or None when the key is absent."""
        return self._lookup(key_digest(key))

    def add(self, key: str, value: int = UNKNOWN) -> bool:
        """Add the key; False (and the old value kept) when it was there already."""
        digest = key_digest(key)
        if self._lookup(digest) is not None:
            return False
        self._pending[digest] = value
        self._size += 1
        if len(self._pending) >= PENDING_CAP:
            self._flush()
        return True

    def _lookup(self, digest: tuple[int, int]) -> int | None:
        if digest in self._pending:
            return self._pending[digest]
        for block in self._blocks:
            position = block.find(*digest)
            if position is not None:
                return int(block.values[position])
        return None

    def _flush(self) -> None:
        keys = list(self._pending)
        block = _Block(np.fromiter((k[0] for k in keys), np.uint64, len(keys)),
                       np.fromiter((k[1] for k in keys), np.uint64, len(keys)),
                       np.fromiter(self._pending.values(), np.uint64, len(keys)))
        self._pending = {}
        # a binary counter: merge while the newest two blocks are the same size (and not too big)
        while self._blocks and len(self._blocks[-1]) <= len(block) and len(self._blocks[-1]) + len(block) <= BLOCK_CAP:
            block = _Block.merged(self._blocks.pop(), block)
        self._blocks.append(block)
