"""Convert musicnn's MTT and MSD checkpoints (ISC, shipped in its PyPI wheel) to ONNX, and prove
the ONNX models compute what the TensorFlow originals compute.

The graph is built by musicnn's own ``models.define_model`` (the wheel's code, unmodified) in
inference mode, the checkpoint restored, frozen and converted with tf2onnx. Then both run on
the same fixed inputs: random patches, silence, loud noise, and the log-mel patches of a
synthetic chord; the script fails unless every output agrees within ``--tolerance`` (1e-4).
It also checks linernotes' float32 mel front end against librosa's ``melspectrogram`` (the
call musicnn makes) on the same signal.

TensorFlow is needed here only. Run it in a venv of its own (``make convert-musicnn`` does):

    python3.11 -m venv .convert-venv
    .convert-venv/bin/pip install tensorflow-cpu==2.15.1 tf2onnx==1.17.0 onnx==1.16.2 \
        onnxruntime librosa
    .convert-venv/bin/python scripts/convert_musicnn.py            # downloads the wheel with pip
    .convert-venv/bin/python scripts/convert_musicnn.py --wheel musicnn-0.1.0-py3-none-any.whl

Outputs: ``linernotes/listen/cpu/weights/musicnn_{mtt,msd}.onnx`` (input ``mel``:
``(batch, 187, 96)`` float32; output ``tags``: ``(batch, 50)`` sigmoid probabilities; the
labels, source wheel and its SHA-256 are in the model's metadata) and musicnn's LICENSE.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import json
import os
import subprocess
import sys
import tempfile
import warnings
import zipfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
WEIGHTS = ROOT / "linernotes" / "listen" / "cpu" / "weights"
FRONTEND = ROOT / "linernotes" / "listen" / "cpu" / "frontend.py"
WHEEL_SPEC = "musicnn==0.1.0"
#: The shipped models, and the output name of each model the wheel holds.
SHIPPED = ("MTT_musicnn", "MSD_musicnn")
MODELS = {"MTT_musicnn": "musicnn_mtt.onnx", "MSD_musicnn": "musicnn_msd.onnx",
          "MTT_vgg": "vgg_mtt.onnx"}  # fmt: skip
OPSET = 17


def _frontend():
    """linernotes' mel front end, loaded from its file (it needs NumPy and linernotes.dsp,
    not the listen package and its dependencies)."""
    sys.path.insert(0, str(ROOT))
    spec = importlib.util.spec_from_file_location("musicnn_frontend", FRONTEND)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def fetch_wheel(folder: Path) -> Path:
    subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "-q", "-d",
                    str(folder), WHEEL_SPEC], check=True)  # fmt: skip
    return next(folder.glob("musicnn-*.whl"))


def fixed_inputs(frontend) -> dict[str, np.ndarray]:
    """The inputs both models are compared on (deterministic)."""
    rng = np.random.default_rng(20190801)
    n = frontend.PATCH_FRAMES
    sr = frontend.SAMPLE_RATE
    t = np.arange(sr * 6) / sr
    chord = sum(np.sin(2 * np.pi * f * t) for f in (220.0, 277.18, 329.63, 440.0)) / 4
    chord *= 0.5 + 0.5 * (np.sin(2 * np.pi * 2.0 * t) > 0)
    chord_mel, _ = frontend.patch_frames(frontend.log_mel(chord.astype(np.float32)))
    noise_mel, _ = frontend.patch_frames(frontend.log_mel(rng.uniform(-1, 1, sr * 3)))
    return {
        "random": rng.uniform(0.0, 4.0, (4, n, frontend.N_MELS)).astype(np.float32),
        "silence": np.zeros((1, n, frontend.N_MELS), np.float32),
        "loud_noise": noise_mel.astype(np.float32),
        "chord": chord_mel.astype(np.float32),
    }


def build_frozen(package: Path, model: str, frames: int):
    """musicnn's graph in inference mode with the checkpoint restored, frozen."""
    import tensorflow as tf

    sys.path.insert(0, str(package.parent))
    from musicnn import configuration, models

    labels = configuration.MTT_LABELS if model.startswith("MTT") else configuration.MSD_LABELS
    graph = tf.Graph()
    with graph.as_default():
        with tf.name_scope("model"):
            x = tf.compat.v1.placeholder(tf.float32, [None, frames, configuration.N_MELS], "mel")
            logits = models.define_model(x, False, model, len(labels))[0]
            tags = tf.nn.sigmoid(logits, name="tags")
        sess = tf.compat.v1.Session(graph=graph)
        tf.compat.v1.train.Saver().restore(sess, str(package / model) + "/")
        frozen = tf.compat.v1.graph_util.convert_variables_to_constants(
            sess, graph.as_graph_def(), [tags.op.name]
        )
    return sess, x.name, tags.name, frozen, list(labels)


def convert(package: Path, model: str, out: Path, wheel_sha: str, frontend, tolerance: float):
    import onnx
    import onnxruntime as ort
    import tensorflow as tf
    import tf2onnx

    sess, x_name, y_name, frozen, labels = build_frozen(package, model, frontend.PATCH_FRAMES)
    with tf.Graph().as_default():
        proto, _ = tf2onnx.convert.from_graph_def(
            frozen, input_names=[x_name], output_names=[y_name], opset=OPSET
        )
    for node_list, old, new in ((proto.graph.input, x_name, "mel"),
                                (proto.graph.output, y_name, "tags")):  # fmt: skip
        for value in node_list:
            if value.name == old:
                value.name = new
        for node in proto.graph.node:
            node.input[:] = [new if i == old else i for i in node.input]
            node.output[:] = [new if o == old else o for o in node.output]
    meta = {
        "labels": json.dumps(labels),
        "source": f"{WHEEL_SPEC} {model} checkpoint (github.com/jordipons/musicnn)",
        "source_sha256": wheel_sha,
        "licence": "ISC (Music Technology Group, Universitat Pompeu Fabra 2019)",
        "frontend": "16 kHz, n_fft 512, hop 256, 96 Slaney mel bands, log10(10000 * mel + 1)",
        "patch_frames": str(frontend.PATCH_FRAMES),
    }
    for key, value in meta.items():
        entry = proto.metadata_props.add()
        entry.key, entry.value = key, value
    proto.producer_name = "linernotes scripts/convert_musicnn.py"
    onnx.checker.check_model(proto)
    tmp = out.with_suffix(".onnx.tmp")
    tmp.write_bytes(proto.SerializeToString())
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    session = ort.InferenceSession(str(tmp), options, providers=["CPUExecutionProvider"])
    worst = 0.0
    for name, batch in fixed_inputs(frontend).items():
        expected = sess.run(y_name, feed_dict={x_name: batch})
        got = session.run(["tags"], {"mel": batch})[0]
        diff = float(np.max(np.abs(expected - got)))
        worst = max(worst, diff)
        print(f"  {model} {name:<10} {batch.shape[0]} patches  max |TF - ONNX| = {diff:.2e}")
    sess.close()
    if not worst <= tolerance:
        tmp.unlink()
        raise SystemExit(f"{model}: ONNX differs from TensorFlow by {worst:.2e} > {tolerance}")
    os.replace(tmp, out)
    size_mb = out.stat().st_size / 1e6
    print(f"{model}: {out} ({size_mb:.1f} MB), max abs diff {worst:.2e}")
    return worst


def check_frontend(frontend) -> float:
    """Largest relative difference between our mel power and librosa's (musicnn's call)."""
    import librosa

    rng = np.random.default_rng(7)
    y = (0.3 * rng.standard_normal(frontend.SAMPLE_RATE * 5)).astype(np.float32)
    ref = librosa.feature.melspectrogram(
        y=y, sr=frontend.SAMPLE_RATE, hop_length=frontend.HOP, n_fft=frontend.N_FFT,
        n_mels=frontend.N_MELS, pad_mode="reflect",
    ).T  # fmt: skip
    ours = frontend.power_spectrogram(y) @ frontend.MEL_FILTERS.T
    rel = float(np.max(np.abs(ours - ref) / (np.abs(ref) + 1e-6)))
    log_diff = float(np.max(np.abs(frontend.log_mel(y) - np.log10(10000 * ref + 1))))
    print(f"front end vs librosa {librosa.__version__}: mel max relative diff {rel:.2e},"
          f" log-mel max abs diff {log_diff:.2e}")  # fmt: skip
    return log_diff


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--wheel", type=Path, help="musicnn-0.1.0 wheel (default: pip download)")
    parser.add_argument("--out", type=Path, default=WEIGHTS, help="output folder")
    parser.add_argument("--tolerance", type=float, default=1e-4)
    parser.add_argument(
        "--models",
        default=",".join(SHIPPED),
        help=f"comma-separated, from {', '.join(MODELS)} (MTT_vgg: bench comparison only)",
    )
    args = parser.parse_args(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    warnings.filterwarnings("ignore", message=".*is deprecated", category=UserWarning)
    frontend = _frontend()
    if check_frontend(frontend) > 1e-3:
        raise SystemExit("the float32 front end does not match librosa's mel spectrogram")
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        wheel = args.wheel or fetch_wheel(Path(tmp))
        wheel_sha = hashlib.sha256(wheel.read_bytes()).hexdigest()
        print(f"{wheel.name} sha256 {wheel_sha}")
        with zipfile.ZipFile(wheel) as archive:
            archive.extractall(tmp)
        package = Path(tmp) / "musicnn"
        licence = next(Path(tmp).glob("musicnn-*.dist-info/LICENSE*"))
        (args.out / "LICENSE-musicnn.md").write_text(licence.read_text())
        worst = max(
            convert(package, model, args.out / name, wheel_sha, frontend, args.tolerance)
            for model, name in MODELS.items()
            if model in args.models.split(",")
        )
    print(f"all outputs agree within {worst:.2e} (tolerance {args.tolerance:g})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
