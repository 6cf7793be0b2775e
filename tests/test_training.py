"""Model building/loading, the CoinTrainer step, the train stage (resume, live metrics) and base-model."""

from __future__ import annotations

import copy
import dataclasses
import importlib.util
import json
import os
import stat
from pathlib import Path

import pandas as pd
import pytest
import torch
import yaml

from coin.errors import CoinError
from coin.io import write_parquet
from coin.params import merge, params_from_dict
from coin.prompts.format import prompt_format
from coin.schemas import FLAN_EXAMPLES, FLAN_TEMPLATES, TRAIN

ROOT = Path(__file__).resolve().parents[1]

SMALL = {
    "seed": 7,
    "sample": {"cutoff_len": 64},
    "model": {
        "tiny": {"vocab_size": 320, "hidden_size": 32, "num_layers": 2, "num_heads": 4, "intermediate_size": 64, "max_position": 128},
        "lora": {"r": 4, "alpha": 8, "dropout": 0.0},
    },
    "train": {"learning_rate": 0.01, "batch_size": 4, "micro_batch_size": 2, "epochs": 2, "warmup_ratio": 0.0,
              "logging_steps": 1, "save_steps": 2},
    "loss": {"lambda": 1000, "temperature": 0.05},
}

_WORDS = "red blue green lamp stone river glad sad yes no maybe cloud tree".split()


def make_params(**sections):
    raw = merge(yaml.safe_load((ROOT / "params.yaml").read_text()), SMALL)
    return params_from_dict(merge(raw, sections))


def train_frame(n_pairs: int = 4) -> pd.DataFrame:
    rows = []
    for pair in range(n_pairs):
        for role in ("anchor", "negative"):
            i = len(rows)
            words = " ".join(_WORDS[(i + k) % len(_WORDS)] for k in range(6))
            target = "yes" if (pair + (role == "negative")) % 2 else "no"
            rows.append({
                "entry_id": i, "pair_id": pair, "role": role, "dataset": "rte", "example_id": str(i),
                "template_id": 0, "positive_template_id": 1, "prompt": f"Is it so? {words}",
                "positive_prompt": f"{words}. Does it hold?", "target": target, "label": int(target == "yes"),
            })
    return pd.DataFrame(rows)


@pytest.fixture(scope="module")
def base_dir(tmp_path_factory):
    """A tiny base folder built by our own code (tokenizer + model + base.json)."""
    from coin.training.model import build_tiny_model, save_model_folder
    from coin.training.tokenizer import train_tokenizer

    params = make_params()
    texts = list(train_frame(8)["prompt"]) + list(train_frame(8)["positive_prompt"]) + ["yes no"] * 5
    tokenizer = train_tokenizer(texts * 2, params.model.tiny.vocab_size, params.model.tiny.max_position)
    folder = tmp_path_factory.mktemp("models") / "base"
    save_model_folder(build_tiny_model(params.model.tiny, tokenizer, params.seed), tokenizer, folder, {"base": "embedded-tiny", "weights": "full"})
    return folder


def _trainer(model, tokenizer, objective, params, out, frame=None, **overrides):
    from coin.training.collator import CoinCollator, EntryDataset
    from coin.training.trainer import CoinTrainer, training_arguments

    args = training_arguments(
        params.train, params.seed, str(out), save_strategy="no", disable_tqdm=True, **overrides
    )
    collator = CoinCollator(tokenizer, prompt_format(params.model), 64)
    return CoinTrainer(
        model=model, args=args, train_dataset=EntryDataset(frame if frame is not None else train_frame()),
        data_collator=collator, objective=objective, seed=params.seed,
    )


def _state(model):
    return {k: v.detach().clone() for k, v in model.named_parameters() if v.requires_grad}


def test_hidden_states_last_is_the_final_norm_output(tiny_lm):
    model, tok = tiny_lm
    seen = {}
    handle = model.model.norm.register_forward_hook(lambda m, i, o: seen.setdefault("norm", o))
    try:
        with torch.no_grad():
            out = model(**tok(["positive or negative"], return_tensors="pt"), output_hidden_states=True)
    finally:
        handle.remove()
    assert len(out.hidden_states) == model.config.num_hidden_layers + 1
    assert torch.equal(out.hidden_states[-1], seen["norm"])


def test_one_coin_step_changes_every_parameter_with_finite_loss(base_dir, tmp_path):
    from coin.training.model import load_model
    from coin.training.trainer import Objective

    params = make_params()
    model, tok = load_model(base_dir, for_training=True)
    before = _state(model)
    trainer = _trainer(model, tok, Objective(True, 1000.0, 0.05, "pair"), params, tmp_path, max_steps=1)
    trainer.train()
    log = trainer.state.log_history[0]
    assert all(torch.isfinite(torch.tensor(log[k])) for k in ("loss", "loss_gen", "loss_ctr", "ctr_weight"))
    assert log["ctr_weight"] == pytest.approx(min(1000.0, log["loss_gen"] / log["loss_ctr"]), rel=1e-3)
    assert log["loss"] == pytest.approx(log["loss_gen"] + log["ctr_weight"] * log["loss_ctr"], rel=1e-3)
    unchanged = [k for k, v in _state(model).items() if torch.equal(v, before[k])]
    assert unchanged == []


def test_cit_is_exactly_l_gen_and_coin_moves_weights_differently(base_dir, tmp_path):
    from coin.training.losses import response_ce
    from coin.training.model import load_model
    from coin.training.trainer import Objective

    params = make_params()
    model, tok = load_model(base_dir, for_training=True)
    cit = _trainer(copy.deepcopy(model), tok, Objective(False), params, tmp_path / "cit", max_steps=1)
    batch = cit.data_collator([cit.train_dataset[i] for i in range(2)])
    with torch.no_grad():
        logits = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"], position_ids=batch["position_ids"]).logits
        # the response-only output layer: the full-logit loss up to float32 summation order
        assert cit.compute_loss(model, batch).item() == pytest.approx(response_ce(logits, batch["labels"]).item(), rel=1e-6)

    results = {}
    for name, objective in (("cit", Objective(False)), ("coin", Objective(True, 1000.0, 0.05, "pair")),
                            ("coin_lam0", Objective(True, 0.0, 0.05, "pair"))):
        trained = copy.deepcopy(model)
        torch.manual_seed(0)
        _trainer(trained, tok, objective, params, tmp_path / name, max_steps=1).train()
        results[name] = _state(trained)
    differs = [k for k in results["cit"] if not torch.allclose(results["cit"][k], results["coin"][k])]
    assert len(differs) == len(results["cit"])  # the contrastive term reaches every tensor
    for k in results["cit"]:  # lambda 0: weight 0, the same update as cit
        assert torch.allclose(results["cit"][k], results["coin_lam0"][k], atol=1e-6), k


def test_objective_for_variant_ignores_loss_for_cit():
    from coin.training.trainer import Objective

    params = make_params()
    assert Objective.for_variant("cit", params.loss) == Objective(contrastive=False)
    assert Objective.for_variant("coin", params.loss) == Objective(True, 1000.0, 0.05, "pair")
    off = make_params(loss={"contrastive": False})
    assert Objective.for_variant("coin", off.loss).contrastive is False


class _Kill:
    """A callback that stops the process the hard way at a given optimizer step."""

    def __init__(self, at: int):
        self.at = at

    def __getattr__(self, name):
        if name.startswith("on_"):
            return self._event(name)
        raise AttributeError(name)

    def _event(self, name):
        def handler(args, state, control, **kwargs):
            if name == "on_step_end" and state.global_step == self.at:
                raise KeyboardInterrupt("killed")
            return control

        return handler


def test_train_stage_resumes_to_the_same_steps_and_weights(base_dir, tmp_path):
    from safetensors.torch import load_file

    from pipeline.train import run_training

    params = make_params()
    train = tmp_path / "train.parquet"
    write_parquet(train_frame(), train, TRAIN)  # 8 entries: 2 steps of 4 per epoch, 2 epochs
    straight = run_training(params, "coin", base_dir, train, tmp_path / "a", tmp_path / "ck_a", tmp_path / "live_a", disable_tqdm=True)
    assert straight["global_step"] == 4 and straight["resumed_from"] is None

    out, ck, live = tmp_path / "b", tmp_path / "ck_b", tmp_path / "live_b"
    with pytest.raises(KeyboardInterrupt):
        run_training(params, "coin", base_dir, train, out, ck, live, callbacks=[_Kill(3)], disable_tqdm=True)
    assert not out.exists()  # a killed run leaves no model
    resumed = run_training(params, "coin", base_dir, train, out, ck, live, disable_tqdm=True)
    assert resumed["global_step"] == 4 and resumed["resumed_from"] == str(ck / "checkpoint-2")
    a, b = load_file(tmp_path / "a" / "model.safetensors"), load_file(out / "model.safetensors")
    assert a.keys() == b.keys() and all(torch.allclose(a[k], b[k], atol=1e-6) for k in a)

    steps = pd.read_csv(live / "plots" / "metrics" / "loss_ctr.tsv", sep="\t")["step"].tolist()
    assert steps == [1, 2, 3, 4]  # replayed from the checkpoint, no gap, no duplicate
    metrics = json.loads((live / "metrics.json").read_text())
    assert metrics["step"] == 4 and {"loss", "loss_gen", "loss_ctr", "ctr_weight", "learning_rate"} <= metrics.keys()
    assert "train_runtime" not in json.dumps(metrics)
    info = json.loads((out / "base.json").read_text())
    assert (sorted(info), info["variant"], info["weights"]) == (["base", "variant", "weights"], "coin", "full")
    assert (out / info["base"]).resolve() == base_dir.resolve()

    again = run_training(params, "coin", base_dir, train, out, ck, live, disable_tqdm=True)  # `dvc repro -f`
    assert again["global_step"] == 4 and again["resumed_from"] == str(ck / "checkpoint-4")
    c = load_file(out / "model.safetensors")
    assert all(torch.equal(b[k], c[k]) for k in b)

    # a changed parameter is another run: its old checkpoints are not resumed
    other = run_training(make_params(train={"learning_rate": 0.02}), "cit", base_dir, train, out, ck, live, disable_tqdm=True)
    assert other["resumed_from"] is None and other["global_step"] == 4
    saved = json.loads((out / "params.json").read_text())
    assert saved["variant"] == "cit" and "loss" not in saved and saved["train"]["learning_rate"] == 0.02


def test_train_seed_defaults_to_the_global_seed_and_a_second_seed_is_another_run(base_dir, tmp_path):
    from safetensors.torch import load_file

    from coin.params import train_seed
    from pipeline.train import resolved_params, run_training

    train = tmp_path / "train.parquet"
    write_parquet(train_frame(), train, TRAIN)
    default, same, other = make_params(), make_params(train={"seed": 7}), make_params(train={"seed": 8})
    assert (train_seed(default), train_seed(same), train_seed(other)) == (7, 7, 8)
    assert "seed" not in resolved_params(default, "cit")["train"]  # null: params.json as before train.seed
    assert resolved_params(other, "cit")["train"]["seed"] == 8
    weights = {}
    for name, params in (("default", default), ("same", same), ("other", other)):
        run_training(params, "cit", base_dir, train, tmp_path / name, tmp_path / f"ck_{name}", tmp_path / f"live_{name}", disable_tqdm=True)
        weights[name] = load_file(tmp_path / name / "model.safetensors")
    assert all(torch.equal(weights["default"][k], weights["same"][k]) for k in weights["default"])
    assert not all(torch.equal(weights["default"][k], weights["other"][k]) for k in weights["default"])
    with pytest.raises(CoinError, match=r"^train.seed = -1 is not allowed: must be >= 0$"):
        make_params(train={"seed": -1})


def test_a_kill_during_a_checkpoint_save_resumes_from_the_previous_complete_one(base_dir, tmp_path, monkeypatch):
    from safetensors.torch import load_file
    from transformers.trainer_callback import TrainerState

    from pipeline.train import is_complete_checkpoint, run_training

    params = make_params()
    train = tmp_path / "train.parquet"
    write_parquet(train_frame(), train, TRAIN)
    straight = run_training(params, "coin", base_dir, train, tmp_path / "a", tmp_path / "ck_a", tmp_path / "live_a", disable_tqdm=True)

    save_state = TrainerState.save_to_json

    def killed_while_saving_step_4(self, json_path):
        if "checkpoint-4" in json_path:  # weights, optimizer, scheduler and rng are written; the state is not
            raise KeyboardInterrupt("kill -9 during the save")
        save_state(self, json_path)

    out, ck, live = tmp_path / "b", tmp_path / "ck_b", tmp_path / "live_b"
    with monkeypatch.context() as patch:
        patch.setattr(TrainerState, "save_to_json", killed_while_saving_step_4)
        with pytest.raises(KeyboardInterrupt):
            run_training(params, "coin", base_dir, train, out, ck, live, disable_tqdm=True)
    partial = ck / "checkpoint-4"
    assert partial.is_dir() and (partial / "model.safetensors").is_file() and not is_complete_checkpoint(partial)
    assert is_complete_checkpoint(ck / "checkpoint-2")

    resumed = run_training(params, "coin", base_dir, train, out, ck, live, disable_tqdm=True)
    assert resumed["resumed_from"] == str(ck / "checkpoint-2") and resumed["global_step"] == straight["global_step"] == 4
    assert is_complete_checkpoint(ck / "checkpoint-4")  # saved again, completely
    umask = os.umask(0)
    os.umask(umask)
    modes = {p.name: stat.S_IMODE(p.stat().st_mode) for p in (ck / "checkpoint-4").iterdir()}
    assert "model.safetensors" in modes and set(modes.values()) == {0o666 & ~umask}, modes  # not safetensors' 0600
    a, b = load_file(tmp_path / "a" / "model.safetensors"), load_file(out / "model.safetensors")
    assert all(torch.allclose(a[k], b[k], atol=1e-6) for k in a)

    (ck / "checkpoint-4" / "trainer_state.json").write_text('{"global_st')  # cut off mid-write
    assert not is_complete_checkpoint(ck / "checkpoint-4")
    (ck / "checkpoint-4" / "trainer_state.json").write_text('{"global_step": 4}')  # parses, but the Trainer cannot resume it
    assert not is_complete_checkpoint(ck / "checkpoint-4")

    # train.resume = never retrains from scratch even with complete checkpoints of the same run
    never = run_training(make_params(train={"resume": "never"}), "coin", base_dir, train, out, ck, live, disable_tqdm=True)
    assert never["resumed_from"] is None and never["global_step"] == 4
    c = load_file(out / "model.safetensors")
    assert all(torch.allclose(a[k], c[k], atol=1e-6) for k in a)
    saved = json.loads((out / "params.json").read_text())
    assert "resume" not in saved["train"]  # how a run starts is not part of what it trains


def test_the_same_run_twice_gives_byte_identical_checkpoints(base_dir, tmp_path, monkeypatch):
    """Two runs of the same params in two project folders (two clones): every checkpoint file, and so
    dvc.lock, is the same; training_args.bin holds no runs/<date>_<host> logging_dir (transformers 5 has
    none; 4.57 needed a fixed one)."""
    import hashlib
    import time

    from pipeline.train import run_training

    params = make_params()
    digests = []
    for clone in ("one", "two"):
        project = tmp_path / clone
        project.mkdir()
        monkeypatch.chdir(project)
        write_parquet(train_frame(), Path("train.parquet"), TRAIN)
        run_training(params, "cit", base_dir, Path("train.parquet"), Path("models/cit"), Path("checkpoints/cit"),
                     Path("reports/train/cit"), disable_tqdm=True)
        files = sorted(p for p in Path("checkpoints").rglob("*") if p.is_file())
        digests.append({str(p): hashlib.sha256(p.read_bytes()).hexdigest() for p in files})
        time.sleep(1.1)  # a time-stamped field (4.57's default logging_dir) would change every second
    assert "checkpoints/cit/checkpoint-4/training_args.bin" in digests[0]
    assert digests[0] == digests[1]
    args = torch.load(Path("checkpoints/cit/checkpoint-4/training_args.bin"), weights_only=False)
    assert not hasattr(args, "logging_dir") and args.output_dir == "checkpoints/cit"
    # the logged loss keeps 4.57's 4 decimals (transformers 5 logs it unrounded), so DVCLive's files do not change
    metrics = json.loads(Path("reports/train/cit/metrics.json").read_text())
    assert metrics["loss"] == round(metrics["loss"], 4) and abs(metrics["loss"] - metrics["loss_gen"]) <= 5e-5


@pytest.mark.parametrize("ratio, steps, warmup", [(0.0, 225, 0), (0.1, 225, 23), (0.1, 4, 1), (0.5, 7, 4), (1.0, 225, 225), (1.0, 1, 1)])
def test_warmup_ratio_gives_4_57s_warmup_steps(ratio, steps, warmup, tmp_path):
    """transformers 5 dropped warmup_ratio; warmup_steps < 1 is the fraction: ceil(steps * ratio), as 4.57 did."""
    from coin.training.trainer import training_arguments

    train = dataclasses.replace(make_params().train, warmup_ratio=ratio)
    args = training_arguments(train, 0, str(tmp_path))
    assert args.get_warmup_steps(steps) == warmup


def test_load_model_round_trips_full_and_lora(base_dir, tmp_path):
    from peft import PeftModel

    from coin.training.model import load_model, model_for_training, relative_reference, save_model_folder
    from coin.training.trainer import Objective

    model, tok = load_model(base_dir)
    ids = tok(["Is it so? red blue"], return_tensors="pt")
    with torch.no_grad():
        reference = model(**ids).logits
    full = tmp_path / "full"
    save_model_folder(model, tok, full, {"base": relative_reference(base_dir, full), "weights": "full"})
    again, _ = load_model(full)
    with torch.no_grad():
        assert torch.equal(again(**ids).logits, reference)
    # the suite runs with HF_HUB_OFFLINE=1 (conftest): the folder must not record that load-time switch
    assert "local_files_only" not in json.loads((full / "tokenizer_config.json").read_text())

    params = make_params(model={"lora": {"enabled": True}})
    lora_model, tok = model_for_training(base_dir, params.model, params.seed)
    trainable = {k for k, v in lora_model.named_parameters() if v.requires_grad}
    assert trainable and all("lora_A" in k or "lora_B" in k for k in trainable)
    before = _state(lora_model)
    _trainer(lora_model, tok, Objective(True, 1000.0, 0.05, "pair"), params, tmp_path / "ck", max_steps=2).train()
    assert [k for k, v in _state(lora_model).items() if torch.equal(v, before[k])] == []
    adapter = tmp_path / "lora"
    save_model_folder(lora_model, tok, adapter, {"base": relative_reference(base_dir, adapter), "weights": "lora"})
    assert not (adapter / "model.safetensors").exists() and (adapter / "adapter_model.safetensors").is_file()
    loaded, _ = load_model(adapter)
    assert isinstance(loaded, PeftModel) and not loaded.training
    with torch.no_grad():
        expected = lora_model.eval()(**ids).logits
        assert torch.allclose(loaded(**ids).logits, expected, atol=1e-6)
        assert not torch.allclose(expected, reference, atol=1e-4)  # the adapter did something


def test_model_option_errors(base_dir):
    from coin.training.model import load_model, model_for_training

    params = make_params(model={"dtype": "float16"})
    with pytest.raises(CoinError, match=r"^model.dtype = 'float16' cannot train full weights: use bfloat16 or float32, or enable model.lora$"):
        model_for_training(base_dir, params.model, params.seed)
    if importlib.util.find_spec("bitsandbytes") is None:
        with pytest.raises(CoinError, match=r"^model.load_in_8bit = true needs bitsandbytes, which is not installed"):
            load_model(base_dir, load_in_8bit=True)
    bf16, _ = load_model(base_dir, dtype="bfloat16")
    assert next(bf16.parameters()).dtype == torch.bfloat16


def test_train_rejects_an_unknown_variant(base_dir, tmp_path):
    from pipeline.train import run_training

    with pytest.raises(CoinError, match=r"^--variant 'dpo' is not allowed: use one of cit, coin$"):
        run_training(make_params(), "dpo", base_dir, tmp_path / "t.parquet", tmp_path / "o", tmp_path / "c", tmp_path / "l")


def _flan(folder: Path) -> Path:
    examples = pd.DataFrame({
        "dataset": ["sst2", "sst2", "rte"],
        "example_id": ["1", "0", "0"],
        "fields": [json.dumps({"sentence": "a grey day"}), json.dumps({"sentence": "a bright tune"}),
                   json.dumps({"premise": "it rains", "hypothesis": "it is wet"})],
        "options": [["negative", "positive"], ["negative", "positive"], ["yes", "no"]],
        "answer": ["negative", "positive", "yes"],
        "label": [0, 1, 0],
    })
    templates = pd.DataFrame({
        "flan_key": ["sst2", "sst2", "rte"],
        "template_id": [0, 1, 0],
        "input_template": ["Mood of: {sentence}\n{options_}", "Write: {sentence}", "{premise} so {hypothesis}?\n{options_}"],
        "target_template": ["{answer}", "{sentence}", "{answer}"],
        "kept": [True, False, True],
        "drop_reason": ["", "inverted", ""],
    })
    write_parquet(examples, folder / "examples.parquet", FLAN_EXAMPLES)
    write_parquet(templates, folder / "templates.parquet", FLAN_TEMPLATES)
    return folder


INSTRUCTIONS = '''"""Doc."""\nTASK = {"sst2": ["Say 'positive' or 'negative'."], "rte": ["Answer 'entailment' or not."]}\nN = len(TASK)\n'''


def test_base_model_stage_tiny_is_deterministic_and_pointer_follows(base_dir, tmp_path):
    from coin.training.model import load_model
    from pipeline.base_model import build_base, tokenizer_corpus

    flan = _flan(tmp_path / "flan")
    corpus = tokenizer_corpus(flan, INSTRUCTIONS)
    assert len(corpus) == 7 and corpus[-4:] == ["sst2", "Say 'positive' or 'negative'.", "rte", "Answer 'entailment' or not."]
    assert corpus[0].startswith("it rains") and corpus[0].endswith("\nyes")  # rte first, its kept template
    assert "a bright tune" in corpus[1] and corpus[1].endswith("\npositive")  # sst2 example "0" before "1"

    params = make_params()
    build_base(flan, tmp_path / "b1", params, INSTRUCTIONS)
    build_base(flan, tmp_path / "b2", params, INSTRUCTIONS)
    files = sorted(p.name for p in (tmp_path / "b1").iterdir())
    assert {"base.json", "config.json", "model.safetensors", "tokenizer.json"} <= set(files)
    assert all((tmp_path / "b1" / f).read_bytes() == (tmp_path / "b2" / f).read_bytes() for f in files)
    info = json.loads((tmp_path / "b1" / "base.json").read_text())
    assert info["base"] == "embedded-tiny" and info["params"]["model.tiny"]["hidden_size"] == 32

    pointer = make_params(model={"base": str(base_dir)})
    build_base(flan, tmp_path / "p", pointer, None)
    assert json.loads((tmp_path / "p" / "base.json").read_text()) == {"base": str(base_dir), "weights": "none"}
    assert not (tmp_path / "p" / "model.safetensors").exists()
    followed, tok = load_model(tmp_path / "p")
    original, _ = load_model(base_dir)
    ids = tok(["red lamp"], return_tensors="pt")
    with torch.no_grad():
        assert torch.equal(followed(**ids).logits, original(**ids).logits)


def test_load_model_names_a_folder_that_is_not_a_model(tmp_path):
    from coin.training.model import load_model

    with pytest.raises(CoinError) as info:
        load_model(tmp_path / "nope")
    assert str(info.value) == f"{tmp_path / 'nope'} is not a model folder: give models/base, models/cit or models/coin"
