"""The examples in the package's docstrings run and print what they say.

Each module of ``linernotes`` is imported and its doctests run; a module that needs an
optional extra which is not installed (the in-process model backend needs torch) is skipped.
"""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

import linernotes


def _module_names() -> list[str]:
    return sorted(
        info.name for info in pkgutil.walk_packages(linernotes.__path__, prefix="linernotes.")
    )


@pytest.mark.parametrize("name", _module_names())
def test_docstring_examples_hold(name: str) -> None:
    try:
        module = importlib.import_module(name)
    except ImportError as exc:  # an optional extra that is not installed
        pytest.skip(f"{name} needs {exc.name}")
    result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE, verbose=False)
    assert result.failed == 0, f"{result.failed} of {result.attempted} examples in {name} failed"
