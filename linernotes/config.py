"""The config file: ``linernotes.toml`` in the working folder, or the file named by
``LINERNOTES_CONFIG``. Each layer reads its own table (``[library]``, ``[listen]``).

Example::

    [library]
    db = "/data/linernotes/library.db"

    [listen]
    backend = "openai"
    base_url = "http://gpu-box:8000/v1"
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

CONFIG_FILE = "linernotes.toml"


def config_path() -> Path:
    """``$LINERNOTES_CONFIG``, else ``./linernotes.toml`` (which need not exist)."""
    named = os.environ.get("LINERNOTES_CONFIG")
    return Path(named) if named else Path.cwd() / CONFIG_FILE


def config_table(name: str, path: Path | None = None) -> dict[str, Any]:
    """The ``[name]`` table of the config file (empty when there is no file or table)."""
    path = path or config_path()
    if not path.is_file():
        return {}
    with open(path, "rb") as handle:
        return dict(tomllib.load(handle).get(name, {}))
