"""Benchmark of offline plan extraction (crashtransformer/plan/graph.py).

    python bench/bench_plan.py synthetic [--n 2000 --seed 13]   # factor P/R/F1, manner accuracy
    python bench/bench_plan.py ciss [--half dev|heldout|both]    # real CISS manner of collision
    python bench/bench_plan.py speed [--n 3000]                  # narratives/s on one core, CRIS
    python bench/bench_plan.py all

CISS rows are split by CASEID parity: even = development (patterns were tuned on it),
odd = held out (never looked at while tuning). Label 9 (unknown) is excluded. Accuracy and
macro-F1 are computed over the rows where the extractor names a manner (coverage reported
beside), against the majority-class baseline on the same rows.
"""

from __future__ import annotations

import argparse
import collections
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
DATA = REPO.parent / "shared" / "data"

from crashtransformer.plan.catalogue import MANNER_BY_KEY  # noqa: E402
from crashtransformer.plan.graph import extract_graph, plan_steps_from_graph, primary_manner  # noqa: E402


def _macro_f1(gold: list, pred: list) -> float:
    from sklearn.metrics import f1_score

    return float(f1_score(gold, pred, average="macro", labels=sorted(set(gold)), zero_division=0))


def bench_synthetic(n: int, seed: int) -> dict:
    from crashtransformer.prepare.synthetic.generator import generate_records

    tp = fp = fn = manner_hits = manner_named = 0
    per_factor = collections.Counter()
    for record in generate_records(n, seed=seed, noise=True):
        graph = extract_graph(record.narrative, record.crash_id)
        found = {e["key"] for e in graph["events"] if e["type"] == "factor"}
        truth = set(record.metadata["factors"])
        tp += len(found & truth)
        fp += len(found - truth)
        fn += len(truth - found)
        for key in truth - found:
            per_factor["missed " + key] += 1
        for key in found - truth:
            per_factor["spurious " + key] += 1
        manner = primary_manner(graph)
        manner_named += manner is not None
        manner_hits += manner == record.metadata["manner"]
    precision = tp / max(tp + fp, 1)
    recall = tp / max(tp + fn, 1)
    result = {"n": n, "seed": seed, "factor_precision": precision, "factor_recall": recall,
              "factor_f1": 2 * precision * recall / max(precision + recall, 1e-9),
              "manner_accuracy": manner_hits / n, "manner_coverage": manner_named / n}
    print("synthetic:", {k: round(v, 4) if isinstance(v, float) else v for k, v in result.items()})
    print("  most frequent errors:", per_factor.most_common(8))
    return result


def _ciss_rows(half: str):
    import pandas as pd

    frame = pd.read_csv(DATA / "ciss_narratives_2017_2020.csv")
    frame = frame[frame["MANCOLL"] != 9]
    parity = 0 if half == "dev" else 1
    return frame[frame["CASEID"] % 2 == parity]


def bench_ciss(half: str, show_errors: int = 0) -> dict:
    rows = _ciss_rows(half)
    gold_named, pred_named, errors = [], [], collections.Counter()
    examples = []
    for caseid, label, text in zip(rows["CASEID"], rows["MANCOLL"], rows["SUMMARY"].fillna("")):
        manner = primary_manner(extract_graph(text, str(caseid)))
        if manner is None:
            continue
        predicted = MANNER_BY_KEY[manner].mancoll
        gold_named.append(int(label))
        pred_named.append(predicted)
        if predicted != label:
            errors[(int(label), manner)] += 1
            examples.append((int(label), manner, text))
    majority = collections.Counter(gold_named).most_common(1)[0][0]
    accuracy = sum(g == p for g, p in zip(gold_named, pred_named)) / len(gold_named)
    result = {"half": half, "rows": len(rows), "coverage": len(gold_named) / len(rows), "accuracy": accuracy,
              "macro_f1": _macro_f1(gold_named, pred_named),
              "majority_class": majority,
              "majority_accuracy": sum(g == majority for g in gold_named) / len(gold_named),
              "majority_macro_f1": _macro_f1(gold_named, [majority] * len(gold_named))}
    result["accuracy_ratio_vs_majority"] = result["accuracy"] / result["majority_accuracy"]
    print("ciss:", {k: round(v, 4) if isinstance(v, float) else v for k, v in result.items()})
    print("  confusions (gold mancoll, predicted manner):", errors.most_common(10))
    if show_errors and half == "dev":  # only ever print development rows
        import random

        for label, manner, text in random.Random(0).sample(examples, min(show_errors, len(examples))):
            print(f"--- gold {label} predicted {manner}\n{text[:700]}")
    return result


def bench_speed(n: int) -> dict:
    import pandas as pd

    texts = pd.read_csv(DATA / "cris_narratives_llm_summaries.csv")["Narrative"].fillna("").tolist()
    texts = (texts * (n // len(texts) + 1))[:n]
    extract_graph(texts[0])  # warm-up
    wall, cpu = time.perf_counter(), time.process_time()  # CPU time: fair on a shared machine
    for number, text in enumerate(texts):
        plan_steps_from_graph(extract_graph(text, str(number)))
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    result = {"narratives": n, "cpu_seconds": cpu, "wall_seconds": wall, "narratives_per_cpu_s": n / cpu,
              "narratives_per_wall_s": n / wall, "chars_per_narrative": sum(map(len, texts)) / n}
    # The baseline a user had: the original tool's one LLM API call per crash, ~1-3 s each
    # (network-bound, not measurable offline): at 1 s per crash that is 1 narrative/s.
    result["ratio_vs_one_llm_call_per_s"] = result["narratives_per_cpu_s"] / 1.0
    print("speed (one core, CRIS):", {k: round(v, 2) if isinstance(v, float) else v for k, v in result.items()})
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("what", choices=["synthetic", "ciss", "speed", "all"])
    parser.add_argument("--n", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--half", choices=["dev", "heldout", "both"], default="both")
    parser.add_argument("--show_errors", type=int, default=0, help="print N misclassified development rows")
    args = parser.parse_args()
    if args.what in ("synthetic", "all"):
        bench_synthetic(args.n, args.seed)
    if args.what in ("ciss", "all"):
        for half in (["dev", "heldout"] if args.half == "both" else [args.half]):
            bench_ciss(half, args.show_errors)
    if args.what in ("speed", "all"):
        bench_speed(args.n if args.what == "speed" else 3000)


if __name__ == "__main__":
    main()
