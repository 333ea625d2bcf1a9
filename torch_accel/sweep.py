"""`torch-accel sweep`: a model's step time and scaling efficiency as the chip
count, topology, link bandwidth and parallel layout vary, for system
architects. Weak scaling: each data-parallel replica keeps its batch, so the
global batch grows with the replicas; efficiency is throughput per chip
against the smallest system of the same topology, bandwidth and layout.
"""
import csv

import torch

from . import scale, systems

__all__ = ["grid_dims", "sweep_system", "run_sweep", "write_tables", "plot"]


def grid_dims(chips, ndim=2):
    """The most nearly cubic mesh of `chips` chips in `ndim` dimensions,
    smallest dimension first."""
    if ndim == 1:
        return [chips]
    first = max(d for d in range(1, int(round(chips ** (1 / ndim))) + 1) if chips % d == 0)
    return sorted([first] + grid_dims(chips // first, ndim - 1))


_TOPOLOGIES = {"mesh": (2, 0), "torus": (2, 1), "torus3d": (3, 1)}


def sweep_system(chips, topology, link_bandwidth, base="galaxy"):
    """A system dict: `chips` chips in a 2D mesh, 2D torus or 3D torus with
    `base`'s chips and links, at `link_bandwidth` bytes/s per link and direction."""
    if topology not in _TOPOLOGIES:
        raise ValueError(f"sweep: topology must be one of {sorted(_TOPOLOGIES)}, got {topology!r}")
    ndim, wrap = _TOPOLOGIES[topology]
    dims = grid_dims(chips, ndim)
    doc = {"base": base, "name": f"{topology}_" + "x".join(map(str, dims)), "dims": dims,
           "wrap": [wrap] * ndim}
    if link_bandwidth:
        doc["link_bandwidth_bytes_per_s"] = float(link_bandwidth)
    return doc


def _layout(text):
    try:
        tp, pp = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise ValueError(f"sweep: a layout is TPxPP such as 8x1 or 4x2, got {text!r}") from None
    return tp, pp


def run_sweep(model, make_input, chips, layouts=("8x1",), topologies=("mesh", "torus"),
              bandwidths=(None,), base="galaxy", batch_per_replica=8, training=True,
              dtype=torch.bfloat16, progress=True):
    """One row per configuration that fits (tp x pp divides the chip count).

    model: an nn.Module (meta parameters); make_input(batch): its input."""
    from tqdm import tqdm
    configs = [(n, t, b, lay) for lay in layouts for t in topologies for b in bandwidths
               for n in sorted(chips) if n % (_layout(lay)[0] * _layout(lay)[1]) == 0]
    if not configs:
        raise ValueError("sweep: no chip count is a multiple of tensor x pipeline parallel")
    rows = []
    for n, topo, bw, lay in tqdm(configs, desc="sweep", unit="config", disable=not progress):
        tp, pp = _layout(lay)
        dp = n // (tp * pp)
        system = sweep_system(n, topo, bw, base)
        link = systems.load(system)["link_bandwidth_bytes_per_s"]
        r = scale.estimate_at_scale(model, make_input(dp * batch_per_replica), system=system,
                                    tensor_parallel=tp, data_parallel=dp, pipeline_parallel=pp,
                                    training=training, dtype=dtype,
                                    num_microbatches=batch_per_replica if pp > 1 else None)
        rows.append({"chips": n, "topology": topo, "link_gbps": link * 8 / 1e9, "layout": lay,
                     "tp": tp, "dp": dp, "pp": pp, "global_batch": dp * batch_per_replica,
                     "step_s": r.step_time_s, "samples_per_s": dp * batch_per_replica / r.step_time_s,
                     "bound": r.bound, "bubble": r.bubble_fraction,
                     "tp_comm_s": dict(r.critical_path)["tensor-parallel collectives"],
                     "dp_exposed_s": dict(r.critical_path).get("data-parallel all-reduce", 0.0),
                     "energy_j": r.energy_j, "estimate_s": r.estimate_wall_s})
    for row in rows:
        peers = [p for p in rows if (p["topology"], p["link_gbps"], p["layout"]) ==
                 (row["topology"], row["link_gbps"], row["layout"])]
        ref = min(peers, key=lambda p: p["chips"])
        row["efficiency"] = (row["samples_per_s"] / row["chips"]) / (ref["samples_per_s"] / ref["chips"])
    return rows


_COLUMNS = [("chips", "chips", "{}"), ("topology", "topology", "{}"), ("link_gbps", "link Gb/s", "{:.0f}"),
            ("layout", "TPxPP", "{}"), ("dp", "DP", "{}"), ("global_batch", "batch", "{}"),
            ("step_s", "step s", "{:.4f}"), ("samples_per_s", "samples/s", "{:.2f}"),
            ("efficiency", "efficiency", "{:.3f}"), ("bound", "bound", "{}"),
            ("bubble", "bubble", "{:.3f}"), ("tp_comm_s", "TP comm s", "{:.4f}"),
            ("dp_exposed_s", "DP exposed s", "{:.4f}"), ("energy_j", "energy J", "{:.1f}")]


def markdown_table(rows):
    lines = ["| " + " | ".join(title for _, title, _ in _COLUMNS) + " |",
             "|" + "---|" * len(_COLUMNS)]
    for r in rows:
        lines.append("| " + " | ".join(fmt.format(r[key]) for key, _, fmt in _COLUMNS) + " |")
    return "\n".join(lines)


def write_tables(rows, csv_path=None, md_path=None):
    if csv_path:
        with open(csv_path, "w", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)
    if md_path:
        with open(md_path, "w") as f:
            f.write(markdown_table(rows) + "\n")


def plot(rows, path, title="step time and scaling efficiency"):
    """Two panels against chip count: step time and efficiency, one line per
    topology, link bandwidth and layout."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.2))
    series = sorted({(r["topology"], r["link_gbps"], r["layout"]) for r in rows})
    for key in series:
        pts = sorted((r for r in rows if (r["topology"], r["link_gbps"], r["layout"]) == key),
                     key=lambda r: r["chips"])
        label = f"{key[0]}, {key[1]:.0f} Gb/s links, TPxPP {key[2]}"
        left.plot([p["chips"] for p in pts], [p["step_s"] for p in pts], marker="o", label=label)
        right.plot([p["chips"] for p in pts], [p["efficiency"] for p in pts], marker="o", label=label)
    for ax, ylabel in ((left, "step time (s)"), (right, "scaling efficiency (per-chip throughput)")):
        ax.set_xscale("log", base=2)
        ax.set_xlabel("chips")
        ax.set_ylabel(ylabel)
        ax.grid(True, alpha=0.3)
    right.set_ylim(0, 1.05)
    left.legend(fontsize=7)
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
