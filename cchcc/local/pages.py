"""The local stack's own pages: ``/_local/``, every message the hub sent, for a person to read."""

from __future__ import annotations

import html
import re
from typing import Any

_PAGE_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,Arial,sans-serif;margin:0;color:#0b0c0c;background:#fff;line-height:1.5}
main{max-width:60rem;margin:0 auto;padding:1rem}
.note{border-left:.4rem solid #1d70b8;background:#f3f2f1;padding:.5rem 1rem}
article{border:1px solid #505a5f;border-radius:.25rem;padding:.5rem 1rem;margin:1rem 0}
dl{display:grid;grid-template-columns:max-content 1fr;gap:.25rem 1rem;margin:0 0 .5rem}
dt{font-weight:700}dd{margin:0;overflow-wrap:anywhere}
pre{white-space:pre-wrap;overflow-wrap:anywhere;background:#f3f2f1;padding:.5rem;border-radius:.25rem}
a{color:#1d4f91}a:focus{outline:3px solid #fd0;background:#fd0;color:#0b0c0c}
h2{font-size:1.2rem;margin:.5rem 0}
"""


# Outcome links in a message's text, as a spoke would click them in its email.
_OUTCOME_LINK = re.compile(r"https?://[A-Za-z0-9.:-]+/api/outcomes/[A-Za-z0-9._-]+")


def _with_links(escaped_text: str) -> str:
    """Escaped text with its outcome links clickable (the links hold only URL-safe characters)."""
    return _OUTCOME_LINK.sub(lambda m: f'<a href="{m.group(0)}">{m.group(0)}</a>', escaped_text)


def render_page(messages: list[dict[str, Any]], dead_letters: int | None) -> str:
    """The ``/_local/`` page: newest message first. Everything shown is escaped."""
    e = html.escape
    total = len(messages)
    if dead_letters is None:
        dlq = "Router dead-letter queue: could not be read."
    else:
        dlq = f"Router dead-letter queue: {dead_letters} message{'s' if dead_letters != 1 else ''} waiting."
        if dead_letters:
            dlq += " Run <code>.venv/bin/cchcc redrive</code> to route them again."
    parts = [
        '<!doctype html><html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>Local outbox ({total}) - CCHCC hub local stack</title>",
        f"<style>{_PAGE_CSS}</style></head><body><main>",
        "<h1>Local outbox</h1>",
        '<p class="note"><strong>Local stack only.</strong> These are the messages the hub sent while '
        "running on this machine: emails accepted by the embedded SES emulation and webhook deliveries "
        "to the local sink. Nothing here left this computer. This page does not exist in production.</p>",
        f"<p>{dlq}</p>",
        f'<p>{total} message{"s" if total != 1 else ""} sent, newest first. '
        '<a href="/_local/">Refresh this page</a> - '
        '<a href="/_local/outbox">the same as JSON</a> - '
        '<a href="/_local/report/">the impact report</a> (after <code>.venv/bin/cchcc demo</code>, say)</p>',
    ]
    if not messages:
        parts.append("<p>No messages yet. Submit a referral form and refresh.</p>")
    for number, message in reversed(list(enumerate(messages, start=1))):
        heading_id = f"message-{number}"
        subject = message.get("subject") or "(no subject)"
        parts.append(f'<article aria-labelledby="{heading_id}">')
        parts.append(f'<h2 id="{heading_id}">{number}. {e(subject)}</h2><dl>')
        rows = [
            ("Sent by", "email (SES)" if message.get("channel") == "email" else "webhook"),
            ("To", ", ".join(message.get("to") or [])),
            ("Kind", message.get("kind") or "-"),
            ("Spoke", message.get("spoke") or "-"),
            ("Reference", message.get("reference") or "-"),
            ("Sent at", message.get("sent_at") or "-"),
        ]
        for label, value in rows:
            parts.append(f"<dt>{e(label)}</dt><dd>{e(str(value))}</dd>")
        parts.append("</dl>")
        if message.get("text"):
            parts.append(f"<pre>{_with_links(e(message['text']))}</pre>")
        if message.get("html"):
            parts.append(
                f'<p><a href="/_local/messages/{number}.html">Open the HTML version of message {number}</a></p>'
            )
        parts.append("</article>")
    parts.append("</main></body></html>")
    return "".join(parts)
