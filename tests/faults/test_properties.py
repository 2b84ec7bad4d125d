"""Property-based tests (hypothesis) of every reader and of plan extraction.

For CSV, JSONL, XLSX, the training-file reader and --graphs_file:
- arbitrary bytes (and bytes built from the fragments that break parsers) read -> nothing but
  UserError escapes;
- arbitrary well-formed rows written by csv.writer / json.dumps / openpyxl -> every row comes
  back exactly once, as a record or a reject (records + rejects == rows written), Crash_IDs as
  the strings written.
Plan extraction (plan/graph.py extract_graph, through plan/policy.py plan_crash as `run` calls
it): arbitrary text -> no exception, a well-formed graph and plan.

EXAMPLES holds the example count of each property (docs cite it); the counts that ran are written
to <pytest basetemp>/hypothesis_examples.json and printed at the end of the module.
"""

from __future__ import annotations

import csv
import io
import json
import zipfile
import zlib
from collections import Counter
from pathlib import Path

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from crashtransformer.core.errors import UserError
from crashtransformer.data.records import (
    MISSING_MARKERS,
    TRAIN_FORMAT_FLAGS,
    CrashRecord,
    PlanLinesError,
    RecordReader,
    Reject,
    parse_plan_lines,
    read_training_file,
)
from crashtransformer.plan.graph import (
    at_fault_unit,
    collision_roles,
    plan_lines_from_external_graph,
    primary_manner,
    read_graphs_file,
)

EXAMPLES = {
    "csv_bytes": 400, "jsonl_bytes": 400, "training_bytes": 200, "graphs_bytes": 400, "xlsx_bytes": 150,
    "csv_rows": 200, "jsonl_rows": 200, "training_rows": 100, "xlsx_rows": 30, "graphs_rows": 300,
    "plan_lines": 400, "plan_text": 300, "plan_words": 300,
}
RAN: Counter = Counter()  # examples actually run, per property


def _settings(name: str):
    return settings(max_examples=EXAMPLES[name], deadline=None, database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture,
                                           HealthCheck.data_too_large])


@pytest.fixture(scope="module", autouse=True)
def _report_counts(tmp_path_factory, request):
    yield
    out = tmp_path_factory.getbasetemp() / "hypothesis_examples.json"
    out.write_text(json.dumps({"planned": EXAMPLES, "ran": dict(RAN)}, indent=1), encoding="utf-8")
    reporter = request.config.pluginmanager.getplugin("terminalreporter")
    capture = request.config.pluginmanager.getplugin("capturemanager")
    if reporter is not None and capture is not None:
        with capture.global_and_fixture_disabled():  # shown with -q too, not swallowed as teardown output
            reporter.write_line(f"\nhypothesis examples run: {dict(RAN)} (total {sum(RAN.values())}; {out})")


def _read(path: Path, **options) -> list:
    """Everything the reader yields; UserError is the one exception allowed out."""
    try:
        return list(RecordReader(path, **options))
    except UserError:
        return []


# ----------------------------------------------------------------------------- arbitrary bytes

# Pieces that parsers choke on, so random files reach past the sniffing and the header.
FRAGMENTS = [b"Crash_ID", b"Narrative", b"Summary", b"plan_lines", b",", b";", b"\t", b'"', b"'", b"\n", b"\r",
             b"\r\n", b"\x00", b"\xff", b"\xc3", b"\xa9", b"\xe2\x82", b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff",
             b"{", b"}", b"[", b"]", b":", b"\\", b"\\u", b"\\ud800", b"\\u0000", b'"narrative"', b'"Crash_ID"',
             b'"summary"', b'"plan_lines"', b"null", b"1e999", b"9" * 40, b"NaN", b"=cmd", b"Unit 1 struck Unit 2",
             b"PK\x03\x04", b" ", b"['a', ", b"['1) x -> y']"]
fragments = st.lists(st.sampled_from(FRAGMENTS), max_size=60).map(b"".join)
any_bytes = st.one_of(st.binary(max_size=3000), fragments,
                      st.tuples(st.sampled_from([b"Crash_ID,Narrative,Summary\n", b'{"Crash_ID": "1", "narrative": "',
                                                 b"\xef\xbb\xbfCrash_ID;Narrative\n", b"\xff\xfeC\x00,\x00N\x00\n\x00"]),
                                st.one_of(st.binary(max_size=2000), fragments)).map(b"".join))


def _read_any(path: Path, data: bytes) -> None:
    path.write_bytes(data)
    for item in _read(path, long_narratives="truncate", max_chars=50):
        assert isinstance(item, (CrashRecord, Reject))
        if isinstance(item, CrashRecord):
            assert isinstance(item.crash_id, str) and item.crash_id
            json.dumps([item.narrative, item.summary, item.plan_lines]).encode("utf-8")  # writable as UTF-8
            item.narrative.encode("utf-8")
        else:
            json.dumps(item.raw, ensure_ascii=False, default=str).encode("utf-8")  # the rejects file can hold it


@_settings("csv_bytes")
@given(data=any_bytes)
def test_arbitrary_bytes_csv(tmp_path, data):
    RAN["csv_bytes"] += 1
    _read_any(tmp_path / "input.csv", data)


@_settings("jsonl_bytes")
@given(data=any_bytes)
def test_arbitrary_bytes_jsonl(tmp_path, data):
    RAN["jsonl_bytes"] += 1
    _read_any(tmp_path / "input.jsonl", data)


@_settings("training_bytes")
@given(data=any_bytes, suffix=st.sampled_from([".csv", ".jsonl"]))
def test_arbitrary_bytes_training_file(tmp_path, data, suffix):
    RAN["training_bytes"] += 1
    path = tmp_path / f"train{suffix}"
    path.write_bytes(data)
    try:
        records = read_training_file(path)
    except UserError:
        return
    assert records and all(r.summary and r.summary.strip() for r in records)


@_settings("graphs_bytes")
@given(data=any_bytes)
def test_arbitrary_bytes_graphs_file(tmp_path, data):
    RAN["graphs_bytes"] += 1
    path = tmp_path / "graphs.jsonl"
    path.write_bytes(data)
    try:
        graphs = read_graphs_file(path)
    except UserError:
        return
    for graph in graphs.values():
        _use_graph(graph)


def _workbook_bytes(rows: list[list]) -> bytes:
    import openpyxl

    book = openpyxl.Workbook()
    for row in rows:
        book.active.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


GOOD_WORKBOOK = _workbook_bytes([["Crash_ID", "Narrative"], ["C1", "Unit 1 struck a pole."], ["C2", "Unit 2 hit a tree."]])


@_settings("xlsx_bytes")
@given(flips=st.lists(st.tuples(st.integers(0, len(GOOD_WORKBOOK) - 1), st.integers(0, 255)), max_size=6),
       cut=st.one_of(st.none(), st.integers(0, len(GOOD_WORKBOOK))), member_bytes=st.one_of(st.none(), any_bytes))
def test_damaged_workbooks(tmp_path, flips, cut, member_bytes):
    """A workbook with bytes flipped, cut short, or a sheet replaced by arbitrary bytes."""
    RAN["xlsx_bytes"] += 1
    data = bytearray(GOOD_WORKBOOK)
    for offset, value in flips:
        data[offset] = value
    if member_bytes is not None:
        data = bytearray(_with_member(bytes(data), "xl/worksheets/sheet1.xml", member_bytes))
    if cut is not None:
        data = data[:cut]
    path = tmp_path / "book.xlsx"
    path.write_bytes(bytes(data))
    for item in _read(path):
        assert isinstance(item, (CrashRecord, Reject))


def _with_member(data: bytes, name: str, content: bytes) -> bytes:
    out = io.BytesIO()
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as old, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as new:
            for info in old.infolist():
                if info.filename != name:
                    new.writestr(info.filename, old.read(info.filename))
            new.writestr(name, content)
    except (zipfile.BadZipFile, zlib.error, OSError, EOFError, ValueError, KeyError, NotImplementedError):
        return data  # the flips broke the ZIP already: read it as it is
    return out.getvalue()


plan_cells = st.one_of(
    st.text(max_size=300), fragments.map(lambda b: b.decode("utf-8", "replace")),
    st.tuples(st.sampled_from(["[", "{", "(", "[{", '{"a":', "[[1, "]), st.integers(0, 3000), st.text(max_size=5))
    .map(lambda t: t[0] * t[1] + t[2]),  # [[[[... past the parsers' recursion limits
    st.integers(4000, 6000).map(lambda n: "[" + "7" * n + "]"),  # past Python's int-string limit
    st.lists(st.text(max_size=20)).map(repr), st.lists(st.text(max_size=20)).map(json.dumps),
    st.sampled_from(["{[]: 1}", "{1, []}", "[-'a']", "['a' 'b']", "[\\ud800]", '["\\ud800"]', "(1,)", "[None]"]))


@_settings("plan_lines")
@given(value=plan_cells)
def test_plan_lines_cell_parses_or_says_why(value):
    """A plan_lines cell is a list of lines or a PlanLinesError (a bad_plan_lines reject)."""
    RAN["plan_lines"] += 1
    try:
        lines = parse_plan_lines(value)
    except PlanLinesError:
        return
    assert all(isinstance(line, str) and line for line in lines)
    json.dumps(lines, ensure_ascii=False).encode("utf-8")


# ----------------------------------------------------------------------------- well-formed rows

texts = st.text(max_size=200)  # any Unicode but surrogates: quotes, commas, newlines, NUL included
crash_ids = st.one_of(texts, st.integers(0, 10**12).map(str), st.sampled_from(["0012", "nan", "NULL", " 7 ", ""]))
rows = st.lists(st.tuples(crash_ids, texts, st.one_of(st.none(), texts)), min_size=1, max_size=12)


def _expected_id(crash_id: str) -> str | None:
    """The Crash_ID a record of this row carries: the string as written (NUL dropped, trimmed);
    None where it gets a generated one."""
    text = crash_id.replace("\x00", "").strip()
    return None if text == "" or text.lower() in MISSING_MARKERS else text


def _check_accounting(items: list, written: list[tuple], id_of=_expected_id) -> None:
    assert len(items) == len(written), (len(items), len(written), items)
    for item, (crash_id, _narrative, _summary) in zip(items, written):
        assert isinstance(item, (CrashRecord, Reject))
        if isinstance(item, CrashRecord):
            expected = id_of(crash_id)
            assert isinstance(item.crash_id, str)
            assert item.crash_id == expected if expected is not None else item.crash_id.startswith("auto-")


def _csv_file(path: Path, written: list[tuple]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["Crash_ID", "Narrative", "Summary"])
    for crash_id, narrative, summary in written:
        writer.writerow([crash_id, narrative, "" if summary is None else summary])
    data = buffer.getvalue().encode("utf-8")
    path.write_bytes(data)
    return data


def _nul_share_ok(data: bytes) -> bool:
    """A sample over 10% NUL bytes is refused as binary (data/formats.py): not a row property."""
    return data[:1 << 16].count(b"\x00") <= len(data[:1 << 16]) // 10


@_settings("csv_rows")
@given(written=rows)
def test_csv_rows_come_back_once(tmp_path, written):
    RAN["csv_rows"] += 1
    path = tmp_path / "rows.csv"
    assume(_nul_share_ok(_csv_file(path, written)))
    items = list(RecordReader(path, raw_text=True))
    _check_accounting(items, written)
    for item, (_id, narrative, _summary) in zip(items, written):
        if isinstance(item, CrashRecord):
            assert item.narrative == narrative.replace("\x00", "")  # raw_text: exactly as written


@_settings("jsonl_rows")
@given(written=rows, extra=st.dictionaries(st.text(max_size=6), st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3),
    max_leaves=10), max_size=3), ascii_only=st.booleans())
def test_jsonl_rows_come_back_once(tmp_path, written, extra, ascii_only):
    RAN["jsonl_rows"] += 1
    path = tmp_path / "rows.jsonl"
    lines = []
    for crash_id, narrative, summary in written:
        row = {**extra, "Crash_ID": crash_id, "narrative": narrative, "summary": summary}
        lines.append(json.dumps(row, ensure_ascii=ascii_only))
    data = ("\n".join(lines) + "\n").encode("utf-8")
    path.write_bytes(data)
    assume(_nul_share_ok(data))
    items = list(RecordReader(path, raw_text=True))
    _check_accounting(items, written)


@_settings("training_rows")
@given(written=rows)
def test_training_file_keeps_every_row_with_a_summary(tmp_path, written):
    RAN["training_rows"] += 1
    path = tmp_path / "train.csv"
    assume(_nul_share_ok(_csv_file(path, written)))
    kept = [r for r in RecordReader(path, format_flags=TRAIN_FORMAT_FLAGS)
            if isinstance(r, CrashRecord) and r.summary and r.summary.strip()]
    try:
        records = read_training_file(path)
    except UserError:
        assert not kept
        return
    assert [(r.crash_id, r.summary) for r in records] == [(r.crash_id, r.summary) for r in kept]


xlsx_texts = st.text(st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters="\ufffe\uffff")
                     | st.sampled_from("\n\t"), max_size=60)
xlsx_rows = st.lists(st.tuples(st.one_of(xlsx_texts, st.sampled_from(["0012", "nan", "=A1", " 7 "])),
                               xlsx_texts, st.one_of(st.none(), xlsx_texts)), min_size=1, max_size=8)


def _xlsx_cell(text: str | None):
    return None if text is None or text == "" or text.startswith("=") else text  # "=..." is a formula: no value


@_settings("xlsx_rows")
@given(written=xlsx_rows)
def test_xlsx_rows_come_back_once(tmp_path, written):
    RAN["xlsx_rows"] += 1
    path = tmp_path / "rows.xlsx"
    path.write_bytes(_workbook_bytes([["Crash_ID", "Narrative", "Summary"], *[list(row) for row in written]]))
    kept = [row for row in written if any(_xlsx_cell(c) not in (None, "") for c in row)]  # blank rows are not rows
    items = list(RecordReader(path, raw_text=True, allow_empty=True))
    _check_accounting(items, kept, lambda crash_id: _expected_id(_xlsx_cell(crash_id) or ""))


# ----------------------------------------------------------------------------- graphs files

json_values = st.recursive(st.none() | st.booleans() | st.integers(-5, 5) | st.floats(allow_nan=False)
                           | st.text(max_size=10), lambda inner: st.lists(inner, max_size=3)
                           | st.dictionaries(st.text(max_size=5), inner, max_size=3), max_leaves=8)
EVENT_FIELDS = ["id", "type", "key", "label", "text", "actor", "target", "source", "confidence", "evidence_span",
                "rule", "at_fault"]
graph_items = st.dictionaries(st.sampled_from(EVENT_FIELDS), st.one_of(
    json_values, st.sampled_from(["1:U1", "1:U2", "1:E1", "1:E2", "unit", "factor", "collision", "CAUSES",
                                  "rear_end", "failed_to_yield", "U1"]),
    st.floats(0, 1), st.tuples(st.integers(-3, 50), st.integers(-3, 50)).map(list)), max_size=8)
graphs = st.fixed_dictionaries({"Crash_ID": st.one_of(crash_ids, st.integers())}, optional={
    "entities": st.lists(graph_items, max_size=4), "events": st.lists(graph_items, max_size=4),
    "relationships": st.lists(graph_items, max_size=4), "plan_lines": json_values, "crash": json_values})


def _use_graph(graph: dict) -> None:
    """What run, realize and the claim checks do with a supplied graph: none may raise."""
    from crashtransformer.metrics.claim_facts import NarrativeFacts
    from crashtransformer.plan.realize import realize_summary

    assert all(isinstance(line, str) for line in plan_lines_from_external_graph(graph))
    assert primary_manner(graph) is None or isinstance(primary_manner(graph), str)
    assert isinstance(collision_roles(graph), dict)
    at_fault_unit(graph)
    assert isinstance(realize_summary(graph, "Unit 1 struck Unit 2."), str)
    facts = NarrativeFacts("Unit 1 struck Unit 2.", graph)
    for name in ("factor_keys", "actors_by_family", "manners", "strikes", "unit_numbers", "at_fault"):
        getattr(facts, name)  # cached properties: each reads the graph


@_settings("graphs_rows")
@given(written=st.lists(graphs, min_size=1, max_size=5))
def test_graphs_file_either_refuses_or_serves(tmp_path, written):
    """A graphs file is refused whole (UserError, naming the line) or every graph in it can be used."""
    RAN["graphs_rows"] += 1
    path = tmp_path / "graphs.jsonl"
    path.write_text("".join(json.dumps(g) + "\n" for g in written), encoding="utf-8")
    try:
        loaded = read_graphs_file(path)
    except UserError as exc:
        assert "graphs.jsonl, line " in str(exc)
        return
    for graph in loaded.values():
        _use_graph(graph)


# ----------------------------------------------------------------------------- plan extraction

WORDS = ["Unit 1", "Unit 2", "UNIT 3", "U1", "U-2", "unit #4", "units 2, 3 and 4", "veh 1", "V2", "pedestrian",
         "ped", "cyclist", "bike", "walking", "struck", "hit", "rear-ended", "collided with", "sideswiped",
         "failed to yield", "ran the red light", "disregarded the stop sign", "speeding", "too fast", "drunk",
         "turning left", "backing", "ran off the road", "pole", "tree", "deer", "on IH 35", "at FM 1325", "not",
         "did not", "stated", "fault could not be determined", ".", ",", ";", " ", "\n", "(", ")", "'", '"', "\x00",
         "\u00e9", "\ufffd", "", "1", "99999999999999999999"]
plan_texts = st.one_of(st.text(max_size=400), st.lists(st.sampled_from(WORDS), max_size=60).map(" ".join),
                       st.lists(st.sampled_from(WORDS), max_size=60).map("".join))


def _check_plan(text: str) -> None:
    from crashtransformer.plan.policy import plan_crash

    record = CrashRecord("X1", text)
    planned = plan_crash(record)
    graph = planned.graph
    assert isinstance(planned.plan_lines, list) and all(isinstance(line, str) for line in planned.plan_lines)
    assert graph["Crash_ID"] == "X1" and graph["crash"]["raw_narrative"] == text
    entity_ids = {e["id"] for e in graph["entities"]}
    event_ids = [e["id"] for e in graph["events"]]
    assert len(event_ids) == len(set(event_ids))
    for item in graph["entities"] + graph["events"]:
        start, end = item["evidence_span"]
        assert 0 <= start <= end <= len(text), (item, len(text))
    for event in graph["events"]:
        for role in ("actor", "target"):
            assert event[role] is None or event[role] in entity_ids, (event, entity_ids)
    for rel in graph["relationships"]:
        assert rel["source"] in event_ids and rel["target"] in event_ids
    json.dumps(graph)  # what run writes to crash_graphs.jsonl


@_settings("plan_text")
@given(text=st.text(max_size=600))
def test_plan_extraction_on_any_text(text):
    RAN["plan_text"] += 1
    _check_plan(text)


@_settings("plan_words")
@given(text=plan_texts)
def test_plan_extraction_on_crash_words(text):
    RAN["plan_words"] += 1
    _check_plan(text)
