"""Files that are whole or absent, and the one shape of a rejected row.

Every file a command writes in one go goes through `AtomicFile`: a temporary name in the same
folder (unique per process, so two ranks never share one), fsync, then `os.replace` over the
target. A kill leaves the old file or none, never half of one. Appended files (run's JSONL
artifacts) are not written here: see crashtransformer.run.state.

rejects.csv, from `prepare-data` and from `run` alike, has REJECT_COLUMNS; `reject_row` builds
one row and `reject_cells` makes it spreadsheet-safe.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import IO, Any, Iterable, Iterator

from crashtransformer.core.errors import RetryError, UserError

REJECT_COLUMNS = ("source_file", "source_sha256", "row_number", "Crash_ID", "field", "reason", "detail",
                  "raw_values")
# A cell starting with one of these is run as a formula by spreadsheets (CSV injection).
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


# The errors of a full disk: no space, a quota reached, a file-size limit (RLIMIT_FSIZE).
NO_SPACE = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG})


# How libraries that do not raise OSError report one: safetensors (Rust's StorageFull), tokenizers.
_NO_SPACE_WORDS = ("No space left on device", "StorageFull", "Disk quota exceeded", "File too large")
NEARLY_FULL_BYTES = 1 << 20  # a failed write where less than this is free is put down to a full disk


def is_no_space(error: BaseException, path: str | os.PathLike | None = None) -> bool:
    """Whether `error` is a full disk: by its errno, its words, or, given the `path` being written,
    a failed write (torch.save says only "file write failed") on a disk with almost nothing free."""
    if isinstance(error, OSError) and error.errno in NO_SPACE:
        return True
    if any(words in str(error) for words in _NO_SPACE_WORDS):
        return True
    return path is not None and _says_a_write_failed(error) and _nearly_full(path)


# How torch.save's zip writer reports a short write: "file write failed", or a position check
# ("[enforce fail at inline_container.cc:672] . unexpected pos 499072 vs 498960").
_WRITE_FAILED_WORDS = ("writ", "inline_container", "unexpected pos")


def _says_a_write_failed(error: BaseException) -> bool:
    """An OSError, or a RuntimeError in the words of a failed write: not any RuntimeError (a
    shape mismatch in training) that happens while the disk is nearly full."""
    said = str(error).lower()
    return isinstance(error, OSError) or (isinstance(error, RuntimeError) and any(w in said for w in _WRITE_FAILED_WORDS))


def _nearly_full(path: str | os.PathLike) -> bool:
    existing = next((p for p in (Path(path), *Path(path).parents) if p.exists()), None)
    try:
        stat = os.statvfs(existing) if existing is not None else None
    except OSError:
        return False
    return stat is not None and stat.f_bavail * stat.f_frsize < NEARLY_FULL_BYTES


def no_space_message(path: str | os.PathLike | None, error: BaseException, then: str = "") -> str:
    """The one line of a full disk: which file, what the system said, what to do."""
    where = f"writing {path}" if path else "writing a file"
    then = then or "run the same command again: what was finished is kept"
    said = getattr(error, "strerror", None) or "No space left on device"  # torch and safetensors say it worse
    return f"no space left {where} ({said}): free space on that disk, then {then}"


@contextlib.contextmanager
def disk_full_is_retry(path: str | os.PathLike, then: str = "") -> Iterator[None]:
    """Turn a full disk while writing `path` into a RetryError naming it (exit 5, one line)."""
    try:
        yield
    except (OSError, RuntimeError) as exc:
        if isinstance(exc, RetryError) or not is_no_space(exc, path):
            raise
        raise RetryError(no_space_message(path, exc, then)) from exc


def file_digest(path: str | os.PathLike, block: int = 1 << 20) -> str:
    """The SHA-256 of a file's bytes, read a block at a time."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(block):
            digest.update(chunk)
    return digest.hexdigest()


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


class AtomicFile:
    """A text file written under a temporary name and renamed into place by commit().

    As a context manager: committed on a clean exit, removed on an exception."""

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        with disk_full_is_retry(self.path):
            self.path.parent.mkdir(parents=True, exist_ok=True)
            handle, self.temp = tempfile.mkstemp(prefix=f".{self.path.name}.", suffix=".tmp", dir=self.path.parent)
        self.handle: IO[str] = os.fdopen(handle, "w", encoding="utf-8", newline="")

    def commit(self) -> Path:
        """Rename the whole file into place; on a failure (a full disk) the temporary goes and
        the old file, if any, stays as it was."""
        try:
            with disk_full_is_retry(self.path):
                self.handle.flush()
                os.fsync(self.handle.fileno())
                self.handle.close()
                os.chmod(self.temp, 0o666 & ~_umask())  # mkstemp makes 0600; give the usual file mode
                os.replace(self.temp, self.path)
        except BaseException:
            self.abort()
            raise
        return self.path

    def abort(self) -> None:
        if not self.handle.closed:
            with contextlib.suppress(OSError):  # closing flushes, and the disk may be full
                self.handle.close()
        if os.path.exists(self.temp):
            os.unlink(self.temp)

    def __enter__(self) -> IO[str]:
        return self.handle

    def fail(self, exc: BaseException | None) -> None:
        """Abort after `exc`; a write through the handle that hit a full disk becomes a RetryError naming the file."""
        self.abort()
        if exc is not None and not isinstance(exc, RetryError) and is_no_space(exc):
            raise RetryError(no_space_message(self.path, exc)) from exc

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.commit()
        else:
            self.fail(exc)


def write_text_atomic(path: str | os.PathLike, text: str) -> Path:
    with AtomicFile(path) as handle:
        handle.write(text)
    return Path(path)


def write_json_atomic(path: str | os.PathLike, data: Any) -> Path:
    return write_text_atomic(path, json.dumps(data, indent=2, ensure_ascii=False, default=str) + "\n")


def write_jsonl_atomic(path: str | os.PathLike, rows: Iterable[dict]) -> Path:
    with AtomicFile(path) as handle:
        for row in rows:
            handle.write(json.dumps(row, ensure_ascii=False, default=str) + "\n")
    return Path(path)


def replace_directory(staged: str | os.PathLike, target: str | os.PathLike) -> Path:
    """Put the whole directory `staged` at `target`, moving the old one (if any) away first; a kill
    leaves the old one, or both, never a mixture. Both must be on one filesystem (renames)."""
    staged, target = Path(staged), Path(target)
    old = target.with_name(f".{target.name}.old")
    if old.exists():
        shutil.rmtree(old)
    if target.exists():
        os.replace(target, old)
    os.replace(staged, target)
    shutil.rmtree(old, ignore_errors=True)
    return target


def check_writable_dir(directory: str | os.PathLike, flag: str) -> Path:
    """Create `directory` if needed and prove a file can be made in it; UserError naming `flag` if not.

    Run before any work, so an output path under a regular file, on a read-only mount or in /proc
    is one clear line at the start rather than an internal error after the work is done."""
    path = Path(directory)
    try:
        path.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=path):
            pass
    except OSError as exc:
        blocker = next((p for p in (path, *path.parents) if p.exists()), None)
        reason = (f"{blocker} is a file, not a folder" if blocker is not None and not blocker.is_dir()
                  else exc.strerror or str(exc))
        raise UserError(f"cannot write to {flag} {directory}: {reason}") from None
    return path


# ----------------------------------------------------------------------------- spreadsheet-safe cells


def safe_cell(value: Any) -> str:
    """A CSV cell a spreadsheet will show as text, never run as a formula."""
    text = "" if value is None else value if isinstance(value, str) else str(value)
    return "'" + text if text.startswith(FORMULA_START) else text


def unneutralize(text: str | None) -> str | None:
    """Undo safe_cell on text read back from our own CSV."""
    if text and text.startswith("'") and text[1:2] and text[1:2] in FORMULA_START:
        return text[1:]
    return text


# ----------------------------------------------------------------------------- rejects


def reject_row(reject, source_file: str = "", source_sha256: str = "") -> dict[str, Any]:
    """One rejects.csv row of a data.records.Reject (anything with its fields)."""
    return {"source_file": source_file, "source_sha256": source_sha256,
            "row_number": reject.row_number if reject.row_number is not None else "",
            "Crash_ID": reject.crash_id, "field": reject.field, "reason": reject.reason, "detail": reject.detail,
            "raw_values": json.dumps(reject.raw, ensure_ascii=False, default=str)}


def reject_cells(row: dict[str, Any]) -> list[str]:
    """A reject row as spreadsheet-safe CSV cells, in REJECT_COLUMNS order."""
    return [safe_cell(row.get(column, "")) for column in REJECT_COLUMNS]
