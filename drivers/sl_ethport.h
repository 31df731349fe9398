/* Ethdev ports: the uplink (any DPDK ethdev by devargs) and the host port (net_tap). */
#pragma once
#include <stddef.h>
#include <stdint.h>
#include <rte_mempool.h>

/* Write devargs into out, plus what sluice needs from some PMDs where devargs leaves it
 * unset: net_af_xdp gets busy_budget=0. With the PMD's default (preferred busy polling)
 * every empty receive poll is a recvfrom() system call; the fast path makes none but the
 * AF_XDP kick. Without it an empty poll makes no call (the PMD polls the socket only when the
 * fill ring asks for a wakeup, which copy mode never does). Returns 0, or -ENAMETOOLONG if
 * out is too small. Any thread. */
int sl_ethport_devargs(const char *devargs, char *out, size_t len);

/* Probe devargs (a vdev string or a PCI address), configure up to *n_rxq receive queues (RSS
 * across them when more than one) and up to *n_txq transmit queues, fewer when the device
 * has fewer (the counts used are written back), and start it. Control thread.
 * Returns 0 and the ethdev id, or -errno with a message in err. */
int sl_ethport_open(const char *devargs, uint16_t *n_rxq, uint16_t *n_txq, uint16_t mtu,
		    struct rte_mempool *pool, uint16_t *ret_port, char *err, size_t errlen);
/* Stop, close and remove the device. Control thread, after workers stopped. */
void sl_ethport_close(uint16_t port);
