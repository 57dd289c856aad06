"""Checking what a resident submits, field by field from :data:`hub.form.FIELDS`.

:func:`parse_submission` takes the raw answers (form-encoded or JSON, already decoded to
a mapping) and returns a :class:`hub.models.Submission`, or raises
:class:`SubmissionInvalidError` whose ``errors`` maps each field, in form order, to the
message the visitor sees, in the language the page posted as ``lang`` (English when it is
missing or unknown). Messages come only from the field table and its translations, so
nothing typed can appear in them. ``site/docs/assets/cchcc.js`` applies the same checks in the browser from
:func:`hub.form.browser_rules`.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from hub import form, i18n, postcodes

if TYPE_CHECKING:
    from hub.models import Submission

_SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")
_SUBMISSION_ID = re.compile(r"^[A-Za-z0-9_-]{8,64}$")
_EMAIL = re.compile(form.EMAIL_PATTERN)
_PHONE_ALLOWED = re.compile(form.PHONE_ALLOWED)
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")  # C0 and C1, except tab and line breaks
_INVISIBLE = re.compile(form.INVISIBLE)
_SURROGATE = re.compile(r"[\ud800-\udfff]")  # only from JSON escapes; never text anyone typed
_OTHER_BREAKS = re.compile(r"[\u2028\u2029]")  # line and paragraph separators start a line too
_LINE_BREAKS = re.compile(r"\s*[\t\n]+\s*")
_HIDDEN_RULES = {
    "campaign": _SLUG.match,
    "source": _SLUG.match,
    "submission_id": _SUBMISSION_ID.match,
    "lang": i18n.is_language,
    "event": _SLUG.match,
    "channel": form.CHANNELS.__contains__,
}
_HIDDEN_DEFAULTS = {"lang": i18n.DEFAULT, "channel": "web"}


class SubmissionInvalidError(ValueError):
    """The submission has mistakes the visitor can fix. ``errors``: field -> message."""

    def __init__(self, errors: dict[str, str], values: dict[str, Any]):
        self.errors = errors
        self.values = values  # cleaned answers, to show the form again with them kept
        super().__init__(f"invalid fields: {', '.join(errors)}")  # names only, never values


class _Problem(Exception):
    def __init__(self, code: str):
        self.code = code


# -- reading raw values ---------------------------------------------------------------------


def text(raw: Mapping[str, Any], key: str, multiline: bool = False) -> str:
    """One text value: the first of a list, stripped, control characters removed.

    Line breaks become ``\\n`` (browsers send ``\\r\\n``); only multi-line fields keep them and
    tabs, the rest are one line (they end up in email headers).
    """
    value = raw.get(key)
    if isinstance(value, list):
        value = value[0] if value else ""
    if value is None:
        return ""
    if isinstance(value, bool):
        value = "yes" if value else ""
    if isinstance(value, (int, float)):
        value = str(value)
    if not isinstance(value, str):
        return ""
    value = _OTHER_BREAKS.sub("\n", value.replace("\r\n", "\n").replace("\r", "\n"))
    value = _SURROGATE.sub("", _INVISIBLE.sub("", _CONTROL.sub("", value)))
    if not multiline:
        value = _LINE_BREAKS.sub(" ", value)
    return value.strip()


def _values(raw: Mapping[str, Any], key: str) -> list[str] | None:
    """Several values (checkboxes); None when what was sent is not a list of values."""
    value = raw.get(key)
    if value is None or value == "":
        return []
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list):
        return None
    return [str(v).strip() for v in value if str(v).strip()]


def readable(value: str) -> bool:
    """Has at least one letter or digit: combining marks and joiners alone show nothing."""
    return any(unicodedata.category(c)[0] in "LN" for c in value)


def plain(value: str) -> str:
    """Compatibility forms folded (full-width ``ＬＳ９`` -> ``LS9``) and digits of any script as
    0-9 (Arabic-Indic ``٣٠``, Persian ``۳۰`` -> ``30``): for answers whose meaning is clear in
    any script, like an age, a phone number or a postcode."""
    value = unicodedata.normalize("NFKC", value)
    if value.isascii():
        return value
    return "".join(str(unicodedata.decimal(c)) if c.isdecimal() else c for c in value)


def normalise_phone(typed: str) -> str | None:
    """A UK phone number in national form (``07700900982``); None if it is not one."""
    if not _PHONE_ALLOWED.match(typed):
        return None
    digits = re.sub(r"[^0-9+]", "", typed)
    if digits.startswith("+44"):
        digits = "0" + digits[3:].removeprefix("0")
    elif digits.startswith("0044"):
        digits = "0" + digits[4:].removeprefix("0")
    if "+" in digits or not digits.startswith("0") or digits.startswith("00"):  # 00: another country
        return None
    return digits if 10 <= len(digits) <= 11 else None


# -- one check per kind of field: (typed text) -> stored value, or _Problem(code) ------------------


def _email(value: str, f: form.Field) -> str:
    value = plain(value)
    local, _, domain = value.rpartition("@")
    if not _EMAIL.match(value) or ".." in value or domain.startswith(".") or domain.endswith("."):
        raise _Problem("invalid")
    return f"{local}@{domain.lower()}"


def _phone(value: str, f: form.Field) -> str:
    phone = normalise_phone(plain(value))
    if phone is None:
        raise _Problem("invalid")
    return phone


def _postcode(value: str, f: form.Field) -> str:
    try:
        return postcodes.normalise(plain(value))
    except postcodes.PostcodeError:
        raise _Problem("invalid") from None


def _whole_number(value: str, f: form.Field) -> int:
    value = plain(value)
    if not re.fullmatch(r"[0-9]{1,3}", value):
        raise _Problem("invalid")
    number = int(value)
    if f.minimum is not None and number < f.minimum:
        raise _Problem("too_small")
    if f.maximum is not None and number > f.maximum:
        raise _Problem("too_big")
    return number


def _choice(value: str, f: form.Field) -> str:
    if value not in dict(f.choices):
        raise _Problem("invalid")
    return value


def _agree(value: str, f: form.Field) -> bool:
    if value != "yes":
        raise _Problem("required")
    return True


def _as_typed(value: str, f: form.Field) -> str:
    return value


_CHECKS: dict[str, Callable[[str, form.Field], Any]] = {
    "text": _as_typed,
    "long-text": _as_typed,
    "email": _email,
    "tel": _phone,
    "postcode": _postcode,
    "whole-number": _whole_number,
    "choice": _choice,
    "agree": _agree,
}


def _check_choices(raw: Mapping[str, Any], f: form.Field, values: dict[str, Any]) -> list[str]:
    picked = _values(raw, f.name)
    known = dict(f.choices)
    values[f.name] = [v for v in picked or [] if v in known]
    if picked is None or len(picked) > len(known) or any(v not in known for v in picked):
        raise _Problem("invalid")
    return list(dict.fromkeys(picked))


def _check(raw: Mapping[str, Any], f: form.Field, values: dict[str, Any]) -> Any:
    """The stored value of one field (None when left empty); raises _Problem."""
    if f.kind == "choices":
        return _check_choices(raw, f, values)
    typed = text(raw, f.name, multiline=f.multiline)
    if f.kind == "text" and not readable(typed):
        typed = ""  # only marks, joiners or punctuation: nothing a person could read back
    values[f.name] = typed
    if not typed:
        if f.required:
            raise _Problem("required")
        return None
    if f.max_length is not None and len(typed) > f.max_length:
        raise _Problem("invalid" if f.kind == "postcode" else "too_long")
    stored = _CHECKS[f.kind](typed, f)
    if f.kind in ("postcode", "agree"):
        values[f.name] = stored  # shown again as normalised (``LS9 7AB``, ticked)
    elif f.kind == "choice":
        values[f.name] = stored
    return stored


def parse_submission(raw: Mapping[str, Any]) -> Submission:
    """Validate and normalise a submission. Raises SubmissionInvalidError listing every mistake."""
    errors: dict[str, str] = {}
    values: dict[str, Any] = {}
    cleaned: dict[str, Any] = {}
    for name, rule in _HIDDEN_RULES.items():
        value = text(raw, name)
        values[name] = value if rule(value) else _HIDDEN_DEFAULTS.get(name, "")
        cleaned[name] = values[name] or None
    lang = values["lang"]
    for f in form.FIELDS:
        try:
            cleaned[f.name] = _check(raw, f, values)
        except _Problem as problem:
            errors[f.name] = form.message(f, problem.code, lang)
            if f.kind == "choice":
                values[f.name] = ""
            elif f.kind == "agree":
                values[f.name] = False
    if not any(values.get(name) for name in form.CONTACT):
        errors.setdefault(form.CONTACT[0], form.message(form.BY_NAME[form.CONTACT[0]], "contact", lang))
    if errors:
        raise SubmissionInvalidError({name: errors[name] for name in form.FIELD_ORDER if name in errors}, values)
    from hub.models import Submission  # pydantic is loaded by the first submission, not at cold start

    return Submission(**{k: v for k, v in cleaned.items() if v is not None})


def is_honeypot_filled(raw: Mapping[str, Any]) -> bool:
    """Bots fill the hidden ``website`` field; people never see it."""
    return bool(text(raw, form.HONEYPOT))
