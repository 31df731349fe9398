#!/usr/bin/python3
"""Report step of perf/vxlan_bench.sh: reads the run directory, writes the result JSON and
the per-path lines for plot.py, prints the table, ratios, cycles and delivery checks.

  perf/vxlan_report.py RUN_DIR OUT.json FRAME_SIZE PLOT.jsonl
"""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from benchlib import check_delivery, load, ovs_cycles, sluice_cycles  # noqa: E402

LABELS = ("sluice", "ovs", "kernel", "testpmd", "sluice_tap")


def main():
    run, out, size, plot_lines = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
    paths = {label: load(f"{run}/{label}.json") for label in LABELS}
    graph = load(f"{run}/graph.json")
    nodes = {g["node"]: g for g in graph or []}

    def cpp(n):
        return nodes.get(n, {}).get("cycles_per_packet", 0.0)

    route_encap = cpp("ip4-lookup") + cpp("vxlan-encap")
    inner = sum(cpp(n) for n in ("eth-input", "ip4-input", "ip4-lookup", "vxlan-encap"))
    sl_cyc = sluice_cycles(load(f"{run}/graph0.json"), graph) if graph else None
    ovs_cyc = ovs_cycles(load(f"{run}/ovs-pmd.json"))
    ovs_ports = load(f"{run}/ovs-ports.json") or {}

    def pps(label):
        return (paths[label] or {}).get("rx_pps", 0.0)

    def ratio(a, b):
        return round(pps(a) / pps(b), 3) if pps(a) and pps(b) else None

    ratios = {"sluice_vs_ovs": ratio("sluice", "ovs"),
              "sluice_vs_kernel": ratio("sluice", "kernel"),
              "sluice_vs_testpmd": ratio("sluice", "testpmd"),
              "ovs_vs_testpmd": ratio("ovs", "testpmd"),
              "tap_vs_af_xdp": ratio("sluice_tap", "sluice")}

    # Did each dataplane send (on its uplink) at least what the receiver accepted as valid
    # VXLAN in VNI 1 to the remote pod? testpmd forwards plain frames: no check.
    checks = {}
    if paths["sluice"]:
        up = [p for p in load(f"{run}/sluice-ports.json") or [] if p.get("kind") == "uplink"]
        checks["sluice"] = check_delivery("sluice", paths["sluice"],
                                          up[0]["tx_packets"] if up else None)
    if paths["sluice_tap"]:
        up = [p for p in load(f"{run}/sluice_tap-ports.json") or [] if p.get("kind") == "uplink"]
        checks["sluice_tap"] = check_delivery("sluice_tap", paths["sluice_tap"],
                                              up[0]["tx_packets"] if up else None)
    if paths["ovs"]:
        checks["ovs"] = check_delivery("ovs", paths["ovs"], ovs_ports.get("uplink_tx"))
    if paths["kernel"]:
        checks["kernel"] = check_delivery("kernel", paths["kernel"], None)

    # Cycles per packet on the forwarding core, on each path's result too (plot.py shows it).
    if paths["sluice"] and sl_cyc and sl_cyc["cycles_per_packet"]:
        paths["sluice"]["cycles_per_packet"] = sl_cyc["cycles_per_packet"]
    if paths["ovs"] and ovs_cyc:
        paths["ovs"]["cycles_per_packet"] = ovs_cyc["like_for_like"]

    res = {"scenario": "pod-to-remote-pod VXLAN, one forwarding core", "frame_size": size,
           "paths": paths, "ratios": ratios,
           "delivery_checks": {k: {"ok": ok, "text": t} for k, (ok, t) in checks.items()},
           "ovs": {"ports": ovs_ports, "pmd": ovs_cyc},
           "cycles_per_packet": {"sluice_total": sl_cyc, "ovs_processing": ovs_cyc,
                                 "route_plus_encap": round(route_encap, 1),
                                 "graph_excluding_io": round(inner, 1), "per_node": graph}}
    with open(out, "w") as f:
        json.dump(res, f, indent=2)
    with open(plot_lines, "w") as f:
        for p in paths.values():
            if p:
                f.write(json.dumps(p) + "\n")

    print()
    print(f"{'path':10} {'rx kpps':>9} {'Gbit/s':>7} {'loss %':>7} {'p50 us':>7} {'p99 us':>7} "
          f"{'p999 us':>8} {'cyc/pkt':>8}")
    for label, p in paths.items():
        if not p:
            print(f"{label:10} {'(failed or not run)':>9}")
            continue
        lat = p.get("lat_ns") or {}
        c = p.get("cycles_per_packet")
        print(f"{label:10} {p['rx_pps'] / 1e3:9.1f} {p['rx_gbps']:7.3f} {p['loss_pct']:7.2f} "
              f"{lat.get('p50', 0) / 1e3:7.1f} {lat.get('p99', 0) / 1e3:7.1f} "
              f"{lat.get('p999', 0) / 1e3:8.1f} {'' if c is None else f'{c:8.0f}'}")
    fmt = lambda x: "n/a" if x is None else f"{x:.2f}"  # noqa: E731
    print()
    for ok, text in checks.values():
        print(("  " if ok else "! ") + text)
    print(f"\nsluice/ovs     = {fmt(ratios['sluice_vs_ovs'])}   (target >= 1.5, same ports, same core)")
    print(f"sluice/kernel  = {fmt(ratios['sluice_vs_kernel'])}   (target >= 3)")
    print(f"sluice/testpmd = {fmt(ratios['sluice_vs_testpmd'])}   (target >= 0.8)")
    if ratios["tap_vs_af_xdp"] is not None:
        print(f"tap pod/AF_XDP pod = {fmt(ratios['tap_vs_af_xdp'])}   (sluice_tap / sluice)")
    if sl_cyc or ovs_cyc:
        s = sl_cyc["cycles_per_packet"] if sl_cyc else "n/a"
        o = (f"{ovs_cyc['processing_cycles_per_packet']} (PMD processing cycles; "
             f"{ovs_cyc['cycles_per_packet']} with idle polling; the PMD ran "
             f"{ovs_cyc.get('core_share_pct')} % of the time)") if ovs_cyc else "n/a"
        print(f"cycles/packet on the forwarding core: sluice {s} (all graph nodes, port I/O "
              f"included), OVS {o}")
    if graph:
        print(f"sluice cycles/packet: ip4-lookup + vxlan-encap = {route_encap:.1f} (target < 150); "
              f"eth-input..vxlan-encap = {inner:.1f}")
    print(f"results: {out}")
    if any(not ok for ok, _ in checks.values()):
        print("WARNING: a delivery check failed (lines marked '!')")
    return 0


if __name__ == "__main__":
    sys.exit(main())
