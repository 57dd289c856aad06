"""The browser editor (/admin/, Decap CMS): its configuration is the models', its saves are checked
as `cchcc check` checks, and public pages never load it.

The e2e test (tests/e2e/test_editor.py) drives it in Chromium; these need no browser.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Annotated, Literal, get_args, get_origin

import pytest
from pydantic import BaseModel, Field

from cchcc.local.editor import Editor, check_save, writable
from cchcc.site import cms
from cchcc.site.campaigns import CampaignFile, Placement
from cchcc.site.careers import CareersPage
from cchcc.site.pay import Band, PayTable
from tests.conftest import PROJECT, ROOT
from tests.site.conftest import SITE_URL, copy_project

EAST_LEEDS = "campaigns/east-leeds/campaign.yml"


def config(project=PROJECT) -> dict:
    return cms.editor_config(project, site_url=SITE_URL, settings=cms.EditorSettings("leeds/cchcc"), preview=cms.AdminPreview())


def collection(name: str, project=PROJECT) -> dict:
    return next(c for c in config(project)["collections"] if c["name"] == name)


def by_name(fields: list[dict]) -> dict[str, dict]:
    return {f["name"]: f for f in fields}


# --- the configuration is the models' -------------------------------------------------------


def _literal_choices(annotation) -> list[str] | None:
    for arg in (annotation, *get_args(annotation)):
        if get_origin(arg) is Literal:
            return list(get_args(arg))
    return None


@pytest.mark.parametrize(
    "model,fields",
    [
        (CampaignFile, lambda: [f for f in collection("campaigns")["fields"] if f["name"] != "body"]),
        (Placement, lambda: by_name(collection("campaigns")["fields"])["placements"]["fields"]),
        (CareersPage, lambda: [f for f in collection("careers")["fields"] if f["name"] != "body"]),
        (PayTable, lambda: collection("pay")["files"][0]["fields"]),
        (Band, lambda: by_name(collection("pay")["files"][0]["fields"])["bands"]["fields"][1:]),
    ],
    ids=["campaign", "placement", "careers-page", "pay", "pay-band"],
)
def test_every_model_field_is_in_the_editor_with_its_required_and_choices(model, fields):
    # Given a model (read here through pydantic's own field table, not the JSON schema the
    # generator reads), then the editor has exactly its fields, by the names the files use,
    # required when the model requires them, with the model's choices.
    editor = by_name(fields())
    expected = {info.alias or name: info for name, info in model.model_fields.items()}
    assert list(editor) == list(expected)
    for name, info in expected.items():
        assert editor[name]["required"] is info.is_required(), name
        choices = _literal_choices(info.annotation)
        if choices:
            assert editor[name]["widget"] == "select" and editor[name]["options"] == choices, name
        if info.description:
            assert editor[name]["hint"] == info.description, name


def test_dates_are_date_pickers_and_placements_an_editable_list_and_roles_the_careers_pages():
    fields = by_name(collection("campaigns")["fields"])
    for name in ("starts", "ends"):
        assert fields[name]["widget"] == "datetime" and fields[name]["time_format"] is False
        assert fields[name]["format"] == "YYYY-MM-DD"
    placements = fields["placements"]
    assert placements["widget"] == "list" and placements["min"] == 1
    assert by_name(placements["fields"])["id"]["pattern"][0] == r"^[a-z0-9](?:[a-z0-9-]{0,22}[a-z0-9])$"
    assert fields["roles"]["widget"] == "select" and fields["roles"]["multiple"] is True
    careers = sorted(p.stem for p in PROJECT.careers_dir.glob("*.md") if p.stem != "index")
    assert fields["roles"]["options"] == careers and fields["roles"]["max"] == 6
    assert fields["body"]["widget"] == "markdown"


def test_a_field_added_to_a_model_appears_in_the_editor():
    # Given the campaign model gains a field...
    class Grown(CampaignFile):
        budget: Annotated[int, Field(ge=0)] | None = None

    fields, _ = cms.model_fields(Grown, role_choices=[])
    added = by_name(fields)
    # ...then the editor shows it, with the right widget, after the fields it had.
    assert [f["name"] for f in fields][-1:] == ["budget"]
    assert added["budget"]["widget"] == "number" and added["budget"]["min"] == 0 and added["budget"]["required"] is False


def test_events_languages_and_postcodes_appear_in_the_editor_from_the_campaign_model():
    # Issue 12's fields, from the real model: events a list with date-and-time pickers, the poster
    # languages a choice of the site's languages, the postcodes a list.
    fields = by_name(collection("campaigns")["fields"])
    events = by_name(fields["events"]["fields"])
    assert fields["events"]["widget"] == "list" and fields["events"]["required"] is False
    assert fields["events"]["default"] == []  # a new campaign starts with no event to fill in
    assert events["starts"]["widget"] == "datetime" and events["starts"]["time_format"] == "HH:mm"
    assert events["booking"]["options"] == ["none", "register"] and events["booking"]["required"] is False
    assert events["id"]["pattern"][0] == r"^[a-z0-9](?:[a-z0-9-]{0,22}[a-z0-9])$" and events["id"]["required"] is True
    assert events["access"]["required"] is True and "Step-free" in events["access"]["hint"]
    languages = sorted(p.stem for p in (PROJECT.root / "functions" / "hub" / "translations").glob("*.po"))
    assert fields["languages"] == {**fields["languages"], "widget": "select", "multiple": True, "options": languages}
    assert fields["postcodes"]["widget"] == "list" and "routing rules" in fields["postcodes"]["hint"]


def test_a_field_the_editor_cannot_show_stops_the_build_naming_it():
    class Odd(BaseModel):
        anything: int | str

    with pytest.raises(cms.EditorConfigError, match="several types"):
        cms.model_fields(Odd)


def test_the_pay_tables_mappings_are_lists_with_an_id_and_mappings_in_the_file():
    fields = by_name(collection("pay")["files"][0]["fields"])
    assert fields["pay_year"]["required"] is True  # the file's name for PayTable.year
    assert [f["name"] for f in fields["bands"]["fields"]] == ["id", "label", "from", "to", "hourly"]
    formats = config()["_cchcc"]["formats"]
    assert formats["pay"]["maps"] == {"bands": {"fields": {}}, "hourly": {"fields": {}}, "unsocial_hours": {"value": {"value": None}}}


def test_production_saves_go_to_github_through_the_stacks_oauth_function_locally_to_the_stack():
    generated = config()
    assert generated["backend"] == {**generated["backend"], "name": "cchcc-github", "repo": "leeds/cchcc",
                                    "base_url": "https://jobs.example.org", "auth_endpoint": "api/cms-auth/auth"}
    assert generated["_cchcc"]["local_backend"] == "/_local/cms/api/v1"
    assert generated["_cchcc"]["paired"] == [{"folder": "campaigns", "data": "campaign.yml", "body": "index.md"}]
    assert collection("campaigns")["delete"] is False and collection("careers")["create"] is False


# --- the built site ------------------------------------------------------------------------------


def test_the_build_has_the_editor_at_admin(site_build):
    admin = site_build.site_dir / "admin"
    assert (admin / "cms.js").stat().st_size > 1_000_000  # Decap and React, bundled: no CDN
    built = json.loads((admin / "config.json").read_text())
    assert built["collections"] == config()["collections"]
    page = (admin / "index.html").read_text()
    assert '<script src="cms.js" defer></script>' in page and "<script>" not in page  # nothing inline for the CSP
    styles = built["_cchcc"]["preview"]["styles"]
    assert all((site_build.site_dir / s.lstrip("/")).is_file() for s in styles)
    assert 'name="consent"' in built["_cchcc"]["preview"]["form_html"]


def test_no_public_page_loads_the_editor(site_build):
    pages = [p for p in site_build.site_dir.rglob("*.html") if "admin" not in p.relative_to(site_build.site_dir).parts]
    assert len(pages) > 20
    for page in pages:
        html = page.read_text(encoding="utf-8")
        assert "cms.js" not in html and "/admin/" not in html and "decap" not in html.lower(), page


def test_the_landing_page_weighs_what_it_weighed_without_the_editor(site_build, tmp_path):
    # Given the same project built without the editor's bundle (a copy with no node_modules)...
    (tmp_path / "p").mkdir()
    copy = copy_project(tmp_path / "p")
    from cchcc.site.build import build

    out = tmp_path / "site"
    build(copy, site_dir=out, cache_dir=site_build.cache_dir, site_url=SITE_URL)
    assert not (out / "admin").exists()
    # ...then a campaign landing page and everything it loads are byte for byte the same.
    page = "campaigns/lincoln-green/index.html"
    assert (out / page).read_bytes() == (site_build.site_dir / page).read_bytes()
    for asset in ("assets/cchcc.css", "assets/cchcc.js"):
        assert (out / asset).read_bytes() == (site_build.site_dir / asset).read_bytes()


# --- saves are checked as cchcc check checks ------------------------------------------------------


def _campaign(**changes) -> tuple[str, str]:
    data = {
        "title": "Harehills spring", "headline": "Care jobs in Harehills", "summary": "Free help to find a job.",
        "area": "Harehills", "starts": "2027-04-01", "ends": "2027-06-30",
        "placements": [{"id": "hh-library", "name": "Library", "format": "poster-a4"}],
    }
    data.update(changes)
    import yaml

    return yaml.safe_dump(data, sort_keys=False), "Jobs near you, with free help to apply.\n"


@pytest.mark.parametrize(
    "changes,body,expected",
    [
        ({"placements": [{"id": "lg-library", "name": "Library", "format": "poster-a4"}]}, None,
         # cchcc check names the clash in the campaign it reads second (folders in name order).
         "campaigns/lincoln-green/campaign.yml: placements[0].id (line 21): 'lg-library' is already used by "
         "campaigns/harehills-spring/campaign.yml; placement ids must be unique across all campaigns, events included"),
        ({"ends": "2027-03-01"}, None,
         "campaigns/harehills-spring/campaign.yml: ends (line 6): the end date 2027-03-01 is before the start date 2027-04-01"),
        ({"placements": [{"id": "hh-library", "name": "Library", "format": "poster-a2"}]}, None,
         "campaigns/harehills-spring/campaign.yml: placements[0].format (line 10): must be poster-a3, poster-a4, flyer-a5 or flyer-a6"),
        ({"headline": ""}, None,
         "campaigns/harehills-spring/campaign.yml: headline (line 2): String should have at least 1 character"),
        ({}, "Write a few short sentences here about the jobs.\n",
         "campaigns/harehills-spring/index.md: (file) (line 1): still holds the example text from "
         "'cchcc campaign new'; replace it with a few sentences about this campaign"),
    ],
    ids=["id-clash", "ends-before-starts", "unknown-format", "empty-headline", "scaffold-text"],
)
def test_a_bad_save_is_refused_with_the_message_cchcc_check_gives(project_copy, changes, body, expected):
    yml, md = _campaign(**changes)
    problems = check_save(project_copy, {"campaigns/harehills-spring/campaign.yml": yml,
                                         "campaigns/harehills-spring/index.md": body or md})
    assert [str(p) for p in problems] == [expected]
    assert not (project_copy.campaigns_dir / "harehills-spring").exists()


def test_a_good_save_passes_and_a_problem_elsewhere_does_not_block_it(project_copy):
    yml, md = _campaign()
    files = {"campaigns/harehills-spring/campaign.yml": yml, "campaigns/harehills-spring/index.md": md}
    assert check_save(project_copy, files) == []
    # Given another campaign is already broken in the checkout, a good save elsewhere still goes through,
    # while a save of the broken campaign that leaves it broken is refused.
    lg = project_copy.campaigns_dir / "lincoln-green" / "index.md"
    lg.write_text("")
    assert check_save(project_copy, files) == []
    assert check_save(project_copy, {"campaigns/lincoln-green/index.md": ""})


def test_a_careers_page_with_an_unknown_shortcode_or_a_missing_title_is_refused(project_copy):
    page = "site/docs/careers/porter.md"
    text = (project_copy.root / page).read_text()
    broken = text.replace('{{ pay("band-2") }}', '{{ pay("band-9") }}', 1)
    assert broken != text
    (problem,) = check_save(project_copy, {page: broken})
    assert problem.file == page and "unknown pay band 'band-9'" in problem.reason
    (problem,) = check_save(project_copy, {page: text.replace("title: Porter\n", "")})
    assert str(problem) == f"{page}: title: is required but missing"


@pytest.mark.parametrize(
    "path,ok",
    [("campaigns/hh/campaign.yml", True), ("campaigns/hh/index.md", True), ("site/docs/careers/porter.md", True),
     ("site/data/pay.yml", True), ("programme.yml", False), ("campaigns/hh/../../programme.yml", False),
     ("site/docs/index.md", False), ("functions/hub/rules.py", False), ("campaigns/hh/poster.pdf", False)],
)
def test_the_editor_writes_only_campaigns_careers_pages_and_pay(path, ok):
    assert writable(path) is ok


class _FakeServer:
    def __init__(self):
        self.forwarded: list[dict] = []

    def forward(self, body: bytes, timeout: float = 30):
        self.forwarded.append(json.loads(body))
        return 200, "application/json", b'{"message":"entry persisted"}'


class _FakeRebuilder:
    def __init__(self):
        self.requests = 0

    def request(self):
        self.requests += 1


def _persist(files: dict[str, str]) -> bytes:
    return json.dumps({"action": "persistEntry", "params": {
        "branch": "main", "assets": [], "options": {},
        "dataFiles": [{"path": p, "slug": "x", "raw": raw} for p, raw in files.items()],
    }}).encode()


def test_the_editor_door_refuses_before_decap_server_sees_anything_and_rebuilds_after_a_save(project_copy):
    server, rebuilder = _FakeServer(), _FakeRebuilder()
    editor = Editor(project_copy, server, rebuilder)
    yml, md = _campaign(ends="2027-03-01")
    answer = editor.handle(_persist({"campaigns/harehills-spring/campaign.yml": yml, "campaigns/harehills-spring/index.md": md}))
    assert answer.status == 422 and "ends (line 6): the end date" in json.loads(answer.body)["error"]
    assert server.forwarded == [] and rebuilder.requests == 0
    for action in ("persistMedia", "deleteFiles"):
        assert editor.handle(json.dumps({"action": action, "params": {}}).encode()).status == 403
    assert editor.handle(_persist({"programme.yml": "x"})).status == 403
    assert server.forwarded == []
    yml, md = _campaign()
    answer = editor.handle(_persist({"campaigns/harehills-spring/campaign.yml": yml, "campaigns/harehills-spring/index.md": md}))
    assert answer.status == 200 and len(server.forwarded) == 1 and rebuilder.requests == 1


# --- the editor's own JavaScript ------------------------------------------------------------------


def test_the_editors_file_formats_and_paired_campaign_files_pass_their_node_tests():
    node = shutil.which("node")
    if node is None:
        (pytest.fail if os.environ.get("CI") == "true" else pytest.skip)("node is not installed (Node.js 20+)")
    proc = subprocess.run([node, "--test", "site/admin/test/"], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    assert "# fail 0" in proc.stdout and "# pass 0" not in proc.stdout
