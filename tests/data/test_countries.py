"""Country from a location (cimkit.data.countries): the approximate extents and their limits."""

from __future__ import annotations

import warnings

import pytest

from cimkit.data.countries import (
    find_country,
    find_country_of_bbox,
    get_road_speeds,
    load_country_extents,
    load_road_speeds,
)
from cimkit.errors import CimkitWarning, CountryError

# city centres (lon, lat), rounded from their Wikipedia coordinates
CITIES = {
    "Paris": ("FR", 2.35, 48.86),
    "Lyon": ("FR", 4.84, 45.76),
    "Nice": ("FR", 7.27, 43.70),
    "Toulouse": ("FR", 1.44, 43.60),
    "Lille": ("FR", 3.06, 50.63),
    "Strasbourg": ("FR", 7.75, 48.58),
    "Mulhouse": ("FR", 7.34, 47.75),
    "Metz": ("FR", 6.18, 49.12),
    "Brussels": ("BE", 4.35, 50.85),
    "Antwerp": ("BE", 4.40, 51.22),
    "Liège": ("BE", 5.57, 50.63),
    "Amsterdam": ("NL", 4.90, 52.37),
    "Eindhoven": ("NL", 5.47, 51.44),
    "Cologne": ("DE", 6.96, 50.94),
    "Aachen": ("DE", 6.08, 50.78),
    "Munich": ("DE", 11.58, 48.14),
    "Freiburg": ("DE", 7.85, 47.99),
    "Dresden": ("DE", 13.74, 51.05),
    "Vienna": ("AT", 16.37, 48.21),
    "Innsbruck": ("AT", 11.39, 47.26),
    "Zurich": ("CH", 8.54, 47.37),
    "Geneva": ("CH", 6.14, 46.20),
    "Basel": ("CH", 7.59, 47.56),
    "Milan": ("IT", 9.19, 45.46),
    "Turin": ("IT", 7.68, 45.07),
    "Madrid": ("ES", -3.70, 40.42),
    "Bilbao": ("ES", -2.93, 43.26),
    "London": ("GB", -0.13, 51.50),
    "Edinburgh": ("GB", -3.19, 55.95),
    "Prague": ("CZ", 14.42, 50.08),
    "Luxembourg": ("LU", 6.13, 49.61),
    "Helsinki": ("FI", 24.94, 60.17),
    "Oakland": ("US", -122.27, 37.80),
    "Boulder": ("US", -105.27, 40.01),
    "Boston": ("US", -71.06, 42.36),
    "Chicago": ("US", -87.63, 41.88),
    "Toronto": ("CA", -79.38, 43.65),
    "Montreal": ("CA", -73.57, 45.50),
    "Vancouver": ("CA", -123.10, 49.28),
    "Sydney": ("AU", 151.20, -33.87),
}


@pytest.mark.parametrize("city", sorted(CITIES))
def test_large_cities_get_their_country(city):
    code, lon, lat = CITIES[city]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CimkitWarning)  # near a border: ambiguity is warned
        assert find_country(lon, lat) == code


def test_ambiguity_is_warned_and_open_sea_is_none():
    with pytest.warns(CimkitWarning, match=r"approximate extents of DE, FR; FR \(the smallest"):
        assert find_country(7.75, 48.58) == "FR"  # Strasbourg
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert find_country(2.35, 48.86) == "FR"  # Paris: one country's rectangles only
    assert find_country(-30.0, 40.0) is None  # mid-Atlantic
    assert find_country(float("nan"), 45.0) is None


def test_bbox_in_any_crs():
    # the Boulder DEM's box in lon/lat, and the sample city in Lambert-93
    assert find_country_of_bbox((-105.55, 40.09, -105.35, 40.21), crs="EPSG:4326") == "US"
    assert find_country_of_bbox((651_000, 6_847_000, 653_000, 6_849_000), crs="EPSG:2154") == "FR"
    assert find_country_of_bbox((385_000, 6_671_000, 387_000, 6_673_000), crs="EPSG:3067") == "FI"  # Helsinki
    assert find_country_of_bbox((0, 0, 1, 1), crs=None) is None


def test_tables_are_consistent():
    extents = load_country_extents()
    speeds = load_road_speeds()
    assert set(extents["country"]) == set(speeds["country"])  # every located country has speeds
    assert ((extents["max_lon"] > extents["min_lon"]) & (extents["max_lat"] > extents["min_lat"])).all()
    assert speeds["source"].str.len().gt(5).all()
    gb, source = get_road_speeds("GB")
    assert gb["default"] == pytest.approx(30 * 1.609344) and "Road Traffic Regulation Act" in source
    with pytest.raises(CountryError, match="car_kmh="):
        get_road_speeds("MX")
