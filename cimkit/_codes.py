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
    "ARC": "Archives and compressed files (zip, gz, bz2, xz)",
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
    "LIM002": ("An input file is larger than max_input_mb.", "Raise max_input_mb or split the file."),
    "LIM003": ("An archive or compressed stream expands beyond max_decompressed_mb.", "Raise the limit."),
    "LIM004": ("An archive expands more than max_compression_ratio times: a bomb.", "Check the archive."),
    "LIM030": ("An IFC file holds more entity instances than max_ifc_entities.", "Raise max_ifc_entities."),
    "LIM010": (
        "A raster declares more cells than max_pixels (checked on its header, before reading).",
        "Raise max_pixels or clip the raster (gdal_translate -projwin).",
    ),
    "LIM020": (
        "A vector layer holds more features than max_features (counted before reading them).",
        "Raise max_features or clip the layer (ogr2ogr -spat).",
    ),
    # --- ARC: archives ------------------------------------------------------------------------
    "ARC001": ("An archive member would be written outside the target folder (zip slip).", "Repack it."),
    "ARC002": ("An archive is corrupt, encrypted or not an archive.", "Check the archive opens."),
    "ARC003": ("An archive does not hold the member or the kind of file expected.", "Name the member."),
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
    "CRS010": (
        "A shapefile has no .prj sidecar, so its coordinates have no CRS; cimkit never assumes one.",
        "Restore the .prj file or pass source_crs='EPSG:nnnn'.",
    ),
    # --- PLC ----------------------------------------------------------------------------------
    "PLC001": (
        "A layer's coordinates do not fall where its CRS or the model says.",
        "Fix the CRS or pass origin=.",
    ),
    "PLC101": ("A failed placement check was accepted explicitly.", "Check the layer on a map."),
    # --- GMT ----------------------------------------------------------------------------------
    "GMT001": ("Geometry is invalid, empty or degenerate and could not be repaired.", "Repair it in a GIS."),
    "GMT010": (
        "Features have NaN or infinite coordinates; cimkit never turns them into empty or moved geometry.",
        "Fix or delete the features named in the message.",
    ),
    "GMT011": (
        "A polygon ring is not closed and cannot be closed (too few points).",
        "Fix or delete the features named in the message.",
    ),
    "GMT012": (
        "Features without geometry (null or empty) were refused (repair='refuse').",
        "Delete them, or pass repair='repair' to drop them with a warning.",
    ),
    "GMT013": (
        "A polygon layer holds a feature of another geometry type (a line, a point).",
        "Select a polygon layer, or remove the features named.",
    ),
    "GMT014": (
        "Invalid polygons (self-intersecting, bowtie) were refused (repair='refuse').",
        "Fix them in a GIS, or pass repair='repair' to use shapely.make_valid.",
    ),
    "GMT101": (
        "Features without geometry (null or empty) were dropped; their ids are in the warning and the provenance.",
        "Check the ids listed; pass repair='refuse' to make this an error.",
    ),
    "GMT102": (
        "Unclosed polygon rings were closed by repeating their first point.",
        "Check the features counted in the provenance; fix the source to silence this.",
    ),
    "GMT103": (
        "Invalid polygons (self-intersecting, bowtie) were repaired with shapely.make_valid.",
        "Check the repaired features; pass repair='refuse' to make this an error.",
    ),
    "GMT104": (
        "Polygons with no area left after repair (collapsed to a line or a point) were dropped.",
        "Check the ids listed; pass repair='refuse' to make this an error.",
    ),
    # --- VEC ----------------------------------------------------------------------------------
    "VEC010": (
        "A shapefile has no .dbf sidecar: every attribute, and the feature ids, would be lost.",
        "Restore the .dbf file next to the .shp (same name).",
    ),
    "VEC011": (
        "A layer holds no features (or none with a geometry); an analysis of it would be empty.",
        "Check the export or the layer name.",
    ),
    "VEC012": (
        "The text of a layer cannot be decoded as UTF-8 nor as Windows-1252 (Latin-1).",
        "Write a .cpg file naming the encoding next to the .shp, or re-export as UTF-8.",
    ),
    "VEC101": (
        "A shapefile without its .shx index was read by rebuilding the index from the .shp (in a temporary copy).",
        "Restore the .shx file; the input was not modified.",
    ),
    "VEC102": (
        "Text that is not UTF-8 (a shapefile without .cpg) was decoded as Windows-1252 (Latin-1).",
        "Check accented names; write a .cpg file naming the encoding to silence this.",
    ),
    "VEC103": (
        "A layer holds no features; an empty layer is returned.",
        "Check the export or the layer name.",
    ),
    "VEC104": (
        "Points of interest given as polygons or lines were replaced by a point inside them.",
        "Give point geometries to silence this.",
    ),
    # --- ZON ----------------------------------------------------------------------------------
    "ZON010": (
        "A zone rules table has no 'libelle' column.",
        "Add a 'libelle' column with the PLU zone labels.",
    ),
    "ZON011": ("A zone label appears twice in the rules table.", "Keep one row per libelle."),
    "ZON012": (
        "A rule value is not a number (text, '40%', '12 m').",
        "Write a plain number (ratios in 0-1, lengths in metres) or leave the cell blank.",
    ),
    "ZON013": (
        "A rule value is out of range: negative, infinite, or a ratio above 1.",
        "Write a number >= 0 (ratios between 0 and 1) or leave the cell blank.",
    ),
    "ZON014": ("A row of the rules table has no zone label.", "Fill its libelle or delete the row."),
    "ZON015": (
        "A rules label matches a zone label of the layer only up to case or spaces ('Ub' for 'UB').",
        "Write the label exactly as in the zoning layer.",
    ),
    "ZON016": (
        "A zone rules file cannot be parsed (CSV or TOML syntax, encoding).",
        "Fix the file's syntax.",
    ),
    "ZON020": (
        "An argument of a zoning analysis is NaN, negative or out of range (a tolerance, a distance, a share).",
        "Pass a finite value in the range the message gives.",
    ),
    "ZON101": (
        "Zones have no row in the rules table; their checks are reported as unknown.",
        "Add a row for each zone label listed.",
    ),
    "ZON102": ("The rules table holds labels that no zone of the layer carries.", "Check the labels listed."),
    "ZON103": (
        "A zone's TYPEZONE is none of U, AUc, AUs, A, N (or their older spellings); it was set to None.",
        "Fix TYPEZONE in the zoning layer.",
    ),
    # --- DEM ----------------------------------------------------------------------------------
    "DEM001": (
        "A raster format or path is refused: a VRT, a GDAL virtual file system (/vsicurl/, /vsizip/ ...), "
        "a compressed file or a format other than GeoTIFF and ESRI ASCII grid.",
        "Convert it to a local GeoTIFF (gdal_translate) and pass that file.",
    ),
    "DEM002": (
        "A DEM has no cell with data (every cell is nodata, NaN or a fill value).",
        "Check the file's nodata value and the area it covers.",
    ),
    "DEM003": (
        "A DEM's horizontal CRS is in feet; cimkit computes in metres and never reads feet as metres.",
        "Pass crs= a projected CRS in metres: the grid is warped to it.",
    ),
    "DEM004": (
        "A DEM's elevation unit is ambiguous (a CRS in feet, no vertical unit) or contradicts the file.",
        "Pass vertical_units='m', 'ft' or 'us-ft'.",
    ),
    "DEM005": (
        "A raster's georeferencing is unusable: no geotransform, NaN or infinite, zero-size or rotated cells.",
        "Fix the georeferencing (gdal_edit.py -a_ullr) or warp it north-up (gdalwarp).",
    ),
    "DEM006": (
        "A DEM holds elevations outside plausible_elevation_m that are not a fill value (mm, cm, a wrong unit).",
        "Pass vertical_units= or widen plausible_elevation_m.",
    ),
    "DEM007": (
        "A raster band that does not exist was requested.",
        "Pass band= between 1 and the band count.",
    ),
    "DEM008": (
        "A raster file cannot be read (truncated, corrupt, or not the raster it claims to be).",
        "Check that the file opens in a GIS.",
    ),
    "DEM101": (
        "Cells holding an undeclared fill value (-9999, -32768, +-3.4e38 ...) were read as nodata.",
        "Declare nodata in the file, or widen plausible_elevation_m to keep them as ground.",
    ),
    "DEM102": (
        "Elevations the file declares in feet (vertical CRS or band unit) were converted to metres.",
        "Nothing to do; pass vertical_units= to override the file's unit.",
    ),
    # --- IFC ----------------------------------------------------------------------------------
    "IFC001": (
        "An IFC model cannot be placed on the map without more information.",
        "Pass crs= and origin=.",
    ),
    "IFC002": ("An IFC file is empty.", "Export the model again."),
    "IFC003": (
        "A file given as IFC is another format (an image, a zip, XML, JSON) or text without an ISO-10303-21 header.",
        "Give the IFC-SPF (.ifc) export.",
    ),
    "IFC004": ("A file given as IFC holds binary content.", "The file is corrupt; export it again."),
    "IFC005": (
        "An IFC file is truncated (no END-ISO-10303-21 trailer, or cut inside DATA).",
        "Download it again.",
    ),
    "IFC006": (
        "An IFC file uses a schema cimkit does not read (e.g. IFC4X3_RC3).",
        "Re-export as IFC4 or IFC4X3_ADD2.",
    ),
    "IFC007": (
        "The STEP syntax of an IFC file is broken at the line named (or the parser could not read it).",
        "Re-export the file.",
    ),
    "IFC008": (
        "An IFC entity holds a non-finite number (nan, inf) or a coordinate beyond 1e12 file units.",
        "Repair the entity named and re-export.",
    ),
    "IFC009": (
        "An IFC entity refers to an entity the file does not define (a dangling reference).",
        "Re-export the file from the authoring tool.",
    ),
    "IFC010": (
        "The IfcLocalPlacement chain of an IFC file loops.",
        "Make the first placement of the loop absolute.",
    ),
    "IFC011": (
        "The IfcRelAggregates / IfcRelNests decomposition of an IFC file loops.",
        "Remove the closing relation.",
    ),
    "IFC012": (
        "The IfcMapConversion Scale is implausible for the model's length unit (e.g. 1000 instead of 0.001).",
        "Fix Scale in the file, or pass origin= and crs= to place the model yourself.",
    ),
    "IFC013": (
        "An IFC building is implausibly large (footprint, extent or height): a unit or scale error.",
        "Check the length unit and the map conversion Scale.",
    ),
    "IFC014": (
        "The IfcProjectedCRS of an IFC file names a CRS that pyproj does not know.",
        'Pass crs="EPSG:nnnn" (the CRS the map conversion leads to).',
    ),
    "IFC015": ("An .ifczip archive does not hold exactly one .ifc member.", "Repack it with one .ifc file."),
    "IFC101": (
        "The placement of an IFC model rests on an assumption (lat/lon only, Scale read as the unit conversion, origin=).",
        "Check the georeference step of the provenance; pass origin= and crs= to decide.",
    ),
    # --- CJS ----------------------------------------------------------------------------------
    "CJS001": (
        "A file is not JSON or not a CityJSON document.",
        "Pass a CityJSON (.city.json) or CityJSONSeq (.jsonl) file.",
    ),
    "CJS002": (
        "A CityJSON version cimkit does not read (before 1.0, or newer than 2.0).",
        "Upgrade it with cjio.",
    ),
    "CJS003": (
        "A CityJSON geometry is malformed: a vertex index negative, out of range or not an integer.",
        "Repair the object's boundaries (cjio validate names it).",
    ),
    "CJS004": (
        "A CityJSON 1.1 / 2.0 file has no transform: its integer vertices cannot be placed.",
        "Restore the transform (scale, translate) the file was written with.",
    ),
    "CJS005": ("CityJSON vertices or transform are malformed or not finite.", "Repair the vertices list."),
    "CJS006": ("A CityJSONSeq line is not a CityJSONFeature.", "Check the line named in the message."),
    "CJS101": ("A CityJSON 1.0 file was read (transform optional, older schema).", "Upgrade it with cjio."),
    "CJS102": (
        "CityJSON GeometryInstance (template) geometries were not read.",
        "Explode templates with cjio.",
    ),
    "CJS103": ("Some CityJSON buildings have no usable geometry (empty footprint).", "Check their LoDs."),
    # --- NET ----------------------------------------------------------------------------------
    "NET001": (
        "A network is malformed (no edges, unknown nodes, negative weights).",
        "Fix the network data.",
    ),
    "NET002": ("An EPANET row names a node or link that is not defined.", "Define it or correct the id."),
    "NET003": ("An EPANET id is defined twice.", "Make node ids and link ids unique."),
    "NET004": (
        "EPANET nodes have no [COORDINATES] row (or the section is missing).",
        "Add x y coordinates for every node.",
    ),
    "NET005": ("An EPANET .inp file is malformed (number, field, section).", "Fix the line named."),
    "NET006": ("Network node or line coordinates are NaN or infinite.", "Repair or drop those features."),
    "NET007": ("An OSM file is truncated or not well-formed XML.", "Download the extract again."),
    "NET008": ("A file is neither OSM XML nor OSM PBF (or holds a DTD).", "Pass an .osm / .osm.pbf extract."),
    "NET101": ("Network lines without geometry (null or empty) were dropped.", "Check the source layer."),
    "NET102": (
        "Default car speeds were used: no national table for the edges' location.",
        "Pass country= or car_kmh=.",
    ),
    "NET103": (
        "Network topology was repaired: line ends snapped, duplicate edges dropped.",
        "See network.report; lower snap_tolerance_m to snap less.",
    ),
    # --- GTF ----------------------------------------------------------------------------------
    "GTF001": ("A GTFS feed lacks a required file (stops.txt, trips.txt ...).", "Add the missing table."),
    "GTF002": ("A GTFS table lacks a required column or cannot be parsed.", "Fix the table's header."),
    "GTF003": ("A GTFS value cannot be read (time, number, date).", "Fix the line named."),
    "GTF004": ("GTFS stop_times refer to trips or stops that are not defined.", "Fix the ids or the tables."),
    "GTF005": ("A GTFS id is duplicated.", "Make the ids unique."),
    "GTF006": ("A GTFS path is not a zip file or a folder of .txt tables.", "Pass the feed's zip or folder."),
    "GTF101": ("GTFS stop times without a time were interpolated along their trips.", "Add timepoints."),
    # --- MOD ----------------------------------------------------------------------------------
    "MOD050": (
        "The PostgreSQL database of a city model cannot be reached.",
        "Check the DSN (host, port, user, database) and that the server runs.",
    ),
    "MOD051": (
        "Another save of the same PostGIS schema held its lock longer than wait_s.",
        "Wait for it to finish or pass a larger wait_s.",
    ),
    "MOD052": (
        "The PostGIS schema holds no city model readable by this role.",
        "Check ?schema= and the role's grants.",
    ),
    "MOD053": (
        "A table of the PostGIS schema is not the city model's, or was changed outside cimkit.",
        "Save to another schema or save the model again.",
    ),
    "MOD054": (
        "PostGIS is not installed in the database and the role cannot install it.",
        "Install postgis and run CREATE EXTENSION postgis as a superuser.",
    ),
    "MOD055": ("The PostGIS schema uses a newer cimkit model format.", "Upgrade cimkit."),
    "MOD056": (
        "A layer, column or schema name is reserved or too long for PostgreSQL, or a level is unknown.",
        "Rename it as the message says.",
    ),
    "MOD057": (
        "The database refused a save or a read; nothing was changed.",
        "Check the role's rights on the database and schema.",
    ),
    "MOD058": ("A role named for the grants does not exist in the database.", "Create the role first."),
    "MOD150": (
        "Restricted layers were left out: the role may not read the restricted schema.",
        "Connect as a role granted that schema.",
    ),
    "MOD151": (
        "The postgis_raster extension is missing; the DEM is stored as raster WKB in a bytea column.",
        "Run CREATE EXTENSION postgis_raster.",
    ),
    "MOD001": ("A saved city model does not exist at the path given.", "Check the path."),
    "MOD002": (
        "The file is not a GeoPackage (not an SQLite database).",
        "Pass a .gpkg written by to_file().",
    ),
    "MOD003": ("The file is empty (0 bytes).", "Save the model again; the file was never written."),
    "MOD004": (
        "The GeoPackage is truncated or corrupted (shorter than its header declares, or unreadable).",
        "Restore it from a copy or save the model again.",
    ),
    "MOD005": (
        "A GeoPackage not written by cimkit (no cimkit_metadata table) was passed to read_model.",
        "Read its layers with cimkit.io.vector.read_layer(path, layer=...), then CityModel.add_layer().",
    ),
    "MOD006": (
        "The cimkit_metadata table of a saved model is missing its document or cannot be parsed.",
        "Restore the file from a copy or save the model again.",
    ),
    "MOD007": ("The model was saved by a newer cimkit (a newer format version).", "Upgrade cimkit."),
    "MOD008": (
        "A table or column listed in the model's metadata is missing from the file.",
        "The file was changed outside cimkit; restore it or save the model again.",
    ),
    "MOD101": (
        "A float64 DEM was stored as float32 (the GeoPackage coverage type); the largest change is stated.",
        "Nothing to do if the change is below the DEM's accuracy; else keep the DEM as a GeoTIFF.",
    ),
    "MOD102": (
        "A saved column could not be restored to its recorded dtype and was kept as read.",
        "Check the column; the file may have been edited outside cimkit.",
    ),
    # --- WRT ----------------------------------------------------------------------------------
    "WRT001": (
        "Permission denied while writing: the folder is read-only or belongs to someone else.",
        "Write to a folder you may write to, or change its permissions.",
    ),
    "WRT002": ("The destination is an existing folder.", "Give a file name inside the folder."),
    "WRT003": ("A parent of the destination is a file, not a folder.", "Choose another path."),
    "WRT004": (
        "The disk is full (or a quota or file-size limit was reached) while writing; the previous file is intact.",
        "Free space or write elsewhere, then write again.",
    ),
    "WRT005": ("The destination's file name is too long for the file system.", "Shorten the name."),
    "WRT006": (
        "A file written did not read back complete (integrity check, signature, tables, rows or size).",
        "Check the disk and write again; the previous file is intact.",
    ),
    "WRT007": (
        "The operating system or the format library refused a write for another reason.",
        "Check the path, the permissions and the free space.",
    ),
    "WRT101": (
        "Temporary files left by an interrupted earlier write were removed.",
        "Nothing to do; the destination was never partial.",
    ),
    # --- ANA ----------------------------------------------------------------------------------
    "ANA001": (
        "A country-specific default is needed but the country is unknown.",
        "Pass the value explicitly.",
    ),
    "ANA030": ("A time budget is zero, negative or not finite.", "Pass finite minutes > 0, e.g. 15."),
    "ANA031": ("A speed is zero, negative or not finite.", "Pass a finite speed in km/h > 0."),
    "ANA032": ("An accessibility analysis was given no destinations.", "Pass at least one destination."),
    "ANA033": (
        "No destination has a category of the score's groups.",
        "Check category_column and the categories mapping.",
    ),
    "ANA130": ("Some destinations have a category of no group and were ignored.", "Map them in categories."),
    "ANA010": (
        "A flood analysis was given a grid without one cell with data (all nodata or NaN).",
        "Check the DEM's nodata value and that it covers the area.",
    ),
    "ANA011": (
        "A water level is NaN or infinite, or missing on every cell of a grid.",
        "Pass finite water levels in metres.",
    ),
    "ANA012": ("A flood depth or water height is negative.", "Pass depths >= 0 m (water above the ground)."),
    "ANA013": (
        "A return period is not a finite number of years > 0 (NaN, 0, negative).",
        "Pass return periods in years > 0.",
    ),
    "ANA014": ("A flood analysis was given no building (an empty layer).", "Pass a layer with buildings."),
    # --- PUB ----------------------------------------------------------------------------------
    "PUB001": (
        "A public output would include a layer above the public level.",
        "Withhold it or pass allow=.",
    ),
    "PUB002": (
        "An allowance to publish, or a change of sensitivity level, was given without a reason.",
        "Give the reason as non-empty text (allow={'water': 'why it may be shown'}).",
    ),
    "PUB003": (
        "A sensitivity level is not one of public, internal, restricted, sensitive.",
        "Use one of the four levels.",
    ),
    "PUB004": (
        "The publication audit log was edited: a line does not match its hash or its predecessor.",
        "Restore the log from a backup; the message names the first bad line.",
    ),
    "PUB005": (
        "An allowance could not be written to the audit log, so the publication was refused.",
        "Make the audit log's folder writable or set option audit_log= to another path.",
    ),
    "PUB101": (
        "Columns naming or identifying people were dropped from a layer of the public view.",
        "Pass allow={'layer': 'reason'} to keep them, or set the layer's level.",
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
