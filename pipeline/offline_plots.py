"""`offline-plots`: an HTML template for `dvc plots show` that works without internet.

DVC's own page loads vega, vega-lite and vega-embed from a CDN (its `{scripts}` slot), so offline only
the PNG figures show. This command takes the same three builds from the npm registry, pinned by
version and sha256 (each tarball's sha512 matched the registry's `integrity` when it was pinned), and
writes a page with them inlined and no `{scripts}` slot. `make setup` runs it and points DVC at it (`dvc config --local plots.html_template`).
"""

from __future__ import annotations

import io
import tarfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import typer

from coin.errors import CoinError
from coin.io import http_get, read_pinned, write_text
from pipeline.app import app, stage

REGISTRY = "https://registry.npmjs.org"


@dataclass(frozen=True)
class NpmBuild:
    """One browser build inside a pinned npm tarball."""

    name: str
    version: str
    sha256: str  # of the tarball
    member: str  # the file inside the tarball

    @property
    def url(self) -> str:
        return f"{REGISTRY}/{self.name}/-/{self.name}-{self.version}.tgz"


# the versions dvc-render's own page asks the CDN for (dvc_render/vega.py)
VEGA_BUILDS = (
    NpmBuild("vega", "5.20.2", "d77deab01d6104b1239228720721f93003e60797d2faced7ffdd759fa70f989d", "package/build/vega.min.js"),
    NpmBuild("vega-lite", "5.2.0", "f64ca4745f043447ac86b67dc9e9592ec2b85ac8b8dafc35faf970f142463e4b", "package/build/vega-lite.min.js"),
    NpmBuild("vega-embed", "6.18.2", "93aeee312e92077b0252ef026c0fe0ec8fa430c19825aeada6cd3a6804e68e1b", "package/build/vega-embed.min.js"),
)

# DVC fills {plot_divs} (and {refresh_tag} for live pages); without {scripts} it adds no CDN links
PAGE = """<!DOCTYPE html>
<html>
<head>
    {refresh_tag}
    <meta charset="utf-8">
    <title>COIN-DVC plots</title>
%s
    <style>
        body { font-family: sans-serif; }
        table { border-spacing: 15px; }
    </style>
</head>
<body>
    {plot_divs}
</body>
</html>
"""


def script_of(build: NpmBuild, data: bytes) -> str:
    """The build's JavaScript from its tarball, safe inside an HTML <script> element."""
    try:
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as archive:
            text = archive.extractfile(archive.getmember(build.member)).read().decode("utf-8")
    except (KeyError, tarfile.TarError) as exc:
        raise CoinError(f"{build.name}@{build.version}: no {build.member} in its tarball ({exc})") from None
    for slot in ("{plot_divs}", "{refresh_tag}", "{scripts}"):
        if slot in text:  # DVC replaces these anywhere in the page
            raise CoinError(f"{build.name}@{build.version}: its build contains DVC's placeholder {slot}")
    return text.replace("</script", "<\\/script")  # only inside JS strings and regexes, where it is equal


def offline_page(builds: tuple[NpmBuild, ...], cache: Path, download: Callable[[str], bytes] = http_get) -> str:
    """The template text: PAGE with each build inlined, in order (vega, vega-lite, vega-embed). The
    tarballs are downloaded once into `cache` and checked against their sha256 on every read."""
    hint = "offline plots need the npm registry once (make setup)"
    scripts = []
    for b in builds:
        data = read_pinned(b.url, b.sha256, cache / f"{b.name}-{b.version}.tgz", download, hint)
        scripts.append(f"    <!-- {b.name}@{b.version}, from npm -->\n    <script>{script_of(b, data)}</script>")
    return PAGE % "\n".join(scripts)


@app.command("offline-plots")
@stage
def offline_plots_command(
    out: Path = typer.Option(Path(".dvc/plots/offline.html"), help="Template to write."),
    cache: Path = typer.Option(Path(".venv/share/npm"), help="Where the pinned tarballs are kept."),
) -> None:
    """Write the offline `dvc plots show` template (vega, vega-lite, vega-embed inlined)."""
    write_text(offline_page(VEGA_BUILDS, cache), out)
    typer.echo(f"{out}: " + ", ".join(f"{b.name}@{b.version}" for b in VEGA_BUILDS) + " inlined", err=True)
