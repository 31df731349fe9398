/* AF_XDP multi-buffer frame assembly (drivers/sl_xsk_rx.c): which descriptors make a frame,
 * malformed chains (too many descriptors, lengths that do not add up) refused with their
 * reason, and the copy into an mbuf chain. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "drivers/sl_xsk.h"
#include "harness.h"

#define FS SL_XSK_FRAME_SIZE
#define UMEM (64ull * FS)
#define C SL_XSK_PKT_CONTD

static uint32_t span(const struct sl_xsk_desc *d, uint32_t n, int *bad, bool *skip)
{
	return sl_xsk_frame_span(d, n, UMEM, bad, skip);
}

static void test_single_and_chain(void **state)
{
	int bad;
	bool skip;
	struct sl_xsk_desc one[] = { { 0, 1514, 0 }, { FS, 60, 0 } };
	assert_int_equal(span(one, 2, &bad, &skip), 1);
	assert_int_equal(bad, 0);
	assert_false(skip);
	/* a 9,014-byte frame in three frames, then the next frame */
	struct sl_xsk_desc three[] = { { 0, FS, C }, { FS, FS, C }, { 2 * FS, 9014 - 2 * FS, 0 },
				       { 3 * FS, 60, 0 } };
	assert_int_equal(span(three, 4, &bad, &skip), 3);
	assert_int_equal(bad, 0);
	/* the chain's end is not on the ring yet: wait */
	assert_int_equal(span(three, 2, &bad, &skip), 0);
}

static void test_too_many_frags(void **state)
{
	int bad;
	bool skip;
	struct sl_xsk_desc d[SL_XSK_MAX_FRAGS + 3];
	for (unsigned i = 0; i < RTE_DIM(d); i++)
		d[i] = (struct sl_xsk_desc){ i * FS, 100, C };
	assert_int_equal(span(d, RTE_DIM(d), &bad, &skip), SL_XSK_MAX_FRAGS + 1);
	assert_int_equal(bad, 1);
	assert_true(skip); /* the rest of the chain is dropped too */
}

static void test_bad_lengths(void **state)
{
	int bad;
	bool skip;
	struct sl_xsk_desc zero[] = { { 0, FS, C }, { FS, 0, 0 } };
	assert_int_equal(span(zero, 2, &bad, &skip), 2);
	assert_int_equal(bad, 2);
	struct sl_xsk_desc over[] = { { 100, FS, 0 } }; /* crosses its frame */
	assert_int_equal(span(over, 1, &bad, &skip), 1);
	assert_int_equal(bad, 2);
	struct sl_xsk_desc outside[] = { { UMEM - 100, 200, 0 } };
	assert_int_equal(span(outside, 1, &bad, &skip), 1);
	assert_int_equal(bad, 2);
	struct sl_xsk_desc runt[] = { { 0, 4, C }, { FS, 4, 0 } }; /* 8 bytes: no Ethernet header */
	assert_int_equal(span(runt, 2, &bad, &skip), 2);
	assert_int_equal(bad, 2);
	/* 17 full frames: 69,632 bytes, more than a 64 KiB IP packet can be */
	struct sl_xsk_desc big[SL_XSK_MAX_FRAGS];
	for (unsigned i = 0; i < RTE_DIM(big); i++)
		big[i] = (struct sl_xsk_desc){ i * FS, FS, i + 1 < RTE_DIM(big) ? C : 0 };
	assert_int_equal(span(big, RTE_DIM(big), &bad, &skip), SL_XSK_MAX_FRAGS);
	assert_int_equal(bad, 2);
	assert_false(skip);
}

static void test_copy_in(void **state)
{
	static uint8_t area[4 * FS];
	for (unsigned i = 0; i < sizeof(area); i++)
		area[i] = (uint8_t)(i * 7 + 3);
	struct sl_xsk_desc d[] = { { 0, FS, C }, { FS, FS, C }, { 2 * FS, 1000, 0 } };
	struct rte_mbuf *m = sl_xsk_copy_in(sl_dp.pool, area, d, 3);
	assert_non_null(m);
	assert_int_equal(rte_pktmbuf_pkt_len(m), 2 * FS + 1000);
	assert_true(m->nb_segs >= 3);
	uint8_t buf[2 * FS + 1000];
	const uint8_t *p = rte_pktmbuf_read(m, 0, sizeof(buf), buf);
	assert_memory_equal(p, area, sizeof(buf));
	rte_pktmbuf_free(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_single_and_chain),
		cmocka_unit_test(test_too_many_frags),
		cmocka_unit_test(test_bad_lengths),
		TH_TEST(test_copy_in),
	};
	return cmocka_run_group_tests(tests, th_setup, NULL);
}
