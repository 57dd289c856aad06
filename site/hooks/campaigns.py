"""MkDocs hook: campaign pages (in every language), events, redirects, QR codes and posters.

Thin on purpose: the work is in ``cchcc.site`` (plain Python). This file only turns its
outputs into MkDocs files. What it needs comes from the build's context in the MkDocs
config (``cchcc.site.build.context_for``); what it keeps between events goes there too.
Anything wrong stops the build with the file, the field and the reason, before the site
folder is touched.
"""

from __future__ import annotations

from mkdocs.exceptions import PluginError
from mkdocs.structure.files import File, InclusionLevel

from cchcc.site import campaign_pages, languages, printing
from cchcc.site.build import PublishError, context_for, site_url_of

KEY = "campaigns"


def on_config(config, **kwargs):
    try:
        context = context_for(config)
        site_url = site_url_of(config)
    except PublishError as exc:
        raise PluginError(f"campaigns:\n{exc}") from exc
    context.hooks[KEY] = printing.Batch(
        site_url=site_url,
        site_name=config.site_name,
        partners=tuple(context.programme.organisations),
        cache_dir=context.cache_dir,
        contact_phone=context.programme.programme.contact_phone,
    )
    return config


def on_pre_build(config, **kwargs):
    context = context_for(config)
    batch = context.hooks[KEY]
    try:
        files, made = printing.generate(batch, context.campaigns)
    except Exception as exc:  # WeasyPrint, disk: say which step failed
        raise PluginError(f"campaigns: could not make QR codes and posters: {exc}") from exc
    context.made.update(made)
    context.hooks[KEY] = campaign_pages.CampaignPages(
        site_url=batch.site_url,
        site_name=batch.site_name,
        programme=context.programme,
        campaigns=context.campaigns,
        today=context.today,
        files=files,
        alternates=context.hooks.setdefault("alternates", languages.Alternates()),
        retired=context.published.retired(context.campaigns) if context.published is not None else {},
    )


def on_files(files, config, **kwargs):
    pages = context_for(config).hooks[KEY]
    for out in campaign_pages.outputs(pages):
        if files.get_file_from_path(out.path) is not None:
            raise PluginError(f"campaigns: {out.path} is generated from campaigns/ but site/docs already has it")
        # Landing pages and print packs are reached by QR code, not from the menu.
        inclusion = InclusionLevel.NOT_IN_NAV if out.page else InclusionLevel.UNDEFINED
        if out.content is not None:
            files.append(File.generated(config, out.path, content=out.content, inclusion=inclusion))
        else:
            files.append(File.generated(config, out.path, abs_src_path=str(out.source), inclusion=inclusion))
    problems = campaign_pages.check_site_paths(pages, {f.url for f in files})
    if problems:
        raise PluginError("campaigns:\n" + "\n".join(str(p) for p in problems))
    return files


def on_serve(server, config, builder, **kwargs):
    # `mkdocs serve` rebuilds when a campaign changes, not only when site/docs does.
    server.watch(str(context_for(config).project.campaigns_dir))
    return server
