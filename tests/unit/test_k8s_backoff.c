/* The Kubernetes sync's back-off (client-go's reflector: 800 ms doubling to 30 s, jitter,
 * reset after 2 minutes without failure). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "control/sources/k8s/sl_kube_backoff.h"

#define MS 1000000ull
#define S (1000 * MS)

/* Each failure's delay is in [step, step * 1.5) of a step that doubles from 800 ms, and never
 * above 30 s. */
static void test_doubling_with_jitter_capped(void **st)
{
	struct sl_kube_backoff b;
	sl_kube_backoff_init(&b, 42);
	uint64_t t = 1000 * S, step = 800;
	for (int i = 0; i < 12; i++) {
		uint64_t d = sl_kube_backoff_next(&b, t);
		uint64_t hi = step + step / 2 > 30000 ? 30000 : step + step / 2;
		assert_true(d >= (step > 30000 ? 30000 : step));
		assert_true(d <= hi);
		t += d * MS; /* the next failure right after the wait */
		step = step * 2 > 30000 ? 30000 : step * 2;
	}
	assert_int_equal(sl_kube_backoff_next(&b, t), 30000); /* stays capped */
}

/* Two minutes without a failure: back to 800 ms; just under: keeps growing. */
static void test_reset_after_two_minutes(void **st)
{
	struct sl_kube_backoff b;
	sl_kube_backoff_init(&b, 7);
	uint64_t t = 5 * S;
	for (int i = 0; i < 6; i++)
		t += sl_kube_backoff_next(&b, t) * MS;
	sl_kube_backoff_next(&b, t); /* a failure at t */
	uint64_t d = sl_kube_backoff_next(&b, t + 119 * S);
	assert_int_equal(d, 30000); /* 800 << 7, capped */
	d = sl_kube_backoff_next(&b, t + 119 * S + 121 * S);
	assert_true(d >= 800 && d < 1200);
}

/* The jitter spreads two reflectors seeded differently. */
static void test_jitter_differs(void **st)
{
	struct sl_kube_backoff a, b;
	sl_kube_backoff_init(&a, 1);
	sl_kube_backoff_init(&b, 2);
	int same = 0;
	for (int i = 0; i < 5; i++)
		same += sl_kube_backoff_next(&a, (uint64_t)(i + 1) * S) ==
			sl_kube_backoff_next(&b, (uint64_t)(i + 1) * S);
	assert_true(same < 5);
	for (int i = 0; i < 1000; i++) {
		uint64_t v = sl_kube_backoff_rand(&a, 300, 600);
		assert_true(v >= 300 && v < 600);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_doubling_with_jitter_capped),
		cmocka_unit_test(test_reset_after_two_minutes),
		cmocka_unit_test(test_jitter_differs),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
