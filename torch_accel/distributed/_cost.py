"""How long a collective takes on the chips' links: the one place the process
group asks (docs/DISTRIBUTED.md, "Modelled time")."""

# Until the system presets and their collective model arrive, a ring of
# Wormhole chips joined as on an n300/T3000 card: two 100 GbE ports between
# neighbours, each 12.5 GB/s per direction, and a hop of about 1 us through
# the Ethernet cores' routers (tt-metal tech_reports/EthernetMultichip).
_LINK_BYTES_PER_S = 12.5e9
_LINKS_PER_NEIGHBOUR = 2
_HOP_LATENCY_S = 1.0e-6

# Steps of a ring and the share of the payload each step moves.
_RING_STEPS = {
    "all_reduce": lambda p: (2 * (p - 1), 1.0 / p),
    "all_gather": lambda p: (p - 1, 1.0 / p),        # nbytes: the gathered output
    "reduce_scatter": lambda p: (p - 1, 1.0 / p),    # nbytes: the full input
    "all_to_all": lambda p: (p - 1, 1.0 / p),
    "broadcast": lambda p: (p - 1, 1.0),             # a line from the root, not pipelined
    "barrier": lambda p: (2 * (p - 1), 0.0),
    "send": lambda p: (1, 1.0),
}


def collective_time_s(kind, nbytes, group_size):
    """Modelled seconds of collective `kind` moving `nbytes` (per rank, as
    each op documents above) among `group_size` chips."""
    if kind not in _RING_STEPS:
        raise ValueError(f"no modelled time for collective '{kind}'")
    if group_size <= 1 and kind != "send":
        return 0.0
    steps, share = _RING_STEPS[kind](group_size)
    bandwidth = _LINK_BYTES_PER_S * _LINKS_PER_NEIGHBOUR
    return steps * (_HOP_LATENCY_S + nbytes * share / bandwidth)
