"""`run`: artifacts, counts, exactly-once under SIGKILL, lock, ledger, multi-process."""

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

from conftest import REPO, run_cli
from crashtransformer.run.artifacts import GRAPHS, METRICS, REJECTS, REPORT, SUMMARIES, read_csv_rows
from crashtransformer.run.html import HTML_REPORT, SPREADSHEET

FAST = ("--num_beams", "1", "--num_candidates", "1", "--num_samples", "0", "--max_new_tokens", "8")


def _write_crashes(path: Path, count: int, seed: int = 7, bad_rows: bool = False) -> Path:
    from crashtransformer.prepare.synthetic.generator import generate_records
    from crashtransformer.data.writers import write_records

    records = list(generate_records(count, seed=seed))
    write_records(records, path)
    if bad_rows:  # an empty narrative and a duplicate Crash_ID: both must land in rejects.csv
        with open(path, encoding="utf-8", newline="") as handle:
            header = next(csv.reader(handle))
        with open(path, "a", encoding="utf-8", newline="") as handle:
            writer = csv.DictWriter(handle, header, restval="")
            writer.writerow({"Narrative": "   ", "Summary": "x", "Crash_ID": "EMPTY-1"})
            writer.writerow({"Narrative": "a repeated crash", "Summary": "x", "Crash_ID": records[0].crash_id})
    return path


def _ids(out: Path) -> list[str]:
    return [json.loads(line)["Crash_ID"] for line in (out / SUMMARIES).read_text().splitlines()]


@pytest.fixture(scope="module")
def crashes(tmp_path_factory) -> Path:
    return _write_crashes(tmp_path_factory.mktemp("crashes") / "crashes.csv", 60, bad_rows=True)


def _assert_reranked_as_recorded(out: Path, crashes: Path) -> None:
    """Each crash's candidates carry the rerank score recomputed here from its narrative and plan;
    its summary is the highest-scoring clean candidate, or (none clean) the graph's, itself clean."""
    from crashtransformer.data.records import CrashRecord, iter_records
    from crashtransformer.infer.rerank import rerank_score
    from crashtransformer.metrics.claims import check_claims
    from crashtransformer.metrics.faithfulness import faithfulness_example
    from crashtransformer.plan.realize import with_scene

    narratives = {r.crash_id: r.narrative for r in iter_records(crashes) if isinstance(r, CrashRecord)}
    sources = set()
    for line in (out / SUMMARIES).read_text().splitlines():
        row = json.loads(line)
        narrative = narratives[row["Crash_ID"]]
        qualities = [faithfulness_example(c["summary"], narrative, row["plan_lines"]) for c in row["candidates"]]
        scores = [rerank_score(q, c["model_score"]) for q, c in zip(qualities, row["candidates"])]
        assert sorted(c["score"] for c in row["candidates"]) == sorted(round(s, 4) for s in scores)
        # clean as run selects: the reader-validated checker plus the word check (metrics/wording.py)
        clean = [i for i, (q, c) in enumerate(zip(qualities, row["candidates"]))
                 if not check_claims(c["summary"], narrative, wording=True) and q.get("plan_factor_coverage") in (None, 1.0)]
        sources.add(row["summary_source"])
        if row["summary_source"] == "model" and clean:
            chosen = row["candidates"][max(clean, key=scores.__getitem__)]["summary"]
            # the chosen candidate, followed by the narrative's scene sentence when it is one sentence long
            assert row["best_summary"] in (chosen, with_scene(chosen, narrative))
        elif row["summary_source"] == "model":  # none clean whole: a candidate's clean leading sentences
            assert any(c["summary"].startswith(row["best_summary"].split(". ")[0]) for c in row["candidates"])
            assert check_claims(row["best_summary"], narrative, wording=True) == []
        else:
            assert clean == [] and row["unsupported_claims"] == []
            assert check_claims(row["best_summary"], narrative) == []
    assert "graph" in sources  # an untrained model's candidates are never all clean


def test_run_writes_every_artifact_and_counts_add_up(tmp_path, crashes, tiny_bart):
    out = tmp_path / "out"
    result = run_cli("run", "--csv", str(crashes), "--model", str(tiny_bart), "--out_dir", str(out),
                     "--num_beams", "2", "--num_candidates", "2", "--num_samples", "2", "--max_new_tokens", "8",
                     cwd=tmp_path)
    assert result.returncode == 3, result.stderr  # finished, with rejected rows
    for name in (GRAPHS, SUMMARIES, METRICS, REJECTS, REPORT):
        assert (out / name).is_file(), name
    ids = _ids(out)
    assert len(ids) == len(set(ids)) == 60
    rejects = read_csv_rows(out / REJECTS)
    assert sorted(r["reason"] for r in rejects) == ["duplicate_crash_id", "empty_narrative"]
    report = json.loads((out / REPORT).read_text())
    assert report["counts"]["rows_read"] == report["counts"]["summarized"] + report["counts"]["rejected"] == 62
    assert report["model"]["directory"] == str(tiny_bart)
    assert report["model"]["provenance"] is None  # init-model output: no provenance.json
    assert report["generation"]["num_beams"] == 2 and report["generation"]["max_new_tokens"] == 8
    assert report["generation"]["num_samples"] == 2
    assert report["generation"]["sampling"] == {"top_p": 0.9, "temperature": 0.7, "seed": 42}
    assert report["metrics"]["with_reference"] == 60 and "rougeL_f1" in report["metrics"]["against_reference"]
    first = json.loads((out / SUMMARIES).read_text().splitlines()[0])
    assert len(first["candidates"]) == 4  # 2 from beam search, 2 sampled, reranked together
    _assert_reranked_as_recorded(out, crashes)
    assert first["plan_lines"] and first["reference_summary"]
    graph = json.loads((out / GRAPHS).read_text().splitlines()[0])
    assert {"Crash_ID", "crash", "entities", "events", "relationships"} <= set(graph)
    assert len(read_csv_rows(out / METRICS)) == 60
    page = (out / HTML_REPORT).read_text(encoding="utf-8")  # the analyst's page and spreadsheet, every run
    assert "duplicate_crash_id" in page and page.count('class="crash"') == 60
    assert len(read_csv_rows(out / SPREADSHEET)) == 60


@pytest.mark.parametrize("backend", ["auto", "torch"])  # auto: CTranslate2 beams on this CPU, torch samples
def test_a_crash_draws_the_same_samples_whatever_its_batch_and_resume(tmp_path, tiny_bart, backend):
    """Sampled candidates are seeded by --seed and the Crash_ID: the batch size, and a run that
    stops part-way and resumes, change nothing; another --seed changes them."""
    data = _write_crashes(tmp_path / "few.csv", 12, seed=3)

    def candidates(name: str, *extra: str) -> dict[str, tuple[str, list[str]]]:
        out = tmp_path / name
        result = run_cli("run", "--csv", str(data), "--model", str(tiny_bart), "--out_dir", str(out), "--num_beams", "1",
                         "--num_candidates", "1", "--num_samples", "3", "--max_new_tokens", "8",
                         "--backend", backend, *extra, cwd=tmp_path)
        assert result.returncode == 0, result.stderr
        ran = json.loads((out / REPORT).read_text())["model"]["backend"]
        assert ran == ("torch" if backend == "torch" else "ctranslate2")
        rows = [json.loads(line) for line in (out / SUMMARIES).read_text().splitlines()]
        return {row["Crash_ID"]: (row["best_summary"], sorted(c["summary"] for c in row["candidates"])) for row in rows}

    first = candidates("a", "--batch_size", "2")
    assert len(first) == 12 and all(len(options) == 4 for _, options in first.values())
    assert candidates("c", "--batch_size", "5") == first
    candidates("d", "--batch_size", "3", "--limit", "5")  # stops part-way ...
    assert candidates("d", "--batch_size", "3") == first  # ... and resumes
    assert candidates("e", "--batch_size", "2", "--seed", "7") != first


def test_sigkill_mid_run_then_rerun_gives_every_crash_exactly_once(tmp_path, tiny_bart):
    data = _write_crashes(tmp_path / "many.csv", 150, seed=11)
    out = tmp_path / "out"
    command = [sys.executable, str(REPO / "crashtransformer.py"), "run", "--csv", str(data), "--model",
               str(tiny_bart), "--out_dir", str(out), "--chunk_size", "10", *FAST]
    process = subprocess.Popen(command, cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    while time.time() < deadline:  # wait until some chunks (not all) are on disk
        done = len((out / SUMMARIES).read_text().splitlines()) if (out / SUMMARIES).exists() else 0
        if done >= 20:
            break
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait()
    killed_at = len(_ids(out))
    assert 0 < killed_at < 150, "the kill must land part-way"
    result = run_cli("run", "--csv", str(data), "--model", str(tiny_bart), "--out_dir", str(out),
                     "--chunk_size", "10", *FAST, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    ids = _ids(out)
    assert len(ids) == len(set(ids)) == 150
    graph_ids = [json.loads(line)["Crash_ID"] for line in (out / GRAPHS).read_text().splitlines()]
    assert sorted(graph_ids) == sorted(ids)
    assert sorted(r["Crash_ID"] for r in read_csv_rows(out / METRICS)) == sorted(ids)
    report = json.loads((out / REPORT).read_text())
    assert report["counts"]["skipped_already_done"] + report["counts"]["summarized"] == 150


def test_second_run_on_a_locked_directory_exits_4_at_once(tmp_path, crashes, tiny_bart):
    from crashtransformer.run.state import DirectoryLock

    with DirectoryLock(tmp_path / "out"):
        started = time.monotonic()
        result = run_cli("run", "--csv", str(crashes), "--model", str(tiny_bart), "--out_dir",
                         str(tmp_path / "out"), *FAST, cwd=tmp_path)
        assert time.monotonic() - started < 30  # refused before any model is loaded
    assert result.returncode == 4
    assert "in use by pid" in result.stderr and "Traceback" not in result.stderr


def test_redelivered_file_is_not_processed_twice_and_new_files_are(tmp_path, tiny_bart):
    incoming = tmp_path / "incoming"
    incoming.mkdir()
    _write_crashes(incoming / "night1.csv", 12, seed=1)
    out = tmp_path / "out"
    args = ("run", "--csv", str(incoming / "*.csv"), "--model", str(tiny_bart), "--out_dir", str(out), *FAST)
    assert run_cli(*args, cwd=tmp_path).returncode == 0
    shutil.copy(incoming / "night1.csv", incoming / "night1-resent.csv")  # same content, new name
    _write_crashes(incoming / "night2.csv", 8, seed=2)
    result = run_cli(*args, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    ids = _ids(out)
    assert len(ids) == len(set(ids)) == 20
    report = json.loads((out / REPORT).read_text())
    assert report["counts"]["files_skipped_already_done"] == 2 and report["counts"]["summarized"] == 8
    _write_crashes(incoming / "night3a.csv", 3, seed=3)  # two new files in one run: counts add up
    _write_crashes(incoming / "night3b.csv", 4, seed=4)
    assert run_cli(*args, cwd=tmp_path).returncode == 0
    counts = json.loads((out / REPORT).read_text())["counts"]
    assert counts["files_processed"] == 2 and counts["rows_read"] == counts["summarized"] == 7


def test_supplied_graphs_file_gives_the_plans(tmp_path, tiny_bart):
    data = _write_crashes(tmp_path / "c.csv", 3, seed=3)
    from crashtransformer.data.records import read_training_file

    records = read_training_file(data)
    graphs = tmp_path / "graphs.jsonl"
    graphs.write_text("".join(json.dumps({"Crash_ID": r.crash_id, "plan_lines": ["1) ran a red light -> angle collision"]})
                              + "\n" for r in records))
    plain = tmp_path / "plain.csv"  # the same crashes without plan_lines in the input
    plain.write_text("Crash_ID,Narrative\n" + "".join(f'{r.crash_id},"{r.narrative}"\n' for r in records))
    out = tmp_path / "out"
    result = run_cli("run", "--csv", str(plain), "--model", str(tiny_bart), "--out_dir", str(out),
                     "--graphs_file", str(graphs), *FAST, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    rows = [json.loads(line) for line in (out / SUMMARIES).read_text().splitlines()]
    assert all(row["plan_lines"] == ["1) ran a red light -> angle collision"] for row in rows)


def test_missing_default_model_names_the_flag(monkeypatch, tmp_path):
    from crashtransformer.run import pipeline as runner
    from crashtransformer.core.errors import UserError

    monkeypatch.setattr(runner, "DEFAULT_MODEL_DIR", tmp_path / "absent")
    with pytest.raises(UserError, match="pass --model DIR"):
        runner.resolve_model_dir(None, None)
    assert runner.resolve_model_dir(None, "my/final_model") == "my/final_model"


def _run_two_processes(crashes: Path, model: Path, out: Path, cwd: Path) -> subprocess.CompletedProcess:
    """`run` under `accelerate launch` in two processes (--multi_gpu starts two even with no GPU;
    accelerate 1.15's --cpu starts one)."""
    command = [sys.executable, "-m", "accelerate.commands.launch", "--multi_gpu", "--num_processes", "2",
               "--num_machines", "1", "--mixed_precision", "no", "--dynamo_backend", "no",
               str(REPO / "crashtransformer.py"), "run", "--csv", str(crashes), "--model", str(model),
               "--out_dir", str(out), *FAST]
    return subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=600,
                          env={**os.environ, "HF_HUB_OFFLINE": "1"})


def test_two_process_run_merges_into_one_set_of_artifacts(tmp_path, crashes, tiny_bart):
    out = tmp_path / "out"
    result = _run_two_processes(crashes, tiny_bart, out, tmp_path)
    # The main process exits 3 (rows were rejected); the launcher passes any non-zero code on as
    # its own failure, naming the status.
    assert result.returncode != 0 and "exitcode  : 3" in result.stderr, result.stderr[-3000:]
    assert "from rank 0" in result.stderr and "from rank 1" in result.stderr  # two processes merged
    ids = _ids(out)
    assert len(ids) == len(set(ids)) == 60
    assert len(read_csv_rows(out / REJECTS)) == 2
    assert not (out / ".parts").exists()
    report = json.loads((out / REPORT).read_text())
    assert report["counts"]["summarized"] == 60 and report["counts"]["rejected"] == 2


def test_a_two_process_run_on_a_damaged_ledger_stops_both_processes(tmp_path, crashes, tiny_bart):
    out = tmp_path / "out"
    out.mkdir()
    (out / "processed_inputs.json").write_text("{ torn", encoding="utf-8")
    # rank 0 refuses the ledger; rank 1 used to wait at the next barrier, silent, until the launcher killed it
    result = _run_two_processes(crashes, tiny_bart, out, tmp_path)
    assert result.returncode != 0
    assert "processed_inputs.json" in result.stderr and "another process of this run stopped" in result.stderr
    # the first rank to exit does so with the usage error; the launcher then stops the other (SIGTERM)
    # if that one has not exited with it already.
    assert "exitcode  : 2" in result.stderr, result.stderr[-3000:]
    assert not (out / SUMMARIES).exists()


def test_a_run_that_fails_stops_its_progress_ticker(tmp_path, crashes, tiny_bart, inprocess_cli, monkeypatch):
    """A caller whose run raised keeps its process: no progress line may keep ticking after it."""
    import threading

    from crashtransformer.run import pipeline

    def broken(*args, **kwargs):
        raise RuntimeError("disk gone")

    monkeypatch.setattr(pipeline, "_process_file", broken)
    result = inprocess_cli("run", "--csv", str(crashes), "--model", str(tiny_bart), "--out_dir", str(tmp_path / "out"),
                           "--max_new_tokens", "4")
    assert result.exit_code != 0
    assert not [t for t in threading.enumerate() if t.name == "progress" and t.is_alive()]
