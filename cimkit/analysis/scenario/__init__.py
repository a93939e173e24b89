"""PLU what-if scenarios: rule edits, buildable capacity and their consequences.

- :class:`Scenario`: rule edits per zone, re-zoned polygons, constraints and assumptions, as
  plain data (TOML / JSON);
- :func:`assess_scenario`: capacity before and after, new homes, carbon, flood, access, water
  and traffic consequences per parcel, zone and town (a :class:`ScenarioResult`);
- :func:`compare`: baseline and scenarios side by side (a :class:`Comparison`);
- :func:`compute_sweep`: one rule over a range of values;
- :func:`compute_capacity_envelopes`: LoD1 blocks of the capacity for the 3D view;
- :func:`summarise_scenarios`: the scenarios and their totals as a table saved with the model.

The consequence functions (:func:`compute_carbon_impact` and, in ``impacts``, ``water`` and
``traffic``, ``compute_flood_impact``, ``compute_access_impact``, ``compute_water_impact``,
``compute_traffic_impact``) take the ``new_homes`` table and return a :class:`ScenarioImpact`.

Examples
--------
>>> from cimkit.analysis.scenario import Scenario, assess_scenario, compare
>>> from cimkit.datasets import load_sample_city
>>> model = load_sample_city(with_ifc=False)
>>> current = assess_scenario(model, Scenario(name="current rules"), impacts=("carbon",))
>>> taller = assess_scenario(model, Scenario(name="UB 15 m", rules={"UB": {"max_height_m": 15}}),
...                          impacts=("carbon",))
>>> list(compare(current, taller).table.columns[2:4])
['current rules', 'UB 15 m']
"""

from cimkit.analysis.scenario.assessment import ScenarioResult, assess_scenario
from cimkit.analysis.scenario.carbon import compute_carbon_impact
from cimkit.analysis.scenario.compare import (
    Comparison,
    compare,
    compute_capacity_envelopes,
    compute_sweep,
    summarise_scenarios,
)
from cimkit.analysis.scenario.impacts import ScenarioImpact, compute_access_impact, compute_flood_impact
from cimkit.analysis.scenario.scenario import DEFAULT_ASSUMPTIONS, Scenario
from cimkit.analysis.scenario.traffic import compute_traffic_impact
from cimkit.analysis.scenario.water import compute_water_impact

__all__ = [
    "DEFAULT_ASSUMPTIONS",
    "Comparison",
    "Scenario",
    "ScenarioImpact",
    "ScenarioResult",
    "assess_scenario",
    "compare",
    "compute_access_impact",
    "compute_capacity_envelopes",
    "compute_carbon_impact",
    "compute_flood_impact",
    "compute_sweep",
    "compute_traffic_impact",
    "compute_water_impact",
    "summarise_scenarios",
]
