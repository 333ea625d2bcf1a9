"""How long a collective takes on the chips' links: the one place the process
group asks. The answer is the system collective model's
(torch_accel.systems.collective_cost, docs/MULTICHIP.md): the algorithm
tt-metal's CCL ops would run on the group's chips (ring, line or 2D mesh),
priced on the system's Ethernet links."""
import functools
import json

from .. import _C, systems

# Without configure(system=...), the ranks' chips are the first chips of the
# smallest Wormhole system that holds them.
_DEFAULT_SYSTEMS = ("n300", "t3k", "galaxy")


@functools.lru_cache(maxsize=8)
def _system_doc(text):
    return json.loads(text)


@functools.lru_cache(maxsize=8)
def _preset_chips(name):
    return systems.load(name)["num_chips"]


def system_for(chips):
    """The system the chips belong to: the configured one, else the smallest
    default preset with chip ids up to max(chips)."""
    text = _C.active_system_json()
    if text is not None:
        return _system_doc(text)
    needed = max(chips) + 1
    for name in _DEFAULT_SYSTEMS:
        if _preset_chips(name) >= needed:
            return name
    raise ValueError(f"no default system has {needed} chips: configure(system=...) with one "
                     "that does")


def collective_time_s(kind, nbytes, chips, dtype=None, root=None):
    """Modelled seconds of collective `kind` (all_reduce, all_gather,
    reduce_scatter, broadcast, all_to_all, send_recv, barrier) over the chips
    `chips` (one per rank, in rank order), `nbytes` as collective_cost counts
    them (each rank's input; the message for send_recv)."""
    if len(chips) <= 1:
        return 0.0
    if len(set(chips)) < len(chips) or min(chips) < 0:
        # Ranks sharing a chip (or a CPU peer): place the ranks on chips 0..n-1.
        chips = list(range(len(chips)))
    cost = systems.collective_cost(system_for(chips), kind, nbytes, ranks=chips, dtype=dtype,
                                   root=root)
    return cost["time_s"]
