"""``cchcc build``: check everything, then build the whole site with MkDocs.

Order of work: the programme configuration, ``pay.yml`` and *every* campaign are loaded and
checked first (:meth:`SiteContext.load`); nothing is generated or written until all of them
are valid. The checked context then goes to MkDocs inside its config
(``config.extra["cchcc_build"]``), where both hooks (``site/hooks/``) find it with
:func:`context_for`. A plain ``mkdocs build`` or ``mkdocs serve`` has no context in its
config, so the hooks load one for the project that holds ``mkdocs.yml``.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from cchcc.project import Project
from cchcc.site.campaigns import Campaign, CampaignError, catalogue, load_all, out_of_date
from cchcc.site.pay import PayTable, load_pay
from hub.config import ConfigError, Programme, load_programme
from hub.programme import write_compiled
from hub.problems import Problem, ProblemsError

if TYPE_CHECKING:
    from cchcc.site.published import Published

CONTEXT_KEY = "cchcc_build"
CAMPAIGN_HOOK = "site/hooks/campaigns.py"


class PublishError(ProblemsError):
    """The build cannot go ahead; every problem names the file, the field and the reason."""


class BuildStoppedError(Exception):
    """MkDocs stopped part-way (a hook, a page or strict mode); the site folder may be incomplete."""


class _Problems(logging.Handler):
    """Keeps what MkDocs reports while it builds, so a stopped build can say why."""

    def __init__(self) -> None:
        super().__init__(level=logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


@dataclass
class SiteContext:
    """One build's checked inputs, and what the hooks keep while MkDocs runs."""

    project: Project
    programme: Programme
    pay: PayTable
    campaigns: list[Campaign]
    cache_dir: Path
    today: dt.date
    made: Counter[str] = field(default_factory=Counter)  # QR codes, PDFs, previews made (not cached)
    hooks: dict[str, Any] = field(default_factory=dict)  # each hook's own state for this build
    published: Published | None = None  # every QR code id ever published (cchcc.site.published)
    warnings: list[Problem] = field(default_factory=list)  # what a build reports but does not stop for

    @classmethod
    def load(
        cls,
        project: Project,
        *,
        cache_dir: Path | None = None,
        today: dt.date | None = None,
        campaigns: bool = True,
        strict: bool = False,
    ) -> "SiteContext":
        """Check the programme, pay, the careers pages, every campaign and every translation. Raises PublishError listing
        every problem.

        ``strict`` (``cchcc check``) also fails for what a build only warns about: a language missing a
        message English has (the page shows it in English) and an event that is over but still takes
        registrations (the build closes it).
        """
        from cchcc.site import areas, published, translations

        today = today or dt.date.today()
        problems: list[Problem] = []
        programme = pay = registry = None
        try:
            programme = load_programme(project.require_programme())
        except ConfigError as exc:
            problems += exc.problems
        except Exception as exc:  # ProjectError: no programme file
            problems.append(Problem(str(project.programme_file), "(file)", str(exc).split(": ", 1)[-1]))
        try:
            pay = load_pay(project.pay_file, project.relative(project.pay_file))
        except ProblemsError as exc:
            problems += exc.problems
        if programme is not None and pay is not None:
            problems += _careers_problems(project, programme, pay)
        found: list[Campaign] = []
        warnings: list[Problem] = []
        if campaigns:
            try:
                found = load_all(project)
            except CampaignError as exc:
                problems += exc.problems
            try:
                registry = published.load(project)
                problems += published.reuse_problems(project, registry, found)
            except ProblemsError as exc:
                problems += exc.problems
            if programme is not None:
                problems += areas.problems(project, programme, found)
            warnings += out_of_date(project, found, today)
        warnings += translations.problems(project)
        if strict:
            problems, warnings = problems + warnings, []
        if problems:
            raise PublishError(problems)
        assert programme is not None and pay is not None
        return cls(
            project, programme, pay, found, Path(cache_dir or project.cache_dir), today,
            published=registry, warnings=warnings,
        )


def _careers_problems(project: Project, programme: Programme, pay: PayTable) -> list[Problem]:
    """Careers pages: front matter (:class:`cchcc.site.careers.CareersPage`) and shortcodes, as the build reads them."""
    from cchcc.site import careers, pages

    data = pages.SiteData(programme, pay)
    return careers.check_all(project, expand=lambda markdown, page: pages.expand(markdown, data, page=page))


def context_for(config: Any) -> SiteContext:
    """The build's context from the MkDocs config; loaded for the project when MkDocs runs alone."""
    context = config.extra.get(CONTEXT_KEY)
    if context is None:
        project = Project.at(Path(config.config_file_path).resolve().parent)
        context = SiteContext.load(project)
        config.extra[CONTEXT_KEY] = context
    return context


def site_url_of(config: Any) -> str:
    """``site_url`` with a trailing slash; PublishError when QR codes could not use it."""
    site_url = config.site_url
    if not site_url or urlsplit(site_url).scheme not in ("http", "https"):
        raise PublishError([Problem(
            str(config.config_file_path), "site_url",
            "is needed for QR codes and must start with https:// (or http:// for local previews)",
        )])
    return site_url if site_url.endswith("/") else site_url + "/"


# --- the whole build --------------------------------------------------------------------------------


@dataclass
class BuildResult:
    site_dir: Path
    campaigns: list[Campaign]
    seconds: float
    generated: dict[str, int]
    catalogue_file: Path | None
    warnings: list[Problem] = field(default_factory=list)
    published_file: Path | None = None  # written when new QR code ids were published
    site_url: str = ""
    compiled_programme: Path | None = None  # the validated programme for the functions (hub.programme)


def catalogue_path(site_dir: Path) -> Path:
    """Where ``build`` writes the campaign catalogue: beside the site, not in it (the site is
    uploaded as it is; the catalogue goes into the Lambda artifacts, see functions/Makefile)."""
    return Path(site_dir).parent / "campaigns.json"


def load_mkdocs_config(project: Project, *, site_dir: Path | None = None, campaigns: bool = True, **overrides: Any):
    from mkdocs.config import load_config

    if site_dir is not None:
        overrides["site_dir"] = str(site_dir)
    cfg = load_config(str(project.mkdocs_file), **overrides)
    if not campaigns:
        hooks = [name for name in cfg.hooks if Path(name).as_posix() != CAMPAIGN_HOOK]
        cfg = load_config(str(project.mkdocs_file), hooks=hooks, **overrides)
    return cfg


def build(
    project: Project,
    *,
    site_dir: Path | None = None,
    cache_dir: Path | None = None,
    today: dt.date | None = None,
    site_url: str | None = None,
    campaigns: bool = True,
    quiet: bool = True,
) -> BuildResult:
    """Check everything, then build the whole site (pages and campaigns) with MkDocs.

    Raises PublishError, before anything is written, if the programme configuration, pay or
    any campaign is wrong; BuildStoppedError if MkDocs itself stops part-way (a broken link).
    """
    from mkdocs.commands.build import build as mkdocs_build
    from mkdocs.exceptions import MkDocsException

    context = SiteContext.load(project, cache_dir=cache_dir, today=today, campaigns=campaigns)
    site_dir = Path(site_dir or project.site_dir)
    mkdocs_log = logging.getLogger("mkdocs")
    level = mkdocs_log.level
    if quiet:
        mkdocs_log.setLevel(logging.WARNING)
    problems = _Problems()
    mkdocs_log.addHandler(problems)
    start = time.perf_counter()
    try:
        overrides = {"site_url": site_url} if site_url else {}
        cfg = load_mkdocs_config(project, site_dir=site_dir, campaigns=campaigns, **overrides)
        cfg.extra[CONTEXT_KEY] = context
        mkdocs_build(cfg)
    except MkDocsException as exc:
        # MkDocs logs the reasons and then raises a bare "Aborted with a BuildError!".
        raise BuildStoppedError("\n".join(problems.messages) or str(exc)) from exc
    finally:
        mkdocs_log.setLevel(level)
        mkdocs_log.removeHandler(problems)
    seconds = time.perf_counter() - start
    generated = {k: context.made.get(k, 0) for k in ("qr", "pdf", "preview")}
    written = None
    if campaigns:
        from cchcc.site.campaign_pages import CampaignPages, codes

        pages = context.hooks.get("campaigns")  # the campaign hook's (site/hooks/campaigns.py)
        made = codes(pages) if isinstance(pages, CampaignPages) else {}
        written = catalogue(context.campaigns, codes=made).write(catalogue_path(site_dir))
    compiled = write_compiled(context.programme, project.require_programme(), Path(site_dir).parent / "programme.json")
    registry = None
    if campaigns and context.published is not None:
        updated = context.published.updated(context.campaigns)
        registry = updated.path if updated.write_if_changed() else None
    return BuildResult(
        site_dir, context.campaigns, seconds, generated, written, context.warnings, registry, cfg.site_url or "",
        compiled,
    )
