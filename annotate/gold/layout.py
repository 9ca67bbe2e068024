"""What the gold set's writer and reader share: the names of its files, its errors, and `GoldInfo` (what a
built set says about itself). Neither side imports the other; both import this.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..core.jsonl import JsonFileError, read_json_file
from ..core.schema import Schema

BUILD_FILE = "build.json"


AGREEMENT_FILE = "agreement.json"


class DatasetBuildError(ValueError):
    pass


class GoldReadError(ValueError):
    """A gold set that cannot be read; the message names the damaged file."""


def parquet_name(split: str, digest: str) -> str:
    """A digest of the rows is part of the file name on purpose: `datasets` caches a local folder by its
    data-file paths, so a gold set rebuilt under the same names would load stale rows from that cache."""
    return f"data/{split}-{digest}.parquet"


@dataclass
class GoldInfo:
    path: Path
    fingerprint: str
    schema_fingerprint: str
    build: dict
    agreement: dict | None

    @property
    def schema(self) -> Schema:
        """The schema the gold set was built with (types, roles, attributes)."""
        return Schema.from_dict(self.build["schema_definition"])


SPILL = ".rows"  # the unsorted rows of a build in progress, inside the temporary output folder


def _json_object(file: Path) -> dict:
    try:
        data = read_json_file(file)
    except JsonFileError as exc:
        raise GoldReadError(f"{exc}; rebuild the gold set with `annotate import`") from None
    if not isinstance(data, dict):
        raise GoldReadError(f"{file}: expected a JSON object; rebuild the gold set with `annotate import`")
    return data
