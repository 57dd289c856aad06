"""The programme as the functions load it: compiled once, read at cold start without YAML or pydantic.

``programme.yml`` is validated with pydantic (:mod:`hub.config`) by ``cchcc check``,
``cchcc build`` and ``cchcc deploy``. ``cchcc build`` then writes the validated programme as
JSON (:func:`write_compiled`, ``build/programme.json``) with two hashes: of the
``programme.yml`` it came from, and of the code that validated it. ``functions/Makefile``
copies it into each artifact as ``programme.json``; the local stack writes its own.

At cold start :func:`load_for_function` reads that JSON into :class:`CompiledProgramme`, a
read-only view with the same attributes and methods as :class:`hub.config.Programme`
(the methods live once, in the mixins below), which costs well under a millisecond instead
of importing PyYAML and pydantic and validating. It is used only when both hashes match
the ``programme.yml`` and the code beside it: a stale file (the programme edited since the
build, or new code) is refused, with a warning, and ``programme.yml`` is validated instead,
as it is when there is no compiled file at all (a checkout, the tests). So a compiled file
can make a cold start faster, never make it use old rules.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from hub.config import Programme
    from hub.settings import Settings

log = logging.getLogger(__name__)

FORMAT = 1
# The modules whose code decides what a valid, normalised programme is.
_VALIDATING_CODE = ("config.py", "form.py", "postcodes.py", "problems.py")
_HERE = Path(__file__).resolve().parent


# -- what both the validated model and the compiled view can do (one home for each method) ---------


class InfoMethods:
    """Methods of ``programme:`` (:class:`hub.config.ProgrammeInfo` and its compiled view)."""

    __slots__ = ()  # no annotations here: pydantic would take them for fields

    @property
    def contact_phone_tel(self) -> str:
        """The phone number as a ``tel:`` link wants it: ``+441134960000``."""
        from hub.validation import normalise_phone

        national = normalise_phone(self.contact_phone) or ""
        return "+44" + national[1:]


class ProgrammeMethods:
    """Methods of the programme (:class:`hub.config.Programme` and :class:`CompiledProgramme`)."""

    __slots__ = ()  # uses spokes, triage and programme (no annotations: pydantic would take them for fields)

    def spoke(self, spoke_id: str) -> Any | None:
        return next((s for s in self.spokes if s.id == spoke_id), None)

    def spoke_name(self, spoke_id: str) -> str:
        """A spoke's (or the triage's) name, or the id when it is neither."""
        if spoke_id == self.triage.id:
            return self.triage.name
        spoke = self.spoke(spoke_id)
        return spoke.name if spoke is not None else spoke_id

    @property
    def organisations(self) -> list[str]:
        """Partner organisations, in priority order, each once (for the privacy notice)."""
        seen: list[str] = [self.programme.organisation]
        for spoke in sorted(self.spokes, key=lambda s: s.priority):
            if spoke.organisation not in seen:
                seen.append(spoke.organisation)
        return seen


# -- the compiled view -----------------------------------------------------------------------------


class View:
    """Read-only attributes over compiled data (what the validated model dumped)."""

    __slots__ = ("_data",)

    def __init__(self, data: dict[str, Any]):
        object.__setattr__(self, "_data", data)

    def __getattr__(self, name: str) -> Any:
        try:
            return self._data[name]
        except KeyError:
            raise AttributeError(name) from None

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"{type(self).__name__} is read-only")

    def __eq__(self, other: object) -> bool:
        return isinstance(other, View) and self._data == other._data

    def __hash__(self) -> int:
        return id(self)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({', '.join(sorted(self._data))})"


class CompiledInfo(InfoMethods, View):
    __slots__ = ()


class CompiledProgramme(ProgrammeMethods, View):
    __slots__ = ()


def _view(value: Any, key: str = "") -> Any:
    if isinstance(value, dict):
        data = {k: _view(v, k) for k, v in value.items()}
        return CompiledInfo(data) if key == "programme" else View(data)
    if isinstance(value, list):
        return [_view(v) for v in value]
    return value


def view(data: dict[str, Any]) -> CompiledProgramme:
    """The compiled programme (``Programme.model_dump(mode="json")``) as the functions use it."""
    return CompiledProgramme({k: _view(v, k) for k, v in data.items()})


# -- hashes, compiling, loading --------------------------------------------------------------------


def _sha256(chunks: Iterable[bytes]) -> str:
    digest = hashlib.sha256()
    for chunk in chunks:
        digest.update(hashlib.sha256(chunk).digest())
    return digest.hexdigest()


def code_hash() -> str:
    """The hash of the code that validates a programme (a compiled file from other code is stale)."""
    return _sha256((_HERE / name).read_bytes() for name in _VALIDATING_CODE)


def source_hash(programme_file: str | os.PathLike[str]) -> str:
    return _sha256([Path(programme_file).read_bytes()])


def compiled(programme: Programme, programme_file: str | os.PathLike[str]) -> dict[str, Any]:
    """The compiled form of a programme validated from ``programme_file``."""
    return {
        "format": FORMAT,
        "source_sha256": source_hash(programme_file),
        "code_sha256": code_hash(),
        "programme": programme.model_dump(mode="json"),
    }


def write_compiled(programme: Programme, programme_file: str | os.PathLike[str], path: str | os.PathLike[str]) -> Path:
    """Write the compiled programme atomically (a function never reads half a file)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    partial.write_text(json.dumps(compiled(programme, programme_file), indent=1, sort_keys=True) + "\n", "utf-8")
    partial.replace(path)
    return path


def stale_because(data: Any, programme_file: Path) -> str | None:
    """Why a compiled programme may not be used for ``programme_file`` (None: it may)."""
    if not isinstance(data, dict) or data.get("format") != FORMAT or not isinstance(data.get("programme"), dict):
        return "it is not a compiled programme this code reads"
    if data.get("code_sha256") != code_hash():
        return "it was compiled by other code than this"
    try:
        if data.get("source_sha256") != source_hash(programme_file):
            return f"{programme_file.name} has changed since it was compiled"
    except OSError:
        return f"{programme_file} cannot be read to check it"
    return None


def load_for_function(settings: Settings) -> Programme | CompiledProgramme:
    """The programme for a function's cold start: compiled when it is current, else validated."""
    programme_file = Path(settings.programme_file)
    compiled_file = Path(settings.compiled_programme_file)
    try:
        data = json.loads(compiled_file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        data = None
    except (OSError, ValueError):
        data, reason = None, "it cannot be read"
        log.warning("compiled programme refused", extra={"file": str(compiled_file), "reason": reason})
    if data is not None:
        reason = stale_because(data, programme_file)
        if reason is None:
            return view(data["programme"])
        log.warning(
            "compiled programme refused; validating the programme file instead (run `cchcc build`)",
            extra={"file": str(compiled_file), "reason": reason},
        )
    from hub.config import load_programme

    return load_programme(programme_file)
