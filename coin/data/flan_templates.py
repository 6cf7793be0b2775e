"""FLAN instruction templates: load the source, parse `PATTERNS` without running it, classify, render.

A templates source is a Python module with one literal assignment `PATTERNS = {key: [(input, target),
...]}`, as FLAN's flan/templates.py (pinned below) or the project's coin/embedded/templates.py. The
source is parsed with `ast` and the value read with `ast.literal_eval`; nothing in it is executed.

A template is kept for COIN when it is a classification template: its input shows the options
(`{options_}`) and its target is the answer (`{answer}`, or `{answer_str}` for STS-B). The others are
dropped with a reason: "inverted" (the target is not the answer, e.g. "write a review with this
sentiment"), "no options" (answers without listing the options), "needs field title" (the hub dataset
lacks a field FLAN's TFDS copy had) and "duplicate" (the same input and target as an earlier kept one).
"""

from __future__ import annotations

import ast
import functools
import hashlib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Mapping, Sequence

from coin.errors import DataError
from coin.io import http_get, read_pinned

FLAN_COMMIT = "e9e4ec6e2701182c7a91af176f705310da541277"
PINNED_URL = f"https://raw.githubusercontent.com/google-research/FLAN/{FLAN_COMMIT}/flan/templates.py"
PINNED_SHA256 = "b861032a4f9951e50c3e99dd3c6f840ccce48dc5ed5e100ae60e5da3445619b7"
ANSWER_TARGETS = ("{answer}", "{answer_str}")
OPTIONS_FIELD = "options_"
_PLACEHOLDER = re.compile(r"(\{\w*\})")  # FLAN's format_from_feature_dictionary splits on this


@dataclass(frozen=True)
class Template:
    """One FLAN pattern of one key, kept for COIN or dropped with a reason (a FLAN_TEMPLATES row)."""

    flan_key: str
    template_id: int  # position in PATTERNS[flan_key]
    input_template: str
    target_template: str
    kept: bool
    drop_reason: str  # "" when kept


def sha256_text(text: str) -> str:
    """Hex sha256 of the UTF-8 bytes of `text`."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def embedded_templates_path() -> Path:
    """coin/embedded/templates.py: the project's own templates, written in FLAN's PATTERNS form."""
    import coin.embedded

    return Path(coin.embedded.__file__).resolve().parent / "templates.py"


def pinned_cache_path(cache_dir: Path) -> Path:
    """Where the pinned FLAN templates.py is kept once downloaded."""
    return Path(cache_dir) / "flan" / FLAN_COMMIT / "templates.py"


_download = http_get  # tests replace it (looked up at call time)


def load_templates_source(spec: str, cache_dir: Path | str) -> str:
    """The text of a templates module, by `data.flan_templates`.

    "embedded": coin/embedded/templates.py. "pinned": FLAN's templates.py at commit FLAN_COMMIT,
    downloaded once into `cache_dir` and checked against PINNED_SHA256 after download and on every
    later read (a mismatch is a DataError, never silently refetched). Anything else is a path to a
    local templates module, accepted as is (extract records its sha256).
    """
    if spec == "embedded":
        path = embedded_templates_path()
        if not path.is_file():
            raise DataError(f"{path} does not exist: data.flan_templates = 'embedded' needs the project's templates module")
        return path.read_text(encoding="utf-8")
    if spec == "pinned":
        hint = "set data.flan_templates to embedded or to a local copy of templates.py"
        data = read_pinned(PINNED_URL, PINNED_SHA256, pinned_cache_path(Path(cache_dir)), _download, hint)
        return data.decode("utf-8")
    path = Path(spec)
    if not path.is_file():
        raise DataError(f"data.flan_templates = {spec!r} is not a file: use embedded, pinned or the path of a templates.py")
    return path.read_text(encoding="utf-8")


def parse_patterns(source_text: str) -> dict[str, list[tuple[str, str]]]:
    """Read `PATTERNS = {...}` from module source with `ast.literal_eval` (never executed).

    Returns key -> list of (input template, target template), in the source's order.
    """
    try:
        tree = ast.parse(source_text)
    except SyntaxError as exc:
        raise DataError(f"templates source is not valid Python: line {exc.lineno}: {exc.msg}") from None
    value = None
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "PATTERNS" for t in node.targets):
            value = node.value
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and node.target.id == "PATTERNS":
            value = node.value
    if value is None:
        raise DataError("templates source has no top-level PATTERNS = {...} assignment")
    try:
        raw = ast.literal_eval(value)
    except ValueError:
        raise DataError(
            f"PATTERNS (line {value.lineno}) is not a literal: it must be a dict of lists of (input, target) string pairs"
        ) from None
    if not isinstance(raw, dict):
        raise DataError(f"PATTERNS is a {type(raw).__name__}: it must be a dict of lists of (input, target) string pairs")
    patterns: dict[str, list[tuple[str, str]]] = {}
    for key, items in raw.items():
        if not isinstance(key, str) or not isinstance(items, (list, tuple)):
            raise DataError(f"PATTERNS[{key!r}] must map a string key to a list of (input, target) string pairs")
        pairs = []
        for i, item in enumerate(items):
            if not (isinstance(item, (list, tuple)) and len(item) == 2 and all(isinstance(s, str) for s in item)):
                raise DataError(f"PATTERNS[{key!r}][{i}] = {item!r} is not an (input, target) pair of strings")
            pairs.append((item[0], item[1]))
        patterns[key] = pairs
    return patterns


def placeholders(template: str) -> list[str]:
    """Field names a template refers to, in order of first use (e.g. ['premise', 'options_'])."""
    seen: dict[str, None] = {}
    for part in _PLACEHOLDER.findall(template):
        seen.setdefault(part[1:-1], None)
    return list(seen)


def classify(
    patterns: Mapping[str, Sequence[tuple[str, str]]], key: str, available_fields: Iterable[str] | None = None
) -> list[Template]:
    """Every pattern of PATTERNS[key], kept (classification) or dropped with its reason.

    Checks, in order: "inverted" (target not {answer}/{answer_str}), "no options" (input without
    {options_}), "needs field X" (the input uses fields missing from `available_fields`; None skips the
    check), "duplicate" (same input and target as an earlier kept template of the key).
    """
    if key not in patterns:
        raise DataError(f"the templates source has no PATTERNS[{key!r}]: it has {', '.join(sorted(patterns)) or 'no keys'}")
    available = None if available_fields is None else set(available_fields)
    out: list[Template] = []
    kept_pairs: set[tuple[str, str]] = set()
    for template_id, (inp, target) in enumerate(patterns[key]):
        reason = ""
        used = [f for f in placeholders(inp) if f != OPTIONS_FIELD]
        missing = [] if available is None else [f for f in used if f not in available]
        if target.strip() not in ANSWER_TARGETS:
            reason = "inverted"
        elif "{" + OPTIONS_FIELD + "}" not in inp:
            reason = "no options"
        elif missing:
            reason = "needs field " + ", ".join(missing)
        elif (inp, target) in kept_pairs:
            reason = "duplicate"
        if not reason:
            kept_pairs.add((inp, target))
        out.append(Template(key, template_id, inp, target, kept=not reason, drop_reason=reason))
    return out


def render_options(options: Sequence[str]) -> str:
    """FLAN's {options_}: "OPTIONS:" then one "- option" line per option."""
    return "OPTIONS:\n- " + "\n- ".join(str(o) for o in options)


@functools.lru_cache(maxsize=4096)
def _parts(template: str) -> tuple[str, ...]:
    return tuple(p for p in _PLACEHOLDER.split(template) if p)


def render(template: str, fields: Mapping[str, str], options: Sequence[str]) -> str:
    """Fill a FLAN template: {options_} -> render_options(options), {name} -> fields[name].

    Like FLAN, only `{word}` placeholders are replaced; other braces and braces inside values stay as
    text. A placeholder without a field is a DataError naming it.
    """
    out = []
    for part in _parts(template):
        if part[0] == "{" and part[-1] == "}":
            name = part[1:-1]
            if name == OPTIONS_FIELD:
                out.append(render_options(options))
            elif name in fields:
                out.append(str(fields[name]))
            else:
                raise DataError(f"template needs field {name!r}, which the example lacks (it has {', '.join(sorted(fields))})")
        else:
            out.append(part)
    return "".join(out)


def render_target(target_template: str, answer: str) -> str:
    """The response: the target template with {answer} and {answer_str} set to the answer text."""
    return render(target_template, {"answer": answer, "answer_str": answer}, ())


__all__ = [
    "ANSWER_TARGETS",
    "FLAN_COMMIT",
    "PINNED_SHA256",
    "PINNED_URL",
    "Template",
    "classify",
    "embedded_templates_path",
    "load_templates_source",
    "parse_patterns",
    "pinned_cache_path",
    "placeholders",
    "render",
    "render_options",
    "render_target",
    "sha256_text",
]
