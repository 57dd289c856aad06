"""MkDocs hook: page shortcodes (form, pay, partners).

Thin on purpose: the shortcodes live in ``cchcc.site.pages`` (plain Python). This file
hands each page's Markdown and HTML to them, with the data from the build's context in the
MkDocs config (``cchcc.site.build.context_for``).
"""

from __future__ import annotations

from pathlib import Path

from mkdocs.exceptions import PluginError

from cchcc.site import pages
from cchcc.site.build import PublishError, context_for

KEY = "pages"


def on_config(config, **kwargs):
    try:
        context = context_for(config)
        data = pages.SiteData(context.programme, context.pay, pages.check_api_url(config.extra.get("api_url") or pages.DEFAULT_API_URL))
    except (PublishError, pages.PagesError) as exc:
        raise PluginError(f"site data: {exc}") from exc
    context.hooks[KEY] = {"data": data, "blocks": {}}
    config.extra["cchcc"] = pages.template_context(data)
    return config


def _source_name(config, page) -> str:
    """The page's file as the author knows it: ``site/docs/careers/porter.md``."""
    root = Path(config.config_file_path).resolve().parent
    src = Path(page.file.abs_src_path or Path(config.docs_dir) / page.file.src_uri).resolve()
    return src.relative_to(root).as_posix() if src.is_relative_to(root) else src.as_posix()


def on_page_markdown(markdown, page, config, files, **kwargs):
    state = context_for(config).hooks[KEY]
    try:
        expanded = pages.expand(markdown, state["data"], page=_source_name(config, page))
    except pages.PagesError as exc:
        raise PluginError(str(exc)) from exc
    state["blocks"][page.file.src_uri] = expanded.blocks
    return expanded.markdown


def on_page_content(html, page, config, files, **kwargs):
    state = context_for(config).hooks[KEY]
    try:
        html = pages.finish(html, state["blocks"].pop(page.file.src_uri, {}))
    except pages.PagesError as exc:
        raise PluginError(f"{page.file.src_uri}: {exc}") from exc
    if page.file.src_uri == "404.md":
        # The server's error page is the theme's static 404.html (absolute links, any path);
        # site/overrides/404.html shows this page's words in it.
        config.extra["cchcc"]["not_found_html"] = html
    return html
