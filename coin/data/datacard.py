"""The data card of the training set: what was selected, from where, and what was dropped and why.

`card_data` gathers the numbers (a JSON-ready dict); `card_markdown` renders them as a page. Per dataset:
the hub train split's size (registry.HUB_TRAIN_ROWS), the examples available to the run, those that fit
cutoff_len, the entries sampled and the COIN paper's Table 2 count (coin.data.paper), with why they differ.
"""

from __future__ import annotations

import json
from typing import Any, Mapping, Sequence

import pandas as pd

from coin.data.paper import paper_tables, table2_entries
from coin.data.registry import FLAN_DATASETS, HUB_TRAIN_ROWS
from coin.data.sampling import DROP_REASONS, NO_NEGATIVE, NO_POSITIVE, TOO_LONG

# COIN paper (arXiv 2402.11138) Table 2: entries per dataset in its 52K training set (coin/data/paper_tables.json)
PAPER_TABLE2: dict[str, int | None] = {name: table2_entries().get(name) for name in FLAN_DATASETS}
PAPER_TOTAL = int(paper_tables()["table2_total"])  # the paper's entry count (Alpaca's size), 52,002
PAPER_CUTOFF = 256  # the paper's cutoff_len in tokens
PAPER_FULL_SHARE = max(v for v in PAPER_TABLE2.values() if v)  # a dataset that never ran out in the paper (2,684)


def paper_note(name: str) -> str:
    """Why the paper's count of `name` is below its full round-robin share, from the hub split's size."""
    count, rows = PAPER_TABLE2.get(name), HUB_TRAIN_ROWS[name]
    if count is None or count >= PAPER_FULL_SHARE - 30:  # anli_r3, ag_news: a pair or a few short of the share
        return ""
    if rows < PAPER_FULL_SHARE:
        return f"the paper's pool ran out: the hub train split has {rows} rows"
    return f"the paper's pool ran out: {count} entries are what survived its {PAPER_CUTOFF}-token length filter"


def gap_reason(d: Mapping[str, Any], total: int) -> str:
    """Why a dataset's entries differ from the paper's (`d` one card_data dataset, `total` the run's entries)."""
    paper = d["paper_entries"]
    if paper is None or d["entries"] == paper:
        return ""
    fit = d["fit_cutoff"]
    if d["entries"] > paper:
        return f"{d['entries'] - paper} more: {fit} of {d['examined']} examined examples fit this run's cutoff_len; {paper_note(d['name'])}".rstrip("; ")
    if d["examined"] < d["available"]:
        return f"the round robin stopped at {total} entries in all (the paper: {PAPER_TOTAL}) before this dataset ran out"
    reason = f"ran out: all {d['available']} available examples examined, {fit} fit cutoff_len"
    if d["available"] < d["hub_train_rows"]:
        reason += f" ({d['available']} of the hub's {d['hub_train_rows']} train rows were read: embedded mirror, data.max_train_examples or FLAN's held-out tail)"
    return reason

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
            "name": name,
            "entries": int(len(rows)),
            "paper_entries": PAPER_TABLE2.get(name),
            "paper_note": paper_note(name),
            "pairs": int((rows["role"] == "anchor").sum()),
            "flan_key": FLAN_DATASETS[name].flan_key,
            "hub_train_rows": HUB_TRAIN_ROWS[name],
            "available": int(s.get("available", 0)),
            "examined": int(s.get("examined", 0)),
            "fit_cutoff": int(s.get("examined", 0)) - int(s.get(TOO_LONG, 0)),
            "kept_templates": int(s.get("kept_templates", 0)),
            "dropped": {reason: int(s.get(reason, 0)) for reason in DROP_REASONS},
            "templates_used": sorted(int(t) for t in rows["template_id"].unique()),
            "positive_templates_used": sorted(int(t) for t in rows["positive_template_id"].unique()),
            "skipped": skipped.get(name, ""),
        }
    for d in per_dataset.values():
        d["gap"] = gap_reason(d, int(len(train)))
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
        "Selected round robin over datasets (entry 2k anchor, 2k+1 its hard negative). 'hub train' is the "
        "hub split's size (its dataset card), 'available' the examples this run read, 'examined' those the "
        "seeded walk looked at (drops are among those), 'fit cutoff' the examined ones within cutoff_len; "
        "'paper (Table 2)' is the COIN paper's count (its LLaMA-7B run, cutoff 256 tokens).",
        "",
        "| dataset | hub train | available | examined | too long | fit cutoff | no positive | no negative "
        "| entries | paper (Table 2) | pairs | templates | positive templates |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name, d in card["datasets"].items():
        dr = d["dropped"]
        lines.append(
            "| "
            + " | ".join(
                _cell(v)
                for v in (
                    name, d["hub_train_rows"], d["available"], d["examined"], dr[TOO_LONG], d["fit_cutoff"],
                    dr[NO_POSITIVE], dr[NO_NEGATIVE], d["entries"], d["paper_entries"], d["pairs"],
                    d["templates_used"], d["positive_templates_used"],
                )
            )
            + " |"
        )
    gaps = [(n, d) for n, d in card["datasets"].items() if d["gap"] or d["paper_note"]]
    if gaps:
        lines += ["", "## Differences from the paper", ""]
        lines += [f"- {n}: " + "; ".join(x for x in (d["gap"], d["paper_note"]) if x) for n, d in gaps]
    skipped = {n: d["skipped"] for n, d in card["datasets"].items() if d["skipped"]}
    if skipped:
        lines += ["", "Datasets that gave no pairs:", ""] + [f"- {n}: {why}" for n, why in skipped.items()]
    lines += ["", "## Why examples were dropped", ""] + [f"- {k}: {v}" for k, v in card["drop_reasons"].items()]
    lines += ["", "## FLAN templates skipped", "", "| flan key | template | reason |", "|---|---|---|"]
    lines += [f"| {t['flan_key']} | {t['template_id']} | {_cell(t['reason'])} |" for t in card["templates_skipped"]]
    return "\n".join(lines) + "\n"


__all__ = ["PAPER_TABLE2", "PAPER_TOTAL", "card_data", "card_markdown", "gap_reason", "paper_note"]
