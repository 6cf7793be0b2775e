"""Typed parameters: one frozen dataclass per params.yaml section.

`load_params` reads params.yaml, refuses unknown or missing keys and bad values with a one-line
`ParamsError` naming the key and what is allowed, and returns a `Params`. Nothing is written before
this succeeds, so a bad `dvc exp run -S key=value` stops a stage before it touches an output.
"""

from __future__ import annotations

import dataclasses
import math
import re
import types
import typing
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

import yaml

from coin.data.registry import EVAL_TASKS, FLAN_DATASETS
from coin.errors import ParamsError
from coin.hardware import DTYPES, PRECISIONS
from coin.prompts.format import EVAL_FORMATS, PROMPT_FORMATS

SOURCES = ("embedded", "hub", "local")
NEGATIVES = ("pair", "batch")
POOLINGS = ("last", "mean", "max", "prompt")
GEN_REDUCTIONS = ("tokens", "views")
NEGATIVE_KINDS = ("hard", "normal", "mixed")
POSITIVE_KINDS = ("template", "perturbed", "both")
PERTURB_MODES = ("adversarial", "random", "file", "published")
# PromptBench's seven instruction attacks in its order: character, word, sentence, semantic
PERTURB_GROUPS = ("deepwordbug", "textbugger", "textfooler", "bertattack", "checklist", "stresstest", "semantic")
SELECTIONS = ("first", "random", "top")
LANGUAGES = ("chinese", "french", "arabic", "spanish", "japanese", "korean")
SCORINGS = ("generate", "rank", "both")
EVAL_SOURCES = ("same", *SOURCES)
PARSERS = ("prefix", "last_word", "mention")
RESUMES = ("auto", "never")
# a hub repo id: name or owner/name of letters, digits, '-', '_', '.' (huggingface_hub's rule, roughly)
_HUB_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,95}(/[A-Za-z0-9][A-Za-z0-9_.-]{0,95})?")
# files that make a folder a model (config.json), a peft adapter, or a pipeline model folder (base.json)
_MODEL_FILES = ("config.json", "adapter_config.json", "base.json")


def _choice(key: str, value: Any, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise ParamsError(f"{key} = {value!r} is not allowed: use one of {', '.join(allowed)}")


def _subset(key: str, values: list[str], allowed: tuple[str, ...]) -> None:
    for value in values:
        if value not in allowed:
            raise ParamsError(f"{key} has {value!r}, which is not allowed: use any of {', '.join(allowed)}")
    if len(set(values)) != len(values):
        raise ParamsError(f"{key} = {values} lists a name twice")
    if not values:
        raise ParamsError(f"{key} is empty: list at least one of {', '.join(allowed)}")


def _at_least(key: str, value: float, low: float) -> None:
    if value < low:
        raise ParamsError(f"{key} = {value} is not allowed: must be >= {low}")


def _positive(key: str, value: float) -> None:
    if not value > 0:
        raise ParamsError(f"{key} = {value} is not allowed: must be > 0")


def _finite_and_filled(key: str, value: Any) -> None:
    """Every number must be finite (no nan, inf) and every string non-empty, in any section."""
    if dataclasses.is_dataclass(value):
        for f in dataclasses.fields(value):
            _finite_and_filled(f"{key}.{_yaml_key(f.name)}".lstrip("."), getattr(value, f.name))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            _finite_and_filled(f"{key}[{i}]", item)
    elif isinstance(value, float) and not math.isfinite(value):
        raise ParamsError(f"{key} = {value} is not allowed: must be a finite number")
    elif isinstance(value, str) and not value.strip():
        raise ParamsError(f"{key} = {value!r} is not allowed: must be a non-empty string (null where none is meant)")


def _model_reference(key: str, value: str, kind: str, file_suffix: str | None = None) -> None:
    """A local path must be a folder holding a model (or a file ending in `file_suffix`, e.g. a .gguf
    model); anything else must read as a hub id."""
    path = Path(value).expanduser()
    if path.exists():
        if file_suffix and path.is_file() and path.name.endswith(file_suffix):
            return
        if not path.is_dir():
            raise ParamsError(f"{key} = {value!r} is not allowed: it is a file, not a {kind} folder")
        if not any((path / name).is_file() for name in _MODEL_FILES):
            raise ParamsError(f"{key} = {value!r} is not allowed: the folder holds no {kind} (no {' / '.join(_MODEL_FILES)})")
    elif not _HUB_ID.fullmatch(value) or ".." in value or "--" in value:
        raise ParamsError(f"{key} = {value!r} is not allowed: no such folder, and not a hub id (name or owner/name)")


def _fraction(key: str, value: float) -> None:
    if not 0 <= value <= 1:
        raise ParamsError(f"{key} = {value} is not allowed: must be within [0, 1]")


@dataclass(frozen=True)
class DataParams:
    """Where the FLAN training datasets and the GLUE evaluation sets come from."""

    source: str  # embedded (the project's own mirror) | hub (datasets.load_dataset) | local (data.local_dir)
    local_dir: Optional[str]  # local: one folder per hub id (owner/name), as `hf download` leaves it
    flan_templates: str  # embedded | pinned (FLAN templates.py at its pinned commit) | path to a templates.py
    cache_dir: str  # where pinned downloads are kept (checked by sha256 on every read)
    datasets: list[str]  # FLAN training datasets, any of the 25 in coin.data.registry
    max_train_examples: int  # cap on rows read per dataset train split (FLAN capped tasks at 30k)
    mirror_train_rows: int  # embedded mirror: rows written per train split
    mirror_eval_rows: int  # embedded mirror: rows written per evaluation split

    def validate(self) -> None:
        _choice("data.source", self.source, SOURCES)
        if self.source == "local" and not self.local_dir:
            raise ParamsError("data.local_dir is empty: data.source = 'local' needs a folder of hub-repo copies")
        _subset("data.datasets", self.datasets, tuple(FLAN_DATASETS))
        _at_least("data.max_train_examples", self.max_train_examples, 1)
        _at_least("data.mirror_train_rows", self.mirror_train_rows, 4)
        _at_least("data.mirror_eval_rows", self.mirror_eval_rows, 4)


@dataclass(frozen=True)
class SampleParams:
    """Round-robin selection of training entries (paper section 4.1)."""

    n_entries: int  # entries to select: anchors + hard negatives (52,002 in the paper)
    cutoff_len: int  # drop examples whose formatted prompt + response exceed this many tokens (>= 8); training truncates to it too

    def validate(self) -> None:
        _at_least("sample.n_entries", self.n_entries, 2)
        if self.n_entries % 2:
            raise ParamsError(f"sample.n_entries = {self.n_entries} is not allowed: must be even (anchor + negative pairs)")
        _at_least("sample.cutoff_len", self.cutoff_len, 8)


@dataclass(frozen=True)
class AugmentParams:
    """What the augment stage pairs with each anchor (paper sections 3.2 and 4.1, first limitation)."""

    negatives: str  # hard: same dataset + template, other input and answer (paper) | normal: an entry of another dataset | mixed: half each
    positives: str  # template: another FLAN template of the dataset (paper) | perturbed: own template, char/word/sentence noise | both: alternate
    edit_rate: float  # positives perturbed/both: share of a template's modifiable words edited (char and word noise)

    def validate(self) -> None:
        _choice("augment.negatives", self.negatives, NEGATIVE_KINDS)
        _choice("augment.positives", self.positives, POSITIVE_KINDS)
        if not 0 < self.edit_rate <= 1:
            raise ParamsError(f"augment.edit_rate = {self.edit_rate} is not allowed: must be within (0, 1]")


@dataclass(frozen=True)
class TinyModelParams:
    """The embedded LLaMA-architecture model built from config (model.base = embedded-tiny)."""

    vocab_size: int  # tokens of the embedded byte-level BPE tokenizer and the model's embedding (>= 1)
    hidden_size: int  # width of the residual stream (>= 1, a multiple of num_heads)
    num_layers: int  # decoder layers (>= 1)
    num_heads: int  # attention heads per layer (>= 1)
    intermediate_size: int  # width of each layer's SwiGLU MLP (>= 1)
    max_position: int  # longest sequence the rotary positions are set up for, in tokens (>= 1)

    def validate(self) -> None:
        for name in ("vocab_size", "hidden_size", "num_layers", "num_heads", "intermediate_size", "max_position"):
            _at_least(f"model.tiny.{name}", getattr(self, name), 1)
        if self.hidden_size % self.num_heads:
            raise ParamsError(
                f"model.tiny.hidden_size = {self.hidden_size} is not allowed: must be a multiple of num_heads ({self.num_heads})"
            )


@dataclass(frozen=True)
class LoraParams:
    """peft LoRA adapter (the paper's Alpaca-LoRA setup: r 16, alpha 16, dropout 0.05 on q, k, v, o)."""

    enabled: bool  # true: train a LoRA adapter on the frozen base | false: train every weight
    r: int  # LoRA rank (>= 1; the paper: 16)
    alpha: int  # LoRA scaling numerator, the update is scaled by alpha / r (>= 1; the paper: 16)
    dropout: float  # dropout on the LoRA input, within [0, 1] (the paper: 0.05)
    target_modules: list[str]  # module names that get an adapter, e.g. q_proj, k_proj, v_proj, o_proj (non-empty when enabled)
    init_adapter: Optional[str]  # continue from an existing adapter (hub id or path), as the paper did

    def validate(self) -> None:
        _at_least("model.lora.r", self.r, 1)
        _at_least("model.lora.alpha", self.alpha, 1)
        _fraction("model.lora.dropout", self.dropout)
        if self.init_adapter is not None and not self.enabled:
            raise ParamsError(f"model.lora.init_adapter = {self.init_adapter!r} needs model.lora.enabled = true")
        if self.enabled and not self.target_modules:
            raise ParamsError("model.lora.target_modules is empty: name the modules to adapt, e.g. q_proj")
        if self.enabled and self.init_adapter:
            _model_reference("model.lora.init_adapter", self.init_adapter, "LoRA adapter")


@dataclass(frozen=True)
class ModelParams:
    """The base causal LM and how prompts are formatted for it (training and evaluation alike)."""

    base: str  # embedded-tiny | smollm2-135m-instruct | hub id | local model folder | local .gguf file
    dtype: str  # auto (bfloat16 where the device has bfloat16 units, else float32) | float32 | bfloat16 | float16 (a float16 base trains a float32 LoRA adapter)
    prompt_format: str  # alpaca (prompt_template*) | chat (the tokenizer's chat template)
    prompt_template: str  # with {instruction} and {input}
    prompt_template_no_input: str  # with {instruction}
    gradient_checkpointing: bool  # recompute activations in the backward pass: less memory, more time
    load_in_8bit: bool  # load a hub/local base with 8-bit weights (needs bitsandbytes, which constraints.txt does not install)
    tiny: TinyModelParams  # shape of the embedded-tiny model
    lora: LoraParams  # the LoRA adapter

    def validate(self) -> None:
        if self.base != "embedded-tiny":  # coin.training.model.EMBEDDED_TINY
            _model_reference("model.base", self.base, "model", file_suffix=".gguf")
        _choice("model.dtype", self.dtype, DTYPES)
        _choice("model.prompt_format", self.prompt_format, PROMPT_FORMATS)
        for key, needed in (("prompt_template", ("{instruction}", "{input}")), ("prompt_template_no_input", ("{instruction}",))):
            for placeholder in needed:
                if placeholder not in getattr(self, key):
                    raise ParamsError(f"model.{key} lacks {placeholder}: the template must contain it")
        self.tiny.validate()
        self.lora.validate()


@dataclass(frozen=True)
class TrainParams:
    """Optimisation (the paper: lr 1e-4, batch 64, micro-batch 2, 1 epoch, 10% warmup)."""

    learning_rate: float  # AdamW peak learning rate, > 0 (the paper: 1e-4)
    batch_size: int  # entries per optimizer step
    micro_batch_size: int  # entries per forward pass; even, so an anchor and its negative stay together
    epochs: float  # passes over data/train.parquet, > 0 (fractions allowed; the paper: 1)
    warmup_ratio: float  # share of the optimizer steps with linear warmup, within [0, 1] (the paper: 0.1)
    weight_decay: float  # AdamW weight decay, >= 0
    max_grad_norm: float  # gradient norm clipping, > 0
    logging_steps: int  # log L_gen, L_ctr, weight and lr every N optimizer steps (>= 1)
    save_steps: int  # checkpoint every N optimizer steps; `dvc repro` after a kill resumes from the last
    resume: str  # auto: continue the same run's last complete checkpoint | never: retrain from scratch
    processes: int  # 1: one process (today's path) | N > 1: `accelerate launch` DDP over N processes (GPUs, else CPU/gloo)
    group_by_length: int  # 0: off | W >= 1: pairs sorted by length within seeded windows of W micro-batches (less padding)
    seed: Optional[int]  # the adapter's initialisation, dropout and the data order: null = the global seed | N >= 0 (retrain with another seed, data stages cached)

    def validate(self) -> None:
        _positive("train.learning_rate", self.learning_rate)
        _at_least("train.micro_batch_size", self.micro_batch_size, 2)
        if self.micro_batch_size % 2:
            raise ParamsError(f"train.micro_batch_size = {self.micro_batch_size} is not allowed: must be even (pairs stay together)")
        if self.batch_size < self.micro_batch_size:
            raise ParamsError(
                f"train.batch_size = {self.batch_size} is not allowed: must be >= micro_batch_size ({self.micro_batch_size})"
            )
        if self.batch_size % self.micro_batch_size:
            raise ParamsError(
                f"train.batch_size = {self.batch_size} is not allowed: must be a multiple of micro_batch_size ({self.micro_batch_size})"
            )
        _positive("train.epochs", self.epochs)
        _fraction("train.warmup_ratio", self.warmup_ratio)
        _at_least("train.weight_decay", self.weight_decay, 0)
        _positive("train.max_grad_norm", self.max_grad_norm)
        _at_least("train.logging_steps", self.logging_steps, 1)
        _at_least("train.save_steps", self.save_steps, 1)
        _choice("train.resume", self.resume, RESUMES)
        _at_least("train.processes", self.processes, 1)
        _at_least("train.group_by_length", self.group_by_length, 0)
        if self.seed is not None:
            _at_least("train.seed", self.seed, 0)
        if self.batch_size % (self.micro_batch_size * self.processes):
            raise ParamsError(
                f"train.processes = {self.processes} is not allowed: batch_size ({self.batch_size}) must be a multiple of "
                f"micro_batch_size x processes ({self.micro_batch_size * self.processes})"
            )


@dataclass(frozen=True)
class LossParams:
    """COIN objective: L = L_gen + min(lambda, L_gen / L_ctr) * L_ctr (section 3.3)."""

    lam: float  # yaml key `lambda`: upper bound of the contrastive weight
    temperature: float  # tau of the InfoNCE similarity
    negatives: str  # pair: an anchor against its hard negative (paper) | batch: every in-batch row
    contrastive: bool  # false gives exactly L_gen (the CIT baseline)
    pooling: str  # state fed to L_ctr: last (last real token, paper) | prompt (last prompt token: where the answer is generated from) | mean | max over the real tokens
    gen_reduction: str  # L_gen: tokens (mean over both views' response tokens) | views (released code: sum of the two views' means)

    def validate(self) -> None:
        _at_least("loss.lambda", self.lam, 0)
        _positive("loss.temperature", self.temperature)
        _choice("loss.negatives", self.negatives, NEGATIVES)
        _choice("loss.pooling", self.pooling, POOLINGS)
        _choice("loss.gen_reduction", self.gen_reduction, GEN_REDUCTIONS)


@dataclass(frozen=True)
class PerturbParams:
    """PromptBench-style instruction perturbations (COIN section 4.3)."""

    mode: str  # adversarial (attack against the CIT model, paper) | random (seeded noise, no model) | file (perturb.file) | published (perturb.published)
    instructions: str  # embedded | pinned (PromptBench at its pinned commit) | pinned-current (release 0.0.4) | folder with the prompt modules
    file: Optional[str]  # mode = file: a prompt set (JSON or Parquet in the prompts schema)
    published: Optional[str]  # mode = published: PromptBench's adversarial prompts of t5|ul2|vicuna|chatgpt _zeroshot|_fewshot, or a path to such a .md file
    n_instructions: int  # clean instructions per task: half task-oriented, half role-oriented
    selection: str  # clean instructions per task: first (source order) | random (seeded) | top (best under the CIT model)
    groups: list[str]  # any of deepwordbug, textbugger, textfooler, bertattack, checklist, stresstest, semantic (the paper's four: deepwordbug, textfooler, checklist, semantic)
    languages: list[str]  # semantic group: one instruction per language
    n_attack_samples: int  # eval examples the goal function scores a candidate on
    query_budget: int  # model queries per attacked instruction
    edit_rate: float  # mode = random: share of eligible words edited
    embedding: str  # textfooler neighbours: embedded | textattack | path to a word2vec/GloVe text file
    sentence_encoder: str  # none | use | path to a local sentence encoder
    masked_lm: Optional[str]  # bertattack's masked language model: a local folder | a hub id[@revision] (PromptBench: bert-base-uncased) | embedded (tiny, random weights: runs offline, swaps arbitrary words) | null
    levenshtein_limit: int  # DeepWordBug: max edit distance (PromptBench: 30)
    textfooler_candidates: int  # TextFooler: neighbours per word (PromptBench: 50)
    textfooler_min_cos: float  # TextFooler: min word-embedding cosine (PromptBench: 0.6)

    def validate(self) -> None:
        _choice("perturb.mode", self.mode, PERTURB_MODES)
        if self.mode == "file" and not self.file:
            raise ParamsError("perturb.file is empty: perturb.mode = 'file' needs a prompt-set file")
        if self.mode == "published" and not self.published:
            raise ParamsError("perturb.published is empty: perturb.mode = 'published' needs one of PromptBench's eight names or a file")
        _at_least("perturb.n_instructions", self.n_instructions, 1)
        _choice("perturb.selection", self.selection, SELECTIONS)
        _subset("perturb.groups", self.groups, PERTURB_GROUPS)
        if "bertattack" in self.groups and self.mode in ("adversarial", "random") and not self.masked_lm:
            raise ParamsError(
                "perturb.groups has 'bertattack', which needs perturb.masked_lm: set it to a masked language model "
                "(a local folder, a hub id such as bert-base-uncased, or embedded), or drop the group"
            )
        _subset("perturb.languages", self.languages, LANGUAGES)
        _at_least("perturb.n_attack_samples", self.n_attack_samples, 1)
        _at_least("perturb.query_budget", self.query_budget, 1)
        _fraction("perturb.edit_rate", self.edit_rate)
        _at_least("perturb.levenshtein_limit", self.levenshtein_limit, 1)
        _at_least("perturb.textfooler_candidates", self.textfooler_candidates, 1)
        _fraction("perturb.textfooler_min_cos", self.textfooler_min_cos)


@dataclass(frozen=True)
class EvalParams:
    """Evaluation on the GLUE validation sets (PromptBench's formats and label words)."""

    tasks: list[str]  # any subset of the 10 GLUE columns (coin.data.registry.EVAL_TASKS)
    source: str  # same (as data.source) | embedded | hub | local: where the GLUE validation rows come from
    local_dir: Optional[str]  # eval.source = local: folder holding nyu-mll/glue/<config>/validation-*.parquet, as `hf download` leaves it
    n_samples: int  # rows per task (all where fewer), the same rows for every instruction and model
    scoring: str  # generate (greedy, the paper) | rank (label-word log-likelihood) | both (one pass; acc = generate, rank_acc beside)
    parse: str  # prefix (the COIN code) | last_word (PromptBench) | mention (first label word named)
    prompt_format: str  # trained (the layout the model was trained with) | input (instruction + input section)
    max_new_tokens: int  # scoring generate: tokens generated per answer (>= 1)
    batch_size: int  # prompts per forward pass (>= 1)
    precision: str  # auto (bfloat16 autocast where the device supports it) | float32 | bfloat16
    states_task: str  # task whose states the report's Figure 4 maps (evaluate keeps every task's states)
    processes: int  # 1: one process | N > 1: each of N accelerate processes scores a contiguous share of the grid

    def validate(self) -> None:
        _subset("eval.tasks", self.tasks, tuple(EVAL_TASKS))
        _choice("eval.source", self.source, EVAL_SOURCES)
        if self.source == "local" and not self.local_dir:
            raise ParamsError("eval.local_dir is empty: eval.source = 'local' needs a folder holding nyu-mll/glue")
        _at_least("eval.n_samples", self.n_samples, 1)
        _choice("eval.scoring", self.scoring, SCORINGS)
        _choice("eval.parse", self.parse, PARSERS)
        _choice("eval.prompt_format", self.prompt_format, EVAL_FORMATS)
        _at_least("eval.max_new_tokens", self.max_new_tokens, 1)
        _at_least("eval.batch_size", self.batch_size, 1)
        _choice("eval.precision", self.precision, PRECISIONS)
        _choice("eval.states_task", self.states_task, tuple(self.tasks))
        _at_least("eval.processes", self.processes, 1)


@dataclass(frozen=True)
class ReportParams:
    """Tables and figures of the paper, plus the significance it lacks."""

    bootstrap_samples: int  # resamples of the paired bootstrap of COIN - CIT (>= 100)
    confidence: float  # level of the bootstrap's confidence interval, within (0, 1)

    def validate(self) -> None:
        _at_least("report.bootstrap_samples", self.bootstrap_samples, 100)
        if not 0 < self.confidence < 1:
            raise ParamsError(f"report.confidence = {self.confidence} is not allowed: must be within (0, 1)")


@dataclass(frozen=True)
class Params:
    seed: int  # seeds sampling, augmentation, model init, training order, perturbations and the bootstrap (>= 0)
    data: DataParams  # where the datasets come from
    sample: SampleParams  # selection of training entries
    augment: AugmentParams  # negatives and positives
    model: ModelParams  # base model and prompt format
    train: TrainParams  # optimisation
    loss: LossParams  # the COIN objective
    perturb: PerturbParams  # instruction perturbations
    eval: EvalParams  # evaluation
    report: ReportParams  # tables, figures, significance

    def validate(self) -> None:
        _finite_and_filled("", self)
        _at_least("seed", self.seed, 0)
        for f in dataclasses.fields(self):
            section = getattr(self, f.name)
            if dataclasses.is_dataclass(section):
                section.validate()

    def to_dict(self) -> dict[str, Any]:
        """The resolved params, with yaml key names, to store next to every artifact."""
        return _to_yaml_dict(self)


# yaml keys that are Python keywords, by dataclass field name
_YAML_KEYS = {"lam": "lambda"}


def _yaml_key(field_name: str) -> str:
    return _YAML_KEYS.get(field_name, field_name)


def _to_yaml_dict(obj: Any) -> Any:
    if dataclasses.is_dataclass(obj):
        return {_yaml_key(f.name): _to_yaml_dict(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, list):
        return [_to_yaml_dict(v) for v in obj]
    return obj


def _type_name(tp: Any) -> str:
    return getattr(tp, "__name__", str(tp))


def _coerce(key: str, value: Any, tp: Any) -> Any:
    """Check `value` against the annotation `tp`; ints are accepted where floats are expected."""
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        if value is None:
            return None
        return _coerce(key, value, args[0])
    if dataclasses.is_dataclass(tp):
        return _build(key, value, tp)
    if origin is list:
        (item,) = typing.get_args(tp)
        if not isinstance(value, list):
            raise ParamsError(f"{key} = {value!r} is not allowed: must be a list of {_type_name(item)}")
        return [_coerce(f"{key}[{i}]", v, item) for i, v in enumerate(value)]
    if tp is float and isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    if tp is float and isinstance(value, str):
        try:  # yaml reads 1e-4 (no dot) as a string
            return float(value)
        except ValueError:
            pass
    if tp is int and isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, tp) and not (tp is int and isinstance(value, bool)):
        return value
    raise ParamsError(f"{key} = {value!r} is not allowed: must be {_type_name(tp)}")


def _build(prefix: str, raw: Any, cls: type) -> Any:
    if not isinstance(raw, dict):
        raise ParamsError(f"{prefix} = {raw!r} is not allowed: must be a mapping")
    hints = typing.get_type_hints(cls)
    fields = {_yaml_key(f.name): f.name for f in dataclasses.fields(cls)}
    for key in raw:
        if key not in fields:
            raise ParamsError(f"{prefix}.{key} is not a known key: {prefix} takes {', '.join(fields)}".lstrip("."))
    kwargs = {}
    for key, name in fields.items():
        full = f"{prefix}.{key}".lstrip(".")
        if key not in raw:
            raise ParamsError(f"{full} is missing from params")
        kwargs[name] = _coerce(full, raw[key], hints[name])
    return cls(**kwargs)


def params_from_dict(raw: dict[str, Any]) -> Params:
    """Build and validate `Params` from a parsed params.yaml."""
    params = _build("", raw, Params)
    params.validate()
    return params


def load_params(path: str | Path = "params.yaml") -> Params:
    path = Path(path)
    if not path.is_file():
        raise ParamsError(f"{path} does not exist: run from the project root or pass --params")
    try:
        raw = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        raise ParamsError(f"{path} is not valid YAML: {yaml_problem(exc)}") from None
    return params_from_dict(raw or {})


def yaml_problem(exc: yaml.YAMLError) -> str:
    """A parser's error on one line: where (line and column, from 1), what was expected or found, and the
    construct it was inside, e.g. `line 4, column 3: expected ',' or ']', but got ':' (while parsing a flow
    sequence that starts at line 3, column 11)`."""
    mark, problem = getattr(exc, "problem_mark", None), getattr(exc, "problem", None)
    if mark is None or not problem:  # a reader error: a character YAML does not allow, at a position
        return re.sub(r' in "<[^>]*>",', " at", " ".join(str(exc).split()))
    said = f"line {mark.line + 1}, column {mark.column + 1}: {problem}"
    context, at = getattr(exc, "context", None), getattr(exc, "context_mark", None)
    if context and at is not None and (at.line, at.column) != (mark.line, mark.column):
        said += f" ({context} that starts at line {at.line + 1}, column {at.column + 1})"
    elif context:
        said += f" ({context})"
    return said


def eval_source(params: Params) -> tuple[str, Optional[str]]:
    """(source, local_dir) of the evaluation rows: eval.source, or data.source and data.local_dir for `same`."""
    if params.eval.source == "same":
        return params.data.source, params.data.local_dir
    return params.eval.source, params.eval.local_dir


def eval_local_key(params: Params) -> str:
    """The key that names the evaluation rows' local folder: eval.local_dir, or data.local_dir for eval.source same."""
    return "data.local_dir" if params.eval.source == "same" else "eval.local_dir"


def train_seed(params: Params) -> int:
    """The seed of a training run (adapter initialisation, dropout, data order): train.seed, else the global seed."""
    return params.seed if params.train.seed is None else params.train.seed


def check_paths(params: Params) -> None:
    """Every path-valued param the run will use names an existing file or folder (relative to the
    working directory, the project root). check-params runs this, so a missing path fails before DVC
    deletes any stage's outputs; the stages that read them keep their own checks."""
    data, perturb = params.data, params.perturb
    searched = perturb.mode in ("adversarial", "random")  # the search reads the instructions, embedding and encoder
    # (augment's perturbed positives use the embedded vectors whatever perturb.embedding says)
    checks = [  # (used, key, value, wanted, what is allowed)
        (data.source == "local", "data.local_dir", data.local_dir, "folder",
         "data.source = 'local' needs a folder of hub-repo copies (one per hub id)"),
        (params.eval.source == "local", "eval.local_dir", params.eval.local_dir, "folder",
         "eval.source = 'local' needs a folder holding nyu-mll/glue (as `hf download` leaves it)"),
        (data.flan_templates not in ("embedded", "pinned"), "data.flan_templates", data.flan_templates, "file",
         "use embedded, pinned or the path of a templates.py"),
        (perturb.mode == "file", "perturb.file", perturb.file, "file", "give a JSON or Parquet prompt set"),
        (searched and perturb.instructions not in ("embedded", "pinned", "pinned-current"), "perturb.instructions",
         perturb.instructions, "folder", "use embedded, pinned, pinned-current or a folder of PromptBench's prompt modules"),
        (searched and perturb.embedding not in ("embedded", "textattack"), "perturb.embedding", perturb.embedding, "file",
         "use embedded, textattack or a path to a word2vec/GloVe text file"),
        (searched and perturb.sentence_encoder not in ("none", "use"), "perturb.sentence_encoder",
         perturb.sentence_encoder, "folder", "use none, use or an existing encoder folder"),
        (searched and "bertattack" in perturb.groups and looks_like_path(perturb.masked_lm), "perturb.masked_lm",
         perturb.masked_lm, "folder", "use embedded, a hub id such as bert-base-uncased or an existing model folder"),
    ]
    for used, key, value, wanted, allowed in checks:
        path = Path(value or "")
        if used and not (path.is_dir() if wanted == "folder" else path.is_file()):
            raise ParamsError(f"{key} = {value!r} is not an existing {wanted}: {allowed}")
    if perturb.mode == "file":  # its head: random bytes named .parquet or .json stop here, before any stage runs
        from coin.io import head_problem

        problem = head_problem(perturb.file)
        if problem:
            raise ParamsError(f"perturb.file = {perturb.file!r} {problem}: give a JSON or Parquet prompt set")


def looks_like_path(value: Optional[str]) -> bool:
    """Whether a model spec names a folder rather than a hub id: it exists, starts with `.`, `/` or `~`, or
    has more than one `/` (a hub id is `name` or `owner/name`, optionally `@revision`)."""
    if not value or value == "embedded":
        return False
    return Path(value).exists() or value.startswith((".", "/", "~")) or value.split("@")[0].count("/") > 1


def merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """Deep-merge `override` into a copy of `base` (profiles such as configs/paper.yaml)."""
    out = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merge(out[key], value)
        else:
            out[key] = value
    return out


__all__ = [
    "AugmentParams",
    "DataParams",
    "EvalParams",
    "eval_local_key",
    "eval_source",
    "LoraParams",
    "LossParams",
    "ModelParams",
    "Params",
    "PerturbParams",
    "ReportParams",
    "SampleParams",
    "TinyModelParams",
    "TrainParams",
    "check_paths",
    "load_params",
    "looks_like_path",
    "merge",
    "params_from_dict",
    "train_seed",
    "yaml_problem",
]
