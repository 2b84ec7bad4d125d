"""The disk fills part-way through a write: of crash_summaries.jsonl, of rejects.csv, of the report,
of a training checkpoint, of the log file.

Each test mounts a small tmpfs (`small_disk`), measures what the same command writes on a roomy
disk, and leaves free just enough that the write named fills the disk half-way. It asserts: exit 5
with one console line `error: no space left writing <file> ...` that says what to do, no traceback,
no temporary file left, and, once room is made, a rerun that ends with every Crash_ID exactly once.
"""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import pytest

from faults.conftest import FAST, SmallDisk, invoke, read_csv, read_jsonl_strict

PAGE = 4096  # tmpfs hands out whole pages
GRAPHS, SUMMARIES, METRICS, REJECTS = "crash_graphs.jsonl", "crash_summaries.jsonl", "summaries_metrics.csv", "rejects.csv"


def _pages(size: int) -> int:
    return math.ceil(size / PAGE)


def _crashes(path: Path, good: int, bad: int = 0) -> Path:
    """`good` synthetic crashes and `bad` rows whose narrative is a number (each a reject with its raw row)."""
    from crashtransformer.prepare.synthetic.generator import generate_records

    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["Crash_ID", "Narrative"])
        for index, record in enumerate(generate_records(good, seed=5)):
            writer.writerow([f"G{index:03d}", record.narrative])
        for index in range(bad):
            writer.writerow([f"B{index:03d}", str(10_000_000 + index) * 40])
    return path


def _run(data: Path, model: Path, out: Path, cwd: Path):
    return invoke("run", "--csv", str(data), "--model", str(model), "--out_dir", str(out),
                  "--chunk_size", "1000", "--backend", "torch", *FAST, cwd=cwd)  # one chunk: a known write order


def _sizes(data: Path, model: Path, cwd: Path) -> dict[str, int]:
    """What the same run writes on a roomy disk, file by file."""
    out = cwd / "roomy"
    result = _run(data, model, out, cwd)
    assert result.exit_code in (0, 3), result.stderr
    return {path.name: path.stat().st_size for path in out.iterdir() if path.is_file()}


def _assert_full_disk_line(result, file_name: str) -> None:
    assert result.exit_code == 5, result.stderr
    lines = result.console_lines()
    assert len(lines) == 1 and lines[0].startswith("error: no space left writing "), lines
    assert file_name in lines[0] and "free space" in lines[0] and "run the same command" in lines[0]
    assert "Traceback" not in result.stderr + result.stdout


def _assert_no_temporaries(directory: Path) -> None:
    assert not [p.name for p in directory.rglob("*.tmp")], "a temporary file was left behind"


def _assert_exactly_once(out: Path, good: int, bad: int) -> None:
    summaries = read_jsonl_strict(out / SUMMARIES)
    ids = [row["Crash_ID"] for row in summaries]
    rejects = [row["Crash_ID"] for row in read_csv(out / REJECTS)]
    assert len(ids) == len(set(ids)) == good and len(rejects) == len(set(rejects)) == bad
    assert sorted(g["Crash_ID"] for g in read_jsonl_strict(out / GRAPHS)) == sorted(ids)
    assert sorted(r["Crash_ID"] for r in read_csv(out / METRICS)) == sorted(ids)


def _fill_during(disk: SmallDisk, sizes: dict[str, int], before: list[str], target: str) -> None:
    """Leave room for the files written before `target`, and half of `target`."""
    room = sum(_pages(sizes[name]) for name in before) + max(_pages(sizes[target]) // 2, 1)
    disk.leave_free(room * PAGE)


def test_disk_fills_while_summaries_are_appended_then_rerun(small_disk, good_model, tmp_path):
    data = _crashes(tmp_path / "crashes.csv", good=40)
    sizes = _sizes(data, good_model, tmp_path)
    assert _pages(sizes[SUMMARIES]) >= 4, sizes  # big enough to be cut half-way
    out = small_disk.path / "out"
    # a one-chunk run writes: the lock, the two CSV headers, graphs, metric rows, then summaries
    _fill_during(small_disk, {**sizes, ".lock": 100}, [".lock", REJECTS, GRAPHS, METRICS], SUMMARIES)

    result = _run(data, good_model, out, tmp_path)
    _assert_full_disk_line(result, str(out / SUMMARIES))
    _assert_no_temporaries(out)
    assert not (out / "processed_inputs.json").exists(), "a file that failed was entered in the ledger"

    small_disk.make_room()
    again = _run(data, good_model, out, tmp_path)
    assert again.exit_code == 0, again.stderr
    _assert_exactly_once(out, good=40, bad=0)


def test_disk_fills_while_rejects_are_appended_then_rerun(small_disk, good_model, tmp_path):
    data = _crashes(tmp_path / "crashes.csv", good=5, bad=60)
    sizes = _sizes(data, good_model, tmp_path)
    assert _pages(sizes[REJECTS]) >= 4, sizes
    out = small_disk.path / "out"
    # the chunk's rejects are appended first, after the lock and the metric CSV's header
    small_disk.leave_free((2 + _pages(sizes[REJECTS]) // 2) * PAGE)

    result = _run(data, good_model, out, tmp_path)
    _assert_full_disk_line(result, str(out / REJECTS))
    _assert_no_temporaries(out)
    assert not (out / SUMMARIES).exists() or not read_jsonl_strict(out / SUMMARIES)

    small_disk.make_room()
    again = _run(data, good_model, out, tmp_path)
    assert again.exit_code == 3, again.stderr  # 3: the bad rows are rejects
    _assert_exactly_once(out, good=5, bad=60)


def test_disk_fills_while_the_report_is_written_then_rerun(small_disk, good_model, tmp_path):
    data = _crashes(tmp_path / "crashes.csv", good=30)
    sizes = _sizes(data, good_model, tmp_path)
    out = small_disk.path / "out"
    # everything but report.html (the last file written) fits, and half of it
    _fill_during(small_disk, {**sizes, ".lock": 100}, [n for n in [*sizes, ".lock"] if n != "report.html"],
                 "report.html")

    result = _run(data, good_model, out, tmp_path)
    _assert_full_disk_line(result, "report.html")
    _assert_no_temporaries(out)
    assert not (out / "report.html").exists()
    assert json.loads((out / "run_report.json").read_text())["counts"]["summarized"] == 30  # whole, not cut

    small_disk.make_room()
    again = _run(data, good_model, out, tmp_path)
    assert again.exit_code == 0, again.stderr
    assert (out / "report.html").stat().st_size == pytest.approx(sizes["report.html"], rel=0.05)
    _assert_exactly_once(out, good=30, bad=0)


def test_log_file_on_a_full_disk_is_one_warning_and_the_run_goes_on(small_disk, good_model, tmp_path):
    data = _crashes(tmp_path / "crashes.csv", good=3)
    small_disk.leave_free(0)
    result = invoke("run", "--csv", str(data), "--model", str(good_model), "--out_dir", str(tmp_path / "out"),
                    *FAST, cwd=tmp_path, log_level="ERROR", log_dir=small_disk.path / "logs")
    assert result.exit_code == 0, result.stderr
    lines = result.console_lines()
    assert len(lines) == 1 and lines[0].startswith("warning: cannot write the log file "), lines
    assert "No space left on device" in lines[0] and "Traceback" not in result.stderr
    _assert_exactly_once(tmp_path / "out", good=3, bad=0)


# ----------------------------------------------------------------------------- train


def _training_csv(path: Path) -> Path:
    from crashtransformer.prepare.synthetic.generator import generate_records

    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["Crash_ID", "Narrative", "Summary"])
        for index, record in enumerate(generate_records(24, seed=3)):
            writer.writerow([f"T{index}", record.narrative, record.summary])
    return path


def _train(data: Path, model: Path, out: Path, cwd: Path, *extra: str):
    return invoke("train", "--training_data", str(data), "--model_name", str(model), "--output_dir", str(out),
                  "--num_epochs", "2", "--eval_strategy", "no", "--batch_size", "8",
                  "--report_to", "none", "--no_model_metrics", "--num_beams", "1", "--save_total_limit", "3",
                  *extra, cwd=cwd)


def test_disk_fills_while_a_checkpoint_is_written_then_training_resumes(small_disk, good_model, tmp_path):
    data = _training_csv(tmp_path / "train.csv")
    roomy = tmp_path / "roomy"
    done = _train(data, good_model, roomy, tmp_path)
    assert done.exit_code == 0, done.stderr
    first = min(roomy.glob("checkpoint-*"), key=lambda p: int(p.name.split("-")[1]))  # one per epoch
    checkpoint = sum(_pages(p.stat().st_size) for p in first.rglob("*") if p.is_file())
    out = small_disk.path / "run"
    small_disk.leave_free((checkpoint + checkpoint // 2) * PAGE)  # the first checkpoint fits, the second does not

    result = _train(data, good_model, out, tmp_path)
    _assert_full_disk_line(result, str(out))
    assert "--resume_from_checkpoint auto" in result.console_lines()[0]
    assert (out / first.name / "trainer_state.json").is_file()
    assert not (out / "final_model").exists()

    small_disk.make_room()
    resumed = _train(data, good_model, out, tmp_path, "--resume_from_checkpoint", "auto")
    assert resumed.exit_code == 0, resumed.stderr
    assert f"resuming from {out / first.name}" in resumed.log_text()
    results = json.loads((out / "evaluation_results.json").read_text())
    assert results["run"]["optimizer_steps"] == results["run"]["planned_steps"] == 2 * int(first.name.split("-")[1])
    assert (out / "final_model" / "model.safetensors").is_file() and not (out / "final_model.partial").exists()


# ----------------------------------------------------------------------------- prepare-data, evaluate


def test_disk_fills_while_prepare_data_writes_then_rerun(small_disk, tmp_path):
    data = _training_csv(tmp_path / "train.csv")
    for index in range(8):  # a bigger input: outputs of many pages
        _training_csv(tmp_path / f"part{index}.csv")
    rows = [line for index in range(8) for line in (tmp_path / f"part{index}.csv").read_text().splitlines()[1:]]
    data.write_text(data.read_text() + "\n".join(f"X{i}{line[line.index(','):]}" for i, line in enumerate(rows)) + "\n")
    out = small_disk.path / "prepared"
    small_disk.leave_free(2 * PAGE)

    result = invoke("prepare-data", "--input", str(data), "--output", str(out / "train.csv"), cwd=tmp_path)
    _assert_full_disk_line(result, str(out))
    assert "no output was written" in result.console_lines()[0]
    assert not [p.name for p in out.iterdir()], "a partial output was left"

    small_disk.make_room()
    again = invoke("prepare-data", "--input", str(data), "--output", str(out / "train.csv"), cwd=tmp_path)
    assert again.exit_code in (0, 3), again.stderr
    assert (out / "train.csv").is_file()


def test_disk_fills_while_evaluate_writes_then_rerun(small_disk, tmp_path):
    data = tmp_path / "predictions.csv"
    with open(data, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["Crash_ID", "Narrative", "Summary", "prediction"])
        for index in range(300):
            writer.writerow([f"P{index}", f"Unit 1 struck Unit 2 on road {index}.", "Unit 1 struck Unit 2.",
                             f"Unit 1 hit Unit 2 near {index}."])
    out = small_disk.path / "evaluation"
    small_disk.leave_free(3 * PAGE)
    flags = ("--no_bertscore", "--no_similarity", "--no_plots", "--bootstrap_samples", "0")

    result = invoke("evaluate", "--predictions", str(data), "--output_dir", str(out), *flags, cwd=tmp_path)
    _assert_full_disk_line(result, str(out))
    _assert_no_temporaries(out)

    small_disk.make_room()
    again = invoke("evaluate", "--predictions", str(data), "--output_dir", str(out), *flags, cwd=tmp_path)
    assert again.exit_code == 0, again.stderr
    assert len(read_csv(next(out.glob("*.csv")))) >= 1
