"""Shared fixtures: tiny models built offline with `init-model`, never downloaded."""

from __future__ import annotations

import contextlib
import itertools
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # tests must never reach for a hub
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


def run_cli(*args: str, cwd: Path | None = None, check: bool = False, timeout: int = 600,
            env: dict | None = None) -> subprocess.CompletedProcess:
    """Run `python crashtransformer.py ARGS` as a user would; logs go to the test's cwd."""
    result = subprocess.run(
        [sys.executable, str(REPO / "crashtransformer.py"), *args],
        cwd=cwd or REPO, capture_output=True, text=True, timeout=timeout,
        env={**os.environ, **(env or {})},
    )
    if check and result.returncode != 0:
        raise AssertionError(f"exit {result.returncode}\nstdout:\n{result.stdout}\nstderr:\n{result.stderr}")
    return result


def shared_file(name: str) -> Path:
    """A file from ../shared/data, or skip: a fresh clone may not have it."""
    path = SHARED_DATA / name
    if not path.is_file():
        pytest.skip(f"needs ../shared/data/{name} (real crash narratives), absent in this checkout")
    return path


def _mini_corpus() -> list[str]:
    units = ["Unit 1", "Unit 2", "U1", "V2", "Unit #3"]
    actions = ["failed to control speed and struck", "failed to yield to", "disregarded the signal and hit",
               "changed lanes unsafely into", "backed into", "followed too closely behind"]
    places = ["in the 1200 block of Main St", "at the intersection of Oak Ave and 5th St",
              "on IH 35 northbound", "in a parking lot"]
    return [f"{a} {act} {b} {p}. The driver was not injured."
            for a, act, b, p in itertools.product(units, actions, units, places) if a != b]


@pytest.fixture(scope="session", autouse=True)
def ctranslate2_cache(tmp_path_factory) -> Path:
    """`run --backend auto` converts models into this cache: the session's own, never the user's."""
    path = tmp_path_factory.mktemp("ctranslate2-cache")
    os.environ["CRASHTRANSFORMER_CACHE"] = str(path)
    return path


@pytest.fixture(scope="session")
def corpus_file(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("corpus") / "corpus.txt"
    path.write_text("\n".join(_mini_corpus()) + "\n", encoding="utf-8")
    return path


def _build(arch: str, corpus: Path, out: Path) -> Path:
    from crashtransformer.data.corpus import read_corpus_texts
    from crashtransformer.models.building import build_model

    return build_model(arch, "tiny", read_corpus_texts([str(corpus)]), out, vocab_size=600)


@pytest.fixture(scope="session")
def tiny_bart(tmp_path_factory, corpus_file) -> Path:
    return _build("bart", corpus_file, tmp_path_factory.mktemp("tiny_bart"))


@pytest.fixture(scope="session")
def tiny_t5(tmp_path_factory, corpus_file) -> Path:
    return _build("t5", corpus_file, tmp_path_factory.mktemp("tiny_t5"))


@pytest.fixture(scope="session")
def tiny_pegasus(tmp_path_factory, corpus_file) -> Path:
    return _build("pegasus", corpus_file, tmp_path_factory.mktemp("tiny_pegasus"))


@pytest.fixture(scope="session")
def tiny_encoder(tmp_path_factory) -> Path:
    """A tiny BERT encoder (no task head) with a WordPiece vocabulary of crash words, built offline:
    what MiniLM or bert-base is to a real classification or tagging run."""
    from crashtransformer.models.building import build_encoder
    from crashtransformer.prepare.synthetic.generator import generate_records

    texts = _mini_corpus() + [record.narrative for record in generate_records(150, seed=7)]
    return build_encoder(texts, tmp_path_factory.mktemp("tiny_encoder"), vocab_size=1200)


@pytest.fixture
def inprocess_cli(tmp_path):
    """The CLI in this process (imports paid once), on one torch thread: tiny models on a shared CPU
    stall when threads oversubscribe it."""
    import torch
    from click.testing import CliRunner

    from crashtransformer.cli import cli as command_group

    threads = torch.get_num_threads()
    torch.set_num_threads(1)

    def invoke(*args: str):
        return CliRunner().invoke(command_group, ["--log_dir", str(tmp_path / "logs"), *args])

    yield invoke
    torch.set_num_threads(threads)


@contextlib.contextmanager
def captured_log(level: int = logging.DEBUG):
    """Records of the crashtransformer logger at `level` and above, whatever its propagation was set to."""
    from crashtransformer.core.logs import log

    records: list[logging.LogRecord] = []
    handler = logging.Handler(level)
    handler.emit = records.append
    previous = log.level
    log.addHandler(handler)
    log.setLevel(logging.DEBUG)
    try:
        yield records
    finally:
        log.removeHandler(handler)
        log.setLevel(previous)
