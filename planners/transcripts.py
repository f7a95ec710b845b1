"""Episode transcripts: JSONL for tools, HTML for people.

An episode's transcript lists, in order, what the planner was told and what it
answered (every query, re-asks included), the feedback it got (verification
problems, parse errors), the plan executed at each step and what the step did.
The HTML page embeds the episode's video when there is one.
"""

from __future__ import annotations

import html
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

_STYLE = """
body { font: 15px/1.45 system-ui, sans-serif; max-width: 980px; margin: 2em auto; color: #222; }
h1 { font-size: 1.4em; } h2 { font-size: 1.1em; margin-top: 1.6em; border-bottom: 1px solid #ddd; }
pre { background: #f6f6f4; padding: .6em .8em; border-radius: 6px; white-space: pre-wrap; }
details { margin: .4em 0; } summary { cursor: pointer; color: #444; }
.reply { background: #eef5ff; } .feedback { background: #fff3e6; } .step { background: #eefaf0; }
.meta { color: #777; font-size: .85em; } video { max-width: 100%; border-radius: 6px; }
table { border-collapse: collapse; } td, th { padding: .2em .6em; border-bottom: 1px solid #eee; }
"""


def write_jsonl(path: Path, entries: Sequence[dict[str, Any]]) -> None:
    """One JSON object per transcript entry."""
    with path.open("w") as fh:
        for entry in entries:
            fh.write(json.dumps(entry, sort_keys=True, default=str) + "\n")


def _pre(text: str, cls: str = "") -> str:
    return f'<pre class="{cls}">{html.escape(text, quote=False)}</pre>'


def render_html(
    title: str,
    entries: Sequence[dict[str, Any]],
    *,
    summary: dict[str, Any] | None = None,
    video: str | None = None,
    note: str = "",
) -> str:
    """The transcript as one self-contained HTML page."""
    parts = [f"<!doctype html><meta charset='utf-8'><title>{html.escape(title)}</title>"]
    parts.append(f"<style>{_STYLE}</style><h1>{html.escape(title)}</h1>")
    if note:
        parts.append(f"<p class='meta'>{html.escape(note)}</p>")
    if summary:
        rows = "".join(
            f"<tr><th>{html.escape(str(k))}</th><td>{html.escape(str(v))}</td></tr>"
            for k, v in summary.items()
        )
        parts.append(f"<table>{rows}</table>")
    if video:
        parts.append(
            f"<p><video controls preload='metadata' src='{html.escape(video)}'></video></p>"
        )
    for entry in entries:
        kind = entry.get("kind", "")
        data = entry.get("data", {})
        if kind == "start":
            parts.append("<h2>Start</h2>" + _pre(str(data.get("text", ""))))
        elif kind == "query":
            who = data.get("agent") or "planner"
            meta = (
                f"query {data.get('index')} · {html.escape(str(who))} · {data.get('purpose')} · "
                f"{data.get('tokens_in')} → {data.get('tokens_out')} tokens"
                + (" · cached" if data.get("cached") else "")
            )
            prompt = "\n\n".join(f"[{m['role']}]\n{m['content']}" for m in data.get("messages", []))
            parts.append(
                f"<details><summary class='meta'>{meta}</summary>{_pre(prompt)}</details>"
                + _pre(str(data.get("reply", "")), "reply")
            )
        elif kind == "step":
            parts.append(
                f"<h2>Step {data.get('step')}</h2>" + _pre(str(data.get("text", "")), "step")
            )
        else:
            parts.append(
                f"<p class='meta'>{html.escape(kind)}</p>"
                + _pre(str(data.get("text", "")), "feedback")
            )
    return "\n".join(parts) + "\n"
