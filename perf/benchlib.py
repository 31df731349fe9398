"""Helpers shared by the benchmark scripts' report steps (vxlan_bench.sh, vhost_bench.sh).

Cycles per packet, counted the same way for both dataplanes on the forwarding core:
  sluice  all TSC cycles the worker spent in graph nodes (port-rx polling included) between
          two `sluicectl -o json show graph` snapshots, over the packets port-rx received in
          between. Idle polls while traffic is off are in it too, but few: an idle worker
          sleeps between polls.
  OVS     `ovs-appctl dpif-netdev/pmd-stats-show` after a pmd-stats-clear: "processing
          cycles" (iterations that received packets) over "packets received". A PMD never
          sleeps, so its idle iterations are reported apart ("cycles_per_packet" has them).
"""
import json


def load(path):
    """A JSON file, or None when it is missing or not JSON."""
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def _node_totals(graph):
    """{node: (packets, cycles)} summed over workers; cycles from packets * cycles_per_packet."""
    out = {}
    for g in graph or []:
        pk, cy = out.get(g["node"], (0, 0.0))
        out[g["node"]] = (pk + g["packets"], cy + g["packets"] * g["cycles_per_packet"])
    return out


def sluice_cycles(before, after):
    """Cycles per packet of the sluice worker between two graph snapshots (before may be None
    for a daemon started just for this run)."""
    b, a = _node_totals(before), _node_totals(after)
    per_node = {}
    for n, (pk, cy) in a.items():
        pk0, cy0 = b.get(n, (0, 0.0))
        if pk - pk0 > 0:
            per_node[n] = {"packets": pk - pk0, "cycles_per_packet": round((cy - cy0) / (pk - pk0), 1)}
    rx = per_node.get("port-rx", {}).get("packets", 0)
    total = sum(v["packets"] * v["cycles_per_packet"] for v in per_node.values())
    return {"packets": rx, "cycles": round(total),
            "cycles_per_packet": round(total / rx, 1) if rx else None, "per_node": per_node}


def ovs_cycles(pmd):
    """The like-for-like figure out of sl_ovs_pmd_json's object."""
    if not pmd:
        return None
    return dict(pmd, like_for_like=pmd["processing_cycles_per_packet"])


def check_delivery(name, gen, sent_by_dut, expect_vxlan=True):
    """Did the device under test send what the receiver counted? Returns (ok, text).
    gen: sluice-gen's result; sent_by_dut: frames the DUT's egress port transmitted over the
    whole run (warm-up and drain included, like gen's rx_all_packets); None or negative when
    the port does not count them."""
    if sent_by_dut is not None and sent_by_dut < 0:
        sent_by_dut = None
    if not gen:
        return False, f"{name}: no generator result"
    seen = gen.get("rx_all_packets", 0)
    problems = []
    if expect_vxlan and gen.get("wrong_encap"):
        problems.append(f"{gen['wrong_encap']} probes in the wrong VNI or to the wrong inner address")
    if expect_vxlan and gen.get("rx_vxlan_packets", 0) != seen:
        problems.append(f"{seen - gen.get('rx_vxlan_packets', 0)} probes arrived without VXLAN")
    if sent_by_dut is not None and seen > sent_by_dut:
        problems.append(f"receiver saw {seen} probes but the DUT sent only {sent_by_dut}")
    if gen.get("rx_packets", 0) == 0:
        problems.append("nothing received in the window")
    how = f"VNI {gen.get('expect_vxlan')}, inner dst checked" if expect_vxlan else "plain"
    text = (f"{name}: DUT egress sent {sent_by_dut if sent_by_dut is not None else '?'} frames, "
            f"receiver accepted {seen} ({how}), {gen.get('rx_packets', 0)} in the window")
    if problems:
        return False, text + "; NOT OK: " + "; ".join(problems)
    return True, text + "; ok"
