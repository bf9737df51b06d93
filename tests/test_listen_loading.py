"""Loading the in-process model: think mode (extra weights, then the LoRA), placement with
``device_map``, quantization, and the memory a decoding batch may use."""

from __future__ import annotations

import copy
import importlib.util
import shutil

import pytest

from linernotes.errors import ListenError
from linernotes.listen.backends.base import THINK_SUFFIX
from linernotes.listen.backends.transformers import TransformersBackend, load_model
from linernotes.listen.backends.transformers_compat import cache_argument
from linernotes.listen.backends.transformers_loading import load_extra_weights, loading_kwargs
from linernotes.listen.backends.transformers_memory import (
    kv_cache_bytes,
    model_kv_bytes_per_token,
)
from linernotes.listen.prompts import PromptLibrary

pytest_plugins = ["listen_fixtures"]

PROJECTOR = "model.multi_modal_projector.linear_1.weight"
Q_PROJ = "model.language_model.layers.0.self_attn.q_proj.weight"
V_PROJ = "model.language_model.layers.0.self_attn.v_proj.weight"
UNTOUCHED = "model.language_model.layers.1.mlp.up_proj.weight"


@pytest.fixture(scope="module")
def think_checkpoint(tiny_model_dirs, tmp_path_factory):
    """A copy of the tiny AF3 with a ``think/`` folder as the real checkpoint ships it: a LoRA
    saved with peft and ``non_lora_trainables.bin`` (the projector named as in the hub
    checkpoint's layout, one attention weight named as in the model's, which the LoRA adapts
    too, so the order of the two matters)."""
    import peft
    import torch

    folder = tmp_path_factory.mktemp("think") / "af3_think"
    shutil.copytree(tiny_model_dirs["af3"], folder)
    base, _ = load_model(str(folder), device="cpu")
    before = {k: v.clone() for k, v in base.state_dict().items()}
    draw = torch.Generator().manual_seed(5)
    extra = {
        "multi_modal_projector.linear_1.weight": torch.randn(
            before[PROJECTOR].shape, generator=draw
        ),
        Q_PROJ: torch.randn(before[Q_PROJ].shape, generator=draw),
    }
    config = peft.LoraConfig(
        r=2, lora_alpha=4, target_modules=["q_proj", "v_proj"], init_lora_weights=False
    )
    peft.get_peft_model(copy.deepcopy(base), config).save_pretrained(folder / "think")
    torch.save(extra, folder / "think" / "non_lora_trainables.bin")
    return folder, before, extra


def _lora_delta(folder, module: str):
    """``B @ A * alpha / r`` of one adapted module, from the saved adapter."""
    from safetensors.torch import load_file

    adapter = load_file(folder / "think" / "adapter_model.safetensors")
    a = next(v for k, v in adapter.items() if k.endswith(f"{module}.lora_A.weight"))
    b = next(v for k, v in adapter.items() if k.endswith(f"{module}.lora_B.weight"))
    return (b @ a) * (4 / 2)


def test_think_loads_the_extra_weights_then_merges_the_lora(
    think_checkpoint, noise_16k, force_tokens
):
    import torch

    folder, before, extra = think_checkpoint
    thinking = TransformersBackend(str(folder), device="cpu", think=True)
    state = thinking.model.state_dict()
    # the extra weights are there, found under the hub layout's name too
    assert torch.equal(state[PROJECTOR], extra["multi_modal_projector.linear_1.weight"])
    # the LoRA is merged on top of them: extra weight + B @ A * alpha / r
    q_delta = _lora_delta(folder, "language_model.layers.0.self_attn.q_proj")
    assert torch.allclose(state[Q_PROJ], extra[Q_PROJ] + q_delta, atol=1e-6)
    assert not torch.allclose(state[Q_PROJ], before[Q_PROJ] + q_delta, atol=1e-3)
    v_delta = _lora_delta(folder, "language_model.layers.0.self_attn.v_proj")
    assert torch.allclose(state[V_PROJ], before[V_PROJ] + v_delta, atol=1e-6)
    assert torch.equal(state[UNTOUCHED], before[UNTOUCHED])
    assert not any("lora" in k for k in state)  # merged, not wrapped
    assert thinking.variant == "think"
    prompt = PromptLibrary().get("brief").render()
    assert thinking._chat_text(prompt).count(THINK_SUFFIX) == 1
    assert thinking.generate(noise_16k, force_tokens([prompt], 4))[0].info["new_tokens"] == 4


def test_think_weights_that_match_nothing_are_an_error(tmp_path):
    import torch

    from linernotes.listen.synthetic import build_random_model

    model, _ = build_random_model("af3", "tiny")
    path = tmp_path / "non_lora_trainables.bin"
    torch.save({"vision_tower.proj.weight": torch.zeros(2, 2)}, path)
    with pytest.raises(ListenError, match="none of its 1 weights"):
        load_extra_weights(model, path)
    path.write_bytes(b"not a checkpoint")
    with pytest.raises(ListenError, match="cannot read the think weights"):
        load_extra_weights(model, path)


def test_device_map_auto_loads_and_answers_the_same(tiny_model_dirs, tiny_backends, noise_16k):
    folder = str(tiny_model_dirs["mf"])
    spread = TransformersBackend(folder, device="cpu", device_map="auto")
    assert spread.model is not tiny_backends["mf"].model  # loaded anew, placed by accelerate
    assert str(spread.device) == "cpu"
    prompts = [PromptLibrary().get("very_brief").render()]
    prompts = [
        p.model_copy(update={"generation": p.generation.merged(max_new_tokens=5)}) for p in prompts
    ]
    assert [o.text for o in spread.generate(noise_16k, prompts)] == [
        o.text for o in tiny_backends["mf"].generate(noise_16k, prompts)
    ]


def test_quantized_loading_needs_bitsandbytes():
    import torch

    if importlib.util.find_spec("bitsandbytes") is None:
        with pytest.raises(ListenError, match="4bit loading needs bitsandbytes: pip install"):
            loading_kwargs("cuda", torch.bfloat16, quantize="4bit")
    else:  # pragma: no cover - a CUDA machine with bitsandbytes
        config = loading_kwargs("cuda", torch.bfloat16, quantize="4bit")["quantization_config"]
        assert config.load_in_4bit and "audio_tower" in config.llm_int8_skip_modules
    with pytest.raises(ListenError, match="8bit or 4bit"):
        loading_kwargs("cuda", torch.bfloat16, quantize="2bit")  # type: ignore[arg-type]
    kwargs = loading_kwargs("cpu", torch.float32)
    assert kwargs == {"dtype": torch.float32, "device_map": "cpu"}  # straight to the device


@pytest.mark.parametrize("family", ["af3", "mf"])
def test_kv_cache_estimate_is_the_cache_the_model_fills(family, tiny_backends):
    """layers x kv heads x head dim x 2 x bytes x tokens, against a real cache."""
    import torch
    from transformers import DynamicCache

    model = tiny_backends[family].model
    cache = DynamicCache(config=model.config)
    ids = torch.randint(0, 300, (1, 37))
    with torch.inference_mode():
        model(input_ids=ids, use_cache=True, **{cache_argument(model): cache})
    filled = sum(
        t.numel() * t.element_size() for layer in cache.layers for t in (layer.keys, layer.values)
    )
    assert filled == kv_cache_bytes(model.config, 37, 4) == model_kv_bytes_per_token(model) * 37


def test_batches_shrink_to_the_memory_budget(tiny_backends, noise_16k, force_tokens):
    """A budget for two rows: five prompts of one length decode as 2 + 2 + 1, token for token
    as alone."""
    from linernotes.listen.audio import Clip

    base = tiny_backends["af3"]
    prompts = force_tokens([PromptLibrary().get("very_brief").render()] * 5, 4)
    _, ids = base._prepare(Clip(noise_16k), prompts)
    width = max(int(i.shape[0]) for i in ids) + 4
    budget = 3 * width * model_kv_bytes_per_token(base.model)  # 2 rows + the one being filled
    small = TransformersBackend.from_loaded(
        base.model, base.processor, "tiny", kv_cache_gb=budget / 1e9
    )
    outputs = small.generate(noise_16k, prompts)
    assert [o.info["batch_rows"] for o in outputs] == [2, 2, 2, 2, 1]
    unlimited = TransformersBackend.from_loaded(base.model, base.processor, "tiny")
    assert {o.info["batch_rows"] for o in unlimited.generate(noise_16k, prompts)} == {5}
    alone = TransformersBackend.from_loaded(base.model, base.processor, "tiny", batch_size=1)
    assert [o.text for o in outputs] == [o.text for o in alone.generate(noise_16k, prompts)]


def test_memory_options_reach_the_settings(monkeypatch, tmp_path):
    import argparse

    from linernotes.cli.listen import add_listen_options, settings_from_args

    monkeypatch.chdir(tmp_path)
    parser = argparse.ArgumentParser()
    add_listen_options(parser)
    args = parser.parse_args(["--device-map", "auto", "--quantize", "4bit", "--kv-cache-gb", "12"])
    settings = settings_from_args(args)
    assert (settings.device_map, settings.quantize, settings.kv_cache_gb) == ("auto", "4bit", 12.0)
    with pytest.raises(SystemExit):
        parser.parse_args(["--quantize", "3bit"])
