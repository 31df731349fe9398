/* Mbuf pools an AF_XDP UMEM can cover whole (see sl_mbuf_pool.h). */
#include <errno.h>
#include <stdio.h>
#include <unistd.h>

#include <rte_errno.h>
#include <rte_mbuf.h>
#include <rte_mbuf_pool_ops.h>
#include <rte_memzone.h>

#include "sl_mbuf_pool.h"

static void free_memzone(struct rte_mempool_memhdr *memhdr, void *mz)
{
	rte_memzone_free(mz);
}

/* Objects back to back from a page-aligned start: rte_mempool_populate_default would start
 * at the memzone's cache-line-aligned address and skip to the next page (a gap at the front
 * that puts the last object past the PMD's range). */
static int populate(struct rte_mempool *mp, const char *name, unsigned n)
{
	char mz_name[RTE_MEMZONE_NAMESIZE];
	snprintf(mz_name, sizeof(mz_name), "SLMP_%s", name);
	const struct rte_memzone *mz = rte_memzone_reserve_aligned(
		mz_name, (size_t)n * SL_MBUF_OBJ_SIZE, SOCKET_ID_ANY, 0, SL_MBUF_OBJ_SIZE);
	if (!mz)
		return -rte_errno;
	/* Split where IOVA-contiguity ends; all pieces are whole objects, adjacent in VA. */
	int rc = rte_mempool_populate_virt(mp, mz->addr, mz->len, mz->hugepage_sz, free_memzone,
					   (void *)(uintptr_t)mz);
	if (rc < 0) {
		rte_memzone_free(mz);
		return rc;
	}
	return (unsigned)rc == n ? 0 : -ENOMEM;
}

struct rte_mempool *sl_mbuf_pool_create(const char *name, unsigned n, unsigned cache,
					uint16_t priv_size)
{
	/* No cache-line spreading: it would pad the object past SL_MBUF_OBJ_SIZE. */
	const unsigned flags = RTE_MEMPOOL_F_NO_SPREAD;
	struct rte_mempool_objsz sz;
	rte_mempool_calc_obj_size(0, flags, &sz);
	unsigned elt_size = SL_MBUF_OBJ_SIZE - sz.header_size;
	if (rte_mempool_calc_obj_size(elt_size, flags, &sz) != SL_MBUF_OBJ_SIZE ||
	    elt_size < sizeof(struct rte_mbuf) + priv_size + RTE_PKTMBUF_HEADROOM + 2048) {
		rte_errno = EINVAL; /* e.g. a debug build's object cookies */
		return NULL;
	}
	struct rte_pktmbuf_pool_private pool_priv = {
		.mbuf_data_room_size = (uint16_t)(elt_size - sizeof(struct rte_mbuf) - priv_size),
		.mbuf_priv_size = priv_size,
	};
	struct rte_mempool *mp = rte_mempool_create_empty(name, n, elt_size, cache,
							  sizeof(pool_priv), SOCKET_ID_ANY, flags);
	if (!mp)
		return NULL;
	int rc = rte_mempool_set_ops_byname(mp, rte_mbuf_best_mempool_ops(), NULL);
	if (rc == 0) {
		rte_pktmbuf_pool_init(mp, &pool_priv);
		rc = populate(mp, name, n);
	}
	if (rc < 0) {
		rte_mempool_free(mp);
		rte_errno = -rc;
		return NULL;
	}
	rte_mempool_obj_iter(mp, rte_pktmbuf_init, NULL);
	return mp;
}

struct umem_range {
	uintptr_t base, end;
	size_t obj_size;
	unsigned outside;
};

static void count_outside(struct rte_mempool *mp, void *arg, void *obj, unsigned idx)
{
	struct umem_range *r = arg;
	(void)idx;
	uintptr_t start = (uintptr_t)obj - mp->header_size;
	if (start < r->base || start + r->obj_size > r->end)
		r->outside++;
}

bool sl_mbuf_pool_fits_umem(struct rte_mempool *mp)
{
	/* The PMD's computation (rte_eth_af_xdp.c, xdp_umem_configure): the first chunk's
	 * address rounded down to a page, plus populated_size objects. */
	const struct rte_mempool_memhdr *first = STAILQ_FIRST(&mp->mem_list);
	if (!first)
		return false;
	uintptr_t addr = (uintptr_t)first->addr;
	uintptr_t base = addr & ~((uintptr_t)getpagesize() - 1);
	size_t obj = rte_mempool_calc_obj_size(mp->elt_size, mp->flags, NULL);
	struct umem_range r = {
		.base = base,
		.end = base + (addr - base) + (size_t)mp->populated_size * obj,
		.obj_size = obj,
	};
	rte_mempool_obj_iter(mp, count_outside, &r);
	return r.outside == 0;
}
