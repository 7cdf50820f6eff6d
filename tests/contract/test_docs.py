"""The documentation stays short where it must and never links to what is not there."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tools.docs import BUNDLE, CONTRACTS, render, script_json

ROOT = Path(__file__).resolve().parents[2]
README_MAX_LINES = 200
DOCUMENTS = sorted(
    [
        ROOT / "README.md",
        ROOT / "CONTRIBUTING.md",
        ROOT / "CHANGELOG.md",
        *(ROOT / "docs").glob("*.md"),
    ]
)

FENCED_BLOCK = re.compile(r"^(```|~~~).*?^\1", re.MULTILINE | re.DOTALL)
INLINE_CODE = re.compile(r"`[^`\n]*`")
# [text](target) and [text](target "title"); images too, since ![alt](path) must exist as well.
LINK = re.compile(r"\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
HEADING = re.compile(r"^#{1,6}\s+(.+?)\s*#*\s*$", re.MULTILINE)


def prose(text: str) -> str:
    """The text without code, where a bracket or parenthesis is no link."""
    return INLINE_CODE.sub("", FENCED_BLOCK.sub("", text))


def relative_links(document: Path) -> list[str]:
    targets = LINK.findall(prose(document.read_text(encoding="utf-8")))
    return [t for t in targets if not re.match(r"^[a-z][a-z0-9+.-]*:", t, re.IGNORECASE)]


def anchors(document: Path) -> set[str]:
    """The fragment ids GitHub gives a document's headings (lower case, punctuation dropped,
    spaces as hyphens, a repeated heading numbered)."""
    seen: dict[str, int] = {}
    result: set[str] = set()
    for heading in HEADING.findall(FENCED_BLOCK.sub("", document.read_text(encoding="utf-8"))):
        slug = re.sub(r"[^\w\- ]", "", heading.replace("`", "").lower()).replace(" ", "-")
        count = seen.get(slug, 0)
        seen[slug] = count + 1
        result.add(slug if count == 0 else f"{slug}-{count}")
    return result


def test_readme_is_short() -> None:
    lines = (ROOT / "README.md").read_text(encoding="utf-8").count("\n")
    assert lines <= README_MAX_LINES, f"README.md has {lines} lines; move detail into docs/"


def test_the_documents_exist() -> None:
    assert all(document.is_file() for document in DOCUMENTS)
    assert len(DOCUMENTS) > 3


@pytest.mark.parametrize("document", DOCUMENTS, ids=lambda d: str(d.relative_to(ROOT)))
def test_relative_links_point_at_what_exists(document: Path) -> None:
    broken = []
    for target in relative_links(document):
        path_part, _, fragment = target.partition("#")
        linked = (document.parent / path_part).resolve() if path_part else document
        if not linked.exists():
            broken.append(f"{target}: no such file")
        elif not linked.is_relative_to(ROOT):
            broken.append(f"{target}: outside the repository")
        elif fragment and linked.suffix == ".md" and fragment not in anchors(linked):
            broken.append(f"{target}: no heading #{fragment} in {linked.relative_to(ROOT)}")
    assert not broken, broken


def test_make_docs_renders_every_committed_document(tmp_path: Path) -> None:
    references = render(CONTRACTS, tmp_path)
    assert sorted(r.page for r in references) == sorted(
        f"{p.stem}.html" for p in CONTRACTS.glob("*.json")
    )
    assert (tmp_path / BUNDLE).is_file()
    index = (tmp_path / "index.html").read_text(encoding="utf-8")
    for reference in references:
        assert reference.operations > 0
        assert f'href="{reference.page}"' in index
        page = (tmp_path / reference.page).read_text(encoding="utf-8")
        assert f'<script src="{BUNDLE}"></script>' in page
        # The embedded document cannot close its <script> element early, whatever it says.
        embedded = page.split("Redoc.init(", 1)[1]
        assert "</" not in embedded.split("</script>", 1)[0]


def test_embedded_json_cannot_end_its_script_element() -> None:
    assert "<" not in script_json({"description": "</script><script>alert(1)</script>"})
