"""MkDocs hook: the comms team's editor at ``/admin/`` (Decap CMS).

Thin on purpose: the configuration is generated from the models by ``cchcc.site.cms``; this file
hands MkDocs the files. Only ``/admin/`` loads the editor's bundle; no public page links to it.
"""

from __future__ import annotations

from mkdocs.exceptions import PluginError
from mkdocs.structure.files import File

from cchcc.site import cms, pages
from cchcc.site.build import PublishError, context_for, site_url_of

KEY = "admin"


def on_files(files, config, **kwargs):
    context = context_for(config)
    try:
        site_url = site_url_of(config)
    except PublishError as exc:
        raise PluginError(f"admin:\n{exc}") from exc
    prefix = "/" + site_url.split("://", 1)[-1].split("/", 1)[-1]
    styles = sorted(
        f.url for f in files
        if f.url.startswith("assets/stylesheets/main.") and f.url.endswith(".css")
    )
    styles += [path for path in config.extra_css] + [f"{cms.ADMIN_DIR}/preview.css"]
    settings = config.extra.get("editor") or {}
    made = cms.admin_files(
        context.project,
        site_name=config.site_name,
        site_url=site_url,
        settings=cms.EditorSettings(repo=str(settings.get("repo") or ""), branch=str(settings.get("branch") or "main")),
        preview=cms.AdminPreview(
            styles=[prefix + s for s in styles],
            form_html=pages.form_html(context.hooks["pages"]["data"]),
            contact_days=context.programme.programme.contact_within_working_days,
        ),
    )
    context.hooks[KEY] = bool(made)
    for item in made:
        if files.get_file_from_path(item.path) is not None:
            raise PluginError(f"admin: {item.path} is generated for the editor but site/docs already has it")
        kwargs = {"content": item.content} if item.content is not None else {"abs_src_path": str(item.source)}
        files.append(File.generated(config, item.path, **kwargs))
    return files
