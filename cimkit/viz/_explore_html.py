"""A standalone, offline HTML page of a lonboard map (helper of :mod:`cimkit.viz.explore`).

lonboard's own ``Map.to_html`` loads the Jupyter widget manager from a CDN, and lonboard's
JavaScript fetches ``parquet-wasm`` from a CDN to decode its Parquet-encoded tables. Neither works
without internet. This module writes a page that needs no network:

- the widget state of the map and its layers is embedded as JSON, with every Parquet buffer
  re-encoded in Python as an Arrow IPC stream (pyarrow);
- lonboard's ES module (shipped in its wheel) is embedded and loaded from a ``blob:`` URL, with
  its Parquet decoding step replaced by the Arrow IPC reader it already contains, so the
  WebAssembly module is never fetched;
- a small runtime gives the module the model interface it expects from anywidget
  (``get`` / ``set`` / ``on`` / ``off`` / ``widget_manager.get_model``);
- the legend and the layer toggles are plain HTML next to the map; a toggle sets the layer
  model's ``visible`` attribute, exactly as the ipywidgets checkbox does in a notebook.
"""

from __future__ import annotations

import base64
import html
import io
import json
import re
from pathlib import Path
from typing import Any

from cimkit.errors import CimkitError

# lonboard's Parquet reader: `function f(t){if(!ready)throw new Error("wasm not ready");
# console.time("readParquet");let e=readParquet(new Uint8Array(t.buffer),{...}).intoIPCStream(),
# r=tableFromIPC(e);` -> read the IPC stream directly.
_READ_PARQUET = re.compile(
    r'function (?P<fn>[\w$]+)\((?P<arg>[\w$]+)\)\{if\(![\w$]+\)throw new Error\("wasm not ready"\);'
    r'console\.time\("readParquet"\);let (?P<ipc>[\w$]+)=[\w$]+\(new Uint8Array\((?P=arg)\.buffer\),'
    r"\{batchSize:2\*\*31\}\)\.intoIPCStream\(\),"
)
# lonboard's wasm initialisation: `async function f(){ready||(await init(CDN_URL),ready=!0)}`
_INIT_WASM = re.compile(
    r"async function (?P<fn>[\w$]+)\(\)\{(?P<flag>[\w$]+)\|\|\(await [\w$]+\([\w$]+\),(?P=flag)=!0\)\}"
)

_MARK = "/* cimkit: tables arrive as Arrow IPC streams, parquet-wasm is not loaded */\n"


def patch_module(esm: str) -> str:
    """Return lonboard's ES module reading Arrow IPC buffers instead of Parquet (no wasm fetch)."""
    if esm.startswith(_MARK):
        return esm
    read = _READ_PARQUET.search(esm)
    init = _INIT_WASM.search(esm)
    if read is None or init is None:
        raise CimkitError(
            "this version of lonboard cannot be exported offline: its Parquet decoding step was "
            "not found in its JavaScript.",
            code="XPL002",
            hint="install the lonboard version cimkit supports: pip install 'cimkit[maps]'.",
        )
    arg, ipc = read["arg"], read["ipc"]
    esm = (
        esm[: read.start()]
        + f"function {read['fn']}({arg}){{"
        + f"let {ipc}=new Uint8Array({arg}.buffer,{arg}.byteOffset,{arg}.byteLength),"
        + esm[read.end() :]
    )
    init = _INIT_WASM.search(esm)
    assert init is not None
    return (
        _MARK
        + esm[: init.start()]
        + f"async function {init['fn']}(){{{init['flag']}=!0}}"
        + esm[init.end() :]
    )


def parquet_to_ipc(data: bytes) -> bytes:
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pq.read_table(io.BytesIO(data))
    sink = io.BytesIO()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        for batch in table.to_batches():
            writer.write_batch(batch)
    return sink.getvalue()


def collect_state(widget: Any) -> tuple[dict[str, Any], str, str]:
    """Return the embeddable state of ``widget`` and its children, its ES module and its CSS.

    Parquet buffers are converted to Arrow IPC streams; the large ``_esm`` / ``_css`` strings are
    taken out of the state (returned separately, so they appear once in the page).
    """
    from ipywidgets.embed import dependency_state

    state = dependency_state(widget, drop_defaults=False)
    esm = css = ""
    for entry in state.values():
        values = entry["state"]
        if "_esm" in values:
            esm, css = values.pop("_esm"), values.pop("_css", "")
        for buffer in entry.get("buffers", []):
            data = base64.b64decode(buffer["data"])
            if data[:4] == b"PAR1":
                buffer["data"] = base64.b64encode(parquet_to_ipc(data)).decode("ascii")
    return state, esm, css


_RUNTIME = r"""
const state = JSON.parse(document.getElementById("cimkit-state").textContent);
const models = {};
const manager = { get_model: async (id) => models[id] };
function decode(b64) {
  const raw = atob(b64); const bytes = new Uint8Array(raw.length);
  for (let i = 0; i < raw.length; i++) bytes[i] = raw.charCodeAt(i);
  return new DataView(bytes.buffer);
}
function put(obj, path, value) {
  for (let i = 0; i < path.length - 1; i++) obj = obj[path[i]];
  obj[path[path.length - 1]] = value;
}
class Model {
  constructor(id, values) { this.model_id = id; this.values = values; this.handlers = {}; this.widget_manager = manager; }
  get(key) { return this.values[key]; }
  set(key, value) { this.values[key] = value; this.emit("change:" + key, value); this.emit("change", value); }
  on(names, callback) { for (const n of names.split(" ")) (this.handlers[n] ||= []).push(callback); }
  off(names, callback) {
    if (!names) { this.handlers = {}; return; }
    for (const n of names.split(" ")) this.handlers[n] = callback ? (this.handlers[n] || []).filter((f) => f !== callback) : [];
  }
  emit(name, value) { for (const f of (this.handlers[name] || []).slice()) f(this, value); }
  save_changes() {}
  send() {}
}
for (const [id, entry] of Object.entries(state)) {
  for (const b of entry.buffers || []) put(entry.state, b.path, decode(b.data));
  models[id] = new Model(id, entry.state);
}
window.cimkitModels = models;
for (const box of document.querySelectorAll("input[data-layer]")) {
  box.addEventListener("change", () => models[box.dataset.layer].set("visible", box.checked));
}
const source = document.getElementById("cimkit-esm").textContent;
const esm = source.startsWith("base64:") ? atob(source.slice(7)) : source;
const url = URL.createObjectURL(new Blob([esm], { type: "text/javascript" }));
const widget = (await import(url)).default;
const api = typeof widget === "function" ? await widget() : widget;
const model = models[document.getElementById("cimkit-map").dataset.model];
if (api.initialize) await api.initialize({ model, experimental: {} });
await api.render({ model, el: document.getElementById("cimkit-map"), experimental: {} });
window.cimkitReady = true;
"""

_PAGE = """<!DOCTYPE html>
<html lang="{lang}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<style>{css}</style>
<style>
html, body {{ height: 100%; margin: 0; font-family: system-ui, sans-serif; }}
#cimkit-page {{ display: flex; height: 100%; }}
#cimkit-map {{ flex: 1; position: relative; height: 100%; }}
#cimkit-panel {{ width: 17rem; padding: 0.75rem; overflow-y: auto; border-left: 1px solid #ccc; }}
</style>
</head>
<body>
<div id="cimkit-page">
<main id="cimkit-map" data-model="{model_id}" aria-label="{title}"></main>
<aside id="cimkit-panel">
<h1 style="font-size:1.1rem">{title}</h1>
{legend}
<fieldset><legend>Layers</legend>{toggles}</fieldset>
</aside>
</div>
<script type="application/json" id="cimkit-state">{state}</script>
<script type="text/plain" id="cimkit-esm">{esm}</script>
<script type="module">{runtime}</script>
</body>
</html>
"""


def _script_safe(text: str) -> str:
    return text.replace("</", "<\\/")


def render_page(
    widget: Any,
    *,
    title: str,
    legend_html: str,
    toggles: list[tuple[str, str, bool]],
    lang: str = "en",
) -> str:
    """Return the page's HTML: ``toggles`` are (layer model id, label, visible) rows."""
    state, esm, css = collect_state(widget)
    esm = patch_module(esm)
    esm_text = esm if "</script" not in esm.lower() else "base64:" + base64.b64encode(esm.encode()).decode()
    rows = "".join(
        f'<div><label><input type="checkbox" data-layer="{html.escape(model_id)}"'
        f"{' checked' if visible else ''}> {html.escape(label)}</label></div>"
        for model_id, label, visible in toggles
    )
    return _PAGE.format(
        lang=lang,
        title=html.escape(title),
        css=css.replace("</", "<\\/"),
        model_id=widget.model_id,
        legend=legend_html,
        toggles=rows,
        state=_script_safe(json.dumps(state)),
        esm=esm_text,
        runtime=_RUNTIME,
    )


def write_page(path: Path, text: str) -> None:
    """Write the page atomically."""
    from cimkit._atomic import write_text_atomic

    write_text_atomic(path, text)
