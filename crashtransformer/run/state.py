"""What makes `run` safe under cron: an exclusive lock on the output directory, append-only
JSONL that survives kill -9, and a ledger of input files already processed.

- The lock is `fcntl.flock` on `<out_dir>/.lock`: the kernel drops it when the holder dies,
  so a lock left by a killed run is never "stale" — the next run simply gets it. The file
  records who holds it, for the message the second run prints.
- JSONL outputs are appended a chunk at a time, flushed and fsynced. A kill can leave at most
  one torn last line; `cut_torn_tail` cuts it off before a rerun appends, so every line is whole.
- The ledger maps each input file's SHA-256 to when it was processed, so a re-delivered file
  is skipped and a changed file under the same name is processed again.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import socket
import time
from pathlib import Path
from typing import IO, Iterable, Iterator

from crashtransformer.core.errors import EXIT_LOCKED, UserError
from crashtransformer.core.io import write_json_atomic

LOCK_NAME = ".lock"
LEDGER_NAME = "processed_inputs.json"


class LockedError(UserError):
    """Another process holds the output directory."""

    exit_code = EXIT_LOCKED


class DirectoryLock:
    """Exclusive, non-blocking lock on a directory for the life of a `with` block."""

    def __init__(self, directory: str | os.PathLike):
        self.path = Path(directory) / LOCK_NAME
        self._handle: IO[str] | None = None

    def __enter__(self) -> "DirectoryLock":
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle = open(self.path, "a+", encoding="utf-8")
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            handle.close()
            raise LockedError(f"{self.path.parent} is in use by {holder}; wait for it to finish "
                              "or use another --out_dir") from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"pid {os.getpid()} on {socket.gethostname()} since {time.strftime('%Y-%m-%d %H:%M:%S')}\n")
        handle.flush()
        self._handle = handle
        return self

    def __exit__(self, *exc_info) -> None:
        if self._handle is not None:
            self._handle.truncate(0)
            fcntl.flock(self._handle.fileno(), fcntl.LOCK_UN)
            self._handle.close()
            self._handle = None


# ----------------------------------------------------------------------------- JSONL


def cut_torn_tail(path: str | os.PathLike) -> int:
    """Cut a torn final line of a JSONL or CSV file we append to; return the bytes removed."""
    file = Path(path)
    if not file.exists():
        return 0
    data = file.read_bytes()
    if not data or data.endswith(b"\n"):
        return 0
    keep = data.rfind(b"\n") + 1
    with open(file, "r+b") as handle:
        handle.truncate(keep)
    return len(data) - keep


def iter_jsonl(path: str | os.PathLike) -> Iterator[dict]:
    """Whole lines of a JSONL file we wrote (after cut_torn_tail, every line is whole)."""
    file = Path(path)
    if not file.exists():
        return
    with open(file, encoding="utf-8") as handle:
        for line in handle:
            if line.strip():
                yield json.loads(line)


def append_jsonl(path: str | os.PathLike, rows: Iterable[dict]) -> int:
    """Append rows as one write, then flush and fsync: a chunk is on disk before we go on."""
    payload = "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows)
    if not payload:
        return 0
    with open(path, "a", encoding="utf-8") as handle:
        handle.write(payload)
        handle.flush()
        os.fsync(handle.fileno())
    return payload.count("\n")


# ----------------------------------------------------------------------------- ledger


def file_digest(path: str | os.PathLike, block: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(block):
            digest.update(chunk)
    return digest.hexdigest()


class InputLedger:
    """Which input files (by content hash) a run directory has fully processed."""

    def __init__(self, directory: str | os.PathLike):
        self.path = Path(directory) / LEDGER_NAME
        self.entries: dict[str, dict] = json.loads(self.path.read_text()) if self.path.exists() else {}

    def is_done(self, digest: str) -> bool:
        return digest in self.entries

    def mark_done(self, digest: str, source: str, rows: int) -> None:
        self.entries[digest] = {"file": source, "rows": rows, "finished": time.strftime("%Y-%m-%dT%H:%M:%S")}
        write_json_atomic(self.path, self.entries)
