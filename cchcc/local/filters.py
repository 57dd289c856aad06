"""Lambda event filtering, as the local stack applies a stream trigger's ``FilterCriteria``.

The one matcher in the code: the local stack runs it on every stream record before a
function sees it, and the tests run it on records the real handlers wrote. It covers the
rules in AWS's event filtering reference that a template here may use: nested keys,
lists of alternatives (exact values or operators), ``exists``, ``prefix``,
``anything-but`` and ``numeric`` comparisons. An operator it does not know is refused
loudly rather than matched wrongly.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

_NUMERIC = {
    "=": lambda a, b: a == b,
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
}


class FilterError(ValueError):
    """A filter pattern uses something this matcher does not know."""


def _numeric(conditions: list[Any], value: Any) -> bool:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    pairs = zip(conditions[::2], conditions[1::2])
    return all(_NUMERIC[op](value, limit) for op, limit in pairs)


def _alternative(rule: Any, value: Any, present: bool) -> bool:
    """One entry of a list of alternatives against one value."""
    if not isinstance(rule, dict):
        return present and value == rule
    if set(rule) == {"exists"}:
        return present is bool(rule["exists"])
    if set(rule) == {"prefix"}:
        return present and isinstance(value, str) and value.startswith(rule["prefix"])
    if set(rule) == {"anything-but"}:
        excluded = rule["anything-but"]
        excluded = excluded if isinstance(excluded, list) else [excluded]
        return present and value not in excluded
    if set(rule) == {"numeric"}:
        return present and _numeric(rule["numeric"], value)
    raise FilterError(f"unsupported filter rule {sorted(rule)}")


def matches(pattern: Mapping[str, Any], record: Any) -> bool:
    """Whether ``record`` passes one filter pattern."""
    for key, rule in pattern.items():
        present = isinstance(record, Mapping) and key in record
        value = record.get(key) if present else None
        if isinstance(rule, Mapping):
            if not (present and isinstance(value, Mapping) and matches(rule, value)):
                return False
        elif isinstance(rule, list):
            if not any(_alternative(r, value, present) for r in rule):
                return False
        else:
            raise FilterError(f"the rule for {key!r} must be an object or a list")
    return True


def passes(patterns: Iterable[Mapping[str, Any]], record: Any) -> bool:
    """A record passes ``FilterCriteria`` when it matches any pattern (no patterns: everything)."""
    patterns = list(patterns)
    return not patterns or any(matches(p, record) for p in patterns)
