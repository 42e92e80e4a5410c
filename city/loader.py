"""Load a city folder into a `City`: its policy and its router, checked across files, and which bytes it was."""

from __future__ import annotations

import hashlib
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from rectify.city.errors import CityDataError
from rectify.city.geography import load_grids, load_roads, load_territories
from rectify.city.points import load_points
from rectify.city.policy import load_policy
from rectify.city.reader import Reader
from rectify.domain.inspection import InspectionPoint
from rectify.domain.policy import Policy
from rectify.domain.router import LocalMetres, Router

DEFAULT_CITY_DIR = Path(__file__).parent / "jiangbei"
#: The files a city folder consists of, in sorted order: `data_hash` covers exactly these.
DATA_FILES = (
    "calendar.toml",
    "categories.toml",
    "city.toml",
    "district.geojson",
    "grids.geojson",
    "inspection.toml",
    "points.geojson",
    "policy.toml",
    "roads.geojson",
    "territories.geojson",
    "units.toml",
)


@dataclass(frozen=True)
class City:
    """A loaded city: its policy, its router, where it came from and which bytes it was."""

    policy: Policy
    router: Router
    source_dir: Path
    #: `data_hash_of` the bytes the loader read (the DATA_FILES): which city data was in force.
    data_hash: str
    #: The inspection points (实地考察点位) by id; none when the folder has no points.geojson.
    points: dict[str, InspectionPoint] = field(default_factory=dict)


def data_hash_of(files: dict[str, bytes]) -> str:
    """SHA-256 over the data files in sorted name order, each framed as ``name NUL length NUL bytes``.

    The framing makes moving bytes from one file to the next change the hash. To recompute by hand:
    for each name in DATA_FILES, feed ``f"{name}\\0{len(data)}\\0".encode() + data``.
    """
    digest = hashlib.sha256()
    for name in sorted(files):
        data = files[name]
        digest.update(f"{name}\0{len(data)}\0".encode() + data)
    return digest.hexdigest()


def load_city(path: Path) -> City:
    """Read and cross-check a city folder; raise CityDataError naming the file and field at the first fault."""
    folder = Path(path)
    if not folder.is_dir():
        raise CityDataError(str(folder), None, "not a folder of city data")
    r = Reader(folder)
    policy = load_policy(r)
    district_features = r.features("district.geojson")
    if len(district_features) != 1:
        raise r.error("district.geojson", "features", f"expected one district outline, got {len(district_features)}")
    district = r.geometry("district.geojson", 0, district_features[0], ("Polygon", "MultiPolygon"))
    centre = district.centroid
    local = LocalMetres(centre.x, centre.y)
    territories = load_territories(r, policy, local, district)
    grids = load_grids(r, policy, local, territories)
    roads = load_roads(r, policy, local, district)
    router = Router(policy, district, territories, grids, roads)
    points = load_points(r, policy.inspection, policy.units, territories, district)
    return City(
        policy=policy, router=router, source_dir=folder.resolve(), data_hash=data_hash_of(r.read), points=points
    )


def policy_timezone(path: Path) -> str:
    """The zone a city folder's policy names (city.toml `timezone`), read without loading the rest."""
    try:
        named = tomllib.loads((Path(path) / "city.toml").read_text("utf-8")).get("timezone")
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        named = None
    return named if isinstance(named, str) else Policy.model_fields["timezone"].default
