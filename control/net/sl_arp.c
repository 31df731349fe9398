/* Neighbour upkeep on the uplink (see sl_net.h): the control thread asks, workers learn the
 * answers (dataplane/arp/arp_input.c). */
#include <rte_arp.h>
#include <rte_cycles.h>
#include <rte_ring.h>

#include "dataplane/core/sl_dp.h"
#include "sl_net.h"
#include "sl_ports.h"

#define NEIGH_RETRY_S 1      /* unresolved: ask again every second... */
#define NEIGH_FAST_TRIES 5   /* ...for this many requests, then back off, doubling... */
#define NEIGH_RETRY_MAX_S 30 /* ...up to this interval (a VTEP that is down or gone) */
#define NEIGH_REFRESH_S 30   /* resolved: refresh after this long without a reply */
#define NEIGH_EXPIRE_S 90    /* resolved: forget after this long without a reply */
/* Requests sent per tick (100 ms) at most, so thousands of neighbours (a 5,000-node cluster's
 * VTEPs, all new at the first sync) never flood the underlay with broadcasts nor fill the
 * control ring worker 0 drains (256): 640 a second. The scan resumes where the last one
 * stopped, so every neighbour gets its turn. */
#define NEIGH_REQUESTS_PER_TICK 64

static struct sl_arp_stats stats;
static uint32_t cursor; /* the neighbour the next scan starts at */

/* Returns false when the request could not be sent (no uplink, mbuf or ring room). */
static bool send_arp_request(uint32_t ip)
{
	struct sl_port *up = sl_dp.ports[SL_PORT_UPLINK_ID];
	struct rte_mbuf *m = up ? rte_pktmbuf_alloc(sl_dp.pool) : NULL;
	if (!m)
		return false;
	struct rte_ether_hdr *eth = (struct rte_ether_hdr *)rte_pktmbuf_append(
		m, sizeof(*eth) + sizeof(struct rte_arp_hdr));
	struct rte_arp_hdr *arp = (struct rte_arp_hdr *)(eth + 1);
	memset(&eth->dst_addr, 0xff, RTE_ETHER_ADDR_LEN);
	eth->src_addr = up->mac;
	eth->ether_type = RTE_BE16(RTE_ETHER_TYPE_ARP);
	*arp = (struct rte_arp_hdr){
		.arp_hardware = RTE_BE16(RTE_ARP_HRD_ETHER),
		.arp_protocol = RTE_BE16(RTE_ETHER_TYPE_IPV4),
		.arp_hlen = RTE_ETHER_ADDR_LEN,
		.arp_plen = 4,
		.arp_opcode = RTE_BE16(RTE_ARP_OP_REQUEST),
	};
	arp->arp_data.arp_sha = up->mac;
	arp->arp_data.arp_sip = sl_net_conf()->node_ip.v4;
	arp->arp_data.arp_tip = ip;
	sl_priv(m)->out_port = up->id;
	sl_priv(m)->flags = 0;
	if (rte_ring_mp_enqueue(sl_dp.ctrl_tx, m) != 0) {
		rte_pktmbuf_free(m);
		return false;
	}
	return true;
}

/* Seconds to wait after the last unanswered request before the next. */
static uint64_t retry_s(const struct sl_neigh *n)
{
	if (n->tries < NEIGH_FAST_TRIES)
		return NEIGH_RETRY_S;
	unsigned shift = n->tries - NEIGH_FAST_TRIES + 1;
	return shift >= 5 ? NEIGH_RETRY_MAX_S : RTE_MIN(NEIGH_RETRY_S << shift, NEIGH_RETRY_MAX_S);
}

void sl_net_neigh_tick(void)
{
	uint64_t now = rte_rdtsc(), hz = rte_get_tsc_hz();
	uint32_t end = sl_dp.neigh_hwm, budget = NEIGH_REQUESTS_PER_TICK;
	if (cursor >= end)
		cursor = 0;
	for (uint32_t k = 0, i = cursor; k < end; k++, i = i + 1 < end ? i + 1 : 0) {
		struct sl_neigh *n = &sl_dp.neigh[i];
		if (!n->refs)
			continue;
		uint64_t ms = atomic_load(&n->mac_state);
		uint64_t age = now - atomic_load(&n->updated_tsc);
		bool ask;
		if (ms & SL_NEIGH_STATIC)
			continue;
		if (!(ms & SL_NEIGH_VALID)) {
			ask = now - n->requested_tsc > retry_s(n) * hz || !n->requested_tsc;
		} else if (age > NEIGH_EXPIRE_S * hz) {
			atomic_store(&n->mac_state, 0);
			n->tries = 0;
			ask = true;
		} else {
			n->tries = 0; /* answered since the last request */
			ask = age > NEIGH_REFRESH_S * hz && now - n->requested_tsc > 5 * hz;
		}
		if (!ask)
			continue;
		if (!budget) { /* this one and the rest wait for the next tick, first in line */
			stats.deferred++;
			cursor = i;
			return;
		}
		/* The reply is accepted from now on (arp-input). */
		uint64_t before = atomic_exchange(&n->requested_tsc, now);
		if (!send_arp_request(n->ip)) {
			atomic_store(&n->requested_tsc, before);
			stats.failed++;
			cursor = i;
			return; /* no room: retried next tick */
		}
		budget--;
		stats.requests++;
		if (!(ms & SL_NEIGH_VALID) && n->tries < UINT8_MAX)
			n->tries++;
	}
}

void sl_net_arp_stats(struct sl_arp_stats *ret)
{
	*ret = stats;
}
