"""One way to say what is wrong with a file: ``file: field (line N): reason``.

Every file people edit (``programme.yml``, ``campaign.yml``, ``pay.yml``, the campaign
catalogue, the functions' environment) is validated with a pydantic model, and every
problem is reported through :func:`from_validation_error`, so the comms team and the data
controller always read the same shape of message. Models give their own reasons
(``ValueError("must be ...")``); a model validator that is about one field names it at
the start of its reason (``"ends: the end date ... is before ..."``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import yaml
    from pydantic import ValidationError

_SUB_FIELD = re.compile(r"^(?P<path>[a-z_]+(?:\[\d+\])?(?:\.[a-z_]+(?:\[\d+\])?)*): (?P<reason>.*)$", re.S)
_PIECE = re.compile(r"^([a-z_]+)(?:\[(\d+)\])?$")


@dataclass(frozen=True)
class Problem:
    """One thing wrong: in which file, which field (or ``(file)``, ``(top level)``), why."""

    file: str
    field: str
    reason: str
    line: int | None = None

    def __str__(self) -> str:
        where = f"{self.field} (line {self.line})" if self.line else self.field
        return f"{self.file}: {where}: {self.reason}"


class ProblemsError(Exception):
    """Something people wrote is wrong. ``problems`` lists every problem found, not just the first."""

    def __init__(self, problems: Iterable[Problem]):
        self.problems = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))

    @property
    def fields(self) -> list[str]:
        return [p.field for p in self.problems]


def field_path(loc: Iterable[str | int]) -> str:
    """``('spokes', 1, 'email')`` -> ``spokes[1].email``."""
    parts: list[str] = []
    for item in loc:
        if isinstance(item, int):
            parts[-1:] = [f"{parts[-1]}[{item}]"] if parts else [f"[{item}]"]
        else:
            parts.append(str(item))
    return ".".join(parts) or "(top level)"


def _split_path(path: str) -> tuple[str | int, ...]:
    loc: list[str | int] = []
    for piece in path.split("."):
        match = _PIECE.match(piece)
        if not match:
            return (path,)
        loc.append(match.group(1))
        if match.group(2) is not None:
            loc.append(int(match.group(2)))
    return tuple(loc)


def line_of(tree: "yaml.Node | None", loc: tuple[str | int, ...]) -> int | None:
    """The line of ``loc`` in a composed YAML tree (the key's line for a mapping entry)."""
    import yaml

    line = tree.start_mark.line + 1 if tree is not None else None
    node = tree
    for part in loc:
        if isinstance(node, yaml.MappingNode) and isinstance(part, str):
            pair = next(((k, v) for k, v in node.value if getattr(k, "value", None) == part), None)
            if pair is None:
                break
            line, node = pair[0].start_mark.line + 1, pair[1]
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            node = node.value[part]
            line = node.start_mark.line + 1
        else:
            break
    return line


def from_validation_error(
    exc: "ValidationError",
    file: str,
    *,
    tree: "yaml.Node | None" = None,
    unknown_key: str = "unknown key (check the spelling)",
    prefix: tuple[str | int, ...] = (),
) -> list[Problem]:
    """pydantic's errors as :class:`Problem`\\ s, with line numbers when ``tree`` is given."""
    problems = []
    for err in exc.errors():
        loc = prefix + tuple(err["loc"])
        kind = err["type"]
        reason = str(err["msg"]).removeprefix("Value error, ")
        if kind == "extra_forbidden":
            reason = unknown_key
        elif kind == "missing":
            reason = "is required but missing"
        elif kind == "literal_error":
            expected = str((err.get("ctx") or {}).get("expected", "")).replace("'", "")
            reason = f"must be {expected}" if expected else reason
        sub = _SUB_FIELD.match(reason)
        if sub:  # a model validator naming one of its fields
            loc, reason = loc + _split_path(sub.group("path")), sub.group("reason")
        if tree is None:
            line = None
        elif kind == "missing":  # a missing key has no line: point at the entry it belongs in
            line = line_of(tree, loc[:-1]) if len(loc) > 1 else None
        else:
            line = line_of(tree, loc)
        problems.append(Problem(file, field_path(loc), reason, line))
    return problems


def read_yaml(path: Path, file: str | None = None) -> tuple[Any, "yaml.Node | None"]:
    """The data in a YAML file and its node tree (for line numbers). Raises ProblemsError."""
    import yaml

    label = file or str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise ProblemsError([Problem(label, "(file)", "file not found")]) from exc
    except UnicodeDecodeError as exc:
        raise ProblemsError([Problem(label, "(file)", "is not UTF-8 text")]) from exc
    except OSError as exc:
        raise ProblemsError([Problem(label, "(file)", f"cannot be read ({exc.strerror or type(exc).__name__})")]) from exc
    try:
        return yaml.safe_load(text), yaml.compose(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "(file)"
        reason = getattr(exc, "problem", None) or str(exc)
        raise ProblemsError([Problem(label, where, f"YAML syntax error: {reason}")]) from exc


def validate_mapping(model: Any, data: Any, file: str, *, tree: Any = None, what: str = "keys", **options: Any) -> Any:
    """``model.model_validate(data)`` for a file whose top level must be a mapping. Raises ProblemsError."""
    from pydantic import ValidationError

    if not isinstance(data, Mapping):
        raise ProblemsError([Problem(file, "(top level)", f"expected {what}")])
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise ProblemsError(from_validation_error(exc, file, tree=tree, **options)) from exc
