"""Train the beat/downbeat activation networks on ``bench/beat_train_set``'s clips.

The network is :mod:`linernotes.analyzers.rhythm.activation`'s (the same layers, in torch for
training). One network is trained per seed (:data:`SEEDS`), each for ``--minutes``; two or
more are stored as an ensemble whose probabilities the analyzer averages (the mean depends
less on one seed's luck; on dev it did not read better, so one network ships). ``--write``
stores the result as that module's package data file; ``--combine`` stores networks trained
earlier as one ensemble without training. Nothing of
``bench/corpus_set`` is read: its dev split is where the use of the activation is chosen, its
test split where it is reported.

Targets are each beat's (downbeat's) frame, its two neighbours at 0.5 (the usual widening for
frame targets). Each epoch every clip is time-stretched by a random factor (0.8 to 1.25, so
that every tempo is seen at many rates), given a random spectral tilt and smooth band gains
(another instrument, soundfont or room), and cut to a random window; 8 % of the clips (by
name) are held out to report the loss on; the weights of the epoch with the lowest held-out
loss are kept. A clip whose bar lines are unknown (``downbeats`` null: a game song with no
time signature) trains the beat alone: its downbeat target is masked out of the loss.

Usage::

    bench/beat_train_set --jobs 2
    bench/train_activation --minutes 60 --write               # the shipped network (seed 24)
    bench/train_activation --seeds 24,25,26 --out ens.npz     # an ensemble of three
    bench/train_activation --combine net24.npz net25.npz --out ens.npz   # from earlier runs
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import zlib
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import beat_train_set  # noqa: E402

from linernotes.analyzers.rhythm.activation import (  # noqa: E402
    HARMONIC_CHANNELS,
    WEIGHTS_FILE,
    ensemble_arrays,
    harmonic_frames,
    network_input,
)

#: The set it trains on (``bench/beat_train_set``'s, whose version lives there alone).
DATA = beat_train_set.DATA
CHANNELS, KERNEL, DILATIONS = 32, 5, (1, 2, 4, 8, 16, 32, 64, 128, 256, 512)
WINDOW_FRAMES, BATCH = 2400, 8
STRETCH = (0.8, 1.25)
#: One network per seed; several would be stored as an ensemble whose probabilities are
#: averaged (:func:`.activation.beat_activation`). The shipped network is seed 24 alone: an
#: ensemble of seeds 24, 25 and 26 did not read dev better (``rhythm_tuning_history.md``).
SEEDS = (24,)


def build_model(n_mels: int = 64, channels: int = CHANNELS) -> Any:
    """The torch twin of :func:`linernotes.analyzers.rhythm.activation.beat_activation`
    (``channels`` wide; the numpy inference reads any width from the weights)."""
    import torch
    from torch import nn

    class Net(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.input = nn.Conv1d(2 * n_mels + HARMONIC_CHANNELS, channels, 3, padding=1)
            self.dilated = nn.ModuleList(
                nn.Conv1d(channels, channels, KERNEL, dilation=d, padding=d * (KERNEL - 1) // 2)
                for d in DILATIONS)
            self.mix = nn.ModuleList(nn.Conv1d(channels, channels, 1) for _ in DILATIONS)
            self.output = nn.Conv1d(channels, 2, 1)
            self.drop = nn.Dropout(0.1)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            h = nn.functional.elu(self.input(x))
            for conv, mix in zip(self.dilated, self.mix, strict=True):
                h = h + mix(self.drop(nn.functional.elu(conv(h))))
            return self.output(h)

    return Net()


def weight_arrays(model: Any, meta: dict[str, Any]) -> dict[str, np.ndarray]:
    """``model``'s weights in the layout :func:`.activation.load_weights` reads."""
    arrays: dict[str, np.ndarray] = {
        "input_w": model.input.weight.detach().numpy(),
        "input_b": model.input.bias.detach().numpy(),
        "output_w": model.output.weight.detach().numpy()[:, :, 0],
        "output_b": model.output.bias.detach().numpy(),
        "n_blocks": np.array(len(DILATIONS)), "dilations": np.array(DILATIONS),
        "meta": np.array(json.dumps(meta)),
    }
    for i, (conv, mix) in enumerate(zip(model.dilated, model.mix, strict=True)):
        arrays[f"dilated_w{i}"] = conv.weight.detach().numpy()
        arrays[f"dilated_b{i}"] = conv.bias.detach().numpy()
        arrays[f"mix_w{i}"] = mix.weight.detach().numpy()[:, :, 0]
        arrays[f"mix_b{i}"] = mix.bias.detach().numpy()
    return {k: (v.astype(np.float32) if v.dtype.kind == "f" else v) for k, v in arrays.items()}


def write_arrays(path: Path, arrays: dict[str, np.ndarray]) -> None:
    """Store ``arrays`` as ``path`` (a temporary file, then renamed)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp.npz")
    np.savez(tmp, **arrays)
    os.replace(tmp, path)


def export_weights(model: Any, path: Path, meta: dict[str, Any]) -> None:
    """Write ``model``'s weights as a single-network file :func:`.activation.load_weights`
    reads."""
    write_arrays(path, weight_arrays(model, meta))


def ensemble(members: list[dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    """The arrays of one ensemble file from single networks' arrays (:func:`weight_arrays`),
    its metadata the members' metadata."""
    meta = {"members": [json.loads(str(m["meta"])) for m in members]}
    return {**ensemble_arrays(members), "meta": np.array(json.dumps(meta))}


def read_single(path: Path) -> dict[str, np.ndarray]:
    """The arrays of a single-network file (an ensemble file is refused)."""
    with np.load(path) as z:
        if "n_members" in z.files:
            raise SystemExit(f"{path}: already an ensemble; combine single networks")
        return {k: z[k] for k in z.files}


def targets(times: list[float], n: int, frame_rate: float) -> np.ndarray:
    """Frame targets: 1 on each event's frame, 0.5 on its neighbours."""
    y = np.zeros(n, np.float32)
    idx = np.round(np.asarray(times) * frame_rate).astype(int)
    idx = idx[(idx >= 0) & (idx < n)]
    for off, val in ((-1, 0.5), (1, 0.5), (0, 1.0)):
        j = np.clip(idx + off, 0, n - 1)
        y[j] = np.maximum(y[j], val)
    return y


def load_clips() -> list[dict[str, Any]]:
    manifest = json.loads((DATA / "manifest.json").read_text())["clips"]
    clips = []
    for c in manifest:
        with np.load(DATA / c["file"]) as z:
            mel, fr = z["mel_db"].astype(np.float32), float(z["frame_rate"])
            harmonic = harmonic_frames(z["chroma"], z["bass"], n_frames=mel.shape[1],
                                       hop_ratio=float(z["hop_ratio"]))
        clips.append({**c, "mel": mel, "harmonic": harmonic, "frame_rate": fr})
    return clips


def stretched_example(clip: dict[str, Any], rng: np.random.Generator, window: int
                      ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A random window of ``clip`` played faster or slower: (input, targets, mask), the mask
    0 on the downbeat row of a clip whose bar lines are unknown."""
    fr = clip["frame_rate"]
    n_mels = clip["mel"].shape[0]
    mel = np.concatenate([clip["mel"], clip["harmonic"]])
    s = float(np.exp(rng.uniform(np.log(STRETCH[0]), np.log(STRETCH[1]))))
    n_out = int(mel.shape[1] / s)
    src = np.arange(n_out) * s
    i0 = np.floor(src).astype(int).clip(0, mel.shape[1] - 1)
    i1 = (i0 + 1).clip(0, mel.shape[1] - 1)
    frac = (src - i0)[None, :]
    stretched = (1 - frac) * mel[:, i0] + frac * mel[:, i1]
    # another instrument, soundfont or room: a random spectral tilt and smooth band gains
    tilt = rng.uniform(-12.0, 12.0) * np.linspace(-0.5, 0.5, n_mels)
    bands = np.interp(np.arange(n_mels), np.linspace(0, n_mels - 1, 6), rng.normal(0, 3.0, 6))
    x = network_input(stretched[:n_mels] + (tilt + bands)[:, None].astype(np.float32),
                      stretched[n_mels:])
    beats = [t / s for t in clip["beats"]]
    downs = [t / s for t in clip["downbeats"] or ()]
    y = np.stack([targets(beats, n_out, fr), targets(downs, n_out, fr)])
    mask = np.ones((2, 1), np.float32)
    mask[1] = float(clip["downbeats"] is not None)
    if n_out > window:
        start = int(rng.integers(0, n_out - window))
        x, y = x[:, start:start + window], y[:, start:start + window]
    elif n_out < window:
        pad = window - n_out
        x = np.pad(x, ((0, 0), (0, pad)), constant_values=0.0)
        x[:n_mels, n_out:] = -1.0
        y = np.pad(y, ((0, 0), (0, pad)))
    return x.astype(np.float32), y, np.broadcast_to(mask, y.shape)


def masked_loss(logits: Any, y: Any, mask: Any) -> Any:
    """Binary cross-entropy over the frames the mask keeps (their mean)."""
    import torch

    per_frame = torch.nn.functional.binary_cross_entropy_with_logits(logits, y, reduction="none")
    return (per_frame * mask).sum() / mask.sum().clamp(min=1.0)


def train_network(clips: list[dict[str, Any]], *, seed: int, minutes: float, lr: float,
                  channels: int = CHANNELS) -> tuple[Any, dict[str, Any]]:
    """One network trained on ``clips`` for ``minutes`` from ``seed``: the epoch with the
    lowest held-out loss, and its metadata."""
    import torch

    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    held = [c for c in clips if zlib.crc32(c["name"].encode()) % 100 < 8]
    train = [c for c in clips if c not in held]
    print(f"seed {seed}: {len(train)} training clips, {len(held)} held out", flush=True)
    model = build_model(channels=channels)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    val_rng = np.random.default_rng(0)
    val = [stretched_example(c, val_rng, WINDOW_FRAMES) for c in held]
    vx = torch.from_numpy(np.stack([v[0] for v in val]))
    vy = torch.from_numpy(np.stack([v[1] for v in val]))
    vm = torch.from_numpy(np.stack([v[2] for v in val]))
    budget = minutes * 60.0
    started = time.monotonic()
    epoch, best = 0, (float("inf"), None)
    while time.monotonic() - started < budget:
        epoch += 1
        model.train()
        order = rng.permutation(len(train))
        losses = []
        for b in range(0, len(order), BATCH):
            batch = [stretched_example(train[i], rng, WINDOW_FRAMES) for i in order[b:b + BATCH]]
            x = torch.from_numpy(np.stack([e[0] for e in batch]))
            y = torch.from_numpy(np.stack([e[1] for e in batch]))
            m = torch.from_numpy(np.stack([e[2] for e in batch]))
            loss = masked_loss(model(x), y, m)
            opt.zero_grad()
            loss.backward()
            opt.step()
            losses.append(float(loss.detach()))
        elapsed = time.monotonic() - started
        for g in opt.param_groups:  # cosine decay over the time budget
            g["lr"] = lr * 0.5 * (1 + np.cos(np.pi * min(elapsed / budget, 1.0)))
        model.eval()
        with torch.no_grad():
            vloss = float(masked_loss(model(vx), vy, vm))
        if vloss < best[0]:
            best = (vloss, {k: v.clone() for k, v in model.state_dict().items()})
        print(f"epoch {epoch}: train {np.mean(losses):.4f}  held-out {vloss:.4f}  "
              f"{elapsed / 60:.1f} min", flush=True)
    model.load_state_dict(best[1])
    meta = {"train_set": DATA.name, "clips": len(train), "epochs": epoch,
            "held_out_loss": round(best[0], 5), "seed": seed, "minutes": minutes,
            "channels": channels}
    return model, meta


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--minutes", type=float, default=60.0,
                    help="training time budget of each network")
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--channels", type=int, default=CHANNELS,
                    help=f"width of the network (the shipped one: {CHANNELS})")
    ap.add_argument("--seeds", default=",".join(str(s) for s in SEEDS),
                    help="one network per seed; two or more are stored as an ensemble")
    ap.add_argument("--threads", type=int, default=min(2, os.cpu_count() or 1))
    ap.add_argument("--out", type=Path, default=DATA / "activation_candidate.npz")
    ap.add_argument("--combine", type=Path, nargs="+", default=None, metavar="NPZ",
                    help="store these single networks (earlier --out files) as one ensemble "
                    "instead of training")
    ap.add_argument("--write", action="store_true",
                    help=f"store the weights as the package's {WEIGHTS_FILE.name}")
    args = ap.parse_args(argv)
    out = WEIGHTS_FILE if args.write else args.out
    if args.combine:
        arrays = ensemble([read_single(p) for p in args.combine])
    else:
        import torch

        torch.set_num_threads(args.threads)
        seeds = [int(s) for s in str(args.seeds).split(",") if s.strip()]
        clips = load_clips()
        members = []
        for seed in seeds:
            model, meta = train_network(clips, seed=seed, minutes=args.minutes, lr=args.lr,
                                        channels=args.channels)
            members.append(weight_arrays(model, meta))
            if len(seeds) > 1:  # each member kept beside the set, to combine again later
                write_arrays(DATA / f"activation_seed{seed}.npz", members[-1])
        arrays = members[0] if len(members) == 1 else ensemble(members)
    write_arrays(out, arrays)
    print(f"wrote {out} ({arrays['meta']})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
