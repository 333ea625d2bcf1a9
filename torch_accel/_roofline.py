"""Roofline plot of a Profile (matplotlib, Agg backend: no display needed)."""
import json

from . import _C


def plot(prof, path, arch_name):
    import matplotlib
    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    a = json.loads(_C.arch_json_for(arch_name))
    cores = a["grid_rows"] * a["grid_cols"]
    tile_flops = 2 * a["tile_rows"] * a["tile_cols"] * a["tile_cols"]
    bw = a["dram_bandwidth_bytes_per_s"]
    fig, ax = plt.subplots(figsize=(8, 5.5))
    xs = [2.0 ** e for e in range(-6, 14)]
    for fidelity, name in ((1, "LoFi"), (2, "HiFi2"), (4, "HiFi4")):
        peak = cores * a["clock_hz"] * tile_flops / (a["matmul_cycles_per_tile_lofi"] * fidelity)
        ax.plot(xs, [min(peak, x * bw) for x in xs], lw=1.2,
                label=f"{name} peak {peak / 1e12:.0f} TFLOP/s")
    colors = {}
    for r in prof.records:
        colors.setdefault(r["op_class"], f"C{len(colors) + 3}")
    seen = set()
    for r in prof.records:
        dram = r["dram_read_bytes"] + r["dram_write_bytes"]
        if r["flops"] <= 0 or dram <= 0 or r["time_s"] <= 0:
            continue
        cls = r["op_class"]
        ax.scatter(r["flops"] / dram, r["flops"] / r["time_s"], s=14, color=colors[cls],
                   alpha=0.7, label=None if cls in seen else cls)
        seen.add(cls)
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_xlabel("arithmetic intensity (FLOP / DRAM byte)")
    ax.set_ylabel("achieved FLOP/s (modelled)")
    ax.set_title(f"roofline: {a['name']} (DRAM {bw / 1e9:.0f} GB/s)")
    ax.grid(True, which="both", lw=0.3)
    ax.legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
