"""Self-contained HTML pages from Jinja2 templates (report/templates/): inline CSS, a little inline
JS, charts as inline SVG and images as data: URIs, so a page opens from file:// with no network.

Autoescaping is on for every template: a narrative holding `<script>` renders as text.
"""

from __future__ import annotations

import base64
from functools import lru_cache
from pathlib import Path

from crashtransformer.core.io import write_text_atomic
from crashtransformer.report.charts import bar_chart, heat_table, line_chart

TEMPLATES = Path(__file__).with_name("templates")


@lru_cache(maxsize=1)
def environment():
    from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(default=True, default_for_string=True),
                      undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.globals.update(bar_chart=bar_chart, line_chart=line_chart, heat_table=heat_table)
    env.filters["number"] = _number
    return env


def _number(value, digits: int = 3) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:,.{digits}f}"
    return f"{value:,}" if isinstance(value, int) else str(value)


def png_data_uri(path: Path) -> str:
    """An image inlined into the page (the page must stand alone)."""
    return "data:image/png;base64," + base64.b64encode(Path(path).read_bytes()).decode("ascii")


def render_page(template: str, path: Path, **context) -> Path:
    """Render `template` with `context` and write it atomically to `path`."""
    html = environment().get_template(template).render(**context)
    write_text_atomic(Path(path), html)
    return Path(path)
