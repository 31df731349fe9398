/* The config's "uplink", "af_xdp" and "tap" sections, and the pod MTU they bound (see
 * sl_config.h). */
#include <string.h>

#include "sl_config_int.h"
#include "sl_cpus.h"

/* "uplink": "kind" "ethdev" (the default: a DPDK device from devargs, e.g. net_af_xdp on a
 * veth) or "tap" (issue 13: a tap sluiced creates as ifname; the node bridges it with the
 * underlay; TCP crosses it in 64 KiB VXLAN frames where the kernel has UDP tunnel GSO for
 * taps, Linux 6.17+, unless tunnel_gso is false). */
static int parse_uplink(const cJSON *root, struct sl_config *c, char *err, size_t n)
{
	static const char *const known[] = { "devargs", "mtu", "rx_queues", "kind", "ifname",
					     "tunnel_gso", NULL };
	const cJSON *o;
	char kind[8] = "";
	unsigned u;
	int rc = sl_cfg_section(root, "uplink", true, known, &o, err, n);
	if (rc < 0)
		return rc;
	TRY(sl_cfg_str(o, "uplink", "kind", false, kind, sizeof(kind), err, n));
	if (kind[0] && strcmp(kind, "ethdev") && strcmp(kind, "tap"))
		return sl_cfg_fail(err, n, "uplink.kind", "must be \"ethdev\" or \"tap\"");
	c->uplink_tap = !strcmp(kind, "tap");
	c->uplink_tunnel_gso = true;
	if (c->uplink_tap) {
		TRY(sl_cfg_str(o, "uplink", "ifname", true, c->uplink_tap_ifname,
			       sizeof(c->uplink_tap_ifname), err, n));
		TRY(sl_cfg_bool(o, "uplink", "tunnel_gso", &c->uplink_tunnel_gso, err, n));
		if (cJSON_GetObjectItemCaseSensitive(o, "devargs"))
			return sl_cfg_fail(err, n, "uplink.devargs", "not with kind \"tap\"");
		if (cJSON_GetObjectItemCaseSensitive(o, "rx_queues"))
			return sl_cfg_fail(err, n, "uplink.rx_queues",
					   "not with kind \"tap\" (one queue per worker)");
	} else {
		if (cJSON_GetObjectItemCaseSensitive(o, "ifname"))
			return sl_cfg_fail(err, n, "uplink.ifname", "only with kind \"tap\"");
		if (cJSON_GetObjectItemCaseSensitive(o, "tunnel_gso"))
			return sl_cfg_fail(err, n, "uplink.tunnel_gso", "only with kind \"tap\"");
		TRY(sl_cfg_str(o, "uplink", "devargs", true, c->uplink_devargs,
			       sizeof(c->uplink_devargs), err, n));
	}
	u = 1500;
	TRY(sl_cfg_uint(o, "uplink", "mtu", 626, 9000, &u, err, n));
	c->uplink_mtu = (uint16_t)u;
	u = 0;
	TRY(sl_cfg_uint(o, "uplink", "rx_queues", 0, 16, &u, err, n));
	c->uplink_rx_queues = (uint16_t)u;
	return 0;
}

/* "af_xdp": multi-buffer (issue 13) on by default; pods may then have a pod MTU above one
 * mbuf and above the tunnel's (cross-node packets get "fragmentation needed": path MTU
 * discovery). "native" mode by default: "skb" (generic XDP; the pods keep GSO, TCP reaches
 * sluice in 64 KiB frames) gave 1.2-2x the TCP but ~0.76 of the 64-byte UDP rate here
 * (docs/performance.md, "Which path a kernel pod gets"); it needs multi-buffer. */
static int parse_af_xdp(const cJSON *root, struct sl_config *c, char *err, size_t n)
{
	static const char *const known[] = { "multi_buffer", "mode", NULL };
	const cJSON *o;
	char mode[8] = "";
	c->xsk_multi_buffer = true;
	c->xsk_skb_mode = false;
	int rc = sl_cfg_section(root, "af_xdp", false, known, &o, err, n);
	if (rc <= 0)
		return rc;
	TRY(sl_cfg_bool(o, "af_xdp", "multi_buffer", &c->xsk_multi_buffer, err, n));
	TRY(sl_cfg_str(o, "af_xdp", "mode", false, mode, sizeof(mode), err, n));
	if (mode[0] && strcmp(mode, "skb") && strcmp(mode, "native"))
		return sl_cfg_fail(err, n, "af_xdp.mode", "must be \"skb\" or \"native\"");
	if (mode[0])
		c->xsk_skb_mode = mode[0] == 's';
	return 0;
}

/* "tap": tap pods' ("interface": "tap", issue 13) virtio-net offloads (checksum, TSO4), on
 * by default, so their TCP moves in 64 KiB frames, and the CPUs their receive processing is
 * steered to (rps_cpus: "auto", "off" or a CPU list; drivers/sl_tap.h "Receive steering"). */
static int parse_tap(const cJSON *root, struct sl_config *c, char *err, size_t n)
{
	static const char *const known[] = { "offload", "rps_cpus", NULL };
	const cJSON *o;
	char rps[256] = "auto";
	const char *why;
	c->tap_offload = true;
	c->tap_rps_auto = true;
	CPU_ZERO(&c->tap_rps_cpus);
	int rc = sl_cfg_section(root, "tap", false, known, &o, err, n);
	if (rc <= 0)
		return rc;
	TRY(sl_cfg_bool(o, "tap", "offload", &c->tap_offload, err, n));
	TRY(sl_cfg_str(o, "tap", "rps_cpus", false, rps, sizeof(rps), err, n));
	c->tap_rps_auto = !strcmp(rps, "auto");
	if (c->tap_rps_auto || !strcmp(rps, "off"))
		return 0;
	if (sl_cpus_parse(rps, &c->tap_rps_cpus, &why) < 0)
		return sl_cfg_fail(err, n, "tap.rps_cpus", "\"auto\", \"off\" or a CPU list "
				   "such as \"0-3,8\": %s", why);
	return 0;
}

int sl_cfg_parse_uplink(const cJSON *root, struct sl_config *c, char *err, size_t n)
{
	TRY(parse_uplink(root, c, err, n));
	TRY(parse_af_xdp(root, c, err, n));
	TRY(parse_tap(root, c, err, n));
	/* Generic XDP hands the program a pod's GSO frames whole only with multi-buffer. */
	if (c->xsk_skb_mode && !c->xsk_multi_buffer)
		return sl_cfg_fail(err, n, "af_xdp.mode", "\"skb\" needs af_xdp.multi_buffer");
	if (c->pod_mtu == 0)
		c->pod_mtu = (uint16_t)(c->uplink_mtu - 50); /* RFC 7348 overhead */
	if (c->pod_mtu > SL_POD_MTU_MAX &&
	    !cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(root, "node"),
					      "pod_mtu"))
		c->pod_mtu = SL_POD_MTU_MAX;
	else if (c->pod_mtu > SL_POD_MTU_MAX && !c->xsk_multi_buffer)
		return sl_cfg_fail(err, n, "node.pod_mtu", "at most %d without af_xdp.multi_buffer",
				   SL_POD_MTU_MAX);
	else if (c->pod_mtu > c->uplink_mtu - 50 && !c->xsk_multi_buffer)
		return sl_cfg_fail(err, n, "node.pod_mtu",
				   "must be at most uplink.mtu - 50 (%u) without af_xdp.multi_buffer",
				   c->uplink_mtu - 50);
	return 0;
}
