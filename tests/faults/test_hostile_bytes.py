"""Hostile bytes through every reader: NULs and invalid UTF-8 in every position, a 1 GB line, a
quote that never closes over 1 GB, JSON nested 100,000 deep, an .xlsx ZIP bomb, a damaged ZIP.

Each test checks that nothing but UserError escapes, that the reject (or error) names the row or
line (and the field, where there is one), and that the rows before and after are still read.
The limits are data/limits.py's; the 1 GB tests read in a subprocess and bound its peak RSS.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

import pytest

from crashtransformer.core.errors import UserError
from crashtransformer.data import limits
from crashtransformer.data.records import CrashRecord, RecordReader, Reject, read_training_file
from crashtransformer.plan.graph import read_graphs_file

ROOT = Path(__file__).resolve().parents[2]
GIB, MIB = 1 << 30, 1 << 20
PEAK_RSS_LIMIT_MB = 300  # the 1 GB tests: what reading may cost, interpreter included

NARRATIVES = ["Unit 1 struck the caf\u00e9 sign.", "Unit 2 failed to yield at the caf\u00e9 corner.",
              "Unit 3 ran off the road near the caf\u00e9."]


def _items(path: Path, **options) -> list[CrashRecord | Reject]:
    """Everything a reader yields; UserError passes, anything else fails the test."""
    return list(RecordReader(path, **options))


def _csv_bytes() -> bytes:
    rows = ["Crash_ID,Narrative,Summary"] + [f"C{i},{n},Summary {i}." for i, n in enumerate(NARRATIVES, 1)]
    return ("\n".join(rows) + "\n").encode("utf-8")


def _jsonl_bytes() -> bytes:
    rows = [{"Crash_ID": f"C{i}", "narrative": n, "summary": f"Summary {i}."} for i, n in enumerate(NARRATIVES, 1)]
    return "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows).encode("utf-8")


def _ids(items) -> list[str]:
    return [item.crash_id for item in items if isinstance(item, CrashRecord)]


# ----------------------------------------------------------------------------- NUL bytes


@pytest.mark.parametrize("suffix, make", [(".csv", _csv_bytes), (".jsonl", _jsonl_bytes)])
def test_a_nul_byte_in_every_position_is_dropped(tmp_path, suffix, make):
    """Header, Crash_ID, narrative, delimiter, line end, last byte: the NUL is dropped and the file
    reads as if it were not there."""
    data = make()
    path = tmp_path / f"in{suffix}"
    path.write_bytes(data)
    expected = [(r.crash_id, r.narrative, r.summary) for r in _items(path)]
    assert len(expected) == 3
    for position in range(len(data) + 1):
        path.write_bytes(data[:position] + b"\x00" + data[position:])
        items = _items(path)
        if 0 < position < len(data) and data[position - 1] >= 0x80 and data[position] >= 0x80:
            # inside a UTF-8 sequence ("\xc3\x00\xa9"): no longer UTF-8, that row alone is rejected
            assert [i.reason for i in items if isinstance(i, Reject)] == ["undecodable_bytes"], position
            assert len(_ids(items)) == 2
            continue
        got = [(r.crash_id, r.narrative, r.summary) for r in items]
        assert got == expected, f"NUL at byte {position}"


# ----------------------------------------------------------------------------- invalid UTF-8


def _check_one_bad_row(items, position: int, header_lines: int) -> None:
    """At most one row lost, as an undecodable_bytes / broken_json reject naming its line; the
    other rows read."""
    rejects = [item for item in items if isinstance(item, Reject)]
    if rejects and rejects[-1].row_number == 4:  # after the last newline: a row of its own
        assert rejects[-1].reason in ("wrong_field_count", "broken_json"), rejects
        assert rejects[-1].row_number == 4 and f"line {4 + header_lines}" in rejects[-1].detail
        items, rejects = items[:-1], rejects[:-1]
    assert len(items) == 3, f"byte {position}: {items}"
    assert len(rejects) <= 1, f"byte {position}: {rejects}"
    for reject in rejects:
        assert reject.reason in ("undecodable_bytes", "broken_json"), reject
        assert f"line {reject.row_number + header_lines}" in reject.detail, reject
        if reject.reason == "undecodable_bytes":
            assert reject.field, reject  # the column holding the byte
            assert "\ufffd" in json.dumps(reject.raw, ensure_ascii=False)  # shown, writable
    assert len(_ids(items)) == 3 - len(rejects)


@pytest.mark.parametrize("suffix, make", [(".csv", _csv_bytes), (".jsonl", _jsonl_bytes)])
def test_an_invalid_utf8_byte_in_every_position(tmp_path, suffix, make):
    """0xff (never UTF-8) at every byte offset: in the header a column name gets U+FFFD (so a
    required column may go missing: UserError), in a row that row alone is rejected."""
    data = make()
    path = tmp_path / f"in{suffix}"
    header_end = data.index(b"\n") if suffix == ".csv" else -1
    for position in range(len(data) + 1):
        path.write_bytes(data[:position] + b"\xff" + data[position:])
        try:
            items = _items(path)
        except UserError as exc:
            assert position <= header_end, f"byte {position}: {exc}"
            assert str(path) in str(exc)
            continue
        if position <= header_end:
            assert len(items) == 3 and not any(isinstance(item, Reject) for item in items), position
        else:
            _check_one_bad_row(items, position, 1 if suffix == ".csv" else 0)


@pytest.mark.parametrize("tail", [b"\xc3", b"\xe2\x82", b"\xf0\x9f\x98"], ids=["2-byte", "3-byte", "4-byte"])
def test_a_multibyte_sequence_cut_at_eof(tmp_path, tail):
    csv_path, jsonl_path = tmp_path / "cut.csv", tmp_path / "cut.jsonl"
    csv_path.write_bytes(_csv_bytes().rstrip(b"\n") + tail)
    items = _items(csv_path)
    assert _ids(items) == ["C1", "C2"]
    assert (items[2].reason, items[2].field, items[2].row_number) == ("undecodable_bytes", "Summary", 3)
    assert "line 4" in items[2].detail
    jsonl_path.write_bytes(_jsonl_bytes() + b'{"Crash_ID": "C4", "narrative": "cut ' + tail)
    items = _items(jsonl_path)
    assert _ids(items) == ["C1", "C2", "C3"]
    assert items[3].reason == "broken_json" and "line 4" in items[3].detail


def test_invalid_utf16_and_unknown_encodings(tmp_path):
    """surrogateescape raises on an undecodable byte below 0x80 (UTF-16 input): ours does not."""
    path = tmp_path / "u16.csv"
    text = "Crash_ID,Narrative\nC1,Unit 1 hit a pole.\nC2,Unit 2 hit a tree.\n"
    path.write_bytes(b"\xff\xfe" + text.encode("utf-16-le") + b"\x00\xd8a")  # a lone surrogate, an odd byte
    items = _items(path)
    assert _ids(items) == ["C1", "C2"] and [i.reason for i in items[2:]] == ["wrong_field_count"]
    with pytest.raises(UserError, match="unknown encoding 'utf-99'"):
        _items(path, encoding="utf-99")
    with pytest.raises(UserError, match="--delimiter must be one character"):
        _items(path, delimiter=";;")


def test_a_lone_surrogate_escape_in_json_is_rejected(tmp_path):
    path = tmp_path / "esc.jsonl"
    lines = _jsonl_bytes().splitlines(keepends=True)
    lines.insert(1, b'{"Crash_ID": "X", "narrative": "half an emoji \\ud83d here"}\n')
    lines.insert(2, b'{"Crash_ID": "Y", "narrative": "ok", "plan_lines": ["\\udc80 -> x"]}\n')
    path.write_bytes(b"".join(lines))
    items = _items(path)
    assert _ids(items) == ["C1", "C2", "C3"]
    assert [(i.row_number, i.reason, i.field) for i in items if isinstance(i, Reject)] == [
        (2, "undecodable_bytes", "narrative"), (3, "undecodable_bytes", "")]


# ----------------------------------------------------------------------------- 1 GB lines

_READER = textwrap.dedent("""
    import json, sys
    from crashtransformer.data.records import RecordReader, Reject
    out = []
    # as `run` reads (run/pipeline.py record_reader): long narratives cut, not rejected
    for item in RecordReader(sys.argv[1], max_chars=20_000, long_narratives="truncate", allow_empty=True):
        if isinstance(item, Reject):
            out.append({"reject": item.reason, "row": item.row_number, "detail": item.detail})
        else:
            out.append({"id": item.crash_id})
    print(json.dumps(out))
""")
# Runs the reader as its child so RUSAGE_CHILDREN is that child's alone, not pytest's other children.
_MEASURE = textwrap.dedent("""
    import json, resource, subprocess, sys
    done = subprocess.run([sys.executable, "-c", sys.argv[1], sys.argv[2]], capture_output=True, text=True)
    peak_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    print(json.dumps({"rc": done.returncode, "stdout": done.stdout, "stderr": done.stderr[-3000:], "peak_kb": peak_kb}))
""")


def _needs_disk(path: Path) -> None:
    free = shutil.disk_usage(path).free
    if free < 3 * GIB:
        pytest.skip(f"the 1 GB test needs 3 GB free in {path}, found {free / GIB:.1f} GB")


def _write_huge(path: Path, head: bytes, block: bytes, tail: bytes, total: int = GIB) -> None:
    with path.open("wb") as handle:
        handle.write(head)
        for _ in range(total // len(block)):
            handle.write(block)
        handle.write(tail)


def _read_in_subprocess(path: Path) -> tuple[list[dict], float]:
    """What the reader yields for `path`, and its peak RSS in MB; the file is removed after."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    try:
        done = subprocess.run([sys.executable, "-c", _MEASURE, _READER, str(path)], capture_output=True, text=True,
                              env=env, cwd=ROOT, timeout=300, check=False)
    finally:
        path.unlink()  # pytest keeps the last runs' tmp dirs: do not leave 1 GB in each
    result = json.loads(done.stdout)
    assert result["rc"] == 0, result["stderr"]
    return json.loads(result["stdout"]), result["peak_kb"] / 1024


@pytest.mark.parametrize("suffix", [".csv", ".jsonl"])
def test_a_1gb_line_is_skipped_in_bounded_memory(tmp_path, suffix):
    """1 GiB without a newline between two good rows: a line_too_long reject naming the line, the
    next row read, and the reader never held the line (peak RSS of the reading process)."""
    _needs_disk(tmp_path)
    path = tmp_path / f"huge{suffix}"
    if suffix == ".csv":
        head = b"Crash_ID,Narrative\nC1,Unit 1 struck a pole.\nC2,"
        tail = b"\nC3,Unit 3 struck a tree.\n"
    else:
        head = b'{"Crash_ID": "C1", "narrative": "Unit 1 struck a pole."}\n{"Crash_ID": "C2", "narrative": "'
        tail = b'"}\n{"Crash_ID": "C3", "narrative": "Unit 3 struck a tree."}\n'
    _write_huge(path, head, b"x" * MIB, tail)
    items, peak_mb = _read_in_subprocess(path)
    line = 3 if suffix == ".csv" else 2
    assert items[0] == {"id": "C1"} and items[2] == {"id": "C3"}, items
    assert items[1]["reject"] == "line_too_long" and f"line {line} " in items[1]["detail"], items
    assert f"{limits.MAX_ROW_CHARS:,}" in items[1]["detail"]
    print(f"peak RSS of the reading process: {peak_mb:.0f} MB")
    assert peak_mb < PEAK_RSS_LIMIT_MB, f"peak RSS {peak_mb:.0f} MB"


def test_a_quote_never_closed_over_1gb_is_bounded(tmp_path):
    """A quote opened on line 3 and 1 GiB of short lines after it: one unclosed_quote reject after
    MAX_ROW_CHARS characters, not 1 GiB gathered into one field."""
    _needs_disk(tmp_path)
    path = tmp_path / "quote.csv"
    block = (b"y" * 1023 + b"\n") * 1024
    _write_huge(path, b'Crash_ID,Narrative\nC1,Unit 1 struck a pole.\nC2,"never closed\n', block, b"")
    items, peak_mb = _read_in_subprocess(path)
    assert items[0] == {"id": "C1"}, items
    assert items[1]["reject"] == "unclosed_quote" and "line 3" in items[1]["detail"], items
    assert len(items) == 2
    print(f"peak RSS of the reading process: {peak_mb:.0f} MB")
    assert peak_mb < PEAK_RSS_LIMIT_MB, f"peak RSS {peak_mb:.0f} MB"


def test_row_and_line_caps_in_process(tmp_path, monkeypatch):
    """The same caps, lowered, on a small file: the rows after a long line still read."""
    monkeypatch.setattr(limits, "MAX_ROW_CHARS", 200)
    path = tmp_path / "long.csv"
    path.write_bytes(b"Crash_ID,Narrative\nC1,ok one\nC2," + b"z" * 5000 + b"\nC3,ok three\n"
                     + b'C4,"open\n' + b"q" * 150 + b"\n" + b"q" * 150 + b"\nC5,lost\n")
    items = _items(path)
    assert _ids(items) == ["C1", "C3"]
    assert [(i.row_number, i.reason) for i in items if isinstance(i, Reject)] == [
        (2, "line_too_long"), (4, "unclosed_quote")]
    assert "line 3 " in items[1].detail and "line 5" in items[3].detail
    header = tmp_path / "header.csv"
    header.write_bytes(b"Crash_ID," + b"N" * 300 + b"\nC1,x\n")
    with pytest.raises(UserError, match="header row"):
        _items(header)


# ----------------------------------------------------------------------------- deep JSON

DEEP_LIST = b"[" * 100_000 + b"]" * 100_000
DEEP_OBJECT = b'{"a":' * 100_000 + b"1" + b"}" * 100_000


@pytest.mark.parametrize("deep", [DEEP_LIST, DEEP_OBJECT, b'{"Crash_ID": "D", "narrative": "x", "m": '
                                  + b"[" * 500 + b"]" * 500 + b"}"], ids=["list", "object", "500-deep-field"])
def test_deeply_nested_json_lines(tmp_path, deep):
    lines = _jsonl_bytes().splitlines(keepends=True)
    path = tmp_path / "deep.jsonl"
    path.write_bytes(lines[0] + deep + b"\n" + b"".join(lines[1:]))
    items = _items(path)
    assert _ids(items) == ["C1", "C2", "C3"]
    assert (items[1].reason, items[1].row_number) == ("broken_json", 2) and "line 2" in items[1].detail
    training = tmp_path / "deep_train.jsonl"
    training.write_bytes(path.read_bytes())
    assert [r.crash_id for r in read_training_file(training)] == ["C1", "C2", "C3"]


@pytest.mark.parametrize("deep", [DEEP_LIST, DEEP_OBJECT], ids=["list", "object"])
def test_deeply_nested_graphs_file_line(tmp_path, deep):
    """--graphs_file refuses a broken line as it always has: UserError naming file and line."""
    path = tmp_path / "graphs.jsonl"
    path.write_bytes(b'{"Crash_ID": "1", "events": []}\n' + deep + b"\n")
    with pytest.raises(UserError, match=r"graphs\.jsonl, line 2: not valid JSON \(nested too deeply"):
        read_graphs_file(path)


@pytest.mark.parametrize("line, message", [
    (b'{"Crash_ID": "2", "label": "caf\xff"}', r"line 2: bytes that are not UTF-8"),
    (b'{"Crash_ID": "2", "events": [{"id": "2:E1", "confidence": "high"}]}', r"line 2: events\[0\]\.confidence"),
    (b'{"Crash_ID": "2", "events": 5}', r'line 2: "events" must be a list'),
    (b'{"Crash_ID": "2", "entities": [{"type": "unit"}]}', r"line 2: entities\[0\]\.id must be text"),
    (b'"just a string"', r"line 2: a JSON str"),
])
def test_graphs_file_lines_of_the_wrong_shape(tmp_path, line, message):
    path = tmp_path / "graphs.jsonl"
    path.write_bytes(b'{"Crash_ID": "1", "events": []}\n' + line + b"\n")
    with pytest.raises(UserError, match=r"graphs\.jsonl, " + message):
        read_graphs_file(path)


def test_graphs_file_over_long_line(tmp_path, monkeypatch):
    monkeypatch.setattr(limits, "MAX_ROW_CHARS", 100)
    path = tmp_path / "graphs.jsonl"
    path.write_bytes(b'{"Crash_ID": "1"}\n{"Crash_ID": "2", "x": "' + b"x" * 500 + b'"}\n')
    with pytest.raises(UserError, match=r"graphs\.jsonl, line 2 is longer than 100 characters"):
        read_graphs_file(path)


# ----------------------------------------------------------------------------- XLSX


def _workbook(path: Path) -> Path:
    import openpyxl

    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["Crash_ID", "Narrative"])
    for index, narrative in enumerate(NARRATIVES, 1):
        sheet.append([f"C{index}", narrative])
    book.save(path)
    return path


def _replace_member(source: Path, target: Path, name: str, write) -> None:
    """A copy of the workbook with member `name` written by `write(handle)` instead."""
    with zipfile.ZipFile(source) as old, zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as new:
        for info in old.infolist():
            if info.filename != name:
                new.writestr(info, old.read(info.filename))
        with new.open(name, "w", force_zip64=True) as handle:
            write(handle)


def test_an_xlsx_zip_bomb_is_refused_before_inflating(tmp_path):
    """A sheet of 200 MiB of one repeated byte (about 200 KB deflated): refused from the central
    directory, naming the file and the member; nothing is inflated."""
    good = _workbook(tmp_path / "good.xlsx")
    bomb = tmp_path / "bomb.xlsx"
    block = b"<" * MIB
    _replace_member(good, bomb, "xl/worksheets/sheet1.xml", lambda h: [h.write(block) for _ in range(200)])
    assert bomb.stat().st_size < 2 * MIB
    with pytest.raises(UserError) as caught:
        _items(bomb)
    assert str(bomb) in str(caught.value) and "xl/worksheets/sheet1.xml" in str(caught.value)
    assert "ZIP bomb" in str(caught.value)


def test_an_xlsx_over_the_total_cap(tmp_path, monkeypatch):
    good = _workbook(tmp_path / "good.xlsx")
    assert _ids(_items(good)) == ["C1", "C2", "C3"]
    monkeypatch.setattr(limits, "XLSX_MAX_UNCOMPRESSED_BYTES", 2000)
    with pytest.raises(UserError, match=r"good\.xlsx: the workbook inflates to more than 2,000 bytes"):
        _items(good)


def test_damaged_xlsx_files(tmp_path):
    """A cut-off ZIP, a member whose deflate stream is garbage, a sheet that is not XML: UserError
    naming the file, never BadZipFile, zlib.error or a parser error."""
    good = _workbook(tmp_path / "good.xlsx")
    data = good.read_bytes()
    cut = tmp_path / "cut.xlsx"
    cut.write_bytes(data[: len(data) // 2])
    garbage = tmp_path / "garbage.xlsx"
    _replace_member(good, garbage, "xl/worksheets/sheet1.xml", lambda h: h.write(b"<worksheet><sheetData><row>"))
    flipped = tmp_path / "flipped.xlsx"
    raw = bytearray(data)
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        info = archive.getinfo("xl/worksheets/sheet1.xml")
    start = info.header_offset + 30 + len(info.filename.encode()) + len(info.extra)
    for offset in range(start + 2, start + info.compress_size - 2):
        raw[offset] ^= 0x5A  # corrupt the member's deflate stream (its CRC no longer matches)
    flipped.write_bytes(bytes(raw))
    for path in (cut, garbage, flipped):
        with pytest.raises(UserError) as caught:
            _items(path)
        assert str(path) in str(caught.value), caught.value


def test_an_xlsx_whose_dimension_claims_the_whole_grid(tmp_path, monkeypatch):
    """A forged <dimension ref="A1:XFD1048576"> and a last row numbered 1,048,576: openpyxl would
    pad every row to 16,384 cells (a million rows of them: hours). Each row comes at its own width
    and the far row is read like any other."""
    from crashtransformer.data import readers

    good = _workbook(tmp_path / "good.xlsx")
    with zipfile.ZipFile(good) as archive:
        sheet = archive.read("xl/worksheets/sheet1.xml").decode()
    far_row = ('<row r="1048576"><c r="A1048576" t="inlineStr"><is><t>C9</t></is></c>'
               '<c r="B1048576" t="inlineStr"><is><t>Unit 9 left the road.</t></is></c></row>')
    forged = sheet.replace('<dimension ref="A1:B4"/>', '<dimension ref="A1:XFD1048576"/>') \
                  .replace("</sheetData>", far_row + "</sheetData>")
    assert forged != sheet and 'ref="A1:XFD1048576"' in forged
    target = tmp_path / "forged.xlsx"
    _replace_member(good, target, "xl/worksheets/sheet1.xml", lambda h: h.write(forged.encode()))
    widths = []
    row_values = readers._row_values
    monkeypatch.setattr(readers, "_row_values", lambda header, cells: widths.append(len(cells)) or row_values(header, cells))
    items = _items(target)
    assert _ids(items) == ["C1", "C2", "C3", "C9"]
    assert items[-1].narrative == "Unit 9 left the road."
    assert max(widths) == 2, max(widths)


def test_xlsx_rows_shorter_or_wider_than_the_header(tmp_path):
    import openpyxl

    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["Crash_ID", "Narrative", "County"])
    sheet.append(["C1", "Unit 1 struck a pole."])  # no County
    sheet.append(["C2", "Unit 2 struck a tree.", "Travis", None, "stray"])
    book.save(tmp_path / "uneven.xlsx")
    from crashtransformer.data.readers import _row_values

    assert [item.crash_id for item in _items(tmp_path / "uneven.xlsx")] == ["C1", "C2"]
    header = ["Crash_ID", "Narrative", "County"]
    assert _row_values(header, ("C1", "text")) == {"Crash_ID": "C1", "Narrative": "text", "County": ""}
    assert _row_values(header, ("C2", "text", "Travis", None, "stray")) == {
        "Crash_ID": "C2", "Narrative": "text", "County": "Travis", "column_5": "stray"}
