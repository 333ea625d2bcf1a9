"""What a quantized model costs on a chip: torch_accel.estimate's run, with
every quantized layer's programs priced in the formats it would read there.

On the chip a quantized layer does not fake-quantize: its weight already sits
in DRAM in the format (a block-float weight on accel is a BlockFloatTensor,
whose matmul records its format itself) and its input arrives in the format
the producing program packed it to. So while pricing, quantized layers run
their plain matmul or convolution, and those programs' records get the
weight's format as in1 and the activation's as in0, with DRAM reads
re-planned for those tile sizes (the cost model's own plan, so a record's
extra reads, such as a bias, stay as recorded).
"""
import torch

from .. import _C
from ..estimate import _Scope, _arch_spec, _compute_scope, _virtual
from ..profiler import Profile
from . import formats as fm
from .modules import QuantLSTM, _QuantMixin, _pricing_mode

# Keys a Profile adds to a native record, which the cost model does not take.
_DERIVED = ("cost", "time_s", "bound", "utilisation", "energy_j", "op_class")


def _native(record):
    return {k: v for k, v in record.items() if k not in _DERIVED}


def _chip(fmt, dtype_format):
    return fmt.chip_format if fmt.chip_format is not None else dtype_format


def _reformat(records, formats, arch):
    """The layer's matrix-engine records read in0/in1 in its formats."""
    out = []
    for r in records:
        r = _native(r)
        if r.get("compute_engine") != "matrix":
            out.append(r)
            continue
        own = r["input_format"] or "Float32"
        in1_now = r["in1_format"] or own
        new = dict(r)
        new["input_format"] = _chip(formats["activation"], own)
        if not fm.is_block_float_name(in1_now):  # a BlockFloatTensor weight already is
            new["in1_format"] = _chip(formats["weight"], in1_now)
        if (new["input_format"], new["in1_format"]) != (own, in1_now):
            if not r["output_format"]:
                new["output_format"] = own
            planned_old, planned_new = _C.perf_estimate_many(
                [dict(r, dram_read_bytes=0), dict(new, dram_read_bytes=0)], arch)
            delta = planned_new["dram_bytes"] - planned_old["dram_bytes"]
            new["dram_read_bytes"] = max(0, r["dram_read_bytes"] + int(delta))
        out.append(new)
    return out


def _priced_formats(module):
    formats = dict(module.formats)
    if isinstance(module, QuantLSTM):  # only the first of its matmuls reads the input
        formats["activation"] = fm.FP32
    return formats


def estimate_quantized(model, *example_inputs, arch="wormhole_n150", dtype=None,
                       compute_config=None):
    """A torch_accel.profiler.Profile of one inference of `model` (quantized by
    torch_accel.quantize, or not) on `arch`, each quantized layer priced in
    its formats. Nothing is computed: estimate tensors carry no data."""
    spec = _arch_spec(arch)
    scope = _Scope(spec)
    tagged = []  # (records, formats or None) in program order
    hooks = []
    with scope as native, _compute_scope(compute_config), _pricing_mode(), torch.no_grad():
        def flush(formats=None):
            tagged.append((native.take_records(), formats))

        for m in model.modules():
            if isinstance(m, _QuantMixin):
                hooks.append(m.register_forward_pre_hook(lambda mod, args: flush()))
                hooks.append(m.register_forward_hook(
                    lambda mod, args, out: flush(_priced_formats(mod))))
        try:
            inputs = [_virtual(x, None, dtype) for x in example_inputs]
            made, params = {}, {}
            for name, p in [*model.named_parameters(remove_duplicate=False),
                            *model.named_buffers(remove_duplicate=False)]:
                if id(p) not in made:
                    made[id(p)] = _virtual(p, None, dtype)
                params[name] = made[id(p)]
            torch.func.functional_call(model, params, tuple(inputs), tie_weights=True)
            flush()
        finally:
            for h in hooks:
                h.remove()
        fallbacks = dict(native.host_fallbacks())
        peak = native.peak_bytes
        arch_name = native.arch_name
    records = []
    for recs, formats in tagged:
        records += _reformat(recs, formats, spec) if formats else [_native(r) for r in recs]
    if records:
        for r, c in zip(records, _C.perf_estimate_many(records, spec)):
            r["cost"] = c
    prof = Profile(records, arch=arch_name, host_fallbacks=fallbacks)
    prof.peak_memory_bytes = peak
    return prof
