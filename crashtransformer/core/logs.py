"""Logging to the console (INFO) and to logs/crashtransformer-<timestamp>.log (DEBUG).

The file handler flushes after every record (logging.StreamHandler does), and
logs/crashtransformer-latest.log is a symbolic link to the newest command's file, so
`tail -F logs/crashtransformer-latest.log`, started before a nightly job, follows each job
as it starts (-F reopens the name when the link moves on).

Libraries (transformers, accelerate, datasets, Python warnings) write to the log file only,
and each distinct message once per command: a generation warning raised on every evaluation
batch is one line, not hundreds on the console.
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
LATEST_NAME = "crashtransformer-latest.log"
# whose records go to the log file, once each ("py.warnings": warnings.warn, via captureWarnings)
LIBRARY_LOGGERS = ("transformers", "accelerate", "datasets", "huggingface_hub", "torch", "py.warnings")


_UNWRITABLE_LOGS: set[str] = set()  # log files that failed; the package's and libraries' handlers share one


class LogFile(logging.FileHandler):
    """A log file that, once it cannot be written (a full disk), says so in one console line and
    falls silent, instead of logging's traceback on every later record."""

    def handleError(self, record: logging.LogRecord | None) -> None:
        if self.baseFilename in _UNWRITABLE_LOGS:
            return
        _UNWRITABLE_LOGS.add(self.baseFilename)
        error = sys.exc_info()[1]
        reason = getattr(error, "strerror", None) or error
        sys.stderr.write(f"warning: cannot write the log file {self.baseFilename} ({reason}); "
                         "later messages reach the console only\n")

    def emit(self, record: logging.LogRecord) -> None:
        if self.baseFilename not in _UNWRITABLE_LOGS:
            super().emit(record)

    def flush(self) -> None:
        try:
            super().flush()
        except OSError:  # the buffered tail cannot reach a full disk: said once by handleError
            self.handleError(None)

    def close(self) -> None:
        try:
            super().close()
        except OSError:
            self.handleError(None)
            self.stream = None


def _log_file_name(log_dir: Path) -> Path:
    """A new file per invocation; the pid suffix only appears when two start in one second."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    path = log_dir / f"crashtransformer-{stamp}.log"
    if path.exists():
        path = log_dir / f"crashtransformer-{stamp}-{os.getpid()}.log"
    return path


class CurrentStderr(logging.StreamHandler):
    """The console: whatever `sys.stderr` is when a record is written, not the one it was when the
    handler was made (notebooks, test runners and callers who redirect swap it, and may close the old)."""

    @property
    def stream(self):
        return sys.stderr

    @stream.setter
    def stream(self, _value) -> None:  # StreamHandler.__init__ and setStream assign it: nothing to keep
        pass


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

    console = CurrentStderr()
    console.setLevel(getattr(logging, level.upper(), logging.INFO))
    console.setFormatter(logging.Formatter(_CONSOLE_FORMAT, datefmt="%H:%M:%S"))
    log.addHandler(console)

    try:
        directory = Path(log_dir)
        directory.mkdir(parents=True, exist_ok=True)
        path = _log_file_name(directory)
        file_handler = LogFile(path, encoding="utf-8")
    except OSError as exc:
        log.warning("cannot write a log file in %s (%s); logging to the console only", log_dir, exc)
        route_library_logs(None)
        return None
    file_handler.setLevel(logging.DEBUG)
    file_handler.setFormatter(logging.Formatter(_FILE_FORMAT))
    log.addHandler(file_handler)
    _point_latest_at(path)
    route_library_logs(path)
    return path


def _point_latest_at(path: Path) -> None:
    """Move the crashtransformer-latest.log link to `path`, atomically (a new link, renamed over)."""
    link = path.parent / LATEST_NAME
    staged = path.parent / f".{LATEST_NAME}.{os.getpid()}"
    try:
        if staged.is_symlink() or staged.exists():
            staged.unlink()
        os.symlink(path.name, staged)
        os.replace(staged, link)
    except OSError as exc:  # a filesystem without links: the timestamped name still works
        log.debug("cannot link %s to %s (%s)", link, path.name, exc)


class OncePerMessage(logging.Filter):
    """Passes each distinct (logger, level, message) once."""

    def __init__(self):
        super().__init__()
        self.seen: set[tuple[str, int, str]] = set()

    def filter(self, record: logging.LogRecord) -> bool:
        key = (record.name, record.levelno, record.getMessage())
        if key in self.seen:
            return False
        self.seen.add(key)
        return True


def route_library_logs(path: Path | None) -> None:
    """Library records into the log file (the console when there is none), each message once."""
    import warnings

    import transformers.utils.logging as transformers_logging

    transformers_logging.disable_default_handler()  # its own stderr handler
    logging.captureWarnings(True)
    warnings.simplefilter("default")  # each warning once per place, then the filter below: once per text
    handler = LogFile(path, encoding="utf-8") if path else CurrentStderr()
    handler.setFormatter(logging.Formatter(_FILE_FORMAT))
    handler.addFilter(OncePerMessage())
    for name in LIBRARY_LOGGERS:
        library = logging.getLogger(name)
        for old in list(library.handlers):
            library.removeHandler(old)
            old.close()
        library.addHandler(handler)
        library.propagate = False


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
