"""A comms officer whose page has a mistake is told which file, which line and why."""

from __future__ import annotations

import pytest

from cchcc.site.build import BuildStoppedError, build


def test_given_a_page_with_an_unknown_pay_band_when_built_then_the_error_names_file_line_and_reason(project_copy):
    # Given a page that asks for a pay band pay.yml does not have
    (project_copy.docs_dir / "zz-broken.md").write_text('# Broken\n\n{{ pay("band-9") }}\n', encoding="utf-8")
    # When the site is built
    with pytest.raises(BuildStoppedError) as info:
        build(project_copy, site_dir=project_copy.root / "out", cache_dir=project_copy.root / "cache")
    # Then the message is MkDocs' reason, not its bare "Aborted with a BuildError!"
    message = str(info.value)
    assert "zz-broken.md" in message and "line 3" in message
    assert "unknown pay band 'band-9'" in message
    assert "Aborted with" not in message
