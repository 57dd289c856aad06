"""Build core: campaigns in, landing pages, redirects, QR codes, posters and print packs out.

Plain Python. The MkDocs hook (``site/hooks/campaigns.py``) only calls :func:`prepare`,
:func:`generate` and :func:`outputs` and turns each :class:`Output` into a MkDocs file,
so the same core can serve another generator (Zensical) later.

Order of work: the programme configuration and *every* campaign are loaded and checked
first; nothing is generated or written until all of them are valid. QR codes and PDFs
are cached under ``build/cache/print`` by a hash of everything that goes into them, so an
unchanged placement is not regenerated on the next build.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import json
import logging
import os
import shutil
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import yaml
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from cchcc import posters, qr
from cchcc.campaigns import FORMATS, Campaign, CampaignError, Placement, load_all
from hub.config import ConfigError, Programme, default_path, load_programme

log = logging.getLogger("cchcc.publish")

ROOT = Path(__file__).resolve().parent.parent
TEMPLATES = Path(__file__).parent / "templates"
# Bump when the way QR codes or PDFs are made changes in a way the inputs do not show.
GENERATOR_VERSION = "1"
CAMPAIGN_HOOK = "site/hooks/campaigns.py"

# How many QR codes / PDFs / previews were actually generated (not taken from the cache).
stats: Counter[str] = Counter()


class PublishError(Exception):
    """The build cannot go ahead. The message lists ``file: field: reason`` lines."""


class BuildStoppedError(PublishError):
    """MkDocs stopped part-way (a hook, a page or strict mode); the site folder may be incomplete."""


class _Problems(logging.Handler):
    """Keeps what MkDocs reports while it builds, so a stopped build can say why."""

    def __init__(self) -> None:
        super().__init__(level=logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


@dataclass
class Options:
    """Settings for one build; :func:`build` sets them, ``mkdocs build``/``serve`` use the defaults."""

    cache_dir: Path | None = None
    today: dt.date | None = None
    programme_path: Path | None = None


_options = Options()


@dataclass
class PlacementFiles:
    """Cached generated files for one placement."""

    placement: Placement
    campaign: Campaign
    url: str  # what the QR code encodes
    level: str
    qr_mm: float
    folder: Path

    @property
    def svg(self) -> Path:
        return self.folder / "qr.svg"

    @property
    def png(self) -> Path:
        return self.folder / "qr.png"

    @property
    def pdf(self) -> Path:
        return self.folder / "poster.pdf"

    @property
    def preview(self) -> Path:
        return self.folder / "preview.png"


@dataclass
class State:
    root: Path
    site_url: str
    site_name: str
    programme: Programme
    campaigns: list[Campaign]
    today: dt.date
    cache_dir: Path
    files: dict[str, PlacementFiles] = field(default_factory=dict)
    fingerprint: str = ""  # print templates, read once per build


@dataclass(frozen=True)
class Output:
    """One file for the site: ``path`` inside the site, and either text/bytes or a file to copy."""

    path: str
    content: str | bytes | None = None
    source: Path | None = None
    page: bool = False  # a Markdown page the theme renders


# --- preparing ------------------------------------------------------------------------------------


def _programme_file(root: Path, explicit: Path | None) -> Path:
    if explicit is not None:
        return Path(explicit)
    if os.environ.get("CCHCC_PROGRAMME_FILE"):
        return default_path()
    local = root / "programme.yml"
    return local if local.exists() else default_path()


def validate(root: Path, programme_path: Path | None = None) -> tuple[Programme, list[Campaign]]:
    """Load the programme configuration and every campaign; raise PublishError listing every problem."""
    problems: list[str] = []
    programme = None
    try:
        programme = load_programme(_programme_file(root, programme_path))
    except ConfigError as exc:
        problems.append(str(exc))
    campaigns: list[Campaign] = []
    try:
        campaigns = load_all(root)
    except CampaignError as exc:
        problems += exc.problems
    if problems:
        raise PublishError("\n".join(problems))
    assert programme is not None
    return programme, campaigns


def prepare(config) -> State:
    """Check everything the campaign build needs. Called before the site folder is touched."""
    root = Path(config.config_file_path).resolve().parent
    site_url = config.site_url
    if not site_url or urlsplit(site_url).scheme not in ("http", "https"):
        raise PublishError(
            f"{config.config_file_path}: site_url: is needed for QR codes and must start with https:// "
            "(or http:// for local previews)"
        )
    if not site_url.endswith("/"):
        site_url += "/"
    programme, campaigns = validate(root, _options.programme_path)
    cache = _options.cache_dir or Path(os.environ.get("CCHCC_CACHE_DIR") or root / "build" / "cache")
    return State(
        root=root,
        site_url=site_url,
        site_name=config.site_name,
        programme=programme,
        campaigns=campaigns,
        today=_options.today or dt.date.today(),
        cache_dir=Path(cache),
    )


# --- generating (cached) ----------------------------------------------------------------------------


@functools.lru_cache(maxsize=1)
def _versions() -> str:
    from importlib.metadata import version

    return f"qrcode {version('qrcode')}, weasyprint {version('weasyprint')}"


def _cache_key(state: State, campaign: Campaign, placement: Placement, url: str, level: str) -> str:
    payload = {
        "generator": GENERATOR_VERSION,
        "versions": _versions(),
        "url": url,
        "level": level,
        "templates": state.fingerprint,
        "site_name": state.site_name,
        "partners": state.programme.organisations,
        "campaign": {"headline": campaign.data.headline, "summary": campaign.data.summary},
        "placement": placement.model_dump(mode="json"),
    }
    raw = json.dumps(payload, sort_keys=True).encode("utf-8")
    return hashlib.sha256(raw).hexdigest()[:20]


def generate(state: State) -> dict[str, PlacementFiles]:
    """Make (or reuse from the cache) the QR codes, PDF and preview for every placement.

    Placements not in the cache are made in parallel across processes (see :func:`_make_all`);
    each is still written to a temporary folder and renamed into place, so the cache only ever
    holds complete entries. What was made is added to :data:`stats` here, in this process.
    """
    base = state.cache_dir / "print"
    base.mkdir(parents=True, exist_ok=True)
    state.fingerprint = hashlib.sha256(posters.template_fingerprint().encode("utf-8")).hexdigest()
    entries = {p.name for p in base.iterdir()}
    todo: list[_Job] = []
    kept: dict[str, str] = {}  # placement id: its cache folder's name
    for campaign in state.campaigns:
        for placement in campaign.placements:
            url = qr.short_url(state.site_url, placement.id)
            level = qr.level_for(placement.outdoor)
            key = _cache_key(state, campaign, placement, url, level)
            folder = base / f"{placement.id}-{key}"
            files = PlacementFiles(placement, campaign, url, level, placement.qr_mm, folder)
            if not (folder / "done").exists():
                todo.append(_Job(placement, campaign, url, level, str(folder),
                                 tuple(state.programme.organisations), state.site_name))
            state.files[placement.id] = files
            kept[placement.id] = folder.name
    _make_all(todo)
    for placement_id, keep in kept.items():  # only once the new entries are made
        for name in entries:
            rest = name[len(placement_id) + 1 :]
            if name.startswith(placement_id + "-") and name != keep and rest.isalnum() and len(rest) == 20:
                shutil.rmtree(base / name, ignore_errors=True)
    return state.files


@dataclass(frozen=True)
class _Job:
    """What one placement's files are made from: plain, picklable data (not the State) for a worker."""

    placement: Placement
    campaign: Campaign
    url: str
    level: str
    folder: str
    partners: tuple[str, ...]
    site_name: str


def _workers(jobs: int) -> int:
    """Processes to use: one per CPU, no more than there are placements to make; 1 means in-process."""
    return max(1, min(os.cpu_count() or 1, jobs))


def _pool_context():
    """'fork' on Linux: workers start in milliseconds with everything already imported, and nothing
    depends on ``__main__`` being importable or guarded (``mkdocs serve``, scripts, tests). Elsewhere
    (macOS, where fork is unsafe, and Windows) 'spawn', which works because :func:`_generate_one` is a
    top-level function taking a picklable :class:`_Job`."""
    import multiprocessing

    return multiprocessing.get_context("fork" if sys.platform.startswith("linux") else "spawn")


def _failed(job: _Job, reason: str) -> PublishError:
    return PublishError(f"print/{job.placement.id}: could not make the QR code and poster: {reason}")


def _make_all(todo: list[_Job]) -> None:
    """Make every job's files, in this process or in a process pool; the first failure stops the build."""
    workers = _workers(len(todo))
    if workers == 1:  # nothing to share out: skip the pool's start-up cost
        for job in todo:
            try:
                made = _generate_one(job)
            except Exception as exc:
                raise _failed(job, f"{type(exc).__name__}: {exc}") from exc
            _made(job, made)
        return
    from concurrent.futures import FIRST_EXCEPTION, ProcessPoolExecutor, wait
    from concurrent.futures.process import BrokenProcessPool

    pool = ProcessPoolExecutor(max_workers=workers, mp_context=_pool_context())
    futures = {}
    try:
        futures = {pool.submit(_generate_in_worker, job): job for job in todo}
        wait(futures, return_when=FIRST_EXCEPTION)
    finally:
        # On a failure (or Ctrl-C), drop the queued placements and wait for the running ones,
        # so no worker process is left behind and no temporary folder is left half-written.
        pool.shutdown(wait=True, cancel_futures=True)
    failures = []
    for future, job in futures.items():  # in campaign order, whatever order they finished in
        if future.cancelled():
            continue
        if future.exception() is None:
            _made(job, future.result())
        else:
            failures.append(future)
    if not failures:
        return
    real = [f for f in failures if not isinstance(f.exception(), BrokenProcessPool)]
    if real:  # the first placement, in campaign order, that raised
        raise _failed(futures[real[0]], str(real[0].exception())) from real[0].exception()
    pending = ", ".join(futures[f].placement.id for f in failures)
    raise PublishError(
        f"print: a worker process stopped unexpectedly while making QR codes and posters "
        f"(not made: {pending}): {failures[0].exception()}"
    ) from failures[0].exception()


def _made(job: _Job, made: dict[str, int]) -> None:
    stats.update(made)
    log.info("generated QR code and poster for %s", job.placement.id)


def _generate_in_worker(job: _Job) -> dict[str, int]:
    """:func:`_generate_one` in a pool worker, re-raising any error as a plain RuntimeError.

    Some library exceptions cannot be pickled back to the parent, which would break the pool
    instead of reporting the placement; the original traceback still travels with it.
    """
    try:
        return _generate_one(job)
    except Exception as exc:
        raise RuntimeError(f"{type(exc).__name__}: {exc}") from exc


def _generate_one(job: _Job) -> dict[str, int]:
    """Make one placement's files; return what was made, for :data:`stats` in the calling process.

    Write into a temporary folder, then rename, so an interrupted build leaves no half entry.
    """
    folder = Path(job.folder)
    made: Counter[str] = Counter()
    tmp = Path(tempfile.mkdtemp(prefix=".tmp-", dir=folder.parent))
    try:
        code = qr.make(job.url, job.level)
        (tmp / "qr.svg").write_bytes(code.svg)
        (tmp / "qr.png").write_bytes(code.png)
        made["qr"] += 1
        html = posters.poster_html(job.campaign, job.placement, code, list(job.partners), job.site_name)
        pdf = posters.render_pdf(html)
        (tmp / "poster.pdf").write_bytes(pdf)
        made["pdf"] += 1
        preview = posters.preview_png(pdf)
        (tmp / "preview.png").write_bytes(preview if preview is not None else code.png)
        made["preview"] += 1
        (tmp / "done").write_text(json.dumps({"url": job.url, "level": job.level}), encoding="utf-8")
        if folder.exists():
            shutil.rmtree(folder)
        tmp.rename(folder)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return dict(made)


# --- site outputs -----------------------------------------------------------------------------------


def _env() -> Environment:
    return Environment(
        loader=FileSystemLoader(str(TEMPLATES)),
        autoescape=select_autoescape(["html"]),
        undefined=StrictUndefined,
    )


def site_path(state: State, path: str) -> str:
    """A root-relative address on this site, respecting a site_url with a sub-path."""
    prefix = urlsplit(state.site_url).path or "/"
    return prefix + path.lstrip("/")


def redirect_target(state: State, campaign: Campaign, placement: Placement) -> str:
    """Where ``/q/<id>/`` sends people: the campaign page, or ``redirect_after_end`` once it has ended."""
    after = campaign.data.redirect_after_end
    if after and campaign.ended(state.today):
        return after if after.startswith("https://") else site_path(state, after)
    return site_path(state, f"campaigns/{campaign.slug}/?s={placement.id}")


def redirect_html(state: State, campaign: Campaign, placement: Placement) -> str:
    target = redirect_target(state, campaign, placement)
    return _env().get_template("redirect.html").render(
        target=target, site_name=state.site_name
    )


def _front_matter(meta: dict) -> str:
    return "---\n" + yaml.safe_dump(meta, sort_keys=False, allow_unicode=True) + "---\n\n"


def landing_markdown(state: State, campaign: Campaign) -> str:
    data = campaign.data
    meta = {
        "template": "campaign.html",
        "title": data.title,
        "description": data.summary,
        "hide": ["navigation", "toc", "path"],
        "campaign": {
            "slug": campaign.slug,
            "headline": data.headline,
            "summary": data.summary,
            "area": data.area,
            "ended": campaign.ended(state.today),
            "ends": data.ends.strftime("%-d %B %Y"),
            "contact_days": state.programme.programme.contact_within_working_days,
            "roles": [{"title": campaign.role_titles[r], "path": f"careers/{r}/"} for r in data.roles],
        },
    }
    # The form comes straight after the headline and one line of copy, so it is within a thumb's
    # scroll on a phone; the longer copy from index.md follows it. The form is the site's
    # shared form shortcode, so it is the same form as everywhere else.
    body = (
        f'{{{{ form(campaign="{campaign.slug}") }}}}\n\n'
        f"## About this campaign\n\n{campaign.body.strip()}\n"
    )
    return _front_matter(meta) + body


def print_pack_markdown(state: State, campaign: Campaign) -> str:
    items = []
    for placement in campaign.placements:
        files = state.files[placement.id]
        paper = FORMATS[placement.format]
        items.append(
            {
                "id": placement.id,
                "name": placement.name,
                "format": placement.format,
                "kind": paper.kind,
                "paper": paper.paper,
                "size": f"{paper.width_mm:g} × {paper.height_mm:g} mm",
                "copies": placement.copies,
                "location": placement.location or "",
                "outdoor": placement.outdoor,
                "viewing_distance_m": placement.viewing_distance_m,
                "qr_cm": round(files.qr_mm / 10, 1),
                "level": files.level,
                "url": files.url,
                "printed_url": qr.printed_url(files.url),
                "target": redirect_target(state, campaign, placement),
            }
        )
    meta = {
        "template": "print-pack.html",
        "title": f"Print pack: {campaign.data.title}",
        "hide": ["navigation", "toc", "path"],
        "search": {"exclude": True},
        "print_pack": {
            "slug": campaign.slug,
            "title": campaign.data.title,
            "area": campaign.data.area,
            "starts": campaign.data.starts.strftime("%-d %B %Y"),
            "ends": campaign.data.ends.strftime("%-d %B %Y"),
            "total_copies": sum(p.copies for p in campaign.placements),
            "placements": items,
        },
    }
    return _front_matter(meta) + (
        f"Everything to print for **{campaign.data.title}**. Each placement has its own QR code, "
        "so we can see which ones work. Put each poster or flyer only where it says.\n"
    )


def outputs(state: State) -> list[Output]:
    """Every file the campaigns add to the site. Call :func:`generate` first."""
    out: list[Output] = []
    for campaign in state.campaigns:
        out.append(Output(f"campaigns/{campaign.slug}/index.md", content=landing_markdown(state, campaign), page=True))
        out.append(
            Output(f"campaigns/{campaign.slug}/print/index.md", content=print_pack_markdown(state, campaign), page=True)
        )
        for placement in campaign.placements:
            files = state.files[placement.id]
            out.append(Output(f"q/{placement.id}/index.html", content=redirect_html(state, campaign, placement)))
            for name, source in (
                ("qr.svg", files.svg),
                ("qr.png", files.png),
                ("poster.pdf", files.pdf),
                ("preview.png", files.preview),
            ):
                out.append(Output(f"print/{placement.id}/{name}", source=source))
    return out


def check_site_paths(state: State, urls: set[str]) -> list[str]:
    """``redirect_after_end`` paths on this site must be pages that exist (``urls`` as MkDocs gives them)."""
    problems = []
    for campaign in state.campaigns:
        after = campaign.data.redirect_after_end
        if after and after.startswith("/"):
            path = after.lstrip("/").split("?")[0].split("#")[0]
            if path not in urls and path.rstrip("/") + "/" not in urls and path + "index.html" not in urls:
                problems.append(
                    f"campaigns/{campaign.slug}/campaign.yml: redirect_after_end: "
                    f"no page at {after} in the site"
                )
    return problems


# --- the whole build --------------------------------------------------------------------------------


@dataclass
class BuildResult:
    site_dir: Path
    campaigns: list[Campaign]
    seconds: float
    generated: dict[str, int]


def load_mkdocs_config(config_file: Path, *, site_dir: Path | None = None, campaigns: bool = True, **overrides):
    from mkdocs.config import load_config

    if site_dir is not None:
        overrides["site_dir"] = str(site_dir)
    cfg = load_config(str(config_file), **overrides)
    if not campaigns:
        hooks = [name for name in cfg.hooks if Path(name).as_posix() != CAMPAIGN_HOOK]
        cfg = load_config(str(config_file), hooks=hooks, **overrides)
    return cfg


def build(
    site_dir: str | os.PathLike[str] | None = None,
    *,
    config_file: str | os.PathLike[str] | None = None,
    cache_dir: str | os.PathLike[str] | None = None,
    today: dt.date | None = None,
    programme_path: str | os.PathLike[str] | None = None,
    site_url: str | None = None,
    campaigns: bool = True,
    quiet: bool = True,
) -> BuildResult:
    """Check everything, then build the whole site (pages and campaigns) with MkDocs.

    Raises PublishError, before anything is written, if the programme configuration or any
    campaign is wrong; or after, if MkDocs itself stops (for example on a broken link).
    """
    from mkdocs.commands.build import build as mkdocs_build
    from mkdocs.exceptions import MkDocsException

    global _options
    config_file = Path(config_file) if config_file else ROOT / "mkdocs.yml"
    root = config_file.resolve().parent
    found_campaigns: list[Campaign] = []
    if campaigns:
        _, found_campaigns = validate(root, Path(programme_path) if programme_path else None)
    previous = _options
    _options = Options(
        cache_dir=Path(cache_dir) if cache_dir else None,
        today=today,
        programme_path=Path(programme_path) if programme_path else None,
    )
    mkdocs_log = logging.getLogger("mkdocs")
    level = mkdocs_log.level
    if quiet:
        mkdocs_log.setLevel(logging.WARNING)
    problems = _Problems()
    mkdocs_log.addHandler(problems)
    before = Counter(stats)
    start = time.perf_counter()
    try:
        overrides = {"site_url": site_url} if site_url else {}
        cfg = load_mkdocs_config(
            config_file, site_dir=Path(site_dir) if site_dir else None, campaigns=campaigns, **overrides
        )
        mkdocs_build(cfg)
    except MkDocsException as exc:
        # MkDocs logs the reasons and then raises a bare "Aborted with a BuildError!".
        raise BuildStoppedError("\n".join(problems.messages) or str(exc)) from exc
    finally:
        _options = previous
        mkdocs_log.setLevel(level)
        mkdocs_log.removeHandler(problems)
    seconds = time.perf_counter() - start
    generated = {k: stats[k] - before.get(k, 0) for k in ("qr", "pdf", "preview")}
    if campaigns:
        write_campaigns_catalogue(Path(cfg.site_dir), found_campaigns)
    return BuildResult(Path(cfg.site_dir), found_campaigns, seconds, generated)


def catalogue_path(site_dir: str | os.PathLike[str]) -> Path:
    """Where ``build`` writes the campaign catalogue: beside the site, not in it (the site is
    uploaded as it is; the catalogue goes into the Lambda artifacts, see functions/Makefile)."""
    return Path(site_dir).parent / "campaigns.json"


def write_campaigns_catalogue(site_dir: str | os.PathLike[str], campaigns: list[Campaign]) -> Path:
    """``campaigns.json`` (titles and placement names by id) for the notifications."""
    from cchcc.campaigns import write_catalogue

    return write_catalogue(campaigns, catalogue_path(site_dir))
