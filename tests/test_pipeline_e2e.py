"""The whole DVC pipeline on a miniature embedded profile, in a throwaway git + DVC project.

Checks the acceptance rules of the pipeline as a user meets them: `dvc repro` runs end to end and
leaves the report, three metrics files and their summaries; nothing reruns when nothing changed; changing
only `loss.lambda` (to a value that changes the model) reruns exactly check-params, train-coin,
evaluate@coin and report; `dvc metrics diff` lists the summary keys; `dvc exp show`'s documented view fits
200 columns; a bad `-S` value fails with the one-line error before any output is touched, and
`git checkout params.yaml` restores everything (also for a prompt file or a local GLUE copy that check-params
reads and refuses); every `loss` key (e.g. `loss.pooling`) reruns what
`loss.lambda` does (dvc.yaml names the section whole);
`augment.negatives` reruns augment and what follows it, never the stages before (from DVC's graph);
a published prompt set (`perturb.mode=published`) reruns perturb, the evaluations and the report only;
a DVC remote round trip (push, then pull into a fresh clone) leaves nothing to rerun.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml

from tests.miniature import miniature_project
from tests.miniature import run_in as _run


GROUPS = ("clean", "deepwordbug", "textfooler", "checklist", "semantic")
# README "compare it with the last commit": the three models' clean and overall accuracy per experiment
EXP_VIEW = ("--drop", ".*", "--keep", r"Experiment|loss\.lambda|(base|cit|coin)\.(clean|overall)\.acc|coin_minus_cit\.overall")


def _flat(doc: dict, prefix: str = "") -> dict:
    out = {}
    for key, value in doc.items():
        out.update(_flat(value, f"{prefix}{key}.") if isinstance(value, dict) else {f"{prefix}{key}": value})
    return out


def _digests(project: Path) -> dict[str, str]:
    import hashlib

    files = [p for top in ("data", "models", "reports") for p in (project / top).rglob("*") if p.is_file()]
    return {str(p.relative_to(project)): hashlib.md5(p.read_bytes()).hexdigest() for p in files}


def _dag_edges(root: Path) -> list[tuple[str, str]]:
    """DVC's stage graph as (upstream, downstream) pairs."""
    return re.findall(r'"([^"]+)" -> "([^"]+)";', _run(root, "dvc", "dag", "--dot").stdout)


def _after(edges: list[tuple[str, str]], stage: str) -> set[str]:
    """Every stage downstream of `stage`."""
    after, frontier = set(), {stage}
    while frontier:
        frontier = {b for a, b in edges if a in frontier} - after
        after |= frontier
    return after


def _ran_stages(output: str) -> set[str]:
    return set(re.findall(r"Running stage '([^']+)'", output))


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    path = miniature_project(tmp_path_factory.mktemp("coin-project"))
    repro = _run(path, "dvc", "repro")
    assert "Running stage 'report'" in repro.stdout
    _run(path, "git", "add", "-A")
    _run(path, "git", "commit", "-qm", "baseline")
    return path


def test_repro_leaves_report_and_metrics(project):
    for name in ("base", "cit", "coin"):
        metrics = json.loads((project / "reports" / "metrics" / f"{name}.json").read_text())
        for task in ("sst2", "cola", "qqp", "mrpc", "mnli", "mnli_m", "mnli_mm", "qnli", "rte", "wnli"):
            for group in ("clean", "deepwordbug", "textfooler", "checklist", "semantic"):
                assert 0 <= metrics[task][group]["acc_mean"] <= 100
        summary = json.loads((project / "reports" / "summary" / f"{name}.json").read_text())[name]
        assert summary["clean"] == {"acc": metrics["average"]["clean"]["acc_mean"], "std": metrics["average"]["clean"]["acc_std"]}
        assert summary["invalid_rate"] == metrics["average"]["overall"]["invalid_rate"]
        # drop rate and alignment per perturbed group, all four alignment scores overall
        assert {"acc", "std", "pdr", "align_at_1"} <= set(summary["deepwordbug"])
        assert {"pdr", "align_at_1", "centered_cosine", "cosine_margin", "separability"} <= set(summary["overall"])
        assert 0 <= summary["overall"]["align_at_1"] <= 1 and 0 <= summary["overall"]["separability"] <= 1
        assert summary["overall"]["centered_cosine"] == metrics["average"]["overall"]["centered_cosine"]
    coin, cit = (json.loads((project / "reports" / "metrics" / f"{m}.json").read_text()) for m in ("coin", "cit"))
    delta = json.loads((project / "reports" / "summary" / "coin_minus_cit.json").read_text())["coin_minus_cit"]
    assert delta["overall"] == round(coin["average"]["overall"]["acc_mean"] - cit["average"]["overall"]["acc_mean"], 4)
    table = (project / "reports" / "paper" / "table3.md").read_text()
    assert "SST-2" in table and "±" in table
    assert (project / "reports" / "paper" / "figure3.png").stat().st_size > 1000
    report = (project / "reports" / "paper" / "report.md").read_text()
    assert "## Representation alignment" in report and "## Performance drop rate (PromptBench)" in report
    assert "| align_at_1 | All perturbed |" in report and "| group_separability | All groups |" in report


def test_nothing_changed_reruns_nothing(project):
    result = _run(project, "dvc", "repro")
    assert _ran_stages(result.stdout) == set()


def test_lambda_reruns_only_the_coin_branch_and_metrics_diff_lists_keys(project):
    result = _run(project, "dvc", "exp", "run", "-S", "loss.lambda=1")
    assert _ran_stages(result.stdout) == {"check-params", "train-coin", "evaluate@coin", "report"}
    diff = json.loads(_run(project, "dvc", "metrics", "diff", "--all", "--json").stdout)
    assert set(diff) == {f"reports/summary/{m}.json" for m in ("base", "cit", "coin", "coin_minus_cit")}
    assert {"coin.clean.acc", "coin.deepwordbug.std", "coin.overall.acc", "coin.invalid_rate"} <= set(diff["reports/summary/coin.json"])
    alignment_and_pdr = {"coin.deepwordbug.pdr", "coin.semantic.align_at_1", "coin.overall.pdr", "coin.overall.align_at_1",
                         "coin.overall.centered_cosine", "coin.overall.cosine_margin", "coin.overall.separability"}
    assert alignment_and_pdr <= set(diff["reports/summary/coin.json"])
    assert set(diff["reports/summary/coin_minus_cit.json"]) == {f"coin_minus_cit.{g}" for g in GROUPS + ("overall",)}

    # the README's view of the experiments: the three models side by side in a 200-column terminal
    shown = _run(project, "dvc", "exp", "show", "--no-pager", *EXP_VIEW, env={"COLUMNS": "200"}).stdout
    lines = shown.splitlines()
    assert max(map(len, lines)) <= 200 and "…" not in shown, shown
    header = next(line for line in lines if "Experiment" in line).split()
    wanted = ["loss.lambda", "coin_minus_cit.overall", *(f"{m}.{g}.acc" for m in ("base", "cit", "coin") for g in ("clean", "overall"))]
    assert header[0] == "Experiment" and sorted(header[1:]) == sorted(wanted)
    assert len([line for line in lines if line.strip().startswith(("workspace", "master", "└──", "├──"))]) >= 3
    # the default view has 84 metric columns (3 x 26 + 6: per model clean acc/std, 4 perturbed groups x
    # acc/std/pdr/align_at_1, 7 overall, invalid_rate), not the thousands of the per-task metrics files
    columns = json.loads(_run(project, "dvc", "exp", "show", "--json").stdout)[0]["data"]["metrics"]
    assert sum(len(_flat(doc["data"])) for doc in columns.values()) == 84
    # `make restore`: back to the last commit's run (params, lock, reports, cached outputs)
    _run(project, "python", "-m", "pipeline", "restore")
    assert _run(project, "git", "status", "--porcelain").stdout == ""
    assert "up to date" in _run(project, "dvc", "status").stdout


AFTER_PERTURB = {"evaluate@base", "evaluate@cit", "evaluate@coin", "report"}


def test_perturb_keys_rerun_perturb_the_evaluations_and_the_report():
    """`-S perturb.mode=published -S perturb.published=<path>` (every perturb key) reruns perturb, the three
    evaluations and the report, never the data or training stages: only perturb (the section whole) and the
    report (the keys that name its prompt set) name perturb keys, and DVC's graph puts only the evaluations
    and the report after perturb. The run itself is the e2e-tier test below (a DVC run of ~1 minute)."""
    root = Path(__file__).resolve().parents[1]
    stages = yaml.safe_load((root / "dvc.yaml").read_text())["stages"]
    naming = {name: sorted(p for p in stage.get("params", []) if isinstance(p, str) and p.split(".")[0] == "perturb")
              for name, stage in stages.items()}
    assert {name: keys for name, keys in naming.items() if keys} == {
        "perturb": ["perturb"], "report": ["perturb.file", "perturb.mode", "perturb.published"]}
    assert _after(_dag_edges(root), "perturb") == AFTER_PERTURB


@pytest.mark.e2e
def test_a_published_prompt_set_reruns_perturb_the_evaluations_and_the_report_only(project, tmp_path):
    from tests.test_published import full_fixture

    source = tmp_path / "ourmodel_zeroshot.md"
    source.write_text(full_fixture())
    result = _run(project, "dvc", "exp", "run", "-S", "perturb.mode=published", "-S", f"perturb.published={source}")
    assert _ran_stages(result.stdout) == {"check-params", "perturb", "evaluate@base", "evaluate@cit", "evaluate@coin", "report"}
    report = (project / "reports" / "paper" / "report.md").read_text()
    assert "Prompt set: PromptBench's published adversarial prompts `ourmodel_zeroshot.md`" in report
    _run(project, "python", "-m", "pipeline", "restore")
    assert _run(project, "git", "status", "--porcelain").stdout == ""


def _bad_files(root: Path) -> dict[str, Path]:
    """A prompt file with a duplicated key and a local GLUE copy holding sst2 only: bad files that check-params
    must read, and refuse, before DVC deletes any output."""
    from tests.test_reliability import CLEAN, _copies

    duplicated = root / "prompts.json"
    duplicated.write_text(json.dumps([CLEAN, CLEAN]))
    glue = _copies(root / "glue", lambda hub_id, config, split: hub_id == "nyu-mll/glue" and config == "sst2")
    return {"DUPLICATED": duplicated, "GLUE": glue}


@pytest.mark.parametrize("settings", [
    ["loss.lambda=-1"],
    ["~report"],
    ["perturb.mode=file", "perturb.file=/etc/passwd"],
    ["perturb.mode=file", "perturb.file=DUPLICATED"],
    ["eval.source=local", "eval.local_dir=GLUE"],
], ids=["lambda", "no-report", "prompt-file-suffix", "prompt-file-duplicate", "glue-copy-without-cola"])
def test_bad_set_value_fails_with_one_line_error_and_loses_nothing(project, tmp_path, settings):
    files = _bad_files(tmp_path)
    settings = [s.replace("DUPLICATED", str(files["DUPLICATED"])).replace("GLUE", str(files["GLUE"])) for s in settings]
    before = _digests(project)
    result = _run(project, "dvc", "exp", "run", *(a for s in settings for a in ("-S", s)), check=False)
    assert result.returncode != 0
    glue = files["GLUE"] / "nyu-mll" / "glue"
    message = {
        "loss.lambda=-1": "error: loss.lambda = -1.0 is not allowed: must be >= 0",
        "~report": "error: report is missing from params",
        "perturb.file=/etc/passwd": "error: perturb.file = '/etc/passwd' is not allowed: use a .json or .parquet file",
        f"perturb.file={files['DUPLICATED']}": f"error: {files['DUPLICATED']}: duplicate row for task='rte', group='clean', "
                                               "prompt_id=1 (prompt set rows are unique by task, group, prompt_id)",
        f"eval.local_dir={files['GLUE']}": f"error: cola: eval.local_dir = '{files['GLUE']}': {glue} has no cola/validation-*.parquet",
    }[settings[-1]]
    assert message in result.stdout + result.stderr
    assert _ran_stages(result.stdout) == {"check-params"}
    assert _digests(project) == before  # every output as it was: the check ran before DVC deleted any
    _run(project, "git", "checkout", "--", "params.yaml")  # the README's one command after a failed -S
    assert "up to date" in _run(project, "dvc", "status").stdout
    assert _run(project, "git", "status", "--porcelain").stdout == ""


def test_every_loss_key_reruns_what_lambda_reruns():
    """loss.pooling (and every other loss key) reruns what the lambda run above does: train-coin and report
    name the loss section whole and check-params tracks all of params.yaml, so DVC sees any loss key as
    the same change (the lambda test runs it; running pooling too cost ~40 s of the suite for the same
    DVC behaviour)."""
    stages = yaml.safe_load((Path(__file__).resolve().parents[1] / "dvc.yaml").read_text())["stages"]
    naming_loss = {name: [p for p in stage.get("params", []) if isinstance(p, str) and p.split(".")[0] == "loss"]
                   for name, stage in stages.items()}
    assert {name: keys for name, keys in naming_loss.items() if keys} == {"train-coin": ["loss"], "report": ["loss"]}


BEFORE_AUGMENT = {"mirror", "extract", "base-model", "prepare-eval", "sample"}
AFTER_AUGMENT = {"train-cit", "train-coin", "perturb", "evaluate@base", "evaluate@cit", "evaluate@coin", "report"}


def test_augment_keys_rerun_augment_and_what_follows_it():
    """augment.negatives (every augment key) reruns augment and what follows it, never the stages before:
    only augment and the report (which prints the settings) name the section (check-params tracks all of
    params.yaml), and DVC's graph puts the trainings, the perturbation, the evaluations (evaluate@base
    through the CIT-searched prompts) and the report after augment, the data stages it reads before it.
    What an augment key writes is tested on the stage itself (tests/test_sampling_augment.py); DVC's rerun
    of a changed section is what the lambda run above shows (running augment.negatives=normal here too
    cost ~80 s of the suite)."""
    root = Path(__file__).resolve().parents[1]
    stages = yaml.safe_load((root / "dvc.yaml").read_text())["stages"]
    naming = {name for name, stage in stages.items()
              if any(isinstance(p, str) and p.split(".")[0] == "augment" for p in stage.get("params", []))}
    assert naming == {"augment", "report"}
    edges = _dag_edges(root)
    assert _after(edges, "augment") == AFTER_AUGMENT
    assert {a for a, b in edges if b == "augment"} - {"check-params"} <= BEFORE_AUGMENT


@pytest.mark.e2e
def test_a_remote_round_trip_gives_a_fresh_clone_every_output_and_reruns_nothing(project, tmp_path):
    """`dvc remote add -d` (a local folder here; SSH, S3 and GCS remotes work the same), `dvc push` in the
    project that ran, `dvc pull` in a fresh clone: `dvc status` is clean and `dvc repro` reruns nothing."""
    _run(project, "python", "-m", "pipeline", "restore")  # the committed run (an experiment above may be in the workspace)
    _run(project, "dvc", "remote", "add", "-d", "store", str(tmp_path / "store"))
    _run(project, "git", "commit", "-qam", "a DVC remote")
    try:
        _run(project, "dvc", "push", "-q")
        clone = tmp_path / "clone"
        _run(tmp_path, "git", "clone", "-q", str(project), str(clone))
        _run(clone, "dvc", "pull", "-q")
        assert (clone / "models" / "coin").is_dir() and (clone / "data" / "prompts.parquet").is_file()
        assert "up to date" in _run(clone, "dvc", "status").stdout
        assert _ran_stages(_run(clone, "dvc", "repro").stdout) == set()
    finally:
        _run(project, "git", "reset", "-q", "--hard", "HEAD~1")  # the project as the other tests left it
