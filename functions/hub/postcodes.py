"""UK postcodes: parse, validate and normalise by the official format rules.

A postcode is an *outward code* (area + district, e.g. ``LS9``) and an *inward
code* (sector digit + unit, e.g. ``7AB``). The *sector* is the outward code and
the first digit of the inward code (``LS9 7``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# Letters allowed in each position (Royal Mail / BS 7666 rules).
_FIRST = "ABCDEFGHIJKLMNOPRSTUWYZ"  # not Q, V, X
_SECOND = "ABCDEFGHKLMNOPQRSTUVWXY"  # not I, J, Z
_THIRD = "ABCDEFGHJKPSTUW"  # in A9A outward codes
_FOURTH = "ABEHMNPRVWXY"  # in AA9A outward codes
_INWARD = "ABDEFGHJLNPQRSTUWXYZ"  # not C, I, K, M, O, V

_OUTWARD = (
    rf"(?:[{_FIRST}][0-9]{{1,2}}"
    rf"|[{_FIRST}][{_SECOND}][0-9]{{1,2}}"
    rf"|[{_FIRST}][0-9][{_THIRD}]"
    rf"|[{_FIRST}][{_SECOND}][0-9][{_FOURTH}])"
)
_PATTERN = re.compile(rf"^(?P<outward>{_OUTWARD})(?P<inward>[0-9][{_INWARD}]{{2}})$")
_AREA = re.compile(r"^[A-Z]{1,2}")

# The same rule for the browser's checks (JavaScript regex syntax; input compacted and upper-cased).
BROWSER_PATTERN = rf"^(?:GIR0AA|{_OUTWARD}[0-9][{_INWARD}]{{2}})$"


class PostcodeError(ValueError):
    """The text is not a valid UK postcode."""


@dataclass(frozen=True, order=True)
class Postcode:
    outward: str
    inward: str

    @property
    def area(self) -> str:
        """Letters at the start: ``LS`` for ``LS9 7AB``."""
        match = _AREA.match(self.outward)
        assert match is not None  # guaranteed by parse()
        return match.group(0)

    @property
    def district(self) -> str:
        """The outward code: ``LS9``."""
        return self.outward

    @property
    def sector(self) -> str:
        """Outward code and the first digit of the inward code: ``LS9 7``."""
        return f"{self.outward} {self.inward[0]}"

    def __str__(self) -> str:
        return f"{self.outward} {self.inward}"


def parse(text: str) -> Postcode:
    """Parse a postcode typed by a person: any case, with or without spaces."""
    compact = re.sub(r"\s+", "", text or "").upper()
    if compact == "GIR0AA":  # Girobank: the one historic exception to the rules
        return Postcode("GIR", "0AA")
    match = _PATTERN.match(compact)
    if not match:
        raise PostcodeError(f"not a UK postcode: {len(compact)} characters")
    return Postcode(match.group("outward"), match.group("inward"))


def normalise(text: str) -> str:
    """``ls97ab`` -> ``LS9 7AB``."""
    return str(parse(text))


def normalise_sector(text: str) -> str:
    """Normalise a sector written in configuration: ``ls9  7`` -> ``LS9 7``."""
    compact = re.sub(r"\s+", "", text or "").upper()
    match = re.match(rf"^({_OUTWARD})([0-9])$", compact)
    if not match:
        raise PostcodeError(f"not a postcode sector: {text!r} (expected e.g. 'LS9 7')")
    return f"{match.group(1)} {match.group(2)}"


def normalise_district(text: str) -> str:
    """Normalise a district written in configuration: `` ls9 `` -> ``LS9``.

    Spaces are trimmed, not removed: a district has none, so ``LS9 7`` (a
    sector) is refused rather than read as the district ``LS97``.
    """
    compact = (text or "").strip().upper()
    if not re.fullmatch(_OUTWARD, compact):
        raise PostcodeError(f"not a postcode district: {text!r} (expected e.g. 'LS9')")
    return compact


def normalise_area(text: str) -> str:
    compact = (text or "").strip().upper()
    if not re.fullmatch(rf"[{_FIRST}][{_SECOND}]?", compact):
        raise PostcodeError(f"not a postcode area: {text!r} (expected e.g. 'LS')")
    return compact
