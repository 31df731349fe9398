/* Neighbour upkeep on the uplink (see sl_net.h): the control thread asks, workers learn the
 * answers (dataplane/arp/arp_input.c). */
#include <rte_arp.h>
#include <rte_cycles.h>
#include <rte_ring.h>

#include "dataplane/core/sl_dp.h"
#include "sl_net.h"
#include "sl_ports.h"

#define NEIGH_RETRY_S 1      /* unresolved: ask again every second */
#define NEIGH_REFRESH_S 30   /* resolved: refresh after this long without a reply */
#define NEIGH_EXPIRE_S 90    /* resolved: forget after this long without a reply */

static void send_arp_request(uint32_t ip)
{
	struct sl_port *up = sl_dp.ports[SL_PORT_UPLINK_ID];
	struct rte_mbuf *m = up ? rte_pktmbuf_alloc(sl_dp.pool) : NULL;
	if (!m)
		return;
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
	if (rte_ring_mp_enqueue(sl_dp.ctrl_tx, m) != 0)
		rte_pktmbuf_free(m);
}

void sl_net_neigh_tick(void)
{
	uint64_t now = rte_rdtsc(), hz = rte_get_tsc_hz();
	for (unsigned i = 0; i < SL_MAX_NEIGH; i++) {
		struct sl_neigh *n = &sl_dp.neigh[i];
		if (!n->refs)
			continue;
		uint64_t ms = atomic_load(&n->mac_state);
		uint64_t age = now - atomic_load(&n->updated_tsc);
		bool ask;
		if (ms & SL_NEIGH_STATIC)
			continue;
		if (!(ms & SL_NEIGH_VALID)) {
			ask = now - n->requested_tsc > NEIGH_RETRY_S * hz || !n->requested_tsc;
		} else if (age > NEIGH_EXPIRE_S * hz) {
			atomic_store(&n->mac_state, 0);
			ask = true;
		} else {
			ask = age > NEIGH_REFRESH_S * hz && now - n->requested_tsc > 5 * hz;
		}
		if (ask) { /* the reply is accepted from now on (arp-input) */
			atomic_store(&n->requested_tsc, now);
			send_arp_request(n->ip);
		}
	}
}
