"""PromptBench's published adversarial prompts (`adv_prompts/<name>.md`) as a prompt set: a transfer attack.

The eight files hold, per task, the instructions PromptBench's authors attacked on their own models
(T5-large, UL2, Vicuna-13B, ChatGPT; zero- and few-shot) and what each attack made of them. Their text is
read at run time (`perturb.published`: one of PUBLISHED_NAMES, downloaded once from the pinned commit into
the cache and sha256-checked on every read, or a path to a file in the same layout); nothing of it is
stored in this repository.

Layout (what `parse_published` reads):
  `# <task>`            a level-1 heading per task; headings that name no task of ours (the file's title,
                        mmlu, squad_v2, ...) open a section that is skipped;
  `## 10 prompts`       `Acc: X%, prompt: <text>` lines in two groups split by a blank line: task-oriented,
                        then role-oriented, each in the order of that model's accuracy;
  `## <attack>`         entries of three parts, `Original prompt: <text>`, `Attacked prompt: <bytes literal>`,
                        `Original acc: X%, attacked acc: Y%, dropped acc: Z%`, on three lines or one;
  `## translation`      `Language: <language>, acc: X%, prompt: <text>` lines, several per language.
A line that fits none of these (a cut-off line in the source) is skipped and counted. An attacked prompt
is a Python bytes literal: it is parsed as data (ast, a bytes constant only), never evaluated, then
decoded as UTF-8.
"""

from __future__ import annotations

import ast
import hashlib
import json
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from coin.data.registry import INSTRUCTION_TASKS
from coin.errors import CoinError, DataError
from coin.io import http_get, read_pinned
from coin.prompts.instructions import PROMPTBENCH_COMMIT

PUBLISHED_RAW = "https://raw.githubusercontent.com/microsoft/promptbench/{commit}/adv_prompts/{name}.md"
PUBLISHED_SHA256 = {
    "t5_zeroshot": "5d719fb3ce37063300ba27a79c7be770ccc6b96277f06a1beb9646bc041fe51a",
    "t5_fewshot": "309ad2fd746d55fa28359e9e0e560875d1f4c9dd8bcd284739a050a7618abb8d",
    "ul2_zeroshot": "3fac1d0f235035eb38c9def671be4cb75236ffcd8657ed628aea0f7f19828e3f",
    "ul2_fewshot": "cd9ec24ab3bf0484357151e76aa97d5f58955b56e95bbc124600ce94390cd009",
    "vicuna_zeroshot": "a3016e19e350ffbe83ea3d8a883838d4b2ac19cf74ecef4b61fa930390f6627d",
    "vicuna_fewshot": "0a1f38c52db78390a8437c96d585be74cab6b875e0c718ac0b9103d39e40d1be",
    "chatgpt_zeroshot": "d2e58743e9aa02347271070db2d99ad7da6f05950c84e3362f0d2f300b9e66f7",
    "chatgpt_fewshot": "192f4b6c5ba5ea7a3750334c243d92530b0d9d0fe47aac522f137ce0e92c0795",
}
PUBLISHED_NAMES = tuple(PUBLISHED_SHA256)
# the file's attack sections -> our groups (translation is the semantic group)
ATTACK_SECTIONS = ("bertattack", "checklist", "deepwordbug", "stresstest", "textbugger", "textfooler")
KINDS = ("task_oriented", "role_oriented")

_ACC = r"([0-9]+(?:\.[0-9]+)?)%"
_PROMPT_LINE = re.compile(rf"Acc: {_ACC}, prompt: (.*)$")
_TRANSLATION_LINE = re.compile(rf"Language: ([A-Za-z_ ]+), acc: {_ACC}, prompt: (.*)$")
_ACC_LINE = re.compile(rf"Original acc: {_ACC}, attacked acc: {_ACC}, dropped acc: (-?[0-9]+(?:\.[0-9]+)?)%\s*$")
_ORIGINAL, _ATTACKED, _ORIGINAL_ACC = "Original prompt: ", "Attacked prompt: ", "Original acc: "


@dataclass
class AttackEntry:
    """One attacked instruction: its original, the attacked text (None: the file gives none) and the
    accuracies PromptBench reports for its own model."""

    original: str
    line: int
    attacked: str | None = None
    acc_before: float | None = None
    acc_after: float | None = None
    dropped: float | None = None


@dataclass
class PublishedTask:
    """What a file holds for one task."""

    prompts: dict[str, list[tuple[str, float, int]]] = field(default_factory=lambda: {k: [] for k in KINDS})  # kind -> (text, acc, line)
    attacks: dict[str, list[AttackEntry]] = field(default_factory=dict)
    translations: dict[str, list[tuple[str, float, int]]] = field(default_factory=dict)  # language -> (text, acc, line)
    skipped_lines: list[int] = field(default_factory=list)


@dataclass(frozen=True)
class PublishedFile:
    """A published prompt file: its name (file stem), sha256 and parsed tasks."""

    name: str
    sha256: str
    tasks: dict[str, PublishedTask]


def decode_attacked(literal: str, origin: str, line: int) -> str:
    """The text of an `Attacked prompt:` value: a Python bytes literal parsed as data, decoded as UTF-8."""
    where = f"{origin}: line {line}"
    try:
        node = ast.parse(literal.strip(), mode="eval").body
    except SyntaxError:
        node = None
    if not (isinstance(node, ast.Constant) and isinstance(node.value, bytes)):
        raise DataError(f"{where}: the attacked prompt is not a bytes literal (b\"...\"): {literal.strip()[:60]!r}")
    try:
        return node.value.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise DataError(f"{where}: the attacked prompt's bytes are not UTF-8 (byte {exc.start})") from None


def _split_entry(text: str) -> tuple[str, str | None, str | None]:
    """`Original prompt: A Attacked prompt: B Original acc: ...` on one line -> (A, B, acc part)."""
    original, attacked, acc = text, None, None
    if f" {_ATTACKED}" in original:
        original, attacked = original.split(f" {_ATTACKED}", 1)
        if f" {_ORIGINAL_ACC}" in attacked:
            attacked, acc = attacked.rsplit(f" {_ORIGINAL_ACC}", 1)
            acc = _ORIGINAL_ACC + acc
    return original, attacked, acc


def parse_published(text: str, origin: str) -> dict[str, PublishedTask]:
    """The tasks of ours a published prompt file holds (see the module docstring for the layout)."""
    tasks: dict[str, PublishedTask] = {}
    current: PublishedTask | None = None
    section = ""
    kind_index, seen_prompt = 0, False
    entry: AttackEntry | None = None

    def set_acc(acc_text: str, number: int) -> None:
        match = _ACC_LINE.match(acc_text)
        if entry is None or match is None:
            current.skipped_lines.append(number)
            return
        entry.acc_before, entry.acc_after, entry.dropped = (float(g) for g in match.groups())

    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if raw.startswith("# "):
            name = raw[2:].strip().lower()
            current = tasks.setdefault(name, PublishedTask()) if name in INSTRUCTION_TASKS else None
            section, entry = "", None
            continue
        if current is None:
            continue
        if raw.startswith("## "):
            section, entry = raw[3:].strip().lower(), None
            kind_index, seen_prompt = 0, False
            continue
        if not line:
            if section == "10 prompts" and seen_prompt:
                kind_index, seen_prompt = kind_index + 1, False
            continue
        if section == "10 prompts":
            match = _PROMPT_LINE.match(line)
            if match is None or kind_index >= len(KINDS):
                current.skipped_lines.append(number)
                continue
            current.prompts[KINDS[kind_index]].append((match.group(2).strip(), float(match.group(1)), number))
            seen_prompt = True
        elif section == "translation":
            match = _TRANSLATION_LINE.match(line)
            if match is None:
                current.skipped_lines.append(number)
                continue
            language = match.group(1).strip().lower()
            current.translations.setdefault(language, []).append((match.group(3).strip(), float(match.group(2)), number))
        elif section in ATTACK_SECTIONS:
            if line.startswith(_ORIGINAL):
                original, attacked, acc = _split_entry(line[len(_ORIGINAL):])
                entry = AttackEntry(original.strip(), number)
                current.attacks.setdefault(section, []).append(entry)
                if attacked is not None:
                    entry.attacked = decode_attacked(attacked, origin, number)
                if acc is not None:
                    set_acc(acc, number)
            elif line.startswith(_ATTACKED) and entry is not None and entry.attacked is None:
                entry.attacked = decode_attacked(line[len(_ATTACKED):], origin, number)
            elif line.startswith(_ORIGINAL_ACC):
                set_acc(line, number)
            else:
                current.skipped_lines.append(number)
        # other sections (a heading this layout does not name) are passed over
    if not tasks:
        raise DataError(f"{origin}: no level-1 heading names a task of ours ({', '.join(INSTRUCTION_TASKS)}): expected a PromptBench adv_prompts file")
    return tasks


def read_published(spec: str, cache_dir: str | Path, download: Callable[[str], bytes] = http_get) -> PublishedFile:
    """The published prompt file `spec` names: one of PUBLISHED_NAMES (downloaded once from the pinned
    commit into `cache_dir`, sha256-checked on every read) or the path of a file in the same layout."""
    if spec in PUBLISHED_SHA256:
        url = PUBLISHED_RAW.format(commit=PROMPTBENCH_COMMIT, name=spec)
        cached = Path(cache_dir) / "promptbench" / PROMPTBENCH_COMMIT / "adv_prompts" / f"{spec}.md"
        hint = "go online once, or set perturb.published to the path of a local copy"
        data = read_pinned(url, PUBLISHED_SHA256[spec], cached, download, hint)
        name, origin = spec, f"{spec}.md"
    else:
        path = Path(spec)
        if not path.is_file():
            raise CoinError(f"perturb.published = {spec!r} is not allowed: use one of {', '.join(PUBLISHED_NAMES)} or the path of an existing file")
        data = path.read_bytes()
        name, origin = path.stem, spec
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise DataError(f"perturb.published = {spec!r}: not UTF-8 text (byte {exc.start}): expected a PromptBench adv_prompts file") from None
    return PublishedFile(name, hashlib.sha256(data).hexdigest(), parse_published(text, origin))


def published_rows(
    published: PublishedFile, n_instructions: int, groups: list[str], languages: list[str]
) -> list[dict[str, Any]]:
    """Prompt-set rows (the PROMPTS columns) of every task of ours in the file.

    clean: the originals the file attacked, ceil(n/2) task-oriented and n//2 role-oriented, each kind in
    the file's order (its model's accuracy); group g of `groups` (an attack section): the attacked text of
    clean prompt k's first entry in that section; semantic: language k of `languages` (k < clean prompts)
    gives the first prompt of that language, paired with clean prompt k. A clean prompt without an
    attacked version in a group, or a language the task lacks, is left out of that group (the report
    counts it: coin.report.tables.left_out_counts).
    """
    source = {"source": f"{published.name}.md", "sha256": published.sha256}
    counts = {"task_oriented": math.ceil(n_instructions / 2), "role_oriented": n_instructions // 2}
    rows: list[dict[str, Any]] = []

    def row(task: str, prompt_id: int, group: str, text: str, clean_text: str, origin: str, details: dict[str, Any]) -> dict[str, Any]:
        return {
            "task": task,
            "prompt_id": prompt_id,
            "group": group,
            "text": text,
            "clean_text": clean_text,
            "origin": origin,
            "details": json.dumps({**source, **details}, sort_keys=True, ensure_ascii=False, allow_nan=False),
        }

    for task in INSTRUCTION_TASKS:
        parsed = published.tasks.get(task)
        if parsed is None:
            continue
        attacked_originals = {e.original for entries in parsed.attacks.values() for e in entries}
        clean: list[str] = []
        for kind, k in counts.items():
            chosen = [(i, t) for i, t in enumerate(parsed.prompts[kind]) if t[0] in attacked_originals][:k]
            if len(chosen) < k:
                raise DataError(
                    f"perturb.n_instructions = {n_instructions} needs {k} attacked {kind} instructions for {task}; "
                    f"{published.name} has {len(chosen)}"
                )
            for position, (text, acc, line) in chosen:
                details = {"kind": kind, "position": position, "accuracy": acc, "line": line}
                rows.append(row(task, len(clean), "clean", text, text, f"published:{published.name}:{kind}", details))
                clean.append(text)
        for group in groups:
            if group == "semantic":
                for k, language in enumerate(languages[: len(clean)]):
                    found = parsed.translations.get(language)
                    if not found:
                        continue
                    text, acc, line = found[0]
                    details = {"language": language, "accuracy": acc, "line": line}
                    rows.append(row(task, k, group, text, clean[k], f"published:{published.name}:semantic:{language}", details))
                continue
            entries = parsed.attacks.get(group, [])
            for k, original in enumerate(clean):
                entry = next((e for e in entries if e.original == original and e.attacked is not None), None)
                if entry is None:
                    continue
                details = {"line": entry.line, "accuracy_before": entry.acc_before, "accuracy_after": entry.acc_after, "dropped": entry.dropped}
                if entry.attacked == original:
                    details["status"] = "no_candidate"
                rows.append(row(task, k, group, entry.attacked, original, f"published:{published.name}:{group}", details))
    return rows


__all__ = [
    "ATTACK_SECTIONS",
    "AttackEntry",
    "PUBLISHED_NAMES",
    "PUBLISHED_SHA256",
    "PublishedFile",
    "PublishedTask",
    "decode_attacked",
    "parse_published",
    "published_rows",
    "read_published",
]
