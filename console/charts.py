"""Charts as server-rendered SVG: no chart library, no script, nothing for the page's
Content-Security-Policy to allow (presentation attributes, never style attributes).
Each chart comes with its numbers as a table (``Chart.table``) that the page shows
beside it: the SVG is a picture (role="img" with a text summary), the table is what
screen readers and keyboard users read."""
import math
from dataclasses import dataclass, field
from datetime import datetime, timezone as dt_timezone

from django.utils import timezone
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

WIDTH, HEIGHT = 640, 240
LEFT, RIGHT, TOP, BOTTOM = 56, 16, 16, 36
COLOURS = ("#0b5cad", "#b3480a", "#1d6b34", "#6b2fa3")
GUIDE = "#a61b1b"


@dataclass
class Chart:
    key: str
    title: str
    summary: str
    svg: SafeString
    headers: list[str]
    rows: list[list[str]] = field(default_factory=list)
    empty: bool = False


def time_label(moment: datetime) -> str:
    return timezone.localtime(moment).strftime("%d %b %H:%M")


def _scale(values: list[float], floor_zero: bool = True) -> tuple[float, float, float]:
    """(low, high, step): a "nice" axis (steps of 1, 2 or 5 x 10^n) with four or five
    ticks covering every value; counts and cents never get fractional ticks."""
    low = min(values + ([0.0] if floor_zero else []))
    high = max(values)
    if high == low:
        high = low + 1
    raw = (high - low) / 4
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 5, 10) if m * magnitude >= raw)
    if all(float(v).is_integer() for v in values):
        step = max(step, 1.0)
    low = math.floor(low / step) * step
    high = max(math.ceil(high / step) * step, low + step)
    return low, high, step


def _frame(key: str, title: str, summary: str, body: list[str], y_low: float, y_high: float,
           y_step: float, y_format, x_labels: tuple[str, str]) -> SafeString:
    plot_h = HEIGHT - TOP - BOTTOM
    parts = [f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
             f'aria-labelledby="{key}-t {key}-d" xmlns="http://www.w3.org/2000/svg">',
             f'<title id="{key}-t">{escape(title)}</title>',
             f'<desc id="{key}-d">{escape(summary)}</desc>']
    ticks = round((y_high - y_low) / y_step)
    for step in range(ticks + 1):
        value = y_low + y_step * step
        y = TOP + plot_h - plot_h * step / ticks
        parts.append(f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}" '
                     'stroke="#d5dae0" stroke-width="1"/>')
        parts.append(f'<text x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end" '
                     f'font-size="11" fill="#4a5360">{escape(y_format(value))}</text>')
    parts.extend(body)
    parts.append(f'<text x="{LEFT}" y="{HEIGHT - 10}" font-size="11" fill="#4a5360">'
                 f'{escape(x_labels[0])}</text>')
    parts.append(f'<text x="{WIDTH - RIGHT}" y="{HEIGHT - 10}" text-anchor="end" '
                 f'font-size="11" fill="#4a5360">{escape(x_labels[1])}</text>')
    parts.append("</svg>")
    return mark_safe("".join(parts))


def _guides(guides, y_of, body: list[str], legend: list[str]) -> None:
    for name, value in guides:
        if value is None:
            continue
        y = y_of(value)
        body.append(f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}" '
                    f'stroke="{GUIDE}" stroke-width="1.5" stroke-dasharray="2 3"/>')
        body.append(f'<text x="{WIDTH - RIGHT - 4}" y="{y - 4:.1f}" text-anchor="end" '
                    f'font-size="11" fill="{GUIDE}">{escape(name)}</text>')
        legend.append(name)


def line_chart(*, key: str, title: str, series: list[dict], y_format=str,
               guides: list[tuple[str, float | None]] = (), value_header: str = "Value"
               ) -> Chart:
    """``series``: [{"name", "points": [(datetime, number | None)], "dashed"?}]. Guides
    are horizontal reference lines (budget, floor). The table lists every point."""
    points = [(x, y) for s in series for x, y in s["points"] if y is not None]
    headers = ["Time", "Series", value_header]
    rows = [[time_label(x), s["name"], y_format(y) if y is not None else "–"]
            for s in series for x, y in s["points"]]
    rows += [["", name, y_format(value)] for name, value in guides if value is not None]
    if not points:
        return Chart(key, title, "No data yet.", mark_safe(""), headers, rows, empty=True)
    xs = [x.timestamp() for x, _ in points]
    x_low, x_high = min(xs), max(xs)
    if x_high == x_low:
        x_low -= 1800
        x_high += 1800
    y_low, y_high, y_step = _scale([float(y) for _, y in points]
                                   + [float(v) for _, v in guides if v is not None])
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def x_of(moment: datetime) -> float:
        return LEFT + plot_w * (moment.timestamp() - x_low) / (x_high - x_low)

    def y_of(value: float) -> float:
        return TOP + plot_h - plot_h * (float(value) - y_low) / (y_high - y_low)

    body, legend = [], []
    for index, item in enumerate(series):
        colour = COLOURS[index % len(COLOURS)]
        coords = [f"{x_of(x):.1f},{y_of(y):.1f}" for x, y in item["points"] if y is not None]
        if not coords:
            continue
        dash = ' stroke-dasharray="6 4"' if item.get("dashed") else ""
        body.append(f'<polyline fill="none" stroke="{colour}" stroke-width="2.5"{dash} '
                    f'points="{" ".join(coords)}"/>')
        for coord in coords:
            cx, cy = coord.split(",")
            body.append(f'<circle cx="{cx}" cy="{cy}" r="3" fill="{colour}"/>')
        legend.append(item["name"])
    _guides(guides, y_of, body, legend)
    last = [f"{s['name']} {y_format(s['points'][-1][1])}" for s in series
            if s["points"] and s["points"][-1][1] is not None]
    summary = f"{title}: {', '.join(last)}." if last else title
    svg = _frame(key, title, summary, body, y_low, y_high, y_step, y_format,
                 (time_label(datetime.fromtimestamp(x_low, tz=dt_timezone.utc)),
                  time_label(datetime.fromtimestamp(x_high, tz=dt_timezone.utc))))
    return Chart(key, title, summary, svg, headers, rows)


def bar_chart(*, key: str, title: str, bars: list[tuple[str, float | None]], y_format=str,
              guides: list[tuple[str, float | None]] = (), label_header: str = "Bin",
              value_header: str = "Count", extra_columns: list[tuple[str, list]] = ()
              ) -> Chart:
    """Vertical bars with an optional reference line; ``extra_columns`` add table
    columns (a worker's lower bound, say) beside each bar's value."""
    headers = [label_header, value_header] + [name for name, _ in extra_columns]
    rows = [[label, y_format(value) if value is not None else "–"]
            + [column[index] for _, column in extra_columns]
            for index, (label, value) in enumerate(bars)]
    values = [float(value) for _, value in bars if value is not None]
    if not values or not any(values):
        return Chart(key, title, "No data yet.", mark_safe(""), headers, rows, empty=True)
    y_low, y_high, y_step = _scale(values + [float(v) for _, v in guides if v is not None])
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    slot = plot_w / len(bars)

    def y_of(value: float) -> float:
        return TOP + plot_h - plot_h * (float(value) - y_low) / (y_high - y_low)

    body, legend = [], []
    for index, (label, value) in enumerate(bars):
        if value is None:
            continue
        top = y_of(value)
        body.append(f'<rect x="{LEFT + slot * index + slot * 0.15:.1f}" y="{top:.1f}" '
                    f'width="{slot * 0.7:.1f}" height="{max(TOP + plot_h - top, 0):.1f}" '
                    f'fill="{COLOURS[0]}"><title>{escape(label)}: '
                    f'{escape(y_format(value))}</title></rect>')
    _guides(guides, y_of, body, legend)
    largest = max(bars, key=lambda bar: bar[1] or 0)
    summary = f"{title}: {len(bars)} bars, largest {largest[0]} at {y_format(largest[1])}."
    svg = _frame(key, title, summary, body, y_low, y_high, y_step, y_format,
                 (bars[0][0], bars[-1][0]))
    return Chart(key, title, summary, svg, headers, rows)


def cents(value) -> str:
    if value is None:
        return "–"
    value = int(round(value))
    sign = "-" if value < 0 else ""
    return f"{sign}${abs(value) // 100:,}.{abs(value) % 100:02d}"


def whole(value) -> str:
    return "–" if value is None else f"{round(value):,}"


def ratio(value) -> str:
    return "–" if value is None else f"{value:.2f}"
