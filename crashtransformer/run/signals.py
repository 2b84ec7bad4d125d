"""A clean stop for `run` on SIGTERM or Ctrl-C: finish the write in progress, then stop.

    with stop_on_signals():          # pipeline.run: SIGTERM/SIGINT become KeyboardInterrupt
        ...
        with deferred_signals():     # artifacts: a chunk's lines are written whole
            append(...)

SIGTERM (what cron, systemd and `kill` send) takes the same path as Ctrl-C: a KeyboardInterrupt
that unwinds the run (the lock is released) and makes the CLI exit 130. A signal that arrives
inside `deferred_signals` is held until the block ends, so an artifact write is never cut in
half and a rerun on the same output directory carries on exactly once without any repair.
SIGKILL cannot be caught: run/artifacts.py repairs what it leaves (see run/state.py cut_torn_tail).
"""

from __future__ import annotations

import contextlib
import signal
import threading
from typing import Iterator

from crashtransformer.core.logs import log

STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)


class _State:
    installed = False
    depth = 0  # nesting of deferred_signals blocks
    pending: int | None = None  # a signal held until the outermost block ends


def _stop(signum: int) -> None:
    raise KeyboardInterrupt(f"stopped by {signal.Signals(signum).name}")


def _handle(signum: int, _frame) -> None:
    if _State.depth:
        _State.pending = signum
        log.debug("%s received during a write: stopping once it is complete", signal.Signals(signum).name)
        return
    _stop(signum)


@contextlib.contextmanager
def stop_on_signals() -> Iterator[None]:
    """Turn SIGTERM and SIGINT into KeyboardInterrupt for the block (main thread only: Python
    delivers signals there; elsewhere, and when already installed, the block runs unchanged)."""
    if _State.installed or threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {number: signal.signal(number, _handle) for number in STOP_SIGNALS}
    _State.installed, _State.pending = True, None
    try:
        yield
    except KeyboardInterrupt as exc:
        log.warning("%s: every line written is whole; run again with the same --out_dir to continue",
                    exc or "interrupted")
        raise
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
        _State.installed, _State.pending = False, None


@contextlib.contextmanager
def deferred_signals() -> Iterator[None]:
    """Hold a stop signal until the block ends; then stop as if it had just arrived."""
    _State.depth += 1
    try:
        yield
    finally:
        _State.depth -= 1
    if _State.depth == 0 and _State.pending is not None and _State.installed:
        signum, _State.pending = _State.pending, None
        _stop(signum)
