"""`train`: the task the config names, run by its own module; each returns the output directory.

A run that fails (any exception, Ctrl-C included) in an output directory it made itself, or found
empty, removes that directory again when nothing worth keeping is in it, so a typo in --model_name
leaves no empty folder behind. A directory that held anything before is never touched.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from crashtransformer.core.config import TrainConfig
from crashtransformer.core.errors import UserError
from crashtransformer.core.io import disk_full_is_retry
from crashtransformer.core.logs import log
from crashtransformer.train.classification import train_classification
from crashtransformer.train.common import output_dir_of
from crashtransformer.train.seq2seq import train_seq2seq
from crashtransformer.train.tagging import train_ner

TASKS = {"seq2seq": train_seq2seq, "classification": train_classification, "ner": train_ner}

# What a run writes before its first checkpoint: TensorBoard event files in logs/. A failed run
# with only these has nothing worth keeping: no model to resume from, and its log lines are in the
# command's own log file (--log_dir), outside the output directory.
EARLY_DIR = "logs"
EARLY_FILE_PREFIX = "events.out.tfevents."
# What a full disk's message tells a `train` user to do (a checkpoint cut short is skipped on resume).
RESUME_AFTER_FULL_DISK = "run the same command with --resume_from_checkpoint auto: it goes on from the last whole checkpoint"


def train(cfg: TrainConfig) -> Path:
    """Run the task named by `cfg.task`; return the output directory."""
    if cfg.task not in TASKS:
        raise UserError(f"unknown --task {cfg.task!r}: use {', '.join(TASKS)}")
    out = output_dir_of(cfg)
    made_from = _first_new_directory(out)
    try:
        with disk_full_is_retry(out, RESUME_AFTER_FULL_DISK):
            return TASKS[cfg.task](cfg)
    except BaseException:
        if made_from is not None and int(os.environ.get("RANK", 0)) == 0:  # other processes may still write
            _remove_if_nothing_kept(out, made_from)
        raise


def _first_new_directory(out: Path) -> Path | None:
    """The outermost directory of `out` that a run would make (or `out` when it is empty now);
    None when `out` holds anything already (or is not a directory): then it is never removed."""
    if out.exists():
        return out if out.is_dir() and not any(out.iterdir()) else None
    first = out
    while not first.parent.exists() and first.parent != first:
        first = first.parent
    return first


def _only_early_files(out: Path) -> bool:
    """`out` holds nothing but logs/ with TensorBoard event files (or nothing at all)."""
    for path in out.iterdir():
        if path.name != EARLY_DIR or not path.is_dir():
            return False
        if any(not (p.is_file() and p.name.startswith(EARLY_FILE_PREFIX)) for p in path.iterdir()):
            return False
    return True


def _remove_if_nothing_kept(out: Path, made_from: Path) -> None:
    """Remove `out` and the empty directories above it up to `made_from`, when `out` holds nothing
    but what a run writes before its first checkpoint."""
    if not out.is_dir() or not _only_early_files(out):
        return
    shutil.rmtree(out, ignore_errors=True)
    for directory in out.parents:
        if not directory.is_relative_to(made_from):
            break
        try:
            directory.rmdir()  # only when empty
        except OSError:
            break
    if not out.exists():
        log.info("removed %s: the run stopped before it wrote anything worth keeping", made_from)
