/* Mbuf pools that an AF_XDP UMEM can cover whole.
 *
 * DPDK 22.11's net_af_xdp PMD puts mbufs straight into its XDP socket's rings (zero copy
 * between mbuf and UMEM) and registers the UMEM as [first memory chunk of the pool, + pool
 * size x object size). That range holds every mbuf only if the objects lie back to back in one
 * chunk. rte_pktmbuf_pool_create does not promise that: it keeps objects from crossing page
 * boundaries, so with 4 KiB pages (--no-huge) each 2,496-byte object takes a whole page and
 * the last ~40 % of the mbufs lie outside the UMEM (with 2 MiB pages a few per page boundary).
 * The kernel rejects such descriptors (tx_invalid_descs), never completes them (the mbuf is
 * lost) and the socket stalls. One worker hid it: its mbuf cache recycled the same few low
 * mbufs; a second worker freeing what the first allocated cycles the whole pool.
 *
 * These pools use 4,096-byte objects, which tile 4 KiB and 2 MiB pages exactly, so no
 * object needs padding and the PMD's range is exact. */
#pragma once
#include <stdbool.h>
#include <stdint.h>
#include <rte_mempool.h>

/* Create a pool of n mbufs of SL_MBUF_OBJ_SIZE bytes each (header, struct rte_mbuf, priv_size
 * bytes of private area, the rest data room), any socket. Control thread, after EAL init.
 * Returns NULL with rte_errno set on failure. */
struct rte_mempool *sl_mbuf_pool_create(const char *name, unsigned n, unsigned cache,
					uint16_t priv_size);

/* Whether every object of mp lies inside the range net_af_xdp registers as its UMEM (see
 * above). Any thread. */
bool sl_mbuf_pool_fits_umem(struct rte_mempool *mp);

#define SL_MBUF_OBJ_SIZE 4096
