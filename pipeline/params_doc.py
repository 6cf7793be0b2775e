"""`params-doc`: the params reference (every key, type, default, allowed values, description), generated.

Not a stage: docs/params.md is committed, and tests/test_params_doc.py fails when it differs from what
this command writes, or when a params field has no trailing `# comment` in coin/params.py.
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from pipeline.app import app, stage


@app.command("params-doc")
@stage
def params_doc(
    out: Optional[Path] = typer.Option(None, help="Write the reference here (docs/params.md); default: print it."),
    params: Path = typer.Option(Path("params.yaml"), help="params.yaml whose values are the defaults shown."),
) -> None:
    """Print or write the params reference generated from coin/params.py and params.yaml."""
    from coin.io import write_text
    from coin.params import load_params
    from coin.params_doc import params_reference

    text = params_reference(load_params(params).to_dict())
    if out is None:
        typer.echo(text, nl=False)
    else:
        write_text(text, out)
        typer.echo(f"wrote {out}")
