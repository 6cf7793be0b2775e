"""perturb.mode published: PromptBench's published adversarial prompts, read from files the tests write in
the same layout (our own sentences), parsed as data, turned into a prompt set, checked before any stage."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

import pipeline.cli  # noqa: F401  (registers every command)
from coin.errors import CoinError, DataError
from coin.io import read_parquet
from coin.params import merge
from coin.prompts import published as pub
from coin.prompts.instructions import PROMPTBENCH_COMMIT, check_prompt_set
from coin.report import tables
from coin.schemas import PROMPTS
from pipeline.app import app

ROOT = Path(__file__).resolve().parents[1]
ALL_GROUPS = ["deepwordbug", "textbugger", "textfooler", "bertattack", "checklist", "stresstest", "semantic"]

# sst2: two task-oriented and two role-oriented prompts (the first of each kind attacked), every attack
# section, a one-line entry, an entry with no attacked text, escapes, a payload, translations;
# cola: attacked in deepwordbug only, no translation block; a title and a task that is not ours.
FIXTURE = """# ourmodel_zeroshot

# sst2

## 10 prompts

Acc: 91.50%, prompt: Read the review and reply with 'positive' or 'negative':
Acc: 80.25%, prompt: Say whether the review is 'positive' or 'negative':
Acc: 40.00%, prompt: Give the review's tone, 'positive' or 'negative':

Acc: 88.00%, prompt: As a critic, rate the review as 'positive' or 'negative':
Acc: 70.00%, prompt: As a reader, call the review 'positive' or 'negative':

## bertattack

Original prompt: Read the review and reply with 'positive' or 'negative':
Attacked prompt: b"Scan the review and reply with 'positive' or 'negative':"
Original acc: 91.50%, attacked acc: 20.00%, dropped acc: 71.50%

Original prompt: As a critic, rate the review as 'positive' or 'negative':
Attacked prompt: b"As a critic, grade the review as 'positive' or 'negative':"
Original acc: 88.00%, attacked acc: 30.00%, dropped acc: 58.00%

## checklist

Original prompt: Read the review and reply with 'positive' or 'negative': Attacked prompt: b"Read the review and reply with 'positive' or 'negative' Zq81kPx0Lm:" Original acc: 91.50%, attacked acc: 45.00%, dropped acc: 46.50%

Original prompt: As a critic, rate the review as 'positive' or 'negative':
Attacked prompt: b"As a critic, rate the review as 'positive' or 'negative' Rt5vWq2B:"
Original acc: 88.00%, attacked acc: 44.00%, dropped acc: 44.00%

## deepwordbug

Original prompt: Read the review and reply with 'positive' or 'negative':
Attacked prompt: b"Raed the reveiw and reply with 'positive' or 'negative':"
Original acc: 91.50%, attacked acc: 10.00%, dropped acc: 81.50%

Original prompt: As a critic, rate the review as 'positive' or 'negative':
Attacked prompt: b"As a critic, rate the review as 'positive' or 'negative':"
Original acc: 88.00%, attacked acc: 88.00%, dropped acc: 0.00%

## stresstest

Original prompt: Read the review and reply with 'positive' or 'negative':
Attacked prompt: b"Read the review and reply with 'positive' or 'negative'  and true is true :"
Original acc: 91.50%, attacked acc: 60.00%, dropped acc: 31.50%

Original prompt: As a critic, rate the review as 'positive' or 'negative':

## textbugger

Original prompt: Read the review and reply with 'positive' or 'negative':
Attacked prompt: b"R\\xc3\\xa9ad the review and reply with \\'positive\\' or 'negative' \\\\:"
Original acc: 91.50%, attacked acc: 12.00%, dropped acc: 79.50%

Original prompt: As a critic, rate the review as 'positive' or 'negative':
Attacked prompt: b"__import__('os').system('touch PWNED') \\x41"
Original acc: 88.00%, attacked acc: 8.00%, dropped acc: 80.00%

## textfooler

Original prompt: Read the review and reply with 'positive' or 'negative':
Attacked prompt: b"Peruse the review and reply with 'positive' or 'negative':"
Original acc: 91.50%, attacked acc: 15.00%, dropped acc: 76.50%

Original prompt: As a critic, rate the review as 'positive' or 'negative':
Attacked prompt: b"As a reviewer, rate the review as 'positive' or 'negative':"
Original acc: 88.00%, attacked acc: 25.00%, dropped acc: 63.00%

## translation

Language: french, acc: 77.00%, prompt: Tell me if this review is 'positive' or 'negative'.
Language: french, acc: 75.00%, prompt: Is the review 'positive' or 'negative'?
Language: spanish, acc: 65.00%, prompt: Decide: is the review 'positive' or 'negative'?
O

# cola

## 10 prompts

Acc: 60.00%, prompt: Is the sentence 'acceptable' or 'unacceptable'?

Acc: 55.00%, prompt: As a grammarian, call the sentence 'acceptable' or 'unacceptable'.

## deepwordbug

Original prompt: Is the sentence 'acceptable' or 'unacceptable'?
Attacked prompt: b"Is the sentnece 'acceptable' or 'unacceptable'?"
Original acc: 60.00%, attacked acc: 30.00%, dropped acc: 30.00%

Original prompt: As a grammarian, call the sentence 'acceptable' or 'unacceptable'.
Attacked prompt: b"As a grammarain, call the sentence 'acceptable' or 'unacceptable'."
Original acc: 55.00%, attacked acc: 20.00%, dropped acc: 25.00%

# mmlu

## 10 prompts

Acc: 50.00%, prompt: Pick the right letter.
"""

def full_fixture(tasks=None) -> str:
    """A published-prompt file in PromptBench's layout for every instruction task of ours (our own sentences):
    two task- and two role-oriented prompts each, deepwordbug / textfooler / checklist versions of all four,
    chinese and french translations."""
    from coin.data.registry import INSTRUCTION_TASKS
    from coin.evaluation.glue import label_words

    out = ["# ourmodel_zeroshot", ""]
    for task in tasks or INSTRUCTION_TASKS:
        words = " or ".join(f"'{w}'" for w in label_words(task if task != "mnli" else "mnli_m"))
        prompts = [f"Read the text and answer {words}:", f"Judge the text, then answer {words}:",
                   f"As a careful reader, answer {words}:", f"Acting as a judge, reply {words}:"]
        out += [f"# {task}", "", "## 10 prompts", "",
                *(f"Acc: {90 - i}.00%, prompt: {p}" for i, p in enumerate(prompts[:2])), "",
                *(f"Acc: {80 - i}.00%, prompt: {p}" for i, p in enumerate(prompts[2:])), ""]
        edits = {"deepwordbug": lambda p: p.replace("Read", "Raed").replace("Judge", "Jduge").replace("careful", "carefl").replace("Acting", "Actnig"),
                 "textfooler": lambda p: p.replace("text", "passage").replace("careful", "attentive").replace("judge", "referee"),
                 "checklist": lambda p: p[:-1] + " Qz7Lw2Kp:"}
        for attack, edit in edits.items():
            out += [f"## {attack}", ""]
            for p in prompts:
                out += [f"Original prompt: {p}", f"Attacked prompt: {edit(p).encode()!r}",
                        "Original acc: 80.00%, attacked acc: 40.00%, dropped acc: 40.00%", ""]
        out += ["## translation", "", f"Language: chinese, acc: 70.00%, prompt: Tell me, {words}?",
                f"Language: french, acc: 60.00%, prompt: Which is it, {words}?", ""]
    return "\n".join(out) + "\n"


SST2_READ = "Read the review and reply with 'positive' or 'negative':"
SST2_CRITIC = "As a critic, rate the review as 'positive' or 'negative':"
COLA = "Is the sentence 'acceptable' or 'unacceptable'?"
COLA_ROLE = "As a grammarian, call the sentence 'acceptable' or 'unacceptable'."


def write_fixture(path: Path, text: str = FIXTURE) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_parse_reads_every_block_and_skips_what_is_not_ours(tmp_path):
    tasks = pub.parse_published(FIXTURE, "fixture.md")
    assert sorted(tasks) == ["cola", "sst2"]  # the title and mmlu are skipped
    sst2 = tasks["sst2"]
    assert [t for t, _, _ in sst2.prompts["task_oriented"]] == [
        SST2_READ, "Say whether the review is 'positive' or 'negative':", "Give the review's tone, 'positive' or 'negative':"]
    assert [(t, a) for t, a, _ in sst2.prompts["role_oriented"]] == [(SST2_CRITIC, 88.0), ("As a reader, call the review 'positive' or 'negative':", 70.0)]
    assert sorted(sst2.attacks) == ["bertattack", "checklist", "deepwordbug", "stresstest", "textbugger", "textfooler"]
    one_line = sst2.attacks["checklist"][0]  # the three parts on one line, as some published files write them
    assert (one_line.original, one_line.attacked, one_line.acc_before, one_line.acc_after, one_line.dropped) == (
        SST2_READ, "Read the review and reply with 'positive' or 'negative' Zq81kPx0Lm:", 91.5, 45.0, 46.5)
    cut = sst2.attacks["stresstest"][1]
    assert (cut.original, cut.attacked) == (SST2_CRITIC, None)
    assert sst2.translations == {
        "french": [("Tell me if this review is 'positive' or 'negative'.", 77.0, 72), ("Is the review 'positive' or 'negative'?", 75.0, 73)],
        "spanish": [("Decide: is the review 'positive' or 'negative'?", 65.0, 74)],
    }
    assert sst2.skipped_lines == [75]  # the cut-off line `O`
    assert tasks["cola"].translations == {}


def test_bytes_literal_escapes_decode_and_a_payload_is_only_text(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    textbugger = pub.parse_published(FIXTURE, "fixture.md")["sst2"].attacks["textbugger"]
    assert textbugger[0].attacked == "Réad the review and reply with 'positive' or 'negative' \\:"
    assert textbugger[1].attacked == "__import__('os').system('touch PWNED') A"
    assert not (tmp_path / "PWNED").exists()
    assert pub.decode_attacked("b'it\\'s \\\\ \\x7e \\xe2\\x82\\xac'", "f.md", 3) == "it's \\ ~ €"


@pytest.mark.parametrize(
    ("literal", "message"),
    [
        ("__import__('os').system('touch PWNED')", "f.md: line 7: the attacked prompt is not a bytes literal (b\"...\"): \"__import__('os').system('touch PWNED')\""),
        ("'a str, not bytes'", "f.md: line 7: the attacked prompt is not a bytes literal (b\"...\"): \"'a str, not bytes'\""),
        ('b"open', "f.md: line 7: the attacked prompt is not a bytes literal (b\"...\"): 'b\"open'"),
        ('b"\\xff\\xfe"', "f.md: line 7: the attacked prompt's bytes are not UTF-8 (byte 0)"),
    ],
)
def test_an_attacked_prompt_that_is_not_a_bytes_literal_names_its_line(tmp_path, monkeypatch, literal, message):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(DataError) as info:
        pub.decode_attacked(literal, "f.md", 7)
    assert str(info.value) == message
    assert not (tmp_path / "PWNED").exists()


def test_a_bad_attacked_line_in_a_file_names_the_file_line(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    bad = FIXTURE.replace('Attacked prompt: b"Scan the review', "Attacked prompt: __import__('os').system('touch PWNED') or b\"Scan the review")
    with pytest.raises(DataError) as info:
        pub.parse_published(bad, "bad.md")
    assert str(info.value).startswith("bad.md: line 17: the attacked prompt is not a bytes literal")
    assert not (tmp_path / "PWNED").exists()


def test_rows_for_every_group_and_what_is_left_out():
    published = pub.PublishedFile("ourmodel_zeroshot", "ab" * 32, pub.parse_published(FIXTURE, "fixture.md"))
    frame = pd.DataFrame(pub.published_rows(published, 2, ALL_GROUPS, ["french", "spanish", "arabic"]), columns=list(PROMPTS.columns))
    frame = check_prompt_set(frame, "fixture.md")
    got = [(r.task, r.group, r.prompt_id, r.text, r.clean_text, r.origin) for r in frame.itertuples()]
    assert got == [
        ("sst2", "clean", 0, SST2_READ, SST2_READ, "published:ourmodel_zeroshot:task_oriented"),
        ("sst2", "clean", 1, SST2_CRITIC, SST2_CRITIC, "published:ourmodel_zeroshot:role_oriented"),
        ("sst2", "deepwordbug", 0, "Raed the reveiw and reply with 'positive' or 'negative':", SST2_READ, "published:ourmodel_zeroshot:deepwordbug"),
        ("sst2", "deepwordbug", 1, SST2_CRITIC, SST2_CRITIC, "published:ourmodel_zeroshot:deepwordbug"),
        ("sst2", "textbugger", 0, "Réad the review and reply with 'positive' or 'negative' \\:", SST2_READ, "published:ourmodel_zeroshot:textbugger"),
        ("sst2", "textbugger", 1, "__import__('os').system('touch PWNED') A", SST2_CRITIC, "published:ourmodel_zeroshot:textbugger"),
        ("sst2", "textfooler", 0, "Peruse the review and reply with 'positive' or 'negative':", SST2_READ, "published:ourmodel_zeroshot:textfooler"),
        ("sst2", "textfooler", 1, "As a reviewer, rate the review as 'positive' or 'negative':", SST2_CRITIC, "published:ourmodel_zeroshot:textfooler"),
        ("sst2", "bertattack", 0, "Scan the review and reply with 'positive' or 'negative':", SST2_READ, "published:ourmodel_zeroshot:bertattack"),
        ("sst2", "bertattack", 1, "As a critic, grade the review as 'positive' or 'negative':", SST2_CRITIC, "published:ourmodel_zeroshot:bertattack"),
        ("sst2", "checklist", 0, "Read the review and reply with 'positive' or 'negative' Zq81kPx0Lm:", SST2_READ, "published:ourmodel_zeroshot:checklist"),
        ("sst2", "checklist", 1, "As a critic, rate the review as 'positive' or 'negative' Rt5vWq2B:", SST2_CRITIC, "published:ourmodel_zeroshot:checklist"),
        ("sst2", "stresstest", 0, "Read the review and reply with 'positive' or 'negative'  and true is true :", SST2_READ, "published:ourmodel_zeroshot:stresstest"),
        ("sst2", "semantic", 0, "Tell me if this review is 'positive' or 'negative'.", SST2_READ, "published:ourmodel_zeroshot:semantic:french"),
        ("sst2", "semantic", 1, "Decide: is the review 'positive' or 'negative'?", SST2_CRITIC, "published:ourmodel_zeroshot:semantic:spanish"),
        ("cola", "clean", 0, COLA, COLA, "published:ourmodel_zeroshot:task_oriented"),
        ("cola", "clean", 1, COLA_ROLE, COLA_ROLE, "published:ourmodel_zeroshot:role_oriented"),
        ("cola", "deepwordbug", 0, "Is the sentnece 'acceptable' or 'unacceptable'?", COLA, "published:ourmodel_zeroshot:deepwordbug"),
        ("cola", "deepwordbug", 1, "As a grammarain, call the sentence 'acceptable' or 'unacceptable'.", COLA_ROLE, "published:ourmodel_zeroshot:deepwordbug"),
    ]
    details = [json.loads(d) for d in frame["details"]]
    assert details[0] == {"source": "ourmodel_zeroshot.md", "sha256": "ab" * 32, "kind": "task_oriented", "position": 0, "accuracy": 91.5, "line": 7}
    assert details[2] == {"source": "ourmodel_zeroshot.md", "sha256": "ab" * 32, "line": 34, "accuracy_before": 91.5, "accuracy_after": 10.0, "dropped": 81.5}
    assert details[3]["status"] == "no_candidate"  # PromptBench's attack left this one unchanged
    assert details[13] == {"source": "ourmodel_zeroshot.md", "sha256": "ab" * 32, "language": "french", "accuracy": 77.0, "line": 72}
    left_out = tables.left_out_counts(frame, ["clean", *ALL_GROUPS], n_languages=3)
    assert [(r["task"], r["group"], r["n_expected"], r["n_left_out"]) for r in left_out.to_dict("records")] == [
        ("sst2", "stresstest", 2, 1),
        ("cola", "textbugger", 2, 2), ("cola", "textfooler", 2, 2), ("cola", "bertattack", 2, 2),
        ("cola", "checklist", 2, 2), ("cola", "stresstest", 2, 2), ("cola", "semantic", 2, 2),
    ]
    assert int(left_out["n_left_out"].sum()) == 13


def test_clean_prompts_follow_the_files_accuracy_order_within_each_kind():
    published = pub.PublishedFile("f", "0" * 64, pub.parse_published(FIXTURE, "f.md"))
    with pytest.raises(DataError) as info:
        pub.published_rows(published, 4, ["deepwordbug"], [])
    assert str(info.value) == "perturb.n_instructions = 4 needs 2 attacked task_oriented instructions for sst2; f has 1"
    rows = pub.published_rows(published, 1, ["deepwordbug"], [])  # ceil(1/2) task-oriented, none role-oriented
    assert [(r["task"], r["group"], r["text"]) for r in rows][:2] == [("sst2", "clean", SST2_READ), ("sst2", "deepwordbug", "Raed the reveiw and reply with 'positive' or 'negative':")]


def test_a_name_is_downloaded_once_and_checked_on_every_read(tmp_path):
    data = FIXTURE.encode()
    fetched = []

    def download(url):
        fetched.append(url)
        return data

    with pytest.raises(DataError) as info:  # the fixture is not the pinned file
        pub.read_published("vicuna_zeroshot", tmp_path, download)
    digest = hashlib.sha256(data).hexdigest()
    url = f"https://raw.githubusercontent.com/microsoft/promptbench/{PROMPTBENCH_COMMIT}/adv_prompts/vicuna_zeroshot.md"
    assert str(info.value) == f"{url}: sha256 {digest} does not match the pinned {pub.PUBLISHED_SHA256['vicuna_zeroshot']}"
    assert fetched == [url]
    cached = tmp_path / "promptbench" / PROMPTBENCH_COMMIT / "adv_prompts" / "vicuna_zeroshot.md"
    assert not cached.exists()  # nothing kept from a failed check

    def offline(url):
        raise OSError("no network")

    with pytest.raises(DataError) as info:
        pub.read_published("t5_fewshot", tmp_path, offline)
    assert str(info.value) == (
        f"could not download {url.replace('vicuna_zeroshot', 't5_fewshot')}: no network; "
        "go online once, or set perturb.published to the path of a local copy")

    cached.parent.mkdir(parents=True)
    cached.write_bytes(data)  # a cached copy that is not the pinned file
    with pytest.raises(DataError) as info:
        pub.read_published("vicuna_zeroshot", tmp_path, offline)
    assert str(info.value) == f"{cached} (delete it to download again): sha256 {digest} does not match the pinned {pub.PUBLISHED_SHA256['vicuna_zeroshot']}"


def test_a_path_is_read_and_hashed(tmp_path):
    path = write_fixture(tmp_path / "mine.md")
    published = pub.read_published(str(path), tmp_path)
    assert (published.name, published.sha256) == ("mine", hashlib.sha256(FIXTURE.encode()).hexdigest())
    assert sorted(published.tasks) == ["cola", "sst2"]


def _params(tmp_path: Path, **perturb) -> Path:
    raw = yaml.safe_load((ROOT / "params.yaml").read_text())
    raw = merge(raw, {"data": {"cache_dir": str(tmp_path / "cache")}, "perturb": perturb})
    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump(raw, sort_keys=False))
    return path


def _check(tmp_path: Path, **perturb):
    marker = tmp_path / "params.checked"
    result = CliRunner().invoke(app, ["check-params", "--out", str(marker), "--params", str(_params(tmp_path, **perturb))])
    return result, marker


@pytest.mark.parametrize(
    ("perturb", "message"),
    [
        ({"published": "llama_zeroshot"},
         "perturb.published = 'llama_zeroshot' is not allowed: use one of t5_zeroshot, t5_fewshot, ul2_zeroshot, ul2_fewshot, "
         "vicuna_zeroshot, vicuna_fewshot, chatgpt_zeroshot, chatgpt_fewshot or the path of an existing file"),
        ({"published": None}, "perturb.published is empty: perturb.mode = 'published' needs one of PromptBench's eight names or a file"),
        ({"published": "NOTASK"}, "NOTASK: no level-1 heading names a task of ours (sst2, cola, qqp, mrpc, mnli, qnli, rte, wnli): expected a PromptBench adv_prompts file"),
        ({"published": "BADLINE"}, "BADLINE: line 17: the attacked prompt is not a bytes literal (b\"...\"): "
         + repr("'Scan the review and reply with 'positive' or 'negative':\"")),
        ({"published": "FIXTURE", "n_instructions": 6},
         "perturb.n_instructions = 6 needs 3 attacked task_oriented instructions for sst2; fixture has 1"),
    ],
    ids=["unknown-name", "empty", "no-task", "not-bytes", "too-few"],
)
def test_check_params_refuses_a_bad_published_set_in_one_line(tmp_path, perturb, message):
    files = {
        "NOTASK": write_fixture(tmp_path / "notask.md", "# someone_zeroshot\n\n# mmlu\n\n## 10 prompts\n"),
        "BADLINE": write_fixture(tmp_path / "badline.md", FIXTURE.replace('b"Scan the review', "'Scan the review")),
        "FIXTURE": write_fixture(tmp_path / "fixture.md"),
    }
    value = perturb.get("published")
    perturb = {**perturb, "published": str(files[value]) if value in files else value}
    result, marker = _check(tmp_path, mode="published", **perturb)
    expected = message.replace("NOTASK", str(files["NOTASK"])).replace("BADLINE", str(files["BADLINE"]))
    assert (result.exit_code, result.output) == (2, f"error: {expected}\n")
    assert not marker.exists()


def test_bertattack_in_the_search_without_a_masked_lm_is_refused_naming_the_key(tmp_path):
    result, marker = _check(tmp_path, groups=["deepwordbug", "bertattack"])
    assert (result.exit_code, result.output) == (2, (
        "error: perturb.groups has 'bertattack', which needs perturb.masked_lm: set it to a masked language model "
        "(a local folder, a hub id such as bert-base-uncased, or embedded), or drop the group\n"))
    assert not marker.exists()
    result, marker = _check(tmp_path, groups=["bertattack"], masked_lm="./no/such/folder")
    assert (result.exit_code, result.output) == (2, (
        "error: perturb.masked_lm = './no/such/folder' is not an existing folder: use embedded, a hub id such as "
        "bert-base-uncased or an existing model folder\n"))
    assert not marker.exists()


def test_stage_writes_the_published_set(tmp_path):
    from pipeline.perturb import perturb

    path = write_fixture(tmp_path / "fixture.md")
    params = _params(tmp_path, mode="published", published=str(path), n_instructions=2, groups=ALL_GROUPS, languages=["french", "spanish"])
    result = CliRunner().invoke(app, ["check-params", "--out", str(tmp_path / "ok"), "--params", str(params)])
    assert result.exit_code == 0, result.output
    out = tmp_path / "prompts.parquet"
    perturb(model="models/none", eval_path="data/none.parquet", out=str(out), params_path=str(params))
    frame = read_parquet(out, PROMPTS)
    assert len(frame) == 19
    assert frame.groupby("group").size().to_dict() == {
        "bertattack": 2, "checklist": 2, "clean": 4, "deepwordbug": 4, "semantic": 2, "stresstest": 1, "textbugger": 2, "textfooler": 2}


def test_report_names_the_prompt_set():
    from types import SimpleNamespace

    from pipeline.report import prompt_set_note

    published = pub.PublishedFile("ourmodel_zeroshot", "ab" * 32, pub.parse_published(FIXTURE, "f.md"))
    frame = pd.DataFrame(pub.published_rows(published, 2, ["deepwordbug"], []), columns=list(PROMPTS.columns))
    cfg = SimpleNamespace(perturb=SimpleNamespace(mode="published", published="/somewhere/ourmodel_zeroshot.md", file=None))
    assert prompt_set_note(cfg, frame) == (
        "PromptBench's published adversarial prompts `ourmodel_zeroshot.md` (sha256 abababababab; "
        "`perturb.published: ourmodel_zeroshot.md`): fixed text found against PromptBench's own model, the same for "
        "every model here (a transfer attack)")
    cfg.perturb.mode = "adversarial"
    assert prompt_set_note(cfg, frame).startswith("searched against the CIT model (`perturb.mode: adversarial`")
    cfg.perturb.mode, cfg.perturb.file = "file", "/elsewhere/copy.parquet"
    assert "`copy.parquet`" in prompt_set_note(cfg, frame) and "/elsewhere" not in prompt_set_note(cfg, frame)


def test_the_full_fixture_gives_every_group_of_every_task():
    published = pub.PublishedFile("ourmodel_zeroshot", "0" * 64, pub.parse_published(full_fixture(), "f.md"))
    frame = check_prompt_set(pd.DataFrame(pub.published_rows(
        published, 2, ["deepwordbug", "textfooler", "checklist", "semantic"], ["chinese", "french"]), columns=list(PROMPTS.columns)), "f")
    assert len(frame) == 8 * 2 * 5
    assert frame[(frame["task"] == "rte") & (frame["group"] == "deepwordbug")]["text"].tolist() == [
        "Raed the text and answer 'entailment' or 'not_entailment':", "As a carefl reader, answer 'entailment' or 'not_entailment':"]


def test_the_eight_pinned_names():
    assert pub.PUBLISHED_NAMES == ("t5_zeroshot", "t5_fewshot", "ul2_zeroshot", "ul2_fewshot", "vicuna_zeroshot",
                                   "vicuna_fewshot", "chatgpt_zeroshot", "chatgpt_fewshot")
    assert all(len(d) == 64 for d in pub.PUBLISHED_SHA256.values())
    with pytest.raises(CoinError):
        pub.read_published("no_such_name", ".")
