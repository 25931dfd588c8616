"""One self-contained HTML page: the report's sections, its CSS, its small script and its data inline,
so the file opens from a disk, a mail attachment or a CI artifact on a machine with no network.

The question table's rows travel as JSON in `<script type="application/json">` and are drawn by
report_assets/page.js; everything else is rendered here, escaped.
"""
from __future__ import annotations

import html
import json
from dataclasses import dataclass, field
from importlib import resources

MAX_BYTES = 10_000_000  # the page stays under this; rows' long texts are cut to fit (answers.jsonl keeps them)


def esc(value) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def asset(name: str) -> str:
    return resources.files(__package__).joinpath("report_assets", name).read_text(encoding="utf-8")


@dataclass(frozen=True)
class Card:
    """One large number: its label, its value shown, and the change against a baseline."""

    label: str
    value: str
    delta: str = ""
    direction: str = ""  # "up" (better), "down" (worse), "same"
    hint: str = ""


@dataclass
class Table:
    """The data of the question table: columns, filters (key, label, ordered values), rows."""

    columns: list[dict]
    filters: list[dict]
    rows: list[dict] = field(default_factory=list)
    defaults: dict = field(default_factory=dict)

    def json(self) -> str:
        payload = {"columns": self.columns, "filters": self.filters, "rows": self.rows, "defaults": self.defaults}
        # "<" escaped: no "</script>" or "<!--" inside the data can end the element early.
        return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).replace("<", "\\u003c")


def cards(items: list[Card], small: bool = False) -> str:
    out = [f'<div class="cards{" small" if small else ""}">']
    for c in items:
        delta = f'<div class="d {esc(c.direction)}">{esc(c.delta)}</div>' if c.delta else ""
        title = f' title="{esc(c.hint)}"' if c.hint else ""
        out.append(f'<div class="card"{title}><div class="v">{esc(c.value)}</div>'
                   f'<div class="l">{esc(c.label)}</div>{delta}</div>')
    out.append("</div>")
    return "".join(out)


def figure(svg: str, caption: str) -> str:
    return f"<figure>{svg}<figcaption>{esc(caption)}</figcaption></figure>"


def table(head: list[str], rows: list[list], numeric_from: int = 1) -> str:
    """A plain HTML table; cells from column `numeric_from` on are right-aligned numbers."""
    def cls(i: int) -> str:
        return ' class="n"' if i >= numeric_from else ""

    out = ['<div class="scroll"><table><thead><tr>']
    out += [f"<th{cls(i)}>{esc(h)}</th>" for i, h in enumerate(head)]
    out.append("</tr></thead><tbody>")
    for row in rows:
        out.append("<tr>" + "".join(f"<td{cls(i)}>{esc(v)}</td>" for i, v in enumerate(row)) + "</tr>")
    out.append("</tbody></table></div>")
    return "".join(out)


def question_section(data: Table, title: str = "Questions", intro: str = "") -> str:
    boxes = "".join(f'<span id="filter-{esc(f["key"])}"></span>' for f in data.filters)
    head = "".join(f'<th class="{esc(c.get("cls", ""))}">{esc(c["label"])}</th>' for c in data.columns)
    return (f'<section id="questions"><h2>{esc(title)}</h2>'
            + (f'<p class="meta">{esc(intro)}</p>' if intro else "")
            + f'<div class="controls">{boxes}<input id="search" type="search" placeholder="search the questions" '
            f'aria-label="search the questions"></div><p class="meta" id="count"></p>'
            f'<div class="scroll"><table><thead><tr>{head}</tr></thead><tbody id="rows"></tbody></table></div>'
            f'<p><button id="more" hidden>show all</button></p></section>')


def page(title: str, subtitle: str, body: list[str], data: Table) -> str:
    """The whole document. The Content-Security-Policy forbids every fetch: the page works offline,
    and a link or image slipped into the data can call nowhere."""
    csp = "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:"
    return "".join([
        '<!doctype html><html lang="en"><head><meta charset="utf-8">',
        f'<meta http-equiv="Content-Security-Policy" content="{csp}">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{esc(title)}</title><style>{asset('page.css')}</style></head><body><main>",
        f'<h1>{esc(title)}</h1><p class="meta">{esc(subtitle)}</p>',
        *body,
        f'<script type="application/json" id="data">{data.json()}</script>',
        f"<script>{asset('page.js')}</script></main></body></html>",
    ])
