"""The README starts short and points at docs/; the test commands it gives are CI's; no page lists the
optimizer sheets by name (a new sheet is one file: `xlopt run --help` lists them)."""
import re
from pathlib import Path

from xlopt.core import sheets

ROOT = Path(__file__).resolve().parent.parent
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def test_the_readme_is_short_and_gives_cis_command_and_the_fast_tier():
    readme = (ROOT / "README.md").read_text()
    assert len(readme.splitlines()) <= 180
    ci = (ROOT / ".ci" / "run").read_text()
    assert "bash .ci/setup && .venv/bin/python -m pytest -q" in ci
    assert "    bash .ci/setup && .venv/bin/python -m pytest -q\n" in readme
    assert '.venv/bin/python -m pytest -q -m "not slow"' in readme
    assert "Problems beyond the line" in readme


def test_every_relative_link_leads_to_a_file():
    broken = []
    for page in PAGES:
        for target in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", page.read_text()):
            if "://" not in target and not (page.parent / target).exists():
                broken.append(f"{page.relative_to(ROOT)}: {target}")
    assert broken == []


def test_no_page_lists_every_optimizer_sheet():
    for page in PAGES:
        for para in page.read_text().split("\n\n"):
            named = {n for n in sheets.SHEETS if re.search(rf"(?<![\w/]){re.escape(n)}(?!\w)", para)}
            assert len(named) < len(sheets.SHEETS), (page.name, para[:200])
