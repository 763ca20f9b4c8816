"""Small SVG charts written directly: a report that needs no script, no font and no network.

Each function returns an ``<svg>`` element as a string, with a ``<title>`` per mark so a
reader hovering a cell sees its value.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

_FONT = 'font-family="system-ui, sans-serif" font-size="11"'
#: Pixels kept for an axis title.
_TITLE_ROOM = 16


def _title_width(title: str) -> int:
    return round(6.5 * len(title)) + 8


def _axis_title(
    title: str, *, x: float, y: float, turned: bool = False, anchor: str = "start"
) -> str:
    """An axis title in bold; ``turned`` reads upwards along a vertical axis, from its top
    at ``y`` down."""
    if turned:
        placed = f'transform="translate({x:.0f},{y:.0f}) rotate(-90)" text-anchor="end"'
        return f'<text class="axis-title" font-weight="600" {placed}>{escape(title)}</text>'
    return (
        f'<text class="axis-title" font-weight="600" x="{x:.0f}" y="{y:.0f}" '
        f'text-anchor="{anchor}">{escape(title)}</text>'
    )


def _blue(share: float) -> str:
    """From pale to deep blue as ``share`` goes from 0 to 1."""
    share = min(max(share, 0.0), 1.0)
    light, deep = (239, 246, 255), (29, 78, 216)
    r, g, b = (round(lo + (hi - lo) * share) for lo, hi in zip(light, deep, strict=True))
    return f"rgb({r},{g},{b})"


def heatmap(
    rows: Sequence[str],
    columns: Sequence[str],
    values: Sequence[Sequence[float | None]],
    *,
    label: str,
    x_title: str,
    y_title: str,
    fmt: str = "{:.0%}",
    cell: int = 26,
    scale_max: float | None = None,
) -> str:
    """A grid of shaded cells, ``values[i][j]`` for row ``i`` and column ``j`` (None: blank).

    Shades run from 0 to ``scale_max`` (default: the largest value); larger values are
    drawn at full depth. ``x_title`` names the columns (over them), ``y_title`` the rows:
    turned, on the left, when the rows are tall enough for it, else on a line of its own
    over the row labels (a short grid keeps its height).
    """
    longest = max((len(str(r)) for r in rows), default=0)
    label_room = max(40, round(6.5 * longest) + 10)  # about 6.5 px a character at 11 px
    turned = _title_width(y_title) <= cell * len(rows)
    if turned:
        left, top = label_room + _TITLE_ROOM, 22 + _TITLE_ROOM
    else:
        left, top = label_room, 22 + 2 * _TITLE_ROOM
    width = max(left + cell * len(columns) + 4, _title_width(x_title) + left)
    if not turned:
        width = max(width, _title_width(y_title) + 4)
    height = top + cell * len(rows) + 4
    largest = max((v for row in values for v in row if v is not None), default=1.0)
    top_value = scale_max or largest or 1.0
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" '
        f'aria-label="{escape(label)}" width="{width}" height="{height}" {_FONT}>'
    ]
    if turned:
        parts.append(_axis_title(x_title, x=left, y=12))
        parts.append(_axis_title(y_title, x=12, y=top, turned=True))
    else:
        parts.append(_axis_title(y_title, x=4, y=12))
        parts.append(_axis_title(x_title, x=left, y=12 + _TITLE_ROOM))
    for j, name in enumerate(columns):
        x = left + j * cell + cell / 2
        parts.append(
            f'<text x="{x:.0f}" y="{top - 8}" text-anchor="middle">{escape(str(name))}</text>'
        )
    for i, name in enumerate(rows):
        y = top + i * cell
        parts.append(
            f'<text x="{left - 6}" y="{y + cell / 2 + 4:.0f}" text-anchor="end">'
            f"{escape(str(name))}</text>"
        )
        for j, value in enumerate(values[i]):
            if value is None:
                continue
            x = left + j * cell
            depth = min(value / top_value, 1.0)
            shade = _blue(depth)
            ink = "#fff" if depth > 0.55 else "#111"
            text = fmt.format(value)
            parts.append(
                f'<rect class="cell" x="{x}" y="{y}" width="{cell - 2}" height="{cell - 2}" '
                f'fill="{shade}"><title>{escape(str(name))} / {escape(str(columns[j]))}: '
                f"{escape(text)}</title></rect>"
            )
            if cell >= 26:
                parts.append(
                    f'<text x="{x + (cell - 2) / 2:.0f}" y="{y + cell / 2 + 3:.0f}" '
                    f'text-anchor="middle" font-size="8" fill="{ink}">{escape(text)}</text>'
                )
    parts.append("</svg>")
    return "".join(parts)


def bars(
    labels: Sequence[str],
    values: Sequence[float],
    *,
    label: str,
    x_title: str,
    y_title: str,
    fmt: str = "{:,.0f}",
    width: int = 560,
) -> str:
    """Horizontal bars, one per label, with the value written at the end of each;
    ``y_title`` names the labels (over them), ``x_title`` the values (under the bars)."""
    left, bar, gap, top = 130, 18, 6, _TITLE_ROOM
    height = top + (bar + gap) * len(labels) + gap + _TITLE_ROOM
    top_value = max(values, default=1.0) or 1.0
    room = width - left - 70
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" '
        f'aria-label="{escape(label)}" width="{width}" height="{height}" {_FONT}>',
        _axis_title(y_title, x=left - 6, y=12, anchor="end"),
        _axis_title(x_title, x=left, y=height - 4),
    ]
    for i, (name, value) in enumerate(zip(labels, values, strict=True)):
        y = top + gap + i * (bar + gap)
        length = max(room * value / top_value, 1.0)
        text = fmt.format(value)
        parts.append(
            f'<text x="{left - 6}" y="{y + bar - 5}" text-anchor="end">{escape(str(name))}</text>'
            f'<rect class="bar" x="{left}" y="{y}" width="{length:.1f}" height="{bar}" '
            f'fill="#2563eb"><title>{escape(str(name))}: {escape(text)}</title></rect>'
            f'<text x="{left + length + 4:.1f}" y="{y + bar - 5}">{escape(text)}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def histogram(
    edges: Sequence[float],
    counts: Sequence[int],
    *,
    label: str,
    x_title: str,
    y_title: str,
    edge_format: str = "{:,.0f}",
    width: int = 560,
) -> str:
    """Columns for the counts between consecutive ``edges``, with the first and last edge
    written under the axis (``edge_format``, e.g. with a currency symbol), ``x_title`` under
    them and ``y_title`` (turned) with the tallest column's count beside the axis."""
    height, bottom, left = 190, 20 + _TITLE_ROOM, 8 + 2 * _TITLE_ROOM
    plot_height = height - bottom - 8
    step = (width - left - 8) / max(len(counts), 1)
    top_count = max(counts, default=1) or 1
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" '
        f'aria-label="{escape(label)}" width="{width}" height="{height}" {_FONT}>',
        _axis_title(y_title, x=12, y=8, turned=True),
        f'<text x="{left - 4}" y="{height - bottom - plot_height + 4:.0f}" '
        f'text-anchor="end" font-size="9">{top_count:,}</text>',
        f'<text x="{left - 4}" y="{height - bottom}" text-anchor="end" font-size="9">0</text>',
        _axis_title(x_title, x=left, y=height - 4),
    ]
    for i, count in enumerate(counts):
        tall = plot_height * count / top_count
        x = left + i * step
        parts.append(
            f'<rect class="bar" x="{x:.1f}" y="{height - bottom - tall:.1f}" '
            f'width="{max(step - 1, 1):.1f}" height="{tall:.1f}" fill="#2563eb">'
            f"<title>{escape(edge_format.format(edges[i]))} to "
            f"{escape(edge_format.format(edges[i + 1]))}: {count:,}</title></rect>"
        )
    under = height - bottom + 13
    parts.append(f'<text x="{left}" y="{under}">{escape(edge_format.format(edges[0]))}</text>')
    parts.append(
        f'<text x="{width - 8}" y="{under}" text-anchor="end">'
        f"{escape(edge_format.format(edges[-1]))}</text>"
    )
    parts.append("</svg>")
    return "".join(parts)
