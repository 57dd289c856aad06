"""The referral form's fields, choices and messages: one definition for the
HTML template, the server-side validation and the browser-side checks."""

from __future__ import annotations

from hub import postcodes

INTERESTS: list[tuple[str, str]] = [
    ("caring", "Caring for people"),
    ("practical", "Practical work, like portering, cleaning or catering"),
    ("behind-the-scenes", "Behind the scenes, like pharmacy or labs"),
    ("organising", "Organising, like reception and admin"),
    ("science", "Science and health checks"),
    ("not-sure", "I'm not sure yet"),
]

SITUATIONS: list[tuple[str, str]] = [
    ("looking-for-work", "Looking for work"),
    ("working-want-change", "In work and want a change"),
    ("education", "At school, college or in training"),
    ("caring-responsibilities", "Looking after family or someone else"),
    ("other", "Something else"),
]

MAX_LENGTHS = {
    "name": 100,
    "email": 254,
    "phone": 30,
    "postcode": 16,
    "support_needs": 1000,
    "language": 50,
}

MIN_AGE = 16
MAX_AGE = 100

# Every message a visitor can see, keyed by field then by problem.
MESSAGES: dict[str, dict[str, str]] = {
    "name": {
        "required": "Enter your name",
        "too_long": "Your name must be 100 characters or fewer",
    },
    "email": {
        "contact": "Enter an email address or a phone number so we can contact you",
        "invalid": "Enter an email address in the correct format, like name@example.com",
        "too_long": "Your email address must be 254 characters or fewer",
    },
    "phone": {
        "invalid": "Enter a UK phone number, like 07700 900 982 or 0113 496 0000",
        "too_long": "Your phone number must be 30 characters or fewer",
    },
    "postcode": {
        "required": "Enter your postcode",
        "invalid": "Enter a full UK postcode, like LS9 7AB",
    },
    "age": {
        "required": "Enter your age",
        "invalid": "Enter your age as a number, like 19",
        "too_young": (
            "You need to be 16 or over to sign up. Ask a teacher or careers adviser "
            "about health and care jobs, and come back when you are 16"
        ),
        "too_old": "Enter your age as a number between 16 and 100",
    },
    "interests": {
        "invalid": "Choose from the options listed",
    },
    "situation": {
        "invalid": "Choose one of the options listed",
    },
    "support_needs": {
        "too_long": "Tell us in 1000 characters or fewer",
    },
    "language": {
        "too_long": "The language must be 50 characters or fewer",
    },
    "consent": {
        "required": "Tick the box to agree that we can share your details with our partners",
    },
}

# Order fields appear in the form (and so in the error summary).
FIELD_ORDER = [
    "name",
    "email",
    "phone",
    "postcode",
    "age",
    "interests",
    "situation",
    "support_needs",
    "language",
    "consent",
]

# Browser-side checks mirror these patterns (see templates/form.html).
EMAIL_PATTERN = r"^[^\s@]+@[^\s@]+\.[^\s@]+$"
PHONE_ALLOWED = r"^[0-9+()\-\s]+$"


def first_input(field: str) -> str:
    """The id an error summary link points at: the field's first input."""
    if field == "interests":
        return f"interests-{INTERESTS[0][0]}"
    if field == "situation":
        return f"situation-{SITUATIONS[0][0]}"
    return field


def browser_rules() -> dict:
    """What the browser-side checks need, embedded as JSON in the page."""
    return {
        "messages": MESSAGES,
        "maxLengths": MAX_LENGTHS,
        "minAge": MIN_AGE,
        "maxAge": MAX_AGE,
        "emailPattern": EMAIL_PATTERN,
        "postcodePattern": postcodes.BROWSER_PATTERN,
        "phoneAllowed": PHONE_ALLOWED,
        "fieldOrder": FIELD_ORDER,
        "firstInput": {f: first_input(f) for f in FIELD_ORDER},
    }
