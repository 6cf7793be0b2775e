"""`answer-alignment`: CIT and COIN's alignment scores at the state COIN's contrastive loss trains.

The evaluation reads each prompt's last-token state, before any answer. L_ctr (loss.pooling: last)
pools the last token of prompt + response + eos. This command scores both models at that position on
the evaluation's own grid: every prompt followed by its row's gold label word and eos, tokenized as
training joins a prompt and its response (CoinCollator.encode_rendered, cut to sample.cutoff_len), then
the per-row alignment scores (coin.evaluation.alignment) and COIN − CIT with the report's paired
bootstrap (coin.report.alignment). `--at prompt` reads the evaluation's own position instead (the
report's alignment table again, from a fresh pass).

    python -m pipeline answer-alignment --cit models/cit --coin models/coin --out reports/answer_alignment

Writes answer_alignment.md and answer_alignment.csv (coin.report.alignment.COLUMNS plus `position`).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import typer

from coin.errors import CoinError, DataError
from pipeline.app import app, stage

POSITIONS = ("answer", "prompt")
MODELS = ("cit", "coin")


def shown_path(path: Path, root: Path | None = None) -> str:
    """How a report names a folder: relative to the project (`root`, the working directory) when inside
    it, else its parent's name and its own (`models-seed42/cit`), never an absolute path of the machine."""
    root = (root or Path.cwd()).resolve()
    resolved = Path(path).resolve()
    try:
        return resolved.relative_to(root).as_posix() or "."
    except ValueError:
        return Path(*resolved.parts[-2:]).as_posix() if len(resolved.parts) > 2 else resolved.name


def position_states(model: Any, tokenizer: Any, grid: Any, params: Any, at: str, on_batch: Any = None) -> Any:
    """(n, d) float32 final-layer states of every grid row (task, group, prompt_id, idx, label, prompt)
    at `at`: the prompt's last token (prompt) or the eos after its gold label word (answer)."""
    from coin.evaluation.glue import label_words
    from coin.evaluation.scoring import last_token_states, sequence_states
    from coin.prompts.format import prompt_format
    from coin.training.collator import CoinCollator

    prompts = grid["prompt"].tolist()
    if at == "prompt":
        return last_token_states(model, tokenizer, prompts, params.eval.batch_size, on_batch=on_batch)
    targets = [label_words(task)[label] for task, label in zip(grid["task"], grid["label"])]
    collator = CoinCollator(tokenizer, prompt_format(params.model, tokenizer), params.sample.cutoff_len)
    encoded = [p + r for p, r in collator.encode_rendered(prompts, targets)]  # prompt + label word + eos
    return sequence_states(model, tokenizer, encoded, params.eval.batch_size, on_batch=on_batch)


@app.command("answer-alignment")
@stage
def answer_alignment(
    cit: Path = typer.Option(Path("models/cit"), help="CIT's model folder"),
    coin: Path = typer.Option(Path("models/coin"), help="COIN's model folder"),
    prompts: Path = typer.Option(Path("data/prompts.parquet"), help="the prompt set the models were evaluated on"),
    eval_rows: Path = typer.Option(Path("data/eval.parquet"), "--eval", help="the evaluation rows (EVAL_SET)"),
    at: str = typer.Option("answer", help="answer: the eos after prompt + gold label word (what L_ctr pools) | prompt: the prompt's last token (what the evaluation reads)"),
    out: Path = typer.Option(Path("reports/answer_alignment"), help="folder for answer_alignment.md and .csv"),
    params: Path = typer.Option(Path("params.yaml"), help="params.yaml of the run (model, eval, sample, report)"),
) -> None:
    """COIN − CIT of the alignment scores at the end of prompt + answer, where COIN's contrastive loss pools."""
    from tqdm import tqdm

    from coin.evaluation.alignment import UNIT_COLUMNS, alignment_units
    from coin.evaluation.glue import prompt_grid
    from coin.evaluation.precision import inference_precision
    from coin.io import atomic_dir, read_parquet, write_text
    from coin.params import load_params
    from coin.prompts.format import prompt_format
    from coin.report.alignment import alignment_markdown, alignment_table
    from coin.report.tables import GROUP_LABELS, to_csv
    from coin.schemas import EVAL_SET, PROMPTS
    from pipeline.cores import fair_share, rebalancing
    from pipeline.evaluate import _load_model

    if at not in POSITIONS:
        raise CoinError(f"--at = {at!r} is not allowed: use one of {', '.join(POSITIONS)}")
    folders = dict(zip(MODELS, (cit, coin)))
    for name, folder in folders.items():
        if not folder.is_dir():
            raise DataError(f"{folder} is not a model folder: --{name} needs the trained model (models/{name})")
    p = load_params(params)
    prompt_set, rows = read_parquet(prompts, PROMPTS), read_parquet(eval_rows, EVAL_SET)
    units = {}
    with fair_share():  # this process's share of the cores, kept fair while other stages come and go
        for name, folder in folders.items():
            model, tokenizer = _load_model(folder, p.model.dtype)
            grid = prompt_grid(prompt_set, rows, p.eval.tasks, prompt_format(p.model, tokenizer), p.eval.prompt_format)
            precision, described = inference_precision(p.eval.precision, model.device.type)
            typer.echo(f"answer-alignment {name}: {len(grid)} sequences, states at the {at} end, {described}", err=True)
            with precision, tqdm(total=len(grid), desc=f"states {name}", unit="seq", file=sys.stderr) as bar:
                states = position_states(model, tokenizer, grid, p, at, on_batch=rebalancing(bar.update))
            scores = alignment_units(grid, states)
            units[name] = grid.drop(columns="prompt").assign(**{c: scores[c].to_numpy() for c in UNIT_COLUMNS})
    groups = ["clean", *p.perturb.groups]
    table = alignment_table(units["cit"], units["coin"], groups, p.report.bootstrap_samples, p.report.confidence, p.seed)
    where = ("the eos after each prompt + its gold label word (where L_ctr pools in training)" if at == "answer"
             else "each prompt's last token (where the evaluation reads)")
    caption = (f"# Alignment at the {at} end\n\nStates at {where}; CIT {shown_path(cit)}, COIN {shown_path(coin)}; "
               f"COIN − CIT: paired bootstrap over the rows ({p.report.bootstrap_samples} resamples).\n\n")
    with atomic_dir(out) as tmp:
        write_text(caption + alignment_markdown(table, p.report.confidence, dict(GROUP_LABELS)), tmp / "answer_alignment.md")
        write_text(to_csv(table.assign(position=at)), tmp / "answer_alignment.csv")
    pooled = table[(table["metric"] == "align_at_1") & (table["group"] == "perturbed")].iloc[0]
    typer.echo(f"answer-alignment: {out / 'answer_alignment.md'} (align@1 at the {at} end, all perturbed: "
               f"CIT {pooled['cit']:.3f}, COIN {pooled['coin']:.3f}, COIN − CIT {pooled['delta']:+.3f})")
