"""The project's copy of the paper's tables, and the numbers read from it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from coin.data import paper
from coin.data.registry import FLAN_DATASETS

SHARED = Path(__file__).resolve().parents[2] / "shared" / "paper" / "coin_paper_tables.json"


@pytest.mark.skipif(not SHARED.is_file(), reason="../shared/paper is not present")
def test_copy_equals_the_shared_paper_tables():
    assert json.loads(paper.PAPER_TABLES.read_text()) == json.loads(SHARED.read_text())


def test_table2_has_every_dataset_and_sums_to_52002():
    counts = paper.table2_entries()
    assert sorted(counts) == sorted(FLAN_DATASETS)
    assert sum(counts.values()) == 52002 == paper.paper_tables()["table2_total"]
    assert (counts["imdb"], counts["multirc"], counts["cb"], counts["sentiment140"]) == (354, 30, 232, 2684)


def test_cells_of_tables_3_1_and_4():
    assert paper.table3_cell("coin", "clean", "average") == (71.1, 9.5)
    assert paper.table3_cell("base", "clean", "cola") == (65.1, 2.1)
    assert paper.table3_cell("base", "perturbed", "cola") is None
    assert paper.table1_cell("coin", "grammar") == (68.4, 3.9)
    assert paper.table1_cell("base", "grammar") is None
    assert paper.table4_cell(1.0, "clean") == (68.8, 11.6)
    assert paper.table4_cell(1e8, "clean") == paper.table4_cell(100000000, "clean") is not None
    assert paper.table4_cell(5.0, "clean") is None
    assert len(paper.table3_columns()) == 10
