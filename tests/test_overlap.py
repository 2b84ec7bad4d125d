"""`run --preprocessing_num_workers`: the CPU steps beside generation (run/overlap.py) write the
same artifacts as one process, exactly once under SIGTERM, SIGKILL and errors, within --limit."""

from __future__ import annotations

import json
import multiprocessing
import signal
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import pytest

from conftest import REPO, captured_log, run_cli
from test_run import FAST, _ids, _write_crashes
from crashtransformer.run.artifacts import GRAPHS, METRICS, REJECTS, SUMMARIES
from crashtransformer.run.overlap import GPU_WORKERS, default_chunk_size, default_workers

ARTIFACTS = (SUMMARIES, GRAPHS, METRICS, REJECTS)


def _run(invoke, data: Path, model: Path, out: Path, *extra: str):
    return invoke("run", "--csv", str(data), "--model", str(model), "--out_dir", str(out), "--chunk_size", "10",
                  *FAST, *extra)


def _lines(out: Path, name: str) -> list[str]:
    return (out / name).read_text(encoding="utf-8").splitlines()


def test_workers_write_the_same_artifacts_as_one_process(tmp_path, tiny_bart, inprocess_cli):
    data = _write_crashes(tmp_path / "crashes.csv", 45, bad_rows=True)
    alone, beside = tmp_path / "alone", tmp_path / "beside"
    assert _run(inprocess_cli, data, tiny_bart, alone).exit_code == 3  # 3: partial, the two bad rows
    assert _run(inprocess_cli, data, tiny_bart, beside, "--preprocessing_num_workers", "2").exit_code == 3
    logged = "".join(path.read_text() for path in (tmp_path / "logs").glob("*.log"))
    assert "2 worker processes" in logged
    for name in ARTIFACTS:
        assert _lines(beside, name) == _lines(alone, name), name  # the same rows, in the same order
    assert len(_lines(alone, SUMMARIES)) == 45
    assert multiprocessing.active_children() == []  # the workers stopped with the run


def test_limit_with_workers_summarizes_exactly_that_many(tmp_path, tiny_bart, inprocess_cli):
    data = _write_crashes(tmp_path / "crashes.csv", 40)
    out = tmp_path / "out"
    assert _run(inprocess_cli, data, tiny_bart, out, "--preprocessing_num_workers", "2", "--limit", "15").exit_code == 0
    assert len(_ids(out)) == 15
    assert _run(inprocess_cli, data, tiny_bart, out, "--preprocessing_num_workers", "2").exit_code == 0
    ids = _ids(out)
    assert len(ids) == len(set(ids)) == 40


def test_an_error_with_chunks_in_flight_keeps_whole_lines_and_a_rerun_finishes_once(tmp_path, tiny_bart,
                                                                                    inprocess_cli, monkeypatch):
    from crashtransformer.run.crash import CrashProcessor

    data = _write_crashes(tmp_path / "crashes.csv", 50)
    out, calls = tmp_path / "out", []
    generate = CrashProcessor.generate

    def failing_third(self, *args, **kwargs):
        calls.append(1)
        if len(calls) == 3:
            raise RuntimeError("the device fell off the bus")
        return generate(self, *args, **kwargs)

    monkeypatch.setattr(CrashProcessor, "generate", failing_third)
    result = _run(inprocess_cli, data, tiny_bart, out, "--preprocessing_num_workers", "2")
    assert result.exit_code != 0 and "fell off the bus" in str(result.exception)
    assert multiprocessing.active_children() == []
    written = _ids(out)
    assert len(written) == 10  # chunk 1 written while chunk 2 generated; chunk 2 was still finishing
    monkeypatch.setattr(CrashProcessor, "generate", generate)
    assert _run(inprocess_cli, data, tiny_bart, out, "--preprocessing_num_workers", "2").exit_code == 0
    ids = _ids(out)
    assert len(ids) == len(set(ids)) == 50 and ids[:10] == written


def _children(pid: int) -> set[int]:
    found = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.add(int(stat.parent.name))
    return found


def _start_and_stop(command: list[str], cwd: Path, out: Path, stop: signal.Signals) -> tuple[int, set[int]]:
    """Start `run`, send `stop` once 20 crashes are written; its exit code and its workers' pids."""
    process = subprocess.Popen(command, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline, workers = time.time() + 180, set()
    while time.time() < deadline:
        workers |= _children(process.pid)
        if (out / SUMMARIES).exists() and len(_lines(out, SUMMARIES)) >= 20:
            break
        time.sleep(0.05)
    process.send_signal(stop)
    return process.wait(timeout=120), workers


def _gone(pids: set[int], within: float = 10.0) -> bool:
    deadline = time.time() + within
    while time.time() < deadline:
        if not any(Path(f"/proc/{pid}").exists() for pid in pids):
            return True
        time.sleep(0.1)
    return False


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="finds worker processes through Linux's /proc")
def test_sigterm_and_sigkill_with_workers_then_rerun_gives_every_crash_exactly_once(tmp_path, tiny_bart):
    data = _write_crashes(tmp_path / "many.csv", 150, seed=11)
    out = tmp_path / "out"
    args = ["run", "--csv", str(data), "--model", str(tiny_bart), "--out_dir", str(out), "--chunk_size", "10",
            *FAST, "--preprocessing_num_workers", "2"]
    command = [sys.executable, str(REPO / "crashtransformer.py"), *args]
    code, workers = _start_and_stop(command, tmp_path, out, signal.SIGTERM)
    assert code == 130 and len(workers) >= 2  # the resource tracker and the workers
    assert _gone(workers), "SIGTERM: the workers stop with the run"
    after_term = _ids(out)
    assert 20 <= len(after_term) < 150 and len(set(after_term)) == len(after_term)
    code, workers = _start_and_stop(command, tmp_path, out, signal.SIGKILL)
    assert code == -signal.SIGKILL
    assert _gone(workers), "SIGKILL: the workers die with the run (PR_SET_PDEATHSIG)"
    result = run_cli(*args, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    ids = _ids(out)
    assert len(ids) == len(set(ids)) == 150 and ids[:len(after_term)] == after_term
    graph_ids = [json.loads(line)["Crash_ID"] for line in _lines(out, GRAPHS)]
    assert sorted(graph_ids) == sorted(ids)


# ----------------------------------------------------------------------------- defaults


def _processor(device: str, splits: bool = True):
    processor = SimpleNamespace(summarizer=SimpleNamespace(device=SimpleNamespace(type=device)))
    if splits:
        processor.plan, processor.inputs = (lambda records: None), object()
    return processor


def test_workers_and_chunks_default_by_device_and_task(monkeypatch):
    monkeypatch.setattr("os.cpu_count", lambda: 16)
    assert default_workers(None, _processor("cpu")) == 0  # generation already uses every core
    assert default_workers(None, _processor("cuda")) == GPU_WORKERS
    assert default_workers(3, _processor("cpu")) == 3
    monkeypatch.setattr("os.cpu_count", lambda: 2)
    assert default_workers(None, _processor("cuda")) == 1  # one core left to the main process
    with captured_log() as records:
        assert default_workers(2, _processor("cuda", splits=False)) == 0  # a classifier runs as one
    assert any("for summarizers" in r.getMessage() for r in records)
    assert default_chunk_size(None, _processor("cpu")) == 256
    assert default_chunk_size(None, _processor("cuda")) == 2048
    assert default_chunk_size(7, _processor("cuda")) == 7
