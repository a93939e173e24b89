"""The registry of stable error and warning codes.

Every :class:`~cimkit.errors.CimkitError` and :class:`~cimkit.errors.CimkitWarning` carries a
``code``: a short, stable identifier (three letters naming the area, three digits) that scripts
and batch reports can match on while the wording of messages improves. A code, once published,
keeps its meaning and is never reused for another problem. ``docs/errors.md`` is generated from
this table (``python -m cimkit._codes > docs/errors.md``) and a test keeps the two equal, and
checks that every ``code="..."`` given in the source is listed here.

Each entry maps the code to ``(title, fix)``: what went wrong, and what to do about it.
Codes ending in ``000`` or ``001`` without a specific meaning are the defaults of each class.
"""

from __future__ import annotations

__all__ = ["ERROR_CODES", "AREAS", "render_error_codes"]

#: Area prefix -> heading of its section in docs/errors.md.
AREAS: dict[str, str] = {
    "GEN": "General",
    "ARG": "Arguments and options",
    "LIM": "Resource limits",
    "CRS": "Coordinate reference systems",
    "PLC": "Placement",
    "GMT": "Geometry",
    "VEC": "Vector layers (Shapefile, GeoPackage, GeoJSON, FlatGeobuf, zipped layers)",
    "ZON": "Zoning rules (PLU)",
    "DEM": "Rasters and DEMs",
    "IFC": "IFC building models",
    "CJS": "CityJSON",
    "NET": "Networks (EPANET, OSM, IFC networks)",
    "GTF": "GTFS public transport feeds",
    "MOD": "Saved city models (read_model, to_file)",
    "WRT": "Writing files",
    "ANA": "Analyses",
    "PUB": "Publication, sensitivity and the audit log",
    "TAB": "Reference tables",
    "QTY": "Quantities and assumptions (warnings)",
    "COV": "Coverage (warnings)",
    "REP": "Repairs (warnings)",
}

ERROR_CODES: dict[str, tuple[str, str]] = {
    # --- GEN: defaults of the generic classes -------------------------------------------------
    "GEN000": ("An error or warning raised by cimkit without a more specific code.", "Read the message."),
    "GEN001": (
        "The input data is wrong in a way the caller can fix.",
        "Correct the data as the message says.",
    ),
    "GEN002": (
        "A file is malformed or is not of the format it claims.",
        "Check the file opens in its own tool.",
    ),
    "GEN003": ("A file uses a schema or version cimkit does not read.", "Convert it to a supported version."),
    "GEN004": ("A named layer is not in the model or the file.", "Use one of the layer names listed."),
    "GEN005": (
        "A reader's child process died (crash, time or memory limit).",
        "Raise the limit or repair the file.",
    ),
    "GEN006": ("A file could not be read or written.", "Check the path, permissions and free space."),
    # --- ARG: arguments and options -----------------------------------------------------------
    "ARG001": (
        "An argument or option is outside its allowed set or range.",
        "Pass one of the allowed values.",
    ),
    # --- LIM: resource limits -----------------------------------------------------------------
    "LIM001": (
        "An input exceeds a resource limit of cimkit.options.",
        "Raise the option named in the message.",
    ),
    # --- CRS ----------------------------------------------------------------------------------
    "CRS001": ("A coordinate reference system is unknown or unsuitable.", "Give a projected CRS in metres."),
    "CRS002": (
        "A layer has no CRS; cimkit never assumes one.",
        "Set one with gdf.set_crs(...) or pass crs=.",
    ),
    "CRS003": (
        "A geographic (degree) CRS was given where metres are required.",
        "Reproject to a projected CRS.",
    ),
    # --- PLC ----------------------------------------------------------------------------------
    "PLC001": (
        "A layer's coordinates do not fall where its CRS or the model says.",
        "Fix the CRS or pass origin=.",
    ),
    "PLC101": ("A failed placement check was accepted explicitly.", "Check the layer on a map."),
    # --- GMT ----------------------------------------------------------------------------------
    "GMT001": ("Geometry is invalid, empty or degenerate and could not be repaired.", "Repair it in a GIS."),
    # --- VEC ----------------------------------------------------------------------------------
    # --- ZON ----------------------------------------------------------------------------------
    # --- DEM ----------------------------------------------------------------------------------
    # --- IFC ----------------------------------------------------------------------------------
    "IFC001": (
        "An IFC model cannot be placed on the map without more information.",
        "Pass crs= and origin=.",
    ),
    # --- CJS ----------------------------------------------------------------------------------
    # --- NET ----------------------------------------------------------------------------------
    "NET001": (
        "A network is malformed (no edges, unknown nodes, negative weights).",
        "Fix the network data.",
    ),
    # --- GTF ----------------------------------------------------------------------------------
    # --- MOD ----------------------------------------------------------------------------------
    # --- WRT ----------------------------------------------------------------------------------
    # --- ANA ----------------------------------------------------------------------------------
    "ANA001": (
        "A country-specific default is needed but the country is unknown.",
        "Pass the value explicitly.",
    ),
    # --- PUB ----------------------------------------------------------------------------------
    "PUB001": (
        "A public output would include a layer above the public level.",
        "Withhold it or pass allow=.",
    ),
    # --- TAB ----------------------------------------------------------------------------------
    "TAB001": (
        "A reference table (curves, factors, rules) is malformed.",
        "Fix the row named in the message.",
    ),
    # --- QTY ----------------------------------------------------------------------------------
    "QTY001": (
        "A building quantity was computed by a stated fallback rule.",
        "Add the quantity to the source.",
    ),
    # --- COV ----------------------------------------------------------------------------------
    "COV001": ("An analysis left part of its input unanswered.", "See the counts in the result's caveats."),
    # --- REP ----------------------------------------------------------------------------------
    "REP001": (
        "Input data was repaired; the repair is in the layer's provenance.",
        "Check the repaired items.",
    ),
}


def render_error_codes() -> str:
    """Return the Markdown of ``docs/errors.md``: one table per area, codes in order.

    Examples
    --------
    >>> text = render_error_codes()
    >>> text.startswith("# Error and warning codes")
    True
    >>> "| `CRS002` |" in text
    True
    """
    lines = [
        "# Error and warning codes",
        "",
        "Every error cimkit raises on purpose is a `cimkit.errors.CimkitError` and every warning a",
        "`cimkit.errors.CimkitWarning`; each carries a stable `code`. Match on the code in scripts",
        '(`except CimkitError as err: if err.code == "DEM002": ...`); the message around it may',
        "improve between versions, the code keeps its meaning. The command line prints it as",
        "`error[DEM002]: ...`, and the `cimkit convert` report has a `code` per failed file.",
        "",
        "This page is generated from `cimkit/_codes.py` (`python -m cimkit._codes > docs/errors.md`).",
        "",
    ]
    for prefix, heading in AREAS.items():
        codes = sorted(code for code in ERROR_CODES if code.startswith(prefix))
        if not codes:
            continue
        lines += [f"## {prefix}: {heading}", "", "| Code | Problem | Fix |", "|---|---|---|"]
        lines += [f"| `{code}` | {ERROR_CODES[code][0]} | {ERROR_CODES[code][1]} |" for code in codes]
        lines.append("")
    return "\n".join(lines)


if __name__ == "__main__":  # pragma: no cover - regenerates docs/errors.md
    print(render_error_codes(), end="")
