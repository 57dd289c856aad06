"""MkDocs hook: campaign pages, redirects, QR codes and posters. Owned by the campaigns work.

Thin on purpose: all the work is in ``cchcc.publish`` (plain Python). This file only
turns its outputs into MkDocs files. Anything wrong stops the build with the file,
the field and the reason, before the site folder is touched.
"""

from __future__ import annotations

from mkdocs.exceptions import PluginError
from mkdocs.structure.files import File, InclusionLevel

from cchcc import publish

_state: publish.State | None = None


def on_config(config, **kwargs):
    global _state
    try:
        _state = publish.prepare(config)
    except publish.PublishError as exc:
        raise PluginError(f"campaigns:\n{exc}") from exc
    return config


def on_pre_build(config, **kwargs):
    assert _state is not None
    try:
        publish.generate(_state)
    except Exception as exc:  # WeasyPrint, disk: say which step failed
        raise PluginError(f"campaigns: could not make QR codes and posters: {exc}") from exc


def on_files(files, config, **kwargs):
    assert _state is not None
    for out in publish.outputs(_state):
        if files.get_file_from_path(out.path) is not None:
            raise PluginError(f"campaigns: {out.path} is generated from campaigns/ but site/docs already has it")
        # Landing pages and print packs are reached by QR code, not from the menu.
        inclusion = InclusionLevel.NOT_IN_NAV if out.page else InclusionLevel.UNDEFINED
        if out.content is not None:
            files.append(File.generated(config, out.path, content=out.content, inclusion=inclusion))
        else:
            files.append(File.generated(config, out.path, abs_src_path=str(out.source), inclusion=inclusion))
    problems = publish.check_site_paths(_state, {f.url for f in files})
    if problems:
        raise PluginError("campaigns:\n" + "\n".join(problems))
    return files


def on_serve(server, config, builder, **kwargs):
    # `mkdocs serve` rebuilds when a campaign changes, not only when site/docs does.
    from pathlib import Path

    server.watch(str(Path(config.config_file_path).resolve().parent / "campaigns"))
    return server
