"""A set of keys (Crash_IDs, reject keys) with one 64-bit value each, in constant memory.

`run` must know every Crash_ID its output directory already holds, and every Crash_ID of the
file it reads (for duplicates), however many nights of crashes that is. A dict of Crash_ID to a
narrative digest takes 157 MB at a million (tracemalloc); sorted numpy blocks of digests took
24 MB an index, and a run holds two that size, so a million-row night still grew by 48 MB.
This index keeps each key's 128-bit BLAKE2b digest in a private SQLite database instead: a
B-tree in a temporary file (unlinked as soon as SQLite opens it: not even a kill leaves it)
behind a page cache of CACHE_KIB, so the process holds the same few megabytes at a thousand keys
and at a million; the operating system's file cache, not the process, holds the rest.

A digest stands for its key: two different keys share one with probability about n²/2¹²⁹
(10⁻²⁶ at a million), far below the chance of a disk flipping the bit that records them.
"""

from __future__ import annotations

import hashlib
import os
import sqlite3

from crashtransformer.core.errors import RetryError

UNKNOWN = 0  # the value of a key added without one
CACHE_KIB = 2048  # SQLite's page cache per index (its default): what the process holds of it
_SIGN = 1 << 63  # values are unsigned 64-bit, SQLite integers signed: stored shifted by 2⁶³


def key_digest(key: str) -> bytes:
    """The key's 128-bit BLAKE2b digest."""
    return hashlib.blake2b(key.encode("utf-8", "surrogatepass"), digest_size=16).digest()


def _sqlite_temp_dir() -> str:
    """Where SQLite puts its temp files on Unix: the first of these that is set."""
    return os.environ.get("SQLITE_TMPDIR") or os.environ.get("TMPDIR") or "/var/tmp (or /tmp)"


class DigestIndex:
    """Membership and a value per key; `add` keeps the first value given for a key."""

    def __init__(self) -> None:
        # "" opens a private temporary database: in the page cache until it outgrows it, then in
        # a temp file. Nothing here must survive a crash, so no journal, no sync.
        self._db = sqlite3.connect("", isolation_level=None)
        self._db.execute(f"PRAGMA cache_size = -{CACHE_KIB}")
        self._db.execute("PRAGMA journal_mode = OFF")
        self._db.execute("PRAGMA synchronous = OFF")
        self._db.execute("CREATE TABLE keys (digest BLOB PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID")
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
        try:
            added = self._db.execute("INSERT OR IGNORE INTO keys VALUES (?, ?)",
                                     (key_digest(key), value - _SIGN)).rowcount == 1
        except sqlite3.OperationalError as exc:  # "database or disk is full", or a temp dir it cannot write
            raise RetryError(f"the Crash_ID index cannot grow in {_sqlite_temp_dir()} ({exc}): free space "
                             "there or point TMPDIR at a writable disk with room, then run the same command "
                             "again: what was finished is kept") from exc
        self._size += added
        return added

    def _lookup(self, digest: bytes) -> int | None:
        row = self._db.execute("SELECT value FROM keys WHERE digest = ?", (digest,)).fetchone()
        return None if row is None else row[0] + _SIGN
