"""QR codes and print-ready posters for every placement and event, made once and kept in a cache.

Each placement's (or event's) files (``qr.svg``, ``qr.png``, ``poster.pdf``, ``preview.png``) are kept
under ``<cache>/print/<placement>-<hash>`` where the hash covers everything that goes into
them, so an unchanged placement is not made again on the next build. Placements not in
the cache are made in parallel across processes, each written to a temporary folder and
renamed into place, so the cache only ever holds complete entries.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import os
import shutil
import sys
import tempfile
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from cchcc.site import posters, qr
from cchcc.site.campaigns import FORMATS, Campaign, Event, Placement, when

log = logging.getLogger("cchcc.site.printing")

# Bump when the way QR codes or PDFs are made changes in a way the inputs do not show.
GENERATOR_VERSION = "2"


class PrintingError(Exception):
    """A placement's QR code or poster could not be made. The message names the placement."""


@dataclass(frozen=True)
class Batch:
    """What every placement's files are made from, besides the placement itself."""

    site_url: str
    site_name: str
    partners: tuple[str, ...]
    cache_dir: Path
    contact_phone: str = ""  # "No smartphone? Call ..." on every poster


@dataclass
class PlacementFiles:
    """Cached generated files for one placement."""

    placement: Placement | Event
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





@functools.lru_cache(maxsize=1)
def _versions() -> str:
    from importlib.metadata import version

    return f"qrcode {version('qrcode')}, weasyprint {version('weasyprint')}"


def poster_words(batch: Batch, campaign: Campaign, item: Placement | Event, lines: tuple) -> posters.PosterWords:
    """What a placement's or an event's poster says."""
    local = batch.site_url if qr.is_local(batch.site_url) else ""
    common = {"kicker": batch.site_name, "phone": batch.contact_phone, "partners": batch.partners,
              "straplines": lines, "local_url": local}
    if isinstance(item, Event):
        free = "Free. Sign up with the code, or just come along." if item.booking == "register" else "Free. Just come along."
        return posters.PosterWords(
            headline=item.title, summary=campaign.data.summary, free=free,
            details=(when(item), f"{item.venue}, {item.address}, {item.postcode}"), **common,
        )
    return posters.PosterWords(
        headline=campaign.data.headline, summary=campaign.data.summary,
        free="Free help to apply, train and start work", details=(), **common,
    )


def _cache_key(fingerprint: str, item: Placement | Event, words: posters.PosterWords, url: str, level: str) -> str:
    payload = {
        "generator": GENERATOR_VERSION,
        "versions": _versions(),
        "url": url,
        "level": level,
        "templates": fingerprint,
        "words": repr(words),
        "placement": item.model_dump(mode="json"),
    }
    raw = json.dumps(payload, sort_keys=True).encode("utf-8")
    return hashlib.sha256(raw).hexdigest()[:20]


def generate(batch: Batch, campaigns: list[Campaign]) -> tuple[dict[str, PlacementFiles], Counter[str]]:
    """Make (or reuse from the cache) the QR codes, PDF and preview for every placement.

    Returns each placement's files by id, and how many QR codes, PDFs and previews were
    made (not taken from the cache).
    """
    base = batch.cache_dir / "print"
    base.mkdir(parents=True, exist_ok=True)
    fingerprint = hashlib.sha256(posters.template_fingerprint().encode("utf-8")).hexdigest()
    entries = {p.name for p in base.iterdir()}
    todo: list[_Job] = []
    files: dict[str, PlacementFiles] = {}
    for campaign in campaigns:
        # Fonts are checked here, before any poster is drawn: a missing one stops the build clearly.
        try:
            lines = posters.straplines(list(campaign.data.languages))
        except posters.FontMissingError as exc:
            raise PrintingError(f"campaigns/{campaign.slug}/campaign.yml: languages: {exc}") from exc
        for placement in campaign.printed:
            words = poster_words(batch, campaign, placement, lines)
            try:
                posters.check_latin(words)
            except posters.FontMissingError as exc:
                raise PrintingError(f"print/{placement.id}: {exc}") from exc
            url = qr.short_url(batch.site_url, placement.id)
            level = qr.level_for(placement.outdoor)
            folder = base / f"{placement.id}-{_cache_key(fingerprint, placement, words, url, level)}"
            files[placement.id] = PlacementFiles(placement, campaign, url, level, placement.qr_mm, folder)
            if not (folder / "done").exists():
                todo.append(_Job(placement.id, placement.format, placement.qr_mm, words, url, level, str(folder)))
    made = _make_all(todo)
    for placement_id, entry in files.items():  # only once the new entries are made
        for name in entries:
            rest = name[len(placement_id) + 1 :]
            if name.startswith(placement_id + "-") and name != entry.folder.name and rest.isalnum() and len(rest) == 20:
                shutil.rmtree(base / name, ignore_errors=True)
    return files, made


@dataclass(frozen=True)
class _Job:
    """What one placement's files are made from: plain, picklable data for a worker process."""

    id: str
    format: str
    qr_mm: float
    words: posters.PosterWords
    url: str
    level: str
    folder: str


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


def _failed(job: _Job, reason: str) -> PrintingError:
    return PrintingError(f"print/{job.id}: could not make the QR code and poster: {reason}")


def _make_all(todo: list[_Job]) -> Counter[str]:
    """Make every job's files, in this process or in a process pool; the first failure stops the build."""
    made: Counter[str] = Counter()
    workers = _workers(len(todo))
    if workers == 1:  # nothing to share out: skip the pool's start-up cost
        for job in todo:
            try:
                made.update(_generate_one(job))
            except Exception as exc:
                raise _failed(job, f"{type(exc).__name__}: {exc}") from exc
            log.info("generated QR code and poster for %s", job.id)
        return made
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
            made.update(future.result())
            log.info("generated QR code and poster for %s", job.id)
        else:
            failures.append(future)
    if not failures:
        return made
    real = [f for f in failures if not isinstance(f.exception(), BrokenProcessPool)]
    if real:  # the first placement, in campaign order, that raised
        raise _failed(futures[real[0]], str(real[0].exception())) from real[0].exception()
    pending = ", ".join(futures[f].placement.id for f in failures)
    raise PrintingError(
        f"print: a worker process stopped unexpectedly while making QR codes and posters "
        f"(not made: {pending}): {failures[0].exception()}"
    ) from failures[0].exception()


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
    """Make one placement's files; return what was made, to be counted in the calling process.

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
        pdf = posters.render_poster(job.words, FORMATS[job.format], job.qr_mm, code, job.id)
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


