"""Stage `mirror`: write the embedded synthetic corpus as hub-layout Parquet repos under --out."""

from __future__ import annotations

from pathlib import Path

import typer

from pipeline.app import app, stage


@app.command("mirror")
@stage
def mirror(
    out: Path = typer.Option(..., "--out", help="Folder to write: one hub repo per dataset (<owner>/<name>/)."),
    params: Path = typer.Option(Path("params.yaml"), "--params", help="Parameters file."),
) -> None:
    """Build the embedded mirror (seed, data.mirror_train_rows, data.mirror_eval_rows) and write it atomically."""
    from coin.params import load_params

    typer.echo(write_mirror(load_params(params), out))


def write_mirror(p, out: Path) -> str:
    """Write the embedded mirror for params `p` into `out` (atomically); returns a one-line summary."""
    from coin.data.hub_layout import write_registry_repo
    from coin.embedded.mirror import build_mirror, mirror_class_labels
    from coin.io import atomic_dir

    frames = build_mirror(p.seed, p.data.mirror_train_rows, p.data.mirror_eval_rows)
    by_repo: dict[str, dict[tuple[str | None, str], object]] = {}
    for (hub_id, config, split), frame in frames.items():
        by_repo.setdefault(hub_id, {})[(config, split)] = frame
    labels = mirror_class_labels()
    with atomic_dir(out) as tmp:
        for hub_id in sorted(by_repo):  # each repo as `hf download` of its Parquet revision leaves it
            write_registry_repo(tmp, hub_id, by_repo[hub_id], labels.get(hub_id))
    rows = sum(len(f) for f in frames.values())
    return f"mirror: {len(by_repo)} repos, {len(frames)} splits, {rows} rows -> {out}"
