"""The project a command works on: where it lives and which files it reads and writes.

Resolved once, by the command line (:func:`cchcc.cli.main`), and passed down to every
command, to MkDocs (through its config, see :mod:`cchcc.site.build`) and to the local
stack. Nothing else in ``cchcc`` decides which programme file, campaigns folder or build
folder to use, and nothing uses the folder the package happens to be installed from.

The root is found as git and MkDocs find theirs: from the working directory upwards, the
first folder that holds ``mkdocs.yml`` beside ``programme.yml`` or ``campaigns/``.
``cchcc --project DIR`` starts the search from ``DIR`` instead.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

MKDOCS_FILE = "mkdocs.yml"
PROGRAMME_FILE = "programme.yml"
CAMPAIGNS_DIR = "campaigns"


class ProjectError(Exception):
    """No project here, or a file it names does not exist. The message says what to do."""


def _is_root(folder: Path) -> bool:
    return (folder / MKDOCS_FILE).is_file() and (
        (folder / PROGRAMME_FILE).is_file() or (folder / CAMPAIGNS_DIR).is_dir()
    )


def find_root(start: Path | str | None = None) -> Path:
    """The project root at or above ``start`` (default: the working directory)."""
    here = Path(start if start is not None else Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if _is_root(folder):
            return folder
    raise ProjectError(
        f"{here} is not inside a CCHCC project: no folder here or above holds {MKDOCS_FILE} "
        f"with {PROGRAMME_FILE} or {CAMPAIGNS_DIR}/. Run the command in the project folder, "
        "or name it with `cchcc --project DIR ...`"
    )


@dataclass(frozen=True)
class Project:
    """One checkout of the hub: its root and the programme file this run uses."""

    root: Path
    programme_file: Path

    @classmethod
    def find(cls, start: Path | str | None = None, programme: Path | str | None = None) -> "Project":
        """The project at or above ``start``; ``programme`` (relative to the working directory,
        as typed on the command line) replaces the root's ``programme.yml``."""
        root = find_root(start)
        return cls.at(root, programme)

    @classmethod
    def at(cls, root: Path | str, programme: Path | str | None = None) -> "Project":
        """The project whose root is ``root`` (no search)."""
        root = Path(root).resolve()
        file = Path(programme).resolve() if programme is not None else root / PROGRAMME_FILE
        return cls(root=root, programme_file=file)

    # -- sources ---------------------------------------------------------------------------
    @property
    def mkdocs_file(self) -> Path:
        return self.root / MKDOCS_FILE

    @property
    def campaigns_dir(self) -> Path:
        return self.root / CAMPAIGNS_DIR

    @property
    def docs_dir(self) -> Path:
        """Hand-written pages (``docs_dir`` in mkdocs.yml)."""
        return self.root / "site" / "docs"

    @property
    def careers_dir(self) -> Path:
        return self.docs_dir / "careers"

    @property
    def pay_file(self) -> Path:
        return self.root / "site" / "data" / "pay.yml"

    @property
    def template_file(self) -> Path:
        """The AWS SAM template: what is deployed, and what the local stack copies."""
        return self.root / "infra" / "template.yaml"

    @property
    def samconfig_file(self) -> Path:
        return self.root / "samconfig.toml"

    @property
    def functions_dir(self) -> Path:
        return self.root / "functions"

    # -- outputs ---------------------------------------------------------------------------
    @property
    def build_dir(self) -> Path:
        return self.root / "build"

    @property
    def site_dir(self) -> Path:
        """The built site (``site_dir`` in mkdocs.yml): what is uploaded and what ``serve`` shows."""
        return self.build_dir / "site"

    @property
    def cache_dir(self) -> Path:
        """QR codes and posters kept between builds."""
        return self.build_dir / "cache"

    @property
    def catalogue_file(self) -> Path:
        """Campaign and placement names for the functions, written beside the site (not in it)."""
        return self.build_dir / "campaigns.json"

    @property
    def compiled_programme_file(self) -> Path:
        """The programme as `cchcc build` checked it, for the functions' cold start (hub.programme)."""
        return self.build_dir / "programme.json"

    @property
    def local_dir(self) -> Path:
        """What a running ``cchcc serve`` tells other commands about itself."""
        return self.build_dir / "local"

    def relative(self, path: Path | str) -> str:
        """``path`` as the people who work in the project name it: relative to the root."""
        path = Path(path)
        try:
            return path.resolve().relative_to(self.root).as_posix()
        except ValueError:
            return str(path)

    def require_programme(self) -> Path:
        """The programme file, which must exist."""
        if not self.programme_file.is_file():
            raise ProjectError(
                f"{self.programme_file}: file not found (the programme configuration; "
                "pass another with --programme FILE)"
            )
        return self.programme_file


def programme_option(parser) -> None:
    """``--programme FILE`` for the commands that read the programme configuration."""
    parser.add_argument(
        "--programme", type=Path, default=None, metavar="FILE",
        help="programme configuration file (default: programme.yml in the project folder)",
    )
