"""The bad-input corpus: each entry says how to make one bad input and what each command must do.

An outcome is an exit code and what it must say:
- exit 2: `says` is part of the one-line `error: ...` message (no traceback, nothing else printed);
- exit 3: `says` is the reason on a reject row (rejects.csv, <stem>.rejects.csv or evaluation_problems.csv);
- exit 0: the input is odd but valid; `says` is empty and `ids` (when given) must come out unchanged.
Whatever the code: rows in = rows done + rows rejected, and no Crash_ID is done twice.

docs/reliability.md shows this table; tests/faults/test_docs_table.py keeps the two in step.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

PREPARE, RUN, EVALUATE, TRAIN = "prepare-data", "run", "evaluate", "train"
COMMANDS = (PREPARE, RUN, EVALUATE, TRAIN)

HEADER = ["Crash_ID", "Narrative", "Summary", "prediction"]  # `prediction` lets evaluate score the same file
GOOD_ROWS = [
    ["C1", "Unit 1 failed to control speed and struck Unit 2 in the 1200 block of Main St.",
     "Unit 1 failed to control speed and rear-ended Unit 2.", "Unit 1 rear-ended Unit 2."],
    ["C2", "Unit 2 failed to yield the right of way to Unit 1 at Oak Ave and 5th St.",
     "Unit 2 failed to yield and struck Unit 1.", "Unit 2 hit Unit 1 at the intersection."],
]


@dataclass(frozen=True)
class Outcome:
    exit_code: int
    says: str = ""


@dataclass
class Made:
    """What a maker produced; fields left None take the good defaults of the test."""

    data: Path | None = None  # the input file (None: a good two-row CSV)
    rows: int = 0  # data rows the tool must account for (done + rejected)
    model: Path | None = None  # a model directory in place of the good tiny one
    out: Path | None = None  # an output location in place of a fresh folder
    config: Path | None = None  # a YAML preset passed with --config
    flags: tuple[str, ...] = ()
    ids: tuple[str, ...] = ()  # Crash_IDs that must come out exactly so (exit 0 cases)
    text: str = ""  # text the prepare-data output must hold (decoding checks)


@dataclass(frozen=True)
class BadInput:
    name: str
    what: str  # one line for the table in docs/reliability.md
    make: Callable[[Path], Made]
    outcomes: dict[str, Outcome] = field(default_factory=dict)


# ----------------------------------------------------------------------------- helpers


def csv_text(rows: list[list[str]], header: list[str] = HEADER, delimiter: str = ",") -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue()


def good_csv(directory: Path, name: str = "crashes.csv") -> Path:
    path = directory / name
    path.write_text(csv_text(GOOD_ROWS), encoding="utf-8")
    return path


def _write(directory: Path, name: str, data: bytes | str) -> Path:
    path = directory / name
    path.write_bytes(data if isinstance(data, bytes) else data.encode("utf-8"))
    return path


def _csv_with(directory: Path, extra: list[list[str]], name: str = "crashes.csv") -> Made:
    """The good rows plus `extra`; every row must be accounted for."""
    return Made(_write(directory, name, csv_text(GOOD_ROWS + extra)), rows=len(GOOD_ROWS) + len(extra))


def _jsonl_lines(directory: Path, extra_lines: list[str]) -> Made:
    lines = [json.dumps({"narrative": n, "summary": s, "prediction": p, "metadata": {"crash_id": i}})
             for i, n, s, p in GOOD_ROWS]
    return Made(_write(directory, "crashes.jsonl", "\n".join(lines + extra_lines) + "\n"),
                rows=len(lines) + len(extra_lines))


def _model_copy(directory: Path, model: Path, name: str) -> Path:
    import shutil

    target = directory / name
    shutil.copytree(model, target)
    return target


# ----------------------------------------------------------------------------- makers: data files


def empty_file(d: Path) -> Made:
    return Made(_write(d, "crashes.csv", b""))


def header_only(d: Path) -> Made:
    return Made(_write(d, "crashes.csv", csv_text([])))


def blank_lines_only(d: Path) -> Made:
    return Made(_write(d, "crashes.csv", "\n\n  \n"))


def missing_narrative_column(d: Path) -> Made:
    rows = [[i, "minor", s, p] for i, _, s, p in GOOD_ROWS]
    return Made(_write(d, "crashes.csv", csv_text(rows, ["Crash_ID", "Severity", "Notes", "prediction"])),
                rows=len(rows))


def semicolon_delimited(d: Path) -> Made:
    return Made(_write(d, "crashes.csv", csv_text(GOOD_ROWS, delimiter=";")), rows=2, ids=("C1", "C2"))


def wrong_delimiter_forced(d: Path) -> Made:
    made = semicolon_delimited(d)
    made.flags = ("--delimiter", ",")
    return made


def cp1252_file(d: Path) -> Made:
    rows = [[i, n.replace("Main St.", "Rue Café, señal roja."), s, p] for i, n, s, p in GOOD_ROWS]
    return Made(_write(d, "crashes.csv", csv_text(rows).encode("cp1252")), rows=2, ids=("C1", "C2"), text="Café")


def mixed_encodings(d: Path) -> Made:
    utf8 = csv_text(GOOD_ROWS[:1] + [["C2", "Unit 2 struck Müller's fence on Main St.", "Unit 2 hit a fence.", "x"]])
    cp1252 = "C3,Unit 3 struck the café sign on 5th St.,Unit 3 hit a sign.,y\n".encode("cp1252")
    return Made(_write(d, "crashes.csv", utf8.encode("utf-8") + cp1252), rows=3)


def utf8_bom(d: Path) -> Made:
    return Made(_write(d, "crashes.csv", "\ufeff" + csv_text(GOOD_ROWS)), rows=2, ids=("C1", "C2"))


def utf16_with_bom(d: Path) -> Made:
    return Made(_write(d, "crashes.csv", csv_text(GOOD_ROWS).encode("utf-16")), rows=2, ids=("C1", "C2"))


def cr_only_line_endings(d: Path) -> Made:
    return Made(_write(d, "crashes.csv", csv_text(GOOD_ROWS).replace("\n", "\r")), rows=2, ids=("C1", "C2"))


def nul_bytes(d: Path) -> Made:
    text = csv_text(GOOD_ROWS).replace("failed to yield", "failed\x00 to yield")
    return Made(_write(d, "crashes.csv", text), rows=2, ids=("C1", "C2"))


def binary_file(d: Path) -> Made:
    return Made(_write(d, "crashes.csv", bytes(range(256)) * 64 + b"\x00" * 4096))


def unclosed_quote(d: Path) -> Made:
    # The quote swallows every later line into one field: the tail is one reject naming the lines.
    text = csv_text(GOOD_ROWS) + 'C3,"Unit 3 struck a pole,Unit 3 hit a pole.,x\nC4,Unit 4 backed into a car.,y,z\n'
    return Made(_write(d, "crashes.csv", text), rows=3)


def wrong_field_count(d: Path) -> Made:
    text = csv_text(GOOD_ROWS) + "C3,Unit 3 struck a pole, then a fence,Unit 3 hit a pole.,x\n"
    return Made(_write(d, "crashes.csv", text), rows=3)


def huge_narrative(d: Path) -> Made:
    narrative = ("Unit 1 failed to control speed and struck Unit 2. " * 20_000)[:1_000_000]
    return _csv_with(d, [["C3", narrative, "Unit 1 hit Unit 2.", "x"]])


def whitespace_narratives(d: Path) -> Made:
    return _csv_with(d, [["C3", "   ", "  ", "x"], ["C4", "\t \n ", "\n", "y"]])


def duplicate_ids(d: Path) -> Made:
    return _csv_with(d, [["C1", "Unit 3 backed into Unit 4 in a parking lot.", "Unit 3 backed into Unit 4.", "x"]])


def leading_zero_ids(d: Path) -> Made:
    rows = [["007", *GOOD_ROWS[0][1:]], ["0042", *GOOD_ROWS[1][1:]]]
    return Made(_write(d, "crashes.csv", csv_text(rows)), rows=2, ids=("007", "0042"))


def numeric_narratives(d: Path) -> Made:
    return _csv_with(d, [["C3", "12345", "Unit 3 hit a pole.", "x"], ["C4", "3.5", "Unit 4 hit a car.", "y"]])


def nan_cells(d: Path) -> Made:
    return _csv_with(d, [["C3", "NaN", "nan", "x"], ["nan", "N/A", "NULL", "y"]])


def jsonl_broken_line(d: Path) -> Made:
    return _jsonl_lines(d, ['{"narrative": "Unit 3 struck a pole", "summary": "Unit 3 hit'])


def jsonl_not_an_object(d: Path) -> Made:
    return _jsonl_lines(d, ['["Unit 3 struck a pole", "Unit 3 hit a pole."]'])


def jsonl_nan_number(d: Path) -> Made:
    return _jsonl_lines(d, ['{"narrative": NaN, "summary": "x", "prediction": "y", "metadata": {"crash_id": "C3"}}'])


def malformed_plan_lines(d: Path) -> Made:
    header = HEADER + ["plan_lines"]
    rows = [[*GOOD_ROWS[0], '["1) failed to control speed -> rear-end collision"]'],
            [*GOOD_ROWS[1], "['1) failed to yield -> angle collision'"]]
    return Made(_write(d, "crashes.csv", csv_text(rows, header)), rows=2)


def _workbook(d: Path, sheet: str) -> Path:
    from openpyxl import Workbook

    book = Workbook()
    book.active.title = sheet
    book.active.append(HEADER)
    for row in GOOD_ROWS:
        book.active.append(row)
    path = d / "crashes.xlsx"
    book.save(path)
    return path


def xlsx_missing_sheet(d: Path) -> Made:
    return Made(_workbook(d, "2024"), rows=2, flags=("--worksheet", "2023"))


def not_really_xlsx(d: Path) -> Made:
    return Made(_write(d, "crashes.xlsx", csv_text(GOOD_ROWS)))


def workbook_named_csv(d: Path) -> Made:
    return Made(_write(d, "crashes.csv", _workbook(d, "2024").read_bytes()))


def jsonl_named_csv(d: Path) -> Made:
    return Made(_write(d, "crashes.csv", _jsonl_lines(d, []).data.read_bytes()))


def csv_named_jsonl(d: Path) -> Made:
    return Made(_write(d, "crashes.jsonl", csv_text(GOOD_ROWS)))


def legacy_xls(d: Path) -> Made:
    return Made(_write(d, "crashes.csv", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(4096)))  # OLE2: Excel 97-2003


def gzipped_csv(d: Path) -> Made:
    return Made(_write(d, "crashes.csv", gzip.compress(csv_text(GOOD_ROWS).encode("utf-8"))))


def stray_byte_in_header(d: Path) -> Made:
    rows = [[i, "minor", s, p] for i, _, s, p in GOOD_ROWS]
    text = csv_text(rows, ["Crash_ID", "Caf\u00e9 \udcff", "Notes", "prediction"])  # \udcff: the byte 0xff
    return Made(_write(d, "crashes.csv", text.encode("utf-8", "surrogateescape")), rows=len(rows))


def input_is_a_directory(d: Path) -> Made:
    path = d / "crashes.csv"
    path.mkdir()
    return Made(path)


def input_missing(d: Path) -> Made:
    return Made(d / "no-such-file.csv")


def training_file_without_summary(d: Path) -> Made:
    rows = [[i, n] for i, n, _, _ in GOOD_ROWS]
    return Made(_write(d, "train.csv", csv_text(rows, ["Crash_ID", "Narrative"])), rows=2)


# ----------------------------------------------------------------------------- makers: models, outputs, configs
# These take the good tiny model from the `made_with` hook of the test (see test_bad_inputs.py).


def model_missing_tokenizer(d: Path, model: Path) -> Made:
    target = _model_copy(d, model, "model-no-tokenizer")
    for name in ("tokenizer.json", "tokenizer_config.json", "vocab.json", "merges.txt", "special_tokens_map.json"):
        (target / name).unlink(missing_ok=True)
    return Made(model=target)


def truncated_safetensors(d: Path, model: Path) -> Made:
    target = _model_copy(d, model, "model-truncated")
    weights = target / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[: weights.stat().st_size // 2])  # a copy cut short
    return Made(model=target)


def pickle_only_weights(d: Path, model: Path) -> Made:
    target = _model_copy(d, model, "model-pickle")
    (target / "model.safetensors").unlink()
    (target / "pytorch_model.bin").write_bytes(b"\x80\x04 pickle that would run code")
    return Made(model=target)


def model_without_config(d: Path, model: Path) -> Made:
    target = _model_copy(d, model, "model-no-config")
    (target / "config.json").unlink()
    return Made(model=target)


def output_under_a_file(d: Path) -> Made:
    # Tests run as root, where chmod does not stop writes: a path below a regular file cannot be
    # created by anyone, so it stands in for a read-only output folder.
    blocker = _write(d, "somefile.txt", "not a folder\n")
    return Made(out=blocker / "out")


def output_in_proc(d: Path) -> Made:
    return Made(out=Path("/proc/crashtransformer-out"))  # procfs refuses new files, even to root


def yaml_unknown_key(d: Path) -> Made:
    return Made(config=_write(d, "preset.yaml", "seed: 1\nnum_beam: 2\n"))


def yaml_wrong_type(d: Path) -> Made:
    return Made(config=_write(d, "preset.yaml", "seed: forty-two\n"))


def yaml_not_yaml(d: Path) -> Made:
    return Made(config=_write(d, "preset.yaml", "seed: [1, 2\n"))


def yaml_out_of_range(d: Path) -> Made:
    return Made(config=_write(d, "preset.yaml", "seed: -1\n"))


def flag_out_of_range(d: Path) -> Made:
    return Made(flags=("--seed", "-1"))


# ----------------------------------------------------------------------------- the table

E2, E3, OK = (lambda says: Outcome(2, says)), (lambda reason: Outcome(3, reason)), Outcome(0)

CORPUS: list[BadInput] = [
    BadInput("empty_file", "a 0-byte CSV", empty_file,
             {PREPARE: E2("the file is empty"), RUN: E2("the file is empty"), EVALUATE: E2("the file is empty"),
              TRAIN: E2("the file is empty")}),
    BadInput("header_only", "a header and no rows", header_only,
             {PREPARE: E2("no data rows (only a header)"), RUN: OK, EVALUATE: E2("no pairs to score"),
              TRAIN: E2("no data rows (only a header)")}),
    BadInput("blank_lines_only", "only blank lines, no header", blank_lines_only,
             {PREPARE: E2("no header row"), RUN: E2("no header row"), EVALUATE: E2("no header row")}),
    BadInput("missing_narrative_column", "no column that holds a narrative", missing_narrative_column,
             {PREPARE: E2("no narrative column"), RUN: E2("no narrative column"), TRAIN: E2("no narrative column")}),
    BadInput("semicolon_delimited", "a ';'-separated file (European Excel)", semicolon_delimited,
             {PREPARE: OK, RUN: OK, EVALUATE: OK}),
    BadInput("wrong_delimiter_forced", "a ';' file read with --delimiter ','", wrong_delimiter_forced,
             {PREPARE: E2("pass --delimiter")}),
    BadInput("cp1252_file", "a whole file in Windows cp1252", cp1252_file, {PREPARE: OK, RUN: OK}),
    BadInput("mixed_encodings", "UTF-8 with one cp1252 row", mixed_encodings,
             {PREPARE: E3("undecodable_bytes"), RUN: E3("undecodable_bytes"), EVALUATE: E3("undecodable_bytes")}),
    BadInput("utf8_bom", "UTF-8 with a byte-order mark before Crash_ID", utf8_bom,
             {PREPARE: OK, RUN: OK, EVALUATE: OK}),
    BadInput("utf16_with_bom", "UTF-16 (Excel 'Unicode text')", utf16_with_bom, {PREPARE: OK, RUN: OK}),
    BadInput("cr_only_line_endings", "old Mac line endings (CR only)", cr_only_line_endings, {PREPARE: OK, RUN: OK}),
    BadInput("nul_bytes", "NUL bytes inside a narrative", nul_bytes, {PREPARE: OK, RUN: OK}),
    BadInput("binary_file", "binary bytes named .csv", binary_file,
             {PREPARE: E2("mostly NUL bytes"), RUN: E2("mostly NUL bytes")}),
    BadInput("unclosed_quote", "a quote never closed (swallows the rest)", unclosed_quote,
             {PREPARE: E3("unclosed_quote"), RUN: E3("unclosed_quote"), EVALUATE: E3("unclosed_quote")}),
    BadInput("wrong_field_count", "an unquoted comma inside a narrative", wrong_field_count,
             {PREPARE: E3("wrong_field_count"), RUN: E3("wrong_field_count"), EVALUATE: E3("wrong_field_count")}),
    BadInput("huge_narrative", "a 1 MB narrative", huge_narrative, {PREPARE: E3("too_long"), RUN: OK}),
    BadInput("whitespace_narratives", "narratives of spaces, tabs and newlines", whitespace_narratives,
             {PREPARE: E3("empty_narrative"), RUN: E3("empty_narrative"), EVALUATE: E3("empty_reference")}),
    BadInput("duplicate_ids", "a Crash_ID used twice", duplicate_ids,
             {PREPARE: E3("duplicate_crash_id"), RUN: E3("duplicate_crash_id"), EVALUATE: E3("duplicate_id")}),
    BadInput("leading_zero_ids", "IDs 007 and 0042 (must stay strings)", leading_zero_ids,
             {PREPARE: OK, RUN: OK, EVALUATE: OK}),
    BadInput("numeric_narratives", "numbers where a narrative belongs", numeric_narratives,
             {PREPARE: E3("not_text"), RUN: E3("not_text")}),
    BadInput("nan_cells", "NaN / N/A / NULL cells from pandas or a database", nan_cells,
             {PREPARE: E3("empty_narrative"), RUN: E3("empty_narrative"), EVALUATE: E3("empty_reference")}),
    BadInput("jsonl_broken_line", "JSONL with a line cut short", jsonl_broken_line,
             {PREPARE: E3("broken_json"), RUN: E3("broken_json"), EVALUATE: E3("broken_json")}),
    BadInput("jsonl_not_an_object", "JSONL with a list where an object belongs", jsonl_not_an_object,
             {PREPARE: E3("not_an_object"), RUN: E3("not_an_object")}),
    BadInput("jsonl_nan_number", "JSONL with \"narrative\": NaN", jsonl_nan_number,
             {PREPARE: E3("not_text"), RUN: E3("not_text")}),
    BadInput("malformed_plan_lines", "plan_lines that start like a list and are not one", malformed_plan_lines,
             {PREPARE: E3("bad_plan_lines"), RUN: E3("bad_plan_lines"), EVALUATE: E3("bad_plan_lines")}),
    BadInput("xlsx_missing_sheet", "--worksheet naming a sheet the workbook lacks", xlsx_missing_sheet,
             {PREPARE: E2("no worksheet '2023'"), RUN: E2("no worksheet '2023'")}),
    BadInput("not_really_xlsx", "a CSV renamed .xlsx", not_really_xlsx,
             {PREPARE: E2("is CSV text, not an .xlsx workbook"), RUN: E2("is CSV text, not an .xlsx workbook")}),
    BadInput("workbook_named_csv", "an Excel workbook named .csv", workbook_named_csv,
             {PREPARE: E2("is an Excel workbook (XLSX), not CSV: rename it to crashes.xlsx"),
              RUN: E2("is an Excel workbook (XLSX), not CSV: pass it with --xlsx"),
              EVALUATE: E2("is an Excel workbook (XLSX), not CSV"), TRAIN: E2("is an Excel workbook (XLSX), not CSV")}),
    BadInput("jsonl_named_csv", "JSON lines named .csv", jsonl_named_csv,
             {PREPARE: E2("is JSON lines, not CSV"), RUN: E2("is JSON lines, not CSV: pass it with --jsonl"),
              EVALUATE: E2("is JSON lines, not CSV")}),
    BadInput("csv_named_jsonl", "a CSV named .jsonl", csv_named_jsonl,
             {PREPARE: E2("is CSV text, not JSON lines"), RUN: E2("is CSV text, not JSON lines")}),
    BadInput("legacy_xls", "an Excel 97-2003 .xls named .csv", legacy_xls,
             {PREPARE: E2("is a legacy Excel workbook (.xls)"), RUN: E2("is a legacy Excel workbook (.xls)")}),
    BadInput("gzipped_csv", "a gzip-compressed CSV", gzipped_csv,
             {PREPARE: E2("is gzip-compressed"), RUN: E2("is gzip-compressed")}),
    BadInput("stray_byte_in_header", "a non-UTF-8 byte in a column name (and no narrative column)",
             stray_byte_in_header,
             {PREPARE: E2("no narrative column; columns found: Crash_ID, Caf\u00e9 \ufffd"),
              RUN: E2("no narrative column; columns found: Crash_ID, Caf\u00e9 \ufffd")}),
    BadInput("input_is_a_directory", "a folder where a file belongs", input_is_a_directory,
             {PREPARE: E2("input is not a file"), RUN: E2("input file not found")}),
    BadInput("input_missing", "an input path that does not exist", input_missing,
             {PREPARE: E2("input file not found"), RUN: E2("input file not found"), EVALUATE: E2("input file not found"),
              TRAIN: E2("input file not found")}),
    BadInput("training_file_without_summary", "training data with no summary column", training_file_without_summary,
             {TRAIN: E2("no summary column")}),
    BadInput("model_missing_tokenizer", "a model folder without its tokenizer files", model_missing_tokenizer,
             {RUN: E2("has no tokenizer"), EVALUATE: E2("has no tokenizer"), TRAIN: E2("has no tokenizer")}),
    BadInput("truncated_safetensors", "model.safetensors cut to half its size", truncated_safetensors,
             {RUN: E2("truncated or corrupt"), EVALUATE: E2("truncated or corrupt"), TRAIN: E2("truncated or corrupt")}),
    BadInput("pickle_only_weights", "only pytorch_model.bin (pickle) weights", pickle_only_weights,
             {RUN: E2("--allow_pickle"), EVALUATE: E2("--allow_pickle"), TRAIN: E2("--allow_pickle")}),
    BadInput("model_without_config", "a model folder without config.json", model_without_config,
             {RUN: E2("config.json is missing"), EVALUATE: E2("config.json is missing"), TRAIN: E2("config.json is missing")}),
    BadInput("output_under_a_file", "an output path below a regular file (not writable, even as root)",
             output_under_a_file,
             {PREPARE: E2("is a file, not a folder"), RUN: E2("is a file, not a folder"),
              EVALUATE: E2("is a file, not a folder"), TRAIN: E2("is a file, not a folder")}),
    BadInput("output_in_proc", "an output folder in /proc (no new files there)", output_in_proc,
             {PREPARE: E2("cannot write to --output"), RUN: E2("cannot write to --out_dir"),
              EVALUATE: E2("cannot write to --output_dir")}),
    BadInput("yaml_unknown_key", "--config with a misspelt option", yaml_unknown_key,
             {PREPARE: E2("unknown option 'num_beam'"), RUN: E2("unknown option 'num_beam'"),
              EVALUATE: E2("unknown option 'num_beam'"), TRAIN: E2("unknown option 'num_beam'")}),
    BadInput("yaml_wrong_type", "--config with text where a number belongs", yaml_wrong_type,
             {PREPARE: E2("option 'seed': expected int"), RUN: E2("option 'seed': expected int"),
              EVALUATE: E2("option 'seed': expected int"), TRAIN: E2("option 'seed': expected int")}),
    BadInput("yaml_not_yaml", "--config that is not valid YAML", yaml_not_yaml,
             {PREPARE: E2("not valid YAML"), RUN: E2("not valid YAML"), EVALUATE: E2("not valid YAML"),
              TRAIN: E2("not valid YAML")}),
    BadInput("yaml_out_of_range", "--config with a number out of its range", yaml_out_of_range,
             {PREPARE: E2("option 'seed': -1 is not in the range"), RUN: E2("option 'seed': -1 is not in the range"),
              EVALUATE: E2("option 'seed': -1 is not in the range"), TRAIN: E2("option 'seed': -1 is not in the range")}),
    BadInput("flag_out_of_range", "a flag with a number out of its range", flag_out_of_range,
             {PREPARE: E2("'--seed': -1 is not in the range"), RUN: E2("'--seed': -1 is not in the range"),
              EVALUATE: E2("'--seed': -1 is not in the range"), TRAIN: E2("'--seed': -1 is not in the range")}),
]

MODEL_MAKERS = {model_missing_tokenizer, truncated_safetensors, pickle_only_weights, model_without_config}


def cases() -> list[tuple[BadInput, str]]:
    """Every (input, command) pair the suite tries."""
    return [(entry, command) for entry in CORPUS for command in COMMANDS if command in entry.outcomes]


def _cell(outcome: Outcome | None) -> str:
    if outcome is None:
        return "—"
    return {0: "0 accepted", 2: f"2 `{outcome.says}`", 3: f"3 reject `{outcome.says}`"}[outcome.exit_code]


def markdown_table() -> str:
    """The corpus as the table of docs/reliability.md."""
    lines = ["| # | bad input | name | " + " | ".join(COMMANDS) + " |", "|---|---|---|" + "---|" * len(COMMANDS)]
    for number, entry in enumerate(CORPUS, 1):
        cells = " | ".join(_cell(entry.outcomes.get(command)) for command in COMMANDS)
        lines.append(f"| {number} | {entry.what} | `{entry.name}` | {cells} |")
    return "\n".join(lines) + "\n"
