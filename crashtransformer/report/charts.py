"""Chart geometry for the report templates: numbers in, coordinates out. The SVG itself is
written by the macros in templates/charts.j2 (no markup is built in Python)."""

from __future__ import annotations

from dataclasses import dataclass

BAR_WIDTH = 220  # pixels of the longest bar: two charts side by side on a laptop screen
LINE_SIZE = (520, 220)  # width, height of a line chart's plotting area
PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b")


@dataclass(frozen=True)
class Bar:
    label: str
    value: float
    length: float  # pixels


def bar_chart(counts: list[tuple[str, float]], limit: int = 15, keep_order: bool = False) -> list[Bar]:
    """The `limit` largest counts as horizontal bars, longest first (or in the given order)."""
    top = list(counts)[:limit] if keep_order else sorted(counts, key=lambda item: -item[1])[:limit]
    peak = max((value for _, value in top), default=0) or 1
    return [Bar(str(label), value, round(BAR_WIDTH * value / peak, 1)) for label, value in top]


@dataclass(frozen=True)
class Series:
    name: str
    colour: str
    points: str  # "x,y x,y ..." in SVG coordinates
    dots: tuple[tuple[float, float], ...]  # the same points as markers: a curve of one point still shows


@dataclass(frozen=True)
class LineChart:
    series: list[Series]
    x_ticks: list[tuple[float, str]]
    y_ticks: list[tuple[float, str]]
    width: int
    height: int


def line_chart(curves: dict[str, list[tuple[float, float]]]) -> LineChart | None:
    """Curves (name -> [(x, y)]) on shared axes; None when there is nothing to draw."""
    points = [p for curve in curves.values() for p in curve]
    if not points:
        return None
    width, height = LINE_SIZE
    x_low, x_span = _axis(min(p[0] for p in points), max(p[0] for p in points))
    y_low, y_span = _axis(min(p[1] for p in points), max(p[1] for p in points))

    def place(x: float, y: float) -> tuple[float, float]:
        return round((x - x_low) / x_span * width, 1), round(height - (y - y_low) / y_span * height, 1)

    series = []
    for index, (name, curve) in enumerate(curves.items()):
        if curve:
            dots = tuple(place(x, y) for x, y in curve)
            series.append(Series(name, PALETTE[index % len(PALETTE)], " ".join(f"{x},{y}" for x, y in dots), dots))
    x_ticks = [((x_low + x_span * k / 4 - x_low) / x_span * width, f"{x_low + x_span * k / 4:g}") for k in range(5)]
    y_ticks = [(height - k / 4 * height, f"{y_low + y_span * k / 4:.3g}") for k in range(5)]
    return LineChart(series, x_ticks, y_ticks, width, height)


def _axis(low: float, high: float) -> tuple[float, float]:
    """(start, span) of an axis; a single value gets a margin around it instead of a zero span."""
    if high > low:
        return low, high - low
    margin = abs(low) * 0.1 or 1.0
    return low - margin, 2 * margin


@dataclass(frozen=True)
class HeatTable:
    rows: list[str]
    columns: list[str]
    cells: list[list[tuple[int, float]]]  # (count, shade 0..1) per row and column


def heat_table(pairs: dict[tuple[str, str], int], limit: int = 10) -> HeatTable:
    """A row x column count table (manner x factor), the `limit` commonest of each, shaded by count."""
    row_totals: dict[str, int] = {}
    column_totals: dict[str, int] = {}
    for (row, column), count in pairs.items():
        row_totals[row] = row_totals.get(row, 0) + count
        column_totals[column] = column_totals.get(column, 0) + count
    rows = sorted(row_totals, key=lambda r: -row_totals[r])[:limit]
    columns = sorted(column_totals, key=lambda c: -column_totals[c])[:limit]
    peak = max(pairs.values(), default=0) or 1
    cells = [[(pairs.get((r, c), 0), pairs.get((r, c), 0) / peak) for c in columns] for r in rows]
    return HeatTable(rows, columns, cells)
