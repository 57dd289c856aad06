"""The site's languages: English and one gettext catalogue per community language.

Each language is one file, ``functions/hub/translations/<code>.po`` (gettext PO, read with
Babel), that a translator edits with any text editor or PO tool: the English words are the
``msgid`` lines, the translation goes in ``msgstr``. Adding a file adds a language.

- **Draft until reviewed.** A language is a *draft* while any of its messages is marked
  ``#, fuzzy`` (how gettext marks "not checked yet") or left empty. A fluent speaker removes
  the marks as they check each message; pages in a draft language show a one-line notice in
  that language and in English.
- **Fallback.** A message with no translation shows in English; an unknown language code is
  English (the site's default).
- **Right to left.** The direction and the language's name in itself come from Babel's CLDR
  data. In a right-to-left language, runs of Latin letters and digits in a translation
  (postcodes, phone numbers, email addresses, ``%(placeholders)s``) are wrapped in Unicode
  isolates (U+2066 ... U+2069) so "0113 496 0000" never shows reversed.

``cchcc check`` compares every catalogue with the English messages found in the code and
templates (:mod:`cchcc.site.translations`); ``cchcc translations update`` brings them up to date.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

DEFAULT = "en"
TRANSLATIONS = Path(__file__).parent / "translations"
CODE = re.compile(r"^[a-z]{2,3}$")

# Outside HTML tags: a run of Latin letters, digits and the signs that join them in postcodes,
# phone numbers, email addresses, web addresses and %(name)s placeholders, spaces inside allowed.
_LTR_RUN = re.compile(
    r"(?:%\([a-z_]+\)s|[A-Za-z0-9+@][A-Za-z0-9+@._/:()\-]*)"
    r"(?:[ \u00a0](?:%\([a-z_]+\)s|[A-Za-z0-9+@][A-Za-z0-9+@._/:()\-]*))*"
)
_TAG = re.compile(r"(<[^>]*>)")
LRI, PDI = "\u2066", "\u2069"


def N_(message: str) -> str:
    """Marks English words for translation where they are defined (Babel finds them); returns them as they are."""
    return message


@dataclass(frozen=True)
class Language:
    code: str
    name: str  # in the language itself: "اردو", "Polski"
    english_name: str  # "Urdu"
    direction: str  # "ltr" or "rtl"
    draft: bool  # not yet reviewed by a fluent speaker
    path: Path | None  # the catalogue (None for English)


def isolate_ltr(text: str) -> str:
    """``text`` with each left-to-right run (outside tags) wrapped in Unicode isolates."""

    def wrap(part: str) -> str:
        if part.startswith("<"):
            return part
        return _LTR_RUN.sub(lambda m: f"{LRI}{m.group(0)}{PDI}", part)

    return "".join(wrap(part) for part in _TAG.split(text))


class Translator:
    """One language's messages. ``gettext`` returns English when there is no translation."""

    def __init__(self, language: Language, messages: dict[str, str]):
        self.language = language
        self._messages = messages

    @property
    def code(self) -> str:
        return self.language.code

    @property
    def direction(self) -> str:
        return self.language.direction

    def gettext(self, message: str) -> str:
        translated = self._messages.get(message)
        if not translated:
            return message
        return isolate_ltr(translated) if self.language.direction == "rtl" else translated

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        """The site words its messages without plurals; this is here for Jinja's ``i18n`` extension."""
        return self.gettext(singular if n == 1 else plural)

    def __call__(self, message: str, **values: object) -> str:
        """The translation with ``%(name)s`` placeholders filled (plain text, not HTML)."""
        text = self.gettext(message)
        return text % values if values else text


def _english() -> Language:
    return Language(DEFAULT, "English", "English", "ltr", False, None)


def _read(path: Path) -> tuple[Language, dict[str, str]]:
    from babel import Locale
    from babel.messages.pofile import read_po

    code = path.stem
    with path.open("rb") as handle:
        catalog = read_po(handle, locale=code, abort_invalid=True)
    messages: dict[str, str] = {}
    draft = False
    for message in catalog:
        if not message.id or message.pluralizable:
            continue
        draft = draft or message.fuzzy or not message.string
        if message.string:
            messages[message.id] = message.string
    locale = Locale.parse(code)
    own = locale.get_display_name(code) or code
    language = Language(
        code=code,
        name=own[:1].upper() + own[1:] if locale.character_order == "left-to-right" else own,
        english_name=locale.get_display_name("en") or code,
        direction="rtl" if locale.character_order == "right-to-left" else "ltr",
        draft=draft,
        path=path,
    )
    return language, messages


_lock = threading.Lock()


@lru_cache(maxsize=1)
def _catalogues() -> dict[str, tuple[Language, dict[str, str]]]:
    with _lock:
        found = {DEFAULT: (_english(), {})}
        for path in sorted(TRANSLATIONS.glob("*.po")):
            if CODE.match(path.stem) and path.stem != DEFAULT:
                found[path.stem] = _read(path)
        return found


def codes() -> list[str]:
    """Every language code, English first."""
    return list(_catalogues())


def languages() -> list[Language]:
    return [language for language, _ in _catalogues().values()]


def language(code: object) -> Language:
    """The language for ``code``; English when the code is not one of ours."""
    found = _catalogues().get(code) if isinstance(code, str) else None
    return (found or _catalogues()[DEFAULT])[0]


def is_language(code: object) -> bool:
    return isinstance(code, str) and code in _catalogues()


def translator(code: object) -> Translator:
    """The translator for ``code`` (English for an unknown code, or anything that is not a code)."""
    return _translator(language(code).code)


@lru_cache(maxsize=None)
def _translator(code: str) -> Translator:
    language_, messages = _catalogues()[code]
    return Translator(language_, messages)


def reload() -> None:
    """Forget the catalogues read so far (tests that write a catalogue, ``mkdocs serve``)."""
    _catalogues.cache_clear()
    _translator.cache_clear()


def path_prefix(code: str) -> str:
    """Where a language's pages live: ``""`` for English, ``"ur/"`` for Urdu."""
    return "" if code == DEFAULT else f"{code}/"
