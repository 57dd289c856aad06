"""MkDocs hook: page shortcodes (form, pay, partners). Owned by the site content work.

Thin on purpose: the shortcodes live in ``cchcc.pages`` (plain Python). This file
only loads the data once per build and hands each page's Markdown and HTML to it.
"""

from __future__ import annotations

from pathlib import Path

from mkdocs.exceptions import PluginError

from cchcc import pages

_data: pages.SiteData | None = None
_blocks: dict[str, dict[str, str]] = {}


def on_config(config, **kwargs):
    global _data
    root = Path(config.config_file_path).resolve().parent
    try:
        _data = pages.SiteData.load(root=root, api_url=config.extra.get("api_url"))
    except Exception as exc:  # ConfigError / PagesError carry file, field and reason
        raise PluginError(f"site data: {exc}") from exc
    _blocks.clear()
    config.extra["cchcc"] = pages.template_context(_data)
    return config


def _source_name(config, page) -> str:
    """The page's file as the author knows it: ``site/docs/careers/porter.md``."""
    root = Path(config.config_file_path).resolve().parent
    src = Path(page.file.abs_src_path or Path(config.docs_dir) / page.file.src_uri).resolve()
    return src.relative_to(root).as_posix() if src.is_relative_to(root) else src.as_posix()


def on_page_markdown(markdown, page, config, files, **kwargs):
    assert _data is not None
    try:
        expanded = pages.expand(markdown, _data, page=_source_name(config, page))
    except pages.PagesError as exc:
        raise PluginError(str(exc)) from exc
    _blocks[page.file.src_uri] = expanded.blocks
    return expanded.markdown


def on_page_content(html, page, config, files, **kwargs):
    try:
        html = pages.finish(html, _blocks.pop(page.file.src_uri, {}))
    except pages.PagesError as exc:
        raise PluginError(f"{page.file.src_uri}: {exc}") from exc
    if page.file.src_uri == "404.md":
        # The server's error page is the theme's static 404.html (absolute links, any path);
        # site/overrides/404.html shows this page's words in it.
        config.extra["cchcc"]["not_found_html"] = html
    return html
