"""`report`: the paper's tables and figures, plus a paired bootstrap of COIN − CIT, into one folder.

Writes into --out (swapped in whole, so a failed run leaves the previous report):
  report.md                  the summary: Table 1, Table 3, pooled significance, figures, counts
  table1.md / table1.csv     accuracy per task category x group, with COIN − CIT
  table3.md / table3.csv     accuracy per dataset x group for base, cit, coin, with COIN − CIT
  significance.md / .csv     paired bootstrap per group (pooled) and per dataset x group
  figure3.png, figure4.png   accuracy/std per group; 2-D map of last-token states, cit beside coin
  extras.csv                 invalid-output rate, consistency, clean cosine per model x group (when reported)
  pdr.csv                    PromptBench's drop rate per model x perturbed group (generation; ranking too when ranked)
  alignment.md / .csv        alignment scores of CIT and COIN per group, COIN − CIT with a paired bootstrap
  table1_rank.md / .csv      Table 1 from the label-word ranking (eval.scoring both), with its pooled bootstrap
  table3_rank.md / .csv      Table 3 from the label-word ranking (eval.scoring both)
  invalid.csv                invalid answers (%) per dataset x group x model (when any answer was invalid)
  harmless.csv               perturbed instructions whose search found no harmful edit, per group
  left_out.csv               clean instructions without a version in a group, per task (when any: published sets)
  plots/figure3_<model>.csv  DVC plots data: group, acc_mean, acc_std
  plots/figure4_<model>.csv  DVC plots data: group, prompt_id, idx, x, y
and --summary, a small JSON of COIN − CIT mean accuracy per group (a dvc metric).
"""

from __future__ import annotations

import json
from pathlib import Path

import typer

from coin.errors import DataError
from coin.params import load_params
from pipeline.app import app, stage

REPORT_MODELS = ("base", "cit", "coin")
MAP_MODELS = ("cit", "coin")  # Figure 4 and the bootstrap compare these two


def read_predictions(path: Path, tasks: list[str], groups: list[str]):
    """An evaluate stage's predictions Parquet, its rows of `tasks` x `groups` only."""
    from coin.io import read_parquet
    from coin.schemas import PREDICTIONS

    rows = read_parquet(path, PREDICTIONS)
    return rows[rows["task"].isin(tasks) & rows["group"].isin(groups)]


def _require(path: Path, stage_name: str) -> Path:
    if not path.is_file():
        raise DataError(f"{path} does not exist: the report needs it (run `dvc repro {stage_name}`)")
    return path


@app.command("report")
@stage
def report(
    metrics_dir: Path = typer.Option(..., help="Folder of <model>.json metrics from the evaluate stage."),
    predictions_dir: Path = typer.Option(..., help="Folder of <model>.parquet predictions."),
    states_dir: Path = typer.Option(..., help="Folder of <model>.npz last-token states."),
    prompts: Path = typer.Option(..., help="The prompt set (data/prompts.parquet)."),
    out: Path = typer.Option(..., help="Report folder to write (reports/paper)."),
    summary_out: Path = typer.Option(
        ..., "--summary", help="COIN − CIT mean accuracy per group, the dvc metric (reports/summary/coin_minus_cit.json)."
    ),
    params: Path = typer.Option(Path("params.yaml"), help="params.yaml to read."),
) -> None:
    """Build Tables 1 and 3, the COIN − CIT significance table, Figures 3 and 4 and report.md."""
    import numpy as np
    import pandas as pd

    from coin.io import atomic_dir, read_parquet, write_json, write_text
    from coin.report import alignment as align
    from coin.report import bootstrap, figures, pdr_bootstrap, tables
    from coin.schemas import PROMPTS

    from coin.data.registry import EVAL_TASKS
    from coin.prompts.instructions import GROUPS

    cfg = load_params(params)
    tasks = list(cfg.eval.tasks)
    prompt_set = read_parquet(_require(prompts, "perturb"), PROMPTS)
    # the groups the prompt set holds, in PromptBench's order; a task with prompts has the cells of the
    # groups its prompts hold (a published file may lack a group for a task)
    held = set(prompt_set["group"])
    groups = [g for g in GROUPS if g in held and (g == "clean" or g in cfg.perturb.groups)]
    instruction_cells = set(zip(prompt_set["task"], prompt_set["group"]))
    prompted = set(prompt_set["task"])
    cells = {(t, g) for t in tasks for g in groups
             if (EVAL_TASKS[t].instruction_task, g) in instruction_cells or EVAL_TASKS[t].instruction_task not in prompted}

    metric_paths = {m: _require(metrics_dir / f"{m}.json", f"evaluate@{m}") for m in REPORT_MODELS}
    prediction_paths = {m: _require(predictions_dir / f"{m}.parquet", f"evaluate@{m}") for m in MAP_MODELS}
    state_paths = {m: _require(states_dir / f"{m}.npz", f"evaluate@{m}") for m in MAP_MODELS}

    frames, docs = [], {}
    for model, path in metric_paths.items():
        try:
            doc = json.loads(path.read_text())
        except json.JSONDecodeError as exc:
            raise DataError(f"{path} is not valid JSON: {exc}") from None
        if not isinstance(doc, dict):
            raise DataError(f"{path} holds a {type(doc).__name__}: expected an object of task -> group -> metrics")
        if doc.get("model", model) != model:
            raise DataError(f"{path} holds metrics of model {doc['model']!r}, expected {model!r}")
        try:
            frames.append(tables.metrics_frame({model: doc}, tasks, groups, cells))
            docs[model] = doc
        except DataError as exc:
            raise DataError(f"{path}: {exc}") from None
    frame = pd.concat(frames, ignore_index=True)

    table3 = tables.table3(frame, tasks, groups, REPORT_MODELS)
    table1 = tables.table1(frame, groups, tables.CATEGORIES, REPORT_MODELS)
    extras = tables.extras_table(frame, groups, REPORT_MODELS)
    drops = tables.extras_table(frame, [g for g in groups if g != "clean"], REPORT_MODELS, tables.DROP_METRICS)
    ranked = cfg.eval.scoring == "both" and frame["rank_acc_mean"].notna().all()
    table1_rank = table3_rank = None
    if ranked:  # Tables 1 and 3 again, from the ranking's accuracy
        by_rank = frame.assign(acc_mean=frame["rank_acc_mean"], acc_std=frame["rank_acc_std"])
        table1_rank = tables.table1(by_rank, groups, tables.CATEGORIES, REPORT_MODELS)
        table3_rank = tables.table3(by_rank, tasks, groups, REPORT_MODELS)
    invalid = tables.invalid_table(frame, tasks, groups, REPORT_MODELS)
    invalid = invalid if len(invalid.columns) > 2 and (invalid.iloc[:, 2:] > 0).any().any() else invalid.iloc[0:0]

    predictions = {}
    for model, path in prediction_paths.items():
        predictions[model] = read_predictions(path, tasks, groups)
    units = bootstrap.paired_units(predictions["cit"], predictions["coin"])
    significance = bootstrap.bootstrap_table(
        units, tasks, groups, cfg.report.bootstrap_samples, cfg.report.confidence, cfg.seed, progress=True
    )
    rank_pooled_md = ""
    if ranked:
        rank_units = bootstrap.paired_units(predictions["cit"], predictions["coin"], "rank_correct")
        rank_significance = bootstrap.bootstrap_table(
            rank_units, [], groups, cfg.report.bootstrap_samples, cfg.report.confidence, cfg.seed
        )
    alignment = align.alignment_table(
        predictions["cit"], predictions["coin"], groups, cfg.report.bootstrap_samples, cfg.report.confidence, cfg.seed
    )
    drop_significance = pdr_bootstrap.pdr_table(
        predictions["cit"], predictions["coin"], tasks, groups, cfg.report.bootstrap_samples, cfg.report.confidence, cfg.seed
    )

    summary = figures.group_summary(frame, groups, REPORT_MODELS)
    point_frames = []
    for model, path in state_paths.items():
        try:
            with np.load(path, allow_pickle=False) as npz:
                arrays = {name: npz[name] for name in npz.files}
            if "task" in arrays:  # every task's states: Figure 4 maps eval.states_task's
                keep = np.asarray(arrays["task"]).astype(str) == cfg.eval.states_task
                arrays = {name: (np.asarray(a)[keep] if np.ndim(a) else a) for name, a in arrays.items()}
            if "states" in arrays:
                arrays["states"] = np.asarray(arrays["states"]).astype(np.float32)  # stored as float16
            point_frames.append(figures.states_points({model: arrays}, cfg.seed))
        except ValueError as exc:  # object arrays (pickled strings) or a file that is not an npz archive
            raise DataError(f"{path} cannot be read without pickle: {str(exc).splitlines()[0]}") from None
        except DataError as exc:
            raise DataError(f"{path}: {exc}") from None
    points = pd.concat(point_frames, ignore_index=True)

    harmless = tables.harmless_counts(prompt_set, groups)
    left_out = tables.left_out_counts(prompt_set, groups, len(cfg.perturb.languages))

    task_labels = dict(tables.TASK_LABELS)
    group_labels = dict(tables.GROUP_LABELS)
    model_labels = dict(tables.MODEL_LABELS)
    sig_md = bootstrap.significance_markdown(significance, cfg.report.confidence, task_labels, group_labels)
    pooled = significance[significance["task"] == bootstrap.ALL]
    pooled_md = bootstrap.significance_markdown(pooled, cfg.report.confidence, task_labels, group_labels)
    if ranked:
        rank_pooled_md = bootstrap.significance_markdown(rank_significance, cfg.report.confidence, task_labels, group_labels)
    alignment_md = align.alignment_markdown(alignment, cfg.report.confidence, group_labels)
    drop_md = align.alignment_markdown(drop_significance, cfg.report.confidence, group_labels) if len(drop_significance) else ""

    with atomic_dir(out) as tmp:
        write_text(tables.table3_markdown(table3, REPORT_MODELS), tmp / "table3.md")
        write_text(tables.to_csv(table3), tmp / "table3.csv")
        write_text(tables.table1_markdown(table1, REPORT_MODELS), tmp / "table1.md")
        write_text(tables.to_csv(table1), tmp / "table1.csv")
        write_text(_significance_caption(cfg) + "\n" + sig_md, tmp / "significance.md")
        write_text(tables.to_csv(significance), tmp / "significance.csv")
        write_text(tables.to_csv(harmless), tmp / "harmless.csv")
        if len(left_out):
            write_text(tables.to_csv(left_out), tmp / "left_out.csv")
        if len(extras.columns) > 2:
            write_text(tables.to_csv(extras), tmp / "extras.csv")
        if len(drops.columns) > 2:
            write_text(tables.to_csv(drops), tmp / "pdr.csv")
        if drop_md:
            write_text(_pdr_caption(cfg) + "\n" + drop_md, tmp / "pdr_significance.md")
            write_text(tables.to_csv(drop_significance), tmp / "pdr_significance.csv")
        write_text(_alignment_caption(cfg) + "\n" + alignment_md, tmp / "alignment.md")
        write_text(tables.to_csv(alignment), tmp / "alignment.csv")
        if table1_rank is not None:
            write_text(tables.table1_markdown(table1_rank, REPORT_MODELS), tmp / "table1_rank.md")
            write_text(tables.to_csv(table1_rank), tmp / "table1_rank.csv")
            write_text(tables.table3_markdown(table3_rank, REPORT_MODELS), tmp / "table3_rank.md")
            write_text(tables.to_csv(table3_rank), tmp / "table3_rank.csv")
        if len(invalid):
            write_text(tables.to_csv(invalid), tmp / "invalid.csv")
        figures.plot_figure3(summary, tmp / "figure3.png", model_labels)
        state_task = task_labels.get(cfg.eval.states_task, cfg.eval.states_task)
        figures.plot_figure4(points, tmp / "figure4.png", groups, model_labels, state_task)
        (tmp / "plots").mkdir()
        for model in REPORT_MODELS:
            part = summary[summary["model"] == model][["group", "acc_mean", "acc_std"]]
            write_text(tables.to_csv(part), tmp / "plots" / f"figure3_{model}.csv")
        for model in MAP_MODELS:
            part = points[points["model"] == model][["group", "prompt_id", "idx", "x", "y"]]
            write_text(tables.to_csv(part), tmp / "plots" / f"figure4_{model}.csv")
        text = _report_markdown(cfg, prompt_set, table1, table3, pooled_md, extras, invalid, harmless, left_out, points, state_task)
        text += _measures_markdown(cfg, drops, drop_md, alignment_md, table1_rank, rank_pooled_md)
        write_text(text, tmp / "report.md")
    from coin.evaluation.metrics import headline_delta

    try:
        delta = headline_delta(docs["coin"], docs["cit"])
    except (KeyError, TypeError) as exc:
        raise DataError(f"{metric_paths['coin']} or {metric_paths['cit']} lacks the average section ({exc})") from None
    write_json(delta, summary_out)
    typer.echo(f"report: {out / 'report.md'} (tables, figures and significance in {out}/)")


def _significance_caption(cfg) -> str:
    level = f"{cfg.report.confidence * 100:g}%"
    return (
        "Paired bootstrap of COIN − CIT accuracy over (instruction, example) units, matched on (task, group, "
        f"prompt_id, idx): {cfg.report.bootstrap_samples} resamples of units with replacement (numpy, seed "
        f"{cfg.seed}), {level} percentile interval, two-sided p = min(1, 2·min(P*(Δ ≤ 0), P*(Δ ≥ 0))) with "
        "add-one smoothing. Accuracies in %; pooled rows weigh every unit equally.\n"
    )


def _scoring_note(scoring: str) -> str:
    return {
        "generate": "accuracy of the parsed greedy answers",
        "rank": "accuracy of the likeliest label word",
        "both": "accuracy of the parsed greedy answers; the likeliest label word's in the ranking section",
    }[scoring]


def _alignment_caption(cfg) -> str:
    level = f"{cfg.report.confidence * 100:g}%"
    return (
        "Alignment of last-token states (coin.evaluation.alignment), pooled over tasks: each value is the mean over "
        "(task, instruction, row) units of a group; COIN − CIT with a paired bootstrap over those units "
        f"({cfg.report.bootstrap_samples} resamples, seed {cfg.seed}, {level} percentile interval). align_at_1: share "
        "of perturbed prompts whose nearest clean state (same task and clean instruction) is their own row's "
        "(chance 1 / rows per task). centered_cosine: cosine to the own row's clean state after subtracting the task's "
        "mean state; cosine_margin: that minus the mean centred cosine to the other rows' clean states. "
        "group_separability: share of states whose perturbation group a leave-one-out 5-nearest-neighbour vote "
        "recovers (lower: the groups mix, as the paper's Figure 4 shows under COIN).\n"
    )


def _pdr_caption(cfg) -> str:
    level = f"{cfg.report.confidence * 100:g}%"
    return (
        "COIN − CIT of the drop rate (PDR, lower is better), pooled over tasks as the metrics' averages (mean over "
        "tasks; All perturbed: mean over the groups), with a paired bootstrap over each task's evaluation rows "
        f"(coin.report.pdr_bootstrap: {cfg.report.bootstrap_samples} resamples, seed {cfg.seed}, {level} percentile "
        "interval; a row keeps its clean and perturbed answers together). Units: the rows resampled.\n"
    )


def _measures_markdown(cfg, drops, drop_md, alignment_md, table1_rank, rank_pooled_md) -> str:
    """The report's sections on what COIN changes: alignment, drop rate and (scoring both) ranking."""
    from coin.report import tables

    lines = [
        "",
        "## Representation alignment",
        "",
        _alignment_caption(cfg),
        alignment_md,
        "clean_cosine (extras above) is the paper's quantity, the raw cosine between a perturbed prompt's state and "
        "its clean counterpart; it sits near 1 for every model and group because an LM's last-token states share "
        "one dominant direction, so it barely separates models. centered_cosine removes that direction (the "
        "task's mean state) and align_at_1 asks the contrastive question directly. CSV: [alignment.csv](alignment.csv).",
        "",
        "## Performance drop rate (PromptBench)",
        "",
        "PDR = 1 − acc(perturbed) / acc(clean) per instruction, averaged over a task's instructions and then over "
        "tasks (PromptBench's definition); 0 = no drop, 1 = everything lost, negative = a gain. Undefined, and left "
        "out of the averages, where an instruction's clean accuracy is 0. pdr from the protocol's predictions"
        + (", rank_pdr from the label-word ranking" if "rank_pdr" in drops.columns else "")
        + ". CSV: [pdr.csv](pdr.csv).",
        "",
    ]
    if len(drops.columns) > 2:
        lines += [tables.extras_markdown(drops), ""]
    if drop_md:
        lines += [_pdr_caption(cfg), drop_md, "CSV: [pdr_significance.csv](pdr_significance.csv).", ""]
    if table1_rank is not None:
        lines += [
            "## Table 1 from label-word ranking",
            "",
            "eval.scoring = both: the same prompts scored by the likeliest label word (log-likelihood of each "
            "label's tokens after the prompt) beside the greedy answers above. The paper's numbers (in brackets) "
            "are from generation, so they compare with the tables above; this one removes format-following "
            "(an answer that names no label) from the comparison. CSV: [table1_rank.csv](table1_rank.csv); per "
            "dataset: [table3_rank.md](table3_rank.md).",
            "",
            tables.table1_markdown(table1_rank, REPORT_MODELS),
            "Paired bootstrap of COIN − CIT ranking accuracy, pooled over tasks:",
            "",
            rank_pooled_md,
        ]
    return "\n".join(lines) + "\n"


def prompt_set_note(cfg, prompt_set) -> str:
    """Which prompt set the perturbed groups come from, so a table is never read as the other setting."""
    mode = cfg.perturb.mode
    published = sorted({o.split(":")[1] for o in prompt_set["origin"] if o.startswith("published:")})
    if mode == "adversarial":
        return ("searched against the CIT model (`perturb.mode: adversarial`, the paper's protocol: CIT meets "
                "prompts chosen against itself, COIN and the base model meet them second-hand)")
    if mode == "random":
        return "random edits of the clean instructions, no model consulted (`perturb.mode: random`)"
    if published:
        digests = sorted({json.loads(d).get("sha256", "")[:12] for d in prompt_set["details"] if '"sha256"' in d})
        where = f"`perturb.published: {Path(cfg.perturb.published).name}`" if mode == "published" else f"the file `{Path(cfg.perturb.file).name}`"
        return (f"PromptBench's published adversarial prompts {', '.join(f'`{n}.md`' for n in published)} (sha256 "
                f"{', '.join(digests)}; {where}): fixed text found against PromptBench's own model, the same for "
                "every model here (a transfer attack)")
    return f"the prompt file `{Path(cfg.perturb.file).name}` (`perturb.mode: file`)"


def _report_markdown(cfg, prompt_set, table1, table3, pooled_md, extras, invalid, harmless, left_out, points, state_task) -> str:
    """The stitched summary report.md."""
    from coin.report import tables
    from coin.report.sweep import format_lambda

    method = points["method"].iloc[0]
    lines = [
        "# COIN: robustness to unseen instructions",
        "",
        f"Base model `{cfg.model.base}`; COIN with λ = {format_lambda(cfg.loss.lam)}, τ = {cfg.loss.temperature:g}, "
        f"negatives `{cfg.loss.negatives}`; {cfg.eval.n_samples} rows per task, {cfg.perturb.n_instructions} "
        f"instructions per task and group, scoring `{cfg.eval.scoring}` "
        f"({_scoring_note(cfg.eval.scoring)}; the paper's numbers are from greedy generation).",
        f"Prompt set: {prompt_set_note(cfg, prompt_set)}.",
        "Accuracy is in %, shown as mean ± population std over a task's instructions. Beside each model: the "
        "paper's number (its LLaMA-7B run: Table 1 and Table 3 of arXiv 2402.11138; base = Alpaca) with ours − "
        "paper in brackets; n/a where the paper reports none.",
        "",
        "## Setup",
        "",
        "What each model was trained with: the contrastive term, its pooling (`loss.pooling`), the L_gen "
        "reduction (`loss.gen_reduction`) and the kinds of negatives and positives (`augment.*`).",
        "",
        tables.setup_markdown(cfg.loss, cfg.augment),
        "## Table 1: accuracy per task category",
        "",
        "A category's numbers are the unweighted mean over its datasets (NLI: MNLI, MNLI-m, MNLI-mm, QNLI, RTE, "
        "WNLI); Average is the mean of the categories. CSV: [table1.csv](table1.csv).",
        "",
        tables.table1_markdown(table1, REPORT_MODELS),
        "## Table 3: accuracy per dataset",
        "",
        "Average is the unweighted mean over datasets. CSV: [table3.csv](table3.csv).",
        "",
        tables.table3_markdown(table3, REPORT_MODELS),
        "## Significance of COIN − CIT",
        "",
        _significance_caption(cfg),
        pooled_md,
        "Per dataset and group: [significance.md](significance.md) ([CSV](significance.csv)).",
        "",
        "## Figure 3: accuracy and spread per perturbation group",
        "",
        "![Figure 3: accuracy and std over instructions per group and model](figure3.png)",
        "",
        "Bars: mean over datasets of the accuracy; error bars and panel (b): mean over datasets of the std over "
        "instructions. Plot data: `plots/figure3_<model>.csv`.",
        "",
        "## Figure 4: last-token states under each perturbation group",
        "",
        f"![Figure 4: {method} map of {state_task} last-token states, CIT beside COIN](figure4.png)",
        "",
        f"{state_task} rows under every instruction, L2-normalised and mapped to 2-D with {method}, one panel per "
        "model. Plot data: `plots/figure4_<model>.csv`.",
        "",
    ]
    if len(extras.columns) > 2:
        lines += [
            "## Output validity and consistency",
            "",
            "Means over datasets of the evaluate stage's extra metrics. CSV: [extras.csv](extras.csv).",
            "",
            tables.extras_markdown(extras),
        ]
    if len(invalid):
        lines += [
            "## Invalid answers per dataset and group",
            "",
            "Share (%) of answers in which the parser (eval.parse) found no label word; they count as wrong "
            "above. CSV: [invalid.csv](invalid.csv).",
            "",
            tables.invalid_markdown(invalid),
            "",
        ]
    searched = prompt_set["details"].str.contains('"harmful"', regex=False).any()  # published sets hold no search
    lines += [] if not searched else [
        "## Perturbed instructions without a harmful edit",
        "",
        "Perturbed instructions whose search found no harmful edit (`details.harmful` is false in "
        "data/prompts.parquet); they count in the tables like the others. CSV: [harmless.csv](harmless.csv).",
        "",
        tables.harmless_markdown(harmless),
    ]
    if len(left_out):
        lines += [
            "",
            "## Instructions without a version in a group",
            "",
            "Clean instructions of a task that the prompt file gives no attacked (or, for Semantic, translated) "
            "version of in a group: they are left out of that group, whose averages then cover the rest. "
            "CSV: [left_out.csv](left_out.csv).",
            "",
            tables.left_out_markdown(left_out),
        ]
    return "\n".join(lines)
