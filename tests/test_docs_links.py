"""README.md and docs/*.md: every relative link and heading anchor resolves, the README stays a short
entry point to the docs, the project speaks of itself only, and no committed file under reports/ or
docs/ names an absolute path of the machine that wrote it.

Anchors follow GitHub's rule for heading slugs: lowercase, every character that is not a letter, a
digit, a space, `-` or `_` dropped, spaces turned into `-`; a repeated heading gets `-1`, `-2`, ...
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = ("README.md", *sorted(p.relative_to(ROOT).as_posix() for p in (ROOT / "docs").glob("*.md")))
LINK = re.compile(r"!?\[(?:[^\]\\]|\\.)*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")
FENCE = re.compile(r"^\s*(```|~~~)")
# absolute folders of a machine (a temp folder, a home, a work tree): never in a committed report or doc
MACHINE_PATH = re.compile(r"(?<![\w.$~<>/-])/(?:work|tmp|root|home|Users|mnt|scratch|private|opt|var/folders)/[\w.$-]")
# words of how the project was made, not of what it is
NOT_THE_PROJECT = re.compile(
    r"previous stop|\bstop\b|\bsessions?\b|the issue's target|\bissue \d+|not investigated here", re.IGNORECASE
)


def prose_lines(markdown: str, keep_code: bool = False) -> list[tuple[int, str]]:
    """(line number, text) of every line outside fenced code blocks, inline code removed (or, with
    `keep_code`, only its backticks: a heading's anchor keeps the code's text)."""
    out, fenced = [], False
    for number, line in enumerate(markdown.splitlines(), 1):
        if FENCE.match(line):
            fenced = not fenced
            continue
        if not fenced:
            out.append((number, line.replace("`", "") if keep_code else re.sub(r"`[^`]*`", "", line)))
    return out


def slug(heading: str) -> str:
    """GitHub's anchor for a heading's text."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def anchors(markdown: str) -> set[str]:
    """Every heading anchor of a markdown file, repeated headings numbered as GitHub numbers them."""
    seen: dict[str, int] = {}
    out = set()
    for _, line in prose_lines(markdown, keep_code=True):
        match = re.match(r"^#{1,6}\s+(.*?)\s*#*\s*$", line)
        if not match:
            continue
        base = slug(match.group(1))
        count = seen.get(base, 0)
        out.add(base if count == 0 else f"{base}-{count}")
        seen[base] = count + 1
    return out


def check_links(docs: list[str], root: Path) -> list[str]:
    """One line per relative link (or anchor) of `docs` (paths under `root`) that does not resolve."""
    problems = []
    for doc in docs:
        path = root / doc
        for number, line in prose_lines(path.read_text()):
            for target in LINK.findall(line):
                if re.match(r"^[a-z][a-z0-9+.-]*:", target):  # https:, mailto:
                    continue
                file_part, _, anchor = target.partition("#")
                linked = (path.parent / file_part).resolve() if file_part else path
                where = f"{doc}:{number}: {target}"
                if not linked.exists():
                    problems.append(f"{where}: {file_part} does not exist")
                elif anchor and linked.suffix == ".md" and anchor not in anchors(linked.read_text()):
                    problems.append(f"{where}: no heading #{anchor} in {linked.relative_to(root.resolve()).as_posix()}")
    return problems


def test_slug_follows_githubs_rule():
    assert slug("Stage graph (dvc.yaml is the single source of paths)") == "stage-graph-dvcyaml-is-the-single-source-of-paths"
    assert slug("Profiles: the real model, the paper's setup, and back") == "profiles-the-real-model-the-papers-setup-and-back"
    assert slug("Drop rate and align@1") == "drop-rate-and-align1"
    assert slug("COIN − CIT and its interval") == "coin--cit-and-its-interval"
    assert anchors("# A\n## B\n## B\n```\n# not a heading\n```\n") == {"a", "b", "b-1"}


def test_every_relative_link_and_anchor_resolves():
    assert check_links(list(DOCS), ROOT) == []


def test_a_broken_link_or_anchor_fails(tmp_path):
    """On a copy of README.md and docs/: a link to a missing page and one to a missing heading."""
    shutil.copy(ROOT / "README.md", tmp_path / "README.md")
    shutil.copytree(ROOT / "docs", tmp_path / "docs")
    for path in sources_of_links(ROOT):  # the files the links point at, so only the planted ones break
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        if (ROOT / path).is_file():
            shutil.copy(ROOT / path, tmp_path / path)
        else:
            (tmp_path / path).mkdir(exist_ok=True)
    assert check_links(list(DOCS), tmp_path) == []
    readme = (tmp_path / "README.md").read_text()
    (tmp_path / "README.md").write_text(readme + "\nSee [nowhere](docs/missing.md) and [there](docs/usage.md#no-such-heading).\n")
    usage = (tmp_path / "docs" / "usage.md").read_text()
    (tmp_path / "docs" / "usage.md").write_text(usage.replace("](evaluation.md)", "](evaluation.md#not-a-section)", 1))
    problems = check_links(list(DOCS), tmp_path)
    assert any("docs/missing.md does not exist" in p for p in problems), problems
    assert any("no heading #no-such-heading in docs/usage.md" in p for p in problems), problems
    assert any(p.startswith("docs/usage.md:") and "#not-a-section" in p for p in problems), problems
    assert len(problems) == 3, problems


def sources_of_links(root: Path) -> set[str]:
    """The files and folders outside README.md and docs/ that the docs link to (relative to root)."""
    out = set()
    for doc in DOCS:
        for _, line in prose_lines((root / doc).read_text()):
            for target in LINK.findall(line):
                file_part = target.partition("#")[0]
                if file_part and not re.match(r"^[a-z][a-z0-9+.-]*:", file_part):
                    resolved = ((root / doc).parent / file_part).resolve()
                    relative = resolved.relative_to(root.resolve()).as_posix()
                    if relative != "README.md" and not relative.startswith("docs/"):
                        out.add(relative)
    return out


# --- the README as an entry point ---------------------------------------------------------------


def _section(markdown: str, title: str) -> str:
    match = re.search(rf"^## {re.escape(title)}\n(.*?)(?=^## |\Z)", markdown, re.M | re.S)
    assert match, title
    return match.group(1)


def test_readme_is_short_and_links_every_docs_page():
    readme = (ROOT / "README.md").read_text()
    assert len(readme.splitlines()) <= 200
    linked = {target.partition("#")[0] for _, line in prose_lines(readme) for target in LINK.findall(line)}
    assert {p for p in DOCS if p != "README.md"} <= linked


def test_quick_start_names_exactly_make_run_and_make_test():
    quick = _section((ROOT / "README.md").read_text(), "Quick start")
    block = re.search(r"```bash\n(.*?)```", quick, re.S).group(1)
    assert [line.split("#")[0].strip() for line in block.strip().splitlines()] == ["make run", "make test"]
    assert "make test" in (ROOT / ".ci" / "run").read_text().splitlines()


def test_every_docs_page_opens_with_the_question_it_answers():
    for doc in DOCS:
        if doc in ("README.md", "docs/params.md"):
            continue
        lines = (ROOT / doc).read_text().splitlines()
        assert lines[0].startswith("# ") and lines[1] == "", doc
        opening = lines[2: lines.index("", 2)]
        assert 2 <= len(opening) <= 3 and "?" in " ".join(opening), (doc, opening)


# --- the project speaks of itself; no machine paths ----------------------------------------------


def committed_text_files(root: Path, folders: tuple[str, ...]) -> list[str]:
    """The git-tracked files under `folders` that are text (UTF-8, no NUL byte)."""
    listed = subprocess.run(["git", "ls-files", "--", *folders], cwd=root, capture_output=True, text=True, check=True)
    out = []
    for name in listed.stdout.splitlines():
        data = (root / name).read_bytes() if (root / name).is_file() else b"\0"
        if b"\0" in data:
            continue
        try:
            data.decode("utf-8")
        except UnicodeDecodeError:
            continue
        out.append(name)
    return out


def machine_paths(root: Path, names: list[str]) -> list[str]:
    """One line per absolute machine path in the files `names` (relative to `root`)."""
    problems = []
    for name in names:
        for number, line in enumerate((root / name).read_text().splitlines(), 1):
            for match in MACHINE_PATH.finditer(line):
                problems.append(f"{name}:{number}: {line[match.start():match.start() + 40]}")
    return problems


def test_no_committed_report_or_doc_names_a_machine_path():
    names = committed_text_files(ROOT, ("reports", "docs"))
    assert any(n.startswith("reports/benchmarks/") for n in names) and any(n.startswith("reports/smollm2/") for n in names)
    assert machine_paths(ROOT, list(dict.fromkeys([*names, *DOCS]))) == []


def test_a_planted_machine_path_fails(tmp_path):
    for name, text in {
        "reports/benchmarks/x.txt": "# command: python benchmarks/x.py --train /tmp/smollm2-train.parquet\n",
        "reports/smollm2/y.md": "CIT /work/models-seed42/cit, COIN models/coin\n",
        "docs/z.md": "see /home/someone/coin and $TMPDIR/tmpabc/base and /proc/cpuinfo\n",
    }.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    problems = machine_paths(tmp_path, ["reports/benchmarks/x.txt", "reports/smollm2/y.md", "docs/z.md"])
    assert [p.split(": ", 1)[0] for p in problems] == ["reports/benchmarks/x.txt:1", "reports/smollm2/y.md:1", "docs/z.md:1"]


def test_the_docs_and_reports_speak_of_the_project_only():
    names = ["README.md", *committed_text_files(ROOT, ("reports", "docs")), *[d for d in DOCS if d != "README.md"]]
    found = [f"{name}:{n}: {m.group(0)}" for name in dict.fromkeys(names)
             for n, line in enumerate((ROOT / name).read_text().splitlines(), 1) for m in NOT_THE_PROJECT.finditer(line)]
    assert found == []


def test_a_planted_word_of_the_making_fails(tmp_path):
    (tmp_path / "a.md").write_text("Measured in the previous stop.\nAs issue 23 asked.\nok: stops, stopped\n")
    found = [m.group(0) for line in (tmp_path / "a.md").read_text().splitlines() for m in NOT_THE_PROJECT.finditer(line)]
    assert found == ["previous stop", "issue 23"]
