"""Helpers of the fault suite: the CLI in-process (as `crashtransformer.py` runs it), and readers
for what each command leaves on disk."""

from __future__ import annotations

import contextlib
import csv
import io
import json
import os
import re
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pytest

# Fast generation settings: the suite checks accounting, not summary quality.
FAST = ("--num_beams", "1", "--num_candidates", "1", "--num_samples", "0", "--max_new_tokens", "8")
_PROGRESS_BAR = re.compile(r"\d+%\|")  # a tqdm line (model loading, generation), not a message


def console_lines(stderr: str) -> list[str]:
    """What a terminal would show of stderr, less progress bars."""
    shown = (line.rsplit("\r", 1)[-1] for line in stderr.split("\n"))
    return [line for line in shown if line.strip() and not _PROGRESS_BAR.search(line)]


@dataclass
class Invocation:
    exit_code: int
    stdout: str
    stderr: str
    log_dir: Path

    def console_lines(self) -> list[str]:
        return console_lines(self.stderr)

    def log_text(self) -> str:
        return "".join(path.read_text(encoding="utf-8") for path in sorted(self.log_dir.glob("*.log")))


def invoke(*args: str, cwd: Path, log_level: str = "ERROR", log_dir: Path | None = None) -> Invocation:
    """`crashtransformer.py ARGS` through cli.main() in this process: the same exit codes and
    console output as a subprocess, without paying for a fresh interpreter and torch import."""
    from crashtransformer import cli
    from crashtransformer.core.logs import log

    log_dir = log_dir or cwd / "logs"
    saved = (list(log.handlers), log.propagate, log.level, sys.argv)
    sys.argv = ["crashtransformer.py", "--log_dir", str(log_dir), "--log_level", log_level, *args]
    out, err = io.StringIO(), io.StringIO()
    code = 0
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                cli.main()
            except SystemExit as exc:
                code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    finally:
        for handler in list(log.handlers):  # leave the logger as other tests expect it
            log.removeHandler(handler)
            handler.close()
        for handler in saved[0]:
            log.addHandler(handler)
        log.propagate, sys.argv = saved[1], saved[3]
        log.setLevel(saved[2])
    return Invocation(code, out.getvalue(), err.getvalue(), log_dir)


def read_csv(path: Path) -> list[dict]:
    if not path.exists():
        return []
    with open(path, encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def read_jsonl_strict(path: Path) -> list[dict]:
    """Every line of a JSONL artifact; fails on a torn line or a missing final newline."""
    if not path.exists():
        return []
    data = path.read_text(encoding="utf-8")
    assert not data or data.endswith("\n"), f"{path.name}: last line is torn"
    return [json.loads(line) for line in data.splitlines() if line.strip()]


@pytest.fixture(scope="session")
def good_model(tiny_bart) -> Path:
    """The tiny BART of tests/conftest.py: what a healthy model directory looks like."""
    return tiny_bart


# ----------------------------------------------------------------------------- a disk that fills


class SmallDisk:
    """A size-limited tmpfs mounted by the test: a real filesystem that runs out of space.

    `leave_free(n)` fills it with a ballast file until about n bytes are left (tmpfs counts whole
    4 KiB pages); `make_room()` deletes the ballast: the fault is removed."""

    BALLAST = ".ballast"

    def __init__(self, path: Path):
        self.path = path

    def free_bytes(self) -> int:
        stat = os.statvfs(self.path)
        return stat.f_bavail * stat.f_frsize

    def leave_free(self, nbytes: int) -> None:
        self.make_room()
        ballast = self.path / self.BALLAST
        size = self.free_bytes() - nbytes
        if size > 0:
            with open(ballast, "wb") as handle:
                os.posix_fallocate(handle.fileno(), 0, size)

    def make_room(self) -> None:
        (self.path / self.BALLAST).unlink(missing_ok=True)


@pytest.fixture
def small_disk():
    """A 32 MiB tmpfs of the test's own; skipped, saying why, where mounting is not allowed."""
    mount_point = Path(tempfile.mkdtemp(prefix="ct-small-disk-"))
    made = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=32m", "tmpfs", str(mount_point)],
                          capture_output=True, text=True)
    if made.returncode != 0:
        mount_point.rmdir()
        pytest.skip(f"cannot mount a small tmpfs to fill (needs root or CAP_SYS_ADMIN): {made.stderr.strip()}")
    try:
        yield SmallDisk(mount_point)
    finally:
        subprocess.run(["umount", "-l", str(mount_point)], capture_output=True)
        with contextlib.suppress(OSError):
            mount_point.rmdir()
