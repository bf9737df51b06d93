"""The review UI in a real headless browser (Debian's chromium + chromium-driver through
Selenium): load the list, open a flagged track, play it, see the beat markers drawn on the
waveform, double the BPM with a shortcut, lock it, ask the chat panel a question (a local
server speaking OpenAI's protocol plays the text model) and apply the edit it proposes,
reload, and find the edits and the lock in the page and through ``linernotes show``.
Screenshots of both views are written to ``$LINERNOTES_SCREENSHOTS`` (``make screenshots``
points it at docs/) or a temporary folder.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("fastapi")
webdriver = pytest.importorskip("selenium.webdriver")

from chat_server import Reply, ScriptedOpenAI, tool_results  # noqa: E402
from selenium.webdriver.chrome.service import Service as DriverService  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402
from service_fixtures import (  # noqa: E402
    HEADLESS_CHROMIUM,
    analysed_library,
    free_port,
    live_server,
)

from linernotes.chat import ChatSettings, LibraryAccess  # noqa: E402
from linernotes.chat.web import TrackChats  # noqa: E402
from linernotes.service.security import ServeSettings  # noqa: E402

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
DRIVER = shutil.which("chromedriver")
FLAGS = [*HEADLESS_CHROMIUM, "--window-size=1400,900", "--lang=en-US"]

pytestmark = pytest.mark.skipif(
    not (CHROMIUM and DRIVER),
    reason="NO BROWSER: chromium and chromium-driver are not installed (make test installs"
    " them with apt-get); the review UI was NOT tested in a browser",
)


@pytest.fixture
def llm_server():
    server = ScriptedOpenAI()
    yield server
    server.close()


def chat_script(server: ScriptedOpenAI, track: str) -> None:
    """The text model reads the measurements and proposes a key, then answers from them."""
    server.push(
        Reply(
            tool_calls=[
                ("measurements", {"track": track}),
                ("propose_edit", {"track": track, "field": "key", "value": "F major"}),
            ]
        )
    )

    def answer(body: dict) -> Reply:
        tempo = tool_results(body)["measurements"]["tempo"]
        return Reply(content=f"The measured tempo is {tempo['bpm']:.0f} BPM and steady.")

    server.push(answer)


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    options = webdriver.ChromeOptions()
    for flag in FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}")
    options.binary_location = CHROMIUM
    driver = webdriver.Chrome(options=options, service=DriverService(DRIVER))
    driver.set_script_timeout(20)
    yield driver
    driver.quit()


def press(driver, keys: str) -> None:
    """Type ``keys`` into the page (trusted key events, as a person's)."""
    driver.find_element(By.TAG_NAME, "body").send_keys(keys)


def wait(driver, script: str, timeout: float = 15.0):
    """Wait until ``script`` (a JS expression) is truthy; return its value."""
    return WebDriverWait(driver, timeout, poll_frequency=0.1).until(
        lambda d: d.execute_script(f"return {script}")
    )


def screenshot(driver, name: str, tmp: Path) -> Path:
    folder = Path(os.environ.get("LINERNOTES_SCREENSHOTS") or tmp)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    assert driver.save_screenshot(str(path))
    assert path.stat().st_size > 20_000  # a rendered page, not a blank one
    return path


def test_review_a_flagged_track_in_the_browser(browser, tmp_path_factory, tmp_path, llm_server):
    library = analysed_library(tmp_path_factory.mktemp("service_browser"))
    settings = ServeSettings(root=library, port=free_port())
    chat = ChatSettings(llm_base_url=llm_server.base_url, llm_model="test-llm")
    chats = TrackChats(LibraryAccess(library), chat)
    with live_server(settings, chat=chats) as url:
        browser.get(url + "/")
        wait(browser, "document.querySelectorAll('#tracks tbody tr').length === 4")
        press(browser, "r")  # needs-review filter: every track lacks a caption
        wait(browser, "document.getElementById('review-only').checked")
        wait(browser, "document.querySelectorAll('#tracks tbody tr').length === 4")
        screenshot(browser, "review-list.png", tmp_path)

        press(browser, "j")
        press(browser, "\ue007")  # Enter opens the track under the cursor
        track_id = wait(
            browser,
            "location.hash.startsWith('#/track/') && decodeURIComponent(location.hash.slice(8))",
        )
        wait(browser, "document.querySelector('#fields .field.flagged')")
        wait(browser, "document.getElementById('waveform').dataset.drawn === 'peaks'")
        beats = int(wait(browser, "document.getElementById('waveform').dataset.beats"))
        assert beats > 8
        # a downbeat marker is drawn in its colour where the first downbeat lies (the first
        # clear of the canvas's left edge: a track that starts on its downbeat has one at 0 s)
        marker = browser.execute_script("""
            const c = document.getElementById('waveform'), t = window.linernotes.trackView.track;
            const px = (d) => Math.round(d / t.duration * c.clientWidth * devicePixelRatio);
            const x = px(t.downbeats.find((d) => px(d) >= 2));
            return Array.from(c.getContext('2d').getImageData(x - 1, 60, 3, 1).data);""")
        assert any(marker[i] > 200 and 80 < marker[i + 1] < 130 for i in range(0, 12, 4)), marker

        press(browser, " ")  # play
        wait(browser, "!document.getElementById('player').paused")
        wait(browser, "document.getElementById('player').currentTime > 0.3")
        press(browser, " ")
        wait(browser, "document.getElementById('player').paused")

        bpm = float(browser.find_element(By.ID, "field-bpm").get_attribute("value"))
        press(browser, "h")  # BPM x1/2 with the shortcut: staged, marked unsaved
        wait(browser, "document.querySelector('[data-field=bpm]').classList.contains('dirty')")
        assert browser.find_element(By.ID, "dirty").text == "● 1 unsaved"
        press(browser, "l")  # lock: saves the new value as verified
        wait(browser, "document.getElementById('dirty').hidden")
        wait(browser, "document.querySelector('[data-field=bpm] .lock')")
        press(browser, "?")
        wait(browser, "document.getElementById('help').open")
        assert "play / pause" in browser.find_element(By.ID, "help").text
        press(browser, "\ue00c")  # Escape
        wait(browser, "!document.getElementById('help').open")

        chat_script(llm_server, track_id)  # ask in the chat panel; the answer streams in
        box = browser.find_element(By.ID, "chat-question")
        box.send_keys("What is the tempo, and is the key right?")
        box.send_keys("\ue007")
        answer = wait(browser, "document.querySelector('#chat-log .chat-a.done')?.textContent")
        measured = float(answer.split("tempo is ")[1].split()[0])
        assert measured == pytest.approx(bpm / 2, abs=1)  # the tool sees the edit just saved
        tools = browser.find_elements(By.CSS_SELECTOR, "#chat-log .chat-tool b")
        assert [t.text for t in tools] == ["measurements", "propose_edit"]
        assert browser.find_element(By.ID, "field-key").get_attribute("value") != "F major"
        browser.find_element(By.CSS_SELECTOR, "#chat-log .chat-edit button.primary").click()
        wait(browser, "document.querySelector('#chat-log .chat-edit.applied')")
        assert browser.find_element(By.ID, "field-key").get_attribute("value") == "F major"
        key_badge = browser.find_element(By.CSS_SELECTOR, "[data-field=key] .badge").text
        assert key_badge.lower() == "human"
        browser.execute_script("document.getElementById('player').currentTime = 2.0")
        screenshot(browser, "review-track.png", tmp_path)

        browser.refresh()
        wait(browser, "document.querySelector('[data-field=bpm] .lock')")
        shown = float(browser.find_element(By.ID, "field-bpm").get_attribute("value"))
        assert shown == pytest.approx(bpm / 2, abs=0.001)
        badge = browser.find_element(By.CSS_SELECTOR, "[data-field=bpm] .badge").text
        assert badge.lower() == "human"

        # a browser cannot play AIFF: the service sends its FLAC transcode, which plays
        browser.get(url + "/#/track/four.aiff")
        wait(browser, "document.getElementById('track-title').textContent === 'four.aiff'")
        press(browser, " ")
        wait(browser, "document.getElementById('player').currentTime > 0.3")
        press(browser, " ")

    chats.close()
    record = subprocess.run(
        [sys.executable, "-m", "linernotes.cli", "show", "--json", str(library / track_id)],
        capture_output=True,
        text=True,
        check=True,
    )
    fields = json.loads(record.stdout)["final"]["fields"]
    final_bpm = fields["bpm"]
    assert final_bpm["value"] == pytest.approx(bpm / 2, abs=0.001)
    assert final_bpm["locked"] and final_bpm["provenance"] == "human"
    assert fields["key"]["value"] == "F major" and fields["key"]["provenance"] == "human"
