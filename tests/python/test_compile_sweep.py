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
