/* sluice-cni: the ADD steps every attachment kind shares (plugin.h: the order they are
 * called in). */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "plugin.h"

/* Whether IPAM's address is a pod address of sluiced's pod CIDR (not its network,
 * broadcast or gateway address). */
static int check_ip(const struct sl_cni_run *r, const struct sl_cni_ipam_result *ip,
		    struct sl_cni_err *err)
{
	char b[16];
	uint32_t mask = sl_cni_mask(r->node.pod_len);
	if ((ip->ip & mask) != r->node.pod_net || ip->ip == r->node.gateway ||
	    ip->ip == r->node.pod_net || ip->ip == (r->node.pod_net | ~mask))
		return sl_cni_fail(err, SL_CNI_E_CONFIG, "ipam: allocated %s, which is not a pod "
				   "address of sluiced's pod CIDR (check ipam ranges)",
				   sl_cni_fmt_ip(ip->ip, b));
	return 0;
}

/* The MTU the pod gets: the config's, at most sluiced's pod MTU. */
static int pod_mtu(const struct sl_cni_run *r, unsigned *ret, struct sl_cni_err *err)
{
	*ret = r->conf.mtu ? r->conf.mtu : r->node.pod_mtu;
	if (*ret > r->node.pod_mtu) /* larger frames would not fit the VXLAN underlay */
		return sl_cni_fail(err, SL_CNI_E_CONFIG, "mtu: %u exceeds sluiced's pod MTU %u",
				   *ret, r->node.pod_mtu);
	return 0;
}

int sl_cni_add_begin(struct sl_cni_run *r, struct sl_cni_add *ad, struct sl_cni_err *err)
{
	int rc;
	if ((rc = sl_cni_run_open_netns(r, &ad->netns_fd, err)) < 0 ||
	    (rc = sl_cni_run_prepare(r, true, err)) < 0 || (rc = pod_mtu(r, &ad->mtu, err)) < 0)
		return rc;
	struct sl_cni_ipam_call c = sl_cni_run_ipam_call(r, "ADD");
	ad->ipam_done = true; /* SPEC.md 4: a failed delegated ADD is followed by DEL too */
	if ((rc = sl_cni_ipam_run(&c, &ad->ip, err)) < 0 || (rc = check_ip(r, &ad->ip, err)) < 0)
		return rc;
	return 0;
}

int sl_cni_add_setup_pod(const struct sl_cni_run *r, struct sl_cni_nl *pod,
			 const struct sl_cni_ipam_result *ip, uint8_t mac[6],
			 struct sl_cni_err *err)
{
	struct sl_cni_link l;
	uint32_t gw = r->node.gateway;
	int rc;
	if ((rc = sl_cni_nl_link_get(pod, r->env.ifname, &l, err)) < 0 ||
	    (rc = sl_cni_nl_link_up(pod, l.ifindex, err)) < 0 ||
	    (rc = sl_cni_nl_addr_add(pod, l.ifindex, ip->ip, 32, err)) < 0 ||
	    (rc = sl_cni_nl_route_add(pod, l.ifindex, gw, 32, 0, false, err)) < 0 ||
	    (rc = sl_cni_nl_route_add(pod, l.ifindex, 0, 0, gw, true, err)) < 0)
		return rc;
	for (unsigned i = 0; i < ip->n_routes; i++) {
		const struct sl_cni_route *rt = &ip->routes[i];
		if (!rt->len || (rt->len == 32 && rt->dst == gw))
			continue; /* already there */
		rc = sl_cni_nl_route_add(pod, l.ifindex, rt->dst, rt->len, rt->gw ? rt->gw : gw,
					 true, err);
		if (rc < 0 && rc != -EEXIST)
			return rc;
	}
	/* A tap (add_tap.c) keeps its virtio-net offloads: sluiced takes GSO frames. */
	if (r->conf.iface == SL_CNI_IFACE_TAP) {
		memcpy(mac, l.mac, 6);
		return 0;
	}
	/* sluiced reads the veth through XDP. In "native" mode veth takes GSO from the pod
	 * and frames carry no "checksum partial" flag: the pod's stack must fill checksums. In
	 * "skb" mode the pod keeps both and sluiced completes checksums (offload/l4_csum.h). */
	if (!r->node.pod_csum_offload && (rc = sl_cni_nl_tx_csum_off(pod, r->env.ifname, err)) < 0)
		return rc;
	/* In "skb" mode only TCP GSO frames may leave the pod whole: sluiced cuts TCP at any
	 * MSS, but a UDP or SCTP GSO frame carries its datagram size in skb metadata that
	 * XDP does not pass on, so the pod's stack must cut those itself. */
	static const char *const not_tcp_gso[] = { "tx-udp-segmentation", "tx-sctp-segmentation",
						   "tx-gso-list", NULL };
	if (r->node.pod_csum_offload &&
	    (rc = sl_cni_nl_features_off(pod, r->env.ifname, not_tcp_gso, err)) < 0)
		return rc;
	memcpy(mac, l.mac, 6);
	return 0;
}

int sl_cni_add_pod(struct sl_cni_run *r, struct sl_cni_add *ad, struct sl_cni_err *err)
{
	struct sl_cni_pod *sp = &ad->sp;
	int rc;
	snprintf(sp->name, sizeof(sp->name), "%s", r->pod_name);
	snprintf(sp->namespace, sizeof(sp->namespace), "%s", sl_cni_pod_namespace(&r->env));
	sp->ip = ad->ip.ip;
	sp->n_port_maps = r->conf.n_port_maps;
	sp->port_maps = r->conf.port_maps;
	ad->pod_done = true;
	if ((rc = sl_cni_api_pod_add(r->conf.socket, sp, err)) < 0)
		/* Timed out or cut off: sluiced may still have added it; refused: it did not. */
		ad->pod_done = rc != -EREMOTEIO;
	return rc;
}

int sl_cni_add_result(struct sl_cni_run *r, struct sl_cni_add *ad, struct sl_cni_err *err)
{
	struct sl_cni_attach *a = &ad->a;
	a->version = r->conf.version;
	a->pod_ifname = r->env.ifname;
	a->netns = r->env.netns;
	a->mtu = ad->mtu;
	a->ip = ad->ip.ip;
	a->gateway = r->node.gateway;
	a->ipam = &ad->ip;
	cJSON *res = sl_cni_result_build(a, r->conf.prev_result);
	if (!res) /* the undo detaches the pod again */
		return sl_cni_fail(err, SL_CNI_E_IO, "result: out of memory");
	sl_cni_print_json(res);
	cJSON_Delete(res);
	return 0;
}

void sl_cni_add_undo_pod(const struct sl_cni_run *r, const struct sl_cni_add *ad, int rc)
{
	struct sl_cni_err ignored;
	if (rc < 0 && ad->pod_done) /* a tap goes with it, wherever it is */
		sl_cni_api_pod_del(r->conf.socket, ad->sp.namespace, ad->sp.name, &ignored);
}

int sl_cni_add_end(const struct sl_cni_run *r, struct sl_cni_add *ad, int rc)
{
	if (rc < 0 && ad->ipam_done) { /* release the address IPAM gave the failed ADD */
		struct sl_cni_err ignored;
		struct sl_cni_ipam_call d = sl_cni_run_ipam_call(r, "DEL");
		if (sl_cni_ipam_run(&d, NULL, &ignored) < 0)
			fprintf(stderr, "sluice-cni: undoing ADD: %s\n", ignored.msg);
	}
	sl_cni_ipam_result_free(&ad->ip);
	if (ad->netns_fd >= 0)
		close(ad->netns_fd);
	ad->netns_fd = -1;
	return rc;
}
