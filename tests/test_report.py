"""Report stage: tables from hand-written metrics, the paired bootstrap, figures, the lambda sweep."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from coin.errors import DataError
from coin.io import write_parquet
from coin.report import bootstrap, figures, sweep, tables
from coin.schemas import PREDICTIONS, PROMPTS

ROOT = Path(__file__).resolve().parents[1]
TASKS = ["sst2", "cola", "qqp", "mrpc", "mnli", "mnli_m", "mnli_mm", "qnli", "rte", "wnli"]
GROUPS = ["clean", "deepwordbug", "textfooler", "checklist", "semantic"]
PNG = b"\x89PNG\r\n\x1a\n"


def _metrics(model: str) -> dict:
    """Task k, group j: base 40 + k - j (std 1), cit 50 + k - 2j (std 2 + 0.1 k), coin = cit + 0.5 j (std 1.5)."""
    doc: dict = {"model": model}
    for k, task in enumerate(TASKS):
        doc[task] = {}
        for j, group in enumerate(GROUPS):
            if model == "base":
                mean, std = 40.0 + k - j, 1.0
            elif model == "cit":
                mean, std = 50.0 + k - 2 * j, 2.0 + 0.1 * k
            else:
                mean, std = 50.0 + k - 2 * j + 0.5 * j, 1.5
            extras = {"invalid_rate": 0.1 * j, "consistency": 0.9, "clean_cosine": 1.0,
                      "pdr": None if group == "clean" else (0.1 if model == "cit" else 0.05) * j}
            doc[task][group] = {"acc_mean": mean, "acc_std": std, **extras}
    doc["average"] = {g: {"acc_mean": 0.0, "acc_std": 0.0} for g in GROUPS}  # ignored by the tables
    return doc


def _frame() -> pd.DataFrame:
    return tables.metrics_frame({m: _metrics(m) for m in tables.MODELS}, TASKS, GROUPS)


def test_table3_values_and_markdown():
    table = tables.table3(_frame(), TASKS, GROUPS)
    assert len(table) == 55  # 10 tasks x 5 groups + 5 average rows
    row = table[(table["task"] == "mrpc") & (table["group"] == "textfooler")].iloc[0]
    assert (row["base_mean"], row["cit_mean"], row["coin_mean"], row["coin_minus_cit"]) == (41.0, 49.0, 50.0, 1.0)
    assert row["cit_std"] == pytest.approx(2.3)
    average = table[(table["task"] == "average") & (table["group"] == "semantic")].iloc[0]
    assert average["base_mean"] == pytest.approx(40.5)  # 40 + mean(k) - 4
    assert average["cit_mean"] == pytest.approx(46.5)
    assert average["cit_std"] == pytest.approx(2.45)
    assert average["coin_minus_cit"] == pytest.approx(2.0)
    text = tables.table3_markdown(table)
    lines = text.splitlines()
    # beside each model: the paper's Table 3 (its LLaMA-7B run) and ours − paper
    assert (row["coin_paper_mean"], row["coin_paper_std"], row["coin_minus_paper"]) == (71.9, 5.4, pytest.approx(-21.9))
    assert average["base_paper_mean"] == 52.7  # all 10 columns evaluated: the paper's average applies
    assert lines[0] == (
        "| Dataset | Group | Base | Base paper 7B (ours − paper) | CIT | CIT paper 7B (ours − paper) "
        "| COIN | COIN paper 7B (ours − paper) | Δ (COIN − CIT) |"
    )
    assert lines[2] == (
        "| SST-2 | Clean | 40.00 ± 1.00 | 80.90 ± 5.70 (-40.90) | 50.00 ± 2.00 | 90.10 ± 2.40 (-40.10) "
        "| 50.00 ± 1.50 | 91.40 ± 0.70 (-41.40) | +0.00 |"
    )
    assert (
        "| MRPC | TextFooler (word) | 41.00 ± 1.00 | 43.30 ± 21.80 (-2.30) | 49.00 ± 2.30 | 56.40 ± 10.50 (-7.40) "
        "| 50.00 ± 1.50 | 71.90 ± 5.40 (-21.90) | +1.00 |"
    ) in lines
    assert lines[-1] == (
        "| Average | Semantic | 40.50 ± 1.00 | 52.70 ± 16.90 (-12.20) | 46.50 ± 2.45 | 67.90 ± 11.80 (-21.40) "
        "| 48.50 ± 1.50 | 69.40 ± 10.60 (-20.90) | +2.00 |"
    )


def test_table3_paper_average_only_over_the_papers_columns():
    table = tables.table3(_frame(), ["sst2", "cola"], GROUPS)
    average = table[(table["task"] == "average") & (table["group"] == "clean")].iloc[0]
    assert np.isnan(average["coin_paper_mean"]) and np.isnan(average["coin_minus_paper"])
    sst2 = table[(table["task"] == "sst2") & (table["group"] == "clean")].iloc[0]
    assert sst2["coin_paper_mean"] == 91.4


def test_table1_categories_count_every_mnli_column():
    table = tables.table1(_frame(), GROUPS)
    assert list(dict.fromkeys(table["category"])) == ["sentiment", "grammar", "paraphrase", "nli", "average"]
    nli = table[(table["category"] == "nli") & (table["group"] == "clean")].iloc[0]
    assert nli["cit_mean"] == pytest.approx(56.5)  # k = 4..9 (mnli, mnli_m, mnli_mm, qnli, rte, wnli)
    assert nli["cit_std"] == pytest.approx(2.65)
    para = table[(table["category"] == "paraphrase") & (table["group"] == "deepwordbug")].iloc[0]
    assert (para["cit_mean"], para["coin_mean"], para["coin_minus_cit"]) == (50.5, 51.0, 0.5)
    overall = table[(table["category"] == "average") & (table["group"] == "clean")].iloc[0]
    assert overall["cit_mean"] == pytest.approx(52.5)  # mean of 50, 51, 52.5, 56.5
    lines = tables.table1_markdown(table).splitlines()
    assert lines[0] == (
        "| Category | Group | Base | Base paper 7B (ours − paper) | CIT | CIT paper 7B (ours − paper) "
        "| COIN | COIN paper 7B (ours − paper) | Δ (COIN − CIT) |"
    )
    # the paper's Table 1 has CIT and COIN on clean instructions only
    assert (
        "| Paraphrase | DeepWordBug (character) | 41.50 ± 1.00 | n/a | 50.50 ± 2.25 | n/a | 51.00 ± 1.50 | n/a | +0.50 |"
    ) in lines
    assert lines[2] == (
        "| Sentiment | Clean | 40.00 ± 1.00 | n/a | 50.00 ± 2.00 | 89.00 ± 4.10 (-39.00) | 50.00 ± 1.50 | 90.40 ± 3.10 (-40.40) | +0.00 |"
    )
    csv = tables.to_csv(table).splitlines()
    assert csv[0] == (
        "category,group,base_mean,base_std,cit_mean,cit_std,coin_mean,coin_std,coin_minus_cit,"
        "base_paper_mean,base_paper_std,base_minus_paper,cit_paper_mean,cit_paper_std,cit_minus_paper,"
        "coin_paper_mean,coin_paper_std,coin_minus_paper"
    )
    assert csv[1] == "sentiment,clean,40.0000,1.0000,50.0000,2.0000,50.0000,1.5000,0.0000,,,,89.0000,4.1000,-39.0000,90.4000,3.1000,-40.4000"


def test_extras_and_formatting():
    extras = tables.extras_table(_frame(), GROUPS)
    assert list(extras.columns) == ["model", "group", "invalid_rate", "consistency", "clean_cosine"]
    assert extras.iloc[4].to_dict() == pytest.approx(
        {"model": "base", "group": "semantic", "invalid_rate": 0.4, "consistency": 0.9, "clean_cosine": 1.0}
    )
    assert tables.format_delta(-0.001) == "+0.00"
    assert tables.format_delta(2.5) == "+2.50"
    assert tables.format_delta(-1.25) == "-1.25"
    assert tables.format_mean_std(71.254, 3.1) == "71.25 ± 3.10"


def test_invalid_answers_per_dataset_and_group():
    table = tables.invalid_table(_frame(), TASKS, GROUPS)
    assert list(table.columns) == ["task", "group", "base", "cit", "coin"]
    assert len(table) == len(TASKS) * len(GROUPS)
    first, last = table.iloc[0].to_dict(), table.iloc[-1].to_dict()
    assert first == pytest.approx({"task": TASKS[0], "group": "clean", "base": 0.0, "cit": 0.0, "coin": 0.0})
    assert last == pytest.approx({"task": TASKS[-1], "group": "semantic", "base": 40.0, "cit": 40.0, "coin": 40.0})
    lines = tables.invalid_markdown(table).splitlines()
    assert lines[0] == "| Dataset | Group | Base | CIT | COIN |"
    assert lines[3].endswith("| 10.0 | 10.0 | 10.0 |")  # task 0, DeepWordBug: invalid_rate 0.1
    assert list(tables.invalid_table(_frame().drop(columns=["invalid_rate"]), TASKS, GROUPS).columns) == ["task", "group"]


def test_missing_metrics_cell_is_named():
    doc = _metrics("coin")
    del doc["rte"]["checklist"]
    with pytest.raises(DataError) as info:
        tables.metrics_frame({"coin": doc}, TASKS, GROUPS)
    assert str(info.value) == (
        "metrics of coin have no rte/checklist cell: the report needs every task of eval.tasks under every group "
        "(clean, deepwordbug, textfooler, checklist, semantic)"
    )


def test_a_cell_the_prompt_set_lacks_is_left_out_not_required():
    doc = _metrics("coin")
    del doc["rte"]["semantic"]
    cells = {(t, g) for t in TASKS for g in GROUPS} - {("rte", "semantic")}
    frame = tables.metrics_frame({"coin": doc}, TASKS, GROUPS, cells)
    assert len(frame) == len(cells)
    assert not ((frame["task"] == "rte") & (frame["group"] == "semantic")).any()
    with pytest.raises(DataError):  # a cell the prompt set has is still required
        tables.metrics_frame({"coin": doc}, TASKS, GROUPS, cells | {("rte", "semantic")})


def test_harmless_counts():
    prompts = pd.DataFrame(
        {
            "group": ["clean", "deepwordbug", "deepwordbug", "semantic", "semantic", "semantic"],
            "details": ["{}", '{"harmful": false}', '{"harmful": true}', '{"harmful": false}', '{"harmful": false}', "{}"],
        }
    )
    counts = tables.harmless_counts(prompts, GROUPS)
    assert counts.to_dict("records") == [
        {"group": "deepwordbug", "n_instructions": 2, "n_no_harmful_edit": 1},
        {"group": "textfooler", "n_instructions": 0, "n_no_harmful_edit": 0},
        {"group": "checklist", "n_instructions": 0, "n_no_harmful_edit": 0},
        {"group": "semantic", "n_instructions": 3, "n_no_harmful_edit": 2},
    ]


def test_bootstrap_known_difference():
    cit = np.ones(1000, dtype=bool)
    cit[:300] = False  # cit wrong on 30% of units, coin always right
    coin = np.ones(1000, dtype=bool)
    result = bootstrap.paired_bootstrap(cit, coin, 1000, 0.95, np.random.default_rng(0))
    assert (result.n_units, result.acc_a, result.acc_b, result.delta) == (1000, 70.0, 100.0, 30.0)
    assert 26.0 < result.ci_low < 30.0 < result.ci_high < 34.0  # se = 100 * sqrt(.3 * .7 / 1000) = 1.45
    assert result.p_value == pytest.approx(2 / 1001)
    again = bootstrap.paired_bootstrap(cit, coin, 1000, 0.95, np.random.default_rng(0))
    assert again == result


def test_bootstrap_identical_and_single_unit():
    same = np.array([True, False, True, True])
    result = bootstrap.paired_bootstrap(same, same, 500, 0.9, np.random.default_rng(1))
    assert (result.delta, result.ci_low, result.ci_high, result.p_value) == (0.0, 0.0, 0.0, 1.0)
    one = bootstrap.paired_bootstrap(np.array([False]), np.array([True]), 200, 0.95, np.random.default_rng(2))
    assert (one.delta, one.ci_low, one.ci_high) == (100.0, 100.0, 100.0)
    assert one.p_value == pytest.approx(2 / 201)


def _predictions(model: str, tasks=TASKS, prompt_ids=(0, 1), idxs=range(4)) -> pd.DataFrame:
    rows = []
    for task in tasks:
        for group in GROUPS:
            for pid in prompt_ids:
                for idx in idxs:
                    correct = (idx + pid) % 2 == 0 if model == "cit" else idx != 3
                    # alignment: cit aligned where right, centred cosine 0.5, groups told apart; coin 0.75, mixed
                    rows.append({"model": model, "task": task, "prompt_id": pid, "group": group, "idx": idx,
                                 "output": "yes", "pred": int(correct), "label": 1, "correct": correct,
                                 "rank_pred": int(correct), "rank_correct": correct, "align_hit": correct,
                                 "centered_cosine": 0.5 if model == "cit" else 0.75,
                                 "cosine_margin": 0.1 if model == "cit" else 0.2, "group_hit": model == "cit"})
    return pd.DataFrame(rows)


def test_bootstrap_table_rows_and_unmatched_units():
    units = bootstrap.paired_units(_predictions("cit"), _predictions("coin"))
    assert len(units) == 400
    table = bootstrap.bootstrap_table(units, TASKS, GROUPS, 200, 0.95, seed=7)
    assert len(table) == 5 + 1 + 50
    pooled = table[(table["task"] == "all") & (table["group"] == "perturbed")].iloc[0]
    # cit: right on half the units; coin: right on 3 of 4 rows
    assert (pooled["n_units"], pooled["cit_acc"], pooled["coin_acc"], pooled["delta"]) == (320, 50.0, 75.0, 25.0)
    assert pooled["ci_low"] < 25.0 < pooled["ci_high"]
    assert table.equals(bootstrap.bootstrap_table(units, TASKS, GROUPS, 200, 0.95, seed=7))
    with pytest.raises(DataError) as info:
        bootstrap.paired_units(_predictions("cit"), _predictions("coin", idxs=range(3)))
    assert str(info.value) == (
        "100 units are in only one model's predictions, e.g. task='cola', group='checklist', prompt_id=0, idx=3 "
        "only in cit: evaluate both models on the same prompts and rows"
    )


def test_pca_projection_is_exact():
    if figures.importlib.util.find_spec("umap") is not None:
        pytest.skip("umap is installed: the map uses UMAP")
    states = np.array([[2.0, 0.0], [1.0, 0.0], [3.0, 4.0]])  # unit rows (1, 0), (1, 0), (0.6, 0.8)
    coords, method = figures.project_2d(states, seed=0)
    assert method == "PCA"
    # centred rows (2/15, -4/15) x2 and (-4/15, 8/15) lie on (-1, 2)/sqrt(5), signed so the 2 is positive
    assert coords[:, 0] == pytest.approx([-2 / 3 / np.sqrt(5), -2 / 3 / np.sqrt(5), 4 / 3 / np.sqrt(5)])
    assert coords[:, 1] == pytest.approx([0.0, 0.0, 0.0], abs=1e-12)


def _states(seed: int) -> dict:
    rng = np.random.default_rng(seed)
    group = np.repeat(np.array(GROUPS), 8)  # 5 groups x (2 prompts x 4 rows)
    return {
        "states": rng.normal(size=(40, 8)).astype(np.float32),
        "group": group,
        "prompt_id": np.tile(np.repeat([0, 1], 4), 5),
        "idx": np.tile(np.arange(4), 10),
    }


def test_figures_are_written(tmp_path):
    summary = figures.group_summary(_frame(), GROUPS, tables.MODELS)
    assert summary.iloc[0].to_dict() == pytest.approx({"model": "base", "group": "clean", "acc_mean": 44.5, "acc_std": 1.0})
    figures.plot_figure3(summary, tmp_path / "f3.png", tables.MODEL_LABELS)
    points = figures.states_points({"cit": _states(0), "coin": _states(1)}, seed=0)
    assert list(points.columns) == ["model", "group", "prompt_id", "idx", "x", "y", "method"]
    assert len(points) == 80
    figures.plot_figure4(points, tmp_path / "f4.png", GROUPS, tables.MODEL_LABELS, "SST-2")
    for name in ("f3.png", "f4.png"):
        data = (tmp_path / name).read_bytes()
        assert data[:8] == PNG and len(data) > 1024


def _exp_doc() -> list:
    """A `dvc exp show --json` document in dvc 3.67's layout (workspace, baseline, its experiments)."""

    def rev(rev_id, name, lam, stamp, clean=None, error=None):
        metrics = {}
        if clean is not None:
            summary = {g: {"acc": clean - 2 * j, "std": 1.0} for j, g in enumerate(GROUPS)}
            metrics = {"reports/summary/coin.json": {"data": {"coin": {**summary, "invalid_rate": 0.0}}}}
        data = {"rev": rev_id, "timestamp": stamp, "params": {"params.yaml": {"data": {"seed": 42, "loss": {"lambda": lam}}}},
                "metrics": metrics, "deps": {}, "outs": {}, "meta": {}}
        return {"rev": rev_id, "name": name, "data": data, "error": error, "experiments": None}

    def exp(record, state=None):
        executor = None if state is None else {"state": state, "name": "dvc-task", "local": {}}
        return {"revs": [record], "executor": executor, "name": record["name"]}

    baseline = rev("b" * 40, "main", 1000, "2026-01-01T10:00:00", clean=60.0)
    baseline["experiments"] = [
        exp(rev("1" * 40, "lam10-old", 10, "2026-01-01T11:00:00", clean=50.0)),
        exp(rev("2" * 40, "lam10", 10, "2026-01-01T12:00:00", clean=55.0)),
        exp(rev("3" * 40, "lambig", 100000000, "2026-01-01T13:00:00", clean=58.0)),
        exp(rev("4" * 40, "lam1", 1, "2026-01-01T14:00:00"), state="queued"),
        exp(rev("5" * 40, "lam100", 100, "2026-01-01T15:00:00", error={"type": "ReproductionError", "msg": "stage failed"})),
    ]
    workspace = rev("workspace", None, 1000, None, clean=61.0)
    return [workspace, baseline]


def test_sweep_table_from_exp_show_json():
    result = sweep.collect_sweep(_exp_doc(), GROUPS)
    table = result.table
    assert list(table.columns) == [
        "lambda", "log10_lambda", "experiment", "commit", *GROUPS, "perturbed", *(f"paper_{g}" for g in GROUPS), "paper_perturbed"
    ]
    assert table["paper_clean"].tolist() == [69.7, 71.1, 68.6]  # the paper's Table 4 averages for lambda 10, 1000, 1e8
    assert table["paper_perturbed"].tolist() == pytest.approx([66.525, 68.775, 66.075])
    assert table["log10_lambda"].tolist() == [1.0, 3.0, 8.0]
    assert table["lambda"].tolist() == [10.0, 1000.0, 100000000.0]
    assert table["experiment"].tolist() == ["lam10", "main", "lambig"]
    assert table["clean"].tolist() == [55.0, 60.0, 58.0]
    assert table["perturbed"].tolist() == [50.0, 55.0, 53.0]  # clean - mean(2, 4, 6, 8)
    assert result.skipped == [
        "workspace: older run of lambda 1000 than main",
        "lam10-old: older run of lambda 10 than lam10",
        "lam1: queued",
        "lam100: failed (stage failed)",
    ]
    lines = sweep.sweep_markdown(table, GROUPS, tables.GROUP_LABELS).splitlines()
    assert lines[0].startswith("| λ | Experiment | Clean | paper 7B (ours − paper) | DeepWordBug (character) | paper 7B (ours − paper) |")
    assert lines[-1] == (
        "| 100000000 | lambig | 58.00 | 68.60 (-10.60) | 56.00 | 65.00 (-9.00) | 54.00 | 64.10 (-10.10) "
        "| 52.00 | 67.50 (-15.50) | 50.00 | 67.70 (-17.70) | 53.00 | 66.08 (-13.08) |"
    )


def test_sweep_command_writes_table_and_figure(tmp_path, capsys):
    from pipeline.sweep import sweep as sweep_command

    exp_json = tmp_path / "exp.json"
    exp_json.write_text(json.dumps(_exp_doc()))
    out = tmp_path / "sweep"
    sweep_command(out=out, exp_json=exp_json, metrics_file="reports/summary/coin.json", params=ROOT / "params.yaml", by="loss.lambda")
    first_row = (out / "sweep.csv").read_text().splitlines()[1]
    assert first_row == (
        f"10.0000,1.0000,lam10,{'2' * 40},55.0000,53.0000,51.0000,49.0000,47.0000,50.0000,"
        "69.7000,66.3000,64.3000,67.2000,68.3000,66.5250"
    )
    assert "| 1000 | main | 60.00 |" in (out / "sweep.md").read_text()
    assert (out / "figure5.png").read_bytes()[:8] == PNG
    assert "sweep: " in capsys.readouterr().out
    with pytest.raises(SystemExit) as info:
        sweep_command(out=out, exp_json=tmp_path / "none.json", metrics_file="x", params=ROOT / "params.yaml", by="loss.lambda")
    assert info.value.code == 2
    missing = tmp_path / "none.json"
    assert capsys.readouterr().err == f"error: {missing} does not exist: save one with `dvc exp show --json > {missing}`\n"


def _write_inputs(root: Path) -> dict:
    (root / "metrics").mkdir()
    for model in tables.MODELS:
        (root / "metrics" / f"{model}.json").write_text(json.dumps(_metrics(model)))
        write_parquet(_predictions(model), root / "predictions" / f"{model}.parquet", PREDICTIONS)
    (root / "states").mkdir()
    np.savez(root / "states" / "cit.npz", **_states(0))
    np.savez(root / "states" / "coin.npz", **_states(1))
    prompt_rows = [
        {"task": t, "prompt_id": p, "group": g, "text": f"instruction {p} {g}", "clean_text": f"instruction {p}",
         "origin": "test", "details": "{}" if g == "clean" else json.dumps({"harmful": p == 0})}
        for t in ("sst2", "mnli") for g in GROUPS for p in (0, 1)
    ]
    write_parquet(pd.DataFrame(prompt_rows), root / "prompts.parquet", PROMPTS)
    return {"metrics_dir": root / "metrics", "predictions_dir": root / "predictions", "states_dir": root / "states",
            "prompts": root / "prompts.parquet", "params": ROOT / "params.yaml", "summary_out": root / "delta.json"}


def test_report_command_end_to_end(tmp_path, capsys):
    from pipeline.report import report

    inputs = _write_inputs(tmp_path)
    for model, clean, overall in (("cit", 53.0, 50.25), ("coin", 54.5, 52.0)):
        path = tmp_path / "metrics" / f"{model}.json"
        doc = json.loads(path.read_text())
        doc["average"] = {**doc["average"], "clean": {"acc_mean": clean, "acc_std": 1.0}, "overall": {"acc_mean": overall, "acc_std": 1.0}}
        path.write_text(json.dumps(doc))
    inputs["summary_out"] = tmp_path / "summary" / "coin_minus_cit.json"
    out = tmp_path / "paper"
    report(out=out, **inputs)
    delta = json.loads(inputs["summary_out"].read_text())["coin_minus_cit"]
    assert (delta["clean"], delta["overall"], delta["semantic"]) == (1.5, 1.75, 0.0)  # from the average sections
    names = sorted(str(p.relative_to(out)) for p in out.rglob("*") if p.is_file())
    assert names == [
        "alignment.csv", "alignment.md", "extras.csv", "figure3.png", "figure4.png", "harmless.csv", "invalid.csv", "pdr.csv",
        "pdr_significance.csv", "pdr_significance.md", "plots/figure3_base.csv", "plots/figure3_cit.csv",
        "plots/figure3_coin.csv", "plots/figure4_cit.csv", "plots/figure4_coin.csv", "report.md", "significance.csv",
        "significance.md", "table1.csv", "table1.md", "table3.csv", "table3.md",
    ]
    assert capsys.readouterr().out == f"report: {out / 'report.md'} (tables, figures and significance in {out}/)\n"
    text = (out / "report.md").read_text()
    assert "![Figure 3: accuracy and std over instructions per group and model](figure3.png)" in text
    assert "## Invalid answers per dataset and group" in text and "| Dataset | Group | Base | CIT | COIN |" in text
    assert (
        "| Average | Semantic | 40.50 ± 1.00 | 52.70 ± 16.90 (-12.20) | 46.50 ± 2.45 | 67.90 ± 11.80 (-21.40) "
        "| 48.50 ± 1.50 | 69.40 ± 10.60 (-20.90) | +2.00 |"
    ) in text
    assert "| All tasks | All perturbed | 320 | 50.00 | 75.00 | +25.00 |" in text
    assert "| align_at_1 | All perturbed | 320 | 0.500 | 0.750 | +0.250 |" in text
    assert "| centered_cosine | All perturbed | 320 | 0.500 | 0.750 | +0.250 | [+0.250, +0.250] |" in text
    assert "| cosine_margin | Semantic | 80 | 0.100 | 0.200 | +0.100 | [+0.100, +0.100] |" in text
    assert "| group_separability | All groups | 400 | 1.000 | 0.000 | -1.000 | [-1.000, -1.000] | 0.002 |" in text
    assert "| CIT | DeepWordBug (character) | 0.100 |" in text and "| COIN | Semantic | 0.200 |" in text
    # the fixture's perturbed rows answer as its clean rows: no drop for either model, p 1
    assert "| pdr | All perturbed | 40 | 0.000 | 0.000 | +0.000 | [+0.000, +0.000] | 1.000 |" in text
    assert "## Table 1 from label-word ranking" not in text  # scoring rank: acc is the ranking already
    assert "| DeepWordBug (character) | 4 | 2 |" in text
    assert "| Model | L_ctr | Pooling | L_gen reduction | Negatives | Positives |" in text
    assert "| cit | no | n/a | tokens | hard | template |" in text and "| coin | yes | last | tokens | hard | template |" in text
    assert (out / "plots" / "figure3_coin.csv").read_text().splitlines()[:2] == ["group,acc_mean,acc_std", "clean,54.5000,1.5000"]
    assert (out / "plots" / "figure4_cit.csv").read_text().splitlines()[0] == "group,prompt_id,idx,x,y"
    first = {name: (out / name).read_bytes() for name in ("table3.csv", "significance.csv", "figure3.png", "figure4.png")}
    report(out=out, **inputs)
    assert {name: (out / name).read_bytes() for name in first} == first


def test_report_names_missing_input(tmp_path, capsys):
    from pipeline.report import report

    inputs = _write_inputs(tmp_path)
    (tmp_path / "metrics" / "cit.json").unlink()
    with pytest.raises(SystemExit) as info:
        report(out=tmp_path / "paper", **inputs)
    assert info.value.code == 2
    missing = tmp_path / "metrics" / "cit.json"
    assert capsys.readouterr().err == f"error: {missing} does not exist: the report needs it (run `dvc repro evaluate@cit`)\n"
    assert not (tmp_path / "paper").exists()


def test_setup_rows_follow_the_params():
    from coin.params import load_params

    p = load_params(ROOT / "params.yaml")
    loss = dataclasses.replace(p.loss, pooling="max", gen_reduction="views")
    augment = dataclasses.replace(p.augment, negatives="normal", positives="both")
    assert tables.setup_rows(loss, augment) == [
        ["base", "no", "n/a", "n/a", "n/a", "n/a"],
        ["cit", "no", "n/a", "tokens", "normal", "both"],
        ["coin", "yes", "max", "views", "normal", "both"],
    ]
    off = dataclasses.replace(loss, contrastive=False)
    assert tables.setup_rows(off, augment)[2] == ["coin", "no", "n/a", "tokens", "normal", "both"]


def _pooling_doc() -> list:
    """Baseline (pooling last) and two experiments: mean (finished) and max (queued)."""
    def rev(rev_id, name, pooling, stamp, clean=None, negatives="hard"):
        metrics = {}
        if clean is not None:
            summary = {g: {"acc": clean - j, "std": 1.0} for j, g in enumerate(GROUPS)}
            metrics = {"reports/summary/coin.json": {"data": {"coin": summary}}}
        params = {"loss": {"lambda": 1000, "pooling": pooling}, "augment": {"negatives": negatives}}
        data = {"rev": rev_id, "timestamp": stamp, "params": {"params.yaml": {"data": params}}, "metrics": metrics}
        return {"rev": rev_id, "name": name, "data": data, "error": None, "experiments": None}

    baseline = rev("b" * 40, "main", "last", "2026-01-01T10:00:00", clean=60.0)
    baseline["experiments"] = [
        {"revs": [rev("1" * 40, "pool-mean", "mean", "2026-01-01T11:00:00", clean=58.0)], "executor": None, "name": "pool-mean"},
        {"revs": [rev("2" * 40, "pool-max", "max", "2026-01-01T12:00:00")], "executor": {"state": "queued"}, "name": "pool-max"},
        {"revs": [rev("3" * 40, "neg-normal", "last", "2026-01-01T13:00:00", clean=50.0, negatives="normal")],
         "executor": None, "name": "neg-normal"},
    ]
    return [baseline]


def test_the_sweep_reads_a_file_dvc_yaml_declares_as_a_metric():
    """`dvc exp show --json` carries only DVC metrics: the sweep's file must be one (the evaluate stage's
    reports/summary/${item}.json for item coin)."""
    stages = yaml.safe_load((ROOT / "dvc.yaml").read_text())["stages"]
    evaluate = stages["evaluate"]["do"]
    declared = [next(iter(m)) if isinstance(m, dict) else m for m in evaluate["metrics"]]
    assert "coin" in stages["evaluate"]["foreach"]
    assert sweep.METRICS_FILE == declared[0].replace("${item}", "coin") == "reports/summary/coin.json"


def test_sweep_groups_by_any_ablation_param(tmp_path):
    result = sweep.collect_sweep(_pooling_doc(), GROUPS, by="loss.pooling", fixed={"augment.negatives": "hard"})
    assert list(result.table.columns) == ["loss.pooling", "experiment", "commit", *GROUPS, "perturbed"]
    assert result.table["loss.pooling"].tolist() == ["last", "mean"]
    assert result.table["experiment"].tolist() == ["main", "pool-mean"]  # not neg-normal, though newer
    assert result.table["perturbed"].tolist() == [57.5, 55.5]  # clean - mean(1, 2, 3, 4)
    assert result.skipped == ["pool-max: queued", "neg-normal: augment.negatives = normal, not hard as in params.yaml"]
    unfixed = sweep.collect_sweep(_pooling_doc(), GROUPS, by="loss.pooling")
    assert unfixed.table["experiment"].tolist() == ["neg-normal", "pool-mean"]  # without fixed: the newest
    lines = sweep.sweep_markdown(result.table, GROUPS, tables.GROUP_LABELS, "loss.pooling").splitlines()
    assert lines[0].startswith("| loss.pooling | Experiment | Clean |")
    assert lines[-1] == "| mean | pool-mean | 58.00 | 57.00 | 56.00 | 55.00 | 54.00 | 55.50 |"
    by_negatives = sweep.collect_sweep(_pooling_doc(), GROUPS, by="augment.negatives", fixed={"loss.pooling": "last"})
    assert by_negatives.table["experiment"].tolist() == ["main", "neg-normal"]  # pool-mean: another ablation
    from pipeline.sweep import sweep as sweep_command

    (tmp_path / "exp.json").write_text(json.dumps(_pooling_doc()))
    sweep_command(out=tmp_path / "s", exp_json=tmp_path / "exp.json", metrics_file="reports/summary/coin.json",
                  params=ROOT / "params.yaml", by="loss.pooling")
    assert "# loss.pooling sweep" in (tmp_path / "s" / "sweep.md").read_text()
    assert (tmp_path / "s" / "figure5.png").read_bytes()[:8] == PNG


def test_report_with_both_scorings_adds_table1_from_ranking(tmp_path):
    from pipeline.report import report

    inputs = _write_inputs(tmp_path)
    for model in tables.MODELS:
        path = tmp_path / "metrics" / f"{model}.json"
        doc = json.loads(path.read_text())
        for task in TASKS:
            for cell in doc[task].values():
                cell.update(rank_acc_mean=cell["acc_mean"] + 10.0, rank_acc_std=0.5)
        path.write_text(json.dumps(doc))
    raw = yaml.safe_load((ROOT / "params.yaml").read_text())
    raw["eval"]["scoring"] = "both"
    inputs["params"] = tmp_path / "params.yaml"
    inputs["params"].write_text(yaml.safe_dump(raw))
    out = tmp_path / "paper"
    report(out=out, **inputs)
    text = (out / "report.md").read_text()
    assert "## Table 1 from label-word ranking" in text and (out / "table1_rank.csv").is_file()
    assert "| Average | Semantic |" in (out / "table3_rank.md").read_text()
    ranked = pd.read_csv(out / "table1_rank.csv")
    plain = pd.read_csv(out / "table1.csv")
    assert (ranked["coin_mean"] - plain["coin_mean"]).round(4).eq(10.0).all()
    # the ranking's pooled bootstrap: rank_correct equals correct in these predictions
    assert text.count("| All tasks | All perturbed | 320 | 50.00 | 75.00 | +25.00 |") == 2
