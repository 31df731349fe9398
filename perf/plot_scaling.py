#!/usr/bin/python3
"""Chart of perf/vxlan_scaling.sh results: forwarded Mpps per worker count, split by worker.

One bar per run (1 worker, 2 workers), stacked by the Mpps each worker received from the
uplink and forwarded (its RSS queue) with its share of the window on a CPU, labelled with the total sent to the pods, the ratio
to the 1-worker run and the end-to-end loss. The footnote says the generator shares the
CPUs, so the 2-worker figure is CPU-bound on a 2-core machine.

  perf/plot_scaling.py perf/results/scaling-<time>.json -o chart.png [--title TEXT]
"""
import argparse
import json
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

WORKER_COLOURS = ["#4c72b0", "#55a868", "#c44e52", "#8172b2"]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("result", help="scaling-<time>.json written by perf/vxlan_scaling.sh")
    ap.add_argument("-o", "--output", required=True, help="PNG file to write")
    ap.add_argument("--title", help="chart title")
    args = ap.parse_args()

    with open(args.result) as f:
        res = json.load(f)
    cases = res.get("cases") or sys.exit("plot_scaling.py: no cases in the result")
    base = next((c["total_mpps"] for c in cases if c["workers"] == 1), None)

    fig, ax = plt.subplots(figsize=(5.5, 4.8))
    top = 0.0
    for i, c in enumerate(cases):
        bottom = 0.0
        for k, v in sorted(c["per_worker_rx_mpps"].items(), key=lambda kv: int(kv[0])):
            ax.bar(i, v, bottom=bottom, color=WORKER_COLOURS[int(k) % len(WORKER_COLOURS)],
                   label=f"worker {k}" if i == len(cases) - 1 or c["workers"] == 2 else None,
                   width=0.6)
            if v > 0.02:
                share = c.get("worker_cpu_share", {}).get(k)
                ax.text(i, bottom + v / 2, f"w{k}\n{v:.3f}" + (
                    f"\n{share * 100:.0f}% cpu" if share is not None else ""),
                        ha="center", va="center", fontsize=8, color="white")
            bottom += v
        total = c["total_mpps"]
        ratio = f"{total / base:.2f}x" if base else ""
        loss = c.get("loss_pct")
        drop = c.get("pod_tx_dropped_mpps") or 0
        note = f"{total:.3f} Mpps to pods\n{ratio}" + (
            f"\n{drop:.3f} Mpps dropped at pod TX" if drop >= 0.0005 else "") + (
            f"\nloss {loss:.1f}%" if loss is not None and loss >= 0.05 else "")
        ax.annotate(note, (i, max(bottom, total)), ha="center", va="bottom", fontsize=8,
                    xytext=(0, 2), textcoords="offset points")
        top = max(top, bottom, total)
    ax.set_xticks(range(len(cases)))
    ax.set_xticklabels([f"{c['workers']} worker{'s' if c['workers'] > 1 else ''}"
                        for c in cases])
    ax.set_ylabel("Mpps (uplink rx per worker, stacked)")
    ax.set_ylim(0, top * 1.3 if top > 0 else 1)
    handles, labels = ax.get_legend_handles_labels()
    uniq = dict(zip(labels, handles))
    ax.legend(uniq.values(), uniq.keys(), fontsize=8, loc="upper left")
    ax.set_title(args.title or "VXLAN decap to 2 pods, 64-byte inner frames: 1 vs 2 workers",
                 fontsize=10)
    fig.text(0.01, 0.01, f"{res.get('cpus', '?')} CPUs shared with the generator: the "
             "2-worker figure is CPU-bound. Noisy dev run." +
             ("" if res.get("valid", True) else "  NOT VALID: a check failed"),
             fontsize=7, ha="left", va="bottom")
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout(rect=(0, 0.03, 1, 1))
    fig.savefig(args.output, dpi=120)
    return 0


if __name__ == "__main__":
    sys.exit(main())
