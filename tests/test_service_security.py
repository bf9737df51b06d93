"""The review service's safety: path traversal, a symlink out of the library, an oversized
upload, the token on a non-loopback bind, DNS rebinding and cross-origin changes, and
schemathesis fuzzing of the published OpenAPI schema (no request makes the server fail or
answer outside its schema)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

pytest.importorskip("fastapi")
httpx = pytest.importorskip("httpx")

from service_fixtures import analysed_library, free_port, live_server, upload_edits  # noqa: E402

from linernotes.service.security import ServeSettings, is_loopback, safe_path  # noqa: E402


@pytest.fixture(scope="module")
def library(tmp_path_factory) -> Path:
    root = analysed_library(tmp_path_factory.mktemp("service_security"))
    outside = root.parent / "secret"
    outside.mkdir()
    (outside / "private.flac").write_bytes((root / "one.flac").read_bytes())
    (outside / "private.linernotes.json").write_text(
        (root / "one.linernotes.json").read_text().replace("one.flac", "private.flac")
    )
    os.symlink(outside / "private.flac", root / "escape.flac")
    os.symlink(outside / "private.linernotes.json", root / "escape.linernotes.json")
    return root


@pytest.fixture(scope="module")
def url(library: Path):
    with live_server(ServeSettings(root=library, port=free_port(), max_upload_bytes=1000)) as u:
        yield u


def test_no_path_leaves_the_library(url, library):
    with httpx.Client(base_url=url) as c:
        for path in (
            "/api/tracks/../../../etc/passwd/audio",
            "/api/tracks/..%2F..%2F..%2Fetc%2Fpasswd/audio",
            "/api/tracks/%2E%2E/secret/private.flac/audio",
            "/static/..%2F..%2F..%2F..%2Fetc%2Fpasswd",
            "/static/../security.py",
        ):
            response = c.get(path)
            assert response.status_code == 404, path
            assert b"root:" not in response.content and b"import" not in response.content
        # a symlink in the library pointing outside it is listed but never served
        assert c.get("/api/tracks", params={"q": "escape"}).json()["total"] == 1
        escaped = c.get("/api/tracks/escape.flac/audio")
        assert escaped.status_code == 403 and "outside the library" in escaped.json()["detail"]
        assert c.get("/api/tracks/escape.flac/peaks").status_code == 403
    with pytest.raises(PermissionError):
        safe_path(library / "sub" / ".." / ".." / "secret" / "private.flac", library)
    assert safe_path(library / "sub" / ".." / "one.flac", library) == library / "one.flac"


def test_uploads_are_capped_and_type_checked(url):
    with httpx.Client(base_url=url) as c:
        big = b"File,BPM\n" + b"one.flac,120\n" * 200
        response = upload_edits(c, big)
        assert response.status_code == 413 and "1000 byte" in response.json()["detail"]
        huge = c.post(
            "/api/bulk",
            content=b"x" * (5 * 1024 * 1024),
            headers={"Content-Type": "application/json"},
        )
        assert huge.status_code == 413
        binary = upload_edits(c, b"\xff\xfe\x00")
        assert binary.status_code == 415
        mislabelled = upload_edits(c, b"{}", content_type="image/png")
        assert mislabelled.status_code == 415


def test_loopback_only_answers_loopback_names_and_same_origin_changes(url):
    with httpx.Client(base_url=url) as c:
        rebound = c.get("/api/tracks", headers={"Host": "attacker.example"})
        assert rebound.status_code == 403
        body = {"ids": ["one.flac"], "op": "bpm_double"}
        cross = c.post("/api/bulk", json=body, headers={"Origin": "http://attacker.example"})
        assert cross.status_code == 403
        question = {"track": "one.flac", "question": "tempo?", "conversation": "x"}
        evil = {"Origin": "http://attacker.example"}
        assert c.post("/api/chat", json=question, headers=evil).status_code == 403
        preflight = c.options(
            "/api/bulk",
            headers={"Origin": "http://attacker.example", "Access-Control-Request-Method": "POST"},
        )
        assert "access-control-allow-origin" not in preflight.headers
        page = c.get("/")
        assert "default-src 'self'" in page.headers["content-security-policy"]
        assert "access-control-allow-origin" not in page.headers


def test_non_loopback_bind_requires_the_token(library):
    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost")
    assert not is_loopback("0.0.0.0") and not is_loopback("192.168.1.5")
    settings = ServeSettings(root=library, host="0.0.0.0", port=free_port())
    assert settings.new_token and settings.token and len(settings.token) >= 24
    with live_server(settings) as url, httpx.Client(base_url=url) as c:
        assert c.get("/api/tracks").status_code == 401
        assert c.get("/api/tracks/one.flac/audio").status_code == 401
        assert c.get("/", headers={"Authorization": "Bearer wrong"}).status_code == 401
        health = c.get("/health").json()
        assert health["token_required"] and health["root"] == ""
        auth = {"Authorization": f"Bearer {settings.token}"}
        assert c.get("/api/tracks", headers=auth).json()["total"] == 5
        first = c.get("/", params={"token": settings.token})  # the link printed at start
        assert first.status_code == 303 and first.headers["location"] == "/"
        assert "httponly" in first.headers["set-cookie"].lower()
        assert c.get("/api/tracks").status_code == 200  # the cookie now carries it
        assert "access-control-allow-origin" not in c.get("/api/tracks").headers


def test_chat_off_loopback_requires_the_token(library):
    from linernotes.chat import ChatSettings, LibraryAccess
    from linernotes.chat.web import TrackChats

    chats = TrackChats(LibraryAccess(library), ChatSettings(llm_base_url=None))
    settings = ServeSettings(root=library, host="0.0.0.0", port=free_port())
    question = {"track": "one.flac", "question": "What is the tempo?", "conversation": "x"}
    with live_server(settings, chat=chats) as url, httpx.Client(base_url=url) as c:
        refused = c.post("/api/chat", json=question)
        assert refused.status_code == 401 and "token required" in refused.json()["detail"]
        assert c.get("/health").json()["chat"] == ""  # not told without the token
        auth = {"Authorization": f"Bearer {settings.token}"}
        assert c.get("/health", headers=auth).json()["chat"] == "measurements"
        answer = c.post("/api/chat", json=question, headers=auth)
        assert answer.status_code == 200 and "event: done" in answer.text
        assert "BPM" in answer.text  # answered from the measurements
    chats.close()


def test_openapi_schema_fuzzing(tmp_path_factory):
    from linernotes.chat import ChatSettings, LibraryAccess
    from linernotes.chat.web import TrackChats

    library = analysed_library(tmp_path_factory.mktemp("service_fuzz"))
    chats = TrackChats(LibraryAccess(library), ChatSettings(llm_base_url=None))
    with live_server(ServeSettings(root=library, port=free_port()), chat=chats) as url:
        _fuzz(url)
    chats.close()


def _fuzz(url: str) -> None:
    schemathesis = pytest.importorskip("schemathesis")
    from hypothesis import HealthCheck, Phase, given, settings

    schema = schemathesis.openapi.from_url(f"{url}/openapi.json")
    # jobs start worker processes: tested on their own in test_service_api
    schema = schema.exclude(path_regex="^/api/jobs")
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 12
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=8,
            deadline=None,
            database=None,
            phases=[Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        def check(case) -> None:
            case.call_and_validate(base_url=url)

        check()
