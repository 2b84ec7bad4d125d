"""A nightly `run` as cron meets it: the output directory belongs to one model, cumulative exports,
progress without a terminal, a prompt stop, one log to follow, library warnings once."""

from __future__ import annotations

import dataclasses
import json
import shutil
from pathlib import Path

import pytest

from conftest import run_cli
from crashtransformer.run.artifacts import REJECTS, REPORT, SUMMARIES, read_csv_rows
from test_run import FAST, _ids, _write_crashes


def _run(data: Path, model: Path, out: Path, cwd: Path, *extra: str):
    return run_cli("run", "--csv", str(data), "--model", str(model), "--out_dir", str(out), *FAST, *extra, cwd=cwd)


def test_another_model_is_refused_on_a_filled_out_dir_and_rows_name_their_model(tmp_path, tiny_bart):
    data = _write_crashes(tmp_path / "night.csv", 6)
    out = tmp_path / "out"
    assert _run(data, tiny_bart, out, tmp_path).returncode == 0
    rows = [json.loads(line) for line in (out / SUMMARIES).read_text().splitlines()]
    fingerprint = rows[0]["model_fingerprint"]
    assert {(r["model"], r["model_fingerprint"]) for r in rows} == {(str(tiny_bart), fingerprint)}
    assert json.loads((out / REPORT).read_text())["model"]["fingerprint"] == fingerprint

    copy = tmp_path / "same-weights-elsewhere"  # the same model copied: the same model
    shutil.copytree(tiny_bart, copy)
    again = _run(data, copy, out, tmp_path)
    assert again.returncode == 0, again.stderr
    report = json.loads((out / REPORT).read_text())
    assert report["counts"]["files_skipped_already_done"] == 1
    assert report["model"]["directory"] == str(copy)  # a run with nothing new still names its model

    retrained = tmp_path / "retrained"
    shutil.copytree(tiny_bart, retrained)
    config = json.loads((retrained / "generation_config.json").read_text())
    (retrained / "generation_config.json").write_text(json.dumps({**config, "num_beams": 3}))
    refused = _run(data, retrained, out, tmp_path)
    assert refused.returncode == 2
    message = refused.stderr.strip().splitlines()[-1]
    assert str(tiny_bart) in message and str(retrained) in message and "--out_dir" in message
    assert len(_ids(out)) == 6 and json.loads((out / REPORT).read_text())["model"]["directory"] == str(copy)


def test_a_cumulative_export_counts_yesterdays_crashes_as_done(tmp_path, tiny_bart):
    """Yesterday's file, then today's: the same rows plus new ones. Exit 0, no rejects."""
    from crashtransformer.data.records import CrashRecord, iter_records
    from crashtransformer.data.writers import write_records

    yesterday = _write_crashes(tmp_path / "export-1.csv", 8, seed=5)
    records = [r for r in iter_records(yesterday) if isinstance(r, CrashRecord)]
    extra = [r for r in iter_records(_write_crashes(tmp_path / "new.csv", 3, seed=6)) if isinstance(r, CrashRecord)]
    amended = [dataclasses.replace(records[0], narrative=records[0].narrative + " Amended.")]
    today = tmp_path / "export-2.csv"
    write_records(amended + records[1:] + extra, today)
    out = tmp_path / "out"
    assert _run(yesterday, tiny_bart, out, tmp_path).returncode == 0
    result = _run(today, tiny_bart, out, tmp_path)
    assert result.returncode == 0, result.stderr
    counts = json.loads((out / REPORT).read_text())["counts"]
    assert (counts["summarized"], counts["skipped_already_done"], counts["rejected"]) == (3, 8, 0)
    assert read_csv_rows(out / REJECTS) == []
    assert sorted(_ids(out)) == sorted(r.crash_id for r in records + extra)
    assert "1 Crash_IDs already summarized have another narrative" in result.stderr


class _NeverDone:
    """A CTranslate2 asynchronous result whose batch never finishes."""

    def done(self) -> bool:
        return False


def test_a_stop_signal_reaches_run_while_ctranslate2_decodes():
    """CTranslate2 decodes in its own threads; `run` waits for it in Python, so SIGINT/SIGTERM
    stop it at once rather than when the chunk's last batch is done."""
    import os
    import signal
    import threading

    from crashtransformer.infer.ctranslate2 import wait_for
    from crashtransformer.run.signals import stop_on_signals

    timer = threading.Timer(0.2, os.kill, (os.getpid(), signal.SIGTERM))
    with pytest.raises(KeyboardInterrupt, match="SIGTERM"), stop_on_signals():
        timer.start()
        wait_for([_NeverDone()])


def test_progress_is_logged_on_a_timer_while_a_chunk_generates(tmp_path, tiny_bart, inprocess_cli, monkeypatch):
    """Without a terminal, progress lines come every PROGRESS_EVERY_SECONDS from a timer, counting
    the crashes generated so far, even in a file smaller than one chunk."""
    from crashtransformer.run import report

    monkeypatch.setattr(report, "PROGRESS_EVERY_SECONDS", 0.05)
    data = _write_crashes(tmp_path / "small.csv", 12)
    result = inprocess_cli("run", "--csv", str(data), "--model", str(tiny_bart), "--out_dir", str(tmp_path / "out"),
                           "--num_beams", "1", "--num_candidates", "1", "--num_samples", "2", "--max_new_tokens", "8",
                           "--batch_size", "1", "--backend", "torch")
    assert result.exit_code == 0, result.output
    log = (tmp_path / "logs" / "crashtransformer-latest.log").read_text()
    before_done = log[:log.index("done: 12 summarized")]
    counts = [float(line.split("progress: ")[1].split("/")[0]) for line in before_done.splitlines() if "progress: " in line]
    assert any(0 < count < 12 for count in counts), counts  # inside the one chunk


def test_library_warnings_go_to_the_log_once(tmp_path, inprocess_cli):
    """A transformers warning raised on every batch is one line in the log file, none on the console."""
    import logging
    import warnings

    result = inprocess_cli("prepare-data", "--source", "synthetic", "--num_examples", "5",
                           "--output", str(tmp_path / "d.csv"))
    assert result.exit_code == 0, result.output
    with warnings.catch_warnings():  # pytest records warnings itself: hand them to logging as the CLI does
        logging.captureWarnings(False)
        logging.captureWarnings(True)
        for _ in range(7):
            logging.getLogger("transformers.generation.utils").warning("Both max_new_tokens and max_length seem set")
            warnings.warn("a library's UserWarning", UserWarning)
    logging.captureWarnings(False)
    log = (tmp_path / "logs" / "crashtransformer-latest.log").read_text()
    assert log.count("Both max_new_tokens and max_length seem set") == 1
    assert log.count("UserWarning: a library's UserWarning") == 1
    assert (tmp_path / "logs" / "crashtransformer-latest.log").is_symlink()
