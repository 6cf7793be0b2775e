"""The params reference: every field described, docs/params.md equal to the generator's output."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

import pipeline.cli  # noqa: F401  (registers every command)
from coin.errors import CoinError
from coin.params import load_params
from coin.params_doc import SOURCE, allowed_values, field_comments, leaf_rows, params_reference
from pipeline.app import app

ROOT = Path(__file__).resolve().parents[1]


def _defaults() -> dict:
    return load_params(ROOT / "params.yaml").to_dict()


def test_every_params_field_has_a_description():
    rows = leaf_rows(_defaults())
    assert [key for key, _, _, _, text in rows if not text] == []
    keys = [row[0] for row in rows]
    # every leaf of params.yaml is a row, and nothing else
    def leaves(raw, prefix=""):
        for key, value in raw.items():
            if isinstance(value, dict):
                yield from leaves(value, f"{prefix}{key}.")
            else:
                yield f"{prefix}{key}"
    assert sorted(keys) == sorted(leaves(yaml.safe_load((ROOT / "params.yaml").read_text())))


def test_docs_params_md_is_the_generators_output():
    committed = (ROOT / "docs" / "params.md").read_text()
    assert committed == params_reference(_defaults()), "regenerate: python -m pipeline params-doc --out docs/params.md"


def test_a_field_without_a_comment_is_an_error():
    source = SOURCE.read_text().replace("    num_layers: int  # decoder layers (>= 1)\n", "    num_layers: int\n")
    assert "num_layers: int\n" in source
    with pytest.raises(CoinError) as info:
        leaf_rows(_defaults(), source)
    assert str(info.value) == (
        "1 params field(s) have no description: model.tiny.num_layers (TinyModelParams.num_layers); "
        "add a trailing `# comment` on the field's line in coin/params.py"
    )


def test_comments_and_allowed_values_are_read_from_the_source():
    source = (
        "@dataclass\nclass A:\n    x: int  # the x (>= 2)\n    y: str\n    z: list[str]  # zs\n\n"
        "    def validate(self):\n        _at_least('a.x', self.x, 2)\n        _choice('a.y', self.y, MODES)\n"
        "        _subset('a.z', self.z, ('p', 'q'))\n        _fraction('a.w', self.w)\n"
    )
    assert field_comments(source) == {"A": {"x": "the x (>= 2)", "y": "", "z": "zs"}}
    assert allowed_values(source, {"MODES": ("m", "n")}) == {
        "a.x": ">= 2", "a.y": "one of m, n", "a.z": "any of p, q", "a.w": "within [0, 1]",
    }


def test_reference_rows_show_type_default_allowed_and_description():
    text = params_reference(_defaults())
    assert "| `loss.lambda` | float | `1000.0` | >= 0 | yaml key `lambda`: upper bound of the contrastive weight |" in text
    assert "| `data.local_dir` | str or null | `null` | - |" in text
    assert "| `model.dtype` | str | `\"float32\"` | one of auto, float32, bfloat16, float16 |" in text


def test_params_doc_command_prints_and_writes(tmp_path):
    printed = CliRunner().invoke(app, ["params-doc", "--params", str(ROOT / "params.yaml")])
    assert printed.exit_code == 0 and printed.output == params_reference(_defaults())
    out = tmp_path / "params.md"
    written = CliRunner().invoke(app, ["params-doc", "--params", str(ROOT / "params.yaml"), "--out", str(out)])
    assert (written.exit_code, written.output) == (0, f"wrote {out}\n")
    assert out.read_text() == params_reference(_defaults())
