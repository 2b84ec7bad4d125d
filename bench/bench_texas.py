"""Crash graphs on Texas police prose, against our own labels (docs/labelling-guide.md).

    python bench/bench_texas.py score [--split dev|heldout|all|round2|...|round8|all_development|all_held_out] [--show_errors N]
    python bench/bench_texas.py agreement          # first passes vs their blind second passes
    python bench/bench_texas.py speed [--n 3000]   # graphs/s on one core: rules only, and with the fallback
    python bench/bench_texas.py all                # dev and held out, agreement, speed
    python bench/bench_texas.py score|speed --style ocr_scan  # the text as an OCR'd CR-3 scan reads it

Labels: data/labels/cris_crash_labels.jsonl, keyed by the narrative's SHA-256 (first 16 hex
digits); the text is read from ../shared/data/cris_narratives_llm_summaries.csv. A narrative
whose hash starts with c, d, e or f is held out: never printed, scored apart.

Scoring. manner: "correct" means the extractor's primary manner equals the label, where a label
of other/unknown/none is correct only when no manner is given. Coverage is the share of crashes
given a manner. Factors: micro precision/recall/F1 of catalogue keys. At fault: share of crashes
with a labelled at-fault unit whose unit the graph names. Roles: share of labelled unit roles
(striking/struck in the first harmful event) the graph's first collision gives.
"""

from __future__ import annotations

import argparse
import collections
import hashlib
import json
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
DATA = REPO.parent / "shared" / "data" / "cris_narratives_llm_summaries.csv"
LABELS = REPO / "data" / "labels" / "cris_crash_labels.jsonl"
BLIND = REPO / "data" / "labels" / "cris_crash_labels_blind.jsonl"
# Later rounds, each drawn at random from the narratives in no label file and labelled from
# docs/labelling-guide.md without the extractor. A round is held out whole until it has been scored
# once; it is development data after that (the extractor may be changed on it, its errors printed).
ROUNDS = {
    "round2": REPO / "data" / "labels" / "cris_crash_labels_round2.jsonl",  # 180, seed 20261202, scored 6e99743
    "round3": REPO / "data" / "labels" / "cris_crash_labels_round3.jsonl",  # 150, seed 20261203, scored 995b198
    "round4": REPO / "data" / "labels" / "cris_crash_labels_round4.jsonl",  # 130, seed 20261204, scored 995b198
    "round5": REPO / "data" / "labels" / "cris_crash_labels_round5.jsonl",  # 130, seed 20261205, scored 3b3babf
    "round6": REPO / "data" / "labels" / "cris_crash_labels_round6.jsonl",  # 130, seed 20261208, scored 41fc51c
    "round7": REPO / "data" / "labels" / "cris_crash_labels_round7.jsonl",  # 130, seed 20261210, scored 41fc51c
    "round8": REPO / "data" / "labels" / "cris_crash_labels_round8.jsonl",  # 130, seed 20261212: held out
}
HELD_OUT_ROUNDS = ("round8",)
BLIND_PASSES = {  # second passes made blind, beside the labels they are compared with
    "first": (LABELS, BLIND),
    "round4": (ROUNDS["round4"], REPO / "data" / "labels" / "cris_crash_labels_round4_blind.jsonl"),
    "round5": (ROUNDS["round5"], REPO / "data" / "labels" / "cris_crash_labels_round5_blind.jsonl"),
    "round6": (ROUNDS["round6"], REPO / "data" / "labels" / "cris_crash_labels_round6_blind.jsonl"),
    "round7": (ROUNDS["round7"], REPO / "data" / "labels" / "cris_crash_labels_round7_blind.jsonl"),
    "round8": (ROUNDS["round8"], REPO / "data" / "labels" / "cris_crash_labels_round8_blind.jsonl"),
}
HELD_OUT_PREFIXES = tuple("cdef")  # a quarter of the hash space, scored once, never printed
NO_MANNER = {"other", "unknown", "none"}  # labels a correct extractor names no manner for
REPEATS = 3  # timed passes per speed measurement

from crashtransformer.plan.catalogue import MANNER_BY_KEY  # noqa: E402
from crashtransformer.plan.graph import at_fault_unit, collision_roles, extract_graph, primary_manner  # noqa: E402


def digest(narrative: str) -> str:
    return hashlib.sha256(narrative.encode("utf-8")).hexdigest()[:16]


def read_labels(path: Path = LABELS) -> list[dict]:
    with path.open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def development_labels() -> list[dict]:
    """What the extractor may be changed and calibrated on: the first round's development split and the scored rounds."""
    later = [label for name, path in ROUNDS.items() if name not in HELD_OUT_ROUNDS for label in read_labels(path)]
    return [label for label in read_labels() if in_split(label, "dev")] + later


def held_out_labels() -> list[dict]:
    """Only ever scored: the first round's held-out split and the rounds not yet scored."""
    later = [label for name in HELD_OUT_ROUNDS if ROUNDS[name].is_file() for label in read_labels(ROUNDS[name])]
    return [label for label in read_labels() if in_split(label, "heldout")] + later


def narratives_by_digest() -> dict[str, str]:
    import pandas as pd

    texts = pd.read_csv(DATA)["Narrative"].fillna("").tolist()
    return {digest(text): text for text in texts}


def in_split(label: dict, split: str) -> bool:
    held_out = label["narrative_sha256"].startswith(HELD_OUT_PREFIXES)
    return split == "all" or (split == "heldout") == held_out


def predictions(text: str) -> dict:
    graph = extract_graph(text)
    factors = {e["key"] for e in graph["events"] if e["type"] == "factor"}
    return {"manner": primary_manner(graph), "factors": factors, "at_fault": at_fault_unit(graph),
            "roles": collision_roles(graph), "confidence": _primary_confidence(graph)}


def _primary_confidence(graph: dict) -> float | None:
    for event in graph["events"]:
        if event["type"] == "collision" and event.get("key"):
            return event["confidence"]
    return None


def manner_correct(gold: str, predicted: str | None) -> bool:
    return predicted is None if gold in NO_MANNER else predicted == gold


def _macro_f1(gold: list[str], predicted: list[str]) -> float:
    from sklearn.metrics import f1_score

    labels = sorted({g for g in gold if g in MANNER_BY_KEY})
    return float(f1_score(gold, predicted, labels=labels, average="macro", zero_division=0))


def score(labels: list[dict], texts: dict[str, str], show_errors: int = 0, printable=lambda label: True) -> dict:
    rows = [(label, predictions(texts[label["narrative_sha256"]])) for label in labels]
    n = len(rows)
    tp = fp = fn = 0
    fault_hits = fault_total = role_hits = role_total = 0
    confusions = collections.Counter()
    for label, pred in rows:
        gold_factors = set(label["factors"])
        tp += len(pred["factors"] & gold_factors)
        fp += len(pred["factors"] - gold_factors)
        fn += len(gold_factors - pred["factors"])
        if label.get("at_fault"):
            fault_total += 1
            fault_hits += pred["at_fault"] == label["at_fault"]
        for unit, role in (label.get("roles") or {}).items():
            role_total += 1
            role_hits += pred["roles"].get(unit) == role
        if not manner_correct(label["manner"], pred["manner"]):
            confusions[(label["manner"], pred["manner"])] += 1
    precision, recall = tp / max(tp + fp, 1), tp / max(tp + fn, 1)
    catalogue = [(label, pred) for label, pred in rows if label["manner"] in MANNER_BY_KEY]
    result = {
        "crashes": n,
        "manner_coverage": sum(p["manner"] is not None for _, p in rows) / n,
        "manner_correct_of_all": sum(manner_correct(lab["manner"], p["manner"]) for lab, p in rows) / n,
        "manner_precision_where_given": _precision_where_given(rows),
        "manner_macro_f1": _macro_f1([lab["manner"] for lab, _ in catalogue], [p["manner"] or "-" for _, p in catalogue]),
        "mancoll_correct_of_all": sum(_same_mancoll(lab["manner"], p["manner"]) for lab, p in rows) / n,
        "factor_precision": precision, "factor_recall": recall,
        "factor_f1": 2 * precision * recall / max(precision + recall, 1e-9),
        "at_fault_accuracy": fault_hits / max(fault_total, 1), "at_fault_labelled": fault_total,
        "role_accuracy": role_hits / max(role_total, 1), "roles_labelled": role_total,
    }
    _print_result(result, confusions)
    if show_errors:
        _show_errors([(label, pred) for label, pred in rows if printable(label)], texts, show_errors)
    return result


def _precision_where_given(rows) -> float:
    given = [(label, pred) for label, pred in rows if pred["manner"] is not None]
    return sum(label["manner"] == pred["manner"] for label, pred in given) / max(len(given), 1)


def _same_mancoll(gold: str, predicted: str | None) -> bool:
    if gold in NO_MANNER or predicted is None:
        return manner_correct(gold, predicted)
    return MANNER_BY_KEY[gold].mancoll == MANNER_BY_KEY[predicted].mancoll


def _print_result(result: dict, confusions: collections.Counter) -> None:
    print({k: round(v, 3) if isinstance(v, float) else v for k, v in result.items()})
    print("  manner errors (label, predicted):", confusions.most_common(12))


def _show_errors(rows, texts: dict[str, str], limit: int) -> None:
    """Development rows only: the caller leaves held-out narratives out, they are never printed."""
    shown = 0
    for label, pred in rows:
        if shown >= limit:
            break
        wrong_factors = pred["factors"] != set(label["factors"])
        if manner_correct(label["manner"], pred["manner"]) and not wrong_factors:
            continue
        shown += 1
        print(f"--- {label['narrative_sha256']} label {label['manner']} {sorted(label['factors'])} "
              f"fault {label.get('at_fault')}\n    got {pred['manner']} {sorted(pred['factors'])} fault {pred['at_fault']}"
              f"\n{texts[label['narrative_sha256']][:700]}")


def agreement(first_path: Path = LABELS, blind_path: Path = BLIND) -> dict:
    """Per-field agreement of a blind second pass with the first pass, with Cohen's kappa."""
    from sklearn.metrics import cohen_kappa_score

    first = {label["narrative_sha256"]: label for label in read_labels(first_path)}
    pairs = [(first[b["narrative_sha256"]], b) for b in read_labels(blind_path) if b["narrative_sha256"] in first]
    manners_a, manners_b = [a["manner"] for a, _ in pairs], [b["manner"] for _, b in pairs]
    tp = sum(len(set(a["factors"]) & set(b["factors"])) for a, b in pairs)
    size_a, size_b = sum(len(a["factors"]) for a, _ in pairs), sum(len(b["factors"]) for _, b in pairs)
    roles = [(a.get("roles") or {}, b.get("roles") or {}) for a, b in pairs]
    result = {
        "narratives": len(pairs),
        "manner_agreement": sum(x == y for x, y in zip(manners_a, manners_b)) / len(pairs),
        "manner_kappa": float(cohen_kappa_score(manners_a, manners_b)),
        "factor_set_exact": sum(set(a["factors"]) == set(b["factors"]) for a, b in pairs) / len(pairs),
        "factor_f1_b_vs_a": 2 * tp / max(size_a + size_b, 1),
        "at_fault_agreement": sum(a.get("at_fault") == b.get("at_fault") for a, b in pairs) / len(pairs),
        "role_agreement": sum(ra.get(u) == rb.get(u) for ra, rb in roles for u in set(ra) | set(rb))
        / max(sum(len(set(ra) | set(rb)) for ra, rb in roles), 1),
    }
    print("agreement:", {k: round(v, 3) if isinstance(v, float) else v for k, v in result.items()})
    print("  manner disagreements (A, B):",
          collections.Counter((x, y) for x, y in zip(manners_a, manners_b) if x != y).most_common(10))
    return result


def speed(n: int, style: str = "typed") -> dict:
    import pandas as pd

    texts = pd.read_csv(DATA)["Narrative"].fillna("").tolist()
    if style == "ocr_scan":
        from ocr_style import as_ocr_scan

        texts = [as_ocr_scan(text) for text in texts]
    texts = (texts * (n // len(texts) + 1))[:n]
    result = {"narratives": n, "style": style}
    for name, fallback in (("rules_only", False), ("with_learned_fallback", True)):
        best = float("inf")
        for _ in range(REPEATS):  # the best of a few passes, as timeit does: the first pays for warming up
            cpu = time.process_time()
            for number, text in enumerate(texts):
                extract_graph(text, str(number), fallback=fallback)
            best = min(best, time.process_time() - cpu)
        result[f"{name}_per_cpu_s"] = round(n / best)
    print("speed (one core, CRIS, graphs per CPU-second):", result)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("what", choices=["score", "agreement", "speed", "all"])
    parser.add_argument("--split", choices=["dev", "heldout", "all", *ROUNDS, "all_development", "all_held_out"], default="dev",
                        help=f"rounds {', '.join(HELD_OUT_ROUNDS)}: held out whole; the other rounds: development; "
                             "all_development / all_held_out: every development / held-out label together")
    parser.add_argument("--show_errors", type=int, default=0, help="print N wrong development rows")
    parser.add_argument("--n", type=int, default=3000)
    parser.add_argument("--style", choices=["typed", "ocr_scan"], default="typed",
                        help="ocr_scan: score each narrative re-rendered as an OCR'd CR-3 scan (bench/ocr_style.py)")
    args = parser.parse_args()
    if not DATA.is_file():
        sys.exit(f"{DATA} not found: this benchmark needs ../shared/data (see its README)")
    if args.what in ("score", "all"):
        texts, labels = narratives_by_digest(), read_labels()
        if args.style == "ocr_scan":
            from ocr_style import as_ocr_scan

            texts = {key: as_ocr_scan(text) for key, text in texts.items()}
        for split in (["dev", "heldout", *ROUNDS] if args.what == "all" else [args.split]):
            if split in ROUNDS and not ROUNDS[split].is_file():
                continue
            print(f"[{split}]", end=" ")
            if split == "all_development":
                score(development_labels(), texts, args.show_errors)
            elif split == "all_held_out":
                score(held_out_labels(), texts)  # scored together, never printed
            elif split in ROUNDS:  # a held-out round's errors are never shown
                score(read_labels(ROUNDS[split]), texts, 0 if split in HELD_OUT_ROUNDS else args.show_errors)
            else:
                first_round = [label for label in labels if in_split(label, split)]
                score(first_round, texts, args.show_errors, printable=lambda label: not in_split(label, "heldout"))
    if args.what in ("agreement", "all"):
        for name, (first_path, blind_path) in BLIND_PASSES.items():
            if blind_path.is_file():
                print(f"[{name}]", end=" ")
                agreement(first_path, blind_path)
    if args.what in ("speed", "all"):
        speed(args.n, args.style)


if __name__ == "__main__":
    main()
