"""Small SVG charts written directly: a report that needs no script, no font and no network.

Each function returns an ``<svg>`` element as a string, with a ``<title>`` per mark so a
reader hovering a cell sees its value.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

_FONT = 'font-family="system-ui, sans-serif" font-size="11"'


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
    fmt: str = "{:.0%}",
    cell: int = 26,
    scale_max: float | None = None,
) -> str:
    """A grid of shaded cells, ``values[i][j]`` for row ``i`` and column ``j`` (None: blank).

    Shades run from 0 to ``scale_max`` (default: the largest value); larger values are
    drawn at full depth.
    """
    # Room for the longest row label (about 6.5 px a character at 11 px).
    left, top = max(40, round(6.5 * max((len(str(r)) for r in rows), default=0)) + 10), 22
    width, height = left + cell * len(columns) + 4, top + cell * len(rows) + 4
    largest = max((v for row in values for v in row if v is not None), default=1.0)
    top_value = scale_max or largest or 1.0
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" '
        f'aria-label="{escape(label)}" width="{width}" height="{height}" {_FONT}>'
    ]
    for j, name in enumerate(columns):
        x = left + j * cell + cell / 2
        parts.append(f'<text x="{x:.0f}" y="14" text-anchor="middle">{escape(str(name))}</text>')
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
    fmt: str = "{:,.0f}",
    width: int = 560,
) -> str:
    """Horizontal bars, one per label, with the value written at the end of each."""
    left, bar, gap = 130, 18, 6
    height = (bar + gap) * len(labels) + gap
    top_value = max(values, default=1.0) or 1.0
    room = width - left - 70
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" '
        f'aria-label="{escape(label)}" width="{width}" height="{height}" {_FONT}>'
    ]
    for i, (name, value) in enumerate(zip(labels, values, strict=True)):
        y = gap + i * (bar + gap)
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
    edges: Sequence[float], counts: Sequence[int], *, label: str, width: int = 560
) -> str:
    """Columns for the counts between consecutive ``edges``, with the first and last edge."""
    height, bottom, left = 160, 20, 8
    plot_height = height - bottom - 8
    step = (width - 2 * left) / max(len(counts), 1)
    top_count = max(counts, default=1) or 1
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" '
        f'aria-label="{escape(label)}" width="{width}" height="{height}" {_FONT}>'
    ]
    for i, count in enumerate(counts):
        tall = plot_height * count / top_count
        x = left + i * step
        parts.append(
            f'<rect class="bar" x="{x:.1f}" y="{height - bottom - tall:.1f}" '
            f'width="{max(step - 1, 1):.1f}" height="{tall:.1f}" fill="#2563eb">'
            f"<title>{edges[i]:,.0f} to {edges[i + 1]:,.0f}: {count:,}</title></rect>"
        )
    parts.append(f'<text x="{left}" y="{height - 5}">{edges[0]:,.0f}</text>')
    parts.append(
        f'<text x="{width - left}" y="{height - 5}" text-anchor="end">{edges[-1]:,.0f}</text>'
    )
    parts.append("</svg>")
    return "".join(parts)
