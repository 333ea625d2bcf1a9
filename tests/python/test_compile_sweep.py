"""A representative share of the compile sweep (tests/compile_sweep, all of it
in `make compile-sweep`): Hugging Face architectures compiled against eager
accel, loss, logits and every gradient, with no op on the CPU in either run.
The share covers a dense decoder, mixtures of experts (routing through an
integer histc, an fp32 router softmax of bf16 logits), complex-number rotary
embeddings, a state-space model, an encoder-decoder and a windowed vision
transformer."""
import pytest
import torch

from tests.compile_sweep.compare import compare

pytest.importorskip("transformers")
pytestmark = pytest.mark.usefixtures("fresh_dynamo")

SHARE = [("gpt2", torch.float32), ("mixtral", torch.float32), ("t5", torch.float32),
         ("swin", torch.float32), ("mamba2", torch.float32), ("llama4", torch.float32),
         ("qwen3_moe", torch.bfloat16), ("mamba", torch.bfloat16), ("gpt_oss", torch.bfloat16)]


@pytest.mark.parametrize("name, dtype", SHARE, ids=[f"{n}-{str(d)[6:]}" for n, d in SHARE])
def test_compiled_architecture_matches_eager(name, dtype):
    outcome = compare(name, dtype)
    assert not outcome.problems, outcome.problems
    assert outcome.fallbacks_eager == {} and outcome.fallbacks_compiled == {}


def test_estimate_prices_a_compiled_mixture_of_experts():
    """estimate(compile=True) of a mixture of experts: the router's
    data-dependent histc and sorts are planned without data, and fusion cuts
    the programs."""
    import torch_accel
    from tests.compile_sweep.models import build
    model, batch = build("mixtral")
    torch_accel.set_fallback_policy("silent")
    torch_accel.reset_fallback_stats()
    eager = torch_accel.estimate(model, batch["input_ids"])
    compiled = torch_accel.estimate(model, batch["input_ids"], compile=True)
    assert any(r["op"] == "aten::histc" for r in eager.records)
    assert 0 < len(compiled.records) < len(eager.records)
    assert torch_accel.fallback_stats() == {}
