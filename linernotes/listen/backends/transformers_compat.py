"""Which transformers releases the in-process backend runs on, and the one argument whose
name changed inside that range.

The lowest release that has everything the backend calls is 5.10.1: ``replace_audio_token``,
which expands a track's audio placeholder exactly as the processor does, first appears in the
AF3 and Music Flamingo processors in 5.10 (5.10.0 was never published on PyPI), and the Music
Flamingo classes themselves need 5.5. The range ends before 6, whose API is not known yet. The
package's ``listen`` extra, the endpoint's ``requirements.txt`` and the ``make test`` floor
environment all read :data:`TRANSFORMERS_SPEC`; the tests check that they agree.

Within the range the language model's cache argument was renamed: releases before 5.24 take
only ``past_key_values=``; from 5.24 ``forward`` and ``generate`` take ``cache=`` and warn that
``past_key_values`` will be removed (in 5.40 for ``forward``, in 6.0 for ``generate``).
:func:`cache_argument` names the one a loaded model's ``forward`` takes.
"""

from __future__ import annotations

import inspect
import re
from typing import Any

from linernotes.errors import ListenError

#: The lowest transformers release the backend runs on (see the module docstring).
TRANSFORMERS_FLOOR = "5.10.1"
#: The requirement written wherever transformers is installed for the backend.
TRANSFORMERS_SPEC = f"transformers>={TRANSFORMERS_FLOOR},<6"


def version_tuple(version: str) -> tuple[int, ...]:
    """The leading numbers of a version: ``"5.25.0.dev0"`` -> ``(5, 25, 0)``.

    >>> version_tuple("5.25.0.dev0") > version_tuple("5.10.1") > version_tuple("5.9.0")
    True
    """
    match = re.match(r"\d+(?:\.\d+)*", version.strip())
    return tuple(int(n) for n in match.group(0).split(".")) if match else ()


def check_transformers_version(version: str | None = None) -> str:
    """The installed transformers version, or a clear :class:`ListenError` when it is outside
    :data:`TRANSFORMERS_SPEC` (an endpoint image or a venv that kept an older release)."""
    if version is None:
        import transformers

        version = str(transformers.__version__)
    found = version_tuple(version)
    if found < version_tuple(TRANSFORMERS_FLOOR) or found >= (6,):
        raise ListenError(
            f"transformers {version} is installed; the listen backend needs {TRANSFORMERS_SPEC}:"
            f" pip install '{TRANSFORMERS_SPEC}'"
        )
    return version


def cache_argument(model: Any) -> str:
    """``"cache"`` when the model's ``forward`` takes the new name, else
    ``"past_key_values"``; the same name is given to ``generate``."""
    try:
        parameters = inspect.signature(model.forward).parameters
    except (TypeError, ValueError):  # pragma: no cover - a forward without a signature
        return "past_key_values"
    return "cache" if "cache" in parameters else "past_key_values"
