"""State files of a `run` directory found damaged: the ledger, an artifact line, a lock file of
another host. Each is refused with one line that names the file and says what to do, or taken
over safely; after the fix, every Crash_ID is in the directory exactly once."""

from __future__ import annotations

import csv
import json
import socket
from pathlib import Path

import pytest

from faults.conftest import FAST, invoke, read_csv, read_jsonl_strict

ROWS = 12


@pytest.fixture
def crashes(tmp_path) -> Path:
    from crashtransformer.prepare.synthetic.generator import generate_records

    path = tmp_path / "crashes.csv"
    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["Crash_ID", "Narrative"])
        for index, record in enumerate(generate_records(ROWS, seed=11)):
            writer.writerow([f"S{index:02d}", record.narrative])
    return path


def _run(data: Path, model: Path, out: Path, *extra: str):
    return invoke("run", "--csv", str(data), "--model", str(model), "--out_dir", str(out), "--chunk_size", "4",
                  *FAST, *extra, cwd=out.parent, log_level="WARNING")


def _one_error_line(result) -> str:
    lines = result.console_lines()
    assert result.exit_code == 2 and len(lines) == 1 and lines[0].startswith("error: "), (result.exit_code, lines)
    assert "Traceback" not in result.stderr
    return lines[0]


def _assert_exactly_once(out: Path) -> None:
    ids = [row["Crash_ID"] for row in read_jsonl_strict(out / "crash_summaries.jsonl")]
    assert sorted(ids) == [f"S{index:02d}" for index in range(ROWS)]
    assert sorted(g["Crash_ID"] for g in read_jsonl_strict(out / "crash_graphs.jsonl")) == sorted(ids)
    assert sorted(r["Crash_ID"] for r in read_csv(out / "summaries_metrics.csv")) == sorted(ids)


DAMAGED_LEDGERS = {
    "truncated": lambda text: text[: len(text) // 2],
    "garbage_bytes": lambda text: "\x00\x00\ufffd\x9c garbage",
    "not_a_ledger": lambda text: json.dumps(["a", "list"]),
    "empty": lambda text: "",
}


@pytest.mark.parametrize("damage", sorted(DAMAGED_LEDGERS))
def test_damaged_ledger_is_refused_then_rebuilt_without_repeating_a_crash(damage, crashes, good_model, tmp_path):
    out = tmp_path / "out"
    assert _run(crashes, good_model, out).exit_code == 0
    ledger = out / "processed_inputs.json"
    ledger.write_text(DAMAGED_LEDGERS[damage](ledger.read_text()), encoding="utf-8", errors="surrogateescape")
    before = {p.name: p.read_bytes() for p in out.iterdir() if p.suffix in (".jsonl", ".csv")}

    line = _one_error_line(_run(crashes, good_model, out))
    assert str(ledger) in line and "damaged" in line and "--rebuild_ledger" in line
    assert {p.name: p.read_bytes() for p in out.iterdir() if p.suffix in (".jsonl", ".csv")} == before

    rebuilt = _run(crashes, good_model, out, "--rebuild_ledger")
    assert rebuilt.exit_code == 0, rebuilt.stderr
    counts = json.loads((out / "run_report.json").read_text())["counts"]
    assert counts["summarized"] == 0 and counts["skipped_already_done"] == ROWS  # read again, nothing repeated
    assert len(json.loads(ledger.read_text())) == 1  # the file is entered again
    assert len(list(out.glob("processed_inputs.json.damaged-*"))) == 1  # the damaged one is kept, aside
    _assert_exactly_once(out)


@pytest.mark.parametrize("damage", ["garbage", "not_utf8", "json_list"])
def test_damaged_line_inside_the_summaries_is_named_and_the_fix_it_gives_works(damage, crashes, good_model, tmp_path):
    out = tmp_path / "out"
    assert _run(crashes, good_model, out).exit_code == 0
    path = out / "crash_summaries.jsonl"
    lines = path.read_bytes().splitlines(keepends=True)
    lines[4] = {"garbage": b"{\"Crash_ID\": \"S0\xff\n", "not_utf8": b"\xff\xfe\x00\n", "json_list": b"[1, 2]\n"}[damage]
    path.write_bytes(b"".join(lines))

    line = _one_error_line(_run(crashes, good_model, out))
    assert f"{path} line 5 is damaged" in line and "delete that line and run again with --rebuild_ledger" in line

    path.write_bytes(b"".join(lines[:4] + lines[5:]))  # what the message says to do
    again = _run(crashes, good_model, out, "--rebuild_ledger")
    assert again.exit_code == 0, again.stderr
    assert json.loads((out / "run_report.json").read_text())["counts"]["summarized"] == 1  # that crash, again
    _assert_exactly_once(out)


def test_lock_file_left_by_another_host_is_taken_over_with_a_warning(crashes, good_model, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / ".lock").write_text("pid 4242 on build-07.example.org since 2026-11-30 02:15:00\n")
    result = _run(crashes, good_model, out)
    assert result.exit_code == 0, result.stderr
    warning = [line for line in result.console_lines() if "build-07.example.org" in line]
    assert len(warning) == 1 and "nobody holds the lock now" in warning[0] and "NFS" in warning[0]
    assert (out / ".lock").read_text() == ""  # released on the way out
    _assert_exactly_once(out)


def test_lock_file_of_a_dead_run_on_this_host_is_taken_over_quietly(crashes, good_model, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / ".lock").write_text(f"pid 4242 on {socket.gethostname()} since 2026-11-30 02:15:00\n")
    result = _run(crashes, good_model, out)
    assert result.exit_code == 0 and result.console_lines() == [], result.stderr
    assert "taking over" in result.log_text()
    _assert_exactly_once(out)
