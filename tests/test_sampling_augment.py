"""Round robin, the length filter, pair selection, positives, pair invariants, data card, and the
sample / augment stages end to end on a tiny mirror."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from coin.data.augment import check_matches_sampled, check_pairs, train_frame
from coin.data.examples import FORMATS
from coin.data.sampling import (
    LengthBudget,
    interleave,
    memoized,
    permutation,
    round_robin,
    round_robin_counts,
    sampled_frame,
    select_pairs,
    whitespace_length_fn,
)
from coin.errors import DataError
from coin.prompts.format import PromptFormat
from coin.schemas import FLAN_TEMPLATES, SAMPLED, TRAIN

ROOT = Path(__file__).resolve().parents[1]
BUDGET = LengthBudget(whitespace_length_fn, 100, PromptFormat("alpaca", "I: {instruction} In: {input}", "I: {instruction} R:"))


def examples(name: str, labels: list[int], words: dict[int, int] | None = None) -> pd.DataFrame:
    """FLAN_EXAMPLES rows of a registry dataset; example i has `words[i]` words (default 2)."""
    words = words or {}
    options = list(FORMATS[name].options)
    fields = [json.dumps({f: " ".join([f"w{i}"] * words.get(i, 2)) for f in FORMATS[name].fields}, sort_keys=True) for i in range(len(labels))]
    return pd.DataFrame(
        {
            "dataset": name,
            "example_id": [f"{i:03d}" for i in range(len(labels))],
            "fields": fields,
            "options": [options] * len(labels),
            "answer": [options[b] for b in labels],
            "label": np.array(labels, dtype=np.int64),
        }
    )


def templates(key: str, inputs: list[str], target: str = "{answer}") -> pd.DataFrame:
    """FLAN_TEMPLATES rows, all kept."""
    return pd.DataFrame(
        {
            "flan_key": key,
            "template_id": np.arange(len(inputs), dtype=np.int64),
            "input_template": inputs,
            "target_template": target,
            "kept": True,
            "drop_reason": "",
        },
        columns=list(FLAN_TEMPLATES.columns),
    )


SST2_T = templates("sst2", ["{sentence} A?\n{options_}", "B: {sentence}\n{options_}", "{sentence} C!\n{options_}"])
RTE_T = templates("rte", ["{premise} / {hypothesis}\n{options_}", "{hypothesis} given {premise}?\n{options_}"])


# ---------------------------------------------------------------- round robin


def test_interleave_cycles_in_order_and_drops_empty_streams():
    assert interleave({"a": [1, 2, 3], "b": ["x"], "c": [7, 8]}, 5) == [("a", 1), ("b", "x"), ("c", 7), ("a", 2), ("c", 8)]
    assert interleave({"a": [1], "b": []}, 4) == [("a", 1)]


def test_round_robin_counts_hand_computed():
    # turns: a b c | a c | a c  -> 7
    assert round_robin_counts({"a": 5, "b": 1, "c": 3}, 7) == {"a": 3, "b": 1, "c": 3}
    # 5 of 3 x 4: a b c | a b
    assert round_robin_counts({"a": 4, "b": 4, "c": 4}, 5) == {"a": 2, "b": 2, "c": 1}
    # more than there is: everything
    assert round_robin_counts({"a": 2, "b": 4, "c": 0}, 10) == {"a": 2, "b": 4, "c": 0}


def test_round_robin_picks_a_seeded_order_per_dataset():
    picks = round_robin({"a": 5, "b": 2}, 6, seed=3)
    assert [d for d, _ in picks] == ["a", "b", "a", "b", "a", "a"]
    assert [i for d, i in picks if d == "a"] == permutation(5, 3, "a")[:4].tolist()
    assert sorted(i for d, i in picks if d == "b") == [0, 1]
    assert round_robin({"a": 5, "b": 2}, 6, seed=3) == picks
    assert round_robin({"a": 50}, 50, seed=4) != round_robin({"a": 50}, 50, seed=5)


# ---------------------------------------------------------------- length budget


def test_length_budget_measures_formatted_prompt_plus_response():
    budget = LengthBudget(whitespace_length_fn, 5, PromptFormat("alpaca", "I: {instruction} In: {input}", "I: {instruction} R:"))
    assert budget.texts(["a b", "c"], ["yes", ""]) == ["I: a b R:yes", "I: c R:"]
    # 4 words fits 5; an empty response never fits; 6 words is over
    assert budget.fits(["a b", "c", "a b c d"], ["yes", "", "x"]).tolist() == [True, False, False]


def test_memoized_length_function_measures_each_text_once():
    calls = []

    def counting(texts):
        calls.append(list(texts))
        return [len(t) for t in texts]

    memo: dict[int, int] = {}
    fn = memoized(counting, memo)
    assert fn(["ab", "abc"]) == [2, 3]
    assert fn(["abc", "abcd", "ab"]) == [3, 4, 2]
    assert calls == [["ab", "abc"], ["abcd"]]
    assert len(memo) == 3


# ---------------------------------------------------------------- pair selection


def test_round_robin_pairs_with_a_dataset_running_out():
    ex = pd.concat([examples("sst2", [0, 1] * 6), examples("rte", [0, 1, 0, 1])], ignore_index=True)
    sel = select_pairs(ex, pd.concat([SST2_T, RTE_T]), ["sst2", "rte"], 16, seed=7, budget=BUDGET, progress=False)
    # pair turns: sst2 rte | sst2 rte | sst2 (rte is out: 4 examples make 2 pairs) | sst2 sst2 sst2
    assert [p.dataset for p in sel.pairs] == ["sst2", "rte", "sst2", "rte", "sst2", "sst2", "sst2", "sst2"]
    frame = sampled_frame(sel)
    SAMPLED.check(frame, "sampled")
    assert frame["entry_id"].tolist() == list(range(16))
    assert frame.groupby("dataset")["example_id"].nunique().to_dict() == {"rte": 4, "sst2": 12}  # each example once
    stats = sel.stats()
    assert stats["rte"] == {"available": 4, "kept_templates": 2, "examined": 4, "anchors": 2, "negatives": 2, "too_long": 0, "no_positive": 0, "no_negative": 0}


def test_first_pair_is_the_first_example_and_the_earliest_other_answer():
    labels = [0, 0, 0, 1, 1, 0, 1, 0, 1, 1]
    ex = examples("sst2", labels)
    sel = select_pairs(ex, SST2_T, ["sst2"], 2, seed=11, budget=BUDGET, progress=False)
    order = permutation(10, 11, "sst2").tolist()  # visiting order (rows sorted by example_id)
    anchor = order[0]
    negative = next(r for r in order[1:] if labels[r] != labels[anchor])
    pair = sel.pairs[0]
    assert (pair.anchor, pair.negative) == (anchor, negative)
    assert pair.anchor_positive_id != pair.template_id and pair.negative_positive_id != pair.template_id


def test_length_filter_drops_long_examples():
    words = {i: 40 for i in (0, 3, 4, 9)}  # 40-word fields cannot fit 20 words
    ex = examples("sst2", [0, 1] * 6, words)
    budget = LengthBudget(whitespace_length_fn, 20, PromptFormat("alpaca", "{instruction}", "{instruction}"))
    sel = select_pairs(ex, SST2_T, ["sst2"], 8, seed=1, budget=budget, progress=False)
    used = {ex["example_id"][r] for p in sel.pairs for r in (p.anchor, p.negative)}
    assert used.isdisjoint({"000", "003", "004", "009"}) and len(used) == 8
    stats = sel.stats()["sst2"]
    assert stats["anchors"] + stats["negatives"] + stats["too_long"] + stats["no_positive"] + stats["no_negative"] == stats["examined"]
    assert stats["too_long"] >= 1


def test_no_positive_no_negative_and_skipped_datasets_let_others_fill_up():
    # rte: its second template is always too long, so no example has a positive
    long_rte = templates("rte", ["{premise} {hypothesis}\n{options_}", " ".join(["pad"] * 50) + " {premise}\n{options_}"])
    cola = examples("cola", [1] * 6)  # one answer only: no hard negatives
    stsb = examples("stsb", [0, 1, 2, 3])
    ex = pd.concat([examples("sst2", [0, 1] * 4), examples("rte", [0, 1] * 3), cola, stsb], ignore_index=True)
    tpl = pd.concat(
        [SST2_T, long_rte, templates("cola", ["{sentence}?\n{options_}", "{sentence}!\n{options_}"]), templates("stsb", ["{sentence1} {sentence2}\n{options_}"], "{answer_str}")]
    )
    budget = LengthBudget(whitespace_length_fn, 30, PromptFormat("alpaca", "{instruction}", "{instruction}"))
    sel = select_pairs(ex, tpl, ["sst2", "rte", "cola", "stsb"], 8, seed=2, budget=budget, progress=False)
    assert {p.dataset for p in sel.pairs} == {"sst2"}
    stats = sel.stats()
    assert stats["rte"]["examined"] == 6 and stats["rte"]["too_long"] + stats["rte"]["no_positive"] == 6
    assert stats["rte"]["no_positive"] >= 1
    assert stats["cola"]["no_negative"] == 6
    assert sel.skipped == {"stsb": "1 kept template(s); a positive needs 2"}


def test_too_few_pairs_is_a_clear_error():
    ex = examples("sst2", [0, 1] * 3)
    with pytest.raises(DataError) as info:
        select_pairs(ex, SST2_T, ["sst2"], 10, seed=0, budget=BUDGET, progress=False)
    assert str(info.value) == (
        "only 3 anchor/negative pairs fit sample.cutoff_len = 100 in 1 datasets; "
        "sample.n_entries = 10 needs 5: lower n_entries or raise cutoff_len"
    )
    with pytest.raises(DataError) as info:
        select_pairs(ex, SST2_T, ["sst2", "rte"], 2, seed=0, budget=BUDGET, progress=False)
    assert str(info.value) == "the FLAN examples have no rows of 'rte': rerun extract with it in data.datasets"


def test_selection_is_deterministic_and_seeded():
    ex = pd.concat([examples("sst2", [0, 1] * 10), examples("rte", [0, 1] * 10)], ignore_index=True)
    tpl = pd.concat([SST2_T, RTE_T])
    run = lambda seed: sampled_frame(select_pairs(ex, tpl, ["sst2", "rte"], 12, seed=seed, budget=BUDGET, progress=False))  # noqa: E731
    pd.testing.assert_frame_equal(run(5), run(5))
    # the file's row order does not matter
    shuffled = ex.sample(frac=1.0, random_state=0)
    pd.testing.assert_frame_equal(
        run(5), sampled_frame(select_pairs(shuffled, tpl, ["sst2", "rte"], 12, seed=5, budget=BUDGET, progress=False))
    )
    assert not run(5).equals(run(6))


# ---------------------------------------------------------------- augmentation and invariants


def good_train() -> tuple[pd.DataFrame, dict[str, set[int]]]:
    ex = pd.concat([examples("sst2", [0, 1] * 4), examples("rte", [0, 1] * 2)], ignore_index=True)
    sel = select_pairs(ex, pd.concat([SST2_T, RTE_T]), ["sst2", "rte"], 8, seed=3, budget=BUDGET, progress=False)
    return train_frame(sel), {"sst2": {0, 1, 2}, "rte": {0, 1}}


def test_train_frame_layout_and_positives():
    train, kept = good_train()
    TRAIN.check(train, "train")
    check_pairs(train, kept)
    assert train["role"].tolist() == ["anchor", "negative"] * 4
    assert train["pair_id"].tolist() == [0, 0, 1, 1, 2, 2, 3, 3]
    assert (train["positive_template_id"] != train["template_id"]).all()
    first = train.iloc[0]
    # the positive is the same example under another template: same fields, same answer
    assert first["positive_prompt"] != first["prompt"] and first["target"] in ("negative", "positive")
    word = json.loads(examples("sst2", [0])["fields"][0])["sentence"].split()[0][:1]
    assert word in first["prompt"] and word in first["positive_prompt"]


def same_answer(t):
    t.loc[1, "target"] = t.loc[0, "target"]


def own_template_as_positive(t):
    t.loc[2, "positive_template_id"] = t.loc[2, "template_id"]


def two_anchors(t):
    t.loc[1, "role"] = "anchor"


def negative_template_differs(t):
    t.loc[3, "template_id"] = 9


def same_example(t):
    t.loc[1, "example_id"] = t.loc[0, "example_id"]


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (same_answer, "pair 0: negative has the anchor's answer {a!r}; a hard negative needs a different answer"),
        (own_template_as_positive, "entry 2: positive uses the entry's own template {t2}; a positive needs another kept template"),
        (two_anchors, "pair 0 has 2 anchor(s) and 0 negative(s): each pair needs one of each"),
        (negative_template_differs, "pair 1: negative has template 9 but its anchor template {t2} (a hard negative shares the template)"),
        (same_example, "pair 0: negative has the anchor's input (example {e0!r}); a hard negative needs another input"),
    ],
)
def test_pair_invariants_are_enforced(mutate, message):
    train, kept = good_train()
    expected = message.format(a=train.loc[0, "target"], t2=train.loc[2, "template_id"], e0=train.loc[0, "example_id"])
    mutate(train)
    with pytest.raises(DataError) as info:
        check_pairs(train, kept)
    assert str(info.value) == expected


def test_templates_must_be_kept():
    train, kept = good_train()
    train.loc[[0, 1], "template_id"] = 7  # pair 0 (sst2) moved to a template that is not kept
    with pytest.raises(DataError) as info:
        check_pairs(train, kept)
    assert str(info.value) == "entry 0: template 7 is not a kept template of sst2 (kept: [0, 1, 2])"
    train, kept = good_train()
    train.loc[3, "positive_template_id"] = 8  # entry 3 is rte's first negative
    with pytest.raises(DataError) as info:
        check_pairs(train, kept)
    assert str(info.value) == "entry 3: positive template 8 is not a kept template of rte (kept: [0, 1])"


def test_sampled_file_must_match_the_selection():
    ex = pd.concat([examples("sst2", [0, 1] * 4)], ignore_index=True)
    sel = select_pairs(ex, SST2_T, ["sst2"], 4, seed=3, budget=BUDGET, progress=False)
    frame = sampled_frame(sel)
    check_matches_sampled(frame, sel, "s.parquet")
    frame.loc[1, "template_id"] = 99
    with pytest.raises(DataError) as info:
        check_matches_sampled(frame, sel, "s.parquet")
    assert str(info.value) == (
        f"s.parquet entry 1 is sst2 {frame.loc[1, 'example_id']!r} template 99, but these params select "
        f"sst2 {frame.loc[1, 'example_id']!r} template {sel.pairs[0].template_id}: rerun the sample stage"
    )


# ---------------------------------------------------------------- stages end to end

PATTERNS_FIXTURE = '''PATTERNS = {
    "sst2": [
        ("Line: {sentence}\\nTone?\\n{options_}", "{answer}"),
        ("{sentence}\\n\\nWhich tone fits?\\n{options_}", "{answer}"),
        ("Tone of this line: {sentence}\\n{options_}", "{answer}"),
        ("Write something {answer}.", "{sentence}"),
    ],
    "cola": [
        ("Is this well formed? {sentence}\\n{options_}", "{answer}"),
        ("{sentence}\\nGrammar check:\\n{options_}", "{answer}"),
    ],
}
'''


@pytest.fixture
def stage_inputs(tmp_path, tiny_lm):
    from coin.data.hub_layout import write_hub_repo

    n = 16
    sst2 = pd.DataFrame({"sentence": [f"a {w} tale number {i}" for i, w in enumerate(["calm", "grim"] * 8)], "label": [0, 1] * 8, "idx": np.arange(n, dtype=np.int32)})
    cola = pd.DataFrame({"sentence": [f"the dog {'barks' if i % 3 else 'bark'} {i}" for i in range(n)], "label": [int(bool(i % 3)) for i in range(n)], "idx": np.arange(n, dtype=np.int32)})
    write_hub_repo(
        tmp_path / "mirror", "nyu-mll/glue", {("sst2", "train"): sst2, ("cola", "train"): cola},
        {("sst2", "label"): ("negative", "positive"), ("cola", "label"): ("unacceptable", "acceptable")},
    )
    (tmp_path / "templates.py").write_text(PATTERNS_FIXTURE)
    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    params["data"].update(datasets=["sst2", "cola"], flan_templates=str(tmp_path / "templates.py"), cache_dir=str(tmp_path / "cache"))
    params["sample"].update(n_entries=12, cutoff_len=512)
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
    tiny_lm[1].save_pretrained(str(tmp_path / "tok"))
    from pipeline.extract import extract

    extract(mirror=tmp_path / "mirror", out=tmp_path / "flan", params=tmp_path / "params.yaml")
    return tmp_path


def run_sample(w: Path, out: str = "sampled.parquet") -> None:
    from pipeline.sample import sample

    sample(flan=w / "flan", tokenizer=w / "tok", out=w / out, params=w / "params.yaml")


def run_augment(w: Path, sampled: str = "sampled.parquet", out: str = "train.parquet", card: str = "card") -> None:
    from pipeline.augment import augment

    augment(flan=w / "flan", sampled=w / sampled, tokenizer=w / "tok", out=w / out, card=w / card, params=w / "params.yaml")


def test_sample_and_augment_stages(stage_inputs):
    w = stage_inputs
    run_sample(w)
    run_augment(w)
    train = pd.read_parquet(w / "train.parquet")
    assert len(train) == 12 and train["dataset"].value_counts().to_dict() == {"sst2": 6, "cola": 6}
    assert train["dataset"].tolist()[:4] == ["sst2", "sst2", "cola", "cola"]
    check_pairs(train, {"sst2": {0, 1, 2}, "cola": {0, 1}})
    card = json.loads((w / "card" / "data_card.json").read_text())
    assert card["entries"] == 12 and card["pairs"] == 6 and card["paper_entries"] == 52002
    assert card["datasets"]["sst2"]["entries"] == 6 and card["datasets"]["sst2"]["available"] == 16
    assert card["templates_skipped"] == [{"flan_key": "sst2", "reason": "inverted", "template_id": 3}]
    assert card["settings"]["cutoff_len"] == 512 and card["settings"]["source"] == "embedded"
    page = (w / "card" / "data_card.md").read_text()
    assert "| sst2 | 67349 | 16 | 6 | 0 | 6 | 0 | 0 | 6 | 2682 | 3 |" in page and "| sst2 | 3 | inverted |" in page
    # the length memo lets augment re-derive the selection without measuring again
    assert len(list((w / "cache" / "lengths").glob("*.npz"))) == 1


def test_stages_are_byte_identical_on_rerun(stage_inputs):
    w = stage_inputs
    run_sample(w, "s1.parquet")
    run_augment(w, "s1.parquet", "t1.parquet", "c1")
    run_sample(w, "s2.parquet")
    run_augment(w, "s2.parquet", "t2.parquet", "c2")
    assert (w / "s1.parquet").read_bytes() == (w / "s2.parquet").read_bytes()
    assert (w / "t1.parquet").read_bytes() == (w / "t2.parquet").read_bytes()
    for name in ("data_card.json", "data_card.md"):
        assert (w / "c1" / name).read_bytes() == (w / "c2" / name).read_bytes()


def test_augment_refuses_a_stale_sampled_file(stage_inputs, capsys):
    w = stage_inputs
    run_sample(w)
    frame = pd.read_parquet(w / "sampled.parquet")
    frame = frame.sort_values("entry_id", ascending=False).reset_index(drop=True)
    frame["entry_id"] = np.arange(len(frame))
    from coin.io import write_parquet

    write_parquet(frame, w / "stale.parquet", SAMPLED)
    with pytest.raises(SystemExit) as info:
        run_augment(w, "stale.parquet")
    assert info.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert err.startswith(f"error: {w / 'stale.parquet'} entry 0 is cola ") and err.endswith(": rerun the sample stage")
    assert not (w / "train.parquet").exists()


def test_a_full_disk_under_the_card_only_says_train_parquet_was_written(stage_inputs, monkeypatch, capsys):
    import errno

    w = stage_inputs
    run_sample(w)
    write_text = Path.write_text

    def card_disk_full(self, *args, **kwargs):  # --card on a disk of its own, and that disk full
        if self.parent.name.startswith(".card."):
            raise OSError(errno.ENOSPC, "No space left on device")
        return write_text(self, *args, **kwargs)

    monkeypatch.setattr(Path, "write_text", card_disk_full)
    with pytest.raises(SystemExit) as info:
        run_augment(w)
    assert info.value.code == 1
    assert capsys.readouterr().err.strip().splitlines()[-1] == (
        f"error: no space left on the device while writing {w / 'card'}: {w / 'train.parquet'} was written, "
        f"{w / 'card'} was not; free space there and rerun the stage"
    )
    assert (w / "train.parquet").is_file() and not (w / "card").exists()
    assert not list(w.glob(".card.*"))  # the half-written card folder is removed


def test_length_memo_roundtrip_and_tokenizer_fingerprint(tmp_path):
    from pipeline.sample import LengthMemo, tokenizer_fingerprint

    (tmp_path / "tok").mkdir()
    (tmp_path / "tok" / "tokenizer.json").write_text("{}")
    first = tokenizer_fingerprint(tmp_path / "tok")
    (tmp_path / "tok" / "model.safetensors").write_bytes(b"weights are not part of it")
    assert tokenizer_fingerprint(tmp_path / "tok") == first
    (tmp_path / "tok" / "tokenizer.json").write_text('{"changed": 1}')
    assert tokenizer_fingerprint(tmp_path / "tok") != first
    memo = LengthMemo(tmp_path / "cache", first)
    memo.memo.update({5: 12, -7: 30})
    memo.save()
    assert LengthMemo(tmp_path / "cache", first).memo == {5: 12, -7: 30}
    assert LengthMemo(tmp_path / "cache", "other").memo == {}


def test_card_shows_the_papers_counts_and_why_ours_differ(stage_inputs):
    w = stage_inputs
    run_sample(w)
    run_augment(w)
    card = json.loads((w / "card" / "data_card.json").read_text())
    sst2 = card["datasets"]["sst2"]
    assert (sst2["hub_train_rows"], sst2["available"], sst2["fit_cutoff"], sst2["entries"], sst2["paper_entries"]) == (67349, 16, 6, 6, 2682)
    page = (w / "card" / "data_card.md").read_text()
    assert "| sst2 | 67349 | 16 | 6 | 0 | 6 | 0 | 0 | 6 | 2682 | 3 | 1, 2 | 0, 1, 2 |" in page
    assert "- cola: the round robin stopped at 12 entries in all (the paper: 52002) before this dataset ran out" in page


def test_gap_reasons_and_the_papers_own_shortfalls():
    from coin.data import datacard

    assert sum(v for v in datacard.PAPER_TABLE2.values()) == datacard.PAPER_TOTAL == 52002
    assert datacard.paper_note("imdb") == "the paper's pool ran out: 354 entries are what survived its 256-token length filter"
    assert datacard.paper_note("multirc") == "the paper's pool ran out: 30 entries are what survived its 256-token length filter"
    assert datacard.paper_note("cb") == "the paper's pool ran out: the hub train split has 250 rows"
    assert datacard.paper_note("sst2") == ""
    imdb = {"name": "imdb", "entries": 40, "paper_entries": 354, "examined": 120, "available": 120, "fit_cutoff": 44, "hub_train_rows": 25000}
    assert datacard.gap_reason(imdb, 2400) == (
        "ran out: all 120 available examples examined, 44 fit cutoff_len (120 of the hub's 25000 train rows were read: "
        "embedded mirror, data.max_train_examples or FLAN's held-out tail)"
    )
    more = {**imdb, "entries": 400, "examined": 500, "available": 900, "fit_cutoff": 420}
    assert datacard.gap_reason(more, 52002) == (
        "46 more: 420 of 500 examined examples fit this run's cutoff_len; "
        "the paper's pool ran out: 354 entries are what survived its 256-token length filter"
    )
    assert datacard.gap_reason({**imdb, "entries": 354}, 52002) == ""


# ---------------------------------------------------------------- negative and positive kinds

from coin.data.augment import (  # noqa: E402
    instruction_span,
    normal_pairs,
    normal_partners,
    paired_entries,
    perturbed_template,
    protected_words,
)


def four_by_two():
    """8 pairs, 4 sst2 and 4 rte, alternating (round robin), and its hard train frame."""
    ex = pd.concat([examples("sst2", [0, 1] * 4), examples("rte", [0, 1] * 4)], ignore_index=True)
    sel = select_pairs(ex, pd.concat([SST2_T, RTE_T]), ["sst2", "rte"], 16, seed=3, budget=BUDGET, progress=False)
    return sel, {"sst2": {0, 1, 2}, "rte": {0, 1}}


def test_normal_pairs_by_kind():
    datasets = ["a", "b", "a", "b", "a", "b"]
    assert normal_pairs(datasets, "hard", 0) == []
    assert normal_pairs(datasets, "normal", 0) == [0, 1, 2, 3, 4, 5]
    mixed = normal_pairs(datasets, "mixed", 0)
    assert len(mixed) == 2 and {datasets[k] for k in mixed} == {"a", "b"}  # floor(3 / 2) of each dataset
    assert mixed == normal_pairs(datasets, "mixed", 0) and any(normal_pairs(datasets, "mixed", s) != mixed for s in range(1, 6))


def test_normal_partners_take_a_negative_of_another_dataset_once_each():
    datasets = ["a", "b", "a", "b", "c", "a"]
    partners = normal_partners(datasets, list(range(6)), seed=1)
    assert sorted(partners) == sorted(partners.values()) == list(range(6))  # a re-pairing: each negative used once
    assert all(datasets[k] != datasets[v] for k, v in partners.items())
    with pytest.raises(DataError) as info:
        normal_partners(["a", "a", "a", "b"], [0, 1, 2, 3], seed=1)
    assert str(info.value) == (
        "a holds 3 of the 4 pairs that need a normal negative: a negative from another dataset needs every dataset "
        "at most half (use more datasets or augment.negatives = 'hard')"
    )


def test_normal_negatives_re_pair_the_sampled_entries():
    sel, kept = four_by_two()
    hard = train_frame(sel)
    normal = train_frame(sel, "normal", seed=3)
    _, ids = paired_entries(sel, "normal", seed=3)
    check_pairs(normal, kept, ids)
    anchors = normal[normal["role"] == "anchor"]
    negatives = normal[normal["role"] == "negative"]
    assert anchors["dataset"].tolist() == ["sst2", "rte"] * 4  # anchors stay in place
    assert negatives["dataset"].tolist() == ["rte", "sst2"] * 4  # two datasets: each negative from the other
    pd.testing.assert_frame_equal(anchors.reset_index(drop=True), hard[hard["role"] == "anchor"].reset_index(drop=True))
    key = ["dataset", "example_id", "prompt", "positive_prompt", "target"]
    assert sorted(map(tuple, normal[key].values)) == sorted(map(tuple, hard[key].values))  # the same entries
    with pytest.raises(DataError, match=r"^pair 0: negative is from 'rte' but its anchor from 'sst2' \(a hard negative shares the dataset\)$"):
        check_pairs(normal, kept)  # checked as hard pairs
    with pytest.raises(DataError, match=r"^pair 0: negative and anchor are both from 'sst2' \(a normal negative comes from another dataset\)$"):
        check_pairs(hard, kept, ids)


def test_mixed_negatives_half_hard_half_normal():
    sel, kept = four_by_two()
    hard = train_frame(sel)
    mixed = train_frame(sel, "mixed", seed=3)
    _, ids = paired_entries(sel, "mixed", seed=3)
    check_pairs(mixed, kept, ids)
    assert len(ids) == 4 and sorted(hard.loc[hard["pair_id"].isin(ids) & (hard["role"] == "anchor"), "dataset"]) == ["rte", "rte", "sst2", "sst2"]
    pairs = mixed.pivot(index="pair_id", columns="role", values="dataset")
    assert (pairs.loc[ids, "anchor"] != pairs.loc[ids, "negative"]).all()
    others = [k for k in range(8) if k not in ids]
    pd.testing.assert_frame_equal(mixed[mixed["pair_id"].isin(others)], hard[hard["pair_id"].isin(others)])


def suffix_perturb(text, protected, seed):
    """A stand-in PerturbFn: appends a mark naming the seed's parity and the protected words."""
    return f"{text} ~{seed % 2}{'/'.join(sorted(protected))}"


def test_instruction_span_is_the_longest_literal_part():
    template = "Premise: {premise}\nHypothesis: {hypothesis}\nDoes the premise entail it?\n{options_}"
    start, end = instruction_span(template)
    assert template[start:end] == "\nDoes the premise entail it?\n"
    assert instruction_span("{sentence}\n{options_}") == (0, 0)
    assert perturbed_template(template, lambda t, p, s: t.upper(), frozenset(), 0) == (
        "Premise: {premise}\nHypothesis: {hypothesis}\nDOES THE PREMISE ENTAIL IT?\n{options_}"
    )
    assert protected_words(["not entailment", "yes"]) == frozenset({"not entailment", "not", "entailment", "yes"})


def test_perturbed_positives_keep_template_input_and_options():
    sel, kept = four_by_two()
    hard = train_frame(sel)
    train = train_frame(sel, positives="perturbed", seed=3, perturb=suffix_perturb)
    check_pairs(train, kept, positives="perturbed")
    # rte template 0 ("{premise} / {hypothesis}") has no instruction word: those entries keep a template positive
    wordless = (train["dataset"] == "rte") & (train["template_id"] == 0)
    assert wordless.any() and (~wordless).any()
    assert ((train["positive_template_id"] == train["template_id"]) == ~wordless).all()
    pd.testing.assert_frame_equal(train[wordless], hard[wordless])
    pd.testing.assert_frame_equal(train.drop(columns=["positive_prompt", "positive_template_id"]), hard.drop(columns=["positive_prompt", "positive_template_id"]))
    first = train.iloc[0]  # sst2 template "{sentence} A?\n{options_}": the instruction "A?" gets the mark
    fields = json.loads(examples("sst2", [0, 1] * 4).set_index("example_id").loc[first["example_id"], "fields"])
    mark = "~" + first["positive_prompt"].split("~")[1][0] + "negative/positive"  # the options are protected
    expected = {
        0: f"{fields['sentence']} A? {mark}\nOPTIONS:\n- negative\n- positive",
        1: f"B: {mark} {fields['sentence']}\nOPTIONS:\n- negative\n- positive",
        2: f"{fields['sentence']} C! {mark}\nOPTIONS:\n- negative\n- positive",
    }[int(first["template_id"])]
    assert first["positive_prompt"] == expected
    with pytest.raises(DataError, match=r"^entry 0: positive uses the entry's own template"):
        check_pairs(train, kept)  # checked as template positives


def test_both_alternates_and_a_no_op_perturbation_keeps_the_template_positive():
    sel, kept = four_by_two()
    hard = train_frame(sel)
    both = train_frame(sel, positives="both", seed=3, perturb=suffix_perturb)
    check_pairs(both, kept, positives="both")
    perturbed = both["positive_template_id"] == both["template_id"]
    wordless = (both["dataset"] == "rte") & (both["template_id"] == 0)
    assert perturbed.tolist() == [p % 2 == 1 and not w for p, w in zip(both["pair_id"], wordless)]
    assert perturbed.any()
    pd.testing.assert_frame_equal(both[~perturbed], hard[~perturbed])
    same = train_frame(sel, positives="perturbed", seed=3, perturb=lambda t, p, s: t)
    pd.testing.assert_frame_equal(same, hard)
    with pytest.raises(DataError, match=r"^augment.positives = 'perturbed' needs a perturbation function$"):
        train_frame(sel, positives="perturbed")


@pytest.fixture(scope="module")
def perturber(tmp_path_factory):
    from pipeline.augment import make_perturber

    return make_perturber(0.2, tmp_path_factory.mktemp("cache"))


def test_real_perturber_is_seeded_and_keeps_label_words(perturber):
    text = "Does this critic sound positive or negative about the movie they watched?"
    protected = frozenset({"positive", "negative"})
    outputs = {perturber(text, protected, seed) for seed in range(12)}
    assert len(outputs) > 3 and text not in outputs
    assert all("positive" in o and "negative" in o for o in outputs)
    assert perturber(text, protected, 5) == perturber(text, protected, 5)


def test_training_positives_never_contain_an_evaluation_instruction(perturber):
    """The embedded FLAN templates, with and without perturbation, share no text with the evaluation
    instructions (clean and semantic): training stays disjoint from what is evaluated."""
    from coin.embedded.instructions import ROLE_ORIENTED_PROMPT_SET, SEMANTIC_ADV_PROMPT_SET, TASK_ORIENTED_PROMPT_SET
    from coin.embedded.templates import PATTERNS

    instructions = [t for sets in (TASK_ORIENTED_PROMPT_SET, ROLE_ORIENTED_PROMPT_SET) for ts in sets.values() for t in ts]
    instructions += [t for langs in SEMANTIC_ADV_PROMPT_SET.values() for ts in langs.values() for t in ts]
    positives = []
    for key, patterns in PATTERNS.items():
        for i, (template, _) in enumerate(patterns):
            positives.append(template)
            positives.append(perturbed_template(template, perturber, frozenset({"yes", "no"}), i))
    assert len(instructions) > 100 and len(positives) > 200
    core = [t.strip().rstrip(".?!:") for t in instructions]
    assert [t for t in core if any(t in p for p in positives)] == []


def test_augment_stage_follows_the_kinds_and_the_card_counts_them(stage_inputs):
    w = stage_inputs
    run_sample(w)
    params = yaml.safe_load((w / "params.yaml").read_text())
    params["augment"].update(negatives="mixed", positives="both")
    (w / "params.yaml").write_text(yaml.safe_dump(params))
    run_augment(w)
    train = pd.read_parquet(w / "train.parquet")
    pairs = train.pivot(index="pair_id", columns="role", values="dataset")
    assert (pairs["anchor"] != pairs["negative"]).sum() == 2  # floor(3 / 2) = 1 normal pair per dataset
    card = json.loads((w / "card" / "data_card.json").read_text())
    assert card["negatives"] == {"hard": 4, "normal": 2}
    perturbed = int((train["positive_template_id"] == train["template_id"]).sum())
    assert card["positives"] == {"template": 12 - perturbed, "perturbed": perturbed} and 0 < perturbed <= 6
    assert card["settings"]["negatives"] == "mixed" and card["settings"]["positives"] == "both"
    page = (w / "card" / "data_card.md").read_text()
    assert "6 anchor + negative pairs: 4 hard negatives (same dataset and template), 2 normal (another dataset)" in page
