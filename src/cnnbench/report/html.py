"""One self-contained HTML page: inline styles, inline SVG figures, no script, no network.

Every text that reaches the page (titles, cells, captions, notes: they hold model paths,
target names and options the user typed) goes through :func:`html.escape`; figures are SVG
written by matplotlib, whose XML writer escapes their text. A Content-Security-Policy forbids
scripts and every fetch, so the page cannot reach the network even if a string slipped through.
"""

from __future__ import annotations

from html import escape

from cnnbench.report.doc import FigureItem, Report, Section, Table

FOLD_ROWS = 20
WRAP_CHARS = 24
CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"

CSS = """
body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,Helvetica,Arial,sans-serif;
 color:#222;margin:0;background:#fafafa;line-height:1.4}
main{max-width:1180px;margin:0 auto;padding:16px 28px 48px;background:#fff}
h1{font-size:1.6em;margin:.4em 0 .1em}h2{font-size:1.25em;margin:1.6em 0 .4em;
 border-bottom:2px solid #332288;padding-bottom:.15em}
.sub{color:#555;margin:0 0 1em}nav ol{columns:2;margin:.3em 0 1em;padding-left:1.4em}
nav a{color:#0072B2;text-decoration:none}
figure{margin:1em 0 1.4em;padding:8px;border:1px solid #e4e4e4;border-radius:4px}
figure svg{max-width:100%;height:auto;display:block;margin:0 auto}
figcaption{font-size:.88em;color:#333;margin-top:.4em}
.src{display:inline-block;font-size:.78em;font-weight:600;padding:1px 6px;border-radius:8px;
 margin-right:.5em;background:#117733;color:#fff}
.src-simulated{background:#882255}.src-estimated{background:#999933}
.tw{overflow-x:auto;margin:.6em 0 1.2em}
table{border-collapse:collapse;font-size:.82em;min-width:40%}
caption{text-align:left;font-weight:600;padding:.3em 0}
th,td{border-bottom:1px solid #e4e4e4;padding:3px 8px;text-align:left;vertical-align:top;
 white-space:nowrap}td.w{white-space:normal;max-width:520px;min-width:160px;overflow-wrap:anywhere}
th{background:#f0f0f5;position:sticky;top:0}tr:nth-child(even) td{background:#fbfbfd}
.note{font-size:.85em;color:#555}.notes{font-size:.85em;color:#8a4b00}
summary{cursor:pointer;font-weight:600;font-size:.9em;padding:.3em 0}
.empty{color:#777;font-style:italic}footer{color:#777;font-size:.8em;margin-top:2em}
"""


def _cell(text: str) -> str:
    """A cell; short ones never wrap (numbers, ids), long ones (messages, paths) may."""
    return (
        f'<td class="w">{escape(text)}</td>'
        if len(text) > WRAP_CHARS
        else f"<td>{escape(text)}</td>"
    )


def _table(t: Table) -> str:
    head = "".join(f"<th>{escape(c)}</th>" for c in t.columns)
    body = "".join("<tr>" + "".join(_cell(cell) for cell in row) + "</tr>" for row in t.rows)
    if not t.rows:
        body = f'<tr><td colspan="{len(t.columns)}" class="empty">none</td></tr>'
    note = f'<p class="note">{escape(t.note)}</p>' if t.note else ""
    table = (
        f'<table id="{escape(t.id)}" data-table="{escape(t.id)}">'
        f"<caption>{escape(t.title)}</caption><thead><tr>{head}</tr></thead>"
        f"<tbody>{body}</tbody></table>"
    )
    if len(t.rows) > FOLD_ROWS:  # long tables fold (no script needed)
        table = (
            f"<details><summary>{escape(t.title)}: {len(t.rows)} rows (click to show)</summary>"
            f"{table}</details>"
        )
    return f'<div class="tw">{table}{note}</div>'


def _figure(f: FigureItem) -> str:
    return (
        f'<figure id="{escape(f.id)}" data-figure="{escape(f.id)}" '
        f'data-source="{escape(f.source)}">{f.svg}'
        f'<figcaption><span class="src src-{escape(f.source)}">{escape(f.source)}</span>'
        f"<strong>{escape(f.title)}</strong>. {escape(f.caption)}</figcaption></figure>"
    )


def _section(s: Section) -> str:
    parts = [f'<section id="sec-{escape(s.id)}" data-section="{escape(s.id)}">']
    parts.append(f"<h2>{escape(s.title)}</h2>")
    if s.intro:
        parts.append(f"<p>{escape(s.intro)}</p>")
    if s.notes:
        items = "".join(f"<li>{escape(n)}</li>" for n in s.notes)
        parts.append(f'<ul class="notes">{items}</ul>')
    parts += [_figure(f) for f in s.figures]
    parts += [_table(t) for t in s.tables]
    parts.append("</section>")
    return "\n".join(parts)


def render_html(report: Report) -> str:
    toc = "".join(
        f'<li><a href="#sec-{escape(s.id)}">{escape(s.title)}</a></li>' for s in report.sections
    )
    built = f" in {report.build_s:.1f} s" if report.build_s is not None else ""
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">'
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        f"<title>{escape(report.title)}</title><style>{CSS}</style></head>\n"
        f"<body><main><h1>{escape(report.title)}</h1>"
        f'<p class="sub">{escape(report.subtitle)}</p>'
        f"<nav><ol>{toc}</ol></nav>\n"
        + "\n".join(_section(s) for s in report.sections)
        + f"\n<footer>Generated by cnnbench on {escape(report.generated)}{escape(built)}. "
        "Figures are measured unless their label says simulated or estimated; error bars are "
        "CI95.</footer></main></body></html>\n"
    )
