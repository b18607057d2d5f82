"""Bar charts drawn on the server as SVG: geometry here, markup in templates/admin/_chart.html."""
from __future__ import annotations

import math
from datetime import date

WIDTH, HEIGHT = 640, 200
LEFT, BOTTOM, TOP = 36, 22, 8


def _nice_max(value: int) -> int:
    """A round top for the axis, so its four steps are round too (0, 10, 20, 30, 40)."""
    raw = max(value, 4) / 4
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    return math.ceil(step * 4)


def stacked_bars(weeks: list[date], series: list[tuple[str, list[int]]]) -> dict:
    """Bars (one per week, one segment per series), axis ticks and labels, in SVG units."""
    totals = [sum(values[i] for _, values in series) for i in range(len(weeks))]
    top = _nice_max(max(totals, default=0))
    plot_h, plot_w = HEIGHT - BOTTOM - TOP, WIDTH - LEFT - 4
    slot = plot_w / max(len(weeks), 1)
    bars = []
    for i, week in enumerate(weeks):
        y, segments = HEIGHT - BOTTOM, []
        for index, (label, values) in enumerate(series):
            h = values[i] / top * plot_h
            y -= h
            if values[i]:
                segments.append({"series": index, "label": label, "value": values[i],
                                 "y": round(y, 1), "h": round(h, 1)})
        bars.append({"x": round(LEFT + i * slot + slot * 0.15, 1), "w": round(slot * 0.7, 1),
                     "week": week, "total": totals[i], "segments": segments})
    ticks = [{"value": int(top * f), "y": round(HEIGHT - BOTTOM - plot_h * f, 1)} for f in (0, 0.25, 0.5, 0.75, 1)]
    labels = [{"x": round(LEFT + i * slot + slot / 2, 1), "text": w.strftime("%d %b")}
              for i, w in enumerate(weeks) if (len(weeks) - 1 - i) % 4 == 0]
    return {"width": WIDTH, "height": HEIGHT, "left": LEFT, "bottom": HEIGHT - BOTTOM, "bars": bars,
            "ticks": ticks, "labels": labels, "series": [label for label, _ in series],
            "empty": not any(totals), "total": sum(totals)}
