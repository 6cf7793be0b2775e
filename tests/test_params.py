from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from coin.errors import ParamsError
from coin.params import load_params, params_from_dict
ROOT = Path(__file__).resolve().parents[1]


def _raw():
    return yaml.safe_load((ROOT / "params.yaml").read_text())


def test_default_params_load():
    params = load_params(ROOT / "params.yaml")
    assert params.loss.lam == 1000.0
    assert params.loss.temperature == 0.05
    assert params.data.source == "embedded"
    assert len(params.data.datasets) == 25
    assert params.to_dict()["loss"]["lambda"] == 1000.0


@pytest.mark.parametrize(
    ("section", "key", "value", "message"),
    [
        ("loss", "lambda", -1, "loss.lambda = -1.0 is not allowed: must be >= 0"),
        ("loss", "temperature", 0, "loss.temperature = 0.0 is not allowed: must be > 0"),
        ("loss", "negatives", "all", "loss.negatives = 'all' is not allowed: use one of pair, batch"),
        ("train", "micro_batch_size", 3, "train.micro_batch_size = 3 is not allowed: must be even (pairs stay together)"),
        ("eval", "scoring", "vote", "eval.scoring = 'vote' is not allowed: use one of generate, rank, both"),
        ("loss", "pooling", "sum", "loss.pooling = 'sum' is not allowed: use one of last, mean, max, prompt"),
        ("loss", "gen_reduction", "mean", "loss.gen_reduction = 'mean' is not allowed: use one of tokens, views"),
        ("augment", "negatives", "easy", "augment.negatives = 'easy' is not allowed: use one of hard, normal, mixed"),
        ("augment", "positives", "both_kinds", "augment.positives = 'both_kinds' is not allowed: use one of template, perturbed, both"),
        ("augment", "edit_rate", 0, "augment.edit_rate = 0.0 is not allowed: must be within (0, 1]"),
    ],
)
def test_bad_values_name_key_and_allowed(section, key, value, message):
    raw = _raw()
    raw[section][key] = value
    with pytest.raises(ParamsError) as info:
        params_from_dict(raw)
    assert str(info.value) == message


def test_unknown_dataset_is_named():
    raw = _raw()
    raw["data"]["datasets"] = ["sst2", "squad"]
    with pytest.raises(ParamsError, match=r"^data.datasets has 'squad', which is not allowed: use any of anli_r1, "):
        params_from_dict(raw)


def test_unknown_and_missing_keys():
    raw = _raw()
    raw["loss"]["lamda"] = 3
    with pytest.raises(ParamsError, match=r"^loss.lamda is not a known key: loss takes lambda, temperature, negatives, contrastive, pooling, gen_reduction$"):
        params_from_dict(raw)
    raw = _raw()
    del raw["train"]["epochs"]
    with pytest.raises(ParamsError, match=r"^train.epochs is missing from params$"):
        params_from_dict(raw)


def test_wrong_type_is_named():
    raw = _raw()
    raw["sample"]["n_entries"] = "many"
    with pytest.raises(ParamsError, match=r"^sample.n_entries = 'many' is not allowed: must be int$"):
        params_from_dict(raw)
