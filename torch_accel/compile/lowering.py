"""Lowering an ATen FX graph (after AOTAutograd) into a schedule of chip
programs: in-place state updates as eager runs them, whole-op patterns
(patterns.py), matmul epilogues (torch.ops.accel.linear_act, addmm), and
chains of element-wise ops as one fused program (torch.ops.accel.fused_eltwise);
every other op stays an eager accel op of the graph, counted.
docs/COMPILE.md describes the passes."""
import dataclasses
import operator

import torch
import torch.fx

from . import optim_fusion
from .batch_norm_fusion import fuse_batch_norm_activations
from .conv_fusion import fuse_conv_epilogues
from .fx_nodes import activation_of as _activation_of, items as _items, val as _val
from .norm_fusion import fuse_norm_neighbours
from .patterns import fold_batch_norm_eval, fuse_matmul_residual, fuse_rms_norm
from .steps import DTYPE_NAMES, FLOAT_DTYPES, step_for
from .train_epilogue import fuse_bias_grads, fuse_matmul_backward_epilogues

aten = torch.ops.aten
_NOT_PROGRAMS = {operator.getitem}  # graph plumbing, no program of its own
_FUSED_TARGETS = ("fused_eltwise", "linear_act", "linear_act_saved", "mm_act_backward", "mm_bias_grad",
                  "conv_act", "add_layer_norm", "add_rms_norm", "scale_mask_softmax",
                  "add_layer_norm_backward", "add_rms_norm_backward", "batch_norm_act",
                  "batch_norm_act_backward")


@dataclasses.dataclass
class FusedGroup:
    """One fused program: its text, the FX names it absorbed, its inputs and outputs."""
    program: str
    absorbed: list
    inputs: list          # (name, shape, dtype) read from DRAM
    outputs: list         # (name, shape, dtype) written to DRAM
    intermediates: list   # (name, shape, dtype) that stay on the cores


@dataclasses.dataclass
class LoweredGraph:
    """What the lowering did to one graph (forward or backward)."""
    kind: str
    groups: list = dataclasses.field(default_factory=list)
    epilogues: list = dataclasses.field(default_factory=list)   # (matmul, activation, accel op)
    native_norms: int = 0                                       # RMSNorm chains -> rms_norm program
    folded_batch_norms: int = 0                                 # inference BN -> fusable affine map
    residual_epilogues: int = 0                                 # mm + tensor -> addmm epilogue
    conv_epilogues: list = dataclasses.field(default_factory=list)  # (absorbed ops, act) -> conv_act
    norm_fusions: list = dataclasses.field(default_factory=list)  # norm_fusion.py, batch_norm_fusion.py
    optimizer_programs: int = 0                                 # optimizer steps' in-place programs
    eager_ops: dict = dataclasses.field(default_factory=dict)   # op -> count, accel programs
    host_ops: dict = dataclasses.field(default_factory=dict)    # op -> count, ran on the CPU
    graph_runner: bool = False                                  # runs on _C.GraphRunner (runner.py)

    @property
    def fused_ops(self):
        return sum(len(g.absorbed) for g in self.groups)


def _shape_key(t):
    return tuple(str(s) for s in t.shape)


def _on_accel_float(t):
    return isinstance(t, torch.Tensor) and t.device.type == "accel" and t.dtype in FLOAT_DTYPES


def _fusable(node):
    """The node's step if it can join a fused program, else None."""
    if node.op != "call_function":
        return None
    out = _val(node)
    if not _on_accel_float(out):
        return None
    step = step_for(node)
    if step is None:
        return None
    _, operands, params = step
    for o in operands:
        if isinstance(o, torch.fx.Node):
            v = _val(o)
            if not _on_accel_float(v) or v.dim() > out.dim():
                return None
            try:
                if torch.broadcast_shapes(v.shape, out.shape) != out.shape:
                    return None
            except RuntimeError:
                return None
        elif not isinstance(o, (int, float)) or isinstance(o, bool):
            return None
    if any(not isinstance(v, (int, float)) for v in params.values()):
        return None
    return step


def _partition(graph):
    """Greedy groups in graph order. A node joins a producer's group when their
    output shapes match and its other inputs all precede the group's first
    member: the fused program then takes the first member's place, every
    input it reads already exists there, and nothing it feeds comes before it."""
    order = {n: i for i, n in enumerate(graph.nodes)}
    group_of, steps, groups = {}, {}, []
    for node in graph.nodes:
        step = _fusable(node)
        if step is None:
            continue
        steps[node] = step
        shape = _shape_key(_val(node))
        chosen = None
        for inp in node.all_input_nodes:
            g = group_of.get(inp)
            if g is None or groups[g][0] != shape:
                continue
            first = order[groups[g][1][0]]
            if all(group_of.get(i) == g or order[i] < first for i in node.all_input_nodes):
                chosen = g
                break
        if chosen is None:
            chosen = len(groups)
            groups.append((shape, []))
        groups[chosen][1].append(node)
        group_of[node] = chosen
    return [(nodes, steps) for _, nodes in groups]


def _fmt(x):
    return repr(float(x))


def _layout_matches(inputs, outputs):
    """Whether the fused op's outputs (laid out like its first whole-shape
    input, csrc/aten/fused_ops.cpp) have the strides the graph was traced with."""
    shape = outputs[0].shape
    like = next((t for t in inputs if t.shape == shape
                 and torch._prims_common.is_non_overlapping_and_dense_or_false(t)), None)
    for out in outputs:
        made = torch.empty_like(like, dtype=out.dtype) if like is not None else \
            torch.empty(shape, dtype=out.dtype, device=out.device)
        if _strides_key(made) != _strides_key(out):  # symbolic strides compare by expression
            return False
    return True


def _strides_key(t):
    return tuple(str(s) for s in t.stride())


def _emit_group(graph, nodes):
    """Replaces a group by one fused_eltwise call; returns its FusedGroup, or
    None when the group's outputs need a layout the op would not give them."""
    in_group = set(nodes)
    # Re-read the steps: emitting an earlier group replaced nodes they named.
    steps = {n: step_for(n) for n in nodes}
    inputs, lines = [], []
    n_steps = 0
    # The inputs are numbered first, then one value per step.
    number = {}
    for node in nodes:
        for o in steps[node][1]:
            if isinstance(o, torch.fx.Node) and o not in in_group and o not in number:
                number[o] = len(inputs)
                inputs.append(o)
    for node in nodes:
        name, operands, params = steps[node]
        if name == "identity":
            number[node] = number[operands[0]]
            continue
        args = [f"%{number[o]}" if isinstance(o, torch.fx.Node) else "#" + _fmt(o) for o in operands]
        args += [f"{k}={_fmt(v)}" for k, v in params.items()]
        lines.append(" ".join([name] + args))
        number[node] = len(inputs) + n_steps
        n_steps += 1
    outputs = [n for n in nodes if any(u not in in_group for u in n.users)]
    if not outputs:
        return None
    # The outputs take the layout they were traced with (later views rely on it).
    strides = {_strides_key(_val(n)) for n in outputs}
    concrete = all(isinstance(s, int) for n in outputs for s in _val(n).stride())
    if len(strides) != 1 or not concrete:
        if not _layout_matches([_val(n) for n in inputs], [_val(n) for n in outputs]):
            return None
        strides = None
    else:
        strides = list(_val(outputs[0]).stride())
    text = ";".join(lines) + " | " + ",".join(
        f"%{number[n]}:{DTYPE_NAMES[_val(n).dtype]}" for n in outputs)
    with graph.inserting_before(nodes[0]):
        call = graph.call_function(torch.ops.accel.fused_eltwise.default, (inputs, text, strides))
        call.meta["val"] = [_val(n) for n in outputs]
        for i, n in enumerate(outputs):
            item = graph.call_function(operator.getitem, (call, i))
            item.meta["val"] = _val(n)
            n.replace_all_uses_with(item)
    for node in reversed(nodes):
        graph.erase_node(node)
    describe = lambda n: (n.name, tuple(_val(n).shape), str(_val(n).dtype).replace("torch.", ""))  # noqa: E731
    return FusedGroup(program=text, absorbed=[str(n.target).replace("aten.", "") for n in nodes],
                      inputs=[describe(n) for n in inputs], outputs=[describe(n) for n in outputs],
                      intermediates=[describe(n) for n in nodes if n not in outputs])


def _fuse_matmul_epilogues(graph, lowered):
    """addmm(b, x, t(w)) or mm(x, t(w)), possibly through a view, followed by
    relu/gelu/silu becomes accel::linear_act: the bias and activation run on
    each output block in the matmul program before it is written back, one
    program instead of two. When the product has other readers (a training
    graph saves it for the activation's backward) it becomes
    accel::linear_act_saved, whose writer also stores the product for them."""
    for node in list(graph.nodes):
        act = _activation_of(node)
        if act is None:
            continue
        mm, view = node.args[0], None
        if isinstance(mm, torch.fx.Node) and mm.target == aten.view.default:
            view, mm = mm, mm.args[0]
        if not isinstance(mm, torch.fx.Node) or mm.kwargs or \
                mm.target not in (aten.addmm.default, aten.mm.default):
            continue
        if mm.target == aten.addmm.default:
            bias, x, wt = mm.args[:3]
            if len(mm.args) > 3 or _val(bias) is None or _val(bias).dim() != 1:
                continue
        else:
            bias, (x, wt) = None, mm.args
        if not all(_on_accel_float(_val(t)) for t in (x, wt)) or _val(x).dtype != _val(node).dtype:
            continue
        head = view if view is not None else node
        saved = len(mm.users) > 1 or len(head.users) > 1
        # Right after mm: the product's other readers may come before the activation.
        with graph.inserting_before(mm.next):
            w = graph.call_function(aten.t.default, (wt,))
            w.meta["val"] = _val(wt).t()
            name = "linear_act_saved" if saved else "linear_act"
            fused = graph.call_function(getattr(torch.ops.accel, name).default, (x, w, bias, act))
            if saved:
                fused.meta["val"] = (_val(mm), _val(mm))
                pre = graph.call_function(operator.getitem, (fused, 0))
                pre.meta["val"] = _val(mm)
                fused = graph.call_function(operator.getitem, (fused, 1))
                fused.meta["val"] = _val(mm)
            else:
                fused.meta["val"] = _val(mm)
            if view is not None:
                fused = graph.call_function(aten.view.default, (fused, view.args[1]))
                fused.meta["val"] = _val(node)
                if len(view.users) > 1:
                    pre_view = graph.call_function(aten.view.default, (pre, view.args[1]))
                    pre_view.meta["val"] = _val(view)
        node.replace_all_uses_with(fused)
        graph.erase_node(node)
        if view is not None:
            if view.users:
                view.replace_all_uses_with(pre_view)
            graph.erase_node(view)
        if saved:
            mm.replace_all_uses_with(pre)
        graph.erase_node(mm)
        lowered.epilogues.append((str(mm.target).replace("aten.", ""), act, f"accel::{name}"))


def _reinplace_counters(graph):
    """Functionalization turns an in-place counter update (batch norm's
    num_batches_tracked += 1) into add + copy_ back into the buffer: two
    programs where eager runs one in-place add."""
    for node in list(graph.nodes):
        if node.op != "call_function" or node.target != aten.add.Tensor or len(node.users) != 1 \
                or not isinstance(node.args[0], torch.fx.Node) or node.args[0].op != "placeholder":
            continue
        fix = next(iter(node.users))
        if fix.target == aten.copy_.default and fix.args == (node.args[0], node) \
                and node.args[0].meta["val"].dtype == node.meta["val"].dtype:
            with graph.inserting_before(node):
                inplace = graph.call_function(aten.add_.Tensor, node.args, node.kwargs)
                inplace.meta["val"] = node.meta["val"]
            fix.replace_all_uses_with(inplace)
            graph.erase_node(fix)
            graph.erase_node(node)


def _reinplace_batch_norm_stats(graph):
    """Functionalization gives training batch norm as a functional op (which
    copies the running statistics) plus copy_ of the new statistics back into
    the buffers: four copy programs per layer that eager does not run. The
    chip's batch-norm program updates the buffers in place; use it, and let
    every other reader of the new statistics (the backward saves them) read
    the buffers, which now hold them. With reduced-precision buffers the
    traced statistics are float32, cast to the buffer's dtype before the
    copy: the chip's program rounds them to that dtype as it stores them."""
    for node in list(graph.nodes):
        if node.op != "call_function" or node.target != aten._native_batch_norm_legit_functional.default:
            continue
        mean, var = node.args[3], node.args[4]
        items = _items(node)
        fixes = []
        for i, buf in ((3, mean), (4, var)):
            stat = items.get(i)
            cast = _sole_cast_to_buffer(stat, buf)
            source = cast or stat
            copies = [u for u in source.users if u.target == aten.copy_.default] if stat else []
            if not (isinstance(buf, torch.fx.Node) and buf.op == "placeholder" and len(copies) == 1
                    and copies[0].args == (buf, source) and not copies[0].users):
                break
            fixes.append((stat, cast, copies[0], buf))
        if len(fixes) != 2:
            continue
        with graph.inserting_before(node):
            inplace = graph.call_function(aten._native_batch_norm_legit.default, node.args)
            inplace.meta["val"] = tuple(node.meta["val"][:3])
        for i in (0, 1, 2):
            if i in items:
                items[i].args = (inplace, i)
        for stat, cast, copy, buf in fixes:
            graph.erase_node(copy)
            if cast is not None:
                cast.replace_all_uses_with(buf)
                graph.erase_node(cast)
            stat.replace_all_uses_with(buf)
            graph.erase_node(stat)
        graph.erase_node(node)


def _sole_cast_to_buffer(stat, buf):
    """The cast of a new running statistic to its buffer's dtype, when that
    cast is the statistic's one reader (the cast's other readers then read
    the buffer)."""
    if stat is None or len(stat.users) != 1 or not isinstance(buf, torch.fx.Node):
        return None
    cast = next(iter(stat.users))
    if cast.target != aten._to_copy.default or cast.args != (stat,):
        return None
    want = _val(buf)
    if not isinstance(want, torch.Tensor) or set(cast.kwargs) - {"dtype", "layout"} \
            or cast.kwargs.get("dtype") != want.dtype or cast.kwargs.get("layout", torch.strided) != torch.strided:
        return None
    return cast


def _drop_copies(graph):
    """A clone in a functional graph (dropout with p=0 leaves one) copies a
    tensor nothing mutates: the copy's readers can read the original, one
    program fewer. Kept when either side leaves the graph (aliasing there is
    visible to the caller) or the layouts differ."""
    out = next(n for n in graph.nodes if n.op == "output")
    for node in list(graph.nodes):
        if node.op != "call_function" or node.target != aten.clone.default:
            continue
        src = node.args[0]
        if not isinstance(src, torch.fx.Node) or src.op == "placeholder" or out in src.users \
                or out in node.users or node.kwargs.get("memory_format") not in (None, torch.preserve_format):
            continue
        if _val(src) is None or _val(src).stride() != _val(node).stride():
            continue
        node.replace_all_uses_with(src)
        graph.erase_node(node)


def _count_rest(graph, lowered):
    """The ops left as eager accel programs (views are not programs: not counted)."""
    for node in graph.nodes:
        if node.op != "call_function" or node.target in _NOT_PROGRAMS or getattr(node.target, "is_view", False):
            continue
        if node.target in [getattr(torch.ops.accel, t).default for t in _FUSED_TARGETS]:
            continue
        name = str(node.target).replace("aten.", "")
        lowered.eager_ops[name] = lowered.eager_ops.get(name, 0) + 1


def lower(gm, kind):
    """Rewrites gm in place into fused programs; returns the LoweredGraph."""
    lowered = LoweredGraph(kind=kind)
    graph = gm.graph
    optim_fusion.fuse_optimizer_steps(graph, lowered)
    _reinplace_counters(graph)
    _reinplace_batch_norm_stats(graph)
    _drop_copies(graph)
    graph.eliminate_dead_code()
    lowered.native_norms = fuse_rms_norm(graph)
    lowered.folded_batch_norms = fold_batch_norm_eval(graph)
    lowered.conv_epilogues = fuse_conv_epilogues(graph)
    lowered.residual_epilogues = fuse_matmul_residual(graph)
    lowered.norm_fusions = fuse_norm_neighbours(graph)
    _fuse_matmul_epilogues(graph, lowered)
    fuse_matmul_backward_epilogues(graph, lowered.epilogues)
    fuse_bias_grads(graph, lowered.epilogues)
    lowered.norm_fusions += fuse_batch_norm_activations(graph)
    for nodes, steps in _partition(graph):
        real = [n for n in nodes if steps[n][0] != "identity"]
        if len(real) < 2:
            continue  # one op is already one program
        group = _emit_group(graph, nodes)
        if group is not None:
            lowered.groups.append(group)
    graph.eliminate_dead_code()
    graph.lint()
    gm.recompile()
    _count_rest(graph, lowered)
    return lowered
