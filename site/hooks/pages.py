"""MkDocs hook: page shortcodes (form, pay, partners) and pages in every language.

Thin on purpose: the shortcodes live in ``cchcc.site.pages`` and the pages in other languages
in ``cchcc.site.languages`` (plain Python). This file hands each page's Markdown and HTML to
them, with the data from the build's context in the MkDocs config
(``cchcc.site.build.context_for``), and gives the theme's templates ``_()`` in the page's
language.
"""

from __future__ import annotations

import re
from pathlib import Path

from mkdocs.exceptions import PluginError
from mkdocs.structure.files import File, InclusionLevel

from cchcc.site import languages, pages
from cchcc.site.build import PublishError, context_for
from hub import i18n
from hub.render import install_translations

KEY = "pages"
_HTML_TAG = re.compile(r"<html\b[^>]*>")


def _page_language(context) -> str:
    page = context.get("page")
    meta = getattr(page, "meta", None) or {}
    return meta.get("lang") or i18n.DEFAULT


def on_config(config, **kwargs):
    try:
        context = context_for(config)
        data = pages.SiteData(context.programme, context.pay, pages.check_api_url(config.extra.get("api_url") or pages.DEFAULT_API_URL))
    except (PublishError, pages.PagesError) as exc:
        raise PluginError(f"site data: {exc}") from exc
    context.hooks[KEY] = {"data": data, "blocks": {}}
    context.hooks.setdefault("alternates", languages.Alternates())
    config.extra["cchcc"] = pages.template_context(data)
    config.extra["cchcc"]["not_found_languages"] = languages.not_found_lines()
    return config


def on_env(env, config, files, **kwargs):
    install_translations(env, _page_language)
    return env


def on_files(files, config, **kwargs):
    context = context_for(config)
    for out in languages.site_outputs(context.programme, context.hooks["alternates"]):
        if files.get_file_from_path(out.path) is not None:
            raise PluginError(f"languages: {out.path} is generated for a language but site/docs already has it")
        files.append(File.generated(config, out.path, content=out.content, inclusion=InclusionLevel.NOT_IN_NAV))
    return files


def _source_name(config, page) -> str:
    """The page's file as the author knows it: ``site/docs/careers/porter.md``."""
    root = Path(config.config_file_path).resolve().parent
    src = Path(page.file.abs_src_path or Path(config.docs_dir) / page.file.src_uri).resolve()
    return src.relative_to(root).as_posix() if src.is_relative_to(root) else src.as_posix()


def on_page_markdown(markdown, page, config, files, **kwargs):
    state = context_for(config).hooks[KEY]
    try:
        expanded = pages.expand(
            markdown, state["data"], page=_source_name(config, page), lang=page.meta.get("lang") or i18n.DEFAULT
        )
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


def on_page_context(context, page, config, nav, **kwargs):
    # The language switch, hreflang links and draft notice (site/overrides/main.html).
    state = context_for(config).hooks
    lang = page.meta.get("lang") or i18n.DEFAULT
    page.meta.update(state["alternates"].meta_for(page.url, lang))
    # Material shows the site's name in the header and the title: in this page's language. Pages are
    # rendered one at a time, and on_post_page puts the English name back.
    state[KEY]["site_name"] = config.site_name
    config.site_name = languages.site_name(config.site_name, lang)
    return context


def on_post_page(output, page, config, **kwargs):
    config.site_name = context_for(config).hooks[KEY].pop("site_name", config.site_name)
    # Material writes <html lang> from one language; a page in another gets its own lang and dir.
    language = i18n.language(page.meta.get("lang"))
    tag = f'<html lang="{language.code}" dir="{language.direction}" class="no-js">'
    return _HTML_TAG.sub(tag, output, count=1)
