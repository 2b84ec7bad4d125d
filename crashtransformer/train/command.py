"""`train`: the task the config names, run by its own module; each returns the output directory."""

from __future__ import annotations

from pathlib import Path

from crashtransformer.core.config import TrainConfig
from crashtransformer.core.errors import UserError
from crashtransformer.train.classification import train_classification
from crashtransformer.train.seq2seq import train_seq2seq
from crashtransformer.train.tagging import train_ner

TASKS = {"seq2seq": train_seq2seq, "classification": train_classification, "ner": train_ner}


def train(cfg: TrainConfig) -> Path:
    """Run the task named by `cfg.task`; return the output directory."""
    if cfg.task not in TASKS:
        raise UserError(f"unknown --task {cfg.task!r}: use {', '.join(TASKS)}")
    return TASKS[cfg.task](cfg)
