"""Stage augment: positives for every entry, pair checks, data/train.parquet and the data card."""

from __future__ import annotations

from pathlib import Path

import typer

from pipeline.app import app, stage


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
    from coin.data.augment import check_matches_sampled, check_pairs, train_frame
    from coin.data.datacard import card_data, card_markdown
    from coin.data.sampling import kept_templates
    from coin.io import atomic_dir, read_json, read_parquet, write_json, write_parquet, write_text
    from coin.params import load_params
    from coin.schemas import SAMPLED, TRAIN
    from pipeline.sample import select

    p = load_params(params)
    sampled_rows = read_parquet(sampled, SAMPLED)
    selection, templates = select(flan, tokenizer, p)
    check_matches_sampled(sampled_rows, selection, str(sampled))
    train = train_frame(selection)
    check_pairs(train, {name: {int(t) for t in kept_templates(templates, name)["template_id"]} for name in p.data.datasets})
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
    }
    data = card_data(train, templates, selection.stats(), selection.skipped, p.data.datasets, settings)
    write_parquet(train, out, TRAIN)
    with atomic_dir(card) as tmp:
        write_json(data, tmp / "data_card.json")
        write_text(card_markdown(data), tmp / "data_card.md")
    typer.echo(f"augment: {len(train)} entries in {train['pair_id'].nunique()} pairs; data card in {card}", err=True)
