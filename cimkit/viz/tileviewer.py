"""An offline web viewer for a 3D Tiles 1.1 tileset: one HTML page and one bundled script.

:func:`write_tileset_viewer` writes ``index.html`` next to a ``tileset.json`` (as written by
:func:`cimkit.io.tiles3d.write_3dtiles`) and copies the viewer script
``cimkit-tileviewer.min.js`` (three.js with its glTF loader and orbit controls, bundled and
minified; its licence in ``THIRD_PARTY_LICENSES.txt``) beside it. Nothing is fetched from the
internet: the page only reads files of its own folder, so it works on an intranet or offline.

The viewer loads every tile content, places it with the tile transforms in the root tile's
local east-north-up frame, and shows the attributes of the building picked with the mouse, or
selected with the keyboard (``N`` / ``P`` or ``Enter`` cycle through the buildings, the arrow
keys orbit, ``+`` / ``-`` zoom), in a panel read out by screen readers (``aria-live``).

Browsers refuse to read files with ``fetch`` from a page opened as ``file://``: serve the folder
over http (:func:`serve_folder` from Python, or ``python -m http.server -d FOLDER`` from a
shell, then open http://localhost:8000/), or write the page with ``inline=True``, which copies
the tileset into a script beside the page so it also opens from disk.
"""

from __future__ import annotations

import base64
import contextlib
import functools
import html
import json
import logging
import os
import threading
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from pathlib import Path
from typing import Any, Literal

from cimkit._atomic import write_bytes_atomic, write_text_atomic
from cimkit.errors import CimkitIOError, FileFormatError, InputError, ResourceLimitError

__all__ = ["write_tileset_viewer", "serve_folder"]

logger = logging.getLogger(__name__)

BUNDLE = "cimkit-tileviewer.min.js"
LICENCES = "THIRD_PARTY_LICENSES.txt"
DATA_SCRIPT = "tileset-data.js"
#: Above this total size the tileset is not inlined into the page (bytes, before base64).
INLINE_LIMIT_BYTES = 64 * 2**20

_TEXTS: dict[str, dict[str, str]] = {
    "fr": {
        "title": "Maquette 3D de la ville",
        "description": "Les bâtiments de la ville en 3D (3D Tiles). Choisissez un bâtiment pour lire "
        "son identifiant et ses attributs.",
        "canvas": "Vue 3D des bâtiments de la ville. Touches : flèches pour tourner, plus et moins "
        "pour zoomer, N ou Entrée pour le bâtiment suivant, P pour le précédent.",
        "picked": "Bâtiment sélectionné",
        "none": "Aucun bâtiment sélectionné.",
        "loading": "Chargement de la maquette…",
        "help": "Utilisation",
        "keys": "<li>Souris : faire glisser pour tourner, molette pour zoomer, cliquer sur un "
        "bâtiment pour le sélectionner.</li>"
        "<li>Clavier : Tab pour atteindre la vue 3D, puis <kbd>←</kbd> <kbd>→</kbd> <kbd>↑</kbd> "
        "<kbd>↓</kbd> pour tourner, <kbd>+</kbd> et <kbd>-</kbd> pour zoomer, <kbd>N</kbd> ou "
        "<kbd>Entrée</kbd> pour le bâtiment suivant, <kbd>P</kbd> ou <kbd>Maj</kbd>+<kbd>Entrée</kbd> "
        "pour le précédent, <kbd>Échap</kbd> pour désélectionner, <kbd>Origine</kbd> pour revenir "
        "à la vue de départ.</li>",
        "noscript": "Cette vue 3D a besoin de JavaScript et de WebGL.",
    },
    "en": {
        "title": "3D city model",
        "description": "The buildings of the city in 3D (3D Tiles). Choose a building to read its "
        "identifier and attributes.",
        "canvas": "3D view of the city's buildings. Keys: arrows to orbit, plus and minus to zoom, "
        "N or Enter for the next building, P for the previous one.",
        "picked": "Selected building",
        "none": "No building selected.",
        "loading": "Loading the city model…",
        "help": "How to use",
        "keys": "<li>Mouse: drag to orbit, wheel to zoom, click a building to select it.</li>"
        "<li>Keyboard: Tab to reach the 3D view, then <kbd>←</kbd> <kbd>→</kbd> <kbd>↑</kbd> "
        "<kbd>↓</kbd> to orbit, <kbd>+</kbd> and <kbd>-</kbd> to zoom, <kbd>N</kbd> or "
        "<kbd>Enter</kbd> for the next building, <kbd>P</kbd> or <kbd>Shift</kbd>+<kbd>Enter</kbd> "
        "for the previous one, <kbd>Esc</kbd> to clear the selection, <kbd>Home</kbd> to return to "
        "the first view.</li>",
        "noscript": "This 3D view needs JavaScript and WebGL.",
    },
}

_PAGE = """<!DOCTYPE html>
<html lang="{lang}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="cimkit">
<link rel="icon" href="data:,">
<title>{title}</title>
<style>
  body {{ margin: 0; font: 16px/1.5 system-ui, sans-serif; color: #1f2328; background: #fff; }}
  header, footer {{ padding: 0.5rem 1rem; }}
  h1 {{ font-size: 1.5rem; margin: 0.25rem 0; }}
  h2 {{ font-size: 1.125rem; margin: 0.25rem 0; }}
  main {{ display: flex; flex-wrap: wrap; gap: 1rem; padding: 0 1rem 1rem; }}
  #scene {{ flex: 3 1 30rem; min-width: 0; height: 70vh; min-height: 20rem; display: block;
           border: 1px solid #57606a; }}
  #scene:focus-visible {{ outline: 3px solid #0550ae; outline-offset: 2px; }}
  aside {{ flex: 1 1 16rem; }}
  dl {{ display: grid; grid-template-columns: minmax(0, 1fr) minmax(0, 1fr); gap: 0.125rem 0.75rem; margin: 0; }}
  dt {{ font-weight: 600; overflow-wrap: anywhere; }}
  dd {{ margin: 0; overflow-wrap: anywhere; }}
  kbd {{ border: 1px solid #57606a; border-radius: 3px; padding: 0 0.25rem; font-size: 0.875em; }}
</style>
</head>
<body>
<header>
<h1>{title}</h1>
<p>{description}</p>
</header>
<main>
<canvas id="scene" tabindex="0" role="application" aria-label="{canvas}" aria-describedby="help"
 data-tileset="{tileset}"></canvas>
<aside>
<p id="status" role="status">{loading}</p>
<section id="picked" aria-live="polite" aria-label="{picked}"><p>{none}</p></section>
<section id="help">
<h2>{help}</h2>
<ul>{keys}</ul>
</section>
</aside>
</main>
<noscript><p>{noscript}</p></noscript>
{data_script}<script src="{bundle}"></script>
</body>
</html>
"""


def _asset(name: str) -> bytes:
    """Return the bytes of a file of ``cimkit/viz/assets`` (shipped with the package)."""
    try:
        return resources.files("cimkit.viz").joinpath("assets").joinpath(name).read_bytes()
    except OSError as err:
        raise CimkitIOError(
            f"the viewer file {name} is missing from the cimkit installation",
            path=name,
            hint="reinstall cimkit, or rebuild the viewer with `make js` in a source checkout.",
            code="VWR004",
        ) from err


def _content_files(tileset: Path) -> list[Path]:
    """Return tileset.json and every file its tile tree refers to (external tilesets followed)."""
    folder = tileset.parent
    found: list[Path] = []
    pending = [tileset]
    while pending:
        current = pending.pop()
        if current in found:
            continue
        found.append(current)
        if current.suffix.lower() != ".json":
            continue
        try:
            doc = json.loads(current.read_text(encoding="utf-8"))
        except (OSError, ValueError) as err:
            raise FileFormatError(
                f"the tileset cannot be read: {err}",
                path=current,
                hint="write the tileset again with write_3dtiles.",
                code="VWR005",
            ) from err
        tiles = [doc.get("root", {})]
        while tiles:
            tile = tiles.pop()
            contents = tile.get("contents") or ([tile["content"]] if "content" in tile else [])
            for content in contents:
                target = (current.parent / str(content.get("uri", content.get("url", "")))).resolve()
                if not target.is_relative_to(folder.resolve()) or not target.is_file():
                    raise FileFormatError(
                        f"the tile content {content.get('uri')!r} is not a file inside {folder}",
                        path=current,
                        hint="write the tileset again with write_3dtiles; the viewer only reads "
                        "files of the tileset's own folder.",
                        code="VWR005",
                    )
                pending.append(target)
            tiles.extend(tile.get("children", []))
    return found


def _data_script(tileset: Path) -> str:
    """Return the JavaScript holding the tileset files in base64, keyed by relative path."""
    files = _content_files(tileset)
    total = sum(path.stat().st_size for path in files)
    if total > INLINE_LIMIT_BYTES:
        raise ResourceLimitError(
            f"the tileset holds {total / 2**20:.0f} MB, more than the "
            f"{INLINE_LIMIT_BYTES / 2**20:.0f} MB a page can inline",
            path=tileset,
            hint="write the page without inlining and serve the folder over http "
            "(`python -m http.server -d FOLDER`).",
            code="VWR002",
        )
    root = tileset.parent.resolve()
    data = {
        path.resolve().relative_to(root).as_posix(): base64.b64encode(path.read_bytes()).decode("ascii")
        for path in files
    }
    return "window.CIMKIT_TILESET_DATA = " + json.dumps(data, sort_keys=True) + ";\n"


def write_tileset_viewer(
    folder: str | os.PathLike[str],
    *,
    title: str | None = None,
    lang: Literal["fr", "en"] = "fr",
    inline: bool = False,
) -> Path:
    """Write an offline 3D viewer page (``index.html``) beside the ``tileset.json`` of ``folder``.

    The page loads the tileset with the bundled three.js viewer, draws the buildings, and shows
    the ``id`` (the IFC GlobalId or the source id) and attributes of the building picked with
    the mouse or the keyboard. The viewer script and its licence file are copied beside the
    page; every file is written atomically.

    Parameters
    ----------
    folder
        The folder holding ``tileset.json`` (the folder given to
        :func:`cimkit.io.tiles3d.write_3dtiles`, or the ``tileset.json`` path it returns).
        The page is written there.
    title
        The page heading and title; by default "Maquette 3D de la ville" (``lang="fr"``) or
        "3D city model" (``lang="en"``).
    lang
        The language of the page's text: ``"fr"`` or ``"en"``.
    inline
        Also copy the tileset (tileset.json and its GLB files, in base64) into
        ``tileset-data.js`` so the page opens from disk (``file://``) without a web server.
        Refused above 64 MB.

    Returns
    -------
    Path
        The path of ``index.html``.

    Raises
    ------
    InputError
        ``folder`` holds no ``tileset.json`` (VWR001), or ``lang`` is not supported (ARG001).
    FileFormatError
        With ``inline=True``: the tileset cannot be read or refers to a missing file (VWR005).
    ResourceLimitError
        With ``inline=True``: the tileset is larger than 64 MB (VWR002).

    Examples
    --------
    >>> import json, tempfile
    >>> folder = Path(tempfile.mkdtemp())
    >>> tileset = {"asset": {"version": "1.1"}, "geometricError": 0,
    ...            "root": {"boundingVolume": {"box": [0] * 3 + [1, 0, 0, 0, 1, 0, 0, 0, 1]},
    ...                     "geometricError": 0}}
    >>> _ = (folder / "tileset.json").write_text(json.dumps(tileset))
    >>> page = write_tileset_viewer(folder, title="Ma ville")
    >>> sorted(p.name for p in folder.iterdir())
    ['THIRD_PARTY_LICENSES.txt', 'cimkit-tileviewer.min.js', 'index.html', 'tileset.json']
    >>> '<h1>Ma ville</h1>' in page.read_text(encoding="utf-8")
    True
    """
    if lang not in _TEXTS:
        raise InputError(
            f"'lang' must be one of {', '.join(_TEXTS)}; {lang!r} was given.",
            hint=f"pass lang={next(iter(_TEXTS))!r} or another supported language.",
            code="ARG001",
        )
    folder = Path(folder)
    if folder.name == "tileset.json" and folder.is_file():
        folder = folder.parent  # the path write_3dtiles returns
    tileset = folder / "tileset.json"
    if not tileset.is_file():
        raise InputError(
            "the folder holds no tileset.json",
            path=folder,
            hint="write the 3D Tiles into this folder first (write_3dtiles, or `cimkit convert` "
            "with the 3D Tiles output format), then write the viewer there.",
            code="VWR001",
        )
    texts: dict[str, Any] = {key: html.escape(value, quote=True) for key, value in _TEXTS[lang].items()}
    texts["keys"] = _TEXTS[lang]["keys"]  # trusted markup of this module
    texts["title"] = html.escape(title if title is not None else _TEXTS[lang]["title"], quote=True)
    data_script = ""
    if inline:
        write_text_atomic(folder / DATA_SCRIPT, _data_script(tileset))
        data_script = f'<script src="{DATA_SCRIPT}"></script>\n'
    page = _PAGE.format(lang=lang, tileset="tileset.json", bundle=BUNDLE, data_script=data_script, **texts)
    write_bytes_atomic(folder / BUNDLE, _asset(BUNDLE))
    write_bytes_atomic(folder / LICENCES, _asset(LICENCES))
    path = write_text_atomic(folder / "index.html", page)
    logger.info("wrote the 3D Tiles viewer %s", path)
    return path


class _QuietHandler(SimpleHTTPRequestHandler):
    """Serves a folder; logs requests at debug level instead of printing them."""

    extensions_map = {
        **SimpleHTTPRequestHandler.extensions_map,
        ".glb": "model/gltf-binary",
        ".gltf": "model/gltf+json",
        ".js": "text/javascript",
        ".json": "application/json",
    }

    def log_message(self, format: str, *args: Any) -> None:
        logger.debug("serve_folder: " + format, *args)


@contextlib.contextmanager
def serve_folder(folder: str | os.PathLike[str], *, port: int = 0) -> Iterator[str]:
    """Serve ``folder`` over http on localhost in a background thread, for as long as the block runs.

    Browsers do not let a page opened from disk read its tileset; this small server (Python's
    ``http.server``, bound to 127.0.0.1 only) makes a viewer written by
    :func:`write_tileset_viewer` work. From a shell, ``python -m http.server -d FOLDER`` does
    the same.

    Parameters
    ----------
    folder
        The folder to serve (read-only: the server only answers GET and HEAD requests).
    port
        The TCP port; ``0`` picks a free one.

    Yields
    ------
    str
        The base URL of the folder, ``http://127.0.0.1:<port>/``.

    Raises
    ------
    CimkitIOError
        The folder does not exist or the port cannot be opened (VWR003).

    Examples
    --------
    >>> import tempfile, urllib.request
    >>> folder = Path(tempfile.mkdtemp())
    >>> _ = (folder / "hello.txt").write_text("bonjour")
    >>> with serve_folder(folder) as url:
    ...     urllib.request.urlopen(url + "hello.txt").read()
    b'bonjour'
    """
    root = Path(folder)
    if not root.is_dir():
        raise CimkitIOError(
            "the folder to serve does not exist",
            path=root,
            hint="give the folder the viewer was written to.",
            code="VWR003",
        )
    handler = functools.partial(_QuietHandler, directory=os.fspath(root))
    try:
        server = ThreadingHTTPServer(("127.0.0.1", port), handler)
    except OSError as err:
        raise CimkitIOError(
            f"cannot serve on 127.0.0.1:{port}: {err.strerror or err}",
            path=root,
            hint="choose another port, or 0 to take a free one.",
            code="VWR003",
        ) from err
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, name="cimkit-serve-folder", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
