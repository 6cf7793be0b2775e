"""FLAN template source loading (pinned sha256, cache, local path), ast parsing, classification, rendering."""

from __future__ import annotations

import hashlib
import urllib.error
from pathlib import Path

import pytest

from coin.data import flan_templates as ft
from coin.data.flan_templates import (
    PINNED_SHA256,
    PINNED_URL,
    classify,
    load_templates_source,
    parse_patterns,
    placeholders,
    render,
    render_options,
    render_target,
)
from coin.errors import DataError

ROOT = Path(__file__).resolve().parents[1]

# A PATTERNS module in FLAN's form, worded for this test. The raise proves the source is never run.
SOURCE = '''"""Fixture templates written for this test."""
raise SystemExit("this module must never be executed")

PATTERNS = {
    "quiz": [
        ("{question}\\n\\nPick one:\\n{options_}", "{answer}"),
        ("Q: {question}\\n{options_}", "{answer}"),
        ("{question}\\n\\nPick one:\\n{options_}", "{answer}"),
        ("Invent a question whose answer is {answer}.", "{question}"),
        ("{title}: {question}\\n{options_}", "{answer}"),
        ("{question} Say yes or no.", "{answer}"),
    ],
    "score": [("{a} versus {b}\\n{options_}", "{answer_str}")],
}
'''


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def test_parse_patterns_reads_the_literal_without_running_the_module():
    patterns = parse_patterns(SOURCE)
    assert list(patterns) == ["quiz", "score"]
    assert patterns["quiz"][1] == ("Q: {question}\n{options_}", "{answer}")
    assert patterns["score"] == [("{a} versus {b}\n{options_}", "{answer_str}")]
    assert len(patterns["quiz"]) == 6


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("X = 1\n", "templates source has no top-level PATTERNS = {...} assignment"),
        ("PATTERNS = {'k': [make()]}\n", "PATTERNS (line 1) is not a literal: it must be a dict of lists of (input, target) string pairs"),
        ("PATTERNS = [1]\n", "PATTERNS is a list: it must be a dict of lists of (input, target) string pairs"),
        ("PATTERNS = {'k': [('only one',)]}\n", "PATTERNS['k'][0] = ('only one',) is not an (input, target) pair of strings"),
        ("PATTERNS = {'k': 'text'}\n", "PATTERNS['k'] must map a string key to a list of (input, target) string pairs"),
    ],
)
def test_parse_patterns_errors(source, message):
    with pytest.raises(DataError) as info:
        parse_patterns(source)
    assert str(info.value) == message


def test_parse_patterns_syntax_error_names_the_line():
    with pytest.raises(DataError, match=r"^templates source is not valid Python: line 2: "):
        parse_patterns("X = 1\nPATTERNS = {\n")


def test_classify_keeps_classification_templates_and_says_why_others_go():
    patterns = parse_patterns(SOURCE)
    rows = classify(patterns, "quiz", ["question"])
    assert [r.template_id for r in rows if r.kept] == [0, 1]
    assert {r.template_id: r.drop_reason for r in rows if not r.kept} == {
        2: "duplicate",
        3: "inverted",
        4: "needs field title",
        5: "no options",
    }
    assert rows[0].input_template == "{question}\n\nPick one:\n{options_}" and rows[0].flan_key == "quiz"
    # without field information the title template is kept
    assert [r.template_id for r in classify(patterns, "quiz") if r.kept] == [0, 1, 4]
    # {answer_str} is an answer target (STS-B)
    assert classify(patterns, "score", ["a", "b"])[0].kept


def test_classify_unknown_key():
    with pytest.raises(DataError) as info:
        classify(parse_patterns(SOURCE), "nope", [])
    assert str(info.value) == "the templates source has no PATTERNS['nope']: it has quiz, score"


def test_render_options_like_flan():
    assert render_options(["yes", "it is not possible to tell", "no"]) == "OPTIONS:\n- yes\n- it is not possible to tell\n- no"


def test_render_fills_placeholders_and_keeps_other_braces():
    text = render("{question}\n\nPick one:\n{options_}", {"question": "Is {this} { ok }?"}, ["yes", "no"])
    assert text == "Is {this} { ok }?\n\nPick one:\nOPTIONS:\n- yes\n- no"
    assert render("Score: { x } {a}", {"a": "1"}, []) == "Score: { x } 1"
    assert render_target("{answer_str}", "3") == "3"
    assert render_target("{answer}", "no") == "no"
    assert placeholders("{a} {options_} {a} {b}") == ["a", "options_", "b"]


def test_render_missing_field():
    with pytest.raises(DataError) as info:
        render("{title}: {question}\n{options_}", {"question": "q"}, ["a"])
    assert str(info.value) == "template needs field 'title', which the example lacks (it has question)"


def test_local_path_is_read_as_is(tmp_path):
    path = tmp_path / "templates.py"
    path.write_text(SOURCE)
    assert load_templates_source(str(path), tmp_path / "cache") == SOURCE
    with pytest.raises(DataError) as info:
        load_templates_source(str(tmp_path / "missing.py"), tmp_path / "cache")
    assert str(info.value) == (
        f"data.flan_templates = {str(tmp_path / 'missing.py')!r} is not a file: use embedded, pinned or the path of a templates.py"
    )


def test_pinned_download_checksum_mismatch(tmp_path, monkeypatch):
    monkeypatch.setattr(ft, "_download", lambda url: b"PATTERNS = {}\n")
    with pytest.raises(DataError) as info:
        load_templates_source("pinned", tmp_path)
    assert str(info.value) == f"{PINNED_URL}: sha256 {sha(b'PATTERNS = {}' + bytes([10]))} does not match the pinned {PINNED_SHA256}"
    assert not ft.pinned_cache_path(tmp_path).exists()  # nothing unverified is cached


def test_pinned_download_is_cached_and_reverified(tmp_path, monkeypatch):
    data = SOURCE.encode()
    monkeypatch.setattr(ft, "PINNED_SHA256", sha(data))
    calls = []
    monkeypatch.setattr(ft, "_download", lambda url: calls.append(url) or data)
    assert load_templates_source("pinned", tmp_path) == SOURCE
    assert calls == [PINNED_URL]
    cached = ft.pinned_cache_path(tmp_path)
    assert cached.read_bytes() == data
    assert cached == tmp_path / "flan" / ft.FLAN_COMMIT / "templates.py"

    def no_network(url):
        raise AssertionError("downloaded twice")

    monkeypatch.setattr(ft, "_download", no_network)
    assert load_templates_source("pinned", tmp_path) == SOURCE  # from the cache
    cached.write_bytes(data + b"# edited\n")
    with pytest.raises(DataError) as info:
        load_templates_source("pinned", tmp_path)
    assert str(info.value) == (
        f"{cached} (delete it to download again): sha256 {sha(data + b'# edited' + bytes([10]))} does not match the pinned {sha(data)}"
    )


def test_pinned_download_failure_is_one_line(tmp_path, monkeypatch):
    def offline(url):
        raise urllib.error.URLError("network is unreachable")

    monkeypatch.setattr(ft, "_download", offline)
    with pytest.raises(DataError) as info:
        load_templates_source("pinned", tmp_path)
    assert str(info.value) == (
        f"could not download {PINNED_URL}: network is unreachable; "
        "set data.flan_templates to embedded or to a local copy of templates.py"
    )


def test_embedded_missing_module(tmp_path, monkeypatch):
    monkeypatch.setattr(ft, "embedded_templates_path", lambda: tmp_path / "templates.py")
    with pytest.raises(DataError) as info:
        load_templates_source("embedded", tmp_path)
    assert str(info.value) == f"{tmp_path / 'templates.py'} does not exist: data.flan_templates = 'embedded' needs the project's templates module"


def test_embedded_templates_cover_every_dataset():
    """The project's own templates (coin/embedded/templates.py) give each dataset 2+ kept templates."""
    from coin.data.examples import template_fields
    from coin.data.registry import FLAN_DATASETS

    path = ft.embedded_templates_path()
    if not path.is_file():
        pytest.skip("coin/embedded/templates.py is not written yet")
    patterns = parse_patterns(load_templates_source("embedded", ROOT))
    for name, dataset in FLAN_DATASETS.items():
        kept = [t for t in classify(patterns, dataset.flan_key, template_fields(name)) if t.kept]
        assert len(kept) >= 2, name
