"""The pairs `evaluate` scores: read prediction and reference files and join them by Crash_ID.

Files are CSV, XLSX or JSONL (data/readers.py). Columns are found case-insensitively by the aliases
below, or named with --id_column / --prediction_column / --reference_column. IDs are compared as
strings ("0012" stays "0012"; a spreadsheet's 19955047.0 becomes "19955047"). Rows that cannot be
paired (an ID in one file only, a repeated ID, an empty reference, an unreadable row) are listed
in `EvaluationPairs.problems` and never silently dropped.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from crashtransformer.core.errors import UserError
from crashtransformer.data.columns import ROLE_ALIASES, column_key
from crashtransformer.data.records import PlanLinesError, id_text, is_missing_marker, parse_plan_lines

PREDICTION_ALIASES = ("prediction", "predictions", "predicted_summary", "generated_summary", "generated",
                      "best_summary", "best.summary", "hypothesis", "candidate", "output")
REFERENCE_ALIASES = ("reference", "references", "reference_summary", "summary", "target", "target_summary",
                     "gold", "gold_summary", "llm_summary", "causal_summary")


@dataclass
class Problem:
    crash_id: str
    file: str
    row_number: int | None
    reason: str  # only_in_predictions, only_in_references, duplicate_id, empty_reference, unreadable_row, ...
    detail: str = ""


@dataclass
class EvaluationPairs:
    ids: list[str] = field(default_factory=list)
    predictions: list[str] = field(default_factory=list)
    references: list[str] = field(default_factory=list)
    narratives: list[str] | None = None  # None when no file has a narrative column
    plans: list[list[str]] | None = None  # None when no file has a plan_lines column
    problems: list[Problem] = field(default_factory=list)
    join: dict[str, Any] = field(default_factory=dict)  # counts for evaluation_results.json


@dataclass
class Table:
    path: Path
    columns: list[str]
    rows: list[tuple[int | None, dict[str, Any]]]  # (row number, values)
    problems: list[Problem]


def read_table(path: str | Path) -> Table:
    """Every row of a CSV/XLSX/JSONL file; unparsable rows become problems."""
    from crashtransformer.data import readers
    from crashtransformer.data.columns import known_column_keys

    info, raw = readers.open_rows(path, known_columns=known_column_keys())
    file = Path(info.path)
    rows, problems = [], []
    for item in raw:
        if isinstance(item, readers.RawRow):
            rows.append((item.row_number, item.values))
        else:
            problems.append(Problem("", str(file), item.row_number, item.reason, item.detail))
    return Table(file, list(info.columns), rows, problems)


def find_column(table: Table, explicit: str | None, aliases: tuple[str, ...], role: str, flag: str,
                exclude: tuple[str | None, ...] = ()) -> str | None:
    """The column for `role`: the one named by the flag, else the first alias present."""
    by_key: dict[str, str] = {}
    for column in table.columns:
        if column not in exclude:
            by_key.setdefault(column_key(column), column)
    if explicit:
        found = explicit if explicit in table.columns else by_key.get(column_key(explicit))
        if found is None:
            raise UserError(f"{table.path}: no {role} column '{explicit}' ({flag}); "
                            f"columns found: {', '.join(table.columns)}")
        return found
    return next((by_key[alias] for alias in aliases if alias in by_key), None)


def _text(value: Any) -> str:
    from crashtransformer.core.io import unneutralize

    if value is None or (isinstance(value, float) and value != value) or is_missing_marker(value):
        return ""  # NaN, "N/A", "NULL": an empty cell as a spreadsheet or pandas wrote it
    return unneutralize(str(value)) or ""


def _keyed(table: Table, id_col: str | None, problems: list[Problem]) -> dict[str, tuple[int | None, dict]]:
    """Rows by ID (row number when the file has no ID column); a repeated ID keeps the first row."""
    keyed: dict[str, tuple[int | None, dict]] = {}
    for number, values in table.rows:
        crash_id = id_text(values.get(id_col)) if id_col else str(number)
        if not crash_id:
            problems.append(Problem("", str(table.path), number, "missing_id", f"empty {id_col}"))
        elif crash_id in keyed:
            problems.append(Problem(crash_id, str(table.path), number, "duplicate_id",
                                    f"{id_col} {crash_id} also on row {keyed[crash_id][0]}; the first row is used"))
        else:
            keyed[crash_id] = (number, values)
    return keyed


def _plan(values: dict, column: str | None, table: Table, number: int | None, crash_id: str,
          problems: list[Problem]) -> list[str]:
    """The row's plan lines; a malformed cell is reported and the row scored without a plan."""
    if not column:
        return []
    try:
        return parse_plan_lines(values.get(column))
    except PlanLinesError as exc:
        problems.append(Problem(crash_id, str(table.path), number, "bad_plan_lines", f"{column} is {exc}"))
        return []


def load_pairs(predictions_path: str, references_path: str | None = None, id_column: str | None = None,
               prediction_column: str | None = None, reference_column: str | None = None) -> EvaluationPairs:
    """Predictions joined to references by ID; with one file, its own two columns side by side."""
    predictions = read_table(predictions_path)
    references = read_table(references_path) if references_path else predictions
    pred_col = find_column(predictions, prediction_column, PREDICTION_ALIASES, "prediction", "--prediction_column")
    if pred_col is None and references_path:  # a predictions file often calls its column "summary"
        pred_col = find_column(predictions, None, REFERENCE_ALIASES, "prediction", "--prediction_column")
    if pred_col is None:
        raise UserError(f"{predictions.path}: no prediction column; columns found: {', '.join(predictions.columns)}; "
                        "name it with --prediction_column")
    ref_col = find_column(references, reference_column, REFERENCE_ALIASES, "reference", "--reference_column",
                          exclude=(pred_col,) if references is predictions else ())
    if ref_col is None:
        raise UserError(f"{references.path}: no reference column; columns found: {', '.join(references.columns)}; "
                        "name it with --reference_column" + ("" if references_path else ", or pass --references FILE"))
    id_cols = [find_column(t, id_column, ROLE_ALIASES["crash_id"], "ID", "--id_column")
               for t in (predictions, references)]
    if references is not predictions and None in id_cols:
        missing = predictions.path if id_cols[0] is None else references.path
        raise UserError(f"{missing}: no ID column to join on (Crash_ID, CASEID, id, ...); name it with --id_column")
    source = references if references is not predictions else predictions
    narrative_col = find_column(source, None, ROLE_ALIASES["narrative"], "narrative", "",
                                exclude=(pred_col, ref_col))
    plan_col = find_column(source, None, ROLE_ALIASES["plan_lines"], "plan", "")
    return _join(predictions, references, id_cols, pred_col, ref_col, narrative_col, plan_col)


def _join(predictions: Table, references: Table, id_cols: list[str | None], pred_col: str, ref_col: str,
          narrative_col: str | None, plan_col: str | None) -> EvaluationPairs:
    problems = [*predictions.problems, *(references.problems if references is not predictions else [])]
    pred_rows = _keyed(predictions, id_cols[0], problems)
    ref_rows = pred_rows if references is predictions else _keyed(references, id_cols[1], problems)
    pairs = EvaluationPairs(narratives=[] if narrative_col else None, plans=[] if plan_col else None)
    for crash_id, (number, values) in ref_rows.items():
        if crash_id not in pred_rows:
            problems.append(Problem(crash_id, str(references.path), number, "only_in_references"))
            continue
        reference = _text(values.get(ref_col))
        if not reference.strip():
            problems.append(Problem(crash_id, str(references.path), number, "empty_reference",
                                    f"{ref_col} is empty: nothing to score against"))
            continue
        pairs.ids.append(crash_id)
        pairs.predictions.append(_text(pred_rows[crash_id][1].get(pred_col)))
        pairs.references.append(reference)
        if pairs.narratives is not None:
            pairs.narratives.append(_text(values.get(narrative_col)))
        if pairs.plans is not None:
            pairs.plans.append(_plan(values, plan_col, references, number, crash_id, problems))
    for crash_id, (number, _) in pred_rows.items():
        if crash_id not in ref_rows:
            problems.append(Problem(crash_id, str(predictions.path), number, "only_in_predictions"))
    pairs.problems = problems
    pairs.join = {"predictions_file": str(predictions.path), "references_file": str(references.path),
                  "id_columns": id_cols, "prediction_column": pred_col, "reference_column": ref_col,
                  "narrative_column": narrative_col, "plan_column": plan_col,
                  "prediction_rows": len(predictions.rows), "reference_rows": len(references.rows),
                  "pairs": len(pairs.ids), **_problem_counts(problems)}
    return pairs


def _problem_counts(problems: list[Problem]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for problem in problems:
        counts[problem.reason] = counts.get(problem.reason, 0) + 1
    return counts
