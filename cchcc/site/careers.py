"""Careers pages: ``site/docs/careers/<role>.md``, front matter plus Markdown.

The front matter is checked with :class:`CareersPage` (the browser editor's fields come from it,
:mod:`cchcc.site.cms`), and the Markdown's shortcodes (``{{ pay("band-2") }}``) are expanded
as the build would, so a page that would stop the build is reported by ``cchcc check`` first,
as ``file: field (line N): reason`` (:mod:`hub.problems`).
"""

from __future__ import annotations

from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field

from cchcc.project import Project
from hub.problems import Problem, ProblemsError, from_validation_error


class CareersPage(BaseModel):
    """The front matter of a careers page (between the ``---`` lines at its top)."""

    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)

    title: str = Field(
        min_length=1, max_length=80, description="The job's name, as the menu and the campaign pages show it."
    )
    description: str = Field(
        min_length=1, max_length=160,
        description="One sentence about the job for search engines and link previews (160 letters at most).",
    )


def pages(project: Project) -> list[Path]:
    """Every careers page, the section's own index included."""
    folder = project.careers_dir
    return sorted(folder.glob("*.md")) if folder.is_dir() else []


def split(text: str) -> tuple[str | None, str, int]:
    """(front matter or None, Markdown body, line where the body starts)."""
    if not text.startswith("---"):
        return None, text, 1
    end = text.find("\n---", 3)
    if end == -1:
        return None, text, 1
    after = text.find("\n", end + 4)
    body = "" if after == -1 else text[after + 1 :]
    return text[3:end], body, text.count("\n", 0, after) + 2 if after != -1 else 1


def check_page(project: Project, path: Path, expand=None) -> list[Problem]:
    """What is wrong with one careers page; ``expand(markdown, page=...)`` checks its shortcodes."""
    rel = project.relative(path)
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        return [Problem(rel, "(file)", "is not UTF-8 text")]
    meta_text, body, _ = split(text)
    if meta_text is None:
        return [Problem(rel, "(front matter)", "missing; start the page with title: and description: between --- lines")]
    try:
        meta, tree = yaml.safe_load(meta_text), yaml.compose(meta_text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        return [Problem(rel, "(front matter)", f"YAML syntax error: {getattr(exc, 'problem', None) or exc}",
                        mark.line + 2 if mark else None)]
    if not isinstance(meta, dict):
        return [Problem(rel, "(front matter)", "expected keys such as title and description")]
    from pydantic import ValidationError

    problems: list[Problem] = []
    try:
        CareersPage.model_validate(meta)
    except ValidationError as exc:
        # Lines in the front matter count from the line after the opening ---.
        problems += [
            Problem(p.file, p.field, p.reason, p.line + 1 if p.line else None)
            for p in from_validation_error(exc, rel, tree=tree, unknown_key="unknown key (a careers page has title and description)")
        ]
    if not body.strip():
        problems.append(Problem(rel, "(file)", "has no words after the front matter"))
    if expand is not None:
        try:
            expand(body.lstrip("\n"), page=rel)  # as MkDocs hands the page to the hook: lines count the same
        except ValueError as exc:  # cchcc.site.pages.PagesError: "file, line N: ..." already
            problems.append(Problem(rel, "(shortcode)", str(exc).removeprefix(f"{rel}, ")))
    return problems


def check_all(project: Project, expand=None) -> list[Problem]:
    problems: list[Problem] = []
    for path in pages(project):
        problems += check_page(project, path, expand)
    return problems


class CareersError(ProblemsError):
    """One or more careers pages are wrong."""
