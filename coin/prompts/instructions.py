"""The clean instruction sets (PromptBench's zero-shot task- and role-oriented prompts, and the
semantic-attack prompts), where they come from, and which of them a run uses.

Sources (`perturb.instructions`):
  embedded        coin/embedded/instructions.py, the project's own sets in PromptBench's layout;
  pinned          PromptBench's prompt modules at the paper-era commit, downloaded once into the cache and
                  checked against their sha256 on every read;
  pinned-current  the current release (PyPI promptbench 0.0.4, the repository's HEAD layout): its wheel,
                  pinned by sha256, and the three modules inside it, each pinned too;
  <folder>        a local folder holding those three modules, in either layout (at their repository
                  paths, the package paths or by file name).
Every module is parsed with `ast` and `ast.literal_eval`; nothing is executed.

Layouts: the paper-era commit names its dicts TASK_ORIENTED_PROMPT_SET / ROLE_ORIENTED_PROMPT_SET and
holds plain instructions; the current release names them TASK_ORIENTED_PROMPTS / ROLE_ORIENTED_PROMPTS
and ends most instructions with an input slot such as "\nQuestion:{content}\nAnswer:". read_entry takes
the instruction without its slot and records the slot; its rules for the malformed entries are stated
there, and what it repaired or skipped goes into the clean prompts' details.

A set is `{task: {kind: [instruction, ...]}}` with kind `task_oriented`, `role_oriented` or
`semantic:<language>`.
"""

from __future__ import annotations

import ast
import hashlib
import io
import json
import math
import random
import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Optional

import pandas as pd

from coin.data.registry import INSTRUCTION_TASKS
from coin.errors import CoinError, DataError
from coin.io import http_get, read_pinned
from coin.params import PERTURB_GROUPS
from coin.schemas import PROMPTS
from coin.prompts.textattack_env import derive_seed

PROMPTBENCH_COMMIT = "6c5b1054d572f6a4507d774ec1f5d0cd2bf8e35c"
PROMPTBENCH_RAW = "https://raw.githubusercontent.com/microsoft/promptbench/{commit}/{path}"


# The current release: PyPI promptbench 0.0.4 (the repository's HEAD has the same prompt modules)
PROMPTBENCH_RELEASE = "0.0.4"
PROMPTBENCH_WHEEL = f"https://files.pythonhosted.org/packages/py3/p/promptbench/promptbench-{PROMPTBENCH_RELEASE}-py3-none-any.whl"
PROMPTBENCH_WHEEL_SHA256 = "6d1341582ff59b3db73d39708e5ed55cf2955d49f76db6a9dd85f0ce37740bb8"


@dataclass(frozen=True)
class PromptModule:
    """One PromptBench prompt module in both layouts: the paper-era commit's repository path, sha256 and
    dict name, and the current release's package path, sha256 and dict name."""

    path: str
    sha256: str
    variable: str
    current_path: str
    current_sha256: str
    current_variable: str


PROMPT_MODULES: dict[str, PromptModule] = {
    "task_oriented": PromptModule(
        "prompts/zero_shot/task_oriented.py",
        "10ff3dc590abf89449ff80d16b66bba08e677296ff5c2e344b9c6df9b9618373",
        "TASK_ORIENTED_PROMPT_SET",
        "promptbench/prompts/task_oriented.py",
        "bac54050985a71bbff8990f20552b2b41a44d398f4459f9c190a87b3203dbc28",
        "TASK_ORIENTED_PROMPTS",
    ),
    "role_oriented": PromptModule(
        "prompts/zero_shot/role_oriented.py",
        "af578561884e718c2c6b3b0406f11e90fedda20a803bf2356d9601a02bfea852",
        "ROLE_ORIENTED_PROMPT_SET",
        "promptbench/prompts/role_oriented.py",
        "8bc598058dcc96fd82f5fe1b3a37c79dcde95f73eeb9109d45450795760a6778",
        "ROLE_ORIENTED_PROMPTS",
    ),
    "semantic": PromptModule(
        "prompts/semantic_atk_prompts.py",
        "0d88a6aff65a6109506f17276b6821fa9fb8cd0845306598568b28a214af8d6c",
        "SEMANTIC_ADV_PROMPT_SET",
        "promptbench/prompts/semantic_atk_prompts.py",
        "0d88a6aff65a6109506f17276b6821fa9fb8cd0845306598568b28a214af8d6c",
        "SEMANTIC_ADV_PROMPT_SET",
    ),
}

SLOT = "{content}"
# An input slot as the current release writes it: "\n<label>:{content}\n<label>:" (a space after a colon allowed)
_SLOT = re.compile(r"\n[ \t]*[A-Za-z][A-Za-z ]*:[ \t]?\{content\}[ \t]*\n[ \t]*[A-Za-z][A-Za-z ]*:")
REPAIR_MID_SLOT = "slot inside the instruction (within its quoted label words): cut out, the text on its two sides joined"
NO_SLOT = "no input slot unlike the rest of its list: kept as a plain instruction"


@dataclass
class SourceNotes:
    """What reading the instruction texts kept per entry and left out.

    `entries[(task, kind, position)]` (position in the clean list) -> {source_position, input_slot, repair};
    `skipped[task]` -> [{kind, source_position, reason}].
    """

    entries: dict[tuple[str, str, int], dict[str, Any]] = field(default_factory=dict)
    skipped: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

EMBEDDED_INSTRUCTIONS = Path(__file__).resolve().parents[1] / "embedded" / "instructions.py"
GROUPS = ("clean", *PERTURB_GROUPS)
InstructionSets = dict[str, dict[str, list[str]]]
Scorer = Callable[[list[str]], list[float]]


@dataclass(frozen=True)
class Instruction:
    """A clean instruction chosen for a task: its prompt id, kind, position in its source list, text."""

    prompt_id: int
    kind: str
    position: int
    text: str


def parse_prompt_module(source: str, variable: str, origin: str) -> Any:
    """The literal value assigned to `variable` at the top level of Python `source` (never executed)."""
    try:
        tree = ast.parse(source, filename=origin)
    except SyntaxError as exc:
        raise DataError(f"{origin}: not valid Python (line {exc.lineno}): expected a PromptBench prompt module") from None
    for node in tree.body:
        targets = node.targets if isinstance(node, ast.Assign) else [node.target] if isinstance(node, ast.AnnAssign) else []
        if any(isinstance(t, ast.Name) and t.id == variable for t in targets) and node.value is not None:
            try:
                return ast.literal_eval(node.value)
            except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
                raise DataError(f"{origin}: {variable} is not a literal dict of strings") from None
    raise DataError(f"{origin}: no top-level assignment to {variable}: expected a PromptBench prompt module")


def read_entry(text: str, list_has_slots: bool) -> tuple[str | None, dict[str, Any]]:
    """One source entry -> (the instruction without its input slot, or None to skip it; what was done).

    Rules: a slot at the end is cut off (recorded as `input_slot`); a slot with instruction text after it
    (rte's and wnli's first current entries, where it sits inside the quoted label words) is cut out and
    the two sides joined (REPAIR_MID_SLOT); an entry without a slot in a list of slotted entries (qqp's
    first) is kept as it is (NO_SLOT); any other `{content}` (several, or not in a slot) is skipped.
    """
    slots = list(_SLOT.finditer(text))
    if SLOT not in text:
        return text.strip() or None, ({"repair": NO_SLOT} if list_has_slots else {})
    if len(slots) != 1 or text.count(SLOT) != 1:
        return None, {"reason": f"{text.count(SLOT)} {SLOT} placeholder(s), not one input slot of the form \\n<label>:{SLOT}\\n<label>:"}
    slot = slots[0]
    before, after = text[: slot.start()], text[slot.end() :]
    note: dict[str, Any] = {"input_slot": slot.group(0)}
    if after.strip():
        note["repair"] = REPAIR_MID_SLOT
    clean = (before.rstrip() + after.rstrip()).strip() if after.strip() else before.strip()
    if not clean:
        return None, {"reason": "nothing but an input slot"}
    return clean, note


def clean_entries(task: str, kind: str, texts: list[str], notes: SourceNotes) -> list[str]:
    """The instructions of one list without their input slots (read_entry), noting each entry in `notes`."""
    has_slots = any(_SLOT.search(t) for t in texts)
    out: list[str] = []
    for source_position, text in enumerate(texts):
        clean, note = read_entry(text, has_slots)
        if clean is None:
            notes.skipped.setdefault(task, []).append({"kind": kind, "source_position": source_position, **note})
            continue
        if note or source_position != len(out):
            notes.entries[(task, kind, len(out))] = {"source_position": source_position, **note}
        out.append(clean)
    return out


def read_pinned_module(module: PromptModule, cache_dir: str | Path, download: Callable[[str], bytes] = http_get) -> str:
    """The text of a pinned PromptBench module: downloaded once into `cache_dir`, sha256-checked on every read."""
    url = PROMPTBENCH_RAW.format(commit=PROMPTBENCH_COMMIT, path=module.path)
    cached = Path(cache_dir) / "promptbench" / PROMPTBENCH_COMMIT / module.path
    hint = "go online once, or set perturb.instructions to embedded or a folder"
    return read_pinned(url, module.sha256, cached, download, hint).decode("utf-8")


def read_release_modules(cache_dir: str | Path, download: Callable[[str], bytes] = http_get) -> dict[str, str]:
    """The three prompt modules of the current release (name -> text): its wheel downloaded once into
    `cache_dir` and sha256-checked on every read, each module inside checked against its own pin."""
    cached = Path(cache_dir) / "promptbench" / PROMPTBENCH_RELEASE / Path(PROMPTBENCH_WHEEL).name
    hint = "go online once, or set perturb.instructions to embedded, pinned or a folder"
    wheel = read_pinned(PROMPTBENCH_WHEEL, PROMPTBENCH_WHEEL_SHA256, cached, download, hint)
    out = {}
    with zipfile.ZipFile(io.BytesIO(wheel)) as archive:
        for name, module in PROMPT_MODULES.items():
            data = archive.read(module.current_path)
            digest = hashlib.sha256(data).hexdigest()
            if digest != module.current_sha256:
                raise DataError(f"{cached}!{module.current_path}: sha256 {digest} does not match the pinned {module.current_sha256}")
            out[name] = data.decode("utf-8")
    return out


def parse_either_layout(source: str, module: PromptModule, origin: str) -> Any:
    """The module's dict under its paper-era name, else under the current release's name."""
    try:
        return parse_prompt_module(source, module.variable, origin)
    except DataError:
        if module.current_variable == module.variable:
            raise
    try:
        return parse_prompt_module(source, module.current_variable, origin)
    except DataError:
        raise DataError(
            f"{origin}: no top-level assignment to {module.variable} (paper-era PromptBench) or "
            f"{module.current_variable} (current release): expected a PromptBench prompt module"
        ) from None


def _read_folder_module(module: PromptModule, folder: Path) -> tuple[str, str]:
    candidates = (module.path, module.current_path, Path(module.path).name)
    for candidate in (folder / c for c in candidates):
        if candidate.is_file():
            return candidate.read_text(encoding="utf-8"), str(candidate)
    raise DataError(f"{folder}: has none of {', '.join(candidates)}: a prompt folder needs all three PromptBench modules")


def _check_lists(value: Any, origin: str, variable: str) -> dict[str, list[str]]:
    if not isinstance(value, dict):
        raise DataError(f"{origin}: {variable} is a {type(value).__name__}, not a dict of task -> list of instructions")
    for task in INSTRUCTION_TASKS:
        texts = value.get(task)
        if not isinstance(texts, list) or not texts or not all(isinstance(t, str) and t.strip() for t in texts):
            raise DataError(f"{origin}: {variable}[{task!r}] must be a non-empty list of non-empty strings")
    return {task: list(value[task]) for task in INSTRUCTION_TASKS}


def _check_semantic(value: Any, origin: str) -> dict[str, dict[str, list[str]]]:
    if not isinstance(value, dict):
        raise DataError(f"{origin}: SEMANTIC_ADV_PROMPT_SET is a {type(value).__name__}, not a dict of task -> language -> list")
    out: dict[str, dict[str, list[str]]] = {}
    for task in INSTRUCTION_TASKS:
        languages = value.get(task)
        if not isinstance(languages, dict) or not languages:
            raise DataError(f"{origin}: SEMANTIC_ADV_PROMPT_SET[{task!r}] must be a dict of language -> list of instructions")
        for language, texts in languages.items():
            if not isinstance(texts, list) or not all(isinstance(t, str) and t.strip() for t in texts):
                raise DataError(f"{origin}: SEMANTIC_ADV_PROMPT_SET[{task!r}][{language!r}] must be a list of non-empty strings")
        out[task] = {str(language): list(texts) for language, texts in languages.items()}
    return out


def assemble_sets(
    task_oriented: Any, role_oriented: Any, semantic: Any, origin: str, notes: SourceNotes | None = None
) -> InstructionSets:
    """Check the three PromptBench dicts and merge them into `{task: {kind: [text]}}` for our tasks, each
    text without its input slot (clean_entries; what was repaired or skipped goes into `notes`)."""
    notes = notes if notes is not None else SourceNotes()
    tasks = _check_lists(task_oriented, origin, "TASK_ORIENTED_PROMPT_SET")
    roles = _check_lists(role_oriented, origin, "ROLE_ORIENTED_PROMPT_SET")
    sem = _check_semantic(semantic, origin)
    sets: InstructionSets = {}
    for task in INSTRUCTION_TASKS:
        kinds = {"task_oriented": tasks[task], "role_oriented": roles[task]}
        kinds.update({f"semantic:{language}": texts for language, texts in sem[task].items()})
        sets[task] = {kind: clean_entries(task, kind, texts, notes) for kind, texts in kinds.items()}
        for kind in ("task_oriented", "role_oriented"):
            if not sets[task][kind]:
                raise DataError(f"{origin}: every {kind} instruction of {task} was skipped (see read_entry's rules)")
    return sets


def source_label(spec: str) -> str:
    """The origin prefix of instructions from `spec`: embedded, pinned, pinned-current or local."""
    return spec if spec in ("embedded", "pinned", "pinned-current") else "local"


def load_instruction_sets(
    spec: str, cache_dir: str | Path, download: Callable[[str], bytes] = http_get, notes: SourceNotes | None = None
) -> InstructionSets:
    """Instruction sets of every task in registry.INSTRUCTION_TASKS from `spec` (embedded | pinned |
    pinned-current | folder); `notes` collects the input slots, repairs and skipped entries."""
    values = {}
    if spec == "embedded":
        origin = "coin/embedded/instructions.py"
        source = EMBEDDED_INSTRUCTIONS.read_text(encoding="utf-8")
        for name, module in PROMPT_MODULES.items():
            values[name] = parse_prompt_module(source, module.variable, origin)
    elif spec == "pinned":
        origin = f"promptbench@{PROMPTBENCH_COMMIT[:7]}"
        for name, module in PROMPT_MODULES.items():
            source = read_pinned_module(module, cache_dir, download)
            values[name] = parse_prompt_module(source, module.variable, module.path)
    elif spec == "pinned-current":
        origin = f"promptbench=={PROMPTBENCH_RELEASE}"
        for name, source in read_release_modules(cache_dir, download).items():
            module = PROMPT_MODULES[name]
            values[name] = parse_prompt_module(source, module.current_variable, module.current_path)
    else:
        folder = Path(spec)
        if not folder.is_dir():
            raise CoinError(f"perturb.instructions = {spec!r} is not allowed: use embedded, pinned, pinned-current or an existing folder")
        origin = str(folder)
        for name, module in PROMPT_MODULES.items():
            source, where = _read_folder_module(module, folder)
            values[name] = parse_either_layout(source, module, where)
    return assemble_sets(values["task_oriented"], values["role_oriented"], values["semantic"], origin, notes)


def split_counts(n_instructions: int) -> dict[str, int]:
    """Instructions per kind: half task-oriented (the odd one too), half role-oriented."""
    return {"task_oriented": math.ceil(n_instructions / 2), "role_oriented": n_instructions // 2}


def select_instructions(
    task: str,
    sets: dict[str, list[str]],
    n_instructions: int,
    selection: str,
    seed: int,
    score: Optional[Scorer] = None,
) -> list[Instruction]:
    """The clean instructions of `task`: task-oriented first, then role-oriented; prompt_id = position.

    first: the first k of each kind; random: k drawn with random.Random(derive_seed(seed, task, kind)),
    kept in source order; top: the k with the best accuracy under `score` (ties: source order), kept in
    source order.
    """
    chosen: list[tuple[str, int]] = []
    for kind, k in split_counts(n_instructions).items():
        texts = sets[kind]
        if k > len(texts):
            raise DataError(
                f"perturb.n_instructions = {n_instructions} needs {k} {kind} instructions for {task}; the set has {len(texts)}"
            )
        if selection == "first":
            positions = list(range(k))
        elif selection == "random":
            positions = sorted(random.Random(derive_seed(seed, task, kind)).sample(range(len(texts)), k))
        elif selection == "top":
            if score is None:
                raise CoinError("perturb.selection = 'top' needs the reference model's scores: use first or random with mode random")
            accuracy = score(list(texts))
            ranked = sorted(range(len(texts)), key=lambda i: (-accuracy[i], i))
            positions = sorted(ranked[:k])
        else:
            raise CoinError(f"perturb.selection = {selection!r} is not allowed: use one of first, random, top")
        chosen.extend((kind, p) for p in positions)
    return [Instruction(i, kind, p, sets[kind][p]) for i, (kind, p) in enumerate(chosen)]


def semantic_instructions(
    task: str, sets: dict[str, list[str]], languages: list[str], clean: list[Instruction], seed: int
) -> list[tuple[Instruction, str]]:
    """(instruction, language) pairs: language k replaces clean instruction k (k < len(clean)).

    Each language's text is drawn with random.Random(derive_seed(seed, task, "semantic", language)) from
    its list, excluding clean texts and texts already drawn for this task.
    """
    used = {c.text for c in clean}
    out = []
    for k, language in enumerate(languages[: len(clean)]):
        kind = f"semantic:{language}"
        if kind not in sets:
            raise DataError(f"the instruction sets have no {language!r} semantic prompts for {task}: perturb.languages allows only languages they list")
        texts = sets[kind]
        free = [i for i, t in enumerate(texts) if t not in used]
        if not free:
            raise DataError(f"every {language} semantic prompt of {task} is already a clean or chosen instruction: none left to use")
        position = random.Random(derive_seed(seed, task, "semantic", language)).choice(free)
        used.add(texts[position])
        out.append((Instruction(k, kind, position, texts[position]), language))
    return out


def check_prompt_set(frame: pd.DataFrame, source: str) -> pd.DataFrame:
    """Check a prompt set against the PROMPTS contract and its rules; return it sorted, details canonical.

    Rules: known task and group; details a JSON object; a clean row's text equals its clean_text; a
    perturbed text differs from its clean_text unless details.status is no_candidate; every perturbed
    (task, prompt_id) has a clean row with the same clean_text.
    """
    PROMPTS.check(frame, source)
    frame = frame[list(PROMPTS.columns)].copy()
    frame["prompt_id"] = frame["prompt_id"].astype("int64")
    clean_text: dict[tuple[str, int], str] = {}
    canonical = []
    for number, r in enumerate(frame.itertuples(index=False)):
        where = f"{source}: row {number} ({r.task}, {r.group}, prompt {r.prompt_id})"
        if r.task not in INSTRUCTION_TASKS:
            raise DataError(f"{where} has task {r.task!r}: use one of {', '.join(INSTRUCTION_TASKS)}")
        if r.group not in GROUPS:
            raise DataError(f"{where} has group {r.group!r}: use one of {', '.join(GROUPS)}")
        details = r.details
        if isinstance(details, str):
            try:
                details = json.loads(details)
            except json.JSONDecodeError:
                raise DataError(f"{where}: details is not valid JSON") from None
        if not isinstance(details, dict):
            raise DataError(f"{where}: details must be a JSON object, not {type(details).__name__}")
        canonical.append(json.dumps(details, sort_keys=True, ensure_ascii=False))
        if r.group == "clean":
            if r.text != r.clean_text:
                raise DataError(f"{where}: a clean row's text must equal its clean_text")
            clean_text[(r.task, int(r.prompt_id))] = r.clean_text
        elif r.text == r.clean_text and details.get("status") != "no_candidate":
            raise DataError(f"{where}: the perturbed text equals its clean_text (allowed only with details status no_candidate)")
    for r in frame.itertuples(index=False):
        if r.group != "clean" and clean_text.get((r.task, int(r.prompt_id))) != r.clean_text:
            raise DataError(f"{source}: ({r.task}, {r.group}, prompt {r.prompt_id}) has no clean row with the same clean_text")
    frame["details"] = canonical
    order = {task: i for i, task in enumerate(INSTRUCTION_TASKS)}
    rank = {group: i for i, group in enumerate(GROUPS)}
    frame = frame.assign(_t=frame["task"].map(order), _g=frame["group"].map(rank))
    frame = frame.sort_values(["_t", "_g", "prompt_id"], kind="stable").drop(columns=["_t", "_g"])
    return frame.reset_index(drop=True)


__all__ = [
    "GROUPS",
    "check_prompt_set",
    "Instruction",
    "PROMPTBENCH_COMMIT",
    "PROMPT_MODULES",
    "PromptModule",
    "SourceNotes",
    "clean_entries",
    "read_entry",
    "read_release_modules",
    "parse_either_layout",
    "assemble_sets",
    "load_instruction_sets",
    "parse_prompt_module",
    "read_pinned_module",
    "select_instructions",
    "semantic_instructions",
    "source_label",
    "split_counts",
]
