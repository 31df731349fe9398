/* AF_XDP pod port: the host end of a pod's veth, opened as an XDP socket with libxdp.
 *
 * Each port has its own UMEM (veth has no zero-copy, so frames are copied between UMEM and
 * mbufs either way). Half the frames feed the fill ring, half serve transmission. One
 * socket is used by one worker at a time: rx and tx of a port are single-threaded. */
#pragma once
#include <stdint.h>
#include <rte_ether.h>
#include <rte_mbuf.h>

struct sl_xsk;

/* Open an XDP socket on ifname (queue 0), loading the redirect program in native mode.
 * Control thread. Returns 0 or -errno; *ret_err_msg names the failing step. */
int sl_xsk_open(const char *ifname, struct sl_xsk **ret_xsk, const char **ret_err_msg);
/* Close the socket, remove the XDP program and free the UMEM. Control, after workers
 * stopped using it (RCU grace period). */
void sl_xsk_close(struct sl_xsk *xsk);
/* Remove the socket's XDP program from its interface now: no packet reaches the socket any
 * more, while a worker may still poll it until sl_xsk_close (after a grace period). */
void sl_xsk_detach(struct sl_xsk *xsk);
/* Receive up to n frames into mbufs from pool. Owner worker. */
uint16_t sl_xsk_rx_burst(struct sl_xsk *xsk, struct rte_mempool *pool, struct rte_mbuf **pkts,
			 uint16_t n);
/* Copy up to n mbufs to the TX ring and kick the kernel; the mbufs accepted are freed.
 * Returns how many were accepted. Owner worker. */
uint16_t sl_xsk_tx_burst(struct sl_xsk *xsk, struct rte_mbuf **pkts, uint16_t n);
/* Kick the kernel again for frames an earlier sl_xsk_tx_burst left on the TX ring. Owner
 * worker, once per loop. */
void sl_xsk_tx_flush(struct sl_xsk *xsk);
/* The MAC address of the interface (host end). */
void sl_xsk_mac(const struct sl_xsk *xsk, struct rte_ether_addr *ret_mac);
