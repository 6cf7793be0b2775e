"""Stage extract: FLAN examples (normalised hub rows) and FLAN templates (kept or dropped, with why)."""

from __future__ import annotations

import sys
from pathlib import Path

import typer

from pipeline.app import app, stage


@app.command("extract")
@stage
def extract(
    mirror: Path = typer.Option(..., help="the embedded hub mirror (read when data.source = embedded)"),
    out: Path = typer.Option(..., help="folder for examples.parquet, templates.parquet and extract.json"),
    params: Path = typer.Option(Path("params.yaml"), help="params file"),
) -> None:
    """Read each data.datasets train split (hub, local copy or mirror), normalise it as FLAN does, and
    classify the FLAN templates of its key; write the folder atomically."""
    import datasets
    import pandas as pd
    from tqdm import tqdm

    from coin.data.examples import hub_columns, normalise_with_stats, rows_to_read, template_fields
    from coin.data.flan_templates import PINNED_SHA256, classify, load_templates_source, parse_patterns, sha256_text
    from coin.data.registry import FLAN_DATASETS
    from coin.data.sources import load_split
    from coin.io import atomic_dir, write_json, write_parquet
    from coin.params import load_params
    from coin.schemas import FLAN_EXAMPLES, FLAN_TEMPLATES

    p = load_params(params)
    if p.data.source == "local":  # every split first: a gap is one line, before any dataset is read
        from coin.data.sources import check_local_copy, train_wanted

        check_local_copy(train_wanted(p.data.datasets), p.data.local_dir, "data.local_dir")
    datasets.disable_progress_bars()
    flan_holdout = p.data.source != "embedded"  # the synthetic mirror is used whole; real data split as FLAN did
    source_text = load_templates_source(p.data.flan_templates, p.data.cache_dir)
    patterns = parse_patterns(source_text)

    template_rows = []
    for name in p.data.datasets:
        key = FLAN_DATASETS[name].flan_key
        if any(t.flan_key == key for t in template_rows):
            continue
        template_rows += classify(patterns, key, template_fields(name))
    templates = pd.DataFrame([vars(t) for t in template_rows], columns=list(FLAN_TEMPLATES.columns))

    loaded: dict[tuple, pd.DataFrame] = {}  # mnli_matched and mnli_mismatched read the same split
    parts, per_dataset = [], {}
    bar = tqdm(p.data.datasets, desc="extract", unit="dataset", file=sys.stderr)
    for name in bar:
        bar.set_postfix_str(name)
        dataset = FLAN_DATASETS[name]
        n = rows_to_read(dataset, p.data.max_train_examples, flan_holdout)
        key = (dataset.train.hub_id, dataset.train.config, dataset.train.split, n)
        if key not in loaded:
            loaded[key] = load_split(
                dataset.train,
                source=p.data.source,
                local_dir=p.data.local_dir,
                mirror_dir=mirror,
                cache_dir=p.data.cache_dir,
                columns=hub_columns(dataset),
                max_rows=n,
                name=name,
            )
        rows, stats = normalise_with_stats(dataset, loaded[key], p.data.max_train_examples, flan_holdout)
        parts.append(rows)
        per_dataset[name] = {"hub_id": dataset.train.hub_id, "config": dataset.train.config, "split": dataset.train.split, **stats}
    examples = pd.concat(parts, ignore_index=True)

    digest = sha256_text(source_text)
    info = {
        "source": p.data.source,
        "local_dir": p.data.local_dir,
        "templates": {"spec": p.data.flan_templates, "sha256": digest, "is_pinned_flan": digest == PINNED_SHA256},
        "max_train_examples": p.data.max_train_examples,
        "flan_holdout": flan_holdout,
        "examples": int(len(examples)),
        "datasets": per_dataset,
        "templates_kept": {
            key: [int(t) for t in rows["template_id"]] for key, rows in templates[templates["kept"]].groupby("flan_key", sort=True)
        },
        "templates_skipped": [
            {"flan_key": k, "template_id": int(t), "reason": r}
            for k, t, r in templates.loc[~templates["kept"], ["flan_key", "template_id", "drop_reason"]].itertuples(index=False)
        ],
    }
    with atomic_dir(out) as tmp:
        write_parquet(examples, tmp / "examples.parquet", FLAN_EXAMPLES)
        write_parquet(templates, tmp / "templates.parquet", FLAN_TEMPLATES)
        write_json(info, tmp / "extract.json")
    kept = int(templates["kept"].sum())
    typer.echo(f"extract: {len(examples)} examples of {len(per_dataset)} datasets; {kept} of {len(templates)} templates kept", err=True)
