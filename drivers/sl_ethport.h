/* Ethdev ports: the uplink (any DPDK ethdev by devargs) and the host port (net_tap). */
#pragma once
#include <stddef.h>
#include <stdint.h>
#include <rte_mempool.h>

/* Probe devargs (a vdev string or a PCI address), configure up to *n_rxq receive queues (RSS
 * across them when more than one) and up to *n_txq transmit queues, fewer when the device
 * has fewer (the counts used are written back), and start it. Control thread.
 * Returns 0 and the ethdev id, or -errno with a message in err. */
int sl_ethport_open(const char *devargs, uint16_t *n_rxq, uint16_t *n_txq, uint16_t mtu,
		    struct rte_mempool *pool, uint16_t *ret_port, char *err, size_t errlen);
/* Stop, close and remove the device. Control thread, after workers stopped. */
void sl_ethport_close(uint16_t port);
