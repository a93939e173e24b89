"""The public consultation page: one self-contained folder a city can put online or on a USB stick.

:func:`write_public_page` keeps only what may be shown to the public
(:func:`cimkit.viz.public_model`: the water, sewer and power networks and the owners' names are
withheld unless allowed with a reason, each allowance written to the audit log), writes the public
buildings as 3D Tiles (:func:`cimkit.io.tiles3d.write_3dtiles`), copies the offline three.js
viewer beside them, and writes ``index.html``: the 3D view (keyboard navigable), the flood,
carbon and accessibility results in plain French and English (read from the columns the analyses
joined to the buildings; "not available" when an analysis is absent), the table of data sources
(file, licence, sha256, date), and a "how to give your opinion" section the city configures.
Nothing is fetched from the network: the tileset is inlined so the page also opens from disk.

Folder written::

    index.html                 the page (French first; a button switches to English)
    tiles/tileset.json, *.glb  the public buildings (3D Tiles 1.1)
    terrain.glb                the ground (the DEM, decimated) in the tileset's frame, when the model has a DEM
    tileset-data.js            the same tiles in base64, so the page opens from file://
    cimkit-tileviewer.min.js   the viewer (three.js), THIRD_PARTY_LICENSES.txt its licences
    data/<part>.geojson        every published layer and network, in WGS 84
"""

from __future__ import annotations

import base64
import html
import json
import logging
import os
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from cimkit import _sensitivity as sens
from cimkit._atomic import write_bytes_atomic, write_text_atomic
from cimkit.audit import check_publication
from cimkit.errors import FileFormatError, InputError
from cimkit.model import CityModel
from cimkit.provenance import SourceFile
from cimkit.viz import _publish_text as txt
from cimkit.viz._figures import get_access_figures, get_carbon_figures
from cimkit.viz.model_report import _find_return_periods
from cimkit.viz.public import public_model
from cimkit.viz.tileviewer import BUNDLE, DATA_SCRIPT, LICENCES, _asset, _data_script

try:
    import tomllib
except ModuleNotFoundError:  # pragma: no cover - Python 3.10
    import tomli as tomllib  # type: ignore[no-redef]

__all__ = ["write_public_page", "CONSULTATION_KEYS"]

logger = logging.getLogger(__name__)

#: The keys of a consultation description (all optional; dates as ``YYYY-MM-DD`` text).
CONSULTATION_KEYS = ("start", "end", "address", "url", "email")
#: IFC attribute tables, never useful on the public page.
_IFC_TABLES = ("elements", "materials", "spaces")
#: The building attributes shown when a building is picked in the 3D view.
#: The terrain under the buildings (the DEM as one glTF mesh), beside index.html.
TERRAIN = "terrain.glb"
_TILE_COLUMNS = ["name", "use", "height_m", "storeys", "ead_eur", "embodied_kgco2e", "score_15min"]

_STYLE = """
  body { margin: 0; font: 16px/1.5 system-ui, sans-serif; color: #1f2328; background: #fff; }
  header, footer, main > section, main > div > section { padding: 0.5rem 1rem; }
  h1 { font-size: 1.5rem; margin: 0.25rem 0; }
  h2 { font-size: 1.25rem; margin: 1rem 0 0.25rem; }
  h3 { font-size: 1.0625rem; margin: 0.75rem 0 0.25rem; }
  a { color: #0550ae; }
  button { font: inherit; color: #fff; background: #0550ae; border: 0; border-radius: 4px;
           padding: 0.25rem 0.75rem; cursor: pointer; }
  button:focus-visible, a:focus-visible { outline: 3px solid #1f2328; outline-offset: 2px; }
  .view { display: flex; flex-wrap: wrap; gap: 1rem; }
  #scene { flex: 3 1 30rem; min-width: 0; height: 75vh; min-height: 20rem; display: block;
           border: 1px solid #57606a; }
  #scene:focus-visible { outline: 3px solid #0550ae; outline-offset: 2px; }
  .view aside { flex: 1 1 16rem; }
  dl { display: grid; grid-template-columns: minmax(0, 1fr) minmax(0, 1fr); gap: 0.125rem 0.75rem; margin: 0; }
  dt { font-weight: 600; overflow-wrap: anywhere; }
  dd { margin: 0; overflow-wrap: anywhere; }
  kbd { border: 1px solid #57606a; border-radius: 3px; padding: 0 0.25rem; font-size: 0.875em; }
  table { border-collapse: collapse; font-size: 0.875rem; }
  th, td { border: 1px solid #8c959f; padding: 0.125rem 0.5rem; text-align: left; vertical-align: top; }
  td:last-child { white-space: nowrap; }
  td.hash { font-family: ui-monospace, monospace; overflow-wrap: anywhere; max-width: 24rem; }
  [hidden] { display: none !important; }
"""

# Switches the language: shows the blocks of one language, updates <html lang> and the canvas label.
_SWITCH = """
document.querySelectorAll("button.lang-switch").forEach((button) => {
  button.addEventListener("click", () => {
    const lang = button.dataset.to;
    document.documentElement.lang = lang;
    document.querySelectorAll("[data-lang]").forEach((el) => { el.hidden = el.dataset.lang !== lang; });
    const scene = document.getElementById("scene");
    scene.setAttribute("aria-label", scene.dataset["label" + lang[0].toUpperCase() + lang.slice(1)]);
    scene.setAttribute("aria-describedby", "view-alt-" + lang);
    document.querySelector(`button.lang-switch[data-to="${lang === "fr" ? "en" : "fr"}"]`).focus();
  });
});
"""


def _read_consultation(consultation: Mapping[str, Any] | str | os.PathLike[str] | None) -> dict[str, str]:
    """Return the consultation description as text values, checked (InputError / FileFormatError PUB006)."""
    if consultation is None:
        return {}
    source: Any = consultation
    if not isinstance(consultation, Mapping):
        path = Path(consultation)
        try:
            source = tomllib.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as err:
            raise FileFormatError(
                f"the consultation file cannot be read: {err}",
                path=path,
                hint="give a TOML file with keys start, end, address, url, email (see docs/publish.md).",
                code="PUB006",
            ) from err
        source = source.get("consultation", source)
    unknown = sorted(set(source) - set(CONSULTATION_KEYS))
    if unknown:
        raise InputError(
            f"unknown consultation key(s): {', '.join(map(str, unknown))}",
            hint=f"use only {', '.join(CONSULTATION_KEYS)} in --consultation.",
            code="PUB006",
        )
    out = {key: str(value).strip() for key, value in source.items() if str(value).strip()}
    if "url" in out and not out["url"].startswith(("https://", "http://")):
        raise InputError(
            f"the consultation url {out['url']!r} is not an http(s) address",
            hint="write the full address, e.g. url = 'https://www.ville.fr/consultation'.",
            code="PUB006",
        )
    if "email" in out and ("@" not in out["email"] or any(c in out["email"] for c in " <>\"'")):
        raise InputError(
            f"the consultation email {out['email']!r} is not an email address",
            hint="write it as name@domain, e.g. email = 'urbanisme@ville.fr'.",
            code="PUB006",
        )
    return out


def _results(buildings: pd.DataFrame, lang: str) -> dict[str, list[str] | None]:
    """Plain sentences per analysis (None: the analysis is absent), numbers from joined columns."""
    n = len(buildings)
    out: dict[str, list[str] | None] = {"flood": None, "carbon": None, "access": None}
    periods = _find_return_periods(buildings)
    if "ead_eur" in buildings.columns and periods:
        flooded = [(float(rp), int((buildings[f"depth_m_rp{rp}"].fillna(0) > 0).sum())) for rp in periods]
        out["flood"] = txt.flood_text(lang, n, flooded, float(buildings["ead_eur"].fillna(0).sum()))
    carbon = get_carbon_figures(buildings)  # the same numbers as the report (cimkit.viz._figures)
    if carbon is not None:
        out["carbon"] = txt.carbon_text(lang, carbon)
    access = get_access_figures(buildings)
    if access is not None:
        out["access"] = txt.access_text(lang, access)
    return out


def _sources(public: CityModel, lang: str) -> str:
    """Return the data-sources table: one row per source file of each published part."""
    texts = txt.TEXTS[lang]
    parts = [*public.layers, *(f"network_{k}" for k in public.networks)]
    parts += ["dem"] if public.dem is not None else []
    rows = []
    for part in parts:
        record = public.provenance_record(part)
        files: list[SourceFile | None] = [*record.source_files] or [None]
        for item in files:
            cells = [
                part,
                Path(item.path).name if item is not None else texts["unknown"],
                record.licence or texts["unknown"],
                (item.sha256 if item is not None else None) or texts["unknown"],
                (record.created or "")[:10] or texts["unknown"],
            ]
            esc = [html.escape(str(c)) for c in cells]
            rows.append(
                f'<tr><th scope="row">{esc[0]}</th><td>{esc[1]}</td><td>{esc[2]}</td>'
                f'<td class="hash">{esc[3]}</td><td>{esc[4]}</td></tr>'
            )
    labels = [texts["layer"], texts["file"], texts["licence"], "sha256", texts["date"]]
    head = "".join(f'<th scope="col">{html.escape(label)}</th>' for label in labels)
    return (
        f"<table><caption>{html.escape(texts['sources_caption'])}</caption>"
        f"<thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"
    )


def _opinion(consultation: Mapping[str, str], lang: str) -> str:
    texts = txt.TEXTS[lang]
    if not consultation:
        return f"<p>{html.escape(texts['opinion_default'])}</p>"
    parts = []
    if "start" in consultation or "end" in consultation:
        dates = texts["dates"].format(start=consultation.get("start", "…"), end=consultation.get("end", "…"))
        parts.append(f"<p>{html.escape(dates)}</p>")
    if "address" in consultation:
        parts.append(f"<p>{html.escape(texts['address'].format(address=consultation['address']))}</p>")
    links = []
    if "url" in consultation:
        links.append(
            f'<li><a href="{html.escape(consultation["url"])}">{html.escape(texts["url"])}</a> '
            f"({html.escape(consultation['url'])})</li>"
        )
    if "email" in consultation:
        mail = html.escape(consultation["email"])
        links.append(f'<li><a href="mailto:{mail}">{html.escape(texts["email"])}</a> ({mail})</li>')
    if links:
        parts.append(f"<ul>{''.join(links)}</ul>")
    return "".join(parts)


def _block(lang: str, shown: bool, context: dict[str, Any]) -> tuple[str, str, str]:
    """Return the header, body and view texts of the page in one language (hidden unless ``shown``)."""
    texts = txt.TEXTS[lang]
    esc = {k: html.escape(v) for k, v in texts.items()}
    other = "en" if lang == "fr" else "fr"
    sections = []
    for key in ("flood", "carbon", "access"):
        sentences = context["results"][lang][key]
        body = "".join(f"<li>{s}</li>" for s in sentences) if sentences else f"<li>{esc['absent']}</li>"
        sections.append(
            f'<h3 id="{key}-{lang}">{esc[key]}</h3><ul class="result" data-analysis="{key}">{body}</ul>'
        )
    allowed = ""
    if context["allowed"]:
        allowed = " " + html.escape(texts["allowed"].format(parts=", ".join(context["allowed"])))
    downloads = "".join(
        f'<li><a href="data/{html.escape(name)}.geojson">{html.escape(name)}</a></li>'
        for name in context["data"]
    )
    hidden = "" if shown else " hidden"
    return (
        f"""<div data-lang="{lang}" lang="{lang}"{hidden}>
<header>
<h1>{esc["title"]}</h1>
<p>{esc["intro"]}</p>
<p><button type="button" class="lang-switch" data-to="{other}" lang="{other}">{esc["switch"]}</button></p>
</header>
</div>""",
        f"""<div data-lang="{lang}" lang="{lang}"{hidden}>
<section aria-labelledby="results-{lang}">
<h2 id="results-{lang}">{esc["results"]}</h2>
{"".join(sections)}
</section>
<section aria-labelledby="opinion-{lang}">
<h2 id="opinion-{lang}">{esc["opinion"]}</h2>
{_opinion(context["consultation"], lang)}
</section>
<section aria-labelledby="sources-{lang}">
<h2 id="sources-{lang}">{esc["sources"]}</h2>
<p>{esc["withheld"]}{allowed}</p>
{_sources(context["public"], lang)}
<h3 id="downloads-{lang}">{esc["downloads"]}</h3>
<ul>{downloads}</ul>
</section>
</div>""",
        f"""<div data-lang="{lang}" lang="{lang}"{hidden}>
<h2 id="view-{lang}">{esc["view"]}</h2>
<p id="view-alt-{lang}">{html.escape(texts["view_alt"].format(n=context["n"], ground=texts["ground"] if context.get("terrain") else ""))}</p>
<h3>{esc["help"]}</h3>
<ul>{texts["keys"]}</ul>
</div>""",
    )


def _page(langs: Sequence[str], context: dict[str, Any]) -> str:
    first = langs[0]
    blocks = [_block(lang, lang == first, context) for lang in langs]
    labels = " ".join(
        f'data-label-{lang}="{html.escape(txt.TEXTS[lang]["canvas"].format(n=context["n"]))}"'
        for lang in langs
    )
    texts = txt.TEXTS[first]
    terrain = f' data-terrain="{TERRAIN}"' if context.get("terrain") else ""
    return f"""<!DOCTYPE html>
<html lang="{first}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="cimkit">
<link rel="icon" href="data:,">
<title>{html.escape(texts["title"])}</title>
<style>{_STYLE}</style>
</head>
<body>
{"".join(b[0] for b in blocks)}
<main>
<section class="view-section" aria-labelledby="view-{first}">
{"".join(b[2] for b in blocks)}
<div class="view">
<canvas id="scene" tabindex="0" role="application" data-tileset="tiles/tileset.json"{terrain}
 aria-label="{html.escape(texts["canvas"].format(n=context["n"]))}" aria-describedby="view-alt-{first}" {labels}></canvas>
<aside aria-label="{html.escape(texts["picked"])}">
<p id="status" role="status">{html.escape(texts["loading"])}</p>
<div id="picked" aria-live="polite"><p>{html.escape(texts["none"])}</p></div>
</aside>
</div>
</section>
{"".join(b[1] for b in blocks)}
</main>
<noscript><p>{html.escape(texts["noscript"])}</p></noscript>
<script>{_SWITCH}</script>
<script src="{DATA_SCRIPT}"></script>
<script src="{BUNDLE}"></script>
</body>
</html>
"""


def _ground_under(buildings: Any, dem: Any) -> np.ndarray:
    """Return the lowest DEM value under each footprint's vertices and centre (NaN where none is valid)."""
    import shapely

    geoms = buildings.geometry.to_numpy()
    coords, which = shapely.get_coordinates(geoms, return_index=True)
    centres = shapely.get_coordinates(shapely.point_on_surface(geoms))
    coords = np.concatenate([coords, centres])
    which = np.concatenate([which, np.arange(len(geoms))])
    values = dem.sample(coords[:, 0], coords[:, 1])
    low = np.full(len(geoms), np.inf)
    ok = np.isfinite(values)
    np.minimum.at(low, which[ok], values[ok])
    return np.where(np.isfinite(low), low, np.nan)


def _tile_frame(buildings: Any, dem: Any = None) -> Any:
    """Return the buildings with the columns the 3D view shows (missing ones empty, as text or numbers).

    With a DEM, a building without a base elevation (a cadastre footprint, not an IFC model) is set
    on the lowest ground under its footprint, so that it stands on the terrain drawn under it.
    """
    frame = buildings.copy()
    if dem is not None:
        if "base_elevation_m" in frame.columns:
            base = pd.to_numeric(frame["base_elevation_m"], errors="coerce").astype(float)
        else:
            base = pd.Series(np.nan, index=frame.index)
        frame["base_elevation_m"] = base.fillna(pd.Series(_ground_under(frame, dem), index=frame.index))
    for column in _TILE_COLUMNS:
        if column not in frame.columns:
            frame[column] = None if column in ("name", "use") else float("nan")
        elif column in ("name", "use"):
            frame[column] = [None if pd.isna(v) else str(v) for v in frame[column]]
        else:
            frame[column] = pd.to_numeric(frame[column], errors="coerce").astype(float)
    return frame


def _inline_tiles(tileset: Path, terrain: Path | None = None) -> str:
    """Return the viewer's inline script for a tileset in ``tiles/`` (and the terrain) below the page.

    Keys are relative to the page.
    """
    prefix = "window.CIMKIT_TILESET_DATA = "
    data = json.loads(_data_script(tileset).strip()[len(prefix) : -1])
    keyed = {f"{tileset.parent.name}/{key}": value for key, value in data.items()}
    if terrain is not None:
        keyed[terrain.name] = base64.b64encode(terrain.read_bytes()).decode("ascii")
    return prefix + json.dumps(keyed, sort_keys=True) + ";\n"


def _write_data(public: CityModel, folder: Path) -> list[str]:
    """Write every published layer and network as GeoJSON in WGS 84; return their names."""
    data = folder / "data"
    data.mkdir(exist_ok=True)
    for old in data.glob("*.geojson"):
        old.unlink()  # a part withheld now must not survive from an earlier publication
    names = []
    parts: dict[str, Any] = dict(public.layers)
    parts.update({f"network_{kind}": net.edges for kind, net in public.networks.items()})
    for name, frame in parts.items():
        if frame.crs is None or len(frame) == 0:
            continue
        text = frame.to_crs(4326).to_json(default=str, drop_id=False)
        write_text_atomic(data / f"{name}.geojson", text)
        names.append(name)
    return names


def write_public_page(
    model: CityModel,
    folder: str | os.PathLike[str],
    *,
    allow: Mapping[str, str] | None = None,
    lang: Sequence[str] = txt.LANGUAGES,
    consultation: Mapping[str, Any] | str | os.PathLike[str] | None = None,
) -> Path:
    """Write the public consultation page of ``model`` into ``folder``; return ``index.html``.

    Only the public view of the model is written (:func:`cimkit.viz.public_model`, the IFC
    attribute tables left out): by default the water, sewer and power networks and the columns
    naming owners are withheld; a part named in ``allow`` is published and the allowance is
    written to the audit log (one ``"allow"`` and one ``"publish"`` entry). The results sentences
    read the columns the analyses joined to the buildings (``depth_m_rp*`` and ``ead_eur``,
    ``embodied_kgco2e``, ``score_15min``); an analysis without its columns is "not available".

    Parameters
    ----------
    model
        The city model; it needs a ``buildings`` layer.
    folder
        The folder to write (created; the files of an earlier publication are replaced).
    allow
        Part name -> reason: publish this layer or network although it is above public.
    lang
        The page's languages, the first shown first: ``("fr", "en")`` (default) or one of them.
    consultation
        How to give one's opinion: a mapping or a TOML file (optionally under a
        ``[consultation]`` table) with ``start``, ``end``, ``address``, ``url``, ``email``; by
        default a neutral sentence sends people to the town hall.

    Returns
    -------
    Path
        The path of ``index.html``.

    Raises
    ------
    InputError
        No buildings (PUB007), an unsupported language (ARG001), a bad consultation entry (PUB006).
    FileFormatError
        The consultation file cannot be read (PUB006).

    Examples
    --------
    >>> import tempfile, warnings
    >>> from cimkit.datasets import load_sample_city
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore")
    ...     model = load_sample_city(with_ifc=False)
    ...     page = write_public_page(model, tempfile.mkdtemp(), consultation={"email": "urba@ville.fr"})
    >>> sorted(p.name for p in page.parent.iterdir())
    ['THIRD_PARTY_LICENSES.txt', 'cimkit-tileviewer.min.js', 'data', 'index.html', 'terrain.glb', 'tiles', 'tileset-data.js']
    >>> (page.parent / "data" / "network_water.geojson").exists(), "urba@ville.fr" in page.read_text()
    (False, True)
    """
    from cimkit.io._tiles3d_terrain import build_terrain_glb
    from cimkit.io.tiles3d import write_3dtiles

    langs = [lang] if isinstance(lang, str) else list(lang)
    if not langs or any(code not in txt.TEXTS for code in langs):
        raise InputError(
            f"'lang' must hold languages among {', '.join(txt.LANGUAGES)}; {lang!r} was given.",
            hint="pass lang=('fr', 'en'), 'fr' or 'en'.",
            code="ARG001",
        )
    details = _read_consultation(consultation)
    if model.buildings is None or len(model.buildings) == 0:
        raise InputError(
            "the model has no buildings to publish",
            hint="add a buildings layer to the model (cimkit build, or model.add_layer('buildings', ...)).",
            code="PUB007",
        )
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    public = public_model(model, allow=allow, drop_layers=_IFC_TABLES)
    check_publication(public, output=os.fspath(out), allow=allow)
    buildings = public.buildings
    assert buildings is not None  # buildings are public: public_model kept them
    levels = sens.get_model_levels(model)
    allowed = sorted(
        part for part in levels if levels[part] != "public" and sens.match_allowance(allow, part)
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # geopandas notes on non-JSON column types
        names = _write_data(public, out)
    tileset = write_3dtiles(_tile_frame(buildings, public.dem), out / "tiles", attributes=_TILE_COLUMNS)
    terrain = None
    if public.dem is not None:  # the ground under the buildings, in the tileset's frame
        terrain = write_bytes_atomic(out / TERRAIN, build_terrain_glb(public.dem, tileset))
    elif (out / TERRAIN).exists():
        (out / TERRAIN).unlink()  # no DEM now: no ground from an earlier publication
    write_text_atomic(out / DATA_SCRIPT, _inline_tiles(tileset, terrain))
    context = {
        "n": len(buildings),
        "results": {code: _results(buildings, code) for code in langs},
        "public": public,
        "allowed": allowed,
        "data": names,
        "consultation": details,
        "terrain": terrain is not None,
    }
    write_bytes_atomic(out / BUNDLE, _asset(BUNDLE))
    write_bytes_atomic(out / LICENCES, _asset(LICENCES))
    path = write_text_atomic(out / "index.html", _page(langs, context))
    logger.info("wrote the public page %s (%d buildings, %d data files)", path, len(buildings), len(names))
    return path
