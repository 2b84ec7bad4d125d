"""An input file that changes while `run` reads it (the exporter is still writing it), or that
disappears: the run stops before using a torn row (exit 5, one line naming the file) or reads
on from the open file, and after the fault a rerun ends with every Crash_ID exactly once.

The exporter's writes are made at a chosen moment, from inside the first chunk's processing
(CrashProcessor.process): the same bytes a concurrent writer would add, without a race."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from faults.conftest import FAST, invoke, read_jsonl_strict

FIRST, LATER = 8, 6  # rows on disk when the run starts; rows the exporter adds meanwhile


def _rows(start: int, count: int) -> list[list[str]]:
    from crashtransformer.prepare.synthetic.generator import generate_records

    records = list(generate_records(start + count, seed=13))[start:]
    return [[f"E{start + i:02d}", record.narrative] for i, record in enumerate(records)]


def _csv_text(rows: list[list[str]], header: bool = False) -> str:
    buffer = io.StringIO()
    csv.writer(buffer).writerows(([["Crash_ID", "Narrative"]] if header else []) + rows)
    return buffer.getvalue()


@pytest.fixture
def export(tmp_path) -> Path:
    path = tmp_path / "export.csv"
    path.write_text(_csv_text(_rows(0, FIRST), header=True), encoding="utf-8")
    return path


def _append(path: Path, text: str) -> None:
    with path.open("a", encoding="utf-8") as handle:
        handle.write(text)


def _during_first_chunk(monkeypatch, action) -> None:
    """Run `action` once, while the first chunk is being processed."""
    from crashtransformer.run.crash import CrashProcessor

    original, calls = CrashProcessor.process, []

    def process(self, records, *args, **kwargs):
        if not calls:
            calls.append(1)
            action()
        return original(self, records, *args, **kwargs)

    monkeypatch.setattr(CrashProcessor, "process", process)


def _run(data: Path, model: Path, out: Path):
    return invoke("run", "--csv", str(data), "--model", str(model), "--out_dir", str(out), "--chunk_size", "4",
                  *FAST, cwd=out.parent, log_level="WARNING")


def _ids(out: Path) -> list[str]:
    return [row["Crash_ID"] for row in read_jsonl_strict(out / "crash_summaries.jsonl")]


def test_file_still_being_written_stops_the_run_and_the_rerun_takes_the_rest(export, good_model, tmp_path,
                                                                            monkeypatch):
    later = _rows(FIRST, LATER)
    complete, torn = _csv_text(later[:-1]), _csv_text(later[-1:])
    cut = len(torn) // 2  # the exporter stops mid-row: the last row is half on disk
    _during_first_chunk(monkeypatch, lambda: _append(export, complete + torn[:cut]))
    out = tmp_path / "out"

    result = _run(export, good_model, out)
    lines = result.console_lines()
    assert result.exit_code == 5 and len(lines) == 1, (result.exit_code, lines)
    assert f"input {export} changed while it was read" in lines[0] and "run the same command again" in lines[0]
    assert "Traceback" not in result.stderr
    assert _ids(out) == [f"E{i:02d}" for i in range(4)]  # the first chunk only: nothing from the torn part
    assert not (out / "processed_inputs.json").exists()

    monkeypatch.undo()
    _append(export, torn[cut:])  # the exporter finishes
    again = _run(export, good_model, out)
    assert again.exit_code == 0, again.stderr
    assert sorted(_ids(out)) == [f"E{i:02d}" for i in range(FIRST + LATER)]
    assert "another narrative" not in again.log_text()  # no crash was summarized from half its row


def test_file_removed_while_read_is_read_on_to_the_end(export, good_model, tmp_path, monkeypatch):
    _during_first_chunk(monkeypatch, export.unlink)
    out = tmp_path / "out"
    result = _run(export, good_model, out)
    assert result.exit_code == 0, result.stderr
    assert sorted(_ids(out)) == [f"E{i:02d}" for i in range(FIRST)]


def test_file_renamed_over_while_read_reads_the_old_one_then_the_rerun_the_new(export, good_model, tmp_path,
                                                                              monkeypatch):
    newer = tmp_path / "export.csv.new"
    newer.write_text(_csv_text(_rows(0, FIRST + LATER), header=True), encoding="utf-8")
    _during_first_chunk(monkeypatch, lambda: newer.replace(export))  # how careful exporters deliver
    out = tmp_path / "out"
    assert _run(export, good_model, out).exit_code == 0
    assert sorted(_ids(out)) == [f"E{i:02d}" for i in range(FIRST)]

    monkeypatch.undo()
    again = _run(export, good_model, out)
    assert again.exit_code == 0, again.stderr
    assert sorted(_ids(out)) == [f"E{i:02d}" for i in range(FIRST + LATER)]
    assert json.loads((out / "run_report.json").read_text())["counts"]["summarized"] == LATER


def test_file_gone_before_it_is_read_is_one_line_and_nothing_is_done(export, good_model, tmp_path, monkeypatch):
    import crashtransformer.run.pipeline as pipeline

    original = pipeline.check_model

    def check_model_then_lose_the_file(*args, **kwargs):  # between the glob and the first read
        export.unlink()
        return original(*args, **kwargs)

    monkeypatch.setattr(pipeline, "check_model", check_model_then_lose_the_file)
    out = tmp_path / "out"
    result = _run(export, good_model, out)
    lines = result.console_lines()
    assert result.exit_code == 5 and len(lines) == 1 and f"input {export} disappeared before it was read" in lines[0]
    assert not _ids(out)
