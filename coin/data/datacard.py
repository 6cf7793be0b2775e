"""The data card of the training set: what was selected, from where, and what was dropped and why.

`card_data` gathers the numbers (a JSON-ready dict); `card_markdown` renders them as a page. Entries per
dataset sit next to the COIN paper's Table 2 counts where those are recorded in PAPER_TABLE2.
"""

from __future__ import annotations

import json
from typing import Any, Mapping, Sequence

import pandas as pd

from coin.data.registry import FLAN_DATASETS
from coin.data.sampling import DROP_REASONS, NO_NEGATIVE, NO_POSITIVE, TOO_LONG

# COIN paper (arXiv 2402.11138) Table 2: entries per dataset in its 52K training set. Not verified
# offline for this project (the paper text was unreachable): None prints as "n/a" until filled in.
PAPER_TABLE2: dict[str, int | None] = {name: None for name in FLAN_DATASETS}
PAPER_TOTAL = 52002  # the paper's entry count (Alpaca's size)

_DROP_TEXT = {
    TOO_LONG: "prompt + response exceed cutoff_len with the drawn template",
    NO_POSITIVE: "fit the drawn template but no second kept template (no positive possible)",
    NO_NEGATIVE: "no unused example with another answer fits the template (no hard negative)",
}


def card_data(
    train: pd.DataFrame,
    templates: pd.DataFrame,
    stats: Mapping[str, Mapping[str, int]],
    skipped: Mapping[str, str],
    datasets: Sequence[str],
    settings: Mapping[str, Any],
    normal: Sequence[int] = (),
) -> dict[str, Any]:
    """The card as a dict: per-dataset counts, templates used and skipped, drops by reason, settings,
    and pairs by negative kind and entries by positive kind.

    `train` is the TRAIN frame, `templates` FLAN_TEMPLATES, `stats` the selection's per-dataset counts
    (coin.data.sampling.Selection.stats), `skipped` datasets that gave no pairs and why, `settings` the
    values to record (seed, cutoff_len, source, templates sha256, ...), `normal` the pair ids with a
    normal negative (another dataset); the others are hard. A positive with the entry's own template
    is a perturbed one.
    """
    per_dataset: dict[str, Any] = {}
    for name in datasets:
        rows = train[train["dataset"] == name]
        s = dict(stats.get(name, {}))
        per_dataset[name] = {
            "entries": int(len(rows)),
            "paper_entries": PAPER_TABLE2.get(name),
            "pairs": int((rows["role"] == "anchor").sum()),
            "flan_key": FLAN_DATASETS[name].flan_key,
            "available": int(s.get("available", 0)),
            "examined": int(s.get("examined", 0)),
            "kept_templates": int(s.get("kept_templates", 0)),
            "dropped": {reason: int(s.get(reason, 0)) for reason in DROP_REASONS},
            "templates_used": sorted(int(t) for t in rows["template_id"].unique()),
            "positive_templates_used": sorted(int(t) for t in rows["positive_template_id"].unique()),
            "skipped": skipped.get(name, ""),
        }
    keys = {FLAN_DATASETS[name].flan_key for name in datasets}
    dropped = templates[~templates["kept"] & templates["flan_key"].isin(keys)].sort_values(["flan_key", "template_id"])
    pairs = int((train["role"] == "anchor").sum())
    perturbed = int((train["positive_template_id"] == train["template_id"]).sum())
    return {
        "entries": int(len(train)),
        "pairs": pairs,
        "negatives": {"hard": pairs - len(normal), "normal": len(normal)},
        "positives": {"template": int(len(train)) - perturbed, "perturbed": perturbed},
        "paper_entries": PAPER_TOTAL,
        "settings": dict(settings),
        "datasets": per_dataset,
        "templates_skipped": [
            {"flan_key": k, "template_id": int(t), "reason": r}
            for k, t, r in zip(dropped["flan_key"], dropped["template_id"], dropped["drop_reason"])
        ],
        "drop_reasons": dict(_DROP_TEXT),
    }


def _cell(value: Any) -> str:
    if isinstance(value, str) and "\n" in value:
        return json.dumps(value, ensure_ascii=False)
    if value is None:
        return "n/a"
    if isinstance(value, list):
        return ", ".join(str(v) for v in value) or "-"
    return str(value).replace("|", "\\|")


def card_markdown(card: Mapping[str, Any]) -> str:
    """The card as a markdown page."""
    s = card["settings"]
    lines = [
        "# Data card: COIN training entries",
        "",
        f"{card['entries']} entries ({card['pairs']} anchor + hard-negative pairs, each entry with a positive); "
        f"the paper used {card['paper_entries']}."
        if not card["negatives"]["normal"] and not card["positives"]["perturbed"]
        else f"{card['entries']} entries ({card['pairs']} anchor + negative pairs: {card['negatives']['hard']} hard "
        f"negatives (same dataset and template), {card['negatives']['normal']} normal (another dataset); positives: "
        f"{card['positives']['template']} another template, {card['positives']['perturbed']} the entry's own template "
        f"perturbed; normal negatives re-pair the sampled entries, so the counts below are as sampled); the paper used {card['paper_entries']} with hard negatives and template positives.",
        "",
        "## Settings",
        "",
    ]
    lines += [f"- {key}: `{_cell(value)}`" for key, value in sorted(s.items())]
    lines += [
        "",
        "## Entries per dataset",
        "",
        "Selected round robin over datasets (entry 2k anchor, 2k+1 its hard negative). 'examined' counts the "
        "examples the seeded walk looked at; drops are among those.",
        "",
        "| dataset | entries | paper (Table 2) | pairs | available | examined | too long | no positive | no negative "
        "| templates | positive templates |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name, d in card["datasets"].items():
        dr = d["dropped"]
        lines.append(
            "| "
            + " | ".join(
                _cell(v)
                for v in (
                    name, d["entries"], d["paper_entries"], d["pairs"], d["available"], d["examined"],
                    dr[TOO_LONG], dr[NO_POSITIVE], dr[NO_NEGATIVE],
                    d["templates_used"], d["positive_templates_used"],
                )
            )
            + " |"
        )
    if any(d["paper_entries"] is None for d in card["datasets"].values()):
        lines += [
            "",
            "paper (Table 2) n/a: that count of the COIN paper is not recorded in this project yet "
            "(PAPER_TABLE2 in coin/data/datacard.py).",
        ]
    skipped = {n: d["skipped"] for n, d in card["datasets"].items() if d["skipped"]}
    if skipped:
        lines += ["", "Datasets that gave no pairs:", ""] + [f"- {n}: {why}" for n, why in skipped.items()]
    lines += ["", "## Why examples were dropped", ""] + [f"- {k}: {v}" for k, v in card["drop_reasons"].items()]
    lines += ["", "## FLAN templates skipped", "", "| flan key | template | reason |", "|---|---|---|"]
    lines += [f"| {t['flan_key']} | {t['template_id']} | {_cell(t['reason'])} |" for t in card["templates_skipped"]]
    return "\n".join(lines) + "\n"


__all__ = ["PAPER_TABLE2", "PAPER_TOTAL", "card_data", "card_markdown"]
