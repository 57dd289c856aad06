"""The impact report's files: ``index.html`` (static, no JavaScript, printable on A4),
``report.csv`` and ``report.json``, all from the same published figures.

Charts are SVG drawn by matplotlib at report time: a maintained library that draws
straight to SVG with no browser, network or JavaScript (pygal's SVG needs a script for its
tooltips, Altair needs a Vega renderer). Text stays text (``svg.fonttype: none``, DejaVu
Sans, which ships with matplotlib: nothing is downloaded). Bars are one hue, light to dark
teal, with a hatch per bar and the value written at its end, so they read the same in
greyscale print and with any colour vision. Each chart is an ``<img>`` with a text
alternative inside a ``<figure>`` with its caption, beside the table of the same figures.
"""

from __future__ import annotations

import base64
import csv
import html
import io
import json
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from cchcc.ops.report import COLUMNS, STAGE_LABELS, STAGES
from cchcc.ops.suppression import SUPPRESSED, rate

NOT_FOR_PUBLICATION = (
    "NOT FOR PUBLICATION: true counts for the data controller, small numbers NOT suppressed. "
    "Do not share, print for a meeting or publish."
)
PALETTE = ("#cfe6e2", "#a3d0c9", "#6fb3a9", "#3f968b", "#1f7a70", "#0d5c55", "#073f3a", "#042a27")
HATCHES = ("", "//", "..", "\\\\", "xx", "--", "++", "oo")
SHORT = {**STAGE_LABELS, "offer": "Offer", "multi_spoke": "More than one spoke"}
SECTIONS = (
    ("campaign", "By campaign", "Campaign"),
    ("placement", "By placement", "Placement"),
    ("spoke", "By spoke", "Spoke"),
    ("district", "By postcode district", "District"),
    ("channel", "By channel", "Channel"),
    ("event", "By event", "Event"),
    ("month", "By month of referral", "Month"),
)

CSS = """
:root{--ink:#161b1d;--soft:#3d4548;--teal:#0d5c55;--tint:#e6f2f0;--link:#00548f;--surface:#f4f6f6;--line:#4f5a5e}
*{box-sizing:border-box}
body{margin:0;font-family:system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif;color:var(--ink);line-height:1.5;background:#fff}
.skip{position:absolute;left:-999px}.skip:focus{left:1rem;top:1rem;background:#ffdd00;color:var(--ink);padding:.5rem;z-index:1}
header{background:var(--teal);color:#fff;padding:.75rem 1rem}header p{margin:0;font-weight:700}
main{max-width:64rem;margin:0 auto;padding:1rem}
h1{font-size:1.9rem;margin:.5rem 0}h2{font-size:1.35rem;margin:2rem 0 .5rem;border-top:1px solid var(--line);padding-top:1rem}
a{color:var(--link)}a:focus,.wrap:focus{outline:3px solid #ffdd00;outline-offset:0}
.banner{border:4px solid #b0231b;color:#b0231b;font-weight:700;padding:.75rem 1rem;font-size:1.1rem}
.note{border-left:.4rem solid var(--teal);background:var(--tint);padding:.5rem 1rem}
.pair{display:flex;flex-wrap:wrap;gap:1rem;align-items:flex-start}
figure{margin:0;flex:1 1 26rem;max-width:100%}.stack figure{max-width:42rem;margin-bottom:.5rem}figure img{max-width:100%;height:auto}
figcaption{font-size:.9rem;color:var(--soft)}
.wrap{overflow-x:auto;flex:1 1 20rem;max-width:100%}
table{border-collapse:collapse;font-size:.9rem;margin:.5rem 0}
caption{text-align:left;font-weight:700;padding:.25rem 0}
th,td{border-bottom:1px solid var(--line);padding:.25rem .5rem;text-align:right;vertical-align:top}
th[scope=row],th.l,td.l{text-align:left}thead th{background:var(--surface)}
dl{display:grid;grid-template-columns:max-content 1fr;gap:.25rem 1rem}dt{font-weight:700}dd{margin:0}
@page{size:A4;margin:12mm}
@media print{header{background:none;color:var(--ink);border-bottom:2px solid var(--ink)}main{max-width:none;padding:0}
 .skip{display:none}h2{break-after:avoid}table,figure{break-inside:avoid}.wrap{overflow:visible}
 table{font-size:8pt}th,td{padding:1pt 3pt}a{color:var(--ink);text-decoration:none}}
"""


def shown(value: Any) -> str:
    if value is None:
        return "-"
    return str(value)


# -- charts ---------------------------------------------------------------------------------


def bar_chart(labels: list[str], values: list[Any], *, title: str, horizontal: bool = True) -> str:
    """An SVG bar chart (text as text). ``"*"`` values get no bar and a ``*`` label."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    numbers = [v if isinstance(v, int) else 0 for v in values]
    with matplotlib.rc_context({
        "svg.fonttype": "none", "svg.hashsalt": "cchcc-report", "font.family": "DejaVu Sans", "font.size": 10,
        "hatch.color": "#161b1d", "hatch.linewidth": 0.6, "axes.edgecolor": "#4f5a5e",
    }):
        height = max(2.2, 0.38 * len(labels) + 0.9) if horizontal else 3.2
        fig, ax = plt.subplots(figsize=(6.4, height))
        positions = list(range(len(labels)))
        colours = [PALETTE[min(len(PALETTE) - 1, round(i * (len(PALETTE) - 1) / max(1, len(labels) - 1)))] for i in positions]
        hatches = [HATCHES[i % len(HATCHES)] for i in positions]
        draw = ax.barh if horizontal else ax.bar
        bars = draw(positions, numbers, color=colours, edgecolor="#161b1d", linewidth=0.6)
        for bar, hatch in zip(bars, hatches):
            bar.set_hatch(hatch)
        ax.bar_label(bars, labels=[shown(v) for v in values], padding=3)
        if horizontal:
            ax.set_yticks(positions, labels)
            ax.invert_yaxis()
            ax.set_xlim(0, max([*numbers, 1]) * 1.15)
            ax.xaxis.set_visible(False)
        else:
            ax.set_xticks(positions, labels, rotation=45 if len(labels) > 6 else 0, ha="right" if len(labels) > 6 else "center")
            ax.set_ylim(0, max([*numbers, 1]) * 1.15)
            ax.yaxis.set_visible(False)
        for side in ("top", "right", "left" if not horizontal else "bottom"):
            ax.spines[side].set_visible(False)
        ax.set_title(title, loc="left", fontsize=11)
        fig.tight_layout()
        out = io.StringIO()
        fig.savefig(out, format="svg", metadata={"Date": None, "Creator": None})
        plt.close(fig)
    return out.getvalue()


def _figure(svg: str, alt: str, caption: str) -> str:
    data = base64.b64encode(svg.encode("utf-8")).decode("ascii")
    return (f'<figure><img src="data:image/svg+xml;base64,{data}" alt="{html.escape(alt)}">'
            f"<figcaption>{html.escape(caption)}</figcaption></figure>")


def _alt(labels: list[str], values: list[Any]) -> str:
    return "; ".join(f"{label}: {shown(value)}" for label, value in zip(labels, values))


# -- HTML -------------------------------------------------------------------------------------


def _table(table_id: str, caption: str, head: list[str], rows: list[list[Any]]) -> str:
    e = html.escape
    parts = [f'<div class="wrap" role="region" aria-labelledby="{table_id}" tabindex="0"><table>',
             f'<caption id="{table_id}">{e(caption)}</caption><thead><tr>']
    parts += [f'<th scope="col"{" class=l" if i == 0 else ""}>{e(h)}</th>' for i, h in enumerate(head)]
    parts.append("</tr></thead><tbody>")
    for cells in rows:
        parts.append(f'<tr><th scope="row">{e(shown(cells[0]))}</th>')
        parts += [f'<td{" class=l" if isinstance(c, str) and c not in ("*", "-") and not c.endswith("%") else ""}>{e(shown(c))}</td>' for c in cells[1:]]
        parts.append("</tr>")
    parts.append("</tbody></table></div>")
    return "".join(parts)


def _percent(value: Any) -> str:
    return "-" if value is None else ("*" if value == SUPPRESSED else f"{value}%")


def html_page(data: Mapping[str, Any], *, names: Callable[[str, str], str], programme: str, made_at: str,
              unsuppressed: bool, charts: bool = True) -> str:
    e = html.escape
    period = data["period"]
    funnel = data["funnel"]
    title = f"Impact report, {period['from']} to {period['to']}"
    parts = [
        '<!doctype html><html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1"><meta name="robots" content="noindex">',
        f"<title>{'NOT FOR PUBLICATION - ' if unsuppressed else ''}{e(title)} - {e(programme)}</title>",
        f"<style>{CSS}</style></head><body>",
        '<a class="skip" href="#main">Skip to main content</a>',
        f"<header><p>{e(programme)}</p></header>",
        '<main id="main" tabindex="-1">',
    ]
    if unsuppressed:
        parts.append(f'<p class="banner" role="note">{e(NOT_FOR_PUBLICATION)}</p>')
    parts += [
        f"<h1>{e(title)}</h1>",
        f"<p>People referred from {e(period['from'])} to {e(period['to'])} (inclusive), and what has happened "
        f"to them since, as recorded by {e(made_at)}. Scans, reminders and escalations count by their own day.</p>",
    ]
    for note in data.get("notes", []):
        parts.append(f'<p class="note">{e(note)}</p>')
    if funnel["referred"] == 0:
        parts.append('<p class="note"><strong>No referrals in this period.</strong> Every figure below is 0; '
                     "there are no rates to work out.</p>")
    # funnel
    labels = [SHORT[s] for s in COLUMNS]
    values = [funnel[s] for s in COLUMNS]
    rows = [[SHORT[s], funnel[s], _percent(rate(funnel[s], funnel["referred"])) if s != "referred" else "-"] for s in COLUMNS]
    parts.append('<h2 id="funnel">Funnel</h2><div class="pair">')
    if charts:
        svg = bar_chart(labels, values, title="People at each stage")
        parts.append(_figure(svg, "Bar chart of people at each stage. " + _alt(labels, values),
                             "People at each stage of the funnel (the table beside it has the same figures)."))
    parts.append(_table("funnel-table", "People at each stage", ["Stage", "People", "Of those referred"], rows))
    parts.append("</div>")
    # breakdowns
    for name, heading, label in SECTIONS:
        entries = data.get(f"by_{name}", [])
        parts.append(f'<h2 id="by-{name}">{e(heading)}</h2>')
        if not entries:
            parts.append("<p>Nothing to show for this period.</p>")
            continue
        head = [label]
        extra: list[str] = []
        if name == "placement":
            head += ["Campaign", "Scans", "Referrals", "Referrals per 100 scans"]
            extra = ["campaign", "scans", "referred", "conversion"]
        elif name == "event":
            head += ["Scans"]
            extra = ["scans"]
        columns = [c for c in COLUMNS if not (name == "placement" and c == "referred")]
        head += [SHORT[c] for c in columns]
        rows = []
        for entry in entries:
            cells: list[Any] = [names(name, entry[name])]
            for key in extra:
                if key == "campaign":
                    cells.append(names("campaign", entry["campaign"]) if entry["campaign"] else "-")
                elif key == "conversion":
                    cells.append(_percent(rate(entry["referred"], entry["scans"])))
                else:
                    cells.append(entry[key])
            cells += [entry[c] for c in columns]
            rows.append(cells)
        parts.append('<div class="stack">')
        if charts and name in ("month", "placement", "campaign"):
            chart_labels = [entry[name] if name != "month" else entry["month"] for entry in entries]
            chart_values = [entry["referred"] for entry in entries]
            svg = bar_chart(chart_labels, chart_values, title=f"People referred, {heading.lower()}",
                            horizontal=name != "month")
            parts.append(_figure(svg, f"Bar chart of people referred, {heading.lower()}. " + _alt(chart_labels, chart_values),
                                 f"People referred, {heading.lower()} (the table has every stage)."))
        parts.append(_table(f"by-{name}-table", f"People at each stage, {heading.lower()}", head, rows))
        parts.append("</div>")
    # first contact
    parts.append('<h2 id="first-contact">Time from referral to first contact</h2>')
    parts.append("<p>Calendar days from when a spoke was asked (the referral, or the handover for someone referred on) "
                 "to the first status saying the person was reached (contacted or later, or declined): the median, in whole days.</p>")
    rows = [[names("spoke", f["spoke"]), f["people"], f.get("median_days")] for f in data["first_contact"]]
    parts.append(_table("first-contact-table", "Median days to first contact, by spoke",
                        ["Spoke", "People reached", "Median days"], rows) if rows else "<p>No spoke was asked in this period.</p>")
    # messages
    messages = data["messages"]
    parts.append('<h2 id="messages">Reminders and escalations sent</h2>')
    rows = [["Reminders to spokes", messages["reminder"]["sent"], messages["reminder"]["referrals_listed"]],
            ["Escalations to the hub", messages["escalation"]["sent"], messages["escalation"]["referrals_listed"]]]
    parts.append(_table("messages-table", "Daily digests sent in the period", ["Digest", "Sent", "Referrals listed"], rows))
    parts.append('<h2 id="about">About these figures</h2><ul>')
    about = [
        "A person is counted once in each cell: referrals with the same email address or phone number are one person.",
        "A later stage counts the earlier ones as reached: someone with a conditional offer was engaged and supported, "
        "even if only the offer was recorded. A person who declined was contacted.",
        "A person is counted under the campaign, placement, district, channel, event and month of the referral "
        "their statuses were recorded on; by spoke, only that spoke's own statuses count.",
        "Erased referrals are still counted (their district, campaign and statuses are kept), never named.",
        "Referrals stored before the report's month index existed are counted once `cchcc report --backfill` has been run.",
    ]
    if unsuppressed:
        about.insert(0, "These are true counts: nothing is suppressed or rounded.")
    else:
        about.insert(0, "Small numbers are suppressed: a count from 1 to 7 is shown as *, other counts are rounded to "
                     "the nearest 5 (each total on its own), zero is 0. Where one hidden figure could be worked out from "
                     "a total, another is hidden too. Percentages are worked out from the published figures.")
    parts += [f"<li>{e(a)}</li>" for a in about]
    parts.append("</ul></main></body></html>")
    return "".join(parts)


# -- CSV and JSON -------------------------------------------------------------------------------


def csv_text(data: Mapping[str, Any], *, unsuppressed: bool) -> str:
    out = io.StringIO()
    if unsuppressed:
        out.write(f"# {NOT_FOR_PUBLICATION}\n")
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["section", "group", "campaign", "measure", "value"])
    writer.writerow(["period", "", "", "from", data["period"]["from"]])
    writer.writerow(["period", "", "", "to", data["period"]["to"]])
    for stage, value in data["funnel"].items():
        writer.writerow(["funnel", "", "", stage, value])
    for name, _, _ in SECTIONS:
        for entry in data.get(f"by_{name}", []):
            for measure in ("scans", *COLUMNS):
                if measure in entry:
                    writer.writerow([f"by_{name}", entry[name], entry.get("campaign", ""), measure, entry[measure]])
    for entry in data["first_contact"]:
        for measure in ("people", "median_days"):
            if measure in entry:
                writer.writerow(["first_contact", entry["spoke"], "", measure, entry[measure]])
    for kind, figures in data["messages"].items():
        for measure, value in figures.items():
            writer.writerow(["messages", kind, "", measure, value])
    return out.getvalue()


def json_data(data: Mapping[str, Any], *, unsuppressed: bool) -> dict[str, Any]:
    out = dict(data)
    if unsuppressed:
        out = {"not_for_publication": NOT_FOR_PUBLICATION, **out}
    return out


def write(out_dir: Path, data: Mapping[str, Any], page: str, *, unsuppressed: bool) -> list[Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    files = {
        "index.html": page,
        "report.csv": csv_text(data, unsuppressed=unsuppressed),
        "report.json": json.dumps(json_data(data, unsuppressed=unsuppressed), indent=2) + "\n",
    }
    written = []
    for name, text in files.items():
        path = out_dir / name
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return written


__all__ = ["STAGES", "bar_chart", "csv_text", "html_page", "json_data", "write"]
