"""The chat text linernotes sends, against the real checkpoints' chat templates (vendored in
``tests/data/chat_templates``, see SOURCES.md there), not against the template the tiny-model
builder writes."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from linernotes.listen.backends.base import THINK_SUFFIX
from linernotes.listen.backends.transformers import TransformersBackend
from linernotes.listen.prompts import PromptLibrary

pytest_plugins = ["listen_fixtures"]

TEMPLATES = Path(__file__).parent / "data" / "chat_templates"
REAL = {
    "af3": (TEMPLATES / "audio-flamingo-3-hf.jinja").read_text(encoding="utf-8"),
    "mf": (TEMPLATES / "music-flamingo-2601-hf.jinja").read_text(encoding="utf-8"),
}
#: The prompts transformers' own tests expect these templates to render (see SOURCES.md).
EXPECTED = json.loads((TEMPLATES / "transformers_expected.json").read_text(encoding="utf-8"))
CHECKPOINT = {"af3": "audio-flamingo-3-hf", "mf": "music-flamingo-2601-hf"}
#: Each model's default system prompt, as those expected prompts carry it.
DEFAULT_SYSTEM = {
    family: EXPECTED[name].split("<|im_start|>system\n", 1)[1].split("<|im_end|>", 1)[0]
    for family, name in CHECKPOINT.items()
}


def _render(template: str, conversation: list[dict], **kwargs) -> str:
    from transformers.utils.chat_template_utils import render_jinja_template

    rendered, _ = render_jinja_template(
        conversations=[conversation], chat_template=template, **kwargs
    )
    return rendered[0]


@pytest.mark.parametrize("family", ["af3", "mf"])
def test_vendored_templates_render_what_transformers_tests_expect(family):
    conversation = [
        {
            "role": "user",
            "content": [
                {"type": "text", "text": EXPECTED["question"]},
                {"type": "audio", "path": "dogs_barking_in_sync_with_the_music.wav"},
            ],
        }
    ]
    rendered = _render(REAL[family], conversation, add_generation_prompt=True)
    assert rendered == EXPECTED[CHECKPOINT[family]]
    assert DEFAULT_SYSTEM["af3"] == "You are a helpful assistant."
    assert DEFAULT_SYSTEM["mf"].startswith("You are Music Flamingo, a multimodal assistant")


def _with_template(backend: TransformersBackend, template: str, **kwargs) -> TransformersBackend:
    processor = copy.copy(backend.processor)
    processor.chat_template = template
    return TransformersBackend.from_loaded(backend.model, processor, backend.model_id, **kwargs)


@pytest.mark.parametrize("family", ["af3", "mf"])
def test_linernotes_chat_text_under_the_real_templates(family, tiny_backends):
    real = _with_template(tiny_backends[family], REAL[family])
    library = PromptLibrary()
    default = library.get("caption").render()
    assert default.system is None
    assert real._chat_text(default) == (
        f"<|im_start|>system\n{DEFAULT_SYSTEM[family]}<|im_end|>\n"
        f"<|im_start|>user\n<sound>{default.text}<|im_end|>\n<|im_start|>assistant\n"
    )
    own = default.model_copy(update={"system": "Answer in JSON."})
    assert real._chat_text(own) == (
        "<|im_start|>system\nAnswer in JSON.<|im_end|>\n"
        f"<|im_start|>user\n<sound>{default.text}<|im_end|>\n<|im_start|>assistant\n"
    )
    if family == "af3":
        thinking = _with_template(tiny_backends[family], REAL[family])
        thinking.think_suffix = THINK_SUFFIX
        assert f"<sound>{default.text} {THINK_SUFFIX}<|im_end|>" in thinking._chat_text(default)


@pytest.mark.parametrize("family", ["af3", "mf"])
def test_the_tiny_models_template_sends_what_the_real_one_does(family, tiny_backends, noise_16k):
    """Every prompt of the library, with and without measured context or its own system
    message, becomes the same text and the same token ids as under the real template, so the
    tests on the tiny models exercise what a real checkpoint gets."""
    from linernotes.listen.audio import Clip

    tiny = tiny_backends[family]
    real = _with_template(tiny, REAL[family])
    library = PromptLibrary()
    prompts = [library.get(name).render({"bpm": 96.0}) for name in library.names()]
    prompts.append(prompts[0].model_copy(update={"system": "You annotate music."}))
    assert [tiny._chat_text(p) for p in prompts] == [real._chat_text(p) for p in prompts]
    clip = Clip(noise_16k[:16000])
    tiny_ids = tiny._prepare(clip, prompts)[1]
    real_ids = real._prepare(clip, prompts)[1]
    assert [t.tolist() for t in tiny_ids] == [r.tolist() for r in real_ids]
