"""What the site's generators give MkDocs: one file each (plain Python, so another generator can take them)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Output:
    """One file for the site: ``path`` inside the site, and either text or a file to copy."""

    path: str
    content: str | None = None
    source: Path | None = None
    page: bool = False  # a Markdown page the theme renders
