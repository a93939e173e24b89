"""The command line configures logging (-v / -q), warnings and the progress option, then restores them."""

from __future__ import annotations

import logging
import sys
import warnings

import geopandas as gpd
import pytest
from shapely.geometry import box

import cimkit
from cimkit.cli import main as cli


@pytest.fixture()
def probe(monkeypatch):
    """Replace the command's body by one that logs at every level and warns once."""
    seen: dict = {}

    def fake_run(args):
        seen["level"] = logging.getLogger("cimkit").getEffectiveLevel()
        seen["progress"] = cimkit.get_options()["progress"]
        log = logging.getLogger("cimkit.analysis.probe")
        log.debug("debug detail")
        log.info("step done")
        log.warning("a warning logged")
        log.error("an error logged")
        logging.getLogger("otherlib").info("third-party chatter")
        with warnings.catch_warnings():
            warnings.simplefilter("always")
            warnings.warn(
                "streets.geojson: topology repaired: 2 line end(s) snapped", UserWarning, stacklevel=1
            )
            warnings.warn("this will change", FutureWarning, stacklevel=1)
        return 0

    monkeypatch.setattr(cli, "_run", fake_run)
    return seen


@pytest.mark.parametrize(
    ("args", "level"),
    [
        (["info", "x.gpkg"], logging.WARNING),
        (["-v", "info", "x.gpkg"], logging.INFO),
        (["-vv", "info", "x.gpkg"], logging.DEBUG),
        (["-v", "-v", "-v", "info", "x.gpkg"], logging.DEBUG),
        (["-q", "info", "x.gpkg"], logging.ERROR),
        (["info", "x.gpkg", "-v"], logging.INFO),  # accepted after the command too
        (["-vv", "info", "x.gpkg", "-q"], logging.ERROR),
    ],
)
def test_verbosity_maps_to_log_levels(probe, args, level):
    assert cli.main(args) == 0
    assert probe["level"] == level


def test_default_output_is_warnings_and_errors_without_source_lines(probe, capsys):
    assert cli.main(["info", "x.gpkg"]) == 0
    err = capsys.readouterr().err.splitlines()
    assert err == [
        "WARNING: a warning logged",
        "ERROR: an error logged",
        "WARNING: streets.geojson: topology repaired: 2 line end(s) snapped",
        "WARNING: FutureWarning: this will change",
    ]


def test_verbose_adds_info_and_debug_names_the_logger(probe, capsys):
    cli.main(["-v", "info", "x.gpkg"])
    err = capsys.readouterr().err
    assert "INFO: step done" in err and "debug detail" not in err
    assert "third-party chatter" not in err  # other libraries stay at WARNING
    cli.main(["-vv", "info", "x.gpkg"])
    err = capsys.readouterr().err
    assert "DEBUG cimkit.analysis.probe: debug detail" in err


def test_quiet_shows_errors_only(probe, capsys):
    cli.main(["-q", "info", "x.gpkg"])
    assert capsys.readouterr().err.splitlines() == ["ERROR: an error logged"]


def test_logging_and_options_are_restored(probe):
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    showwarning, formatwarning = warnings.showwarning, warnings.formatwarning
    with cimkit.set_options(progress=False):
        cli.main(["-vv", "--progress", "info", "x.gpkg"])
        assert cimkit.get_options()["progress"] is False
    assert probe["progress"] is True
    assert root.handlers == handlers and root.level == level
    assert warnings.showwarning is showwarning and warnings.formatwarning is formatwarning


def test_progress_follows_the_terminal_unless_told(probe, capsys, monkeypatch):
    cli.main(["info", "x.gpkg"])
    assert probe["progress"] is False  # captured standard error is not a terminal
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
    cli.main(["info", "x.gpkg"])
    assert probe["progress"] is True
    cli.main(["--no-progress", "info", "x.gpkg"])
    assert probe["progress"] is False


def test_convert_logs_and_shows_progress(tmp_path, capsys):
    folder = tmp_path / "in"
    folder.mkdir()
    for name in ("a", "b"):
        square = box(652_000, 6_861_000, 652_001, 6_861_001)  # in Paris: passes the placement check
        gpd.GeoDataFrame({"id": [name]}, geometry=[square], crs=2154).to_file(folder / f"{name}.geojson")
    (folder / "broken.geojson").write_text('{"type": "FeatureCollection", "features": [', encoding="utf-8")
    assert cli.main(["-v", "--progress", "convert", str(folder), "--to", str(tmp_path / "out")]) == 1
    captured = capsys.readouterr()
    assert "INFO: 3 file(s) to convert, 0 already done" in captured.err
    assert f"ok     {folder / 'a.geojson'} [gpkg] -> 1 file(s)" in captured.err  # one line per file
    assert f"FAILED {folder / 'broken.geojson'} [gpkg]: error[CNV" in captured.err
    assert "converting" in captured.err and "3/3 2 done, 1 failed" in captured.err  # the rich bar
    assert "3 file(s): 2 converted, 0 already done, 1 failed" in captured.out
    # without --progress (standard error is not a terminal here) no bar is drawn
    cli.main(["--no-progress", "convert", str(folder), "--to", str(tmp_path / "out2")])
    assert "converting:" not in capsys.readouterr().err
