"""The ProgramRecord an aten op would produce on the accel device, from the
shapes and dtypes alone: estimate mode's half of torch_accel.estimate.

Element-wise and matmul records follow the engine's own planning
(csrc/engine/eltwise.cpp plan_record, csrc/engine/matmul.cpp plan), so an
estimate of a model made of them matches an eager profile record for record.
Convolution is priced as the implicit GEMM the engine runs, with the
multicast matmul plan's traffic (csrc/perf/matmul_plan.cpp); norms, softmax,
reductions and data movement by the bytes they stream and their vector-engine
function. Views and metadata ops launch no program.
"""
import math

import torch

# Element-wise tile kernels: name -> (engine, FLOPs per element), as the
# kernels in kernels/eltwise declare them.
KERNELS = {
    "sfpu_threshold_backward": ("sfpu", 1), "sfpu_gelu_backward": ("sfpu", 18),
    "sfpu_gelu_tanh_backward": ("sfpu", 20), "sfpu_silu_backward": ("sfpu", 16),
    "sfpu_sigmoid_backward": ("sfpu", 3), "sfpu_tanh_backward": ("sfpu", 3),
    "sfpu_leaky_relu_backward": ("sfpu", 2), "sfpu_hardswish_backward": ("sfpu", 4),
    "sfpu_hardsigmoid_backward": ("sfpu", 3), "sfpu_elu_backward": ("sfpu", 14),
    "sfpu_softplus_backward": ("sfpu", 14), "sfpu_mish_backward": ("sfpu", 30),
    "eltwise_binary_add": ("fpu", 1), "eltwise_binary_sub": ("fpu", 1),
    "eltwise_binary_mul": ("fpu", 1), "eltwise_binary_div": ("sfpu", 4),
    "eltwise_binary_div_trunc": ("sfpu", 5), "eltwise_binary_div_floor": ("sfpu", 8),
    "eltwise_binary_maximum": ("sfpu", 1), "eltwise_binary_minimum": ("sfpu", 1),
    "eltwise_binary_pow": ("sfpu", 16), "eltwise_binary_remainder": ("sfpu", 6),
    "eltwise_binary_fmod": ("sfpu", 5), "eltwise_binary_atan2": ("sfpu", 20),
    "eltwise_binary_eq": ("sfpu", 1), "eltwise_binary_ne": ("sfpu", 1),
    "eltwise_binary_lt": ("sfpu", 1), "eltwise_binary_le": ("sfpu", 1),
    "eltwise_binary_gt": ("sfpu", 1), "eltwise_binary_ge": ("sfpu", 1),
    "eltwise_binary_logical_and": ("sfpu", 1), "eltwise_binary_logical_or": ("sfpu", 1),
    "eltwise_binary_logical_xor": ("sfpu", 1), "eltwise_ternary_where": ("sfpu", 1),
    "eltwise_ternary_lerp": ("sfpu", 3), "eltwise_ternary_addcmul": ("fpu", 3),
    "eltwise_ternary_addcdiv": ("sfpu", 6), "sfpu_relu": ("sfpu", 1),
    "sfpu_gelu": ("sfpu", 12), "sfpu_gelu_tanh": ("sfpu", 14), "sfpu_silu": ("sfpu", 12),
    "sfpu_sigmoid": ("sfpu", 11), "sfpu_tanh": ("sfpu", 12), "sfpu_exp": ("sfpu", 10),
    "sfpu_expm1": ("sfpu", 11), "sfpu_log": ("sfpu", 10), "sfpu_log1p": ("sfpu", 11),
    "sfpu_log2": ("sfpu", 10), "sfpu_sqrt": ("sfpu", 6), "sfpu_rsqrt": ("sfpu", 6),
    "sfpu_reciprocal": ("sfpu", 6), "sfpu_abs": ("sfpu", 1), "sfpu_neg": ("sfpu", 1),
    "sfpu_sign": ("sfpu", 2), "sfpu_sin": ("sfpu", 12), "sfpu_cos": ("sfpu", 12),
    "sfpu_erf": ("sfpu", 12), "sfpu_erfinv": ("sfpu", 30), "sfpu_floor": ("sfpu", 1),
    "sfpu_ceil": ("sfpu", 1), "sfpu_round": ("sfpu", 1), "sfpu_trunc": ("sfpu", 1),
    "sfpu_clamp": ("sfpu", 2), "sfpu_leaky_relu": ("sfpu", 2), "sfpu_elu": ("sfpu", 12),
    "sfpu_hardswish": ("sfpu", 4), "sfpu_hardsigmoid": ("sfpu", 3),
    "sfpu_softplus": ("sfpu", 22), "sfpu_mish": ("sfpu", 24), "sfpu_nan_to_num": ("sfpu", 2),
}

_FORMATS = {torch.float32: "Float32", torch.float64: "Float64", torch.bfloat16: "Float16_b",
            torch.float16: "Float16", torch.int8: "Int8", torch.uint8: "UInt8",
            torch.int16: "Int16", torch.int32: "Int32", torch.int64: "Int64", torch.bool: "Bool"}

_BINARY = {"add", "sub", "mul", "div", "maximum", "minimum", "pow", "remainder", "fmod",
           "atan2", "eq", "ne", "lt", "le", "gt", "ge", "logical_and", "logical_or",
           "logical_xor", "rsub"}
_UNARY_ALIAS = {"clamp_min": "clamp", "clamp_max": "clamp", "hardtanh": "clamp",
                "relu6": "clamp", "sigmoid": "sigmoid", "threshold": "relu"}
_MATMUL = {"mm", "addmm", "bmm", "baddbmm"}
_REDUCE = {"sum", "mean", "amax", "amin", "max", "min", "var", "std", "prod", "argmax",
           "argmin", "any", "all", "linalg_vector_norm", "norm", "var_mean", "std_mean",
           "logsumexp", "cumsum"}
_NORM = {"native_layer_norm": ("layer_norm_sfpu", 7), "_softmax": ("softmax_sfpu", 5),
         "_log_softmax": ("log_softmax_sfpu", 5), "native_group_norm": ("group_norm_sfpu", 7),
         "_fused_rms_norm": ("rms_norm_sfpu", 4),
         "_native_batch_norm_legit_no_training": ("batch_norm_sfpu", 2),
         "_native_batch_norm_legit": ("batch_norm_sfpu", 7),
         "native_batch_norm": ("batch_norm_sfpu", 7),
         "native_layer_norm_backward": ("layer_norm_backward_sfpu", 12),
         "_softmax_backward_data": ("softmax_backward_sfpu", 4),
         "_log_softmax_backward_data": ("log_softmax_backward_sfpu", 4),
         "native_group_norm_backward": ("group_norm_backward_sfpu", 12),
         "native_batch_norm_backward": ("batch_norm_backward_sfpu", 12),
         "_fused_rms_norm_backward": ("rms_norm_backward_sfpu", 10)}
_ATTENTION = ("_scaled_dot_product", "scaled_dot_product_attention")
# No program: metadata, aliasing and allocation.
_FREE = {"detach", "empty", "empty_like", "empty_strided", "_unsafe_view", "alias", "lift_fresh",
         "lift_fresh_copy", "set_", "resize_", "_local_scalar_dense", "sym_size", "sym_stride",
         "sym_numel", "is_same_size", "_reshape_alias", "new_empty", "new_empty_strided",
         "_has_compatible_shallow_copy_type"}
_FILL = {"zeros", "ones", "full", "fill", "zero", "zeros_like", "ones_like", "full_like",
         "arange", "new_zeros", "new_ones", "new_full", "scalar_tensor", "linspace"}


def _ceil(a, b):
    return -(-a // b)


def _bytes(t):
    return t.element_size() if isinstance(t, torch.Tensor) else 8


def _tensors(x):
    if isinstance(x, torch.Tensor):
        return [x]
    if isinstance(x, (list, tuple)):
        return [t for v in x for t in _tensors(v)]
    return []


class ProgramPlanner:
    """Turns (op, inputs, outputs) into program records for one architecture."""

    def __init__(self, arch, math_fidelity=4, fp32_dest_acc=True, device=0):
        self.arch = arch
        self.area = arch["tile_rows"] * arch["tile_cols"]
        self.cores = arch["grid_rows"] * arch["grid_cols"]
        self.l1 = arch["l1_bytes_per_core"]
        self.fidelity, self.fp32_acc, self.device = math_fidelity, fp32_dest_acc, device
        self.records = []

    def _record(self, op, compute, engine, fmt_in, fmt_out, **fields):
        r = {"op": op, "reader": fields.pop("reader", "reader_tilize_interleaved"),
             "compute": compute, "writer": fields.pop("writer", "writer_untilize_interleaved"),
             "compute_engine": engine, "input_format": fmt_in, "output_format": fmt_out,
             "math_fidelity": self.fidelity, "fp32_dest_acc": self.fp32_acc,
             "device": self.device, "batch": 1, "m_tiles": 0, "n_tiles": 0, "k_tiles": 0,
             "in1_format": "", "sfpu_function": "", "multicast_bytes": 0}
        r.update(fields)
        r.setdefault("noc_bytes", r["dram_read_bytes"] + r["dram_write_bytes"])
        self.records.append(r)
        return r

    def _split(self, tiles):
        used = min(tiles, self.cores)
        return used, (_ceil(tiles, used) if used else 0)

    # -- element-wise: csrc/engine/eltwise.cpp plan_record ----------------------
    def eltwise(self, op, kernel, inputs, out):
        engine, flops = KERNELS.get(kernel, ("sfpu", 1))
        tiles = _ceil(out.numel(), self.area)
        read = sum(tiles * self.area * _bytes(t) for t in inputs)
        write = tiles * self.area * out.element_size()
        used, per_core = self._split(tiles)
        l1 = sum(2 * self.area * _bytes(t) for t in inputs) + 2 * self.area * out.element_size()
        first = inputs[0] if inputs else out
        fmt_in = _FORMATS.get(first.dtype, "Float32") if isinstance(first, torch.Tensor) else \
            ("Int64" if isinstance(first, int) else "Float64")
        return self._record(op, kernel, engine, fmt_in, _FORMATS.get(out.dtype, "Float32"),
                            flops=out.numel() * flops, dram_read_bytes=read,
                            dram_write_bytes=write, tiles=tiles, cores_used=used,
                            max_tiles_per_core=per_core, l1_bytes_per_core=l1)

    # -- matmul: csrc/engine/matmul.cpp plan ------------------------------------
    def matmul(self, op, a, b, out, bias=None, batch=1):
        M, K = a.shape[-2], a.shape[-1]
        N = b.shape[-1]
        t = self.arch["tile_rows"]
        Mt, Nt, Kt = _ceil(M, t), _ceil(N, t), _ceil(K, t)
        ea, eb, eo = a.element_size(), b.element_size(), out.element_size()
        row_bias = bias is not None and (bias.dim() == 1 or bias.shape[-2] == 1)

        def l1_need(bm, bn, bk):
            need = 2 * bm * bk * self.area * ea + 2 * bk * bn * self.area * eb + \
                bm * bn * self.area * eo
            if Kt > bk:
                need += bm * bn * self.area * 4
            if bias is not None:
                need += (bn if row_bias else bm * bn) * self.area * bias.element_size()
            return need

        bm, bn = min(max(Mt, 1), 8), min(max(Nt, 1), 8)

        def blocks():
            return batch * _ceil(Mt, bm) * _ceil(Nt, bn)

        def halve():
            nonlocal bm, bn
            if bm >= bn:
                bm = _ceil(bm, 2)
            else:
                bn = _ceil(bn, 2)
        while blocks() < self.cores and (bm > 1 or bn > 1):
            halve()
        while True:
            bk, fits = max(Kt, 1), False
            while True:
                if l1_need(bm, bn, bk) <= self.l1:
                    fits = True
                    break
                if bk == 1:
                    break
                bk = (bk + 1) // 2
            if fits or (bm == 1 and bn == 1):
                break
            halve()
        m_blocks, n_blocks = _ceil(Mt, bm), _ceil(Nt, bn)
        read = batch * Kt * (Mt * n_blocks * self.area * ea + Nt * m_blocks * self.area * eb)
        if bias is not None:
            read += (1 if row_bias else Mt) * Nt * self.area * bias.element_size()
        tiles = batch * Mt * Nt
        used, per_core = self._split(blocks())
        return self._record(
            op, "matmul_block", "fpu", _FORMATS[a.dtype], _FORMATS[out.dtype],
            reader="reader_matmul_blocked", flops=2 * batch * M * N * K, dram_read_bytes=read,
            dram_write_bytes=tiles * self.area * eo, tiles=tiles, cores_used=used,
            max_tiles_per_core=per_core * bm * bn, l1_bytes_per_core=l1_need(bm, bn, bk),
            batch=batch, m_tiles=Mt, n_tiles=Nt, k_tiles=Kt)

    # -- convolution as implicit GEMM, with the multicast plan's traffic --------
    def gemm(self, op, compute, G, M, N, K, fmt, out_fmt, elem):
        t = self.arch["tile_rows"]
        Mt, Nt, Kt = _ceil(M, t), _ceil(N, t), _ceil(K, t)
        tiles = G * Mt * Nt
        from . import _C
        plan = _C.perf_plan_matmul(G, Mt, Nt, Kt, fmt, fmt, out_fmt, self.fp32_acc,
                                   self.arch["name"])
        used, per_core = self._split(tiles)
        return self._record(op, compute, "fpu", fmt, out_fmt, reader="reader_im2col",
                            flops=2 * G * M * N * K, dram_read_bytes=plan["dram_read_bytes"],
                            dram_write_bytes=G * M * N * elem, tiles=tiles, cores_used=used,
                            max_tiles_per_core=per_core, l1_bytes_per_core=0, batch=G,
                            m_tiles=Mt, n_tiles=Nt, k_tiles=Kt,
                            multicast_bytes=plan["multicast_bytes"])

    # -- tile streams: norms, reductions, movement, fills -----------------------
    def stream(self, op, compute, engine, inputs, outputs, flops_per_element=0,
               sfpu_function=""):
        out = outputs[0] if outputs else inputs[0]
        tiles_in = sum(_ceil(t.numel(), self.area) for t in inputs)
        tiles_out = sum(_ceil(t.numel(), self.area) for t in outputs)
        tiles = max(tiles_in, tiles_out, 1)
        read = sum(_ceil(t.numel(), self.area) * self.area * t.element_size() for t in inputs)
        write = sum(_ceil(t.numel(), self.area) * self.area * t.element_size() for t in outputs)
        used, per_core = self._split(tiles)
        biggest = max((t.numel() for t in inputs), default=out.numel())
        first = inputs[0] if inputs else out
        return self._record(op, compute, engine, _FORMATS.get(first.dtype, "Float32"),
                            _FORMATS.get(out.dtype, "Float32"),
                            flops=biggest * flops_per_element, dram_read_bytes=read,
                            dram_write_bytes=write, tiles=tiles, cores_used=used,
                            max_tiles_per_core=per_core, l1_bytes_per_core=0,
                            sfpu_function=sfpu_function)

    def optimizer_step(self, param, kind="adamw"):
        """One fused per-parameter update: AdamW reads the parameter, its
        gradient and two fp32 moments and writes all but the gradient back
        (about 12 FLOPs per element); SGD reads two and writes one."""
        state = torch.empty(param.shape, dtype=torch.float32, device="meta")
        if kind == "adamw":
            self.stream("optimizer.adamw", "optimizer_adamw", "sfpu",
                        [param, param, state, state], [param, state, state], 12)
        elif kind == "sgd":
            self.stream("optimizer.sgd", "eltwise_ternary_addcmul", "fpu",
                        [param, param], [param], 2)
        else:
            raise ValueError(f"estimate: optimizer must be 'adamw' or 'sgd', got {kind!r}")

    # -- dispatch ---------------------------------------------------------------
    def add(self, func, args, kwargs, out):
        if getattr(func, "is_view", False):
            return
        full = func._schema.name
        name = full.split("::", 1)[-1]
        base = name[:-1] if name.endswith("_") and not name.startswith("_") else name
        outs = [t for t in _tensors(out) if t.numel() > 0]
        if base in _FREE or not outs:
            return
        tensors = [t for t in _tensors(list(args) + list(kwargs.values()))]
        o = outs[0]
        if base in _MATMUL:
            a, b = (args[1], args[2]) if base in ("addmm", "baddbmm") else (args[0], args[1])
            bias = args[0] if base in ("addmm", "baddbmm") else None
            beta = kwargs.get("beta", 1)
            batch = a.shape[0] if a.dim() == 3 else 1
            self.matmul(full, a, b, o, bias if beta != 0 else None, batch)
        elif base in ("convolution", "convolution_backward"):
            self._conv(full, base, args, outs)
        elif any(base.startswith(p) for p in _ATTENTION):
            self._attention(full, base, args, outs)
        elif base in _NORM:
            compute, flops = _NORM[base]
            self.stream(full, compute, "sfpu", [t for t in tensors if t.numel() > 0],
                        [outs[0]], flops)
        elif base in _REDUCE:
            self.stream(full, "reduce_" + base, "fpu", tensors[:1], outs[:1], 1)
        elif base in _BINARY or base in ("addcmul", "addcdiv", "where", "lerp"):
            self._eltwise(full, base, func, args, o)
        elif base.endswith("_backward") and f"sfpu_{base}" in KERNELS:
            self.eltwise(full, f"sfpu_{base}", [t for t in tensors[:2]], o)
        elif f"sfpu_{_UNARY_ALIAS.get(base, base)}" in KERNELS:
            kernel = f"sfpu_{_UNARY_ALIAS.get(base, base)}"
            if base == "gelu" and kwargs.get("approximate", "none") == "tanh":
                kernel = "sfpu_gelu_tanh"
            self.eltwise(full, kernel, tensors[:1], o)
        elif base in ("embedding", "index_select", "gather", "index"):
            # A gather reads only the rows it selects, plus the indices.
            idx = [t for t in tensors[1:] if not t.is_floating_point()]
            self.stream(full, "gather_rows", "sfpu", idx + [o], [o], 0,
                        sfpu_function="sfpu_abs")
        elif base in _FILL:
            self.stream(full, "fill", "sfpu", [], outs[:1], 0, sfpu_function="sfpu_relu")
        else:
            # Data movement and anything unlisted: the bytes it streams through L1.
            self.stream(full, "copy_" + base, "sfpu", [t for t in tensors if t.numel() > 0],
                        outs, 0, sfpu_function="sfpu_abs")

    def _eltwise(self, full, base, func, args, out):
        schema_args = func._schema.arguments
        inputs = []
        for arg, val in zip(schema_args, args):
            if str(arg.type).startswith("Tensor"):
                inputs.append(val)
        if base == "rsub":
            base = "sub"
        if base in ("where", "lerp", "addcmul", "addcdiv"):
            kernel = f"eltwise_ternary_{base}"
        elif base == "div":
            kernel = "eltwise_binary_div"
        else:
            kernel = f"eltwise_binary_{base}"
        self.eltwise(full, kernel, inputs, out)

    def _conv(self, full, base, args, outs):
        if base == "convolution":
            x, w = args[0], args[1]
            groups = args[8]
            y = outs[0]
            G = groups
            M = y.shape[0] * math.prod(y.shape[2:])
            N = w.shape[0] // G
            K = math.prod(w.shape[1:])
            self.gemm(full, "conv_implicit_gemm_fp32acc", G, M, N, K, _FORMATS[x.dtype],
                      _FORMATS[y.dtype], y.element_size())
            return
        grad_out, x, w = args[0], args[1], args[2]
        groups, mask = args[8], args[9]
        G = groups
        M = x.shape[0] * math.prod(grad_out.shape[2:])
        fmt = _FORMATS[x.dtype]
        if mask[0]:  # input gradient: grad_out x filter^T over output pixels
            self.gemm(full + ".input", "conv_dgrad_gemm_fp32acc", G,
                      x.shape[0] * math.prod(x.shape[2:]), x.shape[1] // G,
                      w.shape[0] // G * math.prod(w.shape[2:]), fmt, fmt, x.element_size())
        if mask[1]:  # weight gradient: reduce over every output pixel
            self.gemm(full + ".weight", "conv_wgrad_gemm_fp32acc", G, w.shape[0] // G,
                      math.prod(w.shape[1:]), M, fmt, fmt, w.element_size())
        if len(mask) > 2 and mask[2]:
            self.stream(full + ".bias", "reduce_sum", "fpu", [grad_out], [outs[-1]], 1)

    def _attention(self, full, base, args, outs):
        q, k, v = args[0], args[1], args[2]
        batch = math.prod(q.shape[:-2])
        Lq, Lk, E, Ev = q.shape[-2], k.shape[-2], q.shape[-1], v.shape[-1]
        backward = "backward" in base
        # Scores and the weighted sum as two matrix-engine passes (three more
        # for the backward), with the softmax between them on the vector engine.
        passes = [(Lq, Lk, E), (Lq, Ev, Lk)]
        if backward:
            passes += [(Lq, Lk, Ev), (Lq, E, Lk), (Lk, E, Lq), (Lk, Ev, Lq)]
        fmt = _FORMATS[q.dtype]
        for i, (M, N, K) in enumerate(passes):
            self.gemm(f"{full}.gemm{i}", "sdpa_matmul", batch, M, N, K, fmt, fmt,
                      q.element_size())
        scores = torch.empty((batch, Lq, Lk), dtype=q.dtype, device="meta")
        self.stream(f"{full}.softmax", "softmax_sfpu", "sfpu", [scores], [scores], 5)
