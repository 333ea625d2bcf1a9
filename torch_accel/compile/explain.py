"""What the accel compiler did, as text: per graph, the fused programs (the
ops each absorbed, its program, the tensors it reads from and writes to DRAM
and those that stay on the cores), matmul epilogues, the ops left eager, and
a DRAM buffer plan from the tensors' lifetimes."""
import math

import torch

_ITEMSIZE = {"float32": 4, "bfloat16": 2, "float16": 2, "float64": 8, "int64": 8, "int32": 4,
             "bool": 1, "uint8": 1, "int8": 1, "int16": 2}


def _nbytes(shape, dtype):
    return math.prod(int(s) for s in shape) * _ITEMSIZE.get(dtype, 4)


def _owns_storage(node):
    """Whether node's result is a new accel tensor (not a view, not a tuple)."""
    val = node.meta.get("val")
    return (node.op == "call_function" and isinstance(val, torch.Tensor)
            and val.device.type == "accel" and not getattr(node.target, "is_view", False))


def buffer_plan(gm):
    """DRAM buffers for the graph's intermediate tensors, reused by lifetime:
    a tensor takes a freed buffer of its size when one exists (as the caching
    allocator would), else a new one; a buffer is freed after its tensor's last
    reader unless the tensor leaves the graph. Returns (rows, buffers, peak bytes)
    with rows (name, bytes, buffer index)."""
    nodes = list(gm.graph.nodes)
    last_use = {}
    for i, n in enumerate(nodes):
        for inp in n.all_input_nodes:
            last_use[inp] = (i, n.op == "output")
    free, buffers, rows, frees_at = {}, [], [], {}
    live = peak = 0
    for i, n in enumerate(nodes):
        if _owns_storage(n):
            val = n.meta["val"]
            size = _nbytes(val.shape, str(val.dtype).replace("torch.", ""))
            if free.get(size):
                buf = free[size].pop()
            else:
                buf = len(buffers)
                buffers.append(size)
            live += size
            peak = max(peak, live)
            rows.append((n.name, size, buf))
            end, leaves = last_use.get(n, (i, False))
            if not leaves:
                frees_at.setdefault(end, []).append((size, buf))
        for size, buf in frees_at.pop(i, []):
            free.setdefault(size, []).append(buf)
            live -= size
    return rows, buffers, peak


def format_lowered(lowered, gm=None):
    lines = [f"== accel compiled graph ({lowered.kind}) =="]
    def tensors(items):
        return ", ".join(f"{n} {list(s)} {d}" for n, s, d in items)

    def counts(table):
        return ", ".join(f"{k} x{v}" for k, v in sorted(table.items()))

    for i, g in enumerate(lowered.groups):
        read = sum(_nbytes(s, d) for _, s, d in g.inputs)
        written = sum(_nbytes(s, d) for _, s, d in g.outputs)
        kept = sum(_nbytes(s, d) for _, s, d in g.intermediates)
        resident = ", ".join(n for n, _, _ in g.intermediates) or "-"
        lines.append(f"fused program {i}: {' + '.join(g.absorbed)}")
        lines.append(f"  program: {g.program}")
        lines.append(f"  DRAM reads : {tensors(g.inputs)} ({read} B)")
        lines.append(f"  DRAM writes: {tensors(g.outputs)} ({written} B)")
        lines.append(f"  L1-resident (fp32 per tile, never in DRAM): {resident}; "
                     f"saves {2 * kept} B of DRAM traffic")
    for mm, act, op in lowered.epilogues:
        if op == "accel::mm_bias_grad":
            lines.append(f"matmul epilogue: {mm} + {act} -> {op} "
                         "(the bias gradient as a column of ones beside the weight gradient)")
            continue
        kept = ", pre-activation also written for its other readers" if op.endswith("_saved") else ""
        what = "gradient" if op.endswith("_backward") else "activation"
        lines.append(f"matmul epilogue: {mm} + {act} -> {op} "
                     f"({what} applied per output block in L1{kept})")
    for ops, act in lowered.conv_epilogues:
        lines.append(f"conv epilogue: {' + '.join(ops)} -> accel::conv_act "
                     "(applied per output block by the conv program's writer)")
    notes = (("RMSNorm chains run as the rms_norm program", lowered.native_norms),
             ("matmul epilogue: mm + residual -> addmm (added per output block in L1)",
              lowered.residual_epilogues),
             ("inference batch norms as per-channel affine maps (fused onward)",
              lowered.folded_batch_norms),
             ("optimizer-step programs updating parameters and state in place", lowered.optimizer_programs))
    lines += [f"{text}: {n}" for text, n in notes if n]
    lines += [f"norm fusion: {text}" for text in lowered.norm_fusions]
    if lowered.eager_ops:
        lines.append("eager accel programs: " + counts(lowered.eager_ops))
    if lowered.host_ops:
        lines.append("no accel kernel (CPU fallback): " + counts(lowered.host_ops))
    if not lowered.kind.endswith("not lowered)"):
        lines.append("host: " + ("the graph's ops run as boxed calls from C++ (torch_accel._C.GraphRunner)"
                                 if lowered.graph_runner else "the graph runs its generated Python code"))
    if gm is not None:
        rows, buffers, peak = buffer_plan(gm)
        lines.append(f"DRAM buffer plan: {len(rows)} tensors in {len(buffers)} buffers, "
                     f"peak {peak} B of intermediates")
        for name, size, buf in rows:
            lines.append(f"  buffer {buf:>3}  {size:>10} B  {name}")
    return "\n".join(lines)


def compile_explain(model_or_fn, *example_inputs, training=False, **kwargs):
    """Compiles model_or_fn with backend="accel", runs it once on the inputs
    (and its backward when training), and returns the schedule as text."""
    import torch_accel
    from .backend import lowered_graphs
    torch._dynamo.reset()
    before = len(lowered_graphs())
    compiled = torch.compile(model_or_fn, backend="accel", dynamic=False)
    with torch_accel.profile() as prof:
        out = compiled(*example_inputs, **kwargs)
        if training:
            leaves = [t for t in torch.utils._pytree.tree_leaves(out)
                      if isinstance(t, torch.Tensor) and t.requires_grad]
            if not leaves:
                raise ValueError("compile_explain(training=True): the model returned no tensor "
                                 "that requires grad")
            leaves[0].float().sum().backward()
    text = [format_lowered(g) for g in lowered_graphs()[before:]]
    fused = [r for r in prof.records if r["compute"] == "fused_eltwise"]
    text.append(f"== programs run: {len(prof.records)} ({len(fused)} fused), "
                f"{prof.total_dram_bytes} B DRAM, modelled {prof.total_time_s * 1e6:.1f} us ==")
    for r in fused:
        text.append(f"  {r['op']}: {r['tiles']} tiles on {r['cores_used']} cores, "
                    f"L1 {r['l1_bytes_per_core']} B/core, DRAM {r['dram_read_bytes']}+{r['dram_write_bytes']} B, "
                    f"{r['time_s'] * 1e6:.2f} us")
    return "\n".join(text)
