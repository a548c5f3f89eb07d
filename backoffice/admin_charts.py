"""Small charts drawn on the server as inline SVG (no script, no CDN): the dashboard's bars
and lines. Each chart is a ``<figure>`` with a caption, an SVG with ``role="img"`` and an
``aria-label``, and the numbers as a visually hidden table for screen readers."""

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe

WIDTH, HEIGHT, PAD = 600, 160, 24
COLOURS = ("#417690", "#ba2121", "#e0a800")  # the admin's blue, its error red, amber


@dataclass(frozen=True)
class Series:
    label: str
    values: Sequence[Decimal | int]


def _scale(series: Sequence[Series]) -> Decimal:
    top = max((Decimal(v) for s in series for v in s.values), default=Decimal(0))
    return top if top > 0 else Decimal(1)


def _legend(series: Sequence[Series]) -> SafeString:
    return format_html_join(
        "",
        '<span class="chart-key"><span class="chart-swatch" style="background:{}"></span>{}</span>',
        ((COLOURS[i % len(COLOURS)], s.label) for i, s in enumerate(series)),
    )


def _table(labels: Sequence[str], series: Sequence[Series]) -> SafeString:
    head = format_html_join("", '<th scope="col">{}</th>', ((s.label,) for s in series))
    rows = format_html_join(
        "",
        '<tr><th scope="row">{}</th>{}</tr>',
        (
            (label, format_html_join("", "<td>{}</td>", ((s.values[i],) for s in series)))
            for i, label in enumerate(labels)
        ),
    )
    return format_html('<table class="visually-hidden"><tr><td></td>{}</tr>{}</table>', head, rows)


def _figure(chart_id: str, caption: str, svg: SafeString, legend: SafeString, table: SafeString):
    return format_html(
        '<figure class="dashboard-chart" id="{}"><figcaption>{} {}</figcaption>{}{}</figure>',
        chart_id,
        caption,
        legend,
        svg,
        table,
    )


def line_chart(
    chart_id: str, caption: str, labels: Sequence[str], series: Sequence[Series]
) -> SafeString:
    """One polyline per series over ``labels`` (days), sharing one vertical scale."""
    top, steps = _scale(series), max(len(labels) - 1, 1)
    inner_w, inner_h = WIDTH - 2 * PAD, HEIGHT - 2 * PAD

    def point(i: int, value: Decimal | int) -> str:
        x = PAD + inner_w * i / steps
        y = PAD + inner_h * (1 - float(Decimal(value) / top))
        return f"{x:.1f},{y:.1f}"

    lines = format_html_join(
        "",
        '<polyline fill="none" stroke="{}" stroke-width="2" points="{}"/>',
        (
            (COLOURS[n % len(COLOURS)], " ".join(point(i, v) for i, v in enumerate(s.values)))
            for n, s in enumerate(series)
        ),
    )
    axis = format_html(
        '<line x1="{}" y1="{}" x2="{}" y2="{}" stroke="#999"/>'
        '<text x="{}" y="{}" font-size="10" fill="currentColor">{}</text>'
        '<text x="{}" y="{}" font-size="10" fill="currentColor">{}</text>'
        '<text x="{}" y="{}" font-size="10" fill="currentColor" text-anchor="end">{}</text>',
        PAD,
        HEIGHT - PAD,
        WIDTH - PAD,
        HEIGHT - PAD,
        0,
        PAD - 6,
        f"{top:,.0f}",
        PAD,
        HEIGHT - 6,
        labels[0] if labels else "",
        WIDTH - PAD,
        HEIGHT - 6,
        labels[-1] if labels else "",
    )
    svg = format_html(
        '<svg viewBox="0 0 {} {}" width="100%" role="img" aria-label="{}">{}{}</svg>',
        WIDTH,
        HEIGHT,
        caption,
        axis,
        lines,
    )
    return _figure(chart_id, caption, svg, _legend(series), _table(labels, series))


def bar_chart(
    chart_id: str, caption: str, labels: Sequence[str], values: Sequence[Decimal], unit: str = ""
) -> SafeString:
    """Horizontal bars, one per label, longest first as given."""
    series = [Series(caption, values)]
    top, row = _scale(series), 18
    height = max(row * len(labels), row)
    label_w = 180
    span = WIDTH - label_w - 60

    def bar(i: int, label: str, value: Decimal) -> tuple:
        length = span * float(Decimal(value) / top)
        y = i * row
        return (y + 13, label[:28], label_w, y + 3, f"{length:.1f}", row - 6, COLOURS[0])

    def end(i: int, value: Decimal) -> tuple:
        length = span * float(Decimal(value) / top)
        return (f"{label_w + 4 + length:.1f}", i * row + 13, value, unit)

    bars = format_html_join(
        "",
        '<text x="0" y="{}" font-size="11" fill="currentColor">{}</text>'
        '<rect x="{}" y="{}" width="{}" height="{}" fill="{}"/>',
        (bar(i, label, v) for i, (label, v) in enumerate(zip(labels, values, strict=True))),
    )
    bars += format_html_join(
        "",
        '<text x="{}" y="{}" font-size="11" fill="currentColor">{}{}</text>',
        (end(i, v) for i, v in enumerate(values)),
    )
    svg = format_html(
        '<svg viewBox="0 0 {} {}" width="100%" role="img" aria-label="{}">{}</svg>',
        WIDTH,
        height,
        caption,
        bars or mark_safe(""),
    )
    return _figure(chart_id, caption, svg, mark_safe(""), _table(labels, series))
