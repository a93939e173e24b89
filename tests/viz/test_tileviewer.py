"""The viewer page writer and the local http server (no browser: see tests/browser)."""

from __future__ import annotations

import base64
import json
import re
import socket
import urllib.error
import urllib.request
from html.parser import HTMLParser
from pathlib import Path

import pytest

from cimkit.errors import CimkitIOError, FileFormatError, InputError, ResourceLimitError
from cimkit.viz import tileviewer
from cimkit.viz.tileviewer import serve_folder, write_tileset_viewer
from tests.browser._synthetic import write_synthetic_tileset

REPO = Path(__file__).resolve().parents[2]
ASSETS = REPO / "cimkit" / "viz" / "assets"


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data):
        self.text.append(data)


def _parse(path: Path) -> _Tags:
    parser = _Tags()
    parser.feed(path.read_text(encoding="utf-8"))
    return parser


def _one(parser: _Tags, tag: str, **attrs: str) -> dict[str, str | None]:
    found = [a for t, a in parser.tags if t == tag and all(a.get(k) == v for k, v in attrs.items())]
    assert len(found) == 1, (tag, attrs, found)
    return found[0]


def test_page_is_semantic_and_accessible(tmp_path):
    write_synthetic_tileset(tmp_path)
    page = write_tileset_viewer(tmp_path, title="Villeneuve <3D>")
    assert page == tmp_path / "index.html"
    parser = _parse(page)
    assert _one(parser, "html")["lang"] == "fr"
    canvas = _one(parser, "canvas", id="scene")
    assert canvas["tabindex"] == "0" and canvas["data-tileset"] == "tileset.json"
    assert canvas["role"] == "application"  # screen readers pass the arrow keys to the view
    assert "flèches" in canvas["aria-label"]
    assert _one(parser, "section", id="picked")["aria-live"] == "polite"
    assert _one(parser, "p", id="status")["role"] == "status"
    assert [a["src"] for t, a in parser.tags if t == "script"] == ["cimkit-tileviewer.min.js"]
    text = " ".join(parser.text)
    assert "Villeneuve <3D>" in text  # escaped in the file, read back as text
    assert "<3D>" not in page.read_text(encoding="utf-8")
    assert "Utilisation" in text and "Entrée" in text
    # every reference of the page is a file of its own folder
    for _, attrs in parser.tags:
        for key in ("src", "href"):
            if attrs.get(key) and not attrs[key].startswith("data:"):
                assert (tmp_path / attrs[key]).is_file(), attrs[key]


def test_page_in_english_and_bundle_copied_with_its_licence(tmp_path):
    write_synthetic_tileset(tmp_path)
    page = write_tileset_viewer(tmp_path, lang="en")
    parser = _parse(page)
    assert _one(parser, "html")["lang"] == "en"
    assert "3D city model" in " ".join(parser.text)
    assert write_tileset_viewer(tmp_path / "tileset.json", lang="en") == page  # write_3dtiles' return
    bundle = tmp_path / tileviewer.BUNDLE
    assert bundle.read_bytes() == (ASSETS / tileviewer.BUNDLE).read_bytes()
    licences = (tmp_path / tileviewer.LICENCES).read_text(encoding="utf-8")
    assert "The MIT License" in licences and "three.js" in licences
    assert not (tmp_path / tileviewer.DATA_SCRIPT).exists()


def test_bundle_is_the_pinned_three_js_minified():
    lock = json.loads((REPO / "js" / "package-lock.json").read_text(encoding="utf-8"))
    three = lock["packages"]["node_modules/three"]["version"]
    head = (ASSETS / tileviewer.BUNDLE).read_text(encoding="utf-8")[:200]
    assert f"bundled with three.js {three} " in head
    text = (ASSETS / tileviewer.BUNDLE).read_text(encoding="utf-8")
    assert 400_000 < len(text.encode("utf-8")) < 750_000  # three.js minified, not unminified or twice
    assert text.startswith("/* cimkit tile viewer") and "\n(()=>{" in text[:300]  # one IIFE
    assert "cimkitViewer" in text and "EXT_structural_metadata" in text
    assert not re.search(r"https?://(?!threejs\.org|www\.w3\.org)[a-z0-9.-]+/[^\s\"']*\.(js|json|glb)", text)


def test_inline_copies_every_content_file(tmp_path):
    write_synthetic_tileset(tmp_path)
    write_tileset_viewer(tmp_path, inline=True)
    script = (tmp_path / tileviewer.DATA_SCRIPT).read_text(encoding="ascii")
    prefix = "window.CIMKIT_TILESET_DATA = "
    assert script.startswith(prefix)
    data = json.loads(script[len(prefix) :].rstrip().rstrip(";"))
    assert sorted(data) == ["tiles/0.glb", "tiles/1.glb", "tileset.json"]
    for name, encoded in data.items():
        assert base64.b64decode(encoded) == (tmp_path / name).read_bytes()
    scripts = [a["src"] for t, a in _parse(tmp_path / "index.html").tags if t == "script"]
    assert scripts == [tileviewer.DATA_SCRIPT, tileviewer.BUNDLE]


def test_inline_refuses_a_missing_content_and_a_large_tileset(tmp_path, monkeypatch):
    write_synthetic_tileset(tmp_path)
    monkeypatch.setattr(tileviewer, "INLINE_LIMIT_BYTES", 1000)
    with pytest.raises(ResourceLimitError) as err:
        write_tileset_viewer(tmp_path, inline=True)
    assert err.value.code == "VWR002" and "http.server" in err.value.hint
    assert not (tmp_path / "index.html").exists()
    monkeypatch.undo()
    (tmp_path / "tiles" / "1.glb").unlink()
    with pytest.raises(FileFormatError) as err:
        write_tileset_viewer(tmp_path, inline=True)
    assert err.value.code == "VWR005" and "tiles/1.glb" in str(err.value)


def test_refuses_a_folder_without_tileset_and_an_unknown_language(tmp_path):
    with pytest.raises(InputError) as err:
        write_tileset_viewer(tmp_path)
    assert err.value.code == "VWR001" and err.value.path == str(tmp_path)
    write_synthetic_tileset(tmp_path)
    with pytest.raises(InputError) as err:
        write_tileset_viewer(tmp_path, lang="de")  # type: ignore[arg-type]
    assert err.value.code == "ARG001" and "'de'" in str(err.value)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["tiles", "tileset.json"]


def test_serve_folder_serves_the_files_on_localhost_only(tmp_path):
    write_synthetic_tileset(tmp_path)
    with serve_folder(tmp_path) as url:
        assert url.startswith("http://127.0.0.1:") and url.endswith("/")
        with urllib.request.urlopen(url + "tiles/0.glb") as response:
            assert response.headers["Content-Type"] == "model/gltf-binary"
            assert response.read() == (tmp_path / "tiles" / "0.glb").read_bytes()
        with urllib.request.urlopen(url + "tileset.json") as response:
            assert json.load(response)["asset"]["version"] == "1.1"
        with pytest.raises(urllib.error.HTTPError) as err:
            urllib.request.urlopen(url + "../etc/passwd")
        assert err.value.code == 404
        port = int(url.rsplit(":", 1)[1].strip("/"))
    with socket.socket() as probe:  # the server is closed after the block
        assert probe.connect_ex(("127.0.0.1", port)) != 0


def test_serve_folder_errors(tmp_path):
    with pytest.raises(CimkitIOError) as err:
        with serve_folder(tmp_path / "missing"):
            pass
    assert err.value.code == "VWR003"
    with serve_folder(tmp_path) as url:
        port = int(url.rsplit(":", 1)[1].strip("/"))
        with pytest.raises(CimkitIOError) as err:
            with serve_folder(tmp_path, port=port):
                pass
        assert err.value.code == "VWR003" and str(port) in str(err.value)


def test_the_bundle_ships_in_the_wheel():
    tomllib = pytest.importorskip("tomllib")  # Python >= 3.11

    meta = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    patterns = meta["tool"]["setuptools"]["package-data"]["cimkit"]
    shipped = {
        p.relative_to(REPO / "cimkit").as_posix()
        for pattern in patterns
        for p in (REPO / "cimkit").glob(pattern)
    }
    assert {f"viz/assets/{tileviewer.BUNDLE}", f"viz/assets/{tileviewer.LICENCES}"} <= shipped
