"""Compiled (backend="accel") against eager accel on the examples' models and a
transformers model from config: outputs and every gradient, and a training
loop's loss per step."""
import copy

import pytest
import torch

import torch_accel
from examples.gpt import GPT, GPTConfig
from examples.vision import cnn


pytestmark = pytest.mark.usefixtures("fresh_dynamo")


def _compare_grads(model, compiled_model):
    for (name, p), (_, q) in zip(model.named_parameters(), compiled_model.named_parameters()):
        torch.testing.assert_close(q.grad.cpu(), p.grad.cpu(), msg=lambda m: f"{name}: {m}")


def _check_forward_backward(model, *inputs, loss=lambda out: out.float().square().mean()):
    twin = copy.deepcopy(model)
    compiled = torch.compile(twin, backend="accel", dynamic=False)
    out, out_c = model(*inputs), compiled(*inputs)
    first = lambda o: o[0] if isinstance(o, tuple) else getattr(o, "logits", o)  # noqa: E731
    torch.testing.assert_close(first(out_c).cpu(), first(out).cpu())
    loss(first(out)).backward()
    loss(first(out_c)).backward()
    _compare_grads(model, twin)
    for (name, b), (_, c) in zip(model.named_buffers(), twin.named_buffers()):
        torch.testing.assert_close(c.cpu(), b.cpu(), msg=lambda m: f"buffer {name}: {m}")


def test_gpt_forward_backward():
    torch.manual_seed(0)
    model = GPT(GPTConfig(vocab_size=30, block_size=16, n_layer=2, n_head=2, n_embd=32)).to("accel")
    idx = torch.randint(0, 30, (4, 16)).to("accel")
    _check_forward_backward(model, idx)


def test_cnn_forward_backward():
    torch.manual_seed(0)
    model = cnn(channels=8).to("accel")
    _check_forward_backward(model, torch.randn(8, 1, 8, 8).to("accel"))


def test_transformers_llama_forward_backward():
    transformers = pytest.importorskip("transformers")
    torch.manual_seed(0)
    config = transformers.LlamaConfig(
        vocab_size=40, hidden_size=32, intermediate_size=64, num_hidden_layers=2,
        num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=32,
        attention_dropout=0.0, bos_token_id=0, eos_token_id=0, pad_token_id=0)
    model = transformers.LlamaForCausalLM(config).to("accel")
    ids = torch.randint(1, 40, (2, 16)).to("accel")
    _check_forward_backward(model, ids)
    stats = torch_accel.compile_stats()
    assert stats["fused_programs"] > 0  # SwiGLU and RMSNorm's element-wise chains


def test_transformers_mixtral_forward_backward():
    """Mixture of experts: top-2 routing over 4 experts, each expert's tokens
    counted with an integer torch.histc and gathered by sort and index ops."""
    transformers = pytest.importorskip("transformers")
    torch.manual_seed(0)
    config = transformers.MixtralConfig(
        vocab_size=40, hidden_size=32, intermediate_size=64, num_hidden_layers=2,
        num_attention_heads=4, num_key_value_heads=2, num_local_experts=4, num_experts_per_tok=2,
        max_position_embeddings=32, attention_dropout=0.0, bos_token_id=0, eos_token_id=0, pad_token_id=0)
    model = transformers.MixtralForCausalLM(config).to("accel")
    ids = torch.randint(1, 40, (2, 16)).to("accel")
    torch_accel.set_fallback_policy("silent")
    torch_accel.reset_fallback_stats()
    _check_forward_backward(model, ids)
    assert torch_accel.fallback_stats() == {}


def test_compiled_training_loop_tracks_eager_loss():
    torch.manual_seed(0)
    cfg = GPTConfig(vocab_size=30, block_size=16, n_layer=2, n_head=2, n_embd=32)
    model = GPT(cfg).to("accel")
    twin = copy.deepcopy(model)
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3)
    opt_c = torch.optim.AdamW(twin.parameters(), lr=3e-3)
    compiled = torch.compile(twin, backend="accel", dynamic=False)
    g = torch.Generator().manual_seed(1)
    for _ in range(4):
        x, y = (torch.randint(0, 30, (4, 16), generator=g).to("accel") for _ in range(2))
        losses = []
        for m, o in ((model, opt), (compiled, opt_c)):
            _, loss = m(x, y)
            o.zero_grad(set_to_none=True)
            loss.backward()
            o.step()
            losses.append(loss.detach().cpu())
        torch.testing.assert_close(losses[1], losses[0])
    assert torch_accel.compile_stats()["host_op_count"] == 0


def test_llama_inference_runs_rms_norm_as_one_program():
    from torch_accel.models import Llama
    torch.manual_seed(0)
    model = Llama(vocab=64, dim=64, layers=1, heads=4, kv_heads=2, ffn=128).to("accel").eval()
    tokens = torch.randint(0, 64, (2, 32)).to("accel")
    compiled = torch.compile(model, backend="accel", dynamic=False)
    with torch.no_grad():
        with torch_accel.profile() as eager:
            expected = model(tokens)
        compiled(tokens)
        with torch_accel.profile() as prof:
            got = compiled(tokens)
    torch.testing.assert_close(got.cpu(), expected.cpu())
    stats = torch_accel.compile_stats()
    assert stats["native_norms"] == 3  # two per layer and the final norm
    assert stats["matmul_epilogues"] >= 2  # the residual adds after wo and w2
    assert prof.ops().get("aten::_fused_rms_norm") == 3
    assert len(prof.records) < len(eager.records)
    assert prof.total_dram_bytes < eager.total_dram_bytes


def test_cnn_inference_folds_batch_norm_into_the_following_fused_program():
    torch.manual_seed(0)
    model = cnn(channels=8)
    model.train()
    with torch.no_grad():  # running statistics away from the defaults
        model(torch.randn(32, 1, 8, 8) * 3 + 1)
    model = model.eval().to("accel")
    x = torch.randn(16, 1, 8, 8).to("accel")
    compiled = torch.compile(model, backend="accel", dynamic=False)
    with torch.no_grad():
        with torch_accel.profile() as eager:
            expected = model(x)
        compiled(x)
        with torch_accel.profile() as prof:
            got = compiled(x)
    torch.testing.assert_close(got.cpu(), expected.cpu())
    assert "aten::_native_batch_norm_legit_no_training" not in prof.ops()
    assert any(r["op"] == "accel::conv_act" for r in prof.records)  # conv + the folded BN + relu
    assert prof.total_dram_bytes < eager.total_dram_bytes
