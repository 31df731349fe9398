/* The control thread's event loop: timers fire in deadline order, once, never early; a
 * cancelled timer does not fire; fd callbacks see their events; a handle deleted from a
 * callback gets no further callback, in the same round or later. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "control/core/sl_loop.h"

static char order[64];

static void mark(struct sl_loop_timer *t, void *arg)
{
	strncat(order, arg, sizeof(order) - strlen(order) - 1);
}

static void run_until_idle(struct sl_loop *l, int rounds)
{
	for (int i = 0; i < rounds; i++)
		sl_loop_run_once(l, 5);
}

static void test_timers_order_and_cancel(void **s)
{
	struct sl_loop *l = sl_loop_create();
	assert_non_null(l);
	struct sl_loop_timer t[6];
	static const char *names[6] = { "a", "b", "c", "d", "e", "f" };
	static const unsigned delay[6] = { 30, 10, 20, 0, 40, 25 };
	order[0] = 0;
	for (int i = 0; i < 6; i++) {
		sl_loop_timer_init(&t[i], mark, (void *)names[i]);
		sl_loop_timer_arm(l, &t[i], delay[i]);
	}
	sl_loop_timer_cancel(l, &t[5]); /* f */
	sl_loop_timer_arm(l, &t[2], 35); /* c moves after a */
	assert_true(sl_loop_timer_armed(&t[0]));
	assert_false(sl_loop_timer_armed(&t[5]));
	uint64_t t0 = sl_loop_now_ns();
	while (strlen(order) < 5 && sl_loop_now_ns() - t0 < 2000000000ull)
		sl_loop_run_once(l, 100);
	assert_string_equal(order, "dbace");
	assert_true(sl_loop_now_ns() - t0 >= 40000000ull); /* e was not early */
	run_until_idle(l, 5);
	assert_string_equal(order, "dbace"); /* each once */
	for (int i = 0; i < 6; i++)
		assert_false(sl_loop_timer_armed(&t[i]));
	sl_loop_destroy(l);
}

/* Many timers, armed and cancelled in a scrambled order: the heap stays ordered. */
static uint64_t last_due;
static int fired, out_of_order;

static void check_order(struct sl_loop_timer *t, void *arg)
{
	if (t->due_ns < last_due)
		out_of_order++;
	last_due = t->due_ns;
	fired++;
}

static void test_timer_heap(void **s)
{
	struct sl_loop *l = sl_loop_create();
	static struct sl_loop_timer t[200];
	for (unsigned i = 0; i < 200; i++) {
		sl_loop_timer_init(&t[i], check_order, NULL);
		sl_loop_timer_arm(l, &t[i], (i * 37) % 50);
	}
	for (unsigned i = 0; i < 200; i += 3)
		sl_loop_timer_cancel(l, &t[i]);
	uint64_t t0 = sl_loop_now_ns();
	while (fired < 133 && sl_loop_now_ns() - t0 < 2000000000ull)
		sl_loop_run_once(l, 100);
	assert_int_equal(fired, 133);
	assert_int_equal(out_of_order, 0);
	sl_loop_destroy(l);
}

struct pair {
	int fd[2];
	struct sl_loop_fd *h;
	int calls;
	uint32_t events;
	struct pair *victim; /* deleted by this one's callback */
};

static void on_fd(struct sl_loop_fd *h, uint32_t events, void *arg)
{
	struct pair *p = arg;
	p->calls++;
	p->events = events;
	char b[16];
	(void)!read(p->fd[0], b, sizeof(b));
	if (p->victim) {
		sl_loop_fd_del(p->victim->h);
		sl_loop_fd_del(h); /* itself too */
	}
}

static void test_fds(void **s)
{
	struct sl_loop *l = sl_loop_create();
	struct pair a = { 0 }, b = { 0 };
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, a.fd), 0);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, b.fd), 0);
	a.h = sl_loop_fd_add(l, a.fd[0], EPOLLIN, on_fd, &a);
	b.h = sl_loop_fd_add(l, b.fd[0], EPOLLIN, on_fd, &b);
	assert_non_null(a.h);
	assert_non_null(b.h);
	assert_int_equal(sl_loop_run_once(l, 0), 0); /* nothing ready */
	assert_int_equal(write(a.fd[1], "x", 1), 1);
	assert_int_equal(sl_loop_run_once(l, 100), 1);
	assert_int_equal(a.calls, 1);
	assert_true(a.events & EPOLLIN);
	/* Writable: EPOLLOUT once asked for. */
	assert_int_equal(sl_loop_fd_mod(a.h, EPOLLOUT), 0);
	assert_int_equal(sl_loop_run_once(l, 100), 1);
	assert_true(a.events & EPOLLOUT);
	assert_int_equal(sl_loop_fd_mod(a.h, EPOLLIN), 0);
	/* Both ready in one round; whichever runs first deletes both: one callback only. */
	a.victim = &b;
	b.victim = &a;
	assert_int_equal(write(a.fd[1], "x", 1), 1);
	assert_int_equal(write(b.fd[1], "x", 1), 1);
	assert_int_equal(sl_loop_run_once(l, 100), 1);
	assert_int_equal(a.calls + b.calls, 2 + 1);
	assert_int_equal(write(a.fd[1], "x", 1), 1);
	assert_int_equal(sl_loop_run_once(l, 20), 0);
	for (int i = 0; i < 2; i++) {
		close(a.fd[i]);
		close(b.fd[i]);
	}
	sl_loop_destroy(l);
}

/* A timer re-arming itself with delay 0 runs once per round, not forever. */
static int spins;
static struct sl_loop *spin_loop;

static void spin(struct sl_loop_timer *t, void *arg)
{
	spins++;
	sl_loop_timer_arm(spin_loop, t, 0);
}

static void test_timer_rearm_zero(void **s)
{
	spin_loop = sl_loop_create();
	struct sl_loop_timer t;
	sl_loop_timer_init(&t, spin, NULL);
	sl_loop_timer_arm(spin_loop, &t, 0);
	for (int i = 0; i < 10; i++)
		sl_loop_run_once(spin_loop, 100);
	assert_true(spins >= 5 && spins <= 10);
	sl_loop_destroy(spin_loop);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_timers_order_and_cancel),
		cmocka_unit_test(test_timer_heap),
		cmocka_unit_test(test_fds),
		cmocka_unit_test(test_timer_rearm_zero),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
