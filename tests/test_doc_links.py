"""Every relative link in the Markdown documentation leads somewhere: README.md and docs/**/*.md.

A link's file must exist (relative to the page, inside the repository), and a ``#anchor`` into a
Markdown page must name one of its headings, slugged as GitHub slugs them, or an explicit
``<a id=...>`` / ``<a name=...>``. Links inside code (fenced blocks, inline code spans) are not
links and are skipped, as are absolute URLs (http:, https:, mailto:, ...).
"""

from __future__ import annotations

import re
import unicodedata
from functools import cache
from pathlib import Path
from urllib.parse import unquote

import pytest

REPO = Path(__file__).resolve().parents[1]
PAGES = [REPO / "README.md", *sorted((REPO / "docs").rglob("*.md"))]

FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
CODE_SPAN = re.compile(r"(`+)(?!`).*?(?<!`)\1(?!`)", re.DOTALL)
HTML_COMMENT = re.compile(r"<!--.*?-->", re.DOTALL)
# [text](target "title") and ![alt](target); the text may hold one level of brackets.
INLINE_LINK = re.compile(
    r"!?\[(?:[^\[\]]|\[[^\[\]]*\])*\]"
    r"\(\s*(<[^>\n]*>|[^\s()]*(?:\([^\s()]*\)[^\s()]*)*)"
    r"(?:\s+(?:\"[^\"]*\"|'[^']*'|\([^()]*\)))?\s*\)"
)
REFERENCE_DEFINITION = re.compile(r"^ {0,3}\[[^\]]+\]:\s*(<[^>\n]*>|\S+)", re.MULTILINE)
ATX_HEADING = re.compile(r"^ {0,3}(#{1,6})[ \t]+(.*?)(?:[ \t]+#+)?[ \t]*$")
EXPLICIT_ANCHOR = re.compile(r"<a\s+[^>]*?(?:id|name)\s*=\s*[\"']([^\"']+)[\"']", re.IGNORECASE)
SCHEME = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:")


def _blank(match: re.Match[str]) -> str:
    return re.sub(r"[^\n]", " ", match.group(0))


def blank_fences(text: str) -> str:
    """The text with fenced code blocks and HTML comments blanked out, line breaks kept."""
    lines = text.split("\n")
    fence = None
    for i, line in enumerate(lines):
        match = FENCE.match(line)
        if fence is None and match:
            fence = match.group(1)
            lines[i] = ""
        elif fence is not None:
            if match and match.group(1)[0] == fence[0] and len(match.group(1)) >= len(fence) \
                    and not line.strip()[len(match.group(1)):].strip():
                fence = None
            lines[i] = ""
    return HTML_COMMENT.sub(_blank, "\n".join(lines))


def blank_code(text: str) -> str:
    """The text with fenced code blocks, HTML comments and inline code spans blanked out.

    Offsets and line breaks are kept, so a link's line number stays right.
    """
    return CODE_SPAN.sub(_blank, blank_fences(text))


def heading_text(markdown: str) -> str:
    """What GitHub renders of a heading's inline Markdown: the text that its anchor is made from."""
    parts = re.split(r"(`+[^`]*?`+)", markdown)
    out = []
    for part in parts:
        if part.startswith("`"):
            out.append(part.strip("`"))
            continue
        part = re.sub(r"!?\[((?:[^\[\]]|\[[^\[\]]*\])*)\]\([^)]*\)", r"\1", part)  # links: their text
        part = re.sub(r"<[^>]+>", "", part)  # inline HTML tags
        part = part.replace("*", "")
        part = re.sub(r"(?<![\w])_+|_+(?![\w])", "", part)  # _emphasis_, not snake_case
        out.append(part)
    return "".join(out)


def github_slug(text: str) -> str:
    """GitHub's anchor for a heading's text: lower case, punctuation dropped, spaces to hyphens.

    Letters, digits, underscores and hyphens stay (in any script); nothing is collapsed, so
    ``a: b`` gives ``a-b`` and ``a / b`` gives ``a--b``.
    """
    text = unicodedata.normalize("NFC", text.strip().lower())
    kept = "".join(ch for ch in text
                   if ch in " -_" or unicodedata.category(ch)[0] in "LNM")
    return kept.replace(" ", "-")


@cache
def anchors(page: Path) -> frozenset[str]:
    """The anchors GitHub gives a Markdown page: each heading's slug (repeats get -1, -2, ...)."""
    text = page.read_text(encoding="utf-8")
    seen: dict[str, int] = {}
    found = set(EXPLICIT_ANCHOR.findall(blank_code(text)))
    for line in blank_fences(text).split("\n"):
        match = ATX_HEADING.match(line)
        if not match:
            continue
        slug = github_slug(heading_text(match.group(2)))
        if slug in seen:
            seen[slug] += 1
            found.add(f"{slug}-{seen[slug]}")
        else:
            seen[slug] = 0
            found.add(slug)
    return frozenset(found)


def links(page: Path) -> list[tuple[int, str]]:
    """(line number, target) of every link on the page that is not inside code."""
    text = blank_code(page.read_text(encoding="utf-8"))
    found = []
    for pattern in (INLINE_LINK, REFERENCE_DEFINITION):
        for match in pattern.finditer(text):
            target = match.group(1).strip()
            if target.startswith("<") and target.endswith(">"):
                target = target[1:-1]
            found.append((text.count("\n", 0, match.start(1)) + 1, target))
    return sorted(found)


def broken(page: Path, target: str, root: Path = REPO) -> str | None:
    """Why a link from ``page`` to ``target`` leads nowhere, or None when it resolves."""
    if SCHEME.match(target) or target.startswith("//"):
        return None  # an absolute URL: not checked here
    path_part, _, anchor = target.partition("#")
    path_part = unquote(path_part.split("?", 1)[0])
    if path_part.startswith("/"):
        return "an absolute path: GitHub resolves it against the site, not the repository; use a relative one"
    destination = (page.parent / path_part).resolve() if path_part else page
    root = root.resolve()
    if root not in destination.parents and destination != root:
        return "it leaves the repository"
    if not destination.exists():
        return f"{destination.relative_to(root)} does not exist"
    if anchor and destination.is_file() and destination.suffix.lower() == ".md":
        if unquote(anchor).lower() not in anchors(destination):
            return f"{destination.relative_to(root)} has no heading with the anchor #{anchor}"
    return None


@pytest.mark.parametrize("page", PAGES, ids=[str(p.relative_to(REPO)) for p in PAGES])
def test_every_relative_link_resolves(page):
    problems = [f"{page.relative_to(REPO)}:{line}: ({target}) {why}"
                for line, target in links(page)
                if (why := broken(page, target)) is not None]
    assert not problems, "broken links:\n" + "\n".join(problems)


def test_the_pattern_finds_the_links():
    """A link pattern that matched nothing would pass every page."""
    found = {target for _, target in links(REPO / "README.md")}
    assert {"docs/pipeline.md", "docs/localcloud/README.md"} <= found


@pytest.mark.parametrize("heading, slug", [
    # GitHub's rules: no collapsing of hyphens, underscores kept, code and link text kept.
    ("Quickstart", "quickstart"),
    ("`make run`: the whole workbook, unattended", "make-run-the-whole-workbook-unattended"),
    ("`make notebooks` (maintainers): refresh the committed outputs",
     "make-notebooks-maintainers-refresh-the-committed-outputs"),
    ("Way 2: one shared server (JupyterHub), one local cloud per learner (`local`)",
     "way-2-one-shared-server-jupyterhub-one-local-cloud-per-learner-local"),
    ("Sizing a shared server (measured)", "sizing-a-shared-server-measured"),
    ("With conda instead of `.venv`", "with-conda-instead-of-venv"),
    ("`LOCALCLOUD_PORT` and *ports*", "localcloud_port-and-ports"),
    ("Client → API Gateway", "client--api-gateway"),
    ("[Linked](other.md) heading", "linked-heading"),
])
def test_github_slugs(heading, slug):
    assert github_slug(heading_text(heading)) == slug


def test_the_checker_catches_what_it_should(tmp_path):
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "a.md").write_text("# Title\n\n## Two words\n\n## Two words\n")
    page = tmp_path / "README.md"
    page.write_text(
        "[ok](docs/a.md) [ok](docs/a.md#two-words) [ok](docs/a.md#two-words-1) [ok](#here)\n"
        "[bad](docs/b.md) [bad](docs/a.md#nowhere) [bad](/docs/a.md) [bad](../outside.md)\n"
        "`[in code](nowhere.md)` [web](https://example.com/x.md)\n\n"
        "```\n[in a fence](nowhere.md)\n```\n\n## Here\n")
    verdicts = {target: broken(page, target, root=tmp_path) for _, target in links(page)}
    assert {t for t, why in verdicts.items() if why is None} == {
        "docs/a.md", "docs/a.md#two-words", "docs/a.md#two-words-1", "#here", "https://example.com/x.md"}
    assert {t for t, why in verdicts.items() if why} == {
        "docs/b.md", "docs/a.md#nowhere", "/docs/a.md", "../outside.md"}
