"""The referral form, field by field: the one table everything else reads.

:data:`FIELDS` says, for each answer a resident gives, its kind, its words on the form,
its limits, the messages a visitor can see and the label a spoke reads. From it:

- ``templates/form.html`` draws the form (``render.render_form``);
- :func:`hub.validation.parse_submission` checks and normalises a submission;
- :func:`hub.notifications.build_notification` labels what a spoke receives;
- :func:`browser_rules` gives ``site/docs/assets/cchcc.js`` the same checks and messages;
- :data:`SHAREABLE` is what ``receives:`` in programme.yml may name.

Change a field here and all of them follow.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

from markupsafe import Markup

from hub import postcodes

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
        legend="How can we contact you?",
        hint="Give us an email address, a phone number, or both.",
    ),
}

FIELDS: tuple[Field, ...] = (
    Field(
        "name", "text", "Your name", short_label="Name", required=True, max_length=100,
        autocomplete="name", spellcheck=False,
        messages={"required": "Enter your name", "too_long": "Your name must be 100 characters or fewer"},
    ),
    Field(
        "email", "email", "Email address", short_label="Email", max_length=254, group="contact",
        autocomplete="email", spellcheck=False,
        messages={
            "contact": "Enter an email address or a phone number so we can contact you",
            "invalid": "Enter an email address in the correct format, like name@example.com",
            "too_long": "Your email address must be 254 characters or fewer",
        },
    ),
    Field(
        "phone", "tel", "Phone number", short_label="Phone", max_length=30, group="contact",
        autocomplete="tel", width="20",
        messages={
            "invalid": "Enter a UK phone number, like 07700 900 982 or 0113 496 0000",
            "too_long": "Your phone number must be 30 characters or fewer",
        },
    ),
    Field(
        "postcode", "postcode", "Postcode", short_label="Postcode", required=True, max_length=16,
        hint="We use this to find the right team near you. For example, LS9 7AB",
        autocomplete="postal-code", width="10", spellcheck=False,
        messages={"required": "Enter your postcode", "invalid": "Enter a full UK postcode, like LS9 7AB"},
    ),
    Field(
        "age", "whole-number", "Your age", short_label="Age", required=True, minimum=MIN_AGE, maximum=MAX_AGE,
        hint="You need to be 16 or over", inputmode="numeric", width="3",
        messages={
            "required": "Enter your age",
            "invalid": "Enter your age as a number, like 19",
            "too_small": (
                "You need to be 16 or over to sign up. Ask a teacher or careers adviser "
                "about health and care jobs, and come back when you are 16"
            ),
            "too_big": "Enter your age as a number between 16 and 100",
        },
    ),
    Field(
        "interests", "choices", "What kind of work interests you?", short_label="Interested in",
        hint="Choose all that apply. This is optional.",
        choices=(
            ("caring", "Caring for people"),
            ("practical", "Practical work, like portering, cleaning or catering"),
            ("behind-the-scenes", "Behind the scenes, like pharmacy or labs"),
            ("organising", "Organising, like reception and admin"),
            ("science", "Science and health checks"),
            ("not-sure", "I'm not sure yet"),
        ),
        messages={"invalid": "Choose from the options listed"},
    ),
    Field(
        "situation", "choice", "What are you doing at the moment? (optional)", short_label="At the moment",
        choices=(
            ("looking-for-work", "Looking for work"),
            ("working-want-change", "In work and want a change"),
            ("education", "At school, college or in training"),
            ("caring-responsibilities", "Looking after family or someone else"),
            ("other", "Something else"),
        ),
        messages={"invalid": "Choose one of the options listed"},
    ),
    Field(
        "support_needs", "long-text", "Is there anything that would help us support you? (optional)",
        short_label="Support needs", max_length=1000,
        hint="For example, childcare, a disability, or times you cannot talk.",
        messages={"too_long": "Tell us in 1000 characters or fewer"},
    ),
    Field(
        "language", "text", "Which language would you like us to use? (optional)", short_label="Preferred language",
        max_length=50, hint="For example, English, Urdu, Polish or Arabic", autocomplete="language", width="20",
        messages={"too_long": "The language must be 50 characters or fewer"},
    ),
    Field(
        "consent", "agree",
        "I agree that my details can be shared with a partner who will contact me about jobs and training",
        legend="Sharing your details", required=True,
        hint=Markup(
            'We share what you tell us only with the partner who can help you. '
            'Read our <a href="/privacy/">privacy notice</a>.'
        ),
        messages={"required": "Tick the box to agree that we can share your details with our partners"},
    ),
)

BY_NAME: dict[str, Field] = {f.name: f for f in FIELDS}

# Hidden fields the page fills in: a visitor cannot fix them, so a bad value is dropped, never an error.
HIDDEN = ("campaign", "source", "submission_id")
HONEYPOT = "website"  # bots fill it; people never see it

# Derived views, for code that wants one fact at a time.
FIELD_ORDER: list[str] = [f.name for f in FIELDS]
MESSAGES: dict[str, dict[str, str]] = {f.name: dict(f.messages) for f in FIELDS}
MAX_LENGTHS: dict[str, int] = {f.name: f.max_length for f in FIELDS if f.max_length is not None}
SHAREABLE: tuple[str, ...] = tuple(f.name for f in FIELDS if f.short_label is not None)
CONTACT: tuple[str, ...] = tuple(f.name for f in FIELDS if f.group == "contact")


def first_input(name: str) -> str:
    return BY_NAME[name].first_input


def browser_rules() -> dict:
    """What ``cchcc.js`` needs to check a form as the server does, embedded as JSON in the page."""
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
                "messages": f.messages,
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
