"""The report's pictures, drawn with matplotlib into inline SVG: no network, no JavaScript charting
library, text kept as text (searchable, sharp at any zoom). Each function takes plain figures and
returns one `<svg>` element; a baseline, when given, is drawn dashed beside the run it compares with.

Only the object-oriented API (`Figure`, never pyplot): no global state, no GUI backend, safe in threads.
"""
from __future__ import annotations

import io
import re

PALETTE = ("#3559c7", "#e07b00", "#1a7f37", "#a1329a", "#c0392b", "#2b8a99", "#7a6a00", "#555e6c")
ANSWERABLE, UNANSWERABLE = "#1a7f37", "#c0392b"


def _figure(width: float = 6.2, height: float = 3.4):
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=100)
    ax = fig.subplots()
    ax.spines[["top", "right"]].set_visible(False)
    ax.grid(True, color="#e6e9ee", linewidth=0.8)
    ax.set_axisbelow(True)
    return fig, ax


def _svg(fig) -> str:
    from matplotlib import rc_context

    buffer = io.StringIO()
    with rc_context({"svg.fonttype": "none", "font.size": 10}):
        fig.savefig(buffer, format="svg", bbox_inches="tight", metadata={"Date": None})
    text = buffer.getvalue()
    text = text[text.index("<svg"):]
    # Responsive: the viewBox keeps the shape, CSS sets the width.
    return re.sub(r'<svg([^>]*?) width="[^"]*" height="[^"]*"', r'<svg\1 role="img"', text, count=1)


def score_distribution(answerable: list[float], unanswerable: list[float], thresholds: dict[str, float],
                       baseline: tuple[list[float], list[float]] | None = None, title: str = "") -> str:
    """Histograms of the judgment's probability, answerable vs not, with the operating thresholds."""
    fig, ax = _figure()
    bins = [i / 25 for i in range(26)]
    if baseline is not None:
        for values, colour in zip(baseline, (ANSWERABLE, UNANSWERABLE)):
            if values:
                ax.hist(values, bins=bins, histtype="step", linestyle="--", linewidth=1.2, color=colour, alpha=0.7)
    for values, colour, label in ((answerable, ANSWERABLE, "an article answers it"),
                                  (unanswerable, UNANSWERABLE, "no article answers it")):
        if values:
            ax.hist(values, bins=bins, alpha=0.45, color=colour, label=f"{label} ({len(values)})")
    for i, (group, t) in enumerate(sorted(thresholds.items())):
        ax.axvline(t, color="#1d2330", linestyle=(0, (4, 2)) if i else "-", linewidth=1.2)
        ax.annotate(f"{group} {t:.2f}", (t, 1), xycoords=("data", "axes fraction"), xytext=(3, -12 - 11 * i),
                    textcoords="offset points", fontsize=8)
    ax.set_xlim(0, 1)
    ax.set_xlabel("judgment: probability that the passages answer")
    ax.set_ylabel("questions")
    if answerable or unanswerable:  # above the plot: the thresholds' labels and the bars stay clear
        ax.legend(frameon=False, fontsize=8, loc="lower left", bbox_to_anchor=(0, 1.0), ncol=2,
                  title=title or None, title_fontsize=9, alignment="left")
    return _svg(fig)


def threshold_sweep(curves: dict[str, list[tuple[float, float, float]]],
                    points: dict[str, tuple[float, float]],
                    baseline: dict[str, list[tuple[float, float, float]]] | None = None) -> str:
    """Abstain recall against false abstention as one threshold moves; curves are (threshold,
    false_abstain, abstain_recall) per configuration, points the run's own operating point."""
    fig, ax = _figure()
    for i, (name, curve) in enumerate(curves.items()):
        colour = PALETTE[i % len(PALETTE)]
        if baseline and baseline.get(name):
            old = baseline[name]
            ax.plot([c[1] for c in old], [c[2] for c in old], linestyle="--", color=colour, alpha=0.6,
                    label=f"{name}: baseline")
        ax.plot([c[1] for c in curve], [c[2] for c in curve], color=colour, label=name, linewidth=1.6)
        for t, x, y in curve:
            if round(t * 100) in (10, 30, 50):
                ax.plot([x], [y], marker="o", markersize=3, color=colour)
                ax.annotate(f"{t:.1f}", (x, y), xytext=(4, -10), textcoords="offset points", fontsize=7, color=colour)
        if name in points:
            x, y = points[name]
            ax.plot([x], [y], marker="*", markersize=13, color=colour, markeredgecolor="#1d2330", linestyle="none")
    # Zoomed on the part an admin chooses from (thresholds up to 0.5), not the whole unit square.
    reach = [x for curve in list(curves.values()) + list((baseline or {}).values()) for t, x, _ in curve if t <= 0.5]
    reach += [x for x, _ in points.values()]
    ax.set_xlim(-0.01, min(1.02, max(0.3, 1.15 * max(reach, default=1.0))))
    ax.set_ylim(-0.02, 1.02)
    ax.set_xlabel("false abstention (answerable questions withheld)")
    ax.set_ylabel("abstain recall (unanswerable ones withheld)")
    ax.legend(frameon=False, fontsize=8, loc="lower right")
    return _svg(fig)


def hit_at_k(curves: dict[str, list[float | None]], baseline: dict[str, list[float | None]] | None = None) -> str:
    """The share of answerable questions with a gold article among the first k, k = 1..10."""
    fig, ax = _figure()
    for i, (name, values) in enumerate(curves.items()):
        colour = PALETTE[i % len(PALETTE)]
        ks = [k for k, v in enumerate(values, 1) if v is not None]
        if baseline and baseline.get(name):
            old = baseline[name]
            ax.plot([k for k, v in enumerate(old, 1) if v is not None], [v for v in old if v is not None],
                    linestyle="--", color=colour, alpha=0.6, label=f"{name}: baseline")
        ax.plot(ks, [v for v in values if v is not None], marker="o", markersize=3, color=colour, label=name)
    ax.set_xticks(range(1, 11))
    ax.set_ylim(0, 1.02)
    ax.set_xlabel("k (articles retrieved)")
    ax.set_ylabel("hit@k")
    ax.legend(frameon=False, fontsize=8, loc="lower right")
    return _svg(fig)


def latency(series: dict[str, list[float]], baseline: dict[str, list[float]] | None = None) -> str:
    """The distribution of answer latency per configuration (log-spaced bins), p50 and p95 marked."""
    import math

    fig, ax = _figure()
    values = [v for s in list(series.values()) + list((baseline or {}).values()) for v in s if v > 0]
    if values:
        lo, hi = math.log10(max(min(values), 0.1)), math.log10(max(values) * 1.05)
        hi = max(hi, lo + 0.1)
        bins = [10 ** (lo + (hi - lo) * i / 30) for i in range(31)]
        for i, (name, s) in enumerate(series.items()):
            colour = PALETTE[i % len(PALETTE)]
            if baseline and baseline.get(name):
                ax.hist(baseline[name], bins=bins, histtype="step", linestyle="--", color=colour, alpha=0.7,
                        label=f"{name}: baseline")
            if s:
                ax.hist(s, bins=bins, alpha=0.45, color=colour, label=name)
                ordered = sorted(s)
                for q, style in ((0.5, ":"), (0.95, "-")):
                    v = ordered[min(len(ordered) - 1, int(q * (len(ordered) - 1) + 0.5))]
                    ax.axvline(v, color=colour, linestyle=style, linewidth=1)
        ax.set_xscale("log")
        _plain_log_ticks(ax, bins[0], bins[-1])
        ax.legend(frameon=False, fontsize=8)
    ax.set_xlabel("answer latency, ms (dotted: p50, solid: p95)")
    ax.set_ylabel("questions")
    return _svg(fig)


def _plain_log_ticks(ax, lo: float, hi: float) -> None:
    """Ticks at 1, 2, 3, 5 x 10^n written as plain numbers (20, 50, 100), not 2x10^1 crowding each other."""
    from matplotlib.ticker import FixedLocator, NullLocator, StrMethodFormatter

    ticks = [m * 10 ** e for e in range(-1, 7) for m in (1, 2, 3, 5) if lo <= m * 10 ** e <= hi]
    ax.xaxis.set_major_locator(FixedLocator(ticks))
    ax.xaxis.set_minor_locator(NullLocator())
    ax.xaxis.set_major_formatter(StrMethodFormatter("{x:g}"))


def votes_by_day(days: list[str], up: list[int], down: list[int]) -> str:
    """👍 and 👎 per day, stacked."""
    fig, ax = _figure(6.2, 2.8)
    x = list(range(len(days)))
    ax.bar(x, up, color=ANSWERABLE, alpha=0.7, label="up")
    ax.bar(x, down, bottom=up, color=UNANSWERABLE, alpha=0.7, label="down")
    step = max(1, len(days) // 8)
    ax.set_xticks(x[::step])
    ax.set_xticklabels(days[::step], fontsize=8)
    ax.set_ylabel("votes")
    ax.legend(frameon=False, fontsize=8)
    return _svg(fig)
