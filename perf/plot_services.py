#!/usr/bin/python3
"""Chart of perf/services_bench.sh results: per Service count, sluice / iptables / nft side by
side: UDP Mpps (left), new TCP connections/s (middle), rule-load time (right, log scale).
Counts a path skipped are marked "not run" in the panels.

  perf/plot_services.py perf/results/services-<time>.json -o chart.png [--title TEXT]
"""
import argparse
import json
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

PATHS = (("sluice", "#4c72b0"), ("iptables", "#c44e52"), ("nft", "#dd8452"))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("result", help="services-<time>.json written by perf/services_bench.sh")
    ap.add_argument("-o", "--output", required=True, help="PNG file to write")
    ap.add_argument("--title", help="chart title")
    args = ap.parse_args()
    with open(args.result) as f:
        res = json.load(f)
    table = res.get("results") or sys.exit("plot_services.py: no results")
    counts = sorted(table, key=int)
    fig, axes = plt.subplots(1, 3, figsize=(15, 5.2))
    panels = (("udp_mpps", "UDP Mpps received (64-byte)", "{:.2f}"),
              ("tcp_conn_per_s", "new TCP connections/s", "{:,.0f}"),
              ("load_s", "rule load, s (log)", "{:.2f}"))
    width = 0.8 / len(PATHS)
    for ax, (key, label, fmt) in zip(axes, panels):
        top = 0.0
        for k, (p, colour) in enumerate(PATHS):
            for i, n in enumerate(counts):
                e = table[n].get(p)
                x = i + (k - (len(PATHS) - 1) / 2) * width
                if not e:
                    continue
                v = e["load"].get("load_s") if key == "load_s" else e.get(key)
                if "skipped" in e["load"] or v is None:
                    ax.text(x, 0, "not\nrun", ha="center", va="bottom", fontsize=6,
                            color=colour, rotation=90)
                    continue
                ax.bar(x, v, width, color=colour, label=p if i == 0 else None)
                ax.annotate(fmt.format(v), (x, v), ha="center", va="bottom", fontsize=6,
                            xytext=(0, 1), textcoords="offset points", rotation=90)
                top = max(top, v)
        ax.set_xticks(range(len(counts)))
        ax.set_xticklabels([f"{int(n):,}" for n in counts])
        ax.set_xlabel("Services (10 backends each)")
        ax.set_title(label, fontsize=10)
        if key == "load_s":
            ax.set_yscale("log")
        else:
            ax.set_ylim(0, top * 1.3 if top > 0 else 1)
        ax.grid(axis="y", alpha=0.3)
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, fontsize=8, loc="upper right", ncol=len(PATHS))
    r = res.get("ratios", {})
    sl = r.get("sluice", {})
    title = args.title or (
        f"pod -> ClusterIP, one forwarding core: sluice {r.get('of', '')} Services "
        f"UDP {sl.get('udp') or 'n/a'}x, TCP {sl.get('tcp') or 'n/a'}x")
    fig.suptitle(title, fontsize=11, x=0.4)
    fig.text(0.01, 0.01, f"{res.get('cpus', '?')} shared CPUs, medians of {res.get('reps')} "
             f"run(s) of {res.get('duration_s')} s. IPVS not measured: no ip_vs in this kernel."
             + ("" if res.get("valid", True) else "  NOT VALID: a check failed"),
             fontsize=7, ha="left", va="bottom")
    fig.tight_layout(rect=(0, 0.03, 1, 0.95))
    fig.savefig(args.output, dpi=120)
    return 0


if __name__ == "__main__":
    sys.exit(main())
