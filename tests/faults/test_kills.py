"""`run` killed at several points, stopped by SIGTERM, and started twice on one output directory.

Kill points here (each followed by a rerun that must give every Crash_ID exactly once):
  1. SIGKILL during the first chunk: the lock is held, rows are being generated, nothing appended;
  2. SIGKILL between chunks: the process is frozen (SIGSTOP) at a moment when every artifact holds
     whole chunks only, then killed;
  3. a kill while writing: torn last lines in all four artifacts plus graph and metric rows of a
     crash whose summary never landed (what SIGKILL between append_chunk's writes leaves);
  4. SIGTERM mid-run: exit 130 after the current write; artifacts consistent without any repair.
tests/test_run.py has a fifth (SIGKILL at a random point mid-run) and tests/test_train.py the
`train` kill-and-resume; tests/test_runstate.py the lock and torn-line units.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import REPO
from faults.conftest import FAST, console_lines, invoke, read_csv, read_jsonl_strict

ROWS = 50  # crashes per kill test: ten chunks of 5, so a kill lands part-way
GRAPHS, SUMMARIES, METRICS, REJECTS = "crash_graphs.jsonl", "crash_summaries.jsonl", "summaries_metrics.csv", "rejects.csv"


def _crashes(path: Path, count: int, seed: int) -> Path:
    from crashtransformer.prepare.synthetic.generator import generate_records
    from crashtransformer.data.writers import write_records

    write_records(list(generate_records(count, seed=seed)), path)
    with open(path, encoding="utf-8", newline="") as handle:
        header = next(csv.reader(handle))
    with open(path, "a", encoding="utf-8", newline="") as handle:  # one blank narrative: a reject
        csv.DictWriter(handle, header, restval="").writerow({"Narrative": "   ", "Crash_ID": "BLANK-1"})
    return path


def _start_run(data: Path, model: Path, out: Path, cwd: Path, chunk_size: int) -> subprocess.Popen:
    command = [sys.executable, str(REPO / "crashtransformer.py"), "--log_dir", str(cwd / "logs"), "run",
               "--csv", str(data), "--model", str(model), "--out_dir", str(out), "--chunk_size", str(chunk_size),
               "--batch_size", "4", *FAST]
    stderr = open(cwd / "stderr.txt", "w")
    return subprocess.Popen(command, cwd=cwd, stdout=subprocess.DEVNULL, stderr=stderr,
                            env={**os.environ, "OMP_NUM_THREADS": "1"})


def _wait_until(condition, process: subprocess.Popen, what: str, timeout: float = 120) -> None:
    deadline = time.time() + timeout
    while not condition():
        assert process.poll() is None, f"run ended (exit {process.returncode}) before {what}"
        assert time.time() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)


def _lines(path: Path) -> int:
    return path.read_bytes().count(b"\n") if path.exists() else 0


def _whole_chunks_only(out: Path) -> bool:
    """Every artifact ends on a line end and graphs/metrics match the summaries one for one."""
    names = [out / n for n in (GRAPHS, SUMMARIES, METRICS, REJECTS)]
    if not all(p.exists() and p.read_bytes().endswith(b"\n") for p in names):
        return False
    done = _lines(out / SUMMARIES)
    return done > 0 and _lines(out / GRAPHS) == done and _lines(out / METRICS) == done + 1


def _assert_exactly_once(out: Path, total_rows: int) -> list[str]:
    """After a finished rerun: every row summarized or rejected once; every line whole."""
    summaries = read_jsonl_strict(out / SUMMARIES)
    graphs = read_jsonl_strict(out / GRAPHS)
    ids = [row["Crash_ID"] for row in summaries]
    rejects = read_csv(out / REJECTS)
    assert len(ids) == len(set(ids)), "a crash was summarized twice"
    assert len(ids) + len(rejects) == total_rows, "rows lost"
    assert sorted(g["Crash_ID"] for g in graphs) == sorted(ids)
    assert sorted(r["Crash_ID"].removeprefix("'") for r in read_csv(out / METRICS)) == sorted(ids)
    return ids


def _rerun(data: Path, model: Path, out: Path, cwd: Path):
    return invoke("run", "--csv", str(data), "--model", str(model), "--out_dir", str(out), "--chunk_size", "10",
                  *FAST, cwd=cwd)


# ----------------------------------------------------------------------------- 1: during the first chunk


def test_sigkill_during_the_first_chunk_then_rerun_takes_the_lock_over(tmp_path, good_model):
    data = _crashes(tmp_path / "crashes.csv", ROWS, seed=21)
    out = tmp_path / "out"
    process = _start_run(data, good_model, out, tmp_path, chunk_size=ROWS + 1)  # one chunk holds every row
    _wait_until(lambda: any("processing" in p.read_text() for p in (tmp_path / "logs").glob("*.log")),
                process, "the first chunk started")
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert _lines(out / SUMMARIES) == 0, "the kill landed after the first chunk"
    assert f"pid {process.pid}" in (out / ".lock").read_text()  # the dead run's lock file is left behind

    result = _rerun(data, good_model, out, tmp_path)
    assert result.exit_code == 3, result.stderr  # 3: the blank row is rejected; not 4: the lock was taken over
    assert len(_assert_exactly_once(out, ROWS + 1)) == ROWS


# ----------------------------------------------------------------------------- 2 and 3: between chunks, while writing


@pytest.fixture(scope="module")
def between_chunks(tmp_path_factory, good_model):
    """A run killed at a chunk boundary; meanwhile a second run was tried on the same directory."""
    cwd = tmp_path_factory.mktemp("between")
    data = _crashes(cwd / "crashes.csv", ROWS, seed=22)
    out = cwd / "out"
    process = _start_run(data, good_model, out, cwd, chunk_size=5)
    _wait_until(lambda: (out / ".lock").exists() and f"pid {process.pid}" in (out / ".lock").read_text(),
                process, "the lock was taken")
    started = time.monotonic()
    second = invoke("run", "--csv", str(data), "--model", str(good_model), "--out_dir", str(out), *FAST, cwd=cwd)
    second_seconds = time.monotonic() - started
    while True:
        _wait_until(lambda: _lines(out / SUMMARIES) >= 10 and _whole_chunks_only(out), process, "two chunks")
        process.send_signal(signal.SIGSTOP)  # frozen: the files cannot change under the check
        if _whole_chunks_only(out):
            break
        process.send_signal(signal.SIGCONT)  # a write began between the check and the stop
    process.send_signal(signal.SIGKILL)
    process.wait()
    done = _lines(out / SUMMARIES)
    assert 0 < done < ROWS, "the kill must land part-way"
    snapshot = cwd / "killed"
    shutil.copytree(out, snapshot)
    return {"data": data, "killed": snapshot, "done": done, "pid": process.pid,
            "second": second, "second_seconds": second_seconds}


def test_second_run_on_a_busy_directory_is_refused_at_once(between_chunks):
    second = between_chunks["second"]
    assert second.exit_code == 4 and between_chunks["second_seconds"] < 10
    assert f"in use by pid {between_chunks['pid']}" in second.console_lines()[-1]
    assert "Traceback" not in second.stderr


def test_sigkill_between_chunks_then_rerun(tmp_path, good_model, between_chunks):
    out = tmp_path / "out"
    shutil.copytree(between_chunks["killed"], out)
    result = _rerun(between_chunks["data"], good_model, out, tmp_path)
    assert result.exit_code == 3, result.stderr
    assert len(_assert_exactly_once(out, ROWS + 1)) == ROWS
    counts = json.loads((out / "run_report.json").read_text())["counts"]
    assert counts["skipped_already_done"] == between_chunks["done"]  # not generated twice


def test_kill_while_writing_leaves_torn_lines_that_the_rerun_repairs(tmp_path, good_model, between_chunks):
    out = tmp_path / "out"
    shutil.copytree(between_chunks["killed"], out)
    summaries = read_jsonl_strict(out / SUMMARIES)
    graphs = read_jsonl_strict(out / GRAPHS)
    orphan = {**graphs[-1], "Crash_ID": "ORPHAN-1"}  # its graph and metrics landed, its summary did not
    with open(out / GRAPHS, "a", encoding="utf-8") as handle:
        handle.write(json.dumps(orphan) + "\n" + json.dumps(graphs[0])[:40])
    with open(out / METRICS, "a", encoding="utf-8") as handle:
        handle.write("ORPHAN-1,crashes.csv,12,40\n" + "C-torn,crashes.c")
    with open(out / SUMMARIES, "a", encoding="utf-8") as handle:
        handle.write(json.dumps(summaries[0])[:50])
    with open(out / REJECTS, "a", encoding="utf-8") as handle:
        handle.write('crashes.csv,999,C-torn,narrative,empty_narr')

    result = _rerun(between_chunks["data"], good_model, out, tmp_path)
    assert result.exit_code == 3, result.stderr
    ids = _assert_exactly_once(out, ROWS + 1)
    assert len(ids) == ROWS and "ORPHAN-1" not in ids
    assert all(r["Crash_ID"] != "C-torn" for r in read_csv(out / REJECTS))


def test_rejects_recorded_before_a_kill_keep_the_rerun_partial(tmp_path, good_model):
    """A kill after a chunk's rejects landed but before its summaries did: the rerun must not
    reject the row twice, and must still exit 3 (the output holds a rejected row)."""
    data = _crashes(tmp_path / "crashes.csv", 6, seed=24)
    out = tmp_path / "out"
    assert _rerun(data, good_model, out, tmp_path).exit_code == 3
    for name in (SUMMARIES, GRAPHS):  # as the kill left them: rejects.csv only
        (out / name).write_text("")
    (out / METRICS).write_text((out / METRICS).read_text().splitlines(keepends=True)[0])
    (out / "processed_inputs.json").unlink()

    result = _rerun(data, good_model, out, tmp_path)
    assert result.exit_code == 3, result.stderr
    assert len(_assert_exactly_once(out, 7)) == 6
    counts = json.loads((out / "run_report.json").read_text())["counts"]
    assert (counts["rejected"], counts["rejected_earlier"]) == (0, 1)


# ----------------------------------------------------------------------------- 4: SIGTERM


def test_sigterm_finishes_the_current_write_and_exits_130(tmp_path, good_model):
    data = _crashes(tmp_path / "crashes.csv", ROWS, seed=23)
    out = tmp_path / "out"
    process = _start_run(data, good_model, out, tmp_path, chunk_size=5)
    _wait_until(lambda: _lines(out / SUMMARIES) >= 10, process, "two chunks")
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=60) == 130
    stderr = (tmp_path / "stderr.txt").read_text()
    assert "Traceback" not in stderr
    assert console_lines(stderr)[-1] == "interrupted"  # the KeyboardInterrupt path, as on Ctrl-C
    assert "stopped by SIGTERM" in stderr
    # whole lines, and graphs/metrics/summaries agree one for one before any repair
    assert _whole_chunks_only(out)
    done = len(read_jsonl_strict(out / SUMMARIES))
    assert 0 < done < ROWS
    assert (out / ".lock").read_text() == ""  # released on the way out

    result = _rerun(data, good_model, out, tmp_path)
    assert result.exit_code == 3, result.stderr
    assert len(_assert_exactly_once(out, ROWS + 1)) == ROWS


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_a_stop_signal_during_a_write_waits_for_the_write(tmp_path, signum):
    from crashtransformer.run.signals import deferred_signals, stop_on_signals

    previous = signal.getsignal(signum)
    target = tmp_path / "artifact.jsonl"
    with pytest.raises(KeyboardInterrupt, match=signal.Signals(signum).name):
        with stop_on_signals():
            with deferred_signals():
                target.write_text('{"Crash_ID": "1"}\n')
                os.kill(os.getpid(), signum)  # arrives mid-write
                with open(target, "a") as handle:
                    handle.write('{"Crash_ID": "2"}\n')
            raise AssertionError("the held signal must stop the run once the write is done")
    assert target.read_text().count("\n") == 2
    assert signal.getsignal(signum) == previous  # handlers restored
