"""Quality table of the shipped default model on a held-out CRIS split (and its packaging).

    python bench/bench_default_model.py table --data data/generated/default-model/cris.test.csv
    python bench/bench_default_model.py table --data ... --no_plan_model DIR   # adds the --no_plan ablation
    python bench/bench_default_model.py package --source TRAIN_OUT/final_model  # fp16 copy to the shipped dir

Each model configuration is generated and scored by the `evaluate` command exactly as a user
would run it (ROUGE/BLEU from the metrics module; BERTScore and similarity off for CPU time).
On top of those figures this script measures the three things ROUGE does not show:
- distinct: share of summaries that no other summary repeats word for word (a collapsed model
  writes one generic sentence for every crash and can still score ROUGE-1 ~0.4);
- cause kept: among narratives whose offline plan names one of the seven common factors, the
  share of summaries that state a factor of the same family (plan keyword match, or the offline
  extractor run on the summary itself finds it);
- invented units: share of summaries naming a unit number the narrative never mentions;
- unsupported / speculation: share of summaries with a claim the narrative does not support, and
  with a hedge, by the claim-support checker (metrics/claims.py, validated in bench/bench_claims.py);
- from graph: share of `run`'s summaries realized from the crash graph (no candidate was clean).
Side by side: the original project's fine-tuned facebook/bart-base (its authors' figures on 100
rows; only ROUGE/BLEU published), the narrative's first two sentences (the extractive baseline a
user gets with no model), and the LLM reference summaries themselves for the three extra checks.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from crashtransformer.plan.catalogue import FACTOR_BY_PLAN_TEXT, parse_plan  # noqa: E402
from crashtransformer.metrics.text import distinct_share  # noqa: E402
from crashtransformer.models.loading import PROVENANCE_FILE  # noqa: E402
from crashtransformer.metrics.claims import check_claims, claim_figures  # noqa: E402
from crashtransformer.metrics.faithfulness import hallucinated_specifics, phrase_stated, stemmed_words  # noqa: E402
from crashtransformer.core.config import MetricSettings  # noqa: E402
from crashtransformer.metrics.suite import score_pairs  # noqa: E402
from crashtransformer.plan.graph import extract_plan_lines  # noqa: E402
from crashtransformer.run.pipeline import DEFAULT_MODEL_DIR  # noqa: E402

# The original project's fine-tuned facebook/bart-base (140M parameters, GPU), its own figures.
BART_BASE = {"rouge1_f1": 0.401, "rouge2_f1": 0.226, "rougeL_f1": 0.326, "bleu": 0.144}
GOALS = {"distinct": 0.90, "cause_kept": 0.95, "invented_units": 0.02, "unsupported": 0.03, "speculation": 0.01}

# The seven factors the quality goal names, as families of catalogue keys.
CAUSE_FAMILIES = {
    "failed_to_control_speed": "speed", "unsafe_speed": "speed",
    "yield_stop_sign": "yield", "yield_turning_left": "yield", "yield_yield_sign": "yield",
    "yield_private_drive": "yield", "yield_pedestrian": "yield",
    "disregarded_signal": "signal", "disregarded_stop_sign": "signal",
    "followed_too_closely": "following",
    "unsafe_lane_change": "lane change", "failed_single_lane": "lane change",
    "backed_without_safety": "backing",
    "driver_inattention": "inattention", "cell_phone": "inattention",
}
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")


def plan_families(plan_lines: list[str]) -> dict[str, str]:
    """family -> plan_text of the named factors in a plan."""
    families = {}
    for step in parse_plan(plan_lines):
        factor = FACTOR_BY_PLAN_TEXT.get(step.cause)
        if factor and factor.key in CAUSE_FAMILIES:
            families.setdefault(CAUSE_FAMILIES[factor.key], step.cause)
    return families


def cause_kept(summary: str, narrative_plan: list[str]) -> float | None:
    """1/0 when the narrative names a factor, None otherwise: does the summary state its family?"""
    wanted = plan_families(narrative_plan)
    if not wanted:
        return None
    tokens = set(stemmed_words(summary))
    stated = set(plan_families(extract_plan_lines(summary)))
    stated |= {family for family, text in wanted.items() if phrase_stated(text, tokens)}
    return float(bool(stated & set(wanted)))


def invents_unit(summary: str, narrative: str) -> bool:
    listed = hallucinated_specifics(summary, narrative)["hallucinated_list"]
    return any(item.startswith("unit ") for item in listed.split("; ") if item)


def extra_checks(summaries: list[str], narratives: list[str], plans: list[list[str]]) -> dict[str, float]:
    kept = [k for k in (cause_kept(s, p) for s, p in zip(summaries, plans)) if k is not None]
    claims = [claim_figures(check_claims(s, n)) for s, n in zip(summaries, narratives)]
    return {
        "unsupported": sum(c["has_unsupported_claim"] for c in claims) / len(summaries),
        "speculation": sum(c["has_speculation"] for c in claims) / len(summaries),
        "distinct": distinct_share(summaries),
        "cause_kept": sum(kept) / len(kept) if kept else float("nan"),
        "cause_rows": float(len(kept)),
        "invented_units": sum(invents_unit(s, n) for s, n in zip(summaries, narratives)) / len(summaries),
    }


def evaluate_model(model: str, data: Path, out: Path, num_beams: int, no_plan: bool) -> tuple[dict, list[str], float]:
    """`evaluate --model` as a user runs it, top beam only (it generates through `run`'s path, so one
    beam candidate and no samples); (aggregates, predictions in data order, seconds)."""
    command = [sys.executable, str(REPO / "crashtransformer.py"), "evaluate", "--model", model, "--data", str(data),
               "--output_dir", str(out), "--num_beams", str(num_beams), "--num_candidates", "1", "--num_samples", "0",
               "--no_bertscore", "--no_similarity",
               "--bootstrap_samples", "0", "--no_plots"] + (["--no_plan"] if no_plan else [])
    started = time.perf_counter()
    subprocess.run(command, check=True, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    results = json.loads((out / "evaluation_results.json").read_text(encoding="utf-8"))
    per_example = pd.read_csv(out / "evaluation_per_example.csv", dtype={"Crash_ID": str}, keep_default_na=False)
    by_id = dict(zip(per_example["Crash_ID"], per_example["prediction"]))
    return results["aggregates"], by_id, seconds


def run_model(model: str, data: Path, out: Path, no_plan: bool, *options: str) -> tuple[dict, dict[str, str], float]:
    """`run` with its defaults (4 beam and 8 sampled candidates reranked by plan coverage and
    faithfulness), or with `options` changing them: what a user gets; (aggregates against the
    references, best summary by Crash_ID, seconds)."""
    import shutil

    shutil.rmtree(out, ignore_errors=True)
    command = [sys.executable, str(REPO / "crashtransformer.py"), "--log_level", "WARNING", "run", "--model", model,
               "--csv", str(data), "--out_dir", str(out), *options] + (["--no_plan"] if no_plan else [])
    started = time.perf_counter()
    finished = subprocess.run(command, capture_output=True, text=True)
    if finished.returncode not in (0, 3):  # 3: finished, some rows rejected (counted, not summarized)
        raise SystemExit(f"run failed (exit {finished.returncode}): {finished.stderr[-2000:]}")
    seconds = time.perf_counter() - started
    report = json.loads((out / "run_report.json").read_text(encoding="utf-8"))
    by_id, from_graph = {}, 0
    with open(out / "crash_summaries.jsonl", encoding="utf-8") as handle:
        for line in handle:
            row = json.loads(line)
            by_id[str(row["Crash_ID"])] = row["best_summary"]
            from_graph += row.get("summary_source") == "graph"
    return {**report["metrics"]["against_reference"], "from_graph": from_graph / max(len(by_id), 1)}, by_id, seconds


def lead_sentences(narrative: str, count: int = 2) -> str:
    return " ".join(_SENTENCE_END.split(narrative.strip())[:count])


def table_row(name: str, aggregates: dict, checks: dict | None, seconds: float | None) -> dict:
    row = {"system": name}
    row.update({key: aggregates.get(key) for key in BART_BASE})
    row.update(checks or {})
    row["from_graph"] = aggregates.get("from_graph")
    row["seconds"] = seconds
    return row


def print_table(rows: list[dict]) -> None:
    columns = ["unsupported", "speculation", "cause_kept", "distinct", "invented_units", "rouge1_f1", "rouge2_f1",
               "rougeL_f1", "bleu", "from_graph", "seconds"]
    print("| system | " + " | ".join(columns) + " |")
    print("|---" * (len(columns) + 1) + "|")
    for row in rows:
        cells = [("-" if row.get(c) is None else f"{row[c]:.3f}" if c != "seconds" else f"{row[c]:.0f}")
                 for c in columns]
        print(f"| {row['system']} | " + " | ".join(cells) + " |")


def verdicts(row: dict) -> list[str]:
    lines = [f"{key}: {row[key]:.3f} vs bart-base {BART_BASE[key]:.3f} (ratio {row[key] / BART_BASE[key]:.2f}) "
             f"{'MET' if row[key] > BART_BASE[key] else 'not met'}" for key in BART_BASE]
    for key, goal in GOALS.items():
        at_least = key in ("distinct", "cause_kept")
        met = row[key] >= goal if at_least else row[key] <= goal
        lines.append(f"{key}: {row[key]:.3f} (goal {'>=' if at_least else '<='} {goal}) {'MET' if met else 'not met'}")
    return lines


def cut_position_tables(model, positions: int) -> None:
    """Keep the first `positions` rows of BART's learned position tables (encoder and decoder).

    The model was trained on inputs of at most --max_length tokens; rows past that were never
    fine-tuned, and dropping them keeps the shipped directory under its size budget. `run`,
    `evaluate` and `train` cap inputs at config.max_position_embeddings (models.loading.input_limit)."""
    import torch

    for stack in (model.model.encoder, model.model.decoder):
        table = stack.embed_positions
        shorter = type(table)(positions, table.embedding_dim)
        with torch.no_grad():
            shorter.weight.copy_(table.weight[:positions + table.offset])
        stack.embed_positions = shorter
    model.config.max_position_embeddings = positions


def package(source: str, target: Path, check_data: Path | None, max_positions: int | None = None) -> None:
    """Copy a trained model to `target` with fp16 weights that load as fp32 (half the bytes).

    save_pretrained records the weights' dtype (float16) in config.json, and transformers 5 would
    then load the model as float16, which CPUs run slowly and inexactly; the config is set back to
    float32 so every load upcasts. The copy is checked against the source: greedy summaries of
    the first rows of `check_data` must be the same words.
    """
    import shutil

    import torch

    from crashtransformer.models.loading import load_model, load_tokenizer

    model, tokenizer = load_model(source), load_tokenizer(source)
    card = target / "README.md"
    card_text = card.read_text(encoding="utf-8") if card.is_file() else None  # the model card stays
    if target.exists():
        shutil.rmtree(target)
    if max_positions:
        cut_position_tables(model, max_positions)
    model.half().save_pretrained(target)
    tokenizer.save_pretrained(target)
    config_path = target / "config.json"
    config = json.loads(config_path.read_text(encoding="utf-8"))
    config["dtype"] = "float32"
    config_path.write_text(json.dumps(config, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    if card_text is not None:
        card.write_text(card_text, encoding="utf-8")
    write_provenance(Path(source), target)
    shipped = load_model(str(target))
    if shipped.dtype != torch.float32:
        raise SystemExit(f"{target} loads as {shipped.dtype}, not float32: config.json was not honoured")
    size = sum(f.stat().st_size for f in target.iterdir() if f.is_file())
    print(f"packaged {source} -> {target}: {size / 1e6:.1f} MB on disk")
    if check_data:
        same = _same_greedy_summaries(load_model(source).float(), shipped, tokenizer, check_data)
        print(f"fp16 copy vs fp32 source: {same[0]} of {same[1]} greedy summaries identical")


def training_stages(final_model: Path) -> list[dict]:
    """The `train` runs behind a final_model, first to last, following each run's --model_name
    back to the `init-model` directory it started from."""
    stages, model = [], final_model.resolve()
    while (model.parent / "training_config.json").is_file():
        config = json.loads((model.parent / "training_config.json").read_text(encoding="utf-8"))
        results = json.loads((model.parent / "evaluation_results.json").read_text(encoding="utf-8"))
        stages.append({key: config[key] for key in ("training_data", "validation_data", "model_name", "num_epochs",
                                                    "learning_rate", "warmup_steps", "max_length", "no_plan", "seed")}
                      | {"train_rows": results["data"]["train_rows"],
                         "train_runtime_s": results["run"].get("train_runtime_s"), "device": results["run"].get("device"),
                         "validation": {k: results["metrics"].get(k) for k in BART_BASE}})
        model = Path(config["model_name"]).resolve()
    stages.reverse()
    init = model / "init_model_config.json"
    start = json.loads(init.read_text(encoding="utf-8")) if init.is_file() else {"model": str(model)}
    return [{"init_model": {k: start.get(k) for k in ("arch", "size", "vocab_size", "encoder_init", "encoder_layers",
                                                       "decoder_layers", "seed", "corpus")}}] + stages


def write_provenance(source: Path, target: Path) -> None:
    import platform

    import torch
    import transformers

    stages = training_stages(source)
    init = stages[0]["init_model"]
    start = f"warm-started from {init['encoder_init']}" if init.get("encoder_init") else "trained from scratch"
    conditioning = "without plans (--no_plan)" if stages[-1].get("no_plan") else "plan-conditioned"
    record = {
        "description": f"CrashTransformer default model: {init.get('arch') or 'seq2seq'} {start}, {conditioning}, "
                       f"trained by `train` on {stages[-1].get('training_data') if len(stages) > 1 else '?'}",
        "packaged": time.strftime("%Y-%m-%d"),
        "recipe": "docs/default-model.md with configs/default-model.yaml",
        "source": str(source),
        "init_model": stages[0]["init_model"],
        "stages": stages[1:],
        "weights": "float16 on disk, loaded as float32",
        "versions": {"python": platform.python_version(), "torch": torch.__version__,
                     "transformers": transformers.__version__},
    }
    (target / PROVENANCE_FILE).write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")


def _same_greedy_summaries(reference, shipped, tokenizer, data: Path, rows: int = 20) -> tuple[int, int]:
    import torch

    from crashtransformer.plan.prompt import build_model_input, model_family

    frame = pd.read_csv(data, keep_default_na=False).head(rows)
    same = 0
    for narrative, plan in zip(frame["Narrative"], frame["plan_lines"]):
        prompt = build_model_input(narrative, json.loads(plan) if plan else [], tokenizer,
                                   model_family(reference), 160, False)
        encoded = tokenizer(prompt.text, return_tensors="pt")
        with torch.no_grad():
            outputs = [m.generate(**encoded, num_beams=1, max_new_tokens=64) for m in (reference, shipped)]
        same += tokenizer.decode(outputs[0][0]) == tokenizer.decode(outputs[1][0])
    return same, len(frame)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    packer = commands.add_parser("package", help="fp16 copy of a trained model into the shipped directory")
    packer.add_argument("--source", required=True, help="a train output's final_model")
    packer.add_argument("--target", default=str(DEFAULT_MODEL_DIR))
    packer.add_argument("--check_data", help="rows whose greedy summaries must match between source and copy")
    packer.add_argument("--max_positions", type=int, help="cut the position tables to the training --max_length")
    table = commands.add_parser("table", help="the quality table on a held-out split")
    _table_options(table)
    args = parser.parse_args()
    if args.command == "package":
        package(args.source, Path(args.target), Path(args.check_data) if args.check_data else None, args.max_positions)
    else:
        quality_table(args)


def _table_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", default=str(DEFAULT_MODEL_DIR), help="plan-conditioned model (default: shipped)")
    parser.add_argument("--no_plan_model", help="a model trained with --no_plan by the same recipe (ablation)")
    parser.add_argument("--data", required=True, help="held-out split written by prepare-data (never trained on)")
    parser.add_argument("--beams", type=int, nargs="+", default=[1, 4], help="beam counts to compare (1: greedy)")
    parser.add_argument("--output_dir", default="artifacts/bench-default-model")
    parser.add_argument("--json", help="also write the table rows here")
    parser.add_argument("--run_options", nargs="*", default=[], help="more `run` rows, each a quoted flag string")


def quality_table(args: argparse.Namespace) -> None:
    data = pd.read_csv(args.data, dtype={"Crash_ID": str}, keep_default_na=False)
    ids, narratives, references = list(data["Crash_ID"]), list(data["Narrative"]), list(data["Summary"])
    plans = [json.loads(p) if p else [] for p in data["plan_lines"]]
    out = Path(args.output_dir)

    lead = [lead_sentences(n) for n in narratives]
    text_only = MetricSettings(bertscore=False, similarity=False, bootstrap_samples=0)
    lead_scores = score_pairs(lead, references, narratives, plans, text_only).aggregates
    rows = [table_row("facebook/bart-base, original project (published, 100 rows)", BART_BASE, None, None),
            table_row("first two narrative sentences (no model)", lead_scores,
                      extra_checks(lead, narratives, plans), None),
            table_row("LLM reference summaries (the targets)", {}, extra_checks(references, narratives, plans), None)]
    configurations = [("plan", args.model, False)]
    if args.no_plan_model:
        configurations.append(("no plan", args.no_plan_model, True))
    for label, model, no_plan in configurations:
        runs = [(f"{label}, {'greedy' if beams == 1 else f'beam {beams}'}",
                 lambda o, b=beams, m=model, n=no_plan: evaluate_model(m, Path(args.data), o, b, n)) for beams in args.beams]
        runs.append((f"{label}, `run` defaults",
                     lambda o, m=model, n=no_plan: run_model(m, Path(args.data), o, n)))
        for extra in ([] if no_plan else args.run_options):  # other `run` settings, e.g. "--num_beams 4 --num_candidates 4"
            runs.append((f"{label}, `run {extra}`",
                         lambda o, m=model, x=extra: run_model(m, Path(args.data), o, False, *x.split())))
        for name, generate in runs:
            aggregates, by_id, seconds = generate(out / re.sub(r"\W+", "_", name))
            predictions = [by_id.get(i, "") for i in ids]
            rows.append(table_row(f"ours ({name})", aggregates, extra_checks(predictions, narratives, plans), seconds))

    print(f"{len(ids)} held-out rows from {args.data}; model {args.model}")
    print_table(rows)
    for row in rows[3:]:
        print(f"\n{row['system']}:")
        print("\n".join("  " + line for line in verdicts(row)))
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
