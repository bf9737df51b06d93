"""The fault suite, part 1: a hostile folder, given to the real command line.

Every case ends with a record or a one-line reason, the right exit code, a summary, an
intact library and valid records (issue 26). The folder is built in ``tmp_path``
(:func:`fault_fixtures.hostile_folder`); each command runs in a subprocess with a timeout,
so a hang fails instead of blocking the suite. Disk, pool and file-mode faults are in
``test_faults_io.py``.
"""

from __future__ import annotations

import os
import shutil
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest
from fault_fixtures import (
    GOOD_NAMES,
    NOT_UTF8,
    hostile_folder,
    leftovers,
    library_intact,
    modes_bind,
    namespace_mounts,
    records_valid,
    run_cli,
    tiny_wav,
)
from local_http import LocalServer, send_json

from linernotes.cli.main import main
from linernotes.listen.backends.openai import OpenAIBackend
from linernotes.listen.reach import check_reachable
from linernotes.listen.settings import ListenSettings

#: The reasons the hostile folder's bad entries get, by name.
REASONS = {
    "f.wav": "a FIFO (named pipe), not an audio file",
    "z.wav": "a character device, not an audio file",
    "loop1.wav": "cannot stat: Too many levels of symbolic links",
    "loop2.wav": "cannot stat: Too many levels of symbolic links",
    "locked": "cannot read folder: Permission denied",
}


@pytest.fixture
def hostile(tmp_path: Path):
    folder = hostile_folder(tmp_path)
    yield folder
    if (folder / "locked").exists():
        (folder / "locked").chmod(0o755)


def test_hostile_folder_gives_records_and_one_line_reasons(hostile: Path, tmp_path: Path):
    reasons = dict(REASONS)
    binding = modes_bind()
    if not binding:  # root that may not drop CAP_DAC_OVERRIDE reads a folder of mode 000
        (hostile / "locked").chmod(0o755)
        shutil.rmtree(hostile / "locked")
        del reasons["locked"]
    out = tmp_path / "out"
    done = run_cli(["analyze", hostile, "--out", out, "--workers", "2", "--quiet"],
                   cwd=tmp_path, modes_bind=binding)  # fmt: skip
    assert done.returncode == 1, done.stderr
    lines = done.stderr.splitlines()
    failed = sorted(line for line in lines if line.startswith("failed: "))
    # --quiet still prints each failure, once, in one line with its reason
    expected = sorted(f"failed: {hostile / name}: {reason}" for name, reason in reasons.items())
    assert failed == expected
    assert lines[-1] == f"linernotes: {4 + len(reasons)} tracks: 4 done, {len(reasons)} failed"
    assert not any("Traceback" in line for line in lines)
    # the good tracks, whatever their names, have valid records and are in the library
    records = records_valid(out)
    assert sorted(Path(r.file.path).name for r in records) == sorted(
        [*GOOD_NAMES[:3], "bad\\xffname.wav"]
    )
    assert (out / NOT_UTF8.replace(".wav", ".linernotes.json")).is_file()
    assert library_intact(hostile / ".linernotes" / "library.db") == 4
    assert not leftovers(out) and not leftovers(hostile)

    # the same command again: the stored names match (nothing redone), and without
    # --quiet the summary table prints names with control characters escaped
    again = run_cli(["analyze", hostile, "--out", out], cwd=tmp_path, modes_bind=binding)
    assert again.returncode == 1
    assert "skipped (already done)  4" in again.stderr
    assert f"failed                  {len(reasons)}" in again.stderr
    assert not any(line.startswith("line failed") for line in again.stderr.splitlines())


def test_newline_and_undecodable_names_are_escaped_in_failures(tmp_path: Path, capsys):
    folder = tmp_path / "names"
    folder.mkdir()
    (folder / "evil\nfailed: x.wav").write_bytes(b"not audio at all")
    (folder / os.fsdecode(b"\x1b[31mred\xfe.wav")).write_bytes(b"RIFF junk")
    assert main(["analyze", str(folder), "-q"]) == 1
    err = capsys.readouterr().err
    lines = err.splitlines()
    assert len([line for line in lines if line.startswith("failed: ")]) == 2
    assert any(f"{folder}/evil\\nfailed: x.wav: " in line for line in lines)
    assert any(f"{folder}/\\x1b[31mred\\xfe.wav: " in line for line in lines)
    assert "\x1b" not in err
    assert lines[-1] == "linernotes: 2 tracks: 2 failed"
    assert library_intact(folder / ".linernotes" / "library.db") == 0


def test_leading_dash_name_given_after_double_dash(tmp_path: Path, monkeypatch):
    tiny_wav(tmp_path / "-x.wav")
    monkeypatch.chdir(tmp_path)
    assert main(["analyze", "-q", "--", "-x.wav"]) == 0
    assert [Path(r.file.path).name for r in records_valid(tmp_path)] == ["-x.wav"]


def test_output_that_cannot_be_written_stops_before_any_work(tmp_path: Path):
    folder = tmp_path / "music"
    folder.mkdir()
    for i in range(3):
        tiny_wav(folder / f"t{i}.wav")
    out = tmp_path / "ro"
    out.mkdir()
    if namespace_mounts():  # a read-only file system, as in the report (errno 30)
        done = run_cli(["analyze", folder, "--out", out], cwd=tmp_path, tmpfs=(out, "ro"))
        reason = "Read-only file system"
    elif modes_bind():  # else a folder without write permission
        out.chmod(0o555)
        done = run_cli(["analyze", folder, "--out", out], cwd=tmp_path, modes_bind=True)
        out.chmod(0o755)
        reason = "Permission denied"
    else:
        pytest.skip("neither a private mount nor file modes can make --out unwritable here")
    assert done.returncode == 2, done.stderr
    assert done.stderr == f"linernotes: cannot write --out at {out}: {reason}\n"
    # nothing was analysed: no record stored, none written
    db = folder / ".linernotes" / "library.db"
    assert not db.exists() or library_intact(db) == 0
    assert not records_valid(tmp_path)


def test_exit_codes_usage_2_damaged_library_1_internal_error_3(tmp_path: Path, capsys, monkeypatch):
    with pytest.raises(SystemExit) as exit_:
        main(["analyze", "--workers", "many", "x"])
    assert exit_.value.code == 2
    assert main(["export", str(tmp_path), "--to", "nope"]) == 2
    tiny_wav(tmp_path / "a.wav")
    (tmp_path / ".linernotes").mkdir()
    (tmp_path / ".linernotes" / "library.db").write_bytes(b"garbage" * 1000)
    capsys.readouterr()
    assert main(["analyze", str(tmp_path / "a.wav")]) == 1
    assert capsys.readouterr().err == (
        f"linernotes: the library {tmp_path}/.linernotes/"
        "library.db is damaged: file is not a database\n"
    )
    # a bug outside any one track: one line, exit 3 (and the traceback on request)
    import linernotes.library

    def broken(*args, **kwargs):
        raise RuntimeError("a bug")

    monkeypatch.setattr(linernotes.library, "analyze_paths", broken)
    assert main(["analyze", str(tmp_path / "a.wav")]) == 3
    assert capsys.readouterr().err == (
        "linernotes: internal error: RuntimeError: a bug"
        " (set LINERNOTES_DEBUG=1 for the traceback)\n"
    )
    monkeypatch.setenv("LINERNOTES_DEBUG", "1")
    with pytest.raises(RuntimeError):
        main(["analyze", str(tmp_path / "a.wav")])


def test_symlinked_sidecar_leaving_the_dataset_is_replaced_not_read(tmp_path: Path):
    dataset, outside = tmp_path / "dataset", tmp_path / "outside.json"
    dataset.mkdir()
    tiny_wav(dataset / "song.wav")
    outside.write_text('{"secret": "do not copy me"}')
    (dataset / "song.json").symlink_to(outside)
    assert main(["analyze", str(dataset), "-q"]) == 0
    assert main(["export", str(dataset), "--to", "stable-audio"]) == 0
    sidecar = dataset / "song.json"
    assert not sidecar.is_symlink() and "secret" not in sidecar.read_text()
    assert outside.read_text() == '{"secret": "do not copy me"}'
    assert not leftovers(dataset)  # no lock or temporary file among the audio


def test_base_url_keeps_its_query_string():
    seen: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args) -> None:
            pass

        def do_GET(self) -> None:
            seen.append(self.path)
            send_json(self, 200, {"data": []})

    server = LocalServer(Handler)
    try:
        settings = ListenSettings.load(backend="openai", base_url=server.url + "/v1?token=abc",
                                       model="m")  # fmt: skip
        check_reachable(settings, "openai")
    finally:
        server.close()
    assert seen == ["/v1/models?token=abc"]
    backend = OpenAIBackend("http://gpu-box:8000/v1/?token=abc", "m")
    assert backend.url == "http://gpu-box:8000/v1/chat/completions?token=abc"
