"""The COIN paper's own numbers (arXiv 2402.11138), to print beside the pipeline's.

`paper_tables.json` (next to this module) is a verbatim copy of `../shared/paper/coin_paper_tables.json`,
the paper's Table 2 (entries per dataset), Table 3 (base = Alpaca, CIT, COIN λ = 1000: accuracy mean and
std in %, per group and GLUE column), Table 4 (the λ sweep, same layout) and Table 1 (category means),
transcribed from the paper; tests/test_paper_tables.py checks the copy against the shared file where
that exists. All of it is the paper's LLaMA-7B run.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Any

PAPER_TABLES = Path(__file__).with_name("paper_tables.json")
PAPER_RUN = "paper 7B"  # how tables label the paper's numbers


@lru_cache(maxsize=1)
def paper_tables() -> dict[str, Any]:
    """The parsed paper_tables.json."""
    return json.loads(PAPER_TABLES.read_text(encoding="utf-8"))


def table2_entries() -> dict[str, int]:
    """Table 2: entries per training dataset (the project's dataset names), 52,002 in all."""
    return dict(paper_tables()["table2_entries_per_dataset"])


def _pair(value: Any) -> tuple[float, float] | None:
    return (float(value[0]), float(value[1])) if isinstance(value, list) and len(value) == 2 else None


def table3_cell(model: str, group: str, task: str) -> tuple[float, float] | None:
    """Table 3 (mean, std) of `model` (base | cit | coin) on `task` (a GLUE column or average) under `group`."""
    return _pair(paper_tables()["table3"].get(model, {}).get(group, {}).get(task))


def table1_cell(model: str, category: str) -> tuple[float, float] | None:
    """Table 1 (mean, std) of `model` (cit | coin) for `category` on clean instructions; None elsewhere."""
    return _pair(paper_tables()["table1_category"].get(category, {}).get(model))


def table4_cell(lam: float, group: str, task: str = "average") -> tuple[float, float] | None:
    """Table 4 (mean, std) of COIN trained with λ = `lam` on `task` under `group`; None for a λ the paper did not run."""
    for key, groups in paper_tables()["table4_lambda_sweep"].items():
        if float(key.split("=", 1)[1]) == float(lam):
            return _pair(groups.get(group, {}).get(task))
    return None


def table3_columns() -> tuple[str, ...]:
    """The GLUE columns of Table 3 (without average), in the paper's file order."""
    return tuple(t for t in paper_tables()["table3"]["coin"]["clean"] if t != "average")


__all__ = ["PAPER_RUN", "PAPER_TABLES", "paper_tables", "table1_cell", "table2_entries", "table3_cell", "table3_columns", "table4_cell"]
