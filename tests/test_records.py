"""Records: readers (CSV/XLSX/JSONL) on good and bad input, plan lines, cleaning, writers, duplicates."""

from __future__ import annotations

import gzip
import json
from collections import Counter
from pathlib import Path

import pytest

from crashtransformer.data.cleaning import repair_mojibake, scrub_pii
from crashtransformer.data.records import ORIGINAL_KEY, clean_record
from crashtransformer.core.errors import UserError
from crashtransformer.data.records import (CrashRecord, PlanLinesError, RecordReader, Reject, iter_records,
                                      parse_plan_lines, read_training_file)
from crashtransformer.data.splitting import DROPPED, DuplicateFinder, assign_splits
from crashtransformer.core.io import safe_cell
from crashtransformer.data.writers import RecordWriter, write_records

NARRATIVE = "Unit 1 failed to control speed and struck Unit 2 from behind in the 600 block of Main St."


def write(tmp_path: Path, name: str, content: str | bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))
    return path


def split_items(items):
    records = [i for i in items if isinstance(i, CrashRecord)]
    rejects = [i for i in items if isinstance(i, Reject)]
    return records, rejects


# ----------------------------------------------------------------------------- plan lines

@pytest.mark.parametrize("value, expected", [
    ('["1) failed to control speed -> rear-end collision"]', ["1) failed to control speed -> rear-end collision"]),
    ("['1) failed to control speed -> rear-end collision', '2) a -> b']",
     ["1) failed to control speed -> rear-end collision", "2) a -> b"]),
    ("1) a -> b\n\n2) c -> d\n", ["1) a -> b", "2) c -> d"]),
    (["1) a -> b", "  "], ["1) a -> b"]),
    ("", []), (None, []),
])
def test_parse_plan_lines_accepts_json_python_and_text(value, expected):
    assert parse_plan_lines(value) == expected


@pytest.mark.parametrize("value", ["['1) a -> b'", "[1, 2]", "{'a': 1}", "[__import__('os').system('true')]", 12])
def test_parse_plan_lines_rejects_malformed_without_eval(value):
    with pytest.raises(PlanLinesError):
        parse_plan_lines(value)


# ----------------------------------------------------------------------------- CSV

def test_csv_columns_by_alias_ids_stay_strings(tmp_path):
    path = write(tmp_path, "a.csv", "CRASH_ID,Investigator_Narrative,reference_summary,crash severity,Extra\n"
                                    f"0012,{NARRATIVE},U1 rear-ended U2.,Not Injured,x\n")
    (record,) = list(iter_records(path))
    assert record.crash_id == "0012"
    assert record.narrative == NARRATIVE and record.summary == "U1 rear-ended U2."
    assert record.metadata == {"Crash_Severity": "Not Injured", "Extra": "x"}
    assert record.row_number == 1


def test_csv_explicit_columns_and_summary_as_narrative(tmp_path, caplog):
    path = write(tmp_path, "ciss.csv", f"CASEID,MANCOLL,SUMMARY\n6035,1,{NARRATIVE}\n")
    (record,) = list(iter_records(path))  # no narrative column: SUMMARY is read as the narrative
    assert record.narrative == NARRATIVE and record.summary is None and record.crash_id == "6035"
    (record,) = list(iter_records(path, text_column="summary", id_column="MANCOLL"))
    assert record.narrative == NARRATIVE and record.crash_id == "1" and record.metadata["CASEID"] == "6035"


def test_missing_narrative_column_lists_columns_and_flag(tmp_path):
    path = write(tmp_path, "a.csv", "id,notes\n1,hello there\n")
    with pytest.raises(UserError, match=r"columns found: id, notes.*--text_column"):
        list(iter_records(path))
    with pytest.raises(UserError, match=r"no column 'story' \(--text_column\)"):
        list(iter_records(path, text_column="story"))


@pytest.mark.parametrize("content, message", [
    (b"", "empty"),
    (b"Narrative,Summary\n", "only a header"),
    (b"\n\n", "no header"),
])
def test_empty_and_header_only_files(tmp_path, content, message):
    with pytest.raises(UserError, match=message):
        list(iter_records(write(tmp_path, "a.csv", content)))


def test_missing_file(tmp_path):
    with pytest.raises(UserError, match="not found"):
        list(iter_records(tmp_path / "nope.csv"))


def test_semicolon_file_is_detected_and_forced_comma_says_so(tmp_path):
    path = write(tmp_path, "a.csv", f"Crash_ID;Narrative;Summary\n7;{NARRATIVE};short, with a comma\n")
    reader = RecordReader(path)
    (record,) = list(reader)
    assert reader.info.delimiter == ";" and record.summary == "short, with a comma"
    with pytest.raises(UserError, match="separated by ';'"):
        list(iter_records(path, delimiter=","))


def test_bom_cp1252_and_undecodable_bytes(tmp_path):
    bom = write(tmp_path, "bom.csv", "\ufeffNarrative,Crash_ID\nCafé crash on Main St,1\n".encode("utf-8"))
    reader = RecordReader(bom)
    assert [r.narrative for r in reader] == ["Café crash on Main St"] and reader.info.encoding == "utf-8-sig"

    cp = write(tmp_path, "cp.csv", "Narrative,Crash_ID\nCafé crash – on Main St,1\n".encode("cp1252"))
    reader = RecordReader(cp)
    assert [r.narrative for r in reader] == ["Café crash - on Main St"] and reader.info.encoding == "cp1252"

    mixed = write(tmp_path, "mixed.csv", "Narrative,Crash_ID\nCafé one,1\n".encode() + b"bad \xff byte,2\nfine,3\n")
    records, rejects = split_items(list(iter_records(mixed)))
    assert [r.crash_id for r in records] == ["1", "3"]
    assert rejects[0].reason == "undecodable_bytes" and rejects[0].row_number == 2
    assert "\ufffd" in rejects[0].raw["Narrative"]


def test_unclosed_quote_keeps_earlier_rows(tmp_path):
    path = write(tmp_path, "a.csv", f'Narrative,Crash_ID\n{NARRATIVE},1\n"never closed,2\n{NARRATIVE} again,3\n')
    records, rejects = split_items(list(iter_records(path)))
    assert [r.crash_id for r in records] == ["1"]
    assert rejects[0].reason == "unclosed_quote" and "line 3" in rejects[0].detail
    assert "never closed" in rejects[0].raw["raw_text"]


def test_row_level_rejects(tmp_path):
    path = write(tmp_path, "a.csv", "Crash_ID,Narrative,Summary,plan_lines\n"
                                    f"1,{NARRATIVE},ok,\n"
                                    f"1,{NARRATIVE} twice,ok,\n"          # duplicate Crash_ID
                                    "2,   ,ok,\n"                           # whitespace narrative
                                    "3,12345.5,ok,\n"                       # a number for a narrative
                                    f"4,{NARRATIVE},42,\n"                  # a number for a summary
                                    f"5,{NARRATIVE},ok,\"['1) a -> b'\"\n"   # malformed plan list
                                    f"6,{NARRATIVE},ok,,extra\n"             # one field too many
                                    f"7,{'x' * 200},ok,\n")                  # over max_chars
    records, rejects = split_items(list(iter_records(path, max_chars=len(NARRATIVE) + 10)))
    assert [r.crash_id for r in records] == ["1"]
    assert [(r.row_number, r.reason, r.field) for r in rejects] == [
        (2, "duplicate_crash_id", "crash_id"), (3, "empty_narrative", "narrative"), (4, "not_text", "Narrative"),
        (5, "not_text", "Summary"), (6, "bad_plan_lines", "plan_lines"), (7, "wrong_field_count", ""),
        (8, "too_long", "narrative")]
    assert "row 1" in rejects[0].detail and rejects[0].crash_id == "1"
    assert rejects[4].raw["plan_lines"] == "['1) a -> b'" and "extra" in rejects[5].raw["raw_text"]


def test_nul_bytes_are_dropped_and_counted(tmp_path):
    path = write(tmp_path, "a.csv", f"Narrative,Crash_ID\nUnit 1\x00 struck a pole,1\n{NARRATIVE},2\n".encode())
    reader = RecordReader(path)
    records = list(reader)
    assert records[0].narrative == "Unit 1 struck a pole" and reader.info.rows_with_nul_bytes == 1


def test_generated_ids_are_stable_and_unique(tmp_path):
    path = write(tmp_path, "a.csv", f"Narrative\n{NARRATIVE}\nOther crash text here\n{NARRATIVE}\n")
    ids = [r.crash_id for r in iter_records(path)]
    again = [r.crash_id for r in iter_records(path)]
    assert ids == again and len(set(ids)) == 3
    assert ids[0].startswith("auto-") and ids[2] == ids[0] + "-2"


# ----------------------------------------------------------------------------- JSONL / XLSX

def test_jsonl_seed_shape_and_broken_line(tmp_path):
    good = {"narrative": NARRATIVE, "summary": "U1 rear-ended U2.", "plan_lines": ["1) a -> b"],
            "metadata": {"crash_id": "0019", "severity": "Not Injured", "city": "Dallas"}}
    path = write(tmp_path, "a.jsonl", json.dumps(good) + "\n{broken\n\n" + json.dumps({**good, "metadata": {"crash_id": 7}}) + "\n")
    records, rejects = split_items(list(iter_records(path)))
    assert [r.crash_id for r in records] == ["0019", "7"]
    assert records[0].metadata == {"Crash_Severity": "Not Injured", "City": "Dallas"}
    assert rejects[0].reason == "broken_json" and rejects[0].row_number == 2


def test_jsonl_number_narrative_is_rejected(tmp_path):
    path = write(tmp_path, "a.jsonl", json.dumps({"narrative": 12, "Crash_ID": "1"}) + "\n"
                 + json.dumps({"narrative": NARRATIVE, "Crash_ID": "2"}) + "\n")
    records, rejects = split_items(list(iter_records(path)))
    assert [r.crash_id for r in records] == ["2"] and rejects[0].reason == "not_text"


def test_xlsx_sheet_selection_and_types(tmp_path):
    import openpyxl

    book = openpyxl.Workbook()
    book.active.title = "Notes"
    sheet = book.create_sheet("2024")
    sheet.append(["Crash_ID", "Narrative", "Crash_Severity"])
    sheet.append([19955047, NARRATIVE, "Not Injured"])
    sheet.append(["0012", 3.5, "Fatal"])
    path = tmp_path / "crashes.xlsx"
    book.save(path)
    records, rejects = split_items(list(iter_records(path, worksheet="2024")))
    assert records[0].crash_id == "19955047" and records[0].metadata["Crash_Severity"] == "Not Injured"
    assert rejects[0].crash_id == "0012" and rejects[0].reason == "not_text"
    with pytest.raises(UserError, match="no worksheet 'Sheet9'; sheets found: Notes, 2024"):
        list(iter_records(path, worksheet="Sheet9"))
    with pytest.raises(UserError, match="cannot open as an Excel"):
        list(iter_records(write(tmp_path, "damaged.xlsx", b"PK\x03\x04 cut short")))


CSV_TEXT = f"Crash_ID,Narrative\n1,{NARRATIVE}\n"
JSONL_TEXT = json.dumps({"Crash_ID": "1", "Narrative": NARRATIVE}) + "\n"


def workbook_bytes(tmp_path: Path) -> bytes:
    import openpyxl

    book = openpyxl.Workbook()
    book.active.append(["Crash_ID", "Narrative"])
    book.active.append(["1", NARRATIVE])
    book.save(tmp_path / "book.xlsx")
    return (tmp_path / "book.xlsx").read_bytes()


@pytest.mark.parametrize("name, content, data_format, message", [
    ("reports.csv", "xlsx", "csv", "reports.csv is an Excel workbook (XLSX), not CSV: pass it with --xlsx"),
    ("reports.csv", JSONL_TEXT, "csv", "reports.csv is JSON lines, not CSV: pass it with --jsonl"),
    ("reports.jsonl", CSV_TEXT, "jsonl",
     "reports.jsonl is CSV text, not JSON lines (its first line: 'Crash_ID,Narrative'): pass it with --csv"),
    ("reports.csv", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(512), "csv",
     "reports.csv is a legacy Excel workbook (.xls), not CSV: open it in Excel and save it as .xlsx"),
    ("reports.csv", gzip.compress(CSV_TEXT.encode()), "csv", "reports.csv is gzip-compressed, not CSV: decompress"),
    ("reports.csv", b"\x00\x01\x02\x00" * 100, None, "reports.csv is binary (mostly NUL bytes), not CSV"),
    ("reports.csv", JSONL_TEXT, None, "reports.csv is JSON lines, not CSV: rename it to reports.jsonl"),
    ("reports.jsonl", f"[{JSONL_TEXT}]", None, "reports.jsonl is a JSON array, not JSON lines: write one JSON object"),
])
def test_content_of_another_format_is_refused_before_parsing(tmp_path, name, content, data_format, message):
    path = write(tmp_path, name, workbook_bytes(tmp_path) if content == "xlsx" else content)
    with pytest.raises(UserError) as error:
        list(iter_records(path, data_format=data_format))
    assert message in str(error.value) and "\n" not in str(error.value)


def test_train_is_told_its_own_format_flag(tmp_path):
    path = write(tmp_path, "train.csv", JSONL_TEXT)
    with pytest.raises(UserError, match="is JSON lines, not CSV: pass it with --data_format jsonl$"):
        read_training_file(path, "csv")


def test_utf16_is_text_with_a_byte_order_mark_or_when_told_its_encoding(tmp_path):
    csv16 = write(tmp_path, "a.csv", CSV_TEXT.encode("utf-16"))
    jsonl16 = write(tmp_path, "a.jsonl", JSONL_TEXT.encode("utf-16"))
    for path in (csv16, jsonl16):
        assert [r.narrative for r in iter_records(path)] == [NARRATIVE], path
    with pytest.raises(UserError, match="is JSON lines, not CSV"):
        list(iter_records(jsonl16, data_format="csv"))
    no_bom = write(tmp_path, "b.csv", CSV_TEXT.encode("utf-16-le"))  # mostly NUL bytes: text only if told so
    with pytest.raises(UserError, match="is binary .* or pass --encoding utf-16-le"):
        list(iter_records(no_bom))
    assert [r.narrative for r in iter_records(no_bom, encoding="utf-16-le")] == [NARRATIVE]


def test_undecodable_bytes_in_the_header_are_printable_in_the_message(tmp_path):
    """A raw byte in a column name became a surrogate that the log file could not encode."""
    path = write(tmp_path, "a.csv", b"Caf\xc3\xa9 \xff,Other\n1,2\n")  # UTF-8, one stray byte
    with pytest.raises(UserError, match="no narrative column") as error:
        list(iter_records(path))
    assert "Café \ufffd" in str(error.value)
    str(error.value).encode("utf-8")  # raises on a surrogate


def test_long_narratives_are_cut_at_a_word_or_rejected_as_the_reader_is_told(tmp_path, caplog):
    long = "Unit 1 failed to control speed and struck Unit 2. " * 1000  # 51,000 characters
    path = write(tmp_path, "a.csv", f"Crash_ID,Narrative\n1,{long}\n2,{NARRATIVE}\n3,{long}\n")
    cut, short, cut_too = list(iter_records(path, max_chars=20_000, long_narratives="truncate"))
    assert len(cut.narrative) <= 20_000 and long.startswith(cut.narrative) and long[len(cut.narrative)] == " "
    assert cut.original_chars == len(long.strip()) and short.original_chars is None and cut_too.crash_id == "3"
    assert [r.message for r in caplog.records if r.levelname == "WARNING"] == [
        f"{path}: 2 narrative(s) longer than --max_chars 20000 were cut at a word boundary and kept"]
    reject, kept, _ = list(iter_records(path, max_chars=20_000))
    assert (reject.reason, reject.crash_id, kept.crash_id) == ("too_long", "1", "2")


# ----------------------------------------------------------------------------- cleaning

def test_mojibake_repair_keeps_original():
    assert repair_mojibake("driverâ€™s side") == "driver's side"
    assert repair_mojibake("the lane.\u00e2\u00a0 unit 1") == "the lane.  unit 1"
    record = clean_record(CrashRecord("1", "unit 1  struck\n unit 2.\u00e2\u00a0 the driverâ€™s door"))
    assert record.narrative == "unit 1 struck\nunit 2. the driver's door"  # a line break stays: a scan's lines
    assert record.metadata[ORIGINAL_KEY] == "unit 1  struck\n unit 2.\u00e2\u00a0 the driverâ€™s door"
    assert ORIGINAL_KEY not in clean_record(CrashRecord("2", "only  spaces ")).metadata


def test_whitespace_is_collapsed_within_lines_and_line_breaks_kept_one_per_run():
    # a scan's line starts are where plan/scan_repair.py restores a clipped letter; a blank line parts paragraphs
    assert clean_record(CrashRecord("1", " UNIT 1\tFAILED TO \r\n\n\n  \nCONTROL  SPEED\r\nAND")).narrative == \
        "UNIT 1 FAILED TO\n\nCONTROL SPEED\nAND"
    assert clean_record(CrashRecord("2", "  unit 1   struck unit 2 ")).narrative == "unit 1 struck unit 2"


def test_scrub_pii_masks_phones_and_emails_not_block_numbers():
    counts = Counter()
    text = scrub_pii("call 956-555-0101 or (956) 555 0102, mail j.doe@example.com; 1200 block, id 19955047", counts)
    assert text == "call [PHONE] or [PHONE], mail [EMAIL]; 1200 block, id 19955047"
    assert counts == Counter({"phone": 2, "email": 1})


# ----------------------------------------------------------------------------- writers

def test_writers_round_trip_and_neutralise_formulas(tmp_path):
    records = [CrashRecord("0012", "=HYPERLINK(\"x\") unit 1 struck unit 2", "-U1 rear-ended U2.", ["1) a -> b"],
                           {"Crash_Severity": "Fatal", "City": "Waco", "factors": ["speed"]}),
               CrashRecord("13", NARRATIVE, "Plain summary.", [], {"County": "Hidalgo"})]
    for name in ("out.csv", "out.jsonl"):
        path = write_records(records, tmp_path / name)
        back = read_training_file(path)
        assert [(r.crash_id, r.narrative, r.summary, r.plan_lines) for r in back] == \
               [(r.crash_id, r.narrative, r.summary, r.plan_lines) for r in records]
        assert back[1].metadata["County"] == "Hidalgo" and back[0].metadata["City"] == "Waco"
    header, first = (tmp_path / "out.csv").read_text().splitlines()[:2]
    assert header.startswith("Narrative,Summary,plan_lines,Crash_ID,Crash_Severity,City")
    assert first.startswith("\"'=HYPERLINK") and safe_cell("@SUM(A1)") == "'@SUM(A1)" and safe_cell("ok") == "ok"
    line = json.loads((tmp_path / "out.jsonl").read_text().splitlines()[0])
    assert line["metadata"]["crash_id"] == "0012" and line["metadata"]["severity"] == "Fatal"


def test_writer_is_atomic(tmp_path):
    target = tmp_path / "out.csv"
    with pytest.raises(RuntimeError):
        with RecordWriter(target) as out:
            out.write(CrashRecord("1", NARRATIVE, "s"))
            raise RuntimeError("killed")
    assert not target.exists() and list(tmp_path.iterdir()) == []


def test_training_file_without_summary_column(tmp_path):
    with pytest.raises(UserError, match="no summary column"):
        read_training_file(write(tmp_path, "a.csv", f"Narrative\n{NARRATIVE}\n"))


# ----------------------------------------------------------------------------- duplicates and splits

def test_duplicate_finder_exact_and_near():
    base = ("unit 1 was traveling north in the 1200 block of main street when unit 2 pulled out of a private "
            "drive without yielding the right of way and the front of unit 1 struck the left side of unit 2 "
            "causing disabling damage to both vehicles and minor injuries to the driver of unit 2")
    finder = DuplicateFinder(0.8)
    assert finder.add(base) is None
    assert finder.add(base.upper() + "!").exact  # same words: an exact duplicate after normalizing
    near = finder.add(base.replace("disabling", "functional"))
    assert near is not None and not near.exact and near.index == 0 and near.similarity >= 0.8
    assert finder.add("unit 3 backed out of a parking space into a light pole at the shopping center") is None
    assert finder.groups() == [0, 0, 0, 3]


def test_splits_keep_groups_together_and_are_seeded():
    groups = [i // 3 for i in range(300)]  # 100 groups of three near-copies
    keep = [True] * 300
    first = assign_splits(groups, keep, 0.1, 0.2, seed=7)
    assert first == assign_splits(groups, keep, 0.1, 0.2, seed=7)
    assert first != assign_splits(groups, keep, 0.1, 0.2, seed=8)
    for group in range(100):
        assert len({first[i] for i in range(300) if groups[i] == group}) == 1
    counts = Counter(first)
    assert counts[2] == 60 and counts[1] == 30 and counts[0] == 210
    dropped = assign_splits(groups, [i % 3 == 0 for i in range(300)], 0.0, 0.0, seed=1)
    assert dropped.count(DROPPED) == 200
