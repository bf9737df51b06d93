"""The transformers range the listen backend admits is one range everywhere, it excludes the
releases the backend cannot run on, and the cache argument follows the release installed."""

from __future__ import annotations

import subprocess
import warnings
from pathlib import Path

import pytest

from linernotes.errors import ListenError
from linernotes.listen.backends.transformers_compat import (
    TRANSFORMERS_FLOOR,
    TRANSFORMERS_SPEC,
    cache_argument,
    check_transformers_version,
    version_tuple,
)

pytest_plugins = ["listen_fixtures"]
ROOT = Path(__file__).resolve().parent.parent


def test_one_range_in_the_package_the_extra_and_the_makefile():
    pyproject = (ROOT / "pyproject.toml").read_text()
    assert f'"{TRANSFORMERS_SPEC}",' in pyproject.split("listen = [", 1)[1].split("]", 1)[0]
    floor = subprocess.run(
        ["make", "-s", "-C", str(ROOT), "transformers-floor"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    assert floor == TRANSFORMERS_FLOOR


def test_releases_outside_the_range_are_refused_clearly():
    for outside in ("5.5.0", "5.9.0", "6.0.0"):
        with pytest.raises(ListenError, match=r"needs transformers>=5\.10\.1,<6: pip install"):
            check_transformers_version(outside)
    assert check_transformers_version("5.10.1") == "5.10.1"
    assert version_tuple(check_transformers_version()) >= version_tuple(TRANSFORMERS_FLOOR)


def test_the_cache_argument_of_the_installed_release_raises_no_deprecation(tiny_backends):
    import torch
    import transformers
    from transformers import DynamicCache

    model = tiny_backends["mf"].model
    expected = "cache" if version_tuple(transformers.__version__) >= (5, 24) else "past_key_values"
    assert cache_argument(model) == expected
    ids = torch.tensor([[5, 6, 7]])
    with warnings.catch_warnings():
        warnings.simplefilter("error", FutureWarning)
        with torch.inference_mode():
            model(input_ids=ids, use_cache=True, **{expected: DynamicCache(config=model.config)})
            model.generate(
                input_ids=ids,
                attention_mask=torch.ones_like(ids),
                max_new_tokens=2,
                do_sample=False,
                **{expected: DynamicCache(config=model.config)},
            )
