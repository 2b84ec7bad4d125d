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
import json
import os
import socket
import time
from pathlib import Path
from typing import IO, Iterable, Iterator

from crashtransformer.core.errors import EXIT_LOCKED, UserError
from crashtransformer.core.io import disk_full_is_retry, write_json_atomic
from crashtransformer.core.logs import log

LOCK_NAME = ".lock"
# What a full disk's message tells a `run` user to do (core/io.no_space_message).
RERUN_KEEPS_WORK = "run the same command again: the crashes already written are kept and a torn last line is cut"
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
        _note_previous_holder(self.path, handle.read().strip())
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


def _note_previous_holder(path: Path, record: str) -> None:
    """A lock file still naming a holder: a run that died (the kernel dropped its lock), or, when it
    names another host, one whose lock this host cannot see (NFS mounted without locking)."""
    if not record:
        return
    host = record.split(" on ", 1)[1].split(" since ", 1)[0] if " on " in record else ""
    if host and host != socket.gethostname():
        log.warning("%s names %s; nobody holds the lock now, so this run takes it. If that host may still be "
                    "running on this directory, its filesystem does not share locks (NFS without locking): "
                    "stop one of them", path, record)
    else:
        log.info("taking over %s: %s is no longer running", path, record)


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
    return (row for _, row in iter_jsonl_lines(path))


def iter_jsonl_lines(path: str | os.PathLike) -> Iterator[tuple[str, dict]]:
    """(line, row) of each line of a JSONL artifact, streamed; a damaged line is refused, naming it."""
    file = Path(path)
    if not file.exists():
        return
    with open(file, "rb") as handle:
        for number, raw in enumerate(handle, 1):
            if raw.strip():
                line = _decoded(file, number, raw)
                yield line, _parse_line(file, number, line)


def _decoded(file: Path, number: int, raw: bytes) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise _damaged(file, number, f"not UTF-8: {exc.reason} at byte {exc.start}") from None


def _parse_line(file: Path, number: int, line: str) -> dict:
    """One line of an artifact; a damaged one (not the torn last line: a disk fault, an edit) is refused."""
    try:
        row = json.loads(line)
    except (json.JSONDecodeError, RecursionError) as exc:
        raise _damaged(file, number, f"not JSON: {exc}" if isinstance(exc, json.JSONDecodeError)
                       else "JSON nested too deeply") from None
    if not isinstance(row, dict):
        raise _damaged(file, number, f"a JSON {type(row).__name__}, not an object")
    return row


def _damaged(file: Path, number: int, problem: str) -> UserError:
    return UserError(f"{file} line {number} is damaged ({problem}); delete that line and run again with "
                     "--rebuild_ledger: the inputs are read again and that crash is summarized again, no other")


def append_jsonl(path: str | os.PathLike, rows: Iterable[dict]) -> int:
    """Append rows as one write, then flush and fsync: a chunk is on disk before we go on."""
    payload = "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows)
    if not payload:
        return 0
    with disk_full_is_retry(path, RERUN_KEEPS_WORK), open(path, "a", encoding="utf-8") as handle:
        handle.write(payload)
        handle.flush()
        os.fsync(handle.fileno())
    return payload.count("\n")


# ----------------------------------------------------------------------------- ledger


class InputLedger:
    """Which input files (by content hash) a run directory has fully processed.

    A ledger that does not parse (a disk fault, a hand edit) is refused rather than read as empty
    or guessed at; `rebuild=True` (run --rebuild_ledger) sets it aside and starts a new one. That
    is safe because the ledger only saves reading: the artifacts say which crashes are done, so
    inputs read again are skipped crash by crash, and each file is entered again as it finishes."""

    def __init__(self, directory: str | os.PathLike, rebuild: bool = False):
        self.path = Path(directory) / LEDGER_NAME
        if rebuild and self.path.exists():
            self._set_aside()
        self.entries: dict[str, dict] = self._read() if self.path.exists() else {}

    def _read(self) -> dict[str, dict]:
        try:
            entries = json.loads(self.path.read_text(encoding="utf-8"))
            problem = None if _is_ledger(entries) else "not a ledger (an object of file digests)"
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            problem = f"not valid JSON: {exc}"
        if problem:
            raise UserError(f"{self.path} is damaged ({problem}); run again with --rebuild_ledger to rebuild it from "
                            "the artifacts: inputs are read again and every crash already summarized or rejected "
                            "is skipped, none repeated")
        return entries

    def _set_aside(self) -> None:
        aside = self.path.with_name(f"{LEDGER_NAME}.damaged-{time.strftime('%Y%m%d-%H%M%S')}")
        os.replace(self.path, aside)
        log.warning("set %s aside as %s; inputs already processed are read again, their crashes skipped",
                    self.path.name, aside.name)

    def is_done(self, digest: str) -> bool:
        return digest in self.entries

    def mark_done(self, digest: str, source: str, rows: int) -> None:
        self.entries[digest] = {"file": source, "rows": rows, "finished": time.strftime("%Y-%m-%dT%H:%M:%S")}
        write_json_atomic(self.path, self.entries)


def _is_ledger(entries) -> bool:
    return isinstance(entries, dict) and all(isinstance(value, dict) for value in entries.values())
