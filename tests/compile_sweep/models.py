"""Hugging Face architectures from tiny configs (random weights, nothing is
downloaded), each with a batch: what the compile sweep runs compiled against
eager accel. Models are built in evaluation mode (no dropout or stochastic
depth, so the two runs see the same numbers) and still trained through:
the loss's backward gives every parameter's gradient."""
import os

import torch

os.environ.setdefault("HF_HUB_OFFLINE", "1")

VOCAB = 97
_LM = dict(hidden_size=64, num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
           intermediate_size=128, vocab_size=VOCAB, max_position_embeddings=64)
_MOE = dict(num_experts_per_tok=2)


def _lm(config_cls, model_cls, **extra):
    return lambda T: (getattr(T, model_cls)(getattr(T, config_cls)(**{**_LM, **extra})), "tokens")


def _configs(T):
    """name -> (model, batch kind). T is the transformers module."""
    head16 = dict(head_dim=16)
    return {
        # Decoder-only language models.
        "gpt2": lambda: (T.GPT2LMHeadModel(T.GPT2Config(n_embd=64, n_layer=2, n_head=4, vocab_size=VOCAB,
                                                         n_positions=64)), "tokens"),
        "llama": lambda: _lm("LlamaConfig", "LlamaForCausalLM")(T),
        "mistral": lambda: _lm("MistralConfig", "MistralForCausalLM")(T),
        "qwen2": lambda: _lm("Qwen2Config", "Qwen2ForCausalLM")(T),
        "qwen3": lambda: _lm("Qwen3Config", "Qwen3ForCausalLM", **head16)(T),
        "gemma": lambda: _lm("GemmaConfig", "GemmaForCausalLM", **head16)(T),
        "gemma2": lambda: _lm("Gemma2Config", "Gemma2ForCausalLM", **head16)(T),
        "gemma3": lambda: _lm("Gemma3TextConfig", "Gemma3ForCausalLM", **head16)(T),
        "phi": lambda: _lm("PhiConfig", "PhiForCausalLM")(T),
        "phi3": lambda: _lm("Phi3Config", "Phi3ForCausalLM", pad_token_id=0)(T),
        "olmo2": lambda: _lm("Olmo2Config", "Olmo2ForCausalLM", **head16)(T),
        "cohere": lambda: _lm("CohereConfig", "CohereForCausalLM")(T),
        "stablelm": lambda: _lm("StableLmConfig", "StableLmForCausalLM")(T),
        "gpt_neox": lambda: _lm("GPTNeoXConfig", "GPTNeoXForCausalLM")(T),
        "falcon": lambda: (T.FalconForCausalLM(T.FalconConfig(hidden_size=64, num_hidden_layers=2,
                                                               num_attention_heads=4, vocab_size=VOCAB)), "tokens"),
        "opt": lambda: (T.OPTForCausalLM(T.OPTConfig(hidden_size=64, num_hidden_layers=2, num_attention_heads=4,
                                                      ffn_dim=128, vocab_size=VOCAB, max_position_embeddings=64,
                                                      word_embed_proj_dim=64)), "tokens"),
        "gptj": lambda: (T.GPTJForCausalLM(T.GPTJConfig(n_embd=64, n_layer=2, n_head=4, vocab_size=VOCAB,
                                                         n_positions=64, rotary_dim=8)), "tokens"),
        "gpt_bigcode": lambda: (T.GPTBigCodeForCausalLM(T.GPTBigCodeConfig(n_embd=64, n_layer=2, n_head=4,
                                                                            vocab_size=VOCAB, n_positions=64)),
                                "tokens"),
        # Mixtures of experts: routing, integer histc, sort and gathers.
        "mixtral": lambda: _lm("MixtralConfig", "MixtralForCausalLM", num_local_experts=4, **_MOE)(T),
        "qwen2_moe": lambda: _lm("Qwen2MoeConfig", "Qwen2MoeForCausalLM", num_experts=4, moe_intermediate_size=32,
                                 shared_expert_intermediate_size=32, **_MOE)(T),
        "qwen3_moe": lambda: _lm("Qwen3MoeConfig", "Qwen3MoeForCausalLM", num_experts=4, moe_intermediate_size=32,
                                 **head16, **_MOE)(T),
        "deepseek_v3": lambda: _lm("DeepseekV3Config", "DeepseekV3ForCausalLM", n_routed_experts=4,
                                   moe_intermediate_size=32, n_shared_experts=1, first_k_dense_replace=1,
                                   kv_lora_rank=16, q_lora_rank=16, qk_rope_head_dim=8, qk_nope_head_dim=8,
                                   v_head_dim=16, n_group=2, topk_group=1, **_MOE)(T),
        "granitemoe": lambda: _lm("GraniteMoeConfig", "GraniteMoeForCausalLM", num_local_experts=4, **_MOE)(T),
        "gpt_oss": lambda: _lm("GptOssConfig", "GptOssForCausalLM", num_local_experts=4, **head16,
                               layer_types=["sliding_attention", "full_attention"], sliding_window=8, **_MOE)(T),
        # Complex-number rotary embeddings (polar, complex multiply) and a mixture of experts.
        "llama4": lambda: _lm("Llama4TextConfig", "Llama4ForCausalLM", num_local_experts=4, num_experts_per_tok=1,
                              intermediate_size_mlp=128, interleave_moe_layer_step=1, no_rope_layers=[1, 1],
                              **head16)(T),
        # State-space models.
        "mamba": lambda: (T.MambaForCausalLM(T.MambaConfig(hidden_size=64, num_hidden_layers=2, vocab_size=VOCAB,
                                                            state_size=8, expand=2, conv_kernel=4)), "tokens"),
        "mamba2": lambda: (T.Mamba2ForCausalLM(T.Mamba2Config(hidden_size=64, num_hidden_layers=2, vocab_size=VOCAB,
                                                               state_size=16, expand=2, conv_kernel=4, num_heads=8,
                                                               head_dim=16, n_groups=1, chunk_size=8)), "tokens"),
        "jamba": lambda: _lm("JambaConfig", "JambaForCausalLM", num_experts=4, attn_layer_period=2,
                             attn_layer_offset=1, expert_layer_period=2, expert_layer_offset=1, mamba_d_state=8,
                             use_mamba_kernels=False, **_MOE)(T),
        # Encoders and encoder-decoders.
        "bert": lambda: (T.BertForMaskedLM(T.BertConfig(**_BERT)), "tokens"),
        "roberta": lambda: (T.RobertaForMaskedLM(T.RobertaConfig(**{**_BERT, "max_position_embeddings": 80})),
                            "tokens"),
        "t5": lambda: (T.T5ForConditionalGeneration(T.T5Config(d_model=64, d_kv=16, d_ff=128, num_layers=2,
                                                               num_heads=4, vocab_size=VOCAB,
                                                               decoder_start_token_id=0)), "seq2seq"),
        "bart": lambda: (T.BartForConditionalGeneration(T.BartConfig(
            d_model=64, encoder_layers=2, decoder_layers=2, encoder_attention_heads=4, decoder_attention_heads=4,
            encoder_ffn_dim=128, decoder_ffn_dim=128, vocab_size=VOCAB, max_position_embeddings=64)), "seq2seq"),
        "whisper": lambda: (T.WhisperForConditionalGeneration(T.WhisperConfig(
            d_model=64, encoder_layers=2, decoder_layers=2, encoder_attention_heads=4, decoder_attention_heads=4,
            encoder_ffn_dim=128, decoder_ffn_dim=128, vocab_size=VOCAB, num_mel_bins=16, max_source_positions=32,
            max_target_positions=32, decoder_start_token_id=1, pad_token_id=0)), "audio"),
        # Vision.
        "vit": lambda: (T.ViTForImageClassification(T.ViTConfig(hidden_size=64, num_hidden_layers=2,
                                                                num_attention_heads=4, intermediate_size=128,
                                                                image_size=32, patch_size=8, num_labels=5)),
                        "image"),
        "dinov2": lambda: (T.Dinov2ForImageClassification(T.Dinov2Config(
            hidden_size=64, num_hidden_layers=2, num_attention_heads=4, intermediate_size=128, image_size=32,
            patch_size=8, num_labels=5)), "image"),
        "swin": lambda: (T.SwinForImageClassification(T.SwinConfig(image_size=32, patch_size=4, embed_dim=16,
                                                                   depths=[1, 1], num_heads=[2, 2], window_size=4,
                                                                   num_labels=5)), "image"),
        "resnet": lambda: (T.ResNetForImageClassification(T.ResNetConfig(
            num_channels=3, embedding_size=16, hidden_sizes=[16, 32], depths=[1, 1], num_labels=5)), "image"),
        "convnext": lambda: (T.ConvNextForImageClassification(T.ConvNextConfig(
            num_channels=3, num_stages=2, hidden_sizes=[16, 32], depths=[1, 1], num_labels=5, image_size=32)),
            "image"),
        "segformer": lambda: (T.SegformerForSemanticSegmentation(T.SegformerConfig(
            num_channels=3, num_encoder_blocks=2, depths=[1, 1], sr_ratios=[2, 1], hidden_sizes=[16, 32],
            num_attention_heads=[1, 2], decoder_hidden_size=32, num_labels=5, patch_sizes=[7, 3], strides=[4, 2],
            mlp_ratios=[2, 2])), "segmentation"),
    }


_BERT = dict(hidden_size=64, num_hidden_layers=2, num_attention_heads=4, intermediate_size=128,
             vocab_size=VOCAB, max_position_embeddings=64)

NAMES = sorted(_configs(None))


def build(name, dtype=torch.float32):
    """(model in evaluation mode, batch of CPU tensors) for `name`."""
    import transformers
    torch.manual_seed(0)
    model, kind = _configs(transformers)[name]()
    model = model.to(dtype).eval()
    g = torch.Generator().manual_seed(1)
    floats = lambda *shape: torch.randn(*shape, generator=g).to(dtype)  # noqa: E731
    if kind == "tokens":
        ids = torch.randint(1, VOCAB, (2, 12), generator=g)
        batch = dict(input_ids=ids, labels=ids)
    elif kind == "seq2seq":
        batch = dict(input_ids=torch.randint(1, VOCAB, (2, 12), generator=g),
                     labels=torch.randint(1, VOCAB, (2, 8), generator=g))
    elif kind == "audio":
        batch = dict(input_features=floats(2, 16, 64), labels=torch.randint(2, VOCAB, (2, 8), generator=g))
    elif kind == "image":
        batch = dict(pixel_values=floats(2, 3, 32, 32), labels=torch.randint(0, 5, (2,), generator=g))
    else:
        batch = dict(pixel_values=floats(2, 3, 32, 32), labels=torch.randint(0, 5, (2, 32, 32), generator=g))
    return model, batch
