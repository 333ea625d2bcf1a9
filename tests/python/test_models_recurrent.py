"""Recurrent language models (embedding, a two-layer nn.LSTM or bidirectional
nn.GRU, a linear head) on accel against CPU: the same weights on both; the
loss, every parameter's gradient by name and the parameters after an AdamW
step must match (torch.testing.assert_close's default fp32 tolerances), and a
training step must not fall back to the CPU."""
import copy

import pytest
import torch
import torch.nn.functional as F

import torch_accel

VOCAB, EMBED, HIDDEN = 50, 16, 32
BATCH, SEQ = 2, 10


class RecurrentLanguageModel(torch.nn.Module):
    def __init__(self, rnn_type, bidirectional):
        super().__init__()
        self.embed = torch.nn.Embedding(VOCAB, EMBED)
        self.rnn = rnn_type(EMBED, HIDDEN, num_layers=2, batch_first=True,
                            bidirectional=bidirectional)
        self.head = torch.nn.Linear(HIDDEN * (2 if bidirectional else 1), VOCAB)

    def forward(self, tokens, targets):
        logits = self.head(self.rnn(self.embed(tokens))[0])
        return F.cross_entropy(logits.flatten(0, 1), targets.flatten())


MODELS = {
    "lstm": (torch.nn.LSTM, False),
    "gru": (torch.nn.GRU, True),
}


def _cases():
    # ATen runs LSTM and GRU cells through _thnn_fused_lstm_cell / _thnn_fused_gru_cell
    # on every device but the CPU; accel has its own (csrc/aten/rnn_cell_ops.cpp).
    return list(MODELS)


def _build(name):
    torch.manual_seed(0)
    model = RecurrentLanguageModel(*MODELS[name]).train()
    generator = torch.Generator().manual_seed(1)
    batch = [torch.randint(0, VOCAB, (BATCH, SEQ), generator=generator) for _ in range(2)]
    accel_model = copy.deepcopy(model).to("accel")
    return model, batch, accel_model, [t.to("accel") for t in batch]


def _assert_close_by_name(accel_model, cpu_model, what):
    accel_params = dict(accel_model.named_parameters())
    assert accel_params.keys() == dict(cpu_model.named_parameters()).keys()
    for name, cpu_param in cpu_model.named_parameters():
        accel_param = accel_params[name]
        accel_value, cpu_value = ((accel_param.grad, cpu_param.grad) if what == "grad"
                                  else (accel_param.detach(), cpu_param.detach()))
        torch.testing.assert_close(accel_value.cpu(), cpu_value,
                                   msg=lambda m: f"{what} {name}: {m}")


@pytest.mark.parametrize("name", _cases())
def test_forward_and_gradients_match_cpu(name):
    model, batch, accel_model, accel_batch = _build(name)
    cpu_loss = model(*batch)
    cpu_loss.backward()
    accel_loss = accel_model(*accel_batch)
    accel_loss.backward()
    torch.testing.assert_close(accel_loss.cpu(), cpu_loss)
    _assert_close_by_name(accel_model, model, "grad")


@pytest.mark.parametrize("name", _cases())
def test_training_step_runs_natively_and_matches_cpu(name):
    model, batch, accel_model, accel_batch = _build(name)
    accel_optimizer = torch.optim.AdamW(accel_model.parameters(), lr=1e-3)
    torch_accel.set_fallback_policy("silent")
    torch_accel.reset_fallback_stats()
    accel_model(*accel_batch).backward()
    accel_optimizer.step()
    assert torch_accel.fallback_stats() == {}, "ops fell back to the CPU in a training step"

    # The CPU step takes accel's gradients, so the comparison is of the step
    # alone (Adam's first step is about lr * sign(grad), which turns rounding
    # noise in a near-zero gradient into a full step on either device).
    accel_params = dict(accel_model.named_parameters())
    for param_name, param in model.named_parameters():
        param.grad = accel_params[param_name].grad.cpu()
    torch.optim.AdamW(model.parameters(), lr=1e-3).step()
    _assert_close_by_name(accel_model, model, "param")
