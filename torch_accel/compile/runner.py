"""A lowered graph run by torch_accel._C.GraphRunner: the same ops in the same
order as the graph's generated Python code, each a boxed dispatcher call
from C++ (no Python frame and no argument parse per op), every value freed
after its last reader as the generated code does. A graph with anything the
runner does not take (a call that is not an ATen-style operator, a number
computed in the graph where the schema wants a tensor or another number type,
a negative item index) runs its generated code instead. Unlike that code, the
runner does not consult __torch_function__ modes (a compiled graph's ops are
ATen operators, which the dispatcher's modes still see).
TORCH_ACCEL_GRAPH_RUNNER=0 turns the runner off."""
import operator
import os

import torch
import torch.fx

from .. import _C
from .fx_nodes import schema_arguments


def _list_kind(argument):
    """The runner's list kind for a schema argument whose list holds graph values."""
    kind = argument.type
    if isinstance(kind, torch._C.OptionalType):
        kind = kind.getElementType()
    if not isinstance(kind, torch._C.ListType):
        return None
    element = kind.getElementType()
    if isinstance(element, torch._C.TensorType):
        return "tensors"
    if isinstance(element, torch._C.OptionalType) and isinstance(element.getElementType(), torch._C.TensorType):
        return "optional_tensors"
    return None


class _Unsupported(Exception):
    pass


# The schema types a graph value that is a number (a SymInt input, a size, an
# .item()) goes to unconverted; elsewhere (a tensor argument, an int into a
# float) the generated code's call converts it, and the graph stays with that code.
_NUMBER_ARGUMENTS = {int: ("int", "SymInt", "Scalar", "int?", "SymInt?", "Scalar?"),
                     float: ("float", "Scalar", "float?", "Scalar?"),
                     bool: ("bool", "bool?")}


def _number_type(value):
    """bool, int or float for a graph number (symbolic or not), else None."""
    for kind, symbolic in ((bool, torch.SymBool), (int, torch.SymInt), (float, torch.SymFloat)):
        if isinstance(value, (kind, symbolic)):
            return kind
    return None


def _passes_as_is(node, argument, in_tensor_list):
    kind = _number_type(node.meta.get("val"))
    if kind is None:
        return True  # a tensor, or the runner's tuple/list plumbing
    if in_tensor_list:
        return False
    return argument is None or str(argument.type) in _NUMBER_ARGUMENTS[kind]  # None: an output


class _Builder:
    def __init__(self, graph):
        self.slot = {}
        self.readers = {}  # slot -> index of its last reading step
        self.steps = []
        self.num_inputs = 0
        for node in graph.nodes:
            if node.op == "placeholder":
                self.slot[node] = self.num_inputs
                self.num_inputs += 1
        self.num_slots = self.num_inputs

    def read(self, value, argument=None, in_tensor_list=False):
        if isinstance(value, torch.fx.Node):
            if value not in self.slot or not _passes_as_is(value, argument, in_tensor_list):
                raise _Unsupported(value)
            self.readers[self.slot[value]] = len(self.steps)
            return ("slot", self.slot[value])
        if isinstance(value, (list, tuple)) and any(isinstance(v, torch.fx.Node) for v in value):
            kind = _list_kind(argument) if argument is not None else None
            if kind is None:
                raise _Unsupported(value)
            return (kind, [self.read(v, in_tensor_list=True) for v in value])
        if isinstance(value, slice):
            raise _Unsupported(value)
        return ("const", value)

    def new_slot(self, node):
        self.slot[node] = self.num_slots
        self.num_slots += 1
        return self.slot[node]

    def call(self, node):
        schema = node.target._schema
        operands = [self.read(value, argument)
                    for value, argument in zip(schema_arguments(node), schema.arguments)]
        self.steps.append(["call", schema.name, schema.overload_name, operands, self.new_slot(node), []])

    def item(self, node):
        source, index = node.args
        if not isinstance(source, torch.fx.Node) or not isinstance(index, int) or index < 0:
            raise _Unsupported(node)
        self.steps.append(["item", self.read(source)[1], index, self.new_slot(node), []])


def build(gm):
    """gm's graph as a boxed callable on the runner, or None where the runner
    cannot take it (or TORCH_ACCEL_GRAPH_RUNNER=0)."""
    if os.environ.get("TORCH_ACCEL_GRAPH_RUNNER", "1") == "0":
        return None
    builder = _Builder(gm.graph)
    outputs, as_list, single = [], False, False
    try:
        for node in gm.graph.nodes:
            if node.op == "placeholder":
                continue
            if node.op == "call_function" and node.target is operator.getitem:
                builder.item(node)
            elif node.op == "call_function" and isinstance(node.target, torch._ops.OpOverload):
                builder.call(node)
            elif node.op == "output":
                result = node.args[0]
                single = not isinstance(result, (list, tuple))
                as_list = isinstance(result, list)
                outputs = [builder.read(v) for v in ([result] if single else result)]
            else:
                raise _Unsupported(node)
    except _Unsupported:
        return None
    # Every step ends [..., its result's slot, the slots it releases].
    kept = {o[1] for o in outputs if o[0] == "slot"}
    for slot, last in builder.readers.items():
        if slot not in kept:
            builder.steps[last][-1].append(slot)
    for step in builder.steps:  # a result nothing reads goes at once
        if step[-2] not in builder.readers and step[-2] not in kept:
            step[-1].append(step[-2])
    for slot in range(builder.num_inputs):  # an input nothing reads
        if slot not in builder.readers and slot not in kept and builder.steps:
            builder.steps[0][-1].append(slot)
    try:
        runner = _C.GraphRunner(builder.num_inputs, builder.num_slots, [tuple(s) for s in builder.steps],
                                outputs, as_list)
    except (RuntimeError, TypeError, ValueError):  # a constant the schema types cannot hold
        return None

    def run(args):
        out = runner.run(args)
        return out[0] if single else out
    run._boxed_call = True
    run.runner = runner
    return run
