"""Load a city data folder (units, categories, policy, calendar, territories, grids, roads) and validate it.

Another city is another folder with the same files; no code changes. Every error names the file and
the field that is wrong, because the people who maintain these files are not programmers.

Files (all UTF-8):
- ``city.toml``: name, version, timezone, dispatcher_units, reopen_window_days, description_max_chars.
- ``policy.toml``: [stages] limits, the [[rung]] ladder, [extensions] caps, [text] lengths of reasons and notes.
- ``calendar.toml``: working [[period]]s, [[holiday]] date ranges, makeup_workdays, known_years.
- ``units.toml``: [[unit]] id, name, kind (street/town/department/guarantee/office), responsible_role.
- ``categories.toml``: [[category]] code, name, lead_department, lead, rectify_limit_hours, limit_kind,
  duplicate_radius_m.
- ``district.geojson``: one (Multi)Polygon, the district outline.
- ``territories.geojson``: a (Multi)Polygon per street/town, properties unit_id, name; they tile the district.
- ``grids.geojson``: (Multi)Polygons with grid_id, name, territorial_unit, community, guarantee_unit (包保),
  chief and members (一长两员); the grids of each territory tile it.
- ``roads.geojson``: (Multi)LineStrings with name, road_chief (a unit), buffer_m; inside the district.
"""

from rectify.city.errors import CityDataError
from rectify.city.loader import DATA_FILES, DEFAULT_CITY_DIR, City, data_hash_of, load_city, policy_timezone

__all__ = ["DATA_FILES", "DEFAULT_CITY_DIR", "City", "CityDataError", "data_hash_of", "load_city", "policy_timezone"]
