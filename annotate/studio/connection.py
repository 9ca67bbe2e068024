"""Where the Label Studio server is and the key to it: from the environment or a config file, never argv.

Order: LABEL_STUDIO_URL / LABEL_STUDIO_API_KEY, then the file named by ANNOTATE_STUDIO_CONFIG, then
`.studio/connection.json` written by `annotate studio up`.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

DEFAULT_CONFIG = Path(".studio") / "connection.json"


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
    path = Path(config_path or os.environ.get("ANNOTATE_STUDIO_CONFIG") or DEFAULT_CONFIG)
    if path.exists():
        data = _read_config(path)
        if not isinstance(data.get("url"), str) or not isinstance(data.get("api_key"), str) \
                or not data["url"] or not data["api_key"]:
            raise ConnectionConfigError(f"{path}: needs fields 'url' and 'api_key' (strings)")
        # the environment may still override one half of it
        return Connection((url or data["url"]).rstrip("/"), key or data["api_key"], str(path))
    raise ConnectionConfigError(
        "no Label Studio connection: set LABEL_STUDIO_URL and LABEL_STUDIO_API_KEY, or start a local server "
        "with `annotate studio up` (it writes .studio/connection.json)")


def _read_config(path: Path) -> dict:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConnectionConfigError(f"{path}: cannot be read: {exc.strerror}") from None
    except UnicodeDecodeError as exc:
        raise ConnectionConfigError(f"{path}: not UTF-8 (byte {exc.start})") from None
    except json.JSONDecodeError as exc:
        # the message quotes no part of the file: it may hold the key
        raise ConnectionConfigError(f"{path}: not valid JSON: line {exc.lineno} column {exc.colno}: {exc.msg}"
                                    ) from None
    if not isinstance(data, dict):
        raise ConnectionConfigError(f"{path}: expected a JSON object with 'url' and 'api_key'")
    return data
