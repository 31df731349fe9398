#!/usr/bin/python3
"""Chart of perf/graph_bench.sh results: Mpps per run and per worker, and cycles per packet
per graph node.

Left: one bar per run (direction x workers), split into its workers' Mpps, labelled with
the total, the ratio to the same direction's 1-worker run, each worker's share of the window
on a CPU, and its Mpps per second on a CPU (which a busy machine does not distort). Right: cycles per packet in each node of
the path, estimated on the CPU, stacked, with the bench's own recycling on top (hatched).

  perf/plot_graph.py perf/results/graph-<time>.json -o chart.png [--title TEXT]
"""
import argparse
import json
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

PATH = ["port-rx", "eth-input", "ip4-input", "vxlan-decap", "ip4-lookup", "vxlan-encap",
        "eth-output", "port-tx"]
WORKER_COLOURS = ["#4c72b0", "#55a868", "#c44e52", "#8172b2"]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("result", help="graph-<time>.json written by perf/graph_bench.sh")
    ap.add_argument("-o", "--output", required=True, help="PNG file to write")
    ap.add_argument("--title", help="chart title")
    args = ap.parse_args()

    with open(args.result) as f:
        doc = json.load(f)
    runs = doc.get("runs", [])
    if not runs:
        sys.exit("plot_graph.py: no runs in " + args.result)
    labels = [f"{r['direction']}\n{r['workers']} worker" + ("s" if r["workers"] > 1 else "")
              for r in runs]
    one = {r["direction"]: r["mpps_total"] for r in runs if r["workers"] == 1}

    fig, (ax, bx) = plt.subplots(1, 2, figsize=(12, 5.2))
    x = range(len(runs))
    for i, r in enumerate(runs):
        bottom = 0.0
        for w in r["per_worker"]:
            ax.bar(i, w["mpps"], bottom=bottom, color=WORKER_COLOURS[w["worker"] % 4],
                   label=f"worker {w['worker']}")
            bottom += w["mpps"]
        base = one.get(r["direction"])
        ratio = f"  x{r['mpps_total'] / base:.2f}" if base and r["workers"] > 1 else ""
        per_cpu = " / ".join(f"{w['mpps_per_cpu_second']:.1f}" for w in r["per_worker"])
        share = " / ".join(f"{w['cpu_share'] * 100:.0f}%" for w in r["per_worker"])
        note = f"{r['mpps_total']:.1f} Mpps{ratio}\non CPU {share}\nper CPU-s: {per_cpu}"
        if not r["check"]["ok"]:
            note += "\nCHECK FAILED"
        ax.annotate(note, (i, bottom), ha="center", va="bottom", fontsize=8,
                    xytext=(0, 2), textcoords="offset points")
    handles, names = ax.get_legend_handles_labels()
    uniq = dict(zip(names, handles))
    ax.legend(uniq.values(), uniq.keys(), fontsize=8, loc="upper right")
    ax.set_xticks(list(x))
    ax.set_xticklabels(labels, fontsize=8)
    ax.set_ylabel("Mpps (wall clock)")
    ax.set_ylim(0, max(r["mpps_total"] for r in runs) * 1.3)
    ax.set_title("forwarded Mpps, split by worker", fontsize=10)
    ax.grid(axis="y", alpha=0.3)

    colours = plt.get_cmap("tab10")
    for i, r in enumerate(runs):
        nodes = {n["node"]: n for n in r["nodes"]}
        bottom = 0.0
        for k, name in enumerate(PATH):
            n = nodes.get(name)
            if not n:
                continue
            v = n.get("cycles_per_packet_on_cpu", n["cycles_per_packet"])
            bx.bar(i, v, bottom=bottom, color=colours(k), label=name)
            bottom += v
        pw = r["per_worker"]
        io = sum(w["bench_io_cycles_per_packet_on_cpu"] * w["packets"] for w in pw) / max(
            1, r["packets"])
        bx.bar(i, io, bottom=bottom, color="white", edgecolor="grey", hatch="//",
               label="bench recycling (not sluice)")
        bx.annotate(f"graph {bottom:.0f}", (i, bottom + io), ha="center", va="bottom",
                    fontsize=8, xytext=(0, 2), textcoords="offset points")
    handles, names = bx.get_legend_handles_labels()
    uniq = dict(zip(names, handles))
    bx.legend(uniq.values(), uniq.keys(), fontsize=7, loc="upper left", ncol=2)
    bx.set_xticks(list(x))
    bx.set_xticklabels(labels, fontsize=8)
    bx.set_ylabel("cycles per packet (on the CPU, est.)")
    bx.set_title("cycles per packet per node", fontsize=10)
    top = max(b.get_y() + b.get_height() for b in bx.patches)
    bx.set_ylim(0, top * 1.45)
    bx.grid(axis="y", alpha=0.3)

    cpus = doc.get("machine", {}).get("cpus")
    fig.suptitle(args.title or "sluice graph alone on net_ring ports, 64-byte pod UDP <-> VXLAN"
                 + (f" ({cpus} CPUs; 2 workers share them with the control thread)"
                    if cpus else ""), fontsize=10)
    fig.tight_layout()
    fig.savefig(args.output, dpi=120)
    return 0


if __name__ == "__main__":
    sys.exit(main())
