"""Every figure in the sourced tables of README.md and docs/*.md is held by the committed file its row names.

The tables are GitHub markdown: a header row, a `|---|` row, then rows, each `| a | b |` with
the header's number of cells (a `|` inside a cell is written `\\|`). A table is *sourced* when its
header has a column named `source`: each row's source cell names, in backticks, one or more committed
files, and every number in the row's other cells (but the first, the row's label, and a `script`
column) must be a number of one of those files, as written there or rounded to the digits the README
shows (50.4583 may be quoted as 50.46; 52,002 and 52002 are the same number). Text in backticks is a
name, not a figure. New rows and tables follow the same format: add a `source` cell.
"""

from __future__ import annotations

import re
import shutil
from decimal import ROUND_HALF_EVEN, ROUND_HALF_UP, Decimal
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# docs/params.md is generated from coin/params.py and holds no sourced table (a test below keeps it so)
GENERATED = ("docs/params.md",)
DOCS = ("README.md", *sorted(p.relative_to(ROOT).as_posix() for p in (ROOT / "docs").glob("*.md")
                             if p.relative_to(ROOT).as_posix() not in GENERATED))
# per file, the sections whose tables must be sourced (so a sourced table cannot silently lose its source column)
SOURCED_SECTIONS = {
    "README.md": ("What it found",),
    "docs/evaluation.md": ("Why the centred scores: the raw cosine",),
    "docs/gpus.md": ("Before you run on GPUs: the smoke run",),
    "docs/performance.md": ("Measurements", "bfloat16 on a CPU without bfloat16 units", "Where a training step's time goes"),
    "docs/reproducibility.md": ("Why: the kernels torch picks",),
    "docs/results.md": ("The embedded run", "Ablations on the embedded default", "Wall time per stage", "Accuracy",
                        "Drop rate and align@1", "Answers that name no label", "Training curves",
                        "What the second seed says", "Alignment where the contrastive loss pools"),
}
# benchmark outputs written before benchmarks/record.py's header existed (docs/performance.md names them)
HEADER = ["# date", "# command", "# commit", "# cpu", "# flags", "# torch"]
NUMBER = re.compile(r"(?<![\w.])(\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?)")
PLAIN_NUMBER = re.compile(r"\d+(?:\.\d+)?")
SKIPPED_COLUMNS = ("source", "script")


class TableError(ValueError):
    """A table that does not follow the format."""


def split_row(line: str) -> list[str]:
    """The cells of `| a | b |`; `\\|` stays inside its cell."""
    if not (line.startswith("|") and line.endswith("|")):
        raise TableError(f"not a table row: {line!r}")
    cells = re.split(r"(?<!\\)\|", line[1:-1])
    return [cell.strip() for cell in cells]


def tables(markdown: str) -> list[dict]:
    """Every table: its section (the nearest heading above), header cells, rows (lists of cells)."""
    out, section, lines = [], "", markdown.splitlines()
    i = 0
    while i < len(lines):
        line = lines[i].rstrip()
        if line.startswith("#"):
            section = line.lstrip("#").strip()
        if line.startswith("|") and i + 1 < len(lines) and re.fullmatch(r"\|(\s*:?-{3,}:?\s*\|)+", lines[i + 1].strip()):
            header = split_row(line)
            rows = []
            i += 2
            while i < len(lines) and lines[i].startswith("|"):
                row = split_row(lines[i].rstrip())
                if len(row) != len(header):
                    raise TableError(f"{section}: row has {len(row)} cells, the header {len(header)}: {lines[i]!r}")
                rows.append(row)
                i += 1
            out.append({"section": section, "header": header, "rows": rows})
            continue
        i += 1
    return out


def figures(cell: str) -> list[str]:
    """The numbers of a cell, outside backticks, without thousands commas."""
    text = re.sub(r"`[^`]*`", " ", cell)
    return [match.replace(",", "") for match in NUMBER.findall(text)]


def file_numbers(text: str) -> set[str]:
    return set(PLAIN_NUMBER.findall(text)) | {m.replace(",", "") for m in NUMBER.findall(text)}


def _decimals(number: str) -> int:
    return len(number.split(".", 1)[1]) if "." in number else 0


def held(figure: str, numbers: set[str]) -> bool:
    """True when a file number is `figure`, or rounds to it at the figure's number of decimals."""
    if figure in numbers:
        return True
    want, places = Decimal(figure), _decimals(figure)
    step = Decimal(1).scaleb(-places)
    for number in numbers:
        value = Decimal(number)
        if _decimals(number) <= places:
            if value == want:
                return True
        elif want in (value.quantize(step, ROUND_HALF_UP), value.quantize(step, ROUND_HALF_EVEN)):
            return True
    return False


def sources(cell: str) -> list[str]:
    return re.findall(r"`([^`\s]+)`", cell)


def check_figures(readme: str, root: Path) -> list[str]:
    """One line per figure of a sourced table that its source files do not hold (or per bad source)."""
    problems = []
    for table in tables(readme):
        header = [h.lower() for h in table["header"]]
        if "source" not in header:
            continue
        at = header.index("source")
        for row in table["rows"]:
            paths = sources(row[at])
            if not paths:
                problems.append(f"{table['section']}: row {row[0]!r} names no source file")
                continue
            numbers: set[str] = set()
            for path in paths:
                if not (root / path).is_file():
                    problems.append(f"{table['section']}: row {row[0]!r}: source {path} is not a file")
                    continue
                numbers |= file_numbers((root / path).read_text(errors="replace"))
            for column, cell in list(enumerate(row))[1:]:
                if header[column] in SKIPPED_COLUMNS:
                    continue
                for figure in figures(cell):
                    if not held(figure, numbers):
                        problems.append(f"{table['section']}: row {row[0]!r}: {figure} is not in {', '.join(paths)}")
    return problems


@pytest.mark.parametrize("doc", DOCS)
def test_every_sourced_figure_is_in_its_file(doc):
    assert check_figures((ROOT / doc).read_text(), ROOT) == []


def test_the_generated_params_reference_has_no_sourced_table():
    """docs/params.md is left out of the figure check because no table of it has a `source` column."""
    for doc in GENERATED:
        assert not [t for t in tables((ROOT / doc).read_text()) if "source" in [h.lower() for h in t["header"]]]


@pytest.mark.parametrize("doc", sorted(SOURCED_SECTIONS))
def test_the_sections_that_quote_figures_have_sourced_tables(doc):
    found = {t["section"] for t in tables((ROOT / doc).read_text()) if "source" in [h.lower() for h in t["header"]]}
    assert set(SOURCED_SECTIONS[doc]) <= found


def _has_header(path: Path) -> bool:
    return [line.split(":", 1)[0] for line in path.read_text().splitlines()[:6]] == HEADER


def test_performance_sources_are_benchmark_outputs_with_a_header():
    table = next(t for t in tables((ROOT / "docs" / "performance.md").read_text()) if t["section"] == "Measurements")
    at = [h.lower() for h in table["header"]].index("source")
    for row in table["rows"]:
        for path in sources(row[at]):
            assert path.startswith("reports/"), path
            if not path.startswith("reports/benchmarks/"):
                continue  # an output kept before record.py (reports/smollm2/benchmark.txt)
            assert _has_header(ROOT / path), path


def test_the_outputs_without_the_common_header_are_the_ones_the_docs_name():
    """docs/performance.md's sentence "... predate that header ..." names exactly the committed
    reports/benchmarks/*.txt without record.py's header; a rerun through record.py writes it."""
    text = " ".join((ROOT / "docs" / "performance.md").read_text().split())
    sentence = next(s for s in re.split(r"(?<=\.) ", text) if "predate that header" in s)
    named = {p for p in sources(sentence) if p.startswith("reports/benchmarks/")}
    without = {p.relative_to(ROOT).as_posix() for p in (ROOT / "reports" / "benchmarks").glob("*.txt") if not _has_header(p)}
    assert named == without


def _plant_edit(text: str, row: list[str], numbers: set[str]) -> tuple[str, str] | None:
    """`text` with the first figure of `row` (after its label) that appears literally in it moved by 7
    units in its last digit, and that figure; None when no figure of the row can be edited that way."""
    old_line = "| " + " | ".join(row) + " |"
    assert old_line in text, old_line
    for cell in row[1:]:
        for figure in figures(cell):
            places = _decimals(figure)
            edited = str(Decimal(figure) + Decimal(7).scaleb(-places)) if places else str(int(figure) + 7)
            literal = re.search(rf"(?<![\d.,]){re.escape(figure)}(?![\d,])", old_line)
            if literal is None or held(edited, numbers):
                continue
            new_line = old_line[: literal.start()] + edited + old_line[literal.end():]
            return text.replace(old_line, new_line, 1), edited
    return None


@pytest.mark.parametrize("doc", sorted(SOURCED_SECTIONS))
def test_a_figure_edited_by_hand_fails(tmp_path, doc):
    """On a copy: change one sourced figure of every sourced table of each checked section."""
    text = (ROOT / doc).read_text()
    checked = set()
    for table in tables(text):
        header = [h.lower() for h in table["header"]]
        if table["section"] not in SOURCED_SECTIONS[doc] or "source" not in header:
            continue
        planted = None
        for row in table["rows"]:  # the first row with a figure that can move to a number its files lack
            numbers = set().union(*(file_numbers((ROOT / p).read_text(errors="replace")) for p in sources(row[header.index("source")])))
            planted = _plant_edit(text, row, numbers)
            if planted:
                break
        assert planted is not None, (doc, table["section"])
        copy = tmp_path / Path(doc).name
        copy.write_text(planted[0])
        problems = check_figures(copy.read_text(), ROOT)
        assert any(f": {planted[1]} is not in" in p for p in problems), (doc, table["section"], planted[1], problems)
        checked.add(table["section"])
    assert checked == set(SOURCED_SECTIONS[doc])  # every sourced table of each section, one edit each


def test_parser_is_strict_and_reads_escaped_pipes():
    text = "## S\n\n| a | b | source |\n|---|---:|---|\n| x `p\\|q` | 1.25 | `f.txt` |\n"
    (table,) = tables(text)
    assert table == {"section": "S", "header": ["a", "b", "source"], "rows": [["x `p\\|q`", "1.25", "`f.txt`"]]}
    with pytest.raises(TableError, match="row has 2 cells, the header 3"):
        tables("## S\n| a | b | c |\n|---|---|---|\n| 1 | 2 |\n")


def test_rounding_rule(tmp_path):
    (tmp_path / "out.txt").write_text("accuracy 50.4583, rows 52002, ratio 1.130\n")
    good = "## S\n| what | figure | source |\n|---|---|---|\n| x | 50.46, 52,002 rows, 1.13x | `out.txt` |\n"
    assert check_figures(good, tmp_path) == []
    bad = good.replace("50.46", "50.47")
    assert check_figures(bad, tmp_path) == ["S: row 'x': 50.47 is not in out.txt"]
    missing = good.replace("`out.txt`", "`gone.txt`")
    assert check_figures(missing, tmp_path)[0] == "S: row 'x': source gone.txt is not a file"


def test_copy_of_the_project_files_still_passes(tmp_path):
    """The check reads files relative to the root it is given, not the checkout's."""
    for doc in DOCS:
        text = (ROOT / doc).read_text()
        for table in tables(text):
            header = [h.lower() for h in table["header"]]
            if "source" in header:
                for row in table["rows"]:
                    for path in sources(row[header.index("source")]):
                        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
                        shutil.copy(ROOT / path, tmp_path / path)
        assert check_figures(text, tmp_path) == [], doc
