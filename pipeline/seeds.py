"""`seeds`: COIN − CIT of several training seeds beside each model's change between seeds.

Train and score CIT and COIN again with another seed, on the first run's prompt set (docs/usage.md,
"Another training seed"), keep each run's data/predictions folder, then:

    python -m pipeline seeds --run 42=path/to/seed42/predictions --run 43=data/predictions --out reports/seeds

Writes seeds.md (the verdict table: coin.report.seeds) and seeds.csv (every comparison with its interval).
`--models a,b` compares two other prediction files of each run folder (a.parquet, b.parquet), e.g. COIN
trained with loss.pooling prompt against COIN with last: `--models coin_last,coin_prompt`.
"""

from __future__ import annotations

from pathlib import Path

import typer

from coin.errors import CoinError, DataError
from coin.params import load_params
from pipeline.app import app, stage


def _runs(specs: list[str]) -> dict[str, Path]:
    runs: dict[str, Path] = {}
    for spec in specs:
        label, sep, folder = spec.partition("=")
        if not sep or not label or not folder:
            raise CoinError(f"--run {spec!r} is not allowed: write LABEL=FOLDER, e.g. 42=data/predictions")
        if label in runs:
            raise CoinError(f"--run label {label!r} is given twice: every run needs its own label")
        for other, seen in runs.items():
            if Path(folder).resolve() == seen.resolve():
                raise CoinError(
                    f"--run {label}={folder} names the folder of --run {other}={seen}: every run needs its own predictions "
                    "(train and score CIT and COIN again with another train.seed)"
                )
        runs[label] = Path(folder)
    if len(runs) < 2:
        raise CoinError(f"--run is given {len(runs)} time(s): compare at least two runs (--run 42=DIR --run 43=DIR)")
    return runs


@app.command("seeds")
@stage
def seeds(
    run: list[str] = typer.Option(..., help="LABEL=FOLDER of one run's cit.parquet and coin.parquet predictions; the first is the reference."),
    out: Path = typer.Option(Path("reports/seeds"), help="Folder for seeds.md and seeds.csv."),
    params: Path = typer.Option(Path("params.yaml"), help="params.yaml of the runs (tasks, groups, bootstrap)."),
    models: str = typer.Option("cit,coin", help="A,B: the two prediction files of each run folder compared as B − A."),
) -> None:
    """COIN − CIT per training seed, each model's change between seeds, and whether the difference clears both."""
    import re

    from coin.io import atomic_dir, sha256_file, write_text
    from coin.report.seeds import seed_table, seeds_markdown, shown
    from coin.report.tables import GROUP_LABELS, to_csv
    from pipeline.report import read_predictions

    pair = tuple(models.split(","))
    if len(pair) != 2 or pair[0] == pair[1] or not all(re.fullmatch(r"[A-Za-z0-9_.-]+", m) for m in pair):
        raise CoinError(f"--models {models!r} is not allowed: write two different prediction-file names A,B, e.g. cit,coin")
    folders = _runs(run)
    cfg = load_params(params)
    tasks, groups = list(cfg.eval.tasks), ["clean", *cfg.perturb.groups]
    predictions, digests = {}, {}
    for label, folder in folders.items():
        predictions[label] = {}
        for model in pair:
            path = folder / f"{model}.parquet"
            if not path.is_file():
                raise DataError(f"{path} does not exist: --run {label}={folder} needs {model}.parquet (evaluate@{model}'s predictions)")
            same = digests.setdefault(sha256_file(path), (label, path))
            if same[0] != label:  # a copy: its seed change would be 0 and the spread mean nothing
                raise DataError(
                    f"{path} (--run {label}) is byte-identical to {same[1]} (--run {same[0]}): every run needs its own "
                    "predictions (train and score CIT and COIN again with another train.seed)"
                )
            predictions[label][model] = read_predictions(path, tasks, groups)
    table = seed_table(predictions, tasks, groups, cfg.report.bootstrap_samples, cfg.report.confidence, cfg.seed, pair)
    a, b = (shown(m) for m in pair)
    caption = (
        f"# {b} − {a} across training seeds\n\n"
        f"Runs {', '.join(folders)} (the first is the reference), each {a} and {b} trained with its own seed and scored "
        f"on the same prompts and rows. {b} − {a}: paired bootstrap over the rows "
        f"({cfg.report.bootstrap_samples} resamples; PDR resamples each task's rows); the seed changes are each model's "
        "difference to the reference run on the same rows. Seed spread: the largest difference of one model between "
        f"any two seeds. A verdict needs every run's interval on one side of 0 and every run's {b} − {a} beyond the seed "
        "spread; otherwise the difference is not resolved by these runs.\n\n"
    )
    with atomic_dir(out) as tmp:
        write_text(caption + seeds_markdown(table, cfg.report.confidence, dict(GROUP_LABELS), pair), tmp / "seeds.md")
        write_text(to_csv(table), tmp / "seeds.csv")
    typer.echo(f"seeds: {out / 'seeds.md'} ({len(folders)} runs)")
