"""The referral form, field by field: the one table everything else reads.

:data:`FIELDS` says, for each answer a resident gives, its kind, its words on the form,
its limits, the messages a visitor can see and the label a spoke reads. From it:

- ``templates/form.html`` draws the form (``render.render_form``);
- :func:`hub.validation.parse_submission` checks and normalises a submission;
- :func:`hub.notifications.build_notification` labels what a spoke receives;
- :func:`browser_rules` gives ``site/docs/assets/cchcc.js`` the same checks and messages;
- :data:`SHAREABLE` is what ``receives:`` in programme.yml may name.

Change a field here and all of them follow. The words are English, marked with ``N_`` so
that Babel finds them for the translation catalogues (:mod:`hub.i18n`); every view above
takes a language and shows them in it.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

from markupsafe import Markup

from hub import i18n, postcodes
from hub.i18n import N_

Kind = Literal["text", "email", "tel", "postcode", "whole-number", "choices", "choice", "long-text", "agree"]

MIN_AGE = 16
MAX_AGE = 100

# Browser and server use these same patterns.
# An address as people and SES write one: RFC 5322 "atext" before the @, host-name labels after
# it. So ``<script>...</script>@example.com``, quotes, spaces and commas are not addresses.
EMAIL_PATTERN = (
    r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+"
    r"@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$"
)
PHONE_ALLOWED = r"^[0-9+()\-\s]+$"
# Characters that change how text reads without being seen: bidirectional controls (U+202E can
# turn "gpj.exe" round), zero-width spaces and joiners that are not part of a script, the BOM.
# Removed from every answer (ZWJ and ZWNJ stay: Persian, Urdu and Indic names need them).
INVISIBLE = r"[\u061c\u200b\u200e\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]"


@dataclass(frozen=True)
class Group:
    """Fields shown together in one fieldset (``legend`` and ``hint`` are the fieldset's)."""

    id: str
    legend: str
    hint: str


@dataclass(frozen=True)
class Field:
    name: str  # the HTML ``name`` and the JSON key
    kind: Kind
    label: str  # on the form (a checkbox's own label for ``agree``)
    messages: dict[str, str]  # problem code -> what the visitor reads
    short_label: str | None = None  # in a spoke's message; None: never sent to a spoke
    hint: str | Markup | None = None
    legend: str | None = None  # fieldsets: checkboxes, radios, ``agree``
    required: bool = False
    max_length: int | None = None
    choices: tuple[tuple[str, str], ...] = ()  # (value, label)
    minimum: int | None = None
    maximum: int | None = None
    group: str | None = None
    autocomplete: str | None = None
    inputmode: str | None = None
    width: str | None = None  # a narrower input: "3", "10", "20" characters
    spellcheck: bool | None = None
    left_to_right: bool = False  # typed left to right in every language (postcodes, numbers, addresses)

    @property
    def first_input(self) -> str:
        """The id an error summary link points at: the field's first input."""
        if self.kind in ("choices", "choice"):
            return f"{self.name}-{self.choices[0][0]}"
        return self.name

    @property
    def multiline(self) -> bool:
        return self.kind == "long-text"

    def choice_label(self, value: str) -> str:
        return dict(self.choices).get(value, value)


GROUPS = {
    "contact": Group(
        "contact",
        legend=N_("How can we contact you?"),
        hint=N_("Give us an email address, a phone number, or both."),
    ),
}

FIELDS: tuple[Field, ...] = (
    Field(
        "name", "text", N_("Your name"), short_label="Name", required=True, max_length=100,
        autocomplete="name", spellcheck=False,
        messages={"required": N_("Enter your name"), "too_long": N_("Your name must be 100 characters or fewer")},
    ),
    Field(
        "email", "email", N_("Email address"), short_label="Email", max_length=254, group="contact",
        autocomplete="email", spellcheck=False, left_to_right=True,
        messages={
            "contact": N_("Enter an email address or a phone number so we can contact you"),
            "invalid": N_("Enter an email address in the correct format, like name@example.com"),
            "too_long": N_("Your email address must be 254 characters or fewer"),
        },
    ),
    Field(
        "phone", "tel", N_("Phone number"), short_label="Phone", max_length=30, group="contact",
        autocomplete="tel", width="20", left_to_right=True,
        messages={
            "invalid": N_("Enter a UK phone number, like 07700 900 982 or 0113 496 0000"),
            "too_long": N_("Your phone number must be 30 characters or fewer"),
        },
    ),
    Field(
        "postcode", "postcode", N_("Postcode"), short_label="Postcode", required=True, max_length=16,
        hint=N_("We use this to find the right team near you. For example, LS9 7AB"),
        autocomplete="postal-code", width="10", spellcheck=False, left_to_right=True,
        messages={"required": N_("Enter your postcode"), "invalid": N_("Enter a full UK postcode, like LS9 7AB")},
    ),
    Field(
        "age", "whole-number", N_("Your age"), short_label="Age", required=True, minimum=MIN_AGE, maximum=MAX_AGE,
        hint=N_("You need to be 16 or over"), inputmode="numeric", width="3", left_to_right=True,
        messages={
            "required": N_("Enter your age"),
            "invalid": N_("Enter your age as a number, like 19"),
            "too_small": N_(
                "You need to be 16 or over to sign up. Ask a teacher or careers adviser "
                "about health and care jobs, and come back when you are 16"
            ),
            "too_big": N_("Enter your age as a number between 16 and 100"),
        },
    ),
    Field(
        "interests", "choices", N_("What kind of work interests you?"), short_label="Interested in",
        hint=N_("Choose all that apply. This is optional."),
        choices=(
            ("caring", N_("Caring for people")),
            ("practical", N_("Practical work, like portering, cleaning or catering")),
            ("behind-the-scenes", N_("Behind the scenes, like pharmacy or labs")),
            ("organising", N_("Organising, like reception and admin")),
            ("science", N_("Science and health checks")),
            ("not-sure", N_("I'm not sure yet")),
        ),
        messages={"invalid": N_("Choose from the options listed")},
    ),
    Field(
        "situation", "choice", N_("What are you doing at the moment? (optional)"), short_label="At the moment",
        choices=(
            ("looking-for-work", N_("Looking for work")),
            ("working-want-change", N_("In work and want a change")),
            ("education", N_("At school, college or in training")),
            ("caring-responsibilities", N_("Looking after family or someone else")),
            ("other", N_("Something else")),
        ),
        messages={"invalid": N_("Choose one of the options listed")},
    ),
    Field(
        "support_needs", "long-text", N_("Is there anything that would help us support you? (optional)"),
        short_label="Support needs", max_length=1000,
        hint=N_("For example, childcare, a disability, or times you cannot talk."),
        messages={"too_long": N_("Tell us in 1000 characters or fewer")},
    ),
    Field(
        "language", "text", N_("Which language would you like us to use? (optional)"), short_label="Preferred language",
        max_length=50, hint=N_("For example, English, Urdu, Polish or Arabic"), autocomplete="language", width="20",
        messages={"too_long": N_("The language must be 50 characters or fewer")},
    ),
    Field(
        "consent", "agree",
        N_("I agree that my details can be shared with a partner who will contact me about jobs and training"),
        legend=N_("Sharing your details"), required=True,
        hint=Markup(N_(
            "We share what you tell us only with the partner who can help you. "
            'Read our <a href="%(privacy_url)s">privacy notice</a>.'
        )),
        messages={"required": N_("Tick the box to agree that we can share your details with our partners")},
    ),
)

BY_NAME: dict[str, Field] = {f.name: f for f in FIELDS}

# Hidden fields the page fills in: a visitor cannot fix them, so a bad value is dropped, never an error.
# ``lang``: the page's language (default English); ``event``: the event page's id; ``channel``:
# ``web``, or ``assisted`` when outreach staff fill the form in with the person (``?assisted=1``).
HIDDEN = ("campaign", "source", "submission_id", "lang", "event", "channel")
CHANNELS = ("web", "assisted")
HONEYPOT = "website"  # bots fill it; people never see it

# What the browser's script says while it sends the form (``cchcc.js``), in the page's language.
BROWSER_TEXT = {
    "error": N_("Error:"),
    "sending": N_("Sending your details…"),
    "sent": N_("Sent. Taking you to your reference…"),
    "failed": N_("Sorry, we could not send your details just now. Your answers are still here. Please try again."),
    "offline": N_("We could not send your details. Check you are connected to the internet. Your answers are still here."),
    "retry": N_("Try again"),
    "assistedSent": N_("Sent. Their reference is %(reference)s. The form is empty again for the next person."),
    "assistedSaved": N_(
        "No connection. These answers are saved on this device only and will be sent when the connection is back."
    ),
    "assistedWaiting": N_("Saved on this device, waiting to send: %(count)s"),
    "assistedFlushed": N_("Saved answers sent. References: %(references)s"),
}

# Derived views, for code that wants one fact at a time.
FIELD_ORDER: list[str] = [f.name for f in FIELDS]
MESSAGES: dict[str, dict[str, str]] = {f.name: dict(f.messages) for f in FIELDS}
MAX_LENGTHS: dict[str, int] = {f.name: f.max_length for f in FIELDS if f.max_length is not None}
SHAREABLE: tuple[str, ...] = tuple(f.name for f in FIELDS if f.short_label is not None)
CONTACT: tuple[str, ...] = tuple(f.name for f in FIELDS if f.group == "contact")


def first_input(name: str) -> str:
    return BY_NAME[name].first_input


def message(field: Field, code: str, lang: str | None = None) -> str:
    """What the visitor reads for a problem ``code`` with ``field``, in their language."""
    return i18n.translator(lang).gettext(field.messages[code])


def browser_rules(lang: str | None = None) -> dict:
    """What ``cchcc.js`` needs to check a form as the server does, embedded as JSON in the page.

    Messages and the script's own words are in ``lang`` (English for an unknown code).
    """
    t = i18n.translator(lang)
    return {
        "fields": [
            {
                "name": f.name,
                "kind": f.kind,
                "required": f.required,
                "maxLength": f.max_length,
                "minimum": f.minimum,
                "maximum": f.maximum,
                "choices": [value for value, _ in f.choices],
                "messages": {code: t.gettext(text) for code, text in f.messages.items()},
                "firstInput": f.first_input,
            }
            for f in FIELDS
        ],
        "contact": list(CONTACT),
        "emailPattern": EMAIL_PATTERN,
        "postcodePattern": postcodes.BROWSER_PATTERN,
        "phoneAllowed": PHONE_ALLOWED,
        "invisible": INVISIBLE,
        "digitZeros": list(digit_zeros()),
        "lang": t.code,
        "text": {key: t.gettext(text) for key, text in BROWSER_TEXT.items()},
    }


@lru_cache(maxsize=1)
def digit_zeros() -> tuple[int, ...]:
    """Code points of every Unicode digit zero (Arabic-Indic ``٠``, Persian ``۰``, Devanagari ...).

    Unicode encodes each script's digits 0-9 as ten consecutive code points, so the browser
    reads any of them as its value from this list alone (Python uses ``unicodedata``).
    Computed when a page is built, never on a function's cold start.
    """
    import unicodedata

    return tuple(cp for cp in range(0x110000) if unicodedata.decimal(chr(cp), None) == 0)
