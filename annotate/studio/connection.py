"""Where the Label Studio server is and the key to it: from the environment or a config file, never argv.

Order: LABEL_STUDIO_URL / LABEL_STUDIO_API_KEY, then the file named by ANNOTATE_STUDIO_CONFIG, then
`connection.json` in the folder named by ANNOTATE_STUDIO_HOME, then the folder `annotate studio up --home H` last
pointed this working folder at (`.studio/home.json`), then `.studio/connection.json` written by `annotate studio up`.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from ..core.atomic import atomic_write_json
from ..core.jsonl import JsonFileError, read_json_file

DEFAULT_HOME = Path(".studio")
DEFAULT_CONFIG = DEFAULT_HOME / "connection.json"
# Where `annotate studio up --home H` records H for later commands run in the same working folder.
HOME_POINTER = DEFAULT_HOME / "home.json"
CONNECTION_HELP = (
    "give one: LABEL_STUDIO_URL and LABEL_STUDIO_API_KEY in the environment; ANNOTATE_STUDIO_CONFIG=FILE (a JSON "
    "file with 'url' and 'api_key'); ANNOTATE_STUDIO_HOME=FOLDER (the --home of `annotate studio up`); or start a "
    "local server from this folder with `annotate studio up` (it writes .studio/connection.json)")


class ConnectionConfigError(RuntimeError):
    pass


@dataclass(frozen=True)
class Connection:
    url: str
    api_key: str = field(repr=False)
    source: str = ""

    def __str__(self) -> str:  # never show the key
        return f"{self.url} (credentials from {self.source})"

    def redact(self, text: str) -> str:
        return text.replace(self.api_key, "***") if self.api_key else text


def load_connection(config_path: str | Path | None = None) -> Connection:
    url = os.environ.get("LABEL_STUDIO_URL", "").rstrip("/")
    key = os.environ.get("LABEL_STUDIO_API_KEY", "")
    if url and key:
        return Connection(url, key, "environment")
    path, tried = _config_file(config_path)
    if path is not None:
        data = _read_config(path)
        if not isinstance(data.get("url"), str) or not isinstance(data.get("api_key"), str) \
                or not data["url"] or not data["api_key"]:
            raise ConnectionConfigError(f"{path}: needs fields 'url' and 'api_key' (strings)")
        # the environment may still override one half of it
        return Connection((url or data["url"]).rstrip("/"), key or data["api_key"], str(path))
    looked = f" (looked for {', '.join(tried)})" if tried else ""
    raise ConnectionConfigError(f"no Label Studio connection{looked}; {CONNECTION_HELP}")


def _config_file(config_path: str | Path | None) -> tuple[Path | None, list[str]]:
    """The first connection file that exists, in the order of the module's docstring; else None and what was
    named but missing (so the error can say which setting points nowhere)."""
    named = [("", config_path), ("ANNOTATE_STUDIO_CONFIG=", os.environ.get("ANNOTATE_STUDIO_CONFIG"))]
    home = os.environ.get("ANNOTATE_STUDIO_HOME")
    if home:
        named.append(("ANNOTATE_STUDIO_HOME: ", str(Path(home) / "connection.json")))
    pointed = pointed_home()
    if pointed is not None:
        named.append((f"{HOME_POINTER}: ", str(pointed / "connection.json")))
    tried = []
    for how, candidate in named:
        if not candidate:
            continue
        if Path(candidate).exists():
            return Path(candidate), tried
        tried.append(f"{how}{candidate}")
    return (DEFAULT_CONFIG, tried) if DEFAULT_CONFIG.exists() else (None, tried)


def pointed_home() -> Path | None:
    """The folder `annotate studio up --home H` last recorded in this working folder, if any."""
    try:
        home = json.loads(HOME_POINTER.read_text(encoding="utf-8")).get("home")
    except (OSError, ValueError, AttributeError):
        return None
    return Path(home) if isinstance(home, str) and home else None


def point_at_home(home: str | Path) -> Path | None:
    """Record `home` for later commands run in this working folder (nothing to record for .studio itself, whose
    connection is found anyway: an older record is removed). Returns the record's path when one was written."""
    home = Path(home).resolve()
    if home == DEFAULT_HOME.resolve():
        HOME_POINTER.unlink(missing_ok=True)
        return None
    DEFAULT_HOME.mkdir(exist_ok=True)
    if not (DEFAULT_HOME / ".gitignore").exists():
        (DEFAULT_HOME / ".gitignore").write_text("*\n")
    atomic_write_json(HOME_POINTER, {"home": str(home)})
    return HOME_POINTER


def forget_home(home: str | Path) -> None:
    """Remove this working folder's record of `home` (its server is stopped)."""
    pointed = pointed_home()
    if pointed is not None and pointed.resolve() == Path(home).resolve():
        HOME_POINTER.unlink(missing_ok=True)


def _read_config(path: Path) -> dict:
    try:
        data = read_json_file(path)  # its messages quote no part of the file: it may hold the key
    except JsonFileError as exc:
        raise ConnectionConfigError(str(exc)) from None
    if not isinstance(data, dict):
        raise ConnectionConfigError(f"{path}: expected a JSON object with 'url' and 'api_key'")
    return data
