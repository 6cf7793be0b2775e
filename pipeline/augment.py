"""Stage augment: positives and negatives for every entry (augment.*), pair checks, data/train.parquet
and the data card.

Perturbed positives use the perturb stage's transformations (coin.prompts) in their model-free random
mode, composed here so coin.data never imports them: per entry one of character (DeepWordBug), word
(TextFooler on the embedded word vectors) or sentence (CheckList) noise, seeded by the entry.
"""

from __future__ import annotations

import random
from pathlib import Path

import typer

from pipeline.app import app, stage

POSITIVE_GROUPS = ("deepwordbug", "textfooler", "checklist")  # character, word, sentence
# PromptBench's settings (the perturb defaults), fixed here so augment depends on no perturb.* param
LEVENSHTEIN_LIMIT = 30
TEXTFOOLER_CANDIDATES = 50
TEXTFOOLER_MIN_COS = 0.6


def make_perturber(edit_rate: float, cache_dir: Path):
    """A coin.data.augment.PerturbFn: (text, protected words, seed) -> text with one seeded random
    perturbation of POSITIVE_GROUPS (the group drawn from the seed); protected words never change."""
    from coin.prompts.attack import random_checklist, random_word_edits
    from coin.prompts.embeddings import resolve_embedding
    from coin.prompts.textattack_env import import_textattack, seed_everything
    from coin.prompts.transformations import deepwordbug_recipe, textfooler_recipe

    ta = import_textattack(Path(cache_dir) / "textattack")
    embedding, embedding_name = resolve_embedding("embedded", ta)
    recipes: dict = {}

    def recipe(group: str, protected: frozenset):
        if (group, protected) not in recipes:
            if group == "deepwordbug":
                recipes[group, protected] = deepwordbug_recipe(ta, "", LEVENSHTEIN_LIMIT, protected=protected)
            else:
                recipes[group, protected] = textfooler_recipe(
                    ta, "", embedding, embedding_name, TEXTFOOLER_CANDIDATES, TEXTFOOLER_MIN_COS, protected=protected
                )
        return recipes[group, protected]

    def perturb(text: str, protected: frozenset, seed: int) -> str:
        rng = random.Random(seed)
        group = POSITIVE_GROUPS[rng.randrange(len(POSITIVE_GROUPS))]
        seed_everything(seed)
        if group == "checklist":
            return random_checklist(text, rng).text
        return random_word_edits(text, recipe(group, protected), rng, edit_rate, ta).text

    return perturb


@app.command("augment")
@stage
def augment(
    flan: Path = typer.Option(..., help="the extract stage's folder"),
    sampled: Path = typer.Option(..., help="the sample stage's entries (SAMPLED)"),
    tokenizer: Path = typer.Option(..., help="folder with the tokenizer that measures cutoff_len"),
    out: Path = typer.Option(..., help="the training entries, TRAIN schema (Parquet)"),
    card: Path = typer.Option(..., help="folder for data_card.md and data_card.json"),
    params: Path = typer.Option(Path("params.yaml"), help="params file"),
) -> None:
    """Re-derive the selection (checking it is the one in --sampled; it also knows each entry's
    positive and the drop counts), check COIN's pair invariants, write the training entries and the
    data card."""
    from coin.data.augment import TEMPLATE, check_matches_sampled, check_pairs, paired_entries, train_frame
    from coin.data.datacard import card_data, card_markdown
    from coin.data.sampling import kept_templates
    from coin.io import after_writing, atomic_dir, read_json, read_parquet, write_json, write_parquet, write_text
    from coin.params import load_params
    from coin.schemas import SAMPLED, TRAIN
    from pipeline.sample import select

    p = load_params(params)
    sampled_rows = read_parquet(sampled, SAMPLED)
    selection, templates = select(flan, tokenizer, p)
    check_matches_sampled(sampled_rows, selection, str(sampled))
    a = p.augment
    perturb = make_perturber(a.edit_rate, Path(p.data.cache_dir)) if a.positives != TEMPLATE else None
    train = train_frame(selection, a.negatives, a.positives, p.seed, perturb)
    _, normal = paired_entries(selection, a.negatives, p.seed)
    kept = {name: {int(t) for t in kept_templates(templates, name)["template_id"]} for name in p.data.datasets}
    check_pairs(train, kept, normal, a.positives)
    info = read_json(Path(flan) / "extract.json")
    settings = {
        "seed": p.seed,
        "n_entries": p.sample.n_entries,
        "cutoff_len": p.sample.cutoff_len,
        "prompt_format": p.model.prompt_format,
        "prompt_template_no_input": p.model.prompt_template_no_input,
        "source": info.get("source"),
        "flan_templates": info.get("templates", {}).get("spec"),
        "flan_templates_sha256": info.get("templates", {}).get("sha256"),
        "max_train_examples": info.get("max_train_examples"),
        "flan_holdout": info.get("flan_holdout"),
        "negatives": a.negatives,
        "positives": a.positives,
    }
    if a.positives != TEMPLATE:
        settings["positive_edit_rate"] = a.edit_rate
    data = card_data(train, templates, selection.stats(), selection.skipped, p.data.datasets, settings, normal)
    write_parquet(train, out, TRAIN)
    with after_writing(out), atomic_dir(card) as tmp:
        write_json(data, tmp / "data_card.json")
        write_text(card_markdown(data), tmp / "data_card.md")
    typer.echo(f"augment: {len(train)} entries in {train['pair_id'].nunique()} pairs; data card in {card}", err=True)
