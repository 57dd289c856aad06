"""The comms team's browser editor at ``/admin/``: Decap CMS over the project's own files.

Its configuration is generated here from the models that check those files, never kept by hand:

* campaigns: :class:`cchcc.site.campaigns.CampaignFile` (with :class:`Placement` as an editable
  list), ``campaign.yml`` and ``index.md`` edited together as one entry (the landing page words
  are its ``body``);
* careers pages: :class:`cchcc.site.careers.CareersPage` front matter and the Markdown body;
* pay: :class:`cchcc.site.pay.PayTable` (``site/data/pay.yml``).

A model's JSON schema gives each field's widget, whether it is required, its choices (a
``Literal``), its limits, and its description as the hint under it; dates get date pickers,
lists of objects become editable lists, and a mapping (``bands: {band-2: ...}``) becomes a list
whose items have an ``id``. So a field added to a model appears in the editor at the next build.

What Decap cannot express is in the config's ``_cchcc`` key, which ``site/admin/src/admin.js``
reads (and removes) before it starts Decap: the file formats (which fields are mappings), the
paired campaign files, and what the preview needs to look like the site.

Saves are checked by the same code as ``cchcc check``: locally by the local stack before anything
is written (:mod:`cchcc.local.editor`), in production by the pipeline before anything is deployed.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from pydantic import BaseModel

from cchcc.project import Project
from cchcc.site.campaigns import CAMPAIGN_FILE, LANDING_FILE, CampaignFile, role_pages
from cchcc.site.careers import CareersPage
from cchcc.site.pay import PayTable

ADMIN_DIR = "admin"  # in the built site: /admin/
CONFIG_FILE = "config.json"
AUTH_ENDPOINT = "api/cms-auth/auth"  # functions/cms_auth, behind CloudFront (infra/template.yaml)
LOCAL_BACKEND = "/_local/cms/api/v1"  # the local stack's door to decap-server (cchcc serve --edit)
MEDIA_FOLDER = "site/docs/assets/uploads"  # Decap requires one; the editor offers no uploads


class EditorConfigError(ValueError):
    """A model has a field the editor cannot show. The message names the model and the field."""


@dataclass(frozen=True)
class EditorSettings:
    """Where the production editor saves: a GitHub repository and branch (``extra.editor`` in mkdocs.yml)."""

    repo: str = ""
    branch: str = "main"


@dataclass
class _Walk:
    """What walking a model's schema finds beside the widgets: which fields are mappings."""

    defs: dict[str, Any]
    role_choices: list[str]


# --- model → Decap fields ---------------------------------------------------------------------


def _label(name: str, node: dict[str, Any]) -> str:
    title = node.get("title")
    humanised = name.replace("_", " ").capitalize()
    # pydantic titles a field from its name ("Viewing Distance M"); a title we wrote wins.
    if title and title != name.replace("_", " ").title():
        return title
    return humanised


def _resolve(node: dict[str, Any], walk: _Walk) -> tuple[dict[str, Any], bool]:
    """(the schema node with ``$ref`` followed and ``X | None`` unwrapped, whether None is allowed)."""
    nullable = False
    if "anyOf" in node:
        options = [o for o in node["anyOf"] if o.get("type") != "null"]
        nullable = len(options) < len(node["anyOf"])
        if len(options) != 1:
            raise EditorConfigError(f"a field allows several types ({node['anyOf']}); the editor needs one")
        merged = {k: v for k, v in node.items() if k != "anyOf"}
        node = {**options[0], **merged}
    if "$ref" in node:
        name = node["$ref"].rsplit("/", 1)[-1]
        node = {**walk.defs[name], **{k: v for k, v in node.items() if k != "$ref"}}
    return node, nullable


def _fields(schema: dict[str, Any], walk: _Walk, where: str) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Decap fields for an object schema, and the mapping spec the file format needs."""
    required = set(schema.get("required") or [])
    fields, maps = [], {}
    for name, node in (schema.get("properties") or {}).items():
        widget, spec = _widget(name, node, name in required, walk, f"{where}.{name}")
        fields.append(widget)
        if spec is not None:
            maps[name] = spec
    return fields, maps


def _widget(name: str, raw: dict[str, Any], required: bool, walk: _Walk, where: str) -> tuple[dict[str, Any], Any]:
    node, _ = _resolve(raw, walk)
    out: dict[str, Any] = {"name": name, "label": _label(name, node), "required": required}
    if node.get("description"):
        out["hint"] = node["description"]
    default = node.get("default")
    if default not in (None, [], {}, ""):
        out["default"] = default
    kind = node.get("type")
    spec = None
    if "enum" in node or "const" in node:
        out |= {"widget": "select", "options": list(node.get("enum") or [node["const"]])}
    elif kind == "string" and node.get("format") == "date":
        out |= {"widget": "datetime", "format": "YYYY-MM-DD", "date_format": "D MMMM YYYY", "time_format": False,
                "picker_utc": True}
    elif kind == "string" and node.get("format") == "date-time":
        out |= {"widget": "datetime", "format": "YYYY-MM-DDTHH:mm:ss", "date_format": "D MMMM YYYY",
                "time_format": "HH:mm"}
    elif kind == "string":
        out["widget"] = "text" if (node.get("maxLength") or 0) > 200 else "string"
        if "pattern" in node:
            out["pattern"] = [node["pattern"], node.get("description") or f"{out['label']} is not in the expected form"]
    elif kind in ("integer", "number"):
        out |= {"widget": "number", "value_type": "int" if kind == "integer" else "float"}
        if kind == "number":
            out["step"] = 0.1
        if "minimum" in node:
            out["min"] = node["minimum"]
        if "maximum" in node:
            out["max"] = node["maximum"]
    elif kind == "boolean":
        out["widget"] = "boolean"
        out.setdefault("default", bool(default))
    elif kind == "array":
        items, _ = _resolve(node.get("items") or {}, walk)
        if raw.get("choices_from") == "careers" or node.get("choices_from") == "careers":
            out |= {"widget": "select", "multiple": True, "options": walk.role_choices}
        elif "enum" in items:
            out |= {"widget": "select", "multiple": True, "options": list(items["enum"])}
        elif items.get("type") == "object" and "properties" in items:
            sub, maps = _fields(items, walk, where)
            out |= {"widget": "list", "fields": sub, "collapsed": False}
            if sub:
                out["summary"] = "{{fields.%s}}" % sub[0]["name"] + (
                    " ({{fields.%s}})" % sub[1]["name"] if len(sub) > 1 else ""
                )
            if maps:
                spec = {"items": maps}
        else:
            item, _ = _widget(name, items, True, walk, f"{where}[]")
            out |= {"widget": "list", "field": {k: v for k, v in item.items() if k not in ("hint", "default")}}
        if "minItems" in node:
            out["min"] = node["minItems"]
        if "maxItems" in node:
            out["max"] = node["maxItems"]
        if default == [] and not required:
            out["default"] = []  # an optional list starts empty (Decap would start a list of objects with one)
    elif kind == "object" and "properties" in node:
        sub, maps = _fields(node, walk, where)
        out |= {"widget": "object", "fields": sub, "collapsed": False}
        if maps:
            spec = {"fields": maps}
    elif kind == "object" and isinstance(node.get("additionalProperties"), dict):
        # A mapping with keys people choose (pay bands by id): a list whose items have an id.
        value, _ = _resolve(node["additionalProperties"], walk)
        key = {"name": "id", "label": "Id", "widget": "string", "required": True,
               "pattern": ["^[a-z0-9][a-z0-9_-]*$", "lowercase letters, digits, - and _ (for example band-2)"]}
        if value.get("type") == "object" and "properties" in value:
            sub, maps = _fields(value, walk, where)
            out |= {"widget": "list", "fields": [key, *sub], "summary": "{{fields.id}}", "collapsed": True}
            spec = {"fields": maps}
        else:
            item, inner = _widget("value", node["additionalProperties"], True, walk, f"{where}.value")
            item["label"] = "Value"
            out |= {"widget": "list", "fields": [key, item], "summary": "{{fields.id}}: {{fields.value}}", "collapsed": True}
            spec = {"value": inner}
    else:
        raise EditorConfigError(f"{where}: the editor has no widget for this field ({node})")
    return out, spec


def model_fields(model: type[BaseModel], *, role_choices: list[str] | None = None) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """The Decap fields for ``model`` (by the names its files use: aliases) and its mapping spec."""
    schema = model.model_json_schema(by_alias=True)
    walk = _Walk(schema.get("$defs") or {}, role_choices or [])
    return _fields(schema, walk, model.__name__)


def field_order(fields: list[dict[str, Any]]) -> dict[str, Any]:
    """The order files keep their keys in, as the model declares them: ``{"keys": [...], "fields": {name: ...}}``."""
    nested = {f["name"]: field_order(f["fields"]) for f in fields if f.get("fields")}
    return {"keys": [f["name"] for f in fields], **({"fields": nested} if nested else {})}


# --- the whole config ---------------------------------------------------------------------------


@dataclass
class AdminPreview:
    """What the preview needs to look like the site: its stylesheets and the referral form's HTML."""

    styles: list[str] = field(default_factory=list)
    form_html: str = ""
    contact_days: int = 5


def _origin(site_url: str) -> str:
    parts = urlsplit(site_url)
    return f"{parts.scheme}://{parts.netloc}"


def editor_config(project: Project, *, site_url: str, settings: EditorSettings, preview: AdminPreview) -> dict[str, Any]:
    """Decap's configuration (JSON) for this project, generated from the models."""
    roles = list(role_pages(project))
    campaign_fields, campaign_maps = model_fields(CampaignFile, role_choices=roles)
    careers_fields, careers_maps = model_fields(CareersPage)
    pay_fields, pay_maps = model_fields(PayTable)
    body = {
        "name": "body", "label": "Landing page words", "widget": "markdown", "required": True,
        "buttons": ["bold", "italic", "link", "heading-two", "heading-three", "bulleted-list", "numbered-list"],
        "editor_components": [],
        "hint": "Shown under the form: what kind of jobs there are, what help local partners give, that it is free. "
        "Use everyday words and short sentences.",
    }
    page_body = {
        "name": "body", "label": "Page", "widget": "markdown", "required": True, "modes": ["raw"],
        "hint": "The page in Markdown. Pay figures come from the pay table: keep shortcodes such as "
        '{{ pay("band-2") }} as they are.',
    }
    campaigns_dir = project.relative(project.campaigns_dir)
    careers_dir = project.relative(project.careers_dir)
    collections = [
        {
            "name": "campaigns", "label": "Campaigns", "label_singular": "campaign",
            "description": "Each campaign is a landing page with a form and a QR code poster or flyer for every "
            "place it goes. Saving checks it as cchcc check does; nothing is saved while something is wrong.",
            "folder": campaigns_dir, "path": "{{slug}}/" + Path(CAMPAIGN_FILE).stem,
            "extension": "yml", "format": "cchcc:campaigns",
            "create": True, "delete": False, "identifier_field": "title", "slug": "{{title}}",
            "summary": "{{title}}: {{starts}} to {{ends}}",
            "sortable_fields": ["title", "starts", "ends"],
            "fields": [*campaign_fields, body],
        },
        {
            "name": "careers", "label": "Careers pages", "label_singular": "careers page",
            "description": "The job pages. New pages also need a place in the menu, so a developer adds them.",
            "folder": careers_dir, "extension": "md", "format": "cchcc:careers",
            "create": False, "delete": False, "identifier_field": "title", "summary": "{{title}}",
            "fields": [*careers_fields, page_body],
        },
        {
            "name": "pay", "label": "Pay", "format": "cchcc:pay", "extension": "yml",
            "files": [{
                "name": "pay", "label": "Pay figures", "file": project.relative(project.pay_file),
                "description": "The pay figures every careers page shows. Change them here, in one place.",
                "fields": pay_fields,
            }],
        },
    ]
    origin = _origin(site_url)
    backend: dict[str, Any] = {
        "name": "cchcc-github", "repo": settings.repo, "branch": settings.branch,
        "base_url": origin, "auth_endpoint": AUTH_ENDPOINT, "auth_scope": "repo",
        "commit_messages": {
            "create": "Create {{collection}} “{{slug}}” (browser editor, {{author-login}})",
            "update": "Update {{collection}} “{{slug}}” (browser editor, {{author-login}})",
            "delete": "Delete {{collection}} “{{slug}}” (browser editor, {{author-login}})",
            "uploadMedia": "Upload “{{path}}”", "deleteMedia": "Delete “{{path}}”",
        },
    }
    return {
        "load_config_file": False,
        "backend": backend,
        "site_url": site_url,
        "display_url": site_url,
        "locale": "en",
        "media_folder": MEDIA_FOLDER,
        "public_folder": "/" + MEDIA_FOLDER.removeprefix("site/docs/"),
        "slug": {"encoding": "ascii", "clean_accents": True, "sanitize_replacement": "-"},
        "collections": collections,
        "_cchcc": {
            "local_backend": LOCAL_BACKEND,
            "formats": {
                "campaigns": {"kind": "frontmatter", "maps": campaign_maps, "order": field_order(campaign_fields)},
                "careers": {"kind": "frontmatter", "maps": careers_maps, "order": field_order(careers_fields)},
                "pay": {"kind": "yaml", "maps": pay_maps, "order": field_order(pay_fields)},
            },
            # One entry, two files: campaign.yml holds the fields, index.md the body.
            "paired": [{"folder": campaigns_dir, "data": CAMPAIGN_FILE, "body": LANDING_FILE}],
            "preview": {
                "styles": preview.styles,
                "form_html": preview.form_html,
                "contact_days": preview.contact_days,
            },
        },
    }


def admin_page(site_name: str) -> str:
    """``/admin/index.html``: only the bundle; no inline script (the site's CSP allows none)."""
    from html import escape

    return (
        "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
        "<meta name=\"robots\" content=\"noindex\">\n"
        f"<title>Edit the site - {escape(site_name)}</title>\n"
        "<script src=\"cms.js\" defer></script>\n</head>\n<body>\n"
        "<noscript><p>The editor needs JavaScript. The site itself works without it.</p></noscript>\n"
        "</body>\n</html>\n"
    )


@dataclass(frozen=True)
class AdminFile:
    path: str  # in the site, e.g. admin/cms.js
    content: str | None = None
    source: Path | None = None


def bundle_dir(project: Project) -> Path:
    """Where ``make install`` puts the editor's JavaScript (``npm run build:admin``, site/admin/build.mjs)."""
    return project.root / "node_modules" / ".cchcc-admin"


def admin_files(project: Project, *, site_name: str, site_url: str, settings: EditorSettings,
                preview: AdminPreview) -> list[AdminFile]:
    """Every file of ``/admin/``, or [] when the bundle was never built (the build says so)."""
    bundle = bundle_dir(project)
    if not (bundle / "cms.js").is_file():
        return []
    config = editor_config(project, site_url=site_url, settings=settings, preview=preview)
    files = [
        AdminFile(f"{ADMIN_DIR}/index.html", content=admin_page(site_name)),
        AdminFile(f"{ADMIN_DIR}/{CONFIG_FILE}", content=json.dumps(config, indent=1, ensure_ascii=False) + "\n"),
    ]
    files += [
        AdminFile(f"{ADMIN_DIR}/{path.name}", source=path)
        for path in sorted(bundle.iterdir())
        if path.is_file() and not path.name.endswith(".map")
    ]
    return files
