"""The reader's door: .ifczip members, and the plausibility of what comes out (building sizes).

An ``.ifczip`` is opened through :mod:`cimkit.io._archive` (zip-slip, bomb and size checks);
its single ``.ifc`` member is extracted to a temporary folder, read, and the folder removed.
Errors name the archive and the member, never the temporary copy.
"""

from __future__ import annotations

import contextlib
import math
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from cimkit.errors import CimkitError, FileFormatError

__all__ = ["MAX_BUILDING_FOOTPRINT_M2", "MAX_BUILDING_HEIGHT_M", "check_building_size", "plain_ifc"]

#: Largest plausible footprint of one building, m2 (the largest buildings cover under 1 km2).
MAX_BUILDING_FOOTPRINT_M2 = 2_000_000.0
#: Largest plausible building height, m (the tallest built or planned towers stay under 1,100 m).
MAX_BUILDING_HEIGHT_M = 1_500.0


@contextlib.contextmanager
def plain_ifc(path: str | os.PathLike[str]) -> Iterator[tuple[str, str]]:
    """Yield ``(file to parse, label for messages)``: the file itself, or an .ifczip's one .ifc member.

    Raises
    ------
    FileFormatError
        The archive holds no or several ``.ifc`` members (``IFC015``), is corrupt or unsafe
        (``ARC001``, ``ARC002``).
    ResourceLimitError
        The member expands past ``max_decompressed_mb`` / ``max_compression_ratio`` (``LIM003``,
        ``LIM004``): an ifcZIP bomb is refused while it is read.
    """
    label = os.fspath(path)
    if Path(label).suffix.lower() != ".ifczip":
        yield label, label
        return
    from cimkit.io._archive import extract_zip, open_zip

    with open_zip(label) as archive:
        names = [i.filename for i in archive.infolist() if not i.is_dir()]
    members = [n for n in names if n.lower().endswith(".ifc")]
    if len(members) != 1:
        raise FileFormatError(
            f"an .ifczip must hold exactly one .ifc member; it holds {len(members)} "
            f"({', '.join(members[:5]) or 'none'})",
            path=label,
            code="IFC015",
            hint="repack the archive with the one .ifc file of the model",
        )
    with tempfile.TemporaryDirectory(prefix="cimkit-ifczip-") as folder:
        extract_zip(label, folder, members=members)
        member = str(Path(folder) / members[0])
        try:
            yield member, f"{label}!{members[0]}"
        except CimkitError as err:
            raise _renamed(err, member, f"{label}!{members[0]}") from err


def _renamed(err: CimkitError, member: str, label: str) -> CimkitError:
    """Return the same error naming the archive member instead of the temporary copy."""
    if type(err).__reduce__ is not CimkitError.__reduce__ or err.path != member:
        return err
    rebuild, args = err.__reduce__()
    cls, message, kwargs = args
    return rebuild(cls, message.replace(member, label), {**kwargs, "path": label})


def check_building_size(buildings: Any, *, path: str, map_unit_m: float = 1.0) -> None:
    """Refuse an IfcBuilding whose footprint or height no building can have (``IFC013``).

    A wrong length unit or map-conversion Scale turns a 60 m2 house into 60 km2; this check
    stops such a model at the reader's door. Infrastructure facilities (roads, earthworks of
    IFC4X3) are not buildings and are not checked.

    Examples
    --------
    >>> import geopandas as gpd, shapely
    >>> house = gpd.GeoDataFrame({"ifc_class": ["IfcBuilding"], "height_m": [6.6]},
    ...                          geometry=[shapely.box(0, 0, 10, 6)], index=["b1"])
    >>> check_building_size(house, path="house.ifc")
    >>> house.geometry = [shapely.box(0, 0, 10_000, 6_000)]
    >>> check_building_size(house, path="house.ifc")
    Traceback (most recent call last):
    ...
    cimkit.errors.InputError: house.ifc: entity b1: the building's footprint is 60 km2 ...
    """
    from cimkit.errors import InputError

    if buildings is None or len(buildings) == 0:
        return
    is_building = buildings["ifc_class"].eq("IfcBuilding") if "ifc_class" in buildings else None
    rows = buildings[is_building] if is_building is not None else buildings
    areas = rows.geometry.area * map_unit_m * map_unit_m
    for building_id, area in areas.items():
        if math.isfinite(area) and area > MAX_BUILDING_FOOTPRINT_M2:
            raise InputError(
                f"the building's footprint is {area / 1e6:,.0f} km2 (over {MAX_BUILDING_FOOTPRINT_M2 / 1e6:g} km2): "
                "a length-unit or map-conversion Scale error, not a building",
                path=path,
                entity=building_id,
                code="IFC013",
                hint="check the project length unit (IfcSIUnit prefix) and IfcMapConversion.Scale",
            )
    if "height_m" in rows:
        for building_id, height in rows["height_m"].items():
            if height is not None and math.isfinite(height) and height > MAX_BUILDING_HEIGHT_M:
                raise InputError(
                    f"the building is {height:,.0f} m tall (over {MAX_BUILDING_HEIGHT_M:,.0f} m): a "
                    "length-unit or elevation error, not a building",
                    path=path,
                    entity=building_id,
                    code="IFC013",
                    hint="check the project length unit and the storey elevations",
                )
