#!/usr/bin/python3
"""Report steps of perf/tcp_bench.sh.

  perf/tcp_report.py line PREFIX PATH TEST STREAMS ROUND
      one result line (JSON) from PREFIX.json (iperf3 -J of the client) and, for sluice,
      PREFIX.graph0/.graph1 (node 1's `show graph` before and after: cycles per packet of
      each graph node during the test)
  perf/tcp_report.py report RESULTS.jsonl OUT.json OUT.png
      medians per (path, test, streams), sluice/kernel ratios, a chart
"""
import json
import os
import statistics
import sys


def load(path):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def graph_delta(g0, g1):
    """Cycles per packet of each node of worker 0 between two `show graph` snapshots."""
    def index(g):
        return {(n["worker"], n["node"]): n for n in g or []}
    a, b = index(g0), index(g1)
    out = {}
    for key, n in b.items():
        m = a.get(key, {"packets": 0, "cycles_per_packet": 0})
        pk = n["packets"] - m["packets"]
        cyc = n["packets"] * n["cycles_per_packet"] - m["packets"] * m["cycles_per_packet"]
        if pk > 0 and not key[1].startswith("drop-"):
            out[key[1]] = {"packets": int(pk), "cycles_per_packet": round(cyc / pk)}
    return out


def line(prefix, path, test, streams, rnd):
    doc = load(prefix + ".json") or {}
    end = doc.get("end", {})
    recv = end.get("sum_received", {}).get("bits_per_second", 0.0)
    sent = end.get("sum_sent", {})
    r = {"path": path, "test": test, "streams": int(streams), "round": int(rnd),
         "gbps": round(recv / 1e9, 3), "retransmits": sent.get("retransmits", 0),
         "error": doc.get("error")}
    if path.startswith("sluice"):
        g = graph_delta(load(prefix + ".graph0"), load(prefix + ".graph1"))
        r["graph"] = g
        top = sorted(g.items(), key=lambda kv: -kv[1]["cycles_per_packet"])[:3]
        r["graph_top"] = ", ".join(f"{k} {v['cycles_per_packet']}" for k, v in top)
    print(json.dumps(r))
    print(f"  {path:13} {test:5} {streams}x: {r['gbps']:6.2f} Gbit/s, retransmits {r['retransmits']}"
          + (f"; node1 cycles/packet: {r['graph_top']}" if r.get("graph_top") else "")
          + (f"; error: {r['error']}" if r["error"] else ""), file=sys.stderr)


def report(results, out_json, out_png):
    rows = [json.loads(x) for x in open(results) if x.strip()]
    keys = []
    for r in rows:
        k = (r["test"], r["streams"])
        if k not in keys:
            keys.append(k)
    med = {}
    for r in rows:
        med.setdefault((r["path"], r["test"], r["streams"]), []).append(r["gbps"])
    table = []
    # Every sluice path of the run (sluice, sluice-native, sluice-skb) against the kernel.
    spaths = []
    for r in rows:
        if r["path"].startswith("sluice") and r["path"] not in spaths:
            spaths.append(r["path"])
    fmt = lambda v: f"{v:14.2f}" if v is not None else f"{'-':>14}"
    print(f"\n{'test':<22} {'path':<14} {'Gbit/s':>14} {'kernel Gbit/s':>14} {'path/kernel':>14}   runs")
    for test, streams in keys:
        k = med.get(("kernel", test, streams), [])
        km = statistics.median(k) if k else None
        name = f"{'same node' if test == 'same' else 'across VXLAN'}, {streams} stream{'s' if streams > 1 else ''}"
        for sp in spaths:
            s = med.get((sp, test, streams), [])
            sm = statistics.median(s) if s else None
            ratio = round(sm / km, 3) if sm and km else None
            row = {"test": test, "streams": streams, "path": sp, "sluice_gbps": sm,
                   "kernel_gbps": km, "ratio": ratio, "sluice_runs": s, "kernel_runs": k}
            table.append(row)
            print(f"{name:<22} {sp:<14} {fmt(sm)} {fmt(km)} {fmt(ratio)}   {sp} {s} kernel {k}")
    with open(out_json, "w") as f:
        json.dump({"table": table, "runs": rows}, f, indent=1)
    print(f"results: {out_json}")
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("no matplotlib: no chart")
        return
    fig, ax = plt.subplots(figsize=(9, 4.5))
    tests = [t for t in keys]
    bars_of = spaths + ["kernel"]
    w = 0.8 / len(bars_of)
    xs = range(len(tests))
    colors = ["tab:blue", "tab:green", "tab:orange", "tab:purple"]
    for i, path in enumerate(bars_of):
        if path == "kernel":
            vals = [next((t["kernel_gbps"] for t in table if (t["test"], t["streams"]) == k), 0) or 0 for k in tests]
            rows_i = [None] * len(tests)
            color = "tab:gray"
        else:
            rows_i = [next((t for t in table if (t["test"], t["streams"]) == k and t["path"] == path), None) for k in tests]
            vals = [(t["sluice_gbps"] or 0) if t else 0 for t in rows_i]
            color = colors[i % len(colors)]
        bars = ax.bar([x + (i - (len(bars_of) - 1) / 2) * w for x in xs], vals, w, label=path, color=color)
        for b, t in zip(bars, rows_i):
            if t and t["ratio"]:
                ax.annotate(f"{t['ratio']:.2f}x", (b.get_x() + b.get_width() / 2, b.get_height()),
                            ha="center", va="bottom", fontsize=8)
    table_x = tests
    ax.set_xticks(list(xs))
    ax.set_xticklabels([f"{'same node' if t == 'same' else 'VXLAN'}\n{n} stream(s)"
                        for t, n in table_x])
    ax.set_ylabel("Gbit/s (iperf3 received, median)")
    ax.set_title("TCP pod -> pod, pod MTU " + os.environ.get("SL_POD_MTU", "1450")
                 + ": sluice vs the kernel's flannel path (path/kernel)", fontsize=10)
    ax.legend()
    fig.tight_layout()
    fig.savefig(out_png, dpi=100)
    print(f"chart: {out_png}")


if __name__ == "__main__":
    if sys.argv[1] == "line":
        line(*sys.argv[2:7])
    elif sys.argv[1] == "report":
        report(*sys.argv[2:5])
    else:
        sys.exit(__doc__)
