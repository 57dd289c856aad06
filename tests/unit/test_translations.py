"""`cchcc check` and `cchcc translations`: every language keeps up with the English words.

The English messages are found by Babel in the code and templates; a language file that lacks
one, or whose placeholders differ, is a problem naming the file and the message.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from cchcc import cli
from cchcc.project import Project
from cchcc.site import translations
from hub import form, i18n
from tests.conftest import PROJECT, ROOT

IGNORE = shutil.ignore_patterns("__pycache__", "*.pyc")


@pytest.fixture
def copy(tmp_path) -> Project:
    """The parts of the project that hold marked words and the language files."""
    for folder in ("functions", "cchcc/site", "site/overrides"):
        shutil.copytree(ROOT / folder, tmp_path / folder, ignore=IGNORE)
    for name in ("mkdocs.yml", "programme.yml"):
        shutil.copy2(ROOT / name, tmp_path / name)
    yield Project.at(tmp_path)
    i18n.reload()


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def test_the_english_messages_are_found_in_the_field_table_the_templates_and_the_theme():
    found = {m.id for m in translations.english(PROJECT) if m.id}
    for field in form.FIELDS:
        assert field.label in found and all(m in found for m in field.messages.values())
    assert "Send my details" in found  # functions/hub/templates/form.html
    assert "No smartphone? Call %(phone)s" in found  # page_base.html and site/overrides/main.html
    assert "Scan the code, then choose %(language)s at the top of the page." in found  # the poster strapline
    assert "It takes about 2 minutes. It is free. A local partner will contact you within %(days)s working days." in found


def test_the_shipped_languages_have_every_message_with_its_placeholders():
    assert translations.problems(PROJECT) == []


def test_a_language_missing_a_message_english_has_fails_check_naming_file_and_message(copy, capsys):
    po = copy.root / "functions" / "hub" / "translations" / "pl.po"
    _edit(po, 'msgstr "Wyślij moje dane"', 'msgstr ""')
    problems = [str(p) for p in translations.problems(copy)]
    assert any(p.startswith('functions/hub/translations/pl.po: "Send my details" (line ') and "missing" in p for p in problems), problems
    assert cli.main(["--project", str(copy.root), "check"]) == 1
    assert '"Send my details"' in capsys.readouterr().err


def test_a_new_english_message_is_missing_everywhere_until_update_adds_it_for_the_translators(copy, capsys):
    _edit(copy.root / "functions" / "hub" / "templates" / "form.html",
          '{{ _("Send my details") }}', '{{ _("Send my details") }} {{ _("It is free") }}')
    missing = [p for p in translations.problems(copy) if p.field == '"It is free"']
    assert {p.file for p in missing} == {f"functions/hub/translations/{c}.po" for c in ("pl", "ro", "ur")}
    assert cli.main(["--project", str(copy.root), "translations", "update"]) == 0
    with (copy.root / "functions" / "hub" / "translations" / "ur.po").open("rb") as handle:
        entry = read_po(handle, locale="ur").get("It is free")
    assert entry is not None and entry.string == ""  # there for the translator, still missing for check
    assert any(p.field == '"It is free"' for p in translations.problems(copy))


def test_a_translation_with_different_placeholders_fails_check(copy):
    po = copy.root / "functions" / "hub" / "translations" / "ro.po"
    _edit(po, "în cel mult %(days)s zile lucrătoare.", "în cel mult %(zile)s zile lucrătoare.")
    problems = [str(p) for p in translations.problems(copy)]
    assert any("ro.po" in p and "%(days)s working days" in p and "does not fit the English" in p for p in problems), problems


def test_a_new_language_starts_with_every_english_message_to_translate(copy, capsys):
    assert cli.main(["--project", str(copy.root), "translations", "new", "ar"]) == 0
    path = copy.root / "functions" / "hub" / "translations" / "ar.po"
    with path.open("rb") as handle:
        catalog = read_po(handle, locale="ar")
    english = {m.id for m in translations.english(copy) if m.id}
    assert {m.id for m in catalog if m.id} == english and not any(m.string for m in catalog if m.id)
    assert "How to translate" in path.read_text(encoding="utf-8")
    assert cli.main(["--project", str(copy.root), "translations", "new", "ar"]) == 1  # never overwritten
    assert cli.main(["--project", str(copy.root), "translations", "new", "qq"]) == 1
