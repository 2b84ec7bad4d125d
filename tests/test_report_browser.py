"""report.html of a run opened in a real browser (headless Chromium), and crash_summaries.csv.

The out_dir is made without a model by bench/bench_report.py's make_out_dir: 200 synthetic
crashes, one narrative carrying markup (it must show as text), one starting with `=` (the CSV
must not hand it to a spreadsheet as a formula). The browser tests skip when no Chromium runs.
"""

from __future__ import annotations

import csv
import html
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from conftest import REPO

sys.path.insert(0, str(REPO / "bench"))
from bench_report import chromium_command, make_out_dir

CRASHES = 200
INJECTED = "<script>alert('x')</script> & <b>bold</b>"
INJECTED_AT = 7  # crash index whose narrative gets INJECTED appended
FORMULA_AT = 11  # crash index whose narrative starts with "="
FORMULA = "=HYPERLINK(\"http://example.invalid\",\"x\") "


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory) -> Path:
    from crashtransformer.prepare.synthetic.generator import make_record

    path = tmp_path_factory.mktemp("report_run")
    narratives = {INJECTED_AT: make_record(INJECTED_AT, seed=0).narrative + " " + INJECTED,
                  FORMULA_AT: FORMULA + make_record(FORMULA_AT, seed=0).narrative}
    return make_out_dir(path, CRASHES, seed=0, narratives=narratives)


@pytest.fixture(scope="module")
def written(run_dir) -> tuple[Path, Path]:
    from crashtransformer.run.html import write_run_html

    return write_run_html(run_dir)


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    """A function (url, *args) -> CompletedProcess running headless Chromium, or a skip."""
    executable = shutil.which("chromium") or shutil.which("chromium-browser")
    if not executable:
        pytest.skip("headless Chromium not installed (neither `chromium` nor `chromium-browser` on PATH)")
    profiles = tmp_path_factory.mktemp("chromium")

    def run(*args: str, timeout: int = 60) -> subprocess.CompletedProcess:
        profile = tempfile.mkdtemp(dir=profiles)
        return subprocess.run(chromium_command(executable, Path(profile), *args),
                              capture_output=True, text=True, timeout=timeout, check=False)

    try:
        probe = run("--dump-dom", "data:text/html,<p>probe</p>")
    except (OSError, subprocess.TimeoutExpired) as error:
        pytest.skip(f"headless Chromium ({executable}) failed to start: {error}")
    if probe.returncode != 0 or "probe" not in probe.stdout:
        pytest.skip(f"headless Chromium ({executable}) failed to start (exit {probe.returncode}): "
                    f"{probe.stderr.strip()[-500:]}")
    return run


def _dom(browser, url: str) -> str:
    result = browser("--dump-dom", url)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "<html" in result.stdout
    return result.stdout


def _text(markup: str) -> str:
    """What textContent gives: tags dropped, entities decoded."""
    return html.unescape(re.sub(r"<[^>]+>", "", markup))


def _crash_rows(page: str) -> list[tuple[str, str]]:
    """(attributes of the <tr>, its cells' markup) of each row of the crash table's body."""
    table = page.split('id="crashes"', 1)[1].split("</table>", 1)[0]
    body = table.split("<tbody>", 1)[1]
    return re.findall(r"<tr([^>]*)>(.*?)</tr>", body, re.DOTALL)


def _narratives(page: str) -> list[str]:
    return re.findall(r'<div class="narrative">(.*?)</div>', page, re.DOTALL)


# ----------------------------------------------------------------------------- the written page


def test_written_page_escapes_narrative_markup(written):
    page = written[0].read_text(encoding="utf-8")
    assert "&lt;script&gt;" in page
    assert "<script>alert" not in page
    assert "<b>bold</b>" not in page
    assert any(INJECTED in _text(n) for n in _narratives(page))


def test_spreadsheet_has_every_crash_and_neutralises_formulas(written, run_dir):
    from crashtransformer.prepare.synthetic.generator import make_record

    spreadsheet = written[1]
    assert spreadsheet.name == "crash_summaries.csv"
    with open(spreadsheet, encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle))
    assert rows[0] == ["Crash_ID", "narrative", "manner", "cause", "summary", "summary_source", "unsupported_claims",
                       "flags"]
    body = rows[1:]
    assert len(body) == CRASHES
    assert len({row[0] for row in body}) == CRASHES
    by_id = {row[0]: row for row in body}
    formula_row = by_id[make_record(FORMULA_AT, seed=0).crash_id]
    assert formula_row[1] == "'" + FORMULA + make_record(FORMULA_AT, seed=0).narrative  # safe_cell's quote
    assert not any(cell.startswith(("=", "+", "-", "@")) for row in body for cell in row)
    assert INJECTED in by_id[make_record(INJECTED_AT, seed=0).crash_id][1]  # CSV keeps the text as is


# ----------------------------------------------------------------------------- in the browser


def test_page_in_chromium(browser, written):
    page = written[0]
    dom = _dom(browser, page.resolve().as_uri())

    rows = _crash_rows(dom)
    assert len(rows) == CRASHES  # 200 crashes: all fit the table
    charts = dom.split('id="charts"', 1)[1].split("<h2>", 1)[0]
    assert "<svg" in charts and "<rect" in charts
    narratives = _narratives(dom)
    assert len(narratives) == CRASHES
    assert any('<mark class="factor">' in n for n in narratives)
    assert any('<mark class="collision">' in n for n in narratives)

    # the injected markup is text in the DOM, not elements: one <script>, the page's own
    assert "<script>alert" not in dom and "<b>bold" not in dom
    assert dom.count("<script") == page.read_text(encoding="utf-8").count("<script") == 1
    assert any(INJECTED in _text(n) for n in narratives)


def test_filter_from_the_address(browser, written):
    page = written[0]
    rows = _crash_rows(page.read_text(encoding="utf-8"))
    texts = [_text(cells).lower() for _, cells in rows]  # what the script matches: the row's textContent
    manners = sorted({_text(re.findall(r"<td>(.*?)</td>", cells, re.DOTALL)[1]) for _, cells in rows} - {""})
    word = next(w for m in manners for w in m.split()
                if len(w) > 4 and 0 < sum(w in t for t in texts) < len(texts) // 2)
    matching = sum(word in t for t in texts)

    dom = _dom(browser, page.resolve().as_uri() + "#filter=" + word)
    shown = _crash_rows(dom)
    hidden = [cells for attrs, cells in shown if "display: none" in attrs]
    visible = [cells for attrs, cells in shown if "display: none" not in attrs]
    assert hidden and visible
    assert len(visible) == matching and len(hidden) == CRASHES - matching
    assert all(word in _text(cells).lower() for cells in visible)


def test_screenshot(browser, written, tmp_path):
    shot = tmp_path / "report.png"
    result = browser(f"--screenshot={shot}", "--window-size=1280,1800", written[0].resolve().as_uri())
    assert result.returncode == 0, result.stderr[-2000:]
    data = shot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")  # IHDR
    assert (width, height) == (1280, 1800)
    assert len(data) > 30_000  # a rendered page, not a blank one (a blank 1280x1800 PNG is ~10 KB)


def test_source_filter_from_the_address(browser, tmp_path):
    """#source=graph shows only the summaries written from the crash graph; with #filter= both apply."""
    from test_run_report import claims_out_dir

    from crashtransformer.run.html import write_run_html

    page = write_run_html(claims_out_dir(tmp_path / "out"))[0]

    def visible(fragment: str) -> list[str]:
        rows = _crash_rows(_dom(browser, page.resolve().as_uri() + fragment))
        return [re.search(r'data-source="(\w+)"', attrs)[1] for attrs, _ in rows if "display: none" not in attrs]

    assert visible("#source=graph") == ["graph"]
    assert sorted(visible("#source=model")) == ["model", "model"]
    assert visible("#filter=red%20light&source=model") == ["model"]
    assert len(visible("")) == 4
