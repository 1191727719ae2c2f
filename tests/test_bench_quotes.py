"""Speed figures quoted in the README and in the catalog's comments come from a results file,
which the text names.

A figure is a ratio (`1.178×`, or `1.178x`) or a time in milliseconds (`11.1 ms`); a goal,
written `≥ 1.05×`, is not a measurement and is left alone. In a catalog file a paragraph is a
run of comment lines. Its citation is the first `benchmarks/results/<file>.md`
in backquotes after it in the same paragraph, optionally `@<git revision>` for the file as that
commit left it (results files are overwritten by each run). The figure must appear in that file.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
FIGURE = re.compile(r"(?<![\d.])(?<!≥ )(?:(\d+(?:\.\d+)?)(?:×| ms\b)|(\d+\.\d+)x\b)")
CATALOG = REPO / "src" / "pbs" / "catalog"
CITATION = re.compile(r"`(benchmarks/results/[^`@\s]+\.md)(?:@([0-9a-f]{7,40}))?`")


def cited_text(path: str, revision: str | None) -> str:
    if revision is None:
        return (REPO / path).read_text()
    return subprocess.run(["git", "-C", str(REPO), "show", f"{revision}:{path}"],
                          capture_output=True, text=True, check=True).stdout


def problems(text: str) -> list[str]:
    """Each quoted figure without a citation after it, or not in the file it cites."""
    found = []
    for paragraph in re.split(r"\n\s*\n", text):
        citations = list(CITATION.finditer(paragraph))
        for figure in FIGURE.finditer(paragraph):
            citation = next((c for c in citations if c.start() > figure.end()), None)
            if citation is None:
                found.append(f"{figure[0]!r} cites no results file: {paragraph[:60]!r}…")
                continue
            number = re.compile(rf"(?<![\d.]){re.escape(figure[1] or figure[2])}(?!\d)")
            if not number.search(cited_text(citation[1], citation[2])):
                found.append(f"{figure[0]!r} is not in {citation[0]}")
    return found


def test_every_speed_figure_the_readme_quotes_is_in_the_results_file_it_cites() -> None:
    assert problems((REPO / "README.md").read_text()) == []


def comment_paragraphs(toml: str) -> str:
    """The comments of a TOML file, each run of comment lines one paragraph."""
    paragraphs, current = [], []
    for line in toml.splitlines():
        if line.lstrip().startswith("#"):
            current.append(line.lstrip().removeprefix("#").strip())
        elif current:
            paragraphs.append(" ".join(current))
            current = []
    return "\n\n".join([*paragraphs, " ".join(current)])


def test_every_speed_figure_a_catalog_comment_quotes_is_in_the_results_file_it_cites() -> None:
    found = {path.name: problems(comment_paragraphs(path.read_text()))
             for path in sorted(CATALOG.glob("*.toml"))}
    assert {name: found_here for name, found_here in found.items() if found_here} == {}


def test_a_figure_not_in_its_file_or_without_a_file_is_caught() -> None:
    text = ("pbs 3.11: 1.074× Debian's (`benchmarks/results/pbs-3.11-debian.md`), "
            "goal ≥ 1.05×.\n\n"
            "Once 1.999× (`benchmarks/results/pbs-3.11-debian.md`), and 1.022× "
            "(`benchmarks/results/speed.md@0b98834`).\n\n"
            "Start-up 8.2 ms, uncited.\n")
    assert problems(text) == [
        "'1.999×' is not in `benchmarks/results/pbs-3.11-debian.md`",
        "'8.2 ms' cites no results file: 'Start-up 8.2 ms, uncited.\\n'…",
    ]


def test_a_catalog_comments_figure_is_caught_as_the_readmes_are() -> None:
    toml = ("# clang made the loop 4x larger; gcc's 3.11 build ran 1.108x\n"
            "# Debian's on four benchmarks.\n"
            "[options]\n"
            "# 1.031× Debian's (`benchmarks/results/speed.md@7b737e0`)\n")
    assert problems(comment_paragraphs(toml)) == [
        "'1.108x' cites no results file: "
        "\"clang made the loop 4x larger; gcc's 3.11 build ran 1.108x D\"…"]
