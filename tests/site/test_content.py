"""Content that must stay true to its data: pay from pay.yml, partners from programme.yml."""

from __future__ import annotations

import html as htmllib
import re
from pathlib import Path

import pytest
import yaml

from cchcc.site import pages
from cchcc.site.pay import PayError, load_pay, money

ROOT = Path(__file__).resolve().parents[2]
CAREERS = ROOT / "site" / "docs" / "careers"
PAY = yaml.safe_load((ROOT / "site" / "data" / "pay.yml").read_text(encoding="utf-8"))
PROGRAMME = yaml.safe_load((ROOT / "programme.yml").read_text(encoding="utf-8"))
ROLES = sorted(p.stem for p in CAREERS.glob("*.md") if p.stem != "index")
SECTIONS = ["What you would do", "Pay", "What you need to start", "Training", "How you can move up", "Where to find jobs"]


def text_of(page_html: str) -> str:
    """The article's visible text, tags removed and entities decoded."""
    article = page_html.split("<article", 1)[1].split("</article>", 1)[0]
    return re.sub(r"\s+", " ", htmllib.unescape(re.sub(r"<[^>]+>", " ", article)))


def expected_figures(pay_id: str) -> list[str]:
    """What a pay shortcode must show, computed from the raw YAML (not from cchcc.pages)."""
    if pay_id in PAY["bands"]:
        band = PAY["bands"][pay_id]
        return [f"£{band['from']:,}", f"£{band['to']:,}"]
    return [f"£{PAY['hourly'][pay_id]['rate']:.2f}"]


def test_there_are_at_least_ten_role_pages():
    assert len(ROLES) >= 10


@pytest.mark.parametrize("role", ROLES)
def test_each_role_page_has_every_section_and_shows_pay_from_pay_yml(site_build, role):
    source = (CAREERS / f"{role}.md").read_text(encoding="utf-8")
    pay_ids = re.findall(r'\{\{\s*pay\("([a-z0-9-]+)"\)\s*\}\}', source)
    assert pay_ids, f"{role}: no pay shortcode"
    assert not re.search(r"£\s?[0-9]", source), f"{role}: pay written into the page instead of pay.yml"
    text = text_of(site_build.page(f"/careers/{role}/"))
    for section in SECTIONS:
        assert section in text, f"{role}: missing section {section!r}"
    for pay_id in pay_ids:
        for figure in expected_figures(pay_id):
            assert figure in text, f"{role}: {pay_id} should show {figure}"
    if any(p in PAY["bands"] for p in pay_ids):
        assert PAY["pay_year"] in text and PAY["source"] in text
    assert re.search(r'href="https://[^"]+"', site_build.page(f"/careers/{role}/")), "name where the vacancies are"


def test_careers_index_lists_every_role_and_the_pay_table(site_build):
    page = site_build.page("/careers/")
    for role in ROLES:
        assert f'href="{role}/"' in page, role
    text = text_of(page)
    for band in PAY["bands"].values():
        assert f"£{band['from']:,}" in text


def test_privacy_notice_names_every_partner_organisation_and_the_rules(site_build):
    text = text_of(site_build.page("/privacy/"))
    organisations = {PROGRAMME["programme"]["organisation"]} | {s["organisation"] for s in PROGRAMME["spokes"]}
    for organisation in organisations:
        assert organisation in text, organisation
    assert str(PROGRAMME["retention_days"]) in text
    assert PROGRAMME["programme"]["data_controller"] in text
    assert "public task" in text and "Article 6(1)(e)" in text and "Article 9(2)(g)" in text
    # One lawful basis: the tick box is the agreement to share, not consent under Article 6(1)(a).
    assert "tick a box to agree" not in text and "Ticking the box on the form is not how we get permission" in text
    for spoke in PROGRAMME["spokes"]:  # the data sharing table: each partner and what it receives
        assert spoke["name"] in text and spoke["organisation"] in text
    assert "Information Commissioner" in text and "ico.org.uk" in site_build.page("/privacy/")
    for right in ("copy", "correct", "delete"):
        assert right in text


def test_home_page_has_three_steps_named_partners_and_one_call_to_action(site_build):
    page = site_build.page("/")
    text = text_of(page)
    assert page.count('class="cc-steps"') == 1 and page.split('class="cc-steps"')[1].split("</ol>")[0].count("<li") == 3
    assert f"{PROGRAMME['programme']['contact_within_working_days']} working days" in text
    for spoke in PROGRAMME["spokes"]:
        assert spoke["name"] in text
    article = page.split("<article", 1)[1].split("</article>", 1)[0]
    assert len(re.findall(r'class="cc-button[ "]', article)) == 1


def test_thanks_page_says_what_happens_next_by_when_and_who_to_call(site_build):
    text = text_of(site_build.page("/thanks/"))
    assert "What happens next" in text
    assert f"{PROGRAMME['programme']['contact_within_working_days']} working days" in text
    assert PROGRAMME["programme"]["contact_phone"] in text and PROGRAMME["programme"]["hub_email"] in text
    # What happens next, not a list of every partner (who helps depends on where the person lives).
    assert not any(spoke["name"] in text for spoke in PROGRAMME["spokes"])


def test_accessibility_statement_names_the_standard_and_the_regulations(site_build):
    text = text_of(site_build.page("/accessibility/"))
    assert "WCAG" in text and "2.2" in text and "AA" in text
    assert "Accessibility Regulations 2018" in text
    assert PROGRAMME["programme"]["hub_email"] in text


# --- the shortcodes themselves (plain Python, no build) -------------------------------------


@pytest.fixture(scope="module")
def data(programme):
    return pages.SiteData(programme, load_pay(ROOT / "site" / "data" / "pay.yml"))


@pytest.mark.parametrize(
    ("markdown", "message"),
    [
        ('{{ pay("band-9") }}', "unknown pay band 'band-9'"),
        ("{{ salary() }}", "unknown shortcode"),
        ("{{ pay }}", "looks like a shortcode but is not one"),
        ("{{ pay(band) }}", "arguments must be quoted text"),
        ('{{ pay("band-2", "band-3") }}', "wrong arguments"),
        ('{{ form(campaign="Bad Slug") }}', "lowercase letters"),
    ],
)
def test_a_bad_shortcode_stops_the_build_naming_the_page_and_line(data, markdown, message):
    with pytest.raises(pages.PagesError) as caught:
        pages.expand(f"# Title\n\nSome text.\n{markdown}\n", data, page="site/docs/careers/x.md")
    assert "site/docs/careers/x.md, line 4" in str(caught.value)
    assert message in str(caught.value)


def test_the_hook_turns_a_bad_shortcode_into_a_build_error(tmp_path, caplog):
    from mkdocs.commands.build import build
    from mkdocs.config import load_config
    from mkdocs.exceptions import Abort

    from tests.site.conftest import copy_project

    project = copy_project(tmp_path).root
    (project / "site/docs/careers/porter.md").write_text(
        '---\ntitle: Porter\ndescription: Move things.\n---\n\n# Porter\n\n{{ pay("band-99") }}\n', encoding="utf-8"
    )
    cfg = load_config(str(project / "mkdocs.yml"), site_dir=str(tmp_path / "out"),
                      hooks=[str(project / "site/hooks/pages.py")])
    with pytest.raises(Abort):
        build(cfg)
    # Checked before MkDocs starts (cchcc check's careers check), with the line the hook would give.
    assert re.search(r"site/docs/careers/porter\.md(, |: \(shortcode\): )line 3: .*unknown pay band 'band-99'", caplog.text)
    assert not (tmp_path / "out" / "careers" / "porter" / "index.html").exists()


def test_money_and_pay_text(data):
    assert money(24465) == "£24,465"
    assert money(12.0) == "£12.00"
    out = pages.expand('{{ pay("band-3") }} / {{ pay("national-living-wage") }}', data, page="x.md").markdown
    band3, nlw = PAY["bands"]["band-3"], PAY["hourly"]["national-living-wage"]["rate"]
    assert out == f"£{band3['from']:,} to £{band3['to']:,} a year / £{nlw:.2f} an hour"


def test_a_broken_pay_file_names_the_file_and_field(tmp_path):
    bad = tmp_path / "pay.yml"
    bad.write_text("pay_year: '2025/26'\neffective_from: x\nsource: y\nbands:\n  band-2: {label: B, from: 5, to: 1}\n")
    with pytest.raises(PayError, match=r"pay\.yml: bands\.band-2\.to \(line 5\): is lower than from"):
        load_pay(bad)


def test_pages_say_only_what_the_programmes_facts_support(site_build):
    # The Care Certificate is the standard induction, not something every worker gets by law.
    for role in ("healthcare-support-worker", "care-worker"):
        text = text_of(site_build.page(f"/careers/{role}/"))
        assert "every new health and care worker gets" not in text
        assert "Care Certificate" in text and "not required by law" in text
    # Not every job starts without qualifications: nursing associates need Level 2 English and maths.
    home = text_of(site_build.page("/"))
    assert "You do not need any qualifications to start" not in home and "Level 2" in home
    # No pay figure without a source.
    assert "3.3%" not in text_of(site_build.page("/careers/"))


def test_a_pay_note_giving_a_figure_needs_its_source(tmp_path):
    path = tmp_path / "pay.yml"
    text = (ROOT / "site" / "data" / "pay.yml").read_text(encoding="utf-8")
    path.write_text(text.replace("We will update these figures", "A 3.3% rise was agreed. We will update these figures"))
    with pytest.raises(PayError) as caught:
        load_pay(path, "site/data/pay.yml")
    assert any(p.field == "note_source" and "where it comes from" in p.reason for p in caught.value.problems)
    path.write_text(path.read_text() + 'note_source: "NHS Employers, pay table 2026/27, March 2026"\n')
    assert load_pay(path).note_source.startswith("NHS Employers")
