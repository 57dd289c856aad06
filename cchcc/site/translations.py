"""Keeping every language's catalogue in step with the English words (Babel).

The English messages are whatever the code and templates mark for translation: ``N_("...")``
and ``_("...")`` in Python, ``_()`` and ``{% trans %}`` in Jinja templates (the form's field
table, the function's pages, the theme, the generated pages). :func:`english` finds them all
with Babel's extractors, so there is no list to keep by hand.

- :func:`problems` (``cchcc check``): for each ``functions/hub/translations/<code>.po``, every
  English message it lacks (no entry, or an empty one), and every translation whose
  ``%(placeholders)s`` differ from the English (Babel's own checks), each as
  ``file: "message" (line N): reason``.
- :func:`update` (``cchcc translations update``): adds new English messages to every catalogue
  (empty, for the translator), marks changed ones fuzzy (Babel's fuzzy matching), and keeps
  retired ones as obsolete entries at the end. :func:`new` starts a catalogue for a language.
"""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path

from cchcc.project import Project
from hub import i18n
from hub.problems import Problem

# Where marked words live, and how Babel reads each kind of file (paths from the project root).
SOURCES = (
    ("functions", [("**.py", "python"), ("**/templates/**.html", "jinja2.ext:babel_extract")]),
    ("cchcc/site", [("**.py", "python"), ("templates/**.html", "jinja2.ext:babel_extract"),
                    ("templates/**.md", "jinja2.ext:babel_extract")]),
    ("site/overrides", [("**.html", "jinja2.ext:babel_extract")]),
)
JINJA_OPTIONS = {"extensions": "jinja2.ext.i18n", "newstyle_gettext": "true", "trimmed": "false"}
PROJECT_NAME = "CCHCC hub"
HEADER = """\
# {name} ({code}) words for the CCHCC hub website: the form, its messages, the thanks page, a short
# privacy summary, campaign pages and the poster strapline.
#
# How to translate: write the {name} under each English msgid, in msgstr. Leave the msgid as it is.
# Keep %(name)s placeholders and <a href="..."> tags exactly as they are (their words may move).
# A message marked "#, fuzzy" is a draft nobody fluent has checked: check it, then delete that line.
# While any message is fuzzy or empty, the pages in {name} show a one-line "draft" notice.
# Check your work with: .venv/bin/cchcc check"""


def english(project: Project):
    """Every English message marked for translation, as a Babel catalogue (with where each is used)."""
    from babel.messages.catalog import Catalog
    from babel.messages.extract import extract_from_dir

    catalog = Catalog(project=PROJECT_NAME, fuzzy=False)
    for folder, method_map in SOURCES:
        base = project.root / folder
        if not base.is_dir():
            continue
        options = {pattern: JINJA_OPTIONS for pattern, method in method_map if method.startswith("jinja2")}
        for filename, lineno, message, comments, context in extract_from_dir(
            str(base), method_map, options_map=options, strip_comment_tags=True
        ):
            if isinstance(message, tuple):  # plural forms are not used on this site
                message = message[0]
            if message:
                catalog.add(message, None, [(f"{folder}/{filename}", lineno)], auto_comments=comments, context=context)
    return catalog


def catalogue_files(project: Project) -> list[Path]:
    folder = project.root / "functions" / "hub" / "translations"
    return sorted(p for p in folder.glob("*.po") if i18n.CODE.match(p.stem))


def _read(path: Path):
    from babel.messages.pofile import read_po

    with path.open("rb") as handle:
        return read_po(handle, locale=path.stem)


def problems(project: Project) -> list[Problem]:
    """What each language's catalogue is missing or gets wrong, against the English messages."""
    from babel.core import UnknownLocaleError

    try:
        source = english(project)
    except Exception as exc:  # a template Babel cannot parse
        return [Problem("(translations)", "(extraction)", f"cannot read the marked messages: {exc}")]
    found: list[Problem] = []
    for path in catalogue_files(project):
        rel = project.relative(path)
        try:
            catalog = _read(path)
        except UnknownLocaleError:
            found.append(Problem(rel, "(file name)", f"'{path.stem}' is not a language code Babel knows (e.g. ur, pl, ro)"))
            continue
        except Exception as exc:  # noqa: BLE001 (a broken PO file is a translator's typo)
            found.append(Problem(rel, "(file)", f"cannot be read as a gettext PO file: {exc}"))
            continue
        for message in source:
            if not message.id:
                continue
            have = catalog.get(message.id, context=message.context)
            if have is None or not have.string:
                found.append(Problem(rel, _quote(message.id), "missing: English has this message, this language does not",
                                     have.lineno if have is not None else None))
        for message, errors in catalog.check():
            for error in errors:
                found.append(Problem(rel, _quote(message.id), f"translation does not fit the English: {error}",
                                     message.lineno))
    return found


def _quote(message: str) -> str:
    text = " ".join(str(message).split())
    return '"' + (text if len(text) <= 60 else text[:57] + "...") + '"'


def _write(path: Path, catalog) -> None:
    from babel.messages.pofile import write_po

    buffer = io.BytesIO()
    write_po(buffer, catalog, width=100, sort_output=False, include_previous=True, omit_header=False,
             include_lineno=False)
    path.write_bytes(buffer.getvalue())


def update(project: Project) -> list[tuple[Path, int, int]]:
    """Bring every catalogue up to date with the English; returns (file, new, obsolete) for each."""
    source = english(project)
    done = []
    for path in catalogue_files(project):
        catalog = _read(path)
        before = {m.id for m in catalog if m.id}
        catalog.update(source, no_fuzzy_matching=False, update_header_comment=False)
        added = sum(1 for m in catalog if m.id and m.id not in before)
        obsolete = len(catalog.obsolete)
        _write(path, catalog)
        done.append((path, added, obsolete))
    i18n.reload()
    return done


def new(project: Project, code: str) -> Path:
    """Start ``functions/hub/translations/<code>.po`` with every English message, untranslated."""
    from babel import Locale
    from babel.messages.catalog import Catalog

    Locale.parse(code)  # UnknownLocaleError for a code Babel does not know
    path = project.root / "functions" / "hub" / "translations" / f"{code}.po"
    if path.exists():
        raise FileExistsError(f"{project.relative(path)} already exists; run 'cchcc translations update'")
    source = english(project)
    catalog = Catalog(
        locale=code, project=PROJECT_NAME, creation_date=dt.datetime.now(dt.UTC), fuzzy=False,
        header_comment=HEADER.format(name=Locale.parse(code).get_display_name("en"), code=code),
        last_translator="(not reviewed yet)", language_team=f"{code}",
    )
    for message in source:
        if message.id:
            catalog.add(message.id, "", message.locations, auto_comments=message.auto_comments,
                        context=message.context)
    path.parent.mkdir(parents=True, exist_ok=True)
    _write(path, catalog)
    i18n.reload()
    return path
