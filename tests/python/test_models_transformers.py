"""Real model code on accel against CPU: Hugging Face transformers models
(GPT-2, Llama, Mixtral, BERT, ConvBERT, T5, BART, wav2vec2, ViT, ResNet,
ConvNeXt, MobileNetV2) built from tiny configs with random weights (nothing is
downloaded). The same weights run on both devices (built on CPU, deep-copied,
moved); the forward outputs, every parameter's gradient by name and the
parameters after an AdamW step must match, a training step must not fall back
to the CPU, tied weights must stay tied across device moves, and greedy
generate() must run natively and pick the CPU model's argmax.

The models run in training mode with every dropout probability 0, so batch
norm uses batch statistics (the training path) and the results are
deterministic. The comparisons use torch.testing.assert_close's default fp32
tolerances (but for one model, see TOLERANCE).
"""
import copy
import os

import pytest
import torch

os.environ["HF_HUB_OFFLINE"] = "1"  # a config-built model must never reach the network
transformers = pytest.importorskip("transformers")

import torch_accel  # noqa: E402

VOCAB = 96
BATCH, SEQ, TARGET_SEQ = 2, 12, 8


def _token_ids(generator, low, length=SEQ):
    return torch.randint(low, VOCAB, (BATCH, length), generator=generator)


def _right_padding_mask(length=SEQ, pad=3):
    """The second sequence ends `pad` tokens early: masked attention and, through
    -100 labels, ignored positions in the loss."""
    mask = torch.ones(BATCH, length, dtype=torch.long)
    mask[1, length - pad:] = 0
    return mask


def _gpt2(generator, attn_implementation="sdpa"):
    config = transformers.GPT2Config(
        vocab_size=VOCAB, n_positions=32, n_embd=32, n_layer=2, n_head=2,
        resid_pdrop=0.0, embd_pdrop=0.0, attn_pdrop=0.0, bos_token_id=0, eos_token_id=0,
        attn_implementation=attn_implementation)
    ids, mask = _token_ids(generator, 1), _right_padding_mask()
    labels = ids.masked_fill(mask == 0, -100)
    inputs = dict(input_ids=ids, attention_mask=mask, labels=labels, use_cache=False)
    return transformers.GPT2LMHeadModel(config), inputs


def _llama(generator):
    """Grouped-query attention (4 query heads share 2 key/value heads) takes
    ATen's math attention; also RMSNorm, rotary embeddings and SwiGLU."""
    config = transformers.LlamaConfig(
        vocab_size=VOCAB, hidden_size=32, intermediate_size=64, num_hidden_layers=2,
        num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=32,
        attention_dropout=0.0, bos_token_id=0, eos_token_id=0, pad_token_id=0)
    ids, mask = _token_ids(generator, 1), _right_padding_mask()
    labels = ids.masked_fill(mask == 0, -100)
    inputs = dict(input_ids=ids, attention_mask=mask, labels=labels, use_cache=False)
    return transformers.LlamaForCausalLM(config), inputs


def _mixtral(generator):
    """Mixture of experts: a router sends each token to 2 of 4 experts; off the
    CPU, Hugging Face counts each expert's tokens with an integer torch.histc."""
    config = transformers.MixtralConfig(
        vocab_size=VOCAB, hidden_size=32, intermediate_size=64, num_hidden_layers=2,
        num_attention_heads=4, num_key_value_heads=2, num_local_experts=4, num_experts_per_tok=2,
        max_position_embeddings=32, attention_dropout=0.0, bos_token_id=0, eos_token_id=0, pad_token_id=0)
    ids, mask = _token_ids(generator, 1), _right_padding_mask()
    labels = ids.masked_fill(mask == 0, -100)
    inputs = dict(input_ids=ids, attention_mask=mask, labels=labels, use_cache=False)
    return transformers.MixtralForCausalLM(config), inputs


def _bert(generator):
    config = transformers.BertConfig(
        vocab_size=VOCAB, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
        intermediate_size=64, max_position_embeddings=32, hidden_dropout_prob=0.0,
        attention_probs_dropout_prob=0.0)
    ids, mask = _token_ids(generator, 1), _right_padding_mask()
    labels = torch.full_like(ids, -100)
    labels[:, 2:5] = ids[:, 2:5]  # masked-LM: a loss on a few positions only
    token_types = torch.zeros_like(ids)
    token_types[:, SEQ // 2:] = 1
    inputs = dict(input_ids=ids, attention_mask=mask, token_type_ids=token_types, labels=labels)
    return transformers.BertForMaskedLM(config), inputs


def _convbert(generator):
    """Span-based dynamic convolution: nn.Unfold (aten::im2col) and its
    gradient, nn.Fold's col2im."""
    config = transformers.ConvBertConfig(
        vocab_size=VOCAB, hidden_size=32, embedding_size=32, num_hidden_layers=2,
        num_attention_heads=2, intermediate_size=64, max_position_embeddings=32,
        hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0)
    ids, mask = _token_ids(generator, 1), _right_padding_mask()
    inputs = dict(input_ids=ids, attention_mask=mask, labels=ids.masked_fill(mask == 0, -100))
    return transformers.ConvBertForMaskedLM(config), inputs


def _t5(generator):
    config = transformers.T5Config(
        vocab_size=VOCAB, d_model=32, d_kv=16, d_ff=64, num_layers=2, num_heads=2,
        relative_attention_num_buckets=8, dropout_rate=0.0, pad_token_id=0,
        decoder_start_token_id=0, eos_token_id=1)
    inputs = dict(input_ids=_token_ids(generator, 2), attention_mask=_right_padding_mask(),
                  labels=_token_ids(generator, 2, TARGET_SEQ), use_cache=False)
    return transformers.T5ForConditionalGeneration(config), inputs


def _bart(generator):
    config = transformers.BartConfig(
        vocab_size=VOCAB, d_model=32, encoder_layers=2, decoder_layers=2,
        encoder_attention_heads=2, decoder_attention_heads=2, encoder_ffn_dim=64,
        decoder_ffn_dim=64, max_position_embeddings=32, dropout=0.0, attention_dropout=0.0,
        activation_dropout=0.0, pad_token_id=1, bos_token_id=0, eos_token_id=2,
        decoder_start_token_id=2)
    inputs = dict(input_ids=_token_ids(generator, 3), attention_mask=_right_padding_mask(),
                  labels=_token_ids(generator, 3, TARGET_SEQ), use_cache=False)
    return transformers.BartForConditionalGeneration(config), inputs


def _wav2vec2(generator):
    """Audio: a strided Conv1d feature encoder with group norm, a weight-norm
    positional convolution, a transformer encoder, mean pooling."""
    config = transformers.Wav2Vec2Config(
        hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=64,
        conv_dim=(16, 16), conv_stride=(5, 2), conv_kernel=(10, 3), num_conv_pos_embeddings=16,
        num_conv_pos_embedding_groups=4, num_labels=5, hidden_dropout=0.0, attention_dropout=0.0,
        activation_dropout=0.0, feat_proj_dropout=0.0, final_dropout=0.0, layerdrop=0.0,
        mask_time_prob=0.0)
    inputs = dict(input_values=torch.randn(BATCH, 1600, generator=generator),
                  labels=_class_labels(generator, 5))
    return transformers.Wav2Vec2ForSequenceClassification(config), inputs


def _images(generator, size):
    return torch.randn(BATCH, 3, size, size, generator=generator)


def _class_labels(generator, num_labels):
    return torch.randint(0, num_labels, (BATCH,), generator=generator)


def _vit(generator):
    config = transformers.ViTConfig(
        image_size=16, patch_size=4, num_channels=3, hidden_size=32, num_hidden_layers=2,
        num_attention_heads=2, intermediate_size=64, num_labels=5, hidden_dropout_prob=0.0,
        attention_probs_dropout_prob=0.0)
    inputs = dict(pixel_values=_images(generator, 16), labels=_class_labels(generator, 5))
    return transformers.ViTForImageClassification(config), inputs


def _resnet(generator):
    config = transformers.ResNetConfig(
        num_channels=3, embedding_size=8, hidden_sizes=[8, 16], depths=[1, 1],
        layer_type="basic", num_labels=5)
    inputs = dict(pixel_values=_images(generator, 32), labels=_class_labels(generator, 5))
    return transformers.ResNetForImageClassification(config), inputs


def _mobilenet_v2(generator):
    """Depthwise convolutions and ReLU6, in eval mode: the stride-32 network
    leaves 1x1 feature maps at 32x32 input, where batch statistics over 2
    values are ill-conditioned (float32 CPU itself is far from float64). The
    running statistics come from one calibration batch, so activations keep
    their scale through the 17 blocks instead of vanishing."""
    config = transformers.MobileNetV2Config(
        image_size=32, depth_multiplier=0.25, num_labels=5, classifier_dropout_prob=0.0)
    model = transformers.MobileNetV2ForImageClassification(config)
    for module in model.modules():
        if isinstance(module, torch.nn.BatchNorm2d):
            module.momentum = None  # a cumulative average: one batch sets the statistics
    with torch.no_grad():
        model.train()(pixel_values=torch.randn(8, 3, 32, 32, generator=generator))
    inputs = dict(pixel_values=_images(generator, 32), labels=_class_labels(generator, 5))
    return model, inputs


def _convnext(generator):
    config = transformers.ConvNextConfig(
        num_channels=3, hidden_sizes=[8, 16], depths=[1, 1], num_stages=2, image_size=32,
        drop_path_rate=0.0, num_labels=5)
    inputs = dict(pixel_values=_images(generator, 32), labels=_class_labels(generator, 5))
    return transformers.ConvNextForImageClassification(config), inputs


MODELS = {
    "gpt2": _gpt2,
    "gpt2_eager_attention": lambda g: _gpt2(g, attn_implementation="eager"),
    "llama": _llama,
    "mixtral": _mixtral,
    "bert": _bert,
    "convbert": _convbert,
    "t5": _t5,
    "bart": _bart,
    "wav2vec2": _wav2vec2,
    "vit": _vit,
    "resnet": _resnet,
    "convnext": _convnext,
    "mobilenet_v2": _mobilenet_v2,
}
EVAL_MODE = {"mobilenet_v2"}
# MobileNetV2's 17 blocks amplify rounding: its float32 logits and gradients
# are ~1e-5 (relative to their largest value) from float64 on CPU and on accel
# alike, beyond the default float32 tolerances. It takes the device-vs-CPU
# tolerance of PyTorch's own test_ops.py (test_compare_cpu: atol=rtol=1e-3).
TOLERANCE = {"mobilenet_v2": dict(atol=1e-3, rtol=1e-3)}


def _build(name):
    """The CPU model and inputs, and an identical copy of both on accel."""
    torch.manual_seed(0)
    model, inputs = MODELS[name](torch.Generator().manual_seed(1))
    model.train(name not in EVAL_MODE)
    dropouts = [m.p for m in model.modules() if isinstance(m, torch.nn.Dropout)]
    assert all(p == 0 for p in dropouts), "a dropout left on makes the comparison random"
    accel_model = copy.deepcopy(model).to("accel")
    accel_inputs = {k: v.to("accel") if isinstance(v, torch.Tensor) else v
                    for k, v in inputs.items()}
    return model, inputs, accel_model, accel_inputs


def _assert_outputs_close(accel_out, cpu_out, **tolerance):
    compared = [k for k, v in cpu_out.items() if isinstance(v, torch.Tensor)]
    assert "loss" in compared and "logits" in compared
    for key in compared:
        assert accel_out[key].device.type == "accel", key
        torch.testing.assert_close(accel_out[key].cpu(), cpu_out[key], **tolerance,
                                   msg=lambda m: f"{key}: {m}")


def _assert_state_close(accel_model, cpu_model, what, **tolerance):
    """Every parameter (what="param") or its gradient (what="grad"), and every
    buffer for "param", by name."""
    accel_params = dict(accel_model.named_parameters())
    # named_parameters lists a tied Parameter once: equal names mean equal ties.
    assert accel_params.keys() == dict(cpu_model.named_parameters()).keys()
    for name, cpu_param in cpu_model.named_parameters():
        cpu_value = cpu_param.grad if what == "grad" else cpu_param.detach()
        accel_value = accel_params[name].grad if what == "grad" else accel_params[name]
        if cpu_value is None:
            assert accel_value is None, f"{name}: accel has a gradient, CPU none"
            continue
        assert accel_value is not None, f"{name}: no gradient on accel"
        torch.testing.assert_close(accel_value.detach().cpu(), cpu_value, **tolerance,
                                   msg=lambda m: f"{what} {name}: {m}")
    if what == "param":
        accel_buffers = dict(accel_model.named_buffers())
        for name, cpu_buffer in cpu_model.named_buffers():
            torch.testing.assert_close(accel_buffers[name].cpu(), cpu_buffer,
                                       msg=lambda m: f"buffer {name}: {m}")


@pytest.mark.parametrize("name", list(MODELS))
def test_forward_and_gradients_match_cpu(name):
    model, inputs, accel_model, accel_inputs = _build(name)
    cpu_out = model(**inputs)
    cpu_out.loss.backward()
    accel_out = accel_model(**accel_inputs)
    accel_out.loss.backward()
    tolerance = TOLERANCE.get(name, {})
    _assert_outputs_close(accel_out, cpu_out, **tolerance)
    _assert_state_close(accel_model, model, "grad", **tolerance)


@pytest.mark.parametrize("name", list(MODELS))
def test_training_step_runs_natively_and_matches_cpu(name):
    """Forward, loss, backward and an AdamW step: no op falls back to the CPU,
    and the updated parameters (and batch-norm running statistics) match."""
    model, inputs, accel_model, accel_inputs = _build(name)
    accel_optimizer = torch.optim.AdamW(accel_model.parameters(), lr=1e-3)
    torch_accel.set_fallback_policy("silent")
    torch_accel.reset_fallback_stats()
    accel_model(**accel_inputs).loss.backward()
    accel_optimizer.step()
    assert torch_accel.fallback_stats() == {}, "ops fell back to the CPU in a training step"

    # The CPU step takes accel's gradients: Adam's first step is about
    # lr * sign(grad), so a gradient that is zero in exact arithmetic (a
    # softmax is blind to the key bias) turns rounding noise into a full step
    # on either device. With equal gradients the steps must agree; the
    # gradients themselves are compared in the test above.
    model(**inputs)  # the same batch-norm running-statistics update
    accel_params = dict(accel_model.named_parameters())
    for param_name, param in model.named_parameters():
        accel_grad = accel_params[param_name].grad
        param.grad = None if accel_grad is None else accel_grad.cpu()
    torch.optim.AdamW(model.parameters(), lr=1e-3).step()
    _assert_state_close(accel_model, model, "param")


def _tied_groups(model):
    """Sets of parameter names that share one Parameter object."""
    by_object = {}
    for name, param in model.named_parameters(remove_duplicate=False):
        by_object.setdefault(id(param), set()).add(name)
    return sorted(sorted(names) for names in by_object.values() if len(names) > 1)


@pytest.mark.parametrize("name", ["gpt2", "t5", "bart"])
def test_tied_weights_survive_device_moves(name):
    torch.manual_seed(0)
    model, _ = MODELS[name](torch.Generator().manual_seed(1))
    params_before = list(model.parameters())
    tied = _tied_groups(model)
    assert tied, "the model was expected to tie its input and output embeddings"
    for device in ("accel", "cpu", "accel"):
        model.to(device)
        params = list(model.parameters())
        assert len(params) == len(params_before)
        assert all(now is before for now, before in zip(params, params_before)), \
            f".to({device!r}) replaced Parameter objects"
        assert all(p.device.type == device for p in params)
        assert _tied_groups(model) == tied
    if name == "gpt2":
        assert model.lm_head.weight is model.transformer.wte.weight



@pytest.mark.parametrize("name", ["gpt2", "llama", "mixtral", "t5", "bart"])
def test_greedy_generation_runs_natively_and_picks_cpu_argmax(name):
    """generate() with its KV cache, logits processors and stopping checks
    (torch.isin) runs on accel with no fallback, and every token it picks is
    the greedy choice of the CPU model on the same prefix: its CPU logit equals
    the CPU maximum (within tolerance, so a near tie may go either way). The
    padding and end tokens are suppressed, so each sequence runs its full
    length instead of stopping (or idling on padding) at random weights'
    whim."""
    model, inputs, accel_model, _ = _build(name)
    model.eval()
    accel_model.eval()
    prompt = inputs["input_ids"][:, :6]
    eos = model.generation_config.eos_token_id
    suppressed = sorted({model.config.pad_token_id or 0} | set(eos if isinstance(eos, list) else [eos]))
    torch_accel.set_fallback_policy("silent")
    torch_accel.reset_fallback_stats()
    generated = accel_model.generate(prompt.to("accel"), max_new_tokens=6, do_sample=False,
                                     pad_token_id=0, suppress_tokens=suppressed,
                                     forced_eos_token_id=None).cpu()
    assert torch_accel.fallback_stats() == {}, "ops fell back to the CPU in generate()"

    with torch.no_grad():
        if model.config.is_encoder_decoder:
            logits = model(input_ids=prompt, decoder_input_ids=generated[:, :-1]).logits
        else:
            logits = model(input_ids=generated).logits[:, prompt.shape[1] - 1:-1]
    picked = generated[:, -6:]
    assert logits.shape[1] == picked.shape[1] == 6
    logits[..., suppressed] = -float("inf")
    chosen = logits.gather(-1, picked.unsqueeze(-1)).squeeze(-1)
    torch.testing.assert_close(chosen, logits.amax(-1))
