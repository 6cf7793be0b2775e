"""Registers every stage module on the app (each module adds its own command)."""

from pipeline import (  # noqa: F401  (imported for their @app.command side effect)
    answer_alignment,
    augment,
    base_model,
    check_params,
    evaluate,
    extract,
    mirror,
    offline_plots,
    params_doc,
    perturb,
    prepare_eval,
    profile,
    report,
    restore,
    sample,
    seeds,
    smoke,
    sweep,
    train,
)
from pipeline.app import app


def main() -> None:
    app()
