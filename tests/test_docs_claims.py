"""Claims of README.md and docs/ that code, config or committed files must keep true.

The resume fingerprint covers sample.cutoff_len; check-params asks for perturb.embedding only when the
perturbation search reads it; configs/accelerate/ddp.yaml is what `train.processes: 2` launches; the
`--help` hint names commands that exist; `params-doc` prints unless given `--out`; the raw clean_cosine
range, the seeds verdicts, the machine behind reports/smollm2/benchmark.txt, the states files' size and
the paths coin/ names are what the docs say; benchmark outputs and answer-alignment reports record no
absolute path of the machine.
"""

from __future__ import annotations

import ast
import csv
import inspect
import re
import sys
from pathlib import Path

import yaml
from typer.testing import CliRunner

import pipeline.cli  # noqa: F401  (registers every command)
from coin.params import check_paths, merge, params_from_dict
from pipeline.app import app
from pipeline.launch import accelerate_command
from pipeline.train import resolved_params, run_fingerprint

ROOT = Path(__file__).resolve().parents[1]


def _params(change: dict):
    return params_from_dict(merge(yaml.safe_load((ROOT / "params.yaml").read_text()), change))


def test_resume_fingerprint_changes_with_sample_cutoff_len(tmp_path):
    train = tmp_path / "train.parquet"
    train.write_bytes(b"rows")
    fingerprints = {
        cutoff: run_fingerprint(resolved_params(_params({"sample": {"cutoff_len": cutoff}}), "coin"), tmp_path / "base", train)
        for cutoff in (128, 256)
    }
    assert fingerprints[128]["params"] != fingerprints[256]["params"]
    assert resolved_params(_params({"sample": {"cutoff_len": 128}}), "cit")["sample"] == {"cutoff_len": 128}


def test_resume_fingerprint_ignores_how_the_run_starts():
    one = resolved_params(_params({}), "coin")
    other = resolved_params(_params({"train": {"resume": "never", "processes": 2}, "sample": {"n_entries": 1000}}), "coin")
    assert one == other  # resume, processes and the sample size (data/train.parquet's hash covers it) are left out


def test_train_stages_declare_every_param_the_fingerprint_holds():
    stages = yaml.safe_load((ROOT / "dvc.yaml").read_text())["stages"]
    for name, variant in (("train-cit", "cit"), ("train-coin", "coin")):
        resolved = resolved_params(_params({}), variant)
        keys = {k for k in resolved if k not in ("variant", "sample")} | {f"sample.{k}" for k in resolved["sample"]}
        assert keys == set(stages[name]["params"]), name


def test_check_params_ignores_a_missing_embedding_the_run_does_not_read():
    # perturbed positives use the embedded vectors (pipeline/augment.py); with a prompt file nothing searches
    params = _params({"augment": {"positives": "perturbed"},
                      "perturb": {"mode": "file", "file": str(ROOT / "params.yaml"), "embedding": "/no/glove.txt"}})
    check_paths(params)  # no error


def test_check_params_requires_the_embedding_the_search_reads(tmp_path):
    params_file = tmp_path / "params.yaml"
    raw = merge(yaml.safe_load((ROOT / "params.yaml").read_text()), {"perturb": {"embedding": "/no/glove.txt"}})
    params_file.write_text(yaml.safe_dump(raw, sort_keys=False))
    result = CliRunner().invoke(app, ["check-params", "--out", str(tmp_path / "ok"), "--params", str(params_file)])
    assert (result.exit_code, result.output) == (
        2, "error: perturb.embedding = '/no/glove.txt' is not an existing file: use embedded, textattack or a path to a word2vec/GloVe text file\n"
    )


def test_ddp_config_is_what_train_processes_2_launches():
    config = yaml.safe_load((ROOT / "configs" / "accelerate" / "ddp.yaml").read_text())
    command = accelerate_command(2, ["-m", "pipeline", "train"], cores=2)
    flags = dict(zip(command[3::], command[4::]))
    assert "--multi_gpu" in command and config["distributed_type"] == "MULTI_GPU"
    assert str(config["num_processes"]) == flags["--num_processes"] == "2"
    assert str(config["num_machines"]) == flags["--num_machines"] == "1"
    assert config["mixed_precision"] == flags["--mixed_precision"] == "no"
    assert config.get("dynamo_config", {}) == {} and flags["--dynamo_backend"] == "no"


def _doc(name: str) -> str:
    return (ROOT / name).read_text()


def _flat(name: str) -> str:
    return " ".join(_doc(name).split())


def test_readme_help_hint_names_real_commands():
    row = next(line for line in _doc("docs/usage.md").splitlines() if line.startswith("| one stage by hand |"))
    commands = re.findall(r"`python -m pipeline ([a-z][a-z-]*)((?: --[a-z-]+(?: [a-z|<>]+)?)*)", row)
    assert {name for name, _ in commands} >= {"train", "evaluate"}
    registered = {info.name for info in app.registered_commands}
    for name, options in commands:
        assert name in registered, name
        help_text = CliRunner().invoke(app, [name, "--help"], env={"COLUMNS": "200"}).output
        for option in re.findall(r"--[a-z-]+", options):
            if option != "--help":
                assert option in help_text, (name, option)


def test_every_dvc_stage_runs_a_registered_command():
    registered = {info.name for info in app.registered_commands}
    stages = yaml.safe_load((ROOT / "dvc.yaml").read_text())["stages"]
    for name, stage in stages.items():
        cmd = stage.get("cmd") or stage["do"]["cmd"]
        command = re.search(r"python -m pipeline (\S+)", cmd).group(1)
        assert command in registered, (name, command)


# --- params-doc ------------------------------------------------------------------------------------


def test_params_doc_without_out_prints_and_writes_nothing(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(app, ["params-doc", "--params", str(ROOT / "params.yaml")])
    assert result.exit_code == 0 and result.output.startswith("# params.yaml reference")
    assert list(tmp_path.iterdir()) == []  # no docs/params.md or anything else written


def test_the_docs_name_params_doc_with_out_where_it_writes():
    """Every mention of the command that generates docs/params.md passes --out (without it, it prints)."""
    for name in ("README.md", *[p.relative_to(ROOT).as_posix() for p in sorted((ROOT / "docs").glob("*.md"))]):
        for match in re.finditer(r"python -m pipeline params-doc[^`]*", _doc(name)):
            assert "--out docs/params.md" in match.group(0), (name, match.group(0))
    assert "without `--out` the command prints" in _flat("docs/configuration.md")


# --- figures the docs state in prose ---------------------------------------------------------------


def test_raw_clean_cosine_range_is_what_the_evaluation_page_says():
    values = []
    for name in ("reports/paper/extras.csv", "reports/smollm2/extras.csv", "reports/smollm2/seed43/extras.csv"):
        values += [float(r["clean_cosine"]) for r in csv.DictReader((ROOT / name).open()) if r["group"] != "clean"]
    low, high = re.search(r"Over the perturbed groups it runs from ([\d.]+) to ([\d.]+)", _flat("docs/evaluation.md")).groups()
    assert (f"{min(values):.3f}", f"{max(values):.3f}") == (low, high)


def _seeds_rows() -> dict[tuple[str, str], list[str]]:
    rows = {}
    for line in _doc("reports/smollm2/seeds/seeds.md").splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if line.startswith("| ") and len(cells) == 8 and cells[0] not in ("Measure", "---"):
            rows[(cells[0], cells[1])] = cells
    return rows


NUMBER_WORDS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6}


def test_the_results_page_lists_every_seeds_verdict():
    """seeds.md's rows with a verdict all appear in docs/results.md's seeds table with that verdict, and
    the sentence before it counts them right."""
    rows = _seeds_rows()
    verdicts = {key: cells[7] for key, cells in rows.items() if cells[7] != "not resolved"}
    text = _doc("docs/results.md")
    shown = {}
    for line in text.split("### What the second seed says", 1)[1].split("###", 1)[0].splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if line.startswith("| ") and len(cells) == 9 and (cells[0], cells[1]) in rows:
            shown[(cells[0], cells[1])] = cells[7]
            assert cells[:8] == rows[(cells[0], cells[1])], cells  # the row as seeds.md has it
    assert {k: v for k, v in shown.items() if v != "not resolved"} == verdicts
    total, count = re.search(r"`seeds.md` has (\d+) rows; (\w+) reach a verdict", " ".join(text.split())).groups()
    assert (int(total), NUMBER_WORDS[count]) == (len(rows), len(verdicts))


def test_smollm2_benchmark_came_from_a_cpu_with_bfloat16_units():
    """reports/smollm2/benchmark.txt: bfloat16 training faster than float32, which the AVX2-only EPYC
    (bf16_cost.txt: bfloat16 7.47x slower) cannot give; the docs say so and never call it the same machine."""
    speed = re.search(r"bfloat16 / float32 training speed: ([\d.]+)x \(cit\), ([\d.]+)x \(coin\)", _doc("reports/smollm2/benchmark.txt"))
    assert float(speed.group(1)) > 1 and float(speed.group(2)) > 1
    assert "(slower in bfloat16)" in _doc("reports/benchmarks/bf16_cost.txt")
    assert not re.search(r"model name|EPYC|Xeon", _doc("reports/smollm2/benchmark.txt"))
    for name in ("README.md", *[p.relative_to(ROOT).as_posix() for p in sorted((ROOT / "docs").glob("*.md"))]):
        for paragraph in _doc(name).split("\n\n"):
            if "reports/smollm2/benchmark.txt" in paragraph:
                assert "same machine" not in " ".join(paragraph.split()), name
    assert "measured on an earlier 2-core machine with bfloat16 units" in _flat("docs/performance.md")


def test_the_states_files_are_the_size_design_says():
    lock = yaml.safe_load((ROOT / "dvc.lock").read_text())
    sizes = {out["size"] for entry in lock["stages"].values() for out in entry.get("outs", [])
             if out["path"].startswith("data/states/")}
    stated = re.search(r"([\d,]+) bytes per model, the size dvc.lock records", _flat("docs/DESIGN.md")).group(1)
    assert sizes == {int(stated.replace(",", ""))}


# --- DESIGN's claims about the code ----------------------------------------------------------------


def test_training_arguments_name_no_logging_folder():
    from coin.training.trainer import training_arguments

    assert "logging_dir" not in inspect.getsource(training_arguments)
    assert "no `logging_dir`" in _flat("docs/DESIGN.md") and "fixed relative `logging_dir`" not in _flat("docs/DESIGN.md")


PROJECT_PATH = re.compile(r"^(reports/|models/|checkpoints/|data/(mirror|flan|states|predictions)\b|data/(sampled|train|eval|prompts)\.parquet$"
                          r"|params\.yaml$|dvc\.(yaml|lock)$)")


def test_the_only_project_paths_in_coin_are_the_ones_design_names():
    found = set()
    for path in sorted((ROOT / "coin").rglob("*.py")):
        tree = ast.parse(path.read_text())
        docstrings = {id(node.body[0].value) for node in ast.walk(tree)
                      if isinstance(node, (ast.Module, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
                      and node.body and isinstance(node.body[0], ast.Expr) and isinstance(node.body[0].value, ast.Constant)}
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings:
                if PROJECT_PATH.match(node.value):
                    found.add((path.relative_to(ROOT).as_posix(), node.value))
    assert found == {("coin/params.py", "params.yaml"), ("coin/report/sweep.py", "reports/summary/coin.json"),
                     ("coin/report/sweep.py", "params.yaml")}
    design = _flat("docs/DESIGN.md")
    assert "load_params's `params.yaml`" in design and "METRICS_FILE (`reports/summary/coin.json`)" in design
    assert "no hard-coded paths" not in design


# --- benchmark outputs and reports: no machine paths at the source ---------------------------------


def test_every_benchmark_script_records_its_output():
    for path in sorted((ROOT / "benchmarks").glob("*.py")):
        if path.name != "record.py":
            assert "recorded(__file__" in path.read_text(), path.name


def test_benchmark_record_writes_paths_relative_to_the_machine(tmp_path, monkeypatch):
    sys.path.insert(0, str(ROOT / "benchmarks"))
    import record

    text = ("/srv/coin/.venv/x.py:3: warning\n/srv/coin/data/train.parquet and /srv/coin\n"
            "/tmp/tmpabc/base: converted\n/srv/coin2/other stays\n")
    assert record.machine_free(text, Path("/srv/coin")) == (".venv/x.py:3: warning\ndata/train.parquet and .\n"
                                                            "$TMPDIR/tmpabc/base: converted\n/srv/coin2/other stays\n")
    root = tmp_path / "project"
    (root / "benchmarks").mkdir(parents=True)
    monkeypatch.setattr(record, "ROOT", root)
    monkeypatch.setattr(sys, "argv", [str(root / "benchmarks" / "example.py"), "--train", "/tmp/smollm2-train.parquet"])
    with record.recorded(str(root / "benchmarks" / "example.py"), out_dir=tmp_path):
        print(f"{root}/models/base: loaded from /tmp/tmpxyz")
    written = (tmp_path / "example.txt").read_text()
    assert "# command: " in written and "--train $TMPDIR/smollm2-train.parquet" in written
    assert "models/base: loaded from $TMPDIR/tmpxyz" in written and str(tmp_path) not in written


def test_answer_alignment_names_model_folders_without_machine_paths(tmp_path):
    from pipeline.answer_alignment import shown_path

    project = tmp_path / "project"
    (project / "models" / "cit").mkdir(parents=True)
    assert shown_path(project / "models" / "cit", project) == "models/cit"
    assert shown_path(Path("models/cit"), Path.cwd()) == "models/cit"  # a relative --cit, as the docs pass it
    assert shown_path(tmp_path / "models-seed42" / "cit", project) == "models-seed42/cit"
    for name in ("reports/smollm2/answer_alignment/answer_alignment.md", "reports/smollm2/seed43/answer_alignment/answer_alignment.md"):
        assert re.search(r"CIT models-seed4[23]/cit, COIN models-seed4[23]/coin;", _doc(name)), name
