"""Logging to the console (INFO) and to logs/crashtransformer-<timestamp>.log (DEBUG).

The file handler flushes after every record (logging.StreamHandler does), so
`tail -f logs/crashtransformer-*.log` shows progress as it happens.
"""

from __future__ import annotations

import logging
import os
import platform
import shlex
import sys
import time
from pathlib import Path

LOGGER_NAME = "crashtransformer"
log = logging.getLogger(LOGGER_NAME)

_FILE_FORMAT = "%(asctime)s %(levelname)-7s [%(process)d] %(name)s: %(message)s"
_CONSOLE_FORMAT = "%(asctime)s %(levelname)s %(message)s"


def _log_file_name(log_dir: Path) -> Path:
    """A new file per invocation; the pid suffix only appears when two start in one second."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    path = log_dir / f"crashtransformer-{stamp}.log"
    if path.exists():
        path = log_dir / f"crashtransformer-{stamp}-{os.getpid()}.log"
    return path


def setup_logging(log_dir: str | os.PathLike = "logs", level: str = "INFO") -> Path | None:
    """Attach console and file handlers to the package logger; return the log file path.

    `level` applies to the console; the file always gets DEBUG. If the log directory cannot
    be created (read-only checkout), logging goes to the console only and None is returned.
    """
    log.setLevel(logging.DEBUG)
    log.propagate = False
    for handler in list(log.handlers):
        log.removeHandler(handler)
        handler.close()

    console = logging.StreamHandler(sys.stderr)
    console.setLevel(getattr(logging, level.upper(), logging.INFO))
    console.setFormatter(logging.Formatter(_CONSOLE_FORMAT, datefmt="%H:%M:%S"))
    log.addHandler(console)

    try:
        directory = Path(log_dir)
        directory.mkdir(parents=True, exist_ok=True)
        path = _log_file_name(directory)
        file_handler = logging.FileHandler(path, encoding="utf-8")
    except OSError as exc:
        log.warning("cannot write a log file in %s (%s); logging to the console only", log_dir, exc)
        return None
    file_handler.setLevel(logging.DEBUG)
    file_handler.setFormatter(logging.Formatter(_FILE_FORMAT))
    log.addHandler(file_handler)
    return path


def log_run_header(seed: int | None = None) -> None:
    """First lines of every log: command line, versions, device, seed."""
    from crashtransformer.core.runtime import describe_device, versions

    found = versions()
    log.info("command: %s", shlex.join([Path(sys.argv[0]).name, *sys.argv[1:]]))
    log.info("versions: crashtransformer %s, python %s, torch %s, transformers %s, platform %s",
             found["crashtransformer"], found["python"], found["torch"], found["transformers"],
             platform.platform(terse=True))
    log.info("device: %s", describe_device())
    if seed is not None:
        log.info("seed: %d", seed)
