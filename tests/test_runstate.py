"""Lock, torn-line repair and input ledger: the pieces that make `run` cron-safe."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from conftest import REPO
from crashtransformer.core.io import file_digest
from crashtransformer.run.state import (DirectoryLock, InputLedger, LockedError, append_jsonl,
                                       iter_jsonl, cut_torn_tail)


def _hold_lock_in_child(directory):
    code = ("import sys, time; from crashtransformer.run.state import DirectoryLock\n"
            f"lock = DirectoryLock({str(directory)!r}).__enter__(); print('held', flush=True); time.sleep(60)")
    child = subprocess.Popen([sys.executable, "-c", code], cwd=REPO, stdout=subprocess.PIPE, text=True)
    assert child.stdout.readline().strip() == "held"
    return child


def test_second_holder_is_refused_at_once_with_the_holder_named(tmp_path):
    child = _hold_lock_in_child(tmp_path)
    try:
        started = time.monotonic()
        with pytest.raises(LockedError, match=f"pid {child.pid}") as caught:
            with DirectoryLock(tmp_path):
                pass
        assert time.monotonic() - started < 1.0
        assert caught.value.exit_code == 4
    finally:
        child.kill()
        child.wait()


def test_lock_of_a_killed_holder_is_taken_over(tmp_path):
    child = _hold_lock_in_child(tmp_path)
    os.kill(child.pid, signal.SIGKILL)
    child.wait()
    with DirectoryLock(tmp_path):  # the kernel released the dead holder's lock
        assert "pid" in (tmp_path / ".lock").read_text()


def test_torn_last_line_is_cut_and_whole_lines_kept(tmp_path):
    path = tmp_path / "out.jsonl"
    append_jsonl(path, [{"Crash_ID": "1"}, {"Crash_ID": "2"}])
    with open(path, "a") as handle:
        handle.write('{"Crash_ID": "3", "best_su')  # a kill mid-write
    assert cut_torn_tail(path) > 0
    assert [row["Crash_ID"] for row in iter_jsonl(path)] == ["1", "2"]
    assert cut_torn_tail(path) == 0


def test_ledger_remembers_content_not_names(tmp_path):
    data = tmp_path / "crashes.csv"
    data.write_text("Crash_ID,Narrative\n1,text\n")
    ledger = InputLedger(tmp_path / "out")
    (tmp_path / "out").mkdir()
    digest = file_digest(data)
    ledger.mark_done(digest, str(data), rows=1)
    assert InputLedger(tmp_path / "out").is_done(digest)
    data.write_text("Crash_ID,Narrative\n1,changed text\n")
    assert not InputLedger(tmp_path / "out").is_done(file_digest(data))


def _summary(crash_id: str) -> dict:
    return {"Crash_ID": crash_id, "narrative_sha256": "00ff00ff00ff00ff", "summary": f"summary of {crash_id}",
            "metrics": {}}


def test_merging_a_part_streams_it_in_batches_taking_each_crash_once(tmp_path, monkeypatch):
    """A rank's part is merged a batch at a time (memory flat): every crash the main store
    lacks arrives once, with its graph, in order; crashes it holds already are left alone."""
    from crashtransformer.run import artifacts
    from crashtransformer.run.artifacts import GRAPHS, ArtifactStore, iter_paired

    monkeypatch.setattr(artifacts, "MERGE_BATCH", 4)
    main, part = ArtifactStore(tmp_path / "main").open(), ArtifactStore(tmp_path / "part").open()
    main.append_chunk([{"Crash_ID": "C0", "events": []}], [_summary("C0")])
    ids = [f"C{n}" for n in range(11)]
    part.append_chunk([{"Crash_ID": i, "events": []} for i in ids], [_summary(i) for i in ids])
    main.append_rejects([{"source_sha256": "s", "row_number": 1, "Crash_ID": "R1"}])
    part.append_rejects([{"source_sha256": "s", "row_number": n, "Crash_ID": f"R{n}"} for n in range(1, 7)])

    assert main.merge_from(part) == (10, 5, 1)
    merged = list(iter_paired(main.dir))
    assert [s["Crash_ID"] for s, _ in merged] == ids
    assert all(graph is not None and graph["Crash_ID"] == s["Crash_ID"] for s, graph in merged)
    assert len(list(iter_jsonl(main.path(GRAPHS)))) == 11
    assert main.merge_from(part) == (0, 0, 6)  # merging again adds nothing


def test_a_full_disk_is_told_from_other_failures(tmp_path, monkeypatch):
    """By errno or the library's words always; by a nearly full disk only for a failed write:
    a shape error in training on a nearly full disk is not put down to the disk."""
    import errno

    from crashtransformer.core import io

    target = tmp_path / "model.safetensors"
    assert io.is_no_space(OSError(errno.ENOSPC, "No space left on device"))
    assert io.is_no_space(RuntimeError("Error while serializing: IoError(Os { code: 28, kind: StorageFull })"))
    assert not io.is_no_space(OSError(errno.EACCES, "Permission denied"), target)
    monkeypatch.setattr(io, "_nearly_full", lambda path: True)
    assert io.is_no_space(RuntimeError("PytorchStreamWriter failed writing file data/0: file write failed"), target)
    assert io.is_no_space(RuntimeError("[enforce fail at inline_container.cc:672] . unexpected pos 499072 vs 498960"),
                          target)
    assert io.is_no_space(OSError(errno.EIO, "Input/output error"), target)
    assert not io.is_no_space(RuntimeError("mat1 and mat2 shapes cannot be multiplied (4x8 and 16x8)"), target)
    assert not io.is_no_space(RuntimeError("file write failed"))  # no path: no guess
