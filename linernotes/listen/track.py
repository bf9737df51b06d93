"""Listen to one track: render the prompts, reuse cached answers, ask the backend for the
rest in one call (so the audio is encoded once), parse every reply and return the section.

:func:`listen_to_track` is pure apart from the cache it is given: the caller (the analyze
pipeline, the ``listen`` command) decides where the section goes.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from linernotes.fileio import StrPath, content_hash
from linernotes.listen.audio import Clip, load_clip
from linernotes.listen.backends.base import ListenBackend, ListenOutput
from linernotes.listen.cache import ListenCache, cache_key
from linernotes.listen.parse import Parsed, parse_reply
from linernotes.listen.prompts import Prompt, PromptLibrary, RenderedPrompt
from linernotes.models.listen import ListenEntry, ListenSection


def audio_identity(source: Any, sample_rate: int | None = None) -> tuple[str, Any]:
    """``(content hash, audio to send)``: a file's SHA-256 (the same hash the library store
    uses), or the hash of the 16 kHz samples of an array."""
    if isinstance(source, (str, os.PathLike)):
        return content_hash(Path(source)), source
    if isinstance(source, bytes):
        import hashlib

        return hashlib.sha256(source).hexdigest(), source
    clip = source if isinstance(source, Clip) else load_clip(np.asarray(source), sample_rate)
    return clip.digest(), clip


def listen_to_track(
    source: StrPath | np.ndarray | Clip | bytes,
    backend: ListenBackend,
    prompts: Sequence[Prompt] | str | None = None,
    *,
    sample_rate: int | None = None,
    measured: Mapping[str, Any] | None = None,
    content_hash: str | None = None,
    cache: ListenCache | None = None,
    library: PromptLibrary | None = None,
    force: bool = False,
) -> ListenSection:
    """Ask every prompt about one track and return a :class:`ListenSection`.

    Parameters
    ----------
    source
        A path, encoded file bytes, a :class:`Clip`, or samples (with ``sample_rate``).
    backend
        Where the model runs (:func:`linernotes.listen.make_backend`).
    prompts
        Prompts, or their names (list or comma-separated); default: the library's defaults.
    measured
        The measured ``bpm``, ``key`` and ``time_signature``; when given they are put into
        the prompts that accept context, and each entry records it.
    content_hash
        The file's SHA-256 when the caller already has it (the record's
        ``file.content_hash``), to avoid hashing twice.
    cache
        Answers kept from earlier runs; hits are marked ``cached``.
    force
        Ask again even when the cache has an answer.
    """
    if prompts is None or isinstance(prompts, str):
        prompts = (library or PromptLibrary()).select(prompts)
    rendered = [p.render(measured) for p in prompts]
    digest, audio = audio_identity(source, sample_rate)
    digest = content_hash or digest
    ident = backend.describe()
    keys = [cache_key(digest, ident, r, backend.long_audio) for r in rendered]

    entries: dict[str, ListenEntry] = {}
    missing: list[int] = []
    for i, (r, key) in enumerate(zip(rendered, keys, strict=True)):
        hit = cache.get(key) if cache is not None and not force else None
        if hit is not None:
            entry = ListenEntry.model_validate(hit)
            entries[r.prompt_id] = entry.model_copy(update={"cached": True})
        else:
            missing.append(i)

    if missing:
        outputs = backend.generate(audio, [rendered[i] for i in missing])
        ident = backend.describe()  # a remote backend learns its revision from the server
        for i, output in zip(missing, outputs, strict=True):
            entry = make_entry(rendered[i], output, ident)
            entries[rendered[i].prompt_id] = entry
            if cache is not None:
                cache.put(keys[i], digest, entry.model_dump(mode="json"))

    ordered = {r.prompt_id: entries[r.prompt_id] for r in rendered}
    return ListenSection(
        backend=ident["backend"],
        model_id=ident["model_id"],
        revision=ident.get("revision"),
        content_hash=digest,
        entries=ordered,
    )


def make_entry(prompt: RenderedPrompt, output: ListenOutput, ident: dict[str, Any]) -> ListenEntry:
    """Parse one output (segment by segment for a windowed track) into an entry."""
    parsed = parse_output(output, prompt.kind, prompt.prompt_id)
    return ListenEntry(
        prompt_id=prompt.prompt_id,
        prompt_version=prompt.prompt_version,
        kind=prompt.kind,
        backend=ident["backend"],
        model_id=ident["model_id"],
        revision=ident.get("revision"),
        variant=ident.get("variant"),
        generation=prompt.generation.as_dict(),
        context_given=prompt.context_given,
        context=prompt.context,
        prompt_digest=prompt.digest,
        raw_text=output.text,
        parsed=parsed.data,
        parse_error=parsed.error,
        parse_notes=parsed.notes,
        claims=parsed.claims,
        parts=output.parts,
        audio=output.audio,
        elapsed_s=output.elapsed_s,
        info=output.info,
    )


def parse_output(output: ListenOutput, kind: str, prompt_id: str) -> Parsed:
    """Parse a reply; a windowed reply is parsed per segment and the results merged."""
    if not output.parts:
        return parse_reply(output.text, kind, prompt_id)
    results = [parse_reply(p.text, kind, prompt_id) for p in output.parts]
    weights = [max(p.end_s - p.start_s, 1e-3) for p in output.parts]
    good = [(r, w) for r, w in zip(results, weights, strict=True) if r.data is not None]
    notes = [n for r in results for n in r.notes]
    claims: dict[str, Any] = {}
    for r in results:
        for k, v in r.claims.items():
            claims.setdefault(k, v)
    failed = [i for i, r in enumerate(results) if r.data is None]
    if failed:
        notes.append(f"segments {', '.join(str(i + 1) for i in failed)} did not parse")
    if not good:
        return Parsed(data=None, claims=claims, error=results[0].error, notes=notes)
    return Parsed(data=merge_data(good, kind), claims=claims, notes=notes)


def merge_data(parts: list[tuple[Parsed, float]], kind: str) -> dict[str, Any]:
    """Merge parsed segments: numbers are averaged by segment length, distinct strings
    joined, lists united in order, lyrics sections concatenated, texts joined."""
    datas = [(p.data or {}, w) for p, w in parts]
    if kind == "lyrics":
        sections = [s for d, _ in datas for s in d.get("sections", [])]
        instrumental = all(d.get("instrumental") for d, _ in datas)
        lyrics = "\n\n".join(d["lyrics"] for d, _ in datas if not d.get("instrumental"))
        return {
            "instrumental": instrumental,
            "sections": sections,
            "lyrics": "[Instrumental]" if instrumental else lyrics,
        }
    merged: dict[str, Any] = {}
    keys = list(dict.fromkeys(k for d, _ in datas for k in d))
    for key in keys:
        values = [(d[key], w) for d, w in datas if key in d]
        first = values[0][0]
        if isinstance(first, (int, float)) and not isinstance(first, bool):
            nums = [(float(v), w) for v, w in values if isinstance(v, (int, float))]
            total = sum(w for _, w in nums)
            merged[key] = round(sum(v * w for v, w in nums) / total, 4)
        elif isinstance(first, list):
            merged[key] = list(dict.fromkeys(x for v, _ in values for x in v))
        elif isinstance(first, str):
            sep = "\n\n" if key == "text" else "; "
            merged[key] = sep.join(dict.fromkeys(str(v) for v, _ in values))
        else:
            merged[key] = first
    return merged
