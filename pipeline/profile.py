"""`profile`: apply a configuration profile (e.g. configs/paper.yaml) to params.yaml."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer
import yaml

from coin.errors import ParamsError
from coin.io import write_text
from coin.params import merge, params_from_dict, yaml_problem
from pipeline.app import app, stage


def apply_profile(profile_path: Path, params: Path) -> dict[str, Any]:
    """params.yaml with the profile's keys merged in, validated (a ParamsError names the first bad key)."""
    if not profile_path.is_file():
        raise ParamsError(f"{profile_path} does not exist: name a profile such as configs/paper.yaml")
    if not params.is_file():
        raise ParamsError(f"{params} does not exist: run from the project root or pass --params")
    base = yaml.safe_load(params.read_text()) or {}
    try:
        override = yaml.safe_load(profile_path.read_text()) or {}
    except yaml.YAMLError as exc:
        raise ParamsError(f"{profile_path} is not valid YAML: {yaml_problem(exc)}") from None
    if not isinstance(override, dict):
        raise ParamsError(f"{profile_path} is not a mapping of params.yaml keys")
    merged = merge(base, override)
    params_from_dict(merged)
    return merged


@app.command("profile")
@stage
def profile(
    profile_path: Path = typer.Argument(..., help="Profile YAML whose keys override params.yaml, e.g. configs/paper.yaml."),
    params: Path = typer.Option(Path("params.yaml"), help="params.yaml to rewrite."),
) -> None:
    """Merge a profile into params.yaml (validated first; nothing is written if any key is bad)."""
    merged = apply_profile(profile_path, params)
    write_text(yaml.safe_dump(merged, sort_keys=False, width=110, allow_unicode=True), params)
    typer.echo(f"{params}: applied {profile_path}")
