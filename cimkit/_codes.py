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
    "CNV": "cimkit convert: formats in and out",
    "SCN": "PLU what-if scenarios and buildable capacity",
    "TIL": "glTF / GLB and 3D Tiles output",
    "VWR": "The offline 3D Tiles viewer (write_tileset_viewer, serve_folder)",
    "VEW": "3-D views of a model (plot_3d, view3d, build_scene)",
    "MAP": "Static maps (plot_city)",
    "CGM": "CityGML",
    "FMT": "Format detection",
    "BAT": "cimkit convert: batches (placement per file, workers)",
    "RCP": "City recipes (cimkit build, city.toml)",
    "RPT": "Reports of any model (cimkit report, cimkit.viz.write_report)",
    "XPL": "Interactive maps (cimkit.viz.explore, model.explore)",
    "CTY": "Generated cities (cimkit.datasets.generate_city)",
    "FLD": "The folder model format (write_folder, read_folder, city.cimkit)",
    "DSK": "Partitioned runs on dask (cimkit.analysis.partitioned)",
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
    "PUB006": (
        "The description of the public consultation (--consultation) is unreadable or holds a bad entry.",
        "Give a TOML file with only start, end, address, url (http or https) and email (name@domain).",
    ),
    "PUB007": (
        "The model has no buildings, so there is nothing to show on the public page.",
        "Add a buildings layer to the model before publishing it.",
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
    # --- SCN ----------------------------------------------------------------------------------
    "SCN001": (
        "The prescriptions layer given to the buildable capacity has no 'typepsc' column.",
        "Read the CNIG PRESCRIPTION_SURF layer, which carries TYPEPSC.",
    ),
    "SCN002": (
        "A capacity or scenario option is out of range (storey height, shares, rates).",
        "Give the value in the range the message states.",
    ),
    "SCN003": (
        "A scenario file or dictionary is malformed (unknown key, zone, rule or geometry).",
        "Fix the key the message names; docs/scenarios.md lists the keys.",
    ),
    "SCN004": (
        "A scenario constraint needs data the model or the call does not have.",
        "Pass flood= with the return period named, or add the layer the constraint names.",
    ),
    "SCN101": (
        "A building's floor count was assumed (one storey) for the existing floor area.",
        "Add 'storeys' or 'height_m' to the buildings.",
    ),
    "SCN201": (
        "The new homes given to a scenario impact are not a GeoDataFrame with the expected columns.",
        "Pass the parcels of a scenario evaluation: added_gfa_m2, added_dwellings, added_residents, added_jobs, zone.",
    ),
    "SCN202": (
        "The new homes are in another CRS than the city model.",
        "Reproject them to the model's CRS first.",
    ),
    "SCN203": (
        "The flood depths given to the flood impact are neither a flood result nor depth grids by return period.",
        "Pass the result of the flood analysis, or {return_period: depth raster}.",
    ),
    "SCN301": (
        "The WNTR hydraulic run of the water impact failed, so no pressures are given.",
        "Check the EPANET model runs in EPANET or WNTR on its own (connectivity, a source, demands).",
    ),
    "SCN302": (
        "Some parcels with new homes lie outside the flood depth grids; they are counted as dry.",
        "Compute the depths over a DEM that covers every parcel.",
    ),
    "SCN303": (
        "Some added car trips found no path on the road network (one-way streets, disconnected parts).",
        "Check the network's connectivity and one-way streets, or the destinations given.",
    ),
    # --- TIL ----------------------------------------------------------------------------------
    "TIL001": (
        "The buildings written to glTF / 3D Tiles have no CRS.",
        "Give the layer a CRS (--crs on the command line).",
    ),
    "TIL002": (
        "The buildings written to glTF / 3D Tiles are in a geographic CRS (degrees), not a metric one.",
        "Reproject them to a projected CRS in metres first (--crs EPSG:xxxx).",
    ),
    "TIL003": (
        "No building has a footprint with a positive height or a mesh, so there is nothing to write.",
        "Give the buildings a height column (height_m) or storeys, or pass their meshes.",
    ),
    "TIL004": ("Building ids are not unique, so they cannot key the features.", "Make the id column unique."),
    "TIL005": (
        "A glTF / 3D Tiles option is out of range (features per tile, attribute names, a mesh).",
        "Use a value the message lists as valid.",
    ),
    "TIL006": (
        "The destination folder exists and is not a 3D Tiles folder, so it is not replaced.",
        "Choose a new or empty folder, or remove the old one.",
    ),
    "TIL007": (
        "The tileset written failed its own checks, so it was not put in place.",
        "Report the problem listed in the message; the previous output is intact.",
    ),
    "TIL008": (
        "A tileset or its glTF content could not be read (missing file, not 3D Tiles, not written by cimkit).",
        "Give the tileset.json (or its folder) that write_3dtiles or cimkit convert wrote.",
    ),
    "TIL009": (
        "The DEM cannot be drawn under the 3D Tiles buildings (no valid cell, too small, or another CRS).",
        "Check the DEM's nodata value and CRS (reproject it to the model's CRS), or publish without the terrain.",
    ),
    "TIL101": (
        "Buildings without a footprint and positive height (or a mesh) were left out of the glTF / 3D Tiles.",
        "Give them a height (height_m or storeys) to include them.",
    ),
    "TIL102": (
        "Columns of a type glTF metadata does not hold (dates, lists, mixed) were written as text.",
        "Convert them to numbers, booleans or text first if another type is wanted.",
    ),
    "TIL103": (
        "Elevations were taken as heights above the WGS 84 ellipsoid (the CRS has no vertical datum cimkit converts).",
        "Expect buildings offset by the local geoid height (tens of metres) over a globe terrain.",
    ),
    # --- VWR ----------------------------------------------------------------------------------
    "VWR001": ("The viewer's folder holds no tileset.json.", "Write the 3D Tiles into that folder first."),
    "VWR002": (
        "The tileset is too large to inline into the viewer page.",
        "Write the page without inlining and serve the folder over http.",
    ),
    "VWR003": (
        "The folder cannot be served over http (missing folder, port in use).",
        "Give an existing folder and a free port (0 picks one).",
    ),
    "VWR004": (
        "The viewer script is missing from the cimkit installation.",
        "Reinstall cimkit, or run make js.",
    ),
    "VWR005": (
        "The tileset to inline cannot be read or refers to a file outside its folder.",
        "Write the tileset again with write_3dtiles.",
    ),
    # --- VEW ----------------------------------------------------------------------------------
    "VEW001": ("The model to draw in 3-D has no buildings layer, or it is empty.", "Add a buildings layer."),
    "VEW002": (
        "The column to colour the 3-D blocks by is not a column of the buildings.",
        "Give one of the columns the message lists.",
    ),
    "VEW003": (
        "The meshes of a 3-D scene record different origins.",
        "Build every mesh with one origin=, or pass origin= to build_scene.",
    ),
    "VEW004": (
        "The DEM to draw holds no valid cell (all nodata).",
        "Check its nodata value, or use show_dem=False.",
    ),
    "VEW005": ("lod='mesh' was asked without the buildings' meshes.", "Pass meshes=, or use lod='lod1'."),
    "VEW101": (
        "IFC files named by the buildings' source could not be read for their meshes (view3d ifc=True).",
        "Check the files are still where the model says; their buildings are drawn as LoD1 blocks.",
    ),
    # --- CNV ----------------------------------------------------------------------------------
    "CNV001": (
        "The file's content is no format cimkit convert reads.",
        "See docs/formats.md; check the file.",
    ),
    "CNV002": ("The file's reader failed on it (damaged or cut short).", "Check it opens in its usual tool."),
    "CNV003": ("An EPANET file's coordinates have no CRS.", "Pass --crs and, for local ones, --origin x,y."),
    "CNV004": ("An unknown output format was asked for.", "Use --format with a name of docs/formats.md."),
    "CNV005": ("The file holds no feature and no row to convert.", "Check it is the complete file."),
    "CNV010": (
        "The input has nothing this output format can hold.",
        "Nothing to fix: the other formats are written.",
    ),
    "CNV101": (
        "--origin was ignored: the input is already placed on the map.",
        "Drop --origin for this file.",
    ),
    "CNV102": (
        "Attribute tables were left out of a GeoJSON / FlatGeobuf output.",
        "Use --format gpkg or parquet.",
    ),
    "CNV103": (
        "Geographic buildings were written in their UTM zone for a 3-D format.",
        "Pass --crs to choose.",
    ),
    # --- CGM ----------------------------------------------------------------------------------
    "CGM001": ("A CityGML file is not well-formed XML (not XML, or cut short).", "Export it again."),
    "CGM002": ("An XML file is not a CityGML CityModel (1.0, 2.0 or 3.0).", "Give a CityGML file."),
    "CGM003": ("A CityGML file declares a DOCTYPE: refused (XXE, entity bombs).", "Remove the DOCTYPE."),
    "CGM004": ("A CityGML coordinate is not a finite number, or a list has the wrong length.", "Fix it."),
    "CGM005": ("A CityGML file names no CRS, or a local engineering one.", "Pass --crs EPSG:nnnn."),
    "CGM006": ("A CityGML srsName is unknown or contradicts the CRS given.", "Pass --crs or fix it."),
    "CGM007": ("A CityGML 3.0 building encoding not supported yet.", "Convert the file to CityGML 2.0."),
    "CGM008": ("Reading CityGML needs lxml, which is not installed.", "Install cimkit[citygml]."),
    "CGM009": ("A CityGML building's geometry cannot be read.", "Repair the building named in the message."),
    "CGM101": ("CityGML rings that were not closed were closed.", "Check the repaired polygons."),
    "CGM102": ("CityGML rings with fewer than 3 distinct points were left out.", "Check the source."),
    "CGM103": ("CityGML xlinks to no polygon of the building were skipped.", "Check the xlinks."),
    "CGM104": ("A CityGML file holds no bldg:Building.", "Check that the file is the one expected."),
    "CGM105": ("Some CityGML buildings have no usable geometry (empty footprint).", "Check their LoDs."),
    # --- FMT ----------------------------------------------------------------------------------
    "FMT001": ("The file whose format is to be detected cannot be read.", "Check the path."),
    # --- BAT ----------------------------------------------------------------------------------
    "BAT001": (
        "A placement sidecar (<input>.cimkit.toml or .json) or --placement table cannot be read or has a bad key or value.",
        "Give only crs, source_crs and origin (x,y[,z[,rot]]) in it.",
    ),
    "BAT002": (
        "A row of the --placement table names no input file of the batch.",
        "Write the input as its path relative to the table's folder, or its file name.",
    ),
    "BAT003": ("--scheduler needs Dask, which is not installed.", "Install cimkit[dask]."),
    # --- RCP ----------------------------------------------------------------------------------
    "RCP001": (
        "A recipe is not valid TOML (or not UTF-8).",
        "Correct the syntax at the line the message names.",
    ),
    "RCP002": (
        "A recipe has an unknown key, or lacks a required one (a reader option the reader does not take counts).",
        "Use the keys listed in the message and in docs/recipe.md.",
    ),
    "RCP003": (
        "A recipe value has the wrong type or is not one of the allowed values.",
        "Correct the value at the line the message names (quote text, no quotes around numbers).",
    ),
    "RCP004": (
        "A file a recipe names (or the recipe itself) does not exist.",
        "Correct the path, relative to the recipe's folder.",
    ),
    "RCP005": (
        "A source's files changed since their sha256 was recorded in the recipe.",
        "Check the new files, then run cimkit build --update-hashes.",
    ),
    "RCP006": (
        "A recipe path leaves the recipe's folder (.., a symbolic link) or is absolute without allow_absolute_paths.",
        "Keep sources inside the folder, or set allow_absolute_paths = true under [recipe].",
    ),
    "RCP007": (
        "A reader or an analysis failed on a recipe source with an untyped error.",
        "Check the source opens in its own tool and that its options are right.",
    ),
    "RCP101": (
        "cimkit build --update-hashes recorded a new sha256 in the recipe.",
        "Commit the updated recipe.",
    ),
    # --- RPT ----------------------------------------------------------------------------------
    "RPT001": (
        "The model given to cimkit report is neither a CityModel nor an existing saved model file.",
        "Give the path of a model saved by cimkit (city.gpkg from cimkit build or cimkit demo).",
    ),
    "RPT002": (
        "The report's audience is not one of the allowed values.",
        "Use --audience public or --audience staff.",
    ),
    # --- XPL ----------------------------------------------------------------------------------
    "XPL001": (
        "An interactive map was asked for but lonboard (the maps extra) is not installed.",
        "pip install 'cimkit[maps]'.",
    ),
    "XPL002": (
        "The installed lonboard's JavaScript cannot be made to work offline (its Parquet decoding step was not found).",
        "Install the lonboard version cimkit supports: pip install 'cimkit[maps]'.",
    ),
    "XPL003": (
        "A layer asked for on an interactive map is not in the model.",
        "Name a layer of the model (model.layers), a network as network_<kind>, or 'flooded'.",
    ),
    "XPL004": (
        "The column to colour an interactive map by is not in the layer or the analysis result.",
        "Name a column of the layer (or of the result's buildings table).",
    ),
    "XPL005": (
        "A layer above the public level (a water, sewer or power network by default) was asked for on a map without an allowance.",
        "Pass allow={layer: reason} to draw it; the reason is shown on the map.",
    ),
    "XPL006": (
        "The return period asked for is not one of the flood result's.",
        "Use one of the return periods the flood was assessed for (result.depths).",
    ),
    "XPL101": (
        "The interactive map uses lonboard's own loader, which fetches a WebAssembly module from the internet.",
        "Install the lonboard version cimkit supports (pip install 'cimkit[maps]') to show maps offline.",
    ),
    # --- CTY ----------------------------------------------------------------------------------
    "CTY001": (
        "The number of buildings of a generated city is out of range.",
        "Pass an integer from 10 to 5,000,000 (--buildings).",
    ),
    "CTY002": (
        "The IFC share of a generated city is out of range.",
        "Pass a number from 0 to 0.2 (--ifc-share).",
    ),
    "CTY003": ("The seed of a generated city is not a non-negative integer.", "Pass e.g. --seed 2154."),
    "CTY004": (
        "The destination of a generated city exists and is not a folder.",
        "Pass a folder path (it is created if missing).",
    ),
    # --- FLD ----------------------------------------------------------------------------------
    "FLD001": (
        "The folder model to read does not exist.",
        "Check the path; folder models are saved with model.to_file('city.cimkit').",
    ),
    "FLD002": (
        "The folder or zip has no manifest.json: it is not a model saved in the folder format.",
        "Pass a folder or .zip written by cimkit, or a .gpkg model.",
    ),
    "FLD003": (
        "The manifest.json of a folder model is damaged (not JSON, another format, keys missing).",
        "Restore the model from a copy or save it again.",
    ),
    "FLD004": ("The folder model uses a newer format version than this cimkit reads.", "Upgrade cimkit."),
    "FLD005": (
        "A file listed in the manifest of a folder model is missing.",
        "Run cimkit verify on the model to list what is missing, then restore it from a copy.",
    ),
    "FLD006": (
        "A file of a folder model changed since it was saved (size or sha256 differs from the manifest).",
        "Run cimkit verify on the model to list what changed, then restore it from a copy or save it again.",
    ),
    "FLD007": (
        "A member name of a folder model leaves its folder (an absolute path, '..' or a link outside).",
        "Do not open the model; ask its sender for a copy saved by cimkit.",
    ),
    "FLD008": (
        "A file of a folder model cannot be decoded although its digest matches (a manifest edited with it).",
        "Restore the model from a copy or save it again.",
    ),
    "FLD009": (
        "A part asked for with layers= is not in the folder model.",
        "Name layers, network_<kind> or dem as the model lists them.",
    ),
    "FLD010": (
        "The destination of a folder model is a file or a folder that is not a folder model.",
        "Choose a new folder name (e.g. city.cimkit) or remove the folder first.",
    ),
    "FLD011": (
        "The .zip of a folder model cannot be opened (truncated or not a zip).",
        "Copy the archive again or save the model again.",
    ),
    "FLD012": (
        "A layer or index name cannot be stored in a folder model (a reserved name, an index named like a column).",
        "Rename the layer, the index or the column before saving.",
    ),
    "FLD101": (
        "The DEM was stored as float32, the folder format's DEM type, and some values changed.",
        "Keep the DEM as a GeoTIFF (Raster.to_geotiff) where more precision matters.",
    ),
    "FLD102": (
        "A column of a folder model could not be restored to its saved dtype and was kept as read.",
        "Check the column; save the model again with this cimkit.",
    ),
    # --- MAP ----------------------------------------------------------------------------------
    "MAP001": (
        "A map aggregated by zones was asked of a model without zones.",
        "Add the zones, or use aggregate='hex'.",
    ),
    "MAP002": (
        "An unknown aggregate or statistic was asked of plot_city.",
        "Use aggregate auto, none, zones or hex; statistic count, mean or sum.",
    ),
    # --- DSK ----------------------------------------------------------------------------------
    "DSK001": (
        "A dask-geopandas frame was given but dask, distributed or dask-geopandas is not installed.",
        "Install the extra: pip install 'cimkit[dask]'.",
    ),
    "DSK002": (
        "A dask collection that is not a dask-geopandas GeoDataFrame was given as a layer.",
        "Build the layer with dask_geopandas.from_geopandas(...) or dask_geopandas.read_parquet(...).",
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
