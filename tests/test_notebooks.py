"""The notebooks run top to bottom in a real Jupyter kernel, and their saved outputs are current.

Each notebook of ``notebooks/`` is executed once per session with nbclient + ipykernel (a timeout
per cell; a failure names the cell and the error). Then:

- the key numbers the notebook prints (its cell tagged ``key-numbers``, one JSON line) equal the
  ones saved in the ``.ipynb``: the saved outputs are not stale (``make notebooks`` re-executes
  and saves them);
- a few of them equal what the library computes here, independently of the notebook;
- the saved notebooks stay light (pictures <= 150 kB each, the three < 3 MB).

Run as a script (``python tests/test_notebooks.py [NAME ...]``, ``make notebooks``) it executes
the notebooks and saves them with their outputs.
"""

from __future__ import annotations

import base64
import json
import sys
import time
import warnings
from pathlib import Path
from typing import Any

import pytest

# one xdist worker runs them all: each notebook is executed once per session and reused by its tests
pytestmark = pytest.mark.xdist_group("notebooks")

NOTEBOOK_DIR = Path(__file__).resolve().parents[1] / "notebooks"
NAMES = ("quickstart.ipynb", "planner_flood_accessibility.ipynb", "researcher_carbon_ifc.ipynb")
CELL_TIMEOUT_S = 240
KEY_TAG = "key-numbers"
MAX_PICTURE_BYTES = 150_000
MAX_TOTAL_BYTES = 3_000_000
# The output of a widget (a progress bar, an interactive map): a view of a model held by the kernel.
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"


class NotebookFailed(Exception):
    """A notebook cell raised; the message names the notebook, the cell and the error."""


def execute(path: Path, *, timeout_s: float = CELL_TIMEOUT_S) -> Any:
    """Execute the notebook at ``path`` in a fresh python3 kernel; return the executed notebook."""
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError, CellTimeoutError

    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(
        nb,
        timeout=int(timeout_s),
        kernel_name="python3",
        resources={"metadata": {"path": str(path.parent)}},
    )
    try:
        client.execute(env=_kernel_env())
    except (CellExecutionError, CellTimeoutError) as err:
        index, cell = _failed_cell(nb)
        first_line = str(err).strip().splitlines()[-1] if str(err).strip() else type(err).__name__
        if cell is not None:
            error = next(o for o in cell.outputs if o.output_type == "error")
            first_line = f"{error.ename}: {error.evalue}"
        raise NotebookFailed(f"{path.name}: cell {index} failed: {first_line}") from err
    return nb


def _kernel_env() -> dict[str, str]:
    """The kernel's environment: ours, plus VTK's EGL window when there is no display.

    Without a display VTK first tries X (a warning and a few seconds lost) before it falls back;
    EGL renders off screen directly when the library is there.
    """
    import ctypes.util
    import os

    env = dict(os.environ)
    if sys.platform.startswith("linux") and not env.get("DISPLAY") and ctypes.util.find_library("EGL"):
        env.setdefault("VTK_DEFAULT_OPENGL_WINDOW", "vtkEGLRenderWindow")
    return env


def _failed_cell(nb: Any) -> tuple[int | str, Any]:
    for i, cell in enumerate(nb.cells):
        if cell.cell_type == "code" and any(o.output_type == "error" for o in cell.get("outputs", [])):
            return i, cell
    # a timeout leaves no error output: the last cell that started is the one
    started = [i for i, c in enumerate(nb.cells) if c.cell_type == "code" and c.get("execution_count")]
    return (started[-1] + 1 if started else "?"), None


def tidy(nb: Any) -> Any:
    """Drop the execution timings and the widget outputs (progress bars, interactive maps).

    A closed progress bar leaves a view of nothing; an interactive map's saved state would carry
    its whole JavaScript bundle and data (megabytes per map): the maps are drawn when the
    notebook runs, the saved notebook keeps the static pictures.
    """
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        cell.metadata.pop("execution", None)
        cell.outputs = [o for o in cell.outputs if WIDGET_VIEW not in o.get("data", {})]
    nb.metadata.pop("widgets", None)
    return nb


def key_numbers(nb: Any) -> dict[str, Any]:
    """The JSON line printed by the cell tagged ``key-numbers``."""
    for cell in nb.cells:
        if KEY_TAG in cell.get("metadata", {}).get("tags", []):
            text = "".join(o.get("text", "") for o in cell.get("outputs", []) if o.output_type == "stream")
            lines = [line for line in text.splitlines() if line.startswith("{")]
            if not lines:
                raise AssertionError(f"the {KEY_TAG} cell printed no JSON line")
            return json.loads(lines[-1])
    raise AssertionError(f"no cell tagged {KEY_TAG!r}")


def pictures(nb: Any) -> list[tuple[int, int]]:
    """``(cell index, bytes)`` of every PNG / JPEG output."""
    found = []
    for i, cell in enumerate(nb.cells):
        for out in cell.get("outputs", []):
            for mime in ("image/png", "image/jpeg"):
                if mime in out.get("data", {}):
                    found.append((i, len(base64.b64decode(out["data"][mime]))))
    return found


_EXECUTED: dict[str, Any] = {}


@pytest.fixture(scope="module")
def executed():
    """Execute a notebook once per test module; later tests reuse it."""
    pytest.importorskip("nbclient")
    pytest.importorskip("ipykernel")

    def run(name: str) -> Any:
        if name not in _EXECUTED:
            try:
                _EXECUTED[name] = execute(NOTEBOOK_DIR / name)
            except NotebookFailed as err:
                _EXECUTED[name] = err
        got = _EXECUTED[name]
        if isinstance(got, NotebookFailed):
            pytest.fail(str(got))
        return got

    return run


def _saved(name: str) -> Any:
    import nbformat

    return nbformat.read(NOTEBOOK_DIR / name, as_version=4)


def test_the_three_notebooks_are_there():
    assert sorted(p.name for p in NOTEBOOK_DIR.glob("*.ipynb")) == sorted(NAMES)


@pytest.mark.parametrize("name", NAMES)
def test_runs_and_saved_outputs_are_current(name, executed):
    nb = executed(name)
    errors = [
        i for i, c in enumerate(nb.cells) if any(o.output_type == "error" for o in c.get("outputs", []))
    ]
    assert errors == []
    fresh, saved = key_numbers(nb), key_numbers(_saved(name))
    assert fresh == saved, f"{name}: saved outputs are stale; run `make notebooks` ({fresh} != {saved})"
    # every code cell of the saved notebook was executed, in order
    counts = [c.get("execution_count") for c in _saved(name).cells if c.cell_type == "code"]
    assert counts == list(range(1, len(counts) + 1)), f"{name}: saved without outputs or out of order"


def test_saved_notebooks_are_light():
    total = 0
    for name in NAMES:
        path = NOTEBOOK_DIR / name
        total += path.stat().st_size
        for cell, size in pictures(_saved(name)):
            assert size <= MAX_PICTURE_BYTES, f"{name}: cell {cell} holds a {size / 1000:.0f} kB picture"
        assert pictures(_saved(name)), f"{name}: no figure saved"
    assert total < MAX_TOTAL_BYTES


def test_planner_numbers_match_the_library(executed):
    from cimkit.analysis import accessibility, flood
    from cimkit.datasets import load_sample_city, load_sample_flood_scenarios

    got = key_numbers(executed("planner_flood_accessibility.ipynb"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = load_sample_city(with_ifc=False)
        risk = flood.assess(model, load_sample_flood_scenarios(), inflow=model["river"])
        worst = accessibility.assess(model, closed_network=risk.networks[1000.0])
    homes = model.buildings["use"] == "residential"
    assert got["buildings"] == len(model.buildings) == 43
    assert got["homes"] == int(homes.sum())
    # depth > 0 over the footprint, counted here from the per-building table
    for rp in (10, 100, 1000):
        assert got[f"flooded_buildings_rp{rp}"] == int((risk.buildings[f"depth_m_rp{rp}"] > 0).sum())
    assert (
        got["flooded_buildings_rp10"] == 0 < got["flooded_buildings_rp100"] < got["flooded_buildings_rp1000"]
    )
    assert got["ead_eur_BATI0036"] == pytest.approx(risk.buildings.loc["BATI0036", "ead_eur"], abs=0.01)
    assert got["ead_eur_town"] == pytest.approx(risk.buildings["ead_eur"].sum(), abs=0.01)
    assert got["homes_losing_score_rp1000"] == int((worst.loss.loc[homes, "score_loss"] > 0).sum()) > 0


def test_researcher_numbers_match_the_library(executed):
    from cimkit.analysis import carbon
    from cimkit.datasets import sample_city_path
    from cimkit.io.ifc import read_ifc_model

    got = key_numbers(executed("researcher_carbon_ifc.ipynb"))
    path = sample_city_path() / "buildings" / "maison_lilas_3.ifc"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        one = read_ifc_model(path, crs="EPSG:2154")
        result = carbon.compute_embodied_carbon(one.materials, buildings=one.buildings)
    (building_id,) = one.buildings.index
    assert got["lilas_3_building_id"] == building_id
    assert got["lilas_3_a1a3_kgco2e"] == pytest.approx(
        result.buildings.loc[building_id, "a1a3_kgco2e"], rel=1e-9
    )
    files = sorted((sample_city_path() / "buildings").glob("*.ifc"))
    assert got["ifc_files"] == len(files) == got["ifc_buildings"]
    assert got["sha256_checked"] == len(files)


def test_quickstart_numbers(executed):
    from cimkit.datasets import sample_city_path

    got = key_numbers(executed("quickstart.ipynb"))
    ifc = len(list((sample_city_path() / "buildings").glob("*.ifc")))
    assert got["buildings"] == 43 and got["ifc_buildings"] == ifc
    assert got["flooded_buildings_rp100"] > 0 and got["homes"] == 30


def main(argv: list[str]) -> int:
    """Execute the named notebooks (default: all three) and save them with their outputs."""
    import nbformat

    names = argv or list(NAMES)
    for name in names:
        path = NOTEBOOK_DIR / Path(name).name
        started = time.perf_counter()
        try:
            nb = execute(path)
        except NotebookFailed as err:
            print(err, file=sys.stderr)
            return 1
        nbformat.write(tidy(nb), path)
        size = path.stat().st_size / 1000
        print(
            f"{path.name}: executed in {time.perf_counter() - started:.0f} s, {size:.0f} kB, {key_numbers(nb)}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
