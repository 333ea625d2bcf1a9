"""Systems of accel chips joined by Ethernet, and what collectives cost on them.

A system names its chips' architecture, their mesh or torus and the Ethernet
links between neighbours (csrc/chip/system.h). Give one as a preset name
(`presets()`), a path to a JSON or YAML file in the style of the arch files, or
a dict. `collective_cost` prices all_reduce, all_gather, reduce_scatter,
broadcast, all_to_all, send_recv and barrier as tt-metal's CCL ops run them
(docs/MULTICHIP.md).
"""
import functools
import json
import os

from . import _C

__all__ = ["presets", "active", "load", "collective_cost", "collective_ops", "route", "torus",
           "ALGORITHMS"]

ALGORITHMS = ("auto", "ring", "line", "mesh2d")
_YAML_SUFFIXES = (".yaml", ".yml")
_ELEMENT_BYTES = {"float32": 4, "float16": 2, "bfloat16": 2, "int8": 1, "float64": 8,
                  "int32": 4, "int64": 8, "uint8": 1, "bool": 1}


def presets():
    """Names of the built-in systems."""
    return list(_C.system_preset_names())


def collective_ops():
    return list(_C.collective_ops())


@functools.lru_cache(maxsize=64)
def _json_for_spec(spec):
    if spec.endswith(_YAML_SUFFIXES):
        import yaml
        try:
            with open(spec) as f:
                doc = yaml.safe_load(f)
        except OSError as e:
            raise ValueError(f"cannot open system file '{spec}': {e.strerror}") from None
        except yaml.YAMLError as e:
            raise ValueError(f"{spec}: malformed YAML: {e}") from None
        return _C.validate_system_json(json.dumps(doc), spec)
    return _C.system_json_for(spec)


def active():
    """The system torch_accel.configure(system=...) chose, as a dict, or None."""
    text = _C.active_system_json()
    return None if text is None else json.loads(text)


def system_json(system):
    """The validated JSON text of a system given as a name, path or dict;
    None: the configured system."""
    if system is None:
        text = _C.active_system_json()
        if text is None:
            raise ValueError("no system given and none configured: pass system= or call "
                             "torch_accel.configure(system=...)")
        return text
    if isinstance(system, dict):
        return _C.validate_system_json(json.dumps(system), "<dict>")
    if not isinstance(system, (str, os.PathLike)):
        raise TypeError(f"system must be a preset name, a path or a dict, not {type(system).__name__}")
    return _json_for_spec(os.fspath(system))


def load(system):
    """The system as a dict of its fields (incl. `num_chips` and `sources`)."""
    return json.loads(system_json(system))


def torus(dims, arch="wormhole_n150", base="galaxy_torus", name=None, **fields):
    """A dict describing a torus of any size (2D, 3D) with `base`'s links;
    `fields` override any field (e.g. link_bandwidth_bytes_per_s)."""
    dims = [int(d) for d in dims]
    doc = {"base": base, "name": name or "torus_" + "x".join(map(str, dims)), "arch": arch,
           "dims": dims, "wrap": [1] * len(dims), **fields}
    load(doc)  # validates, naming the problem
    return doc


def route(system, a, b):
    """The chips a packet from chip a visits on its way to chip b."""
    return list(_C.system_route(system_json(system), int(a), int(b)))


def _element_bytes(dtype):
    if dtype is None:
        return 2
    if isinstance(dtype, int):
        return dtype
    name = str(dtype).replace("torch.", "")
    if name not in _ELEMENT_BYTES:
        raise ValueError(f"collective_cost: unknown dtype {dtype!r}")
    return _ELEMENT_BYTES[name]


def collective_cost(system, op, nbytes, ranks=None, algorithm=None, dtype=None, root=None,
                    arch=None):
    """The modelled cost of one collective over `ranks` (chip ids; default all).

    nbytes: all_reduce/broadcast, the tensor on each rank; all_gather, each
    rank's input; reduce_scatter, each rank's input; all_to_all, each rank's
    whole input; send_recv, the message with ranks=[source, destination].
    algorithm: None/"auto" (the fastest the group allows), "ring", "line" or
    "mesh2d". dtype: element type of reductions (bytes or a torch dtype).

    Returns a dict: time_s, algorithm, strategy, steps, max_hops, links_used,
    latency_s, bandwidth_s, reduce_s, launch_s, bytes_per_link, wire_bytes,
    energy_j, order (the ranks in the algorithm's order).
    """
    text = system_json(system)
    if ranks is None:
        ranks = range(json.loads(text)["num_chips"])
    ranks = [int(r) for r in ranks]
    algorithm = "auto" if algorithm is None else algorithm
    if algorithm not in ALGORITHMS:
        raise ValueError(f"collective_cost: algorithm must be one of {ALGORITHMS}, got {algorithm!r}")
    if isinstance(nbytes, bool) or not isinstance(nbytes, (int, float)):
        raise TypeError(f"collective_cost: nbytes must be a number, not {type(nbytes).__name__}")
    return dict(_C.collective_cost(text, op, float(nbytes), ranks, algorithm,
                                   _element_bytes(dtype), -1 if root is None else int(root),
                                   arch))
