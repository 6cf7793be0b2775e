"""The offline `dvc plots show` template: pinned npm builds inlined, no CDN, DVC's placeholders kept."""

from __future__ import annotations

import hashlib
import io
import re
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

from coin.errors import CoinError
from pipeline.offline_plots import VEGA_BUILDS, NpmBuild, offline_page


def _tarball(member: str, script: str) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        data = script.encode()
        info = tarfile.TarInfo(member)
        info.size = len(data)
        archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


SCRIPTS = {  # our own stand-ins for the three builds
    "vega": "window.vega = {version: '5'};",
    "vega-lite": "window.vegaLite = {s: '</script>'};",
    "vega-embed": "window.vegaEmbed = function () { return 1; };",
}


@pytest.fixture
def pinned(tmp_path):
    """Fixture tarballs served by a recording download, and builds pinned to their sha256."""
    served = {}
    builds = []
    for name, script in SCRIPTS.items():
        data = _tarball(f"package/build/{name}.min.js", script)
        build = NpmBuild(name, "1.0.0", hashlib.sha256(data).hexdigest(), f"package/build/{name}.min.js")
        served[build.url] = data
        builds.append(build)
    asked = []

    def download(url: str) -> bytes:
        asked.append(url)
        return served[url]

    return tuple(builds), download, asked


def test_the_page_inlines_each_build_once_in_order_and_keeps_dvcs_slots(tmp_path, pinned):
    builds, download, asked = pinned
    page = offline_page(builds, tmp_path / "npm", download)
    assert asked == [
        "https://registry.npmjs.org/vega/-/vega-1.0.0.tgz",
        "https://registry.npmjs.org/vega-lite/-/vega-lite-1.0.0.tgz",
        "https://registry.npmjs.org/vega-embed/-/vega-embed-1.0.0.tgz",
    ]
    inlined = re.findall(r"<script>(.*?)</script>", page, flags=re.S)
    assert inlined == [
        "window.vega = {version: '5'};",
        "window.vegaLite = {s: '<\\/script>'};",  # a closing tag inside the JS would end the element
        "window.vegaEmbed = function () { return 1; };",
    ]
    assert "{plot_divs}" in page and "{refresh_tag}" in page and "{scripts}" not in page
    assert "src=" not in page
    # cached: a second page needs no download
    assert offline_page(builds, tmp_path / "npm", lambda url: pytest.fail(f"downloaded {url}")) == page


def test_dvc_render_fills_the_page_without_any_cdn_script(tmp_path, pinned):
    from dvc_render import render_html
    from dvc_render.vega import VegaRenderer

    builds, download, _ = pinned
    template = tmp_path / "offline.html"
    template.write_text(offline_page(builds, tmp_path / "npm", download))
    renderer = VegaRenderer([{"step": 0, "loss": 1.0}, {"step": 1, "loss": 0.5}], "loss.tsv", x="step", y="loss")
    out = tmp_path / "show" / "index.html"
    render_html([renderer], out, html_template=template)
    html = out.read_text()
    assert "cdn.jsdelivr" not in html and "<script src" not in html
    assert html.count("window.vegaEmbed = function") == 1
    assert html.count('<div id = "loss_tsv">') == 1  # the plot, filled into {plot_divs}


def test_pins_are_the_builds_dvc_render_asks_its_cdn_for():
    from dvc_render.vega import VegaRenderer

    cdn = re.findall(r"npm/([a-z-]+)@([0-9.]+)", VegaRenderer.SCRIPTS)
    assert cdn == [(b.name, b.version) for b in VEGA_BUILDS] == [
        ("vega", "5.20.2"), ("vega-lite", "5.2.0"), ("vega-embed", "6.18.2"),
    ]
    assert all(re.fullmatch(r"[0-9a-f]{64}", b.sha256) for b in VEGA_BUILDS)


def test_a_build_without_its_file_or_with_a_dvc_slot_is_refused(tmp_path):
    for member, script, message in (
        ("package/other.js", "x", r"^vega@1: no package/build/vega.min.js in its tarball"),
        ("package/build/vega.min.js", "s = '{plot_divs}'", r"^vega@1: its build contains DVC's placeholder \{plot_divs\}$"),
    ):
        data = _tarball(member, script)
        build = NpmBuild("vega", "1", hashlib.sha256(data).hexdigest(), "package/build/vega.min.js")
        with pytest.raises(CoinError, match=message):
            offline_page((build,), tmp_path / member.replace("/", "_"), lambda url: data)


def test_command_with_a_corrupt_cached_tarball_is_one_line_and_writes_nothing(tmp_path):
    cache = tmp_path / "npm"
    cache.mkdir()
    (cache / "vega-5.20.2.tgz").write_bytes(b"not the pinned tarball")
    out = tmp_path / "plots" / "offline.html"
    done = subprocess.run(
        [sys.executable, "-m", "pipeline", "offline-plots", "--out", str(out), "--cache", str(cache)],
        capture_output=True, text=True, cwd=Path(__file__).resolve().parents[1],
    )
    assert done.returncode == 2
    digest = hashlib.sha256(b"not the pinned tarball").hexdigest()
    assert done.stderr == (
        f"error: {cache / 'vega-5.20.2.tgz'} (delete it to download again): sha256 {digest} does not match the "
        f"pinned {VEGA_BUILDS[0].sha256}\n"
    )
    assert not out.exists()
