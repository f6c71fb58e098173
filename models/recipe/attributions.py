"""Markdown attribution list for the CC BY 3.0 ESC-10 clips (CC0 clips need none), for model cards.

    .venv/bin/python -m models.recipe.attributions > /tmp/esc10-attributions.md
"""

from __future__ import annotations

import os
import re

from .paths import SHARED_DATA_DIR

# README lines look like: - **[1-110389-A.ogg](…)**: clip derived from [title](freesound url) by *author* ([CC-BY](…))
_CLIP_LINE = re.compile(r"^- \*\*\[(?P<clip>[^\]]+)\]\([^)]*\)\*\*:\s+clip derived from \[(?P<title>.*)\]\((?P<url>[^)]*)\) by \*(?P<author>.*)\* \(\[(?P<licence>[^\]]+)\]")


def esc10_cc_by_clips() -> list[dict]:
    with open(os.path.join(SHARED_DATA_DIR, "noise", "esc10", "README.md"), encoding="utf-8") as f:
        rows = [m.groupdict() for m in map(_CLIP_LINE.match, f) if m]
    return [r for r in rows if r["licence"] == "CC-BY"]


def markdown() -> str:
    lines = []
    for r in esc10_cc_by_clips():
        lines.append(f"- {r['clip']}: derived from \"{r['title']}\" by {r['author']} ({r['url']}), CC BY 3.0")
    return "\n".join(lines)


if __name__ == "__main__":
    print(markdown())
