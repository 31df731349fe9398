/* AF_XDP frame assembly: multi-buffer descriptors -> checked frame -> mbuf chain (see
 * sl_xsk.h). No system calls, no libxdp: unit-tested on its own (tests/unit). */
#include <rte_memcpy.h>

#include "sl_xsk.h"

uint32_t sl_xsk_frame_span(const struct sl_xsk_desc *d, uint32_t n, uint64_t umem_size,
			   int *ret_bad, bool *ret_skip)
{
	uint64_t total = 0;
	int bad = 0;
	*ret_skip = false;
	for (uint32_t i = 0; i < n; i++) {
		uint64_t off = d[i].addr % SL_XSK_FRAME_SIZE;
		if (d[i].len == 0 || off + d[i].len > SL_XSK_FRAME_SIZE ||
		    d[i].addr + d[i].len > umem_size)
			bad = 2;
		total += d[i].len;
		bool more = d[i].options & SL_XSK_PKT_CONTD;
		if (!more) {
			if (!bad && (total > SL_XSK_MAX_FRAME || total < RTE_ETHER_HDR_LEN))
				bad = 2;
			*ret_bad = bad;
			return i + 1;
		}
		if (i + 1 > SL_XSK_MAX_FRAGS) {
			*ret_bad = 1;
			*ret_skip = true;
			return i + 1;
		}
	}
	*ret_bad = 0;
	return 0;
}

struct rte_mbuf *sl_xsk_copy_in(struct rte_mempool *pool, const void *area,
				const struct sl_xsk_desc *d, uint32_t nd)
{
	struct rte_mbuf *head = rte_pktmbuf_alloc(pool), *last = head;
	if (!head)
		return NULL;
	for (uint32_t i = 0; i < nd; i++) {
		const uint8_t *src = (const uint8_t *)area + d[i].addr;
		uint32_t left = d[i].len;
		while (left) {
			uint16_t room = rte_pktmbuf_tailroom(last);
			if (room == 0) {
				struct rte_mbuf *seg = rte_pktmbuf_alloc(pool);
				if (!seg) {
					rte_pktmbuf_free(head);
					return NULL;
				}
				last->next = seg;
				last = seg;
				head->nb_segs++;
				room = rte_pktmbuf_tailroom(last);
			}
			uint16_t c = left < room ? (uint16_t)left : room;
			rte_memcpy(rte_pktmbuf_mtod_offset(last, uint8_t *, last->data_len), src, c);
			last->data_len = (uint16_t)(last->data_len + c);
			head->pkt_len += c;
			src += c;
			left -= c;
		}
	}
	return head;
}
