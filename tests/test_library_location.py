"""Where the library is: --db, the nearest .linernotes/ above a path, $LINERNOTES_DB, the
config file, else a new one at the folder analyze was given."""

from __future__ import annotations

from pathlib import Path

import pytest

from linernotes.library.location import (
    DB_NAME,
    ENV_CEILING,
    ENV_DB,
    LIBRARY_DIR,
    libraries_for,
    locate,
    nearest_library,
)


@pytest.fixture
def tree(tmp_path: Path, monkeypatch) -> Path:
    """``data/`` (a library) with ``a/b/song.flac`` and ``other/`` (none) beside it."""
    monkeypatch.delenv(ENV_DB, raising=False)
    monkeypatch.setenv("LINERNOTES_CONFIG", str(tmp_path / "no-config.toml"))
    (tmp_path / "data" / LIBRARY_DIR).mkdir(parents=True)
    (tmp_path / "data" / "a" / "b").mkdir(parents=True)
    (tmp_path / "data" / "a" / "b" / "song.flac").write_bytes(b"")
    (tmp_path / "other" / "sub").mkdir(parents=True)
    (tmp_path / "other" / "sub" / "x.wav").write_bytes(b"")
    return tmp_path


def test_the_nearest_library_above_a_path_wins(tree: Path, monkeypatch):
    song = tree / "data" / "a" / "b" / "song.flac"
    assert nearest_library(song) == tree / "data"
    found = locate(song)
    assert (found.db, found.root, found.how) == (tree / "data" / LIBRARY_DIR / DB_NAME,
                                                 tree / "data", "found")  # fmt: skip
    assert locate(tree / "other" / "sub" / "x.wav") is None
    # a ceiling fences off what lies above it
    monkeypatch.setenv(ENV_CEILING, str(tree / "data" / "a"))
    assert nearest_library(song) is None


def test_db_flag_then_walk_then_environment_then_config(tree: Path, monkeypatch):
    song = tree / "data" / "a" / "b" / "song.flac"
    stray = tree / "other" / "sub" / "x.wav"
    assert locate(song, tree / "elsewhere.db").how == "--db"
    monkeypatch.setenv(ENV_DB, str(tree / "env.db"))
    assert locate(song).how == "found"  # a library above the path comes first
    assert (locate(stray).db, locate(stray).how) == (tree / "env.db", ENV_DB)
    monkeypatch.delenv(ENV_DB)
    config = tree / "linernotes.toml"
    config.write_text(f'[library]\ndb = "{tree / "cfg" / LIBRARY_DIR / DB_NAME}"\n')
    monkeypatch.setenv("LINERNOTES_CONFIG", str(config))
    located = locate(stray)
    assert (located.how, located.root) == ("config", tree / "cfg")


def test_one_analyze_of_several_paths(tree: Path):
    song = tree / "data" / "a" / "b" / "song.flac"
    other = tree / "other"
    groups = libraries_for([other / "sub" / "x.wav", song, other])
    assert [(loc.how, loc.root, paths) for loc, paths in groups] == [
        ("new", other, [other / "sub" / "x.wav", other]),  # one new library, the outer folder
        ("found", tree / "data", [song]),
    ]
