"""The transformers backend end to end on tiny random AF3 and Music Flamingo models."""

from __future__ import annotations

import json

import numpy as np
import pytest

pytest.importorskip("torch")
pytest.importorskip("transformers")

from linernotes.library.db import LibraryDB
from linernotes.listen import MemoryListenCache, PromptLibrary, listen_to_track
from linernotes.listen.audio import MODEL_SR, Clip
from linernotes.listen.backends.transformers import TransformersBackend, load_model
from linernotes.listen.synthetic import build_random_model, model_card_generate, token_backend

pytest_plugins = ["listen_fixtures"]

FIVE = "caption,genre_mood_inst,technical,lyrics,quality"


def _tokens(outputs) -> list[list[int]]:
    return [[int(t) for t in o.text.split()] for o in outputs]


@pytest.mark.parametrize("family", ["af3", "mf"])
def test_loads_by_path_with_real_classes_and_chat_template(family, tiny_backends, tiny_model_dirs):
    backend = tiny_backends[family]
    expected = {"af3": "AudioFlamingo3", "mf": "MusicFlamingo"}[family]
    assert type(backend.model).__name__ == f"{expected}ForConditionalGeneration"
    assert type(backend.processor).__name__ == f"{expected}Processor"
    assert backend.max_seconds == {"af3": 600.0, "mf": 1200.0}[family]
    assert backend.revision and backend.revision.startswith("local-")
    # loads once per process
    again = load_model(str(tiny_model_dirs[family]), device="cpu")
    assert again[0] is backend.model
    prompt = PromptLibrary().get("brief").render()
    text = backend._chat_text(prompt)
    assert text.startswith("<|im_start|>system\n")
    assert f"<|im_start|>user\n<sound>{prompt.text}<|im_end|>\n<|im_start|>assistant\n" in text
    if family == "mf":
        assert "You are Music Flamingo" in text


@pytest.mark.parametrize("family", ["af3", "mf"])
def test_five_prompts_encode_once_decode_together_and_match_batch_size_one(
    family, tiny_backends, noise_16k, force_tokens, count_encoder
):
    """The default path (one encoding, one prefill of the shared prefix, the five decoded as
    one batch) gives, token for token, what batch size 1 and the model card's recipe give."""
    base = tiny_backends[family]
    together = token_backend(base.model, base.processor)
    alone = token_backend(base.model, base.processor, batch_size=1)
    prompts = force_tokens(p.render({"bpm": 120.0}) for p in PromptLibrary().select(FIVE))
    with count_encoder(base.model) as counter:
        outputs = together.generate(noise_16k, prompts)
    assert counter.calls == 1
    assert [o.prompt_id for o in outputs] == FIVE.split(",")
    assert {o.info["decode"] for o in outputs} == {"together"}
    assert {o.info["batch_rows"] for o in outputs} == {5}
    assert outputs[0].info["shared_prefix_tokens"] > 100  # the audio sits in the shared prefix
    assert all(o.info["new_tokens"] == 8 for o in outputs)
    with count_encoder(base.model) as counter:
        reference = alone.generate(noise_16k, prompts)
    assert counter.calls == 1 and {o.info["decode"] for o in reference} == {"alone"}
    assert _tokens(outputs) == _tokens(reference)
    assert _tokens(outputs) == [model_card_generate(base, noise_16k, p) for p in prompts]
    # the decoded texts are the same too
    import torch

    assert [o.text for o in base.generate(noise_16k, prompts)] == [
        base._decode(torch.tensor(t)) for t in _tokens(outputs)
    ]


@pytest.mark.parametrize("family", ["af3", "mf"])
def test_rows_with_their_own_limits_leave_the_batch_as_they_finish(family, noise_16k):
    """Different lengths, repetition penalties, a minimum length and an end-of-sequence token
    that the model really emits: rows stop at different steps and the rest go on."""
    model, processor = build_random_model(family, "tiny", seed=3)
    together = token_backend(model, processor, batch_size=3)
    alone = token_backend(model, processor, batch_size=1)
    library = PromptLibrary()
    base = [p.render() for p in library.select("caption,quality,tags,lyrics")]
    limits = [(12, None, 1.05), (5, None, None), (9, 7, 1.2), (7, None, 1.0)]
    prompts = [
        p.model_copy(
            update={
                "generation": p.generation.merged(
                    max_new_tokens=m, min_new_tokens=lo, repetition_penalty=rp
                )
            }
        )
        for p, (m, lo, rp) in zip(base, limits, strict=True)
    ]
    first = _tokens(alone.generate(noise_16k, prompts[:1]))[0]
    eos = processor.tokenizer.convert_tokens_to_ids("<|im_end|>")
    model.generation_config.eos_token_id = [eos, first[4]]  # the caption stops at step 5 or before
    outputs = together.generate(noise_16k, prompts)
    reference = alone.generate(noise_16k, prompts)
    assert [o.info["batch_rows"] for o in outputs] == [3, 3, 3, 1]  # batches of batch_size
    assert _tokens(outputs) == _tokens(reference)
    assert _tokens(outputs) == [model_card_generate(alone, noise_16k, p) for p in prompts]
    # the caption stopped at the end-of-sequence token (kept, as generate keeps it), the
    # others at their own limits: the batch shrank as rows finished
    assert [len(t) for t in _tokens(outputs)] == [5, 5, 9, 7]
    assert _tokens(outputs)[0][-1] == first[4]


def test_sampling_rows_are_decoded_alone_with_their_seed(tiny_backends, noise_16k, force_tokens):
    base = tiny_backends["af3"]
    together = token_backend(base.model, base.processor)
    alone = token_backend(base.model, base.processor, batch_size=1)
    greedy = force_tokens([p.render() for p in PromptLibrary().select("caption,tags")], 6)
    sampled = greedy[1].model_copy(
        update={"generation": greedy[1].generation.merged(do_sample=True, temperature=0.9, seed=7)}
    )
    outputs = together.generate(noise_16k, [greedy[0], sampled])
    assert outputs[0].info["decode"] == "together"
    assert outputs[1].info["decode"] == "alone"
    assert "sampling" in outputs[1].info["decode_reason"]
    assert _tokens(outputs) == _tokens(alone.generate(noise_16k, [greedy[0], sampled]))


@pytest.mark.parametrize("family", ["af3", "mf"])
def test_tracks_decoded_together_match_batch_size_one(
    family, tiny_backends, noise_16k, force_tokens, count_encoder
):
    """Batching across tracks of different lengths (so the prefixes are padded differently)
    gives the tokens of batch size 1, one track at a time."""
    base = tiny_backends[family]
    batched = token_backend(base.model, base.processor, batch_size=8)
    alone = token_backend(base.model, base.processor, batch_size=1)
    prompts = [p.render() for p in force_tokens(PromptLibrary().select("very_brief,quality"), 6)]
    other = (0.5 * noise_16k[: MODEL_SR * 2]).copy()
    third = noise_16k[::-1].copy()
    with count_encoder(base.model) as counter:
        many = batched.generate_many([noise_16k, other, third], prompts)
    assert counter.calls == 3  # one encoding per track, all six rows decoded together
    assert {o.info["batch_rows"] for t in many for o in t} == {6}
    assert many[1][0].audio.duration_s == 2.0 and many[1][0].prompt_id == "very_brief"
    expected = [alone.generate(t, prompts) for t in (noise_16k, other, third)]
    assert [_tokens(t) for t in many] == [_tokens(t) for t in expected]
    # more rows than batch_size: whole tracks per batch
    small = token_backend(base.model, base.processor, batch_size=3)
    chunked = small.generate_many([noise_16k, other], prompts)
    assert {o.info["batch_rows"] for t in chunked for o in t} == {2}
    assert [_tokens(t) for t in chunked] == [_tokens(t) for t in expected[:2]]


def test_resamples_arrays_and_reads_files(tiny_backends, noise_16k, tmp_path, force_tokens):
    from linernotes.audio.encode import write_audio
    from linernotes.listen.audio import resample

    backend = tiny_backends["af3"]
    prompts = force_tokens([PromptLibrary().get("very_brief").render()])
    at_44k = resample(noise_16k, MODEL_SR, 44100)
    from_44k = backend.generate(at_44k, prompts, sample_rate=44100)[0]
    assert from_44k.audio.duration_s == pytest.approx(4.0, abs=0.01)  # not read as 11 s
    path = tmp_path / "noise.flac"
    write_audio(path, np.stack([at_44k, at_44k]), 44100)
    from_file = backend.generate(path, prompts)[0]
    assert from_file.audio.duration_s == pytest.approx(4.0, abs=0.05)
    assert from_file.text


def test_long_track_policy_truncate_and_window(tiny_model_dirs, tiny_backends, force_tokens):
    base = tiny_backends["mf"]
    audio = np.zeros(MODEL_SR * 50, dtype=np.float32)
    audio[::400] = 0.5
    prompts = force_tokens([PromptLibrary().get("tags").render()], 4)
    loaded = (base.model, base.processor)
    trunc = TransformersBackend("mf", loaded=loaded, max_seconds=30.0)
    out = trunc.generate(audio, prompts)[0]
    assert out.audio.truncated and out.audio.used_s == 30.0 and out.audio.duration_s == 50.0
    assert out.audio.policy == "truncate" and out.parts == []
    window = TransformersBackend("mf", loaded=loaded, max_seconds=30.0, long_audio="window")
    out = window.generate(audio, prompts)[0]
    assert not out.audio.truncated and out.audio.used_s == 50.0
    assert out.audio.segments == [(0.0, 25.0), (25.0, 50.0)]
    assert [p.start_s for p in out.parts] == [0.0, 25.0]
    assert out.text.startswith("[0:00-0:25]\n")


def test_listen_to_track_section_cache_and_parse(tiny_backends, noise_16k, tmp_path, count_encoder):
    backend = tiny_backends["mf"]
    library = PromptLibrary()
    prompts = [
        p.model_copy(update={"generation": p.generation.merged(max_new_tokens=6, min_new_tokens=6)})
        for p in library.select("caption,quality,lyrics")
    ]
    measured = {"bpm": 120.0, "key": "A minor", "time_signature": "4/4"}
    cache = MemoryListenCache()
    section = listen_to_track(noise_16k, backend, prompts, measured=measured, cache=cache)
    assert list(section.entries) == ["caption", "quality", "lyrics"]
    caption, quality = section.entries["caption"], section.entries["quality"]
    assert caption.context_given is False  # a caption never sees BPM/key
    assert quality.context_given is True and quality.context == measured
    assert quality.raw_text and quality.parsed is None and quality.parse_error  # random text
    assert caption.model_id == backend.model_id and caption.revision == backend.revision
    assert caption.generation["max_new_tokens"] == 6 and caption.elapsed_s > 0
    json.loads(section.model_dump_json())
    with count_encoder(backend.model) as counter:
        again = listen_to_track(noise_16k, backend, prompts, measured=measured, cache=cache)
    assert counter.calls == 0 and all(e.cached for e in again.entries.values())
    assert again.entries["caption"].raw_text == caption.raw_text
    # another context is another question
    other = listen_to_track(noise_16k, backend, prompts[1:2], measured={"bpm": 90.0}, cache=cache)
    assert not other.entries["quality"].cached
    # the library database's cache survives a new connection
    db = tmp_path / "library.db"
    with LibraryDB(db) as sql:
        listen_to_track(noise_16k, backend, prompts[:1], cache=sql)
    with LibraryDB(db) as sql:
        hit = listen_to_track(noise_16k, backend, prompts[:1], cache=sql)
        assert hit.entries["caption"].cached
        sql.forget_answers(hit.content_hash)
        assert (
            not listen_to_track(noise_16k, backend, prompts[:1], cache=sql)
            .entries["caption"]
            .cached
        )


def test_clip_identity_is_the_content_hash(tiny_backends, noise_16k, force_tokens):
    backend = tiny_backends["af3"]
    prompts = force_tokens([PromptLibrary().get("very_brief").render()], 2)
    section = listen_to_track(Clip(noise_16k), backend, "very_brief", content_hash="f" * 64)
    assert section.content_hash == "f" * 64
    assert backend.generate(noise_16k, prompts)[0].audio.windows == 1
