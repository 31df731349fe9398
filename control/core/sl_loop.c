/* The control thread's event loop (see sl_loop.h). */
#include <errno.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "sl_loop.h"

#define EVENTS_PER_ROUND 64

struct sl_loop_fd {
	struct sl_loop *loop;
	int fd;
	sl_loop_fd_cb cb; /* NULL once deleted: no more callbacks */
	void *arg;
	struct sl_loop_fd *next_dead; /* on the loop's list of handles to free */
};

struct sl_loop {
	int epfd;
	struct sl_loop_timer **heap; /* min-heap on due_ns */
	unsigned n_timers, cap_timers;
	struct sl_loop_fd *dead; /* deleted handles, freed at the end of a round */
	struct sl_loop_stats stats;
};

void sl_loop_get_stats(const struct sl_loop *l, struct sl_loop_stats *ret_stats)
{
	*ret_stats = l->stats;
}

static void account(struct sl_loop *l, uint64_t t0)
{
	uint64_t dt = sl_loop_now_ns() - t0;
	if (dt > l->stats.max_callback_ns)
		l->stats.max_callback_ns = dt;
}

uint64_t sl_loop_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

struct sl_loop *sl_loop_create(void)
{
	struct sl_loop *l = calloc(1, sizeof(*l));
	if (!l)
		return NULL;
	l->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (l->epfd < 0) {
		int e = errno;
		free(l);
		errno = e;
		return NULL;
	}
	return l;
}

static void free_dead(struct sl_loop *l)
{
	while (l->dead) {
		struct sl_loop_fd *h = l->dead;
		l->dead = h->next_dead;
		free(h);
	}
}

void sl_loop_destroy(struct sl_loop *l)
{
	if (!l)
		return;
	for (unsigned i = 0; i < l->n_timers; i++)
		l->heap[i]->heap_i = 0;
	free_dead(l);
	close(l->epfd);
	free(l->heap);
	free(l);
}

struct sl_loop_fd *sl_loop_fd_add(struct sl_loop *l, int fd, uint32_t events, sl_loop_fd_cb cb,
				  void *arg)
{
	struct sl_loop_fd *h = calloc(1, sizeof(*h));
	if (!h)
		return NULL;
	*h = (struct sl_loop_fd){ .loop = l, .fd = fd, .cb = cb, .arg = arg };
	struct epoll_event ev = { .events = events, .data.ptr = h };
	if (epoll_ctl(l->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
		int e = errno;
		free(h);
		errno = e;
		return NULL;
	}
	return h;
}

int sl_loop_fd_mod(struct sl_loop_fd *h, uint32_t events)
{
	struct epoll_event ev = { .events = events, .data.ptr = h };
	return epoll_ctl(h->loop->epfd, EPOLL_CTL_MOD, h->fd, &ev) < 0 ? -errno : 0;
}

void sl_loop_fd_del(struct sl_loop_fd *h)
{
	if (!h || !h->cb)
		return;
	epoll_ctl(h->loop->epfd, EPOLL_CTL_DEL, h->fd, NULL);
	h->cb = NULL; /* an event of this round already fetched for h is skipped */
	h->next_dead = h->loop->dead;
	h->loop->dead = h;
}

/* Timer heap: heap_i is the 1-based slot, 0 = not armed. */
static void heap_set(struct sl_loop *l, unsigned i, struct sl_loop_timer *t)
{
	l->heap[i] = t;
	t->heap_i = i + 1;
}

static void heap_up(struct sl_loop *l, unsigned i)
{
	struct sl_loop_timer *t = l->heap[i];
	while (i > 0) {
		unsigned p = (i - 1) / 2;
		if (l->heap[p]->due_ns <= t->due_ns)
			break;
		heap_set(l, i, l->heap[p]);
		i = p;
	}
	heap_set(l, i, t);
}

static void heap_down(struct sl_loop *l, unsigned i)
{
	struct sl_loop_timer *t = l->heap[i];
	for (;;) {
		unsigned c = 2 * i + 1;
		if (c >= l->n_timers)
			break;
		if (c + 1 < l->n_timers && l->heap[c + 1]->due_ns < l->heap[c]->due_ns)
			c++;
		if (t->due_ns <= l->heap[c]->due_ns)
			break;
		heap_set(l, i, l->heap[c]);
		i = c;
	}
	heap_set(l, i, t);
}

void sl_loop_timer_init(struct sl_loop_timer *t, void (*cb)(struct sl_loop_timer *, void *),
			void *arg)
{
	*t = (struct sl_loop_timer){ .cb = cb, .arg = arg };
}

void sl_loop_timer_cancel(struct sl_loop *l, struct sl_loop_timer *t)
{
	if (!t->heap_i)
		return;
	unsigned i = t->heap_i - 1;
	t->heap_i = 0;
	struct sl_loop_timer *last = l->heap[--l->n_timers];
	if (i == l->n_timers)
		return;
	heap_set(l, i, last);
	if (i > 0 && l->heap[(i - 1) / 2]->due_ns > last->due_ns)
		heap_up(l, i);
	else
		heap_down(l, i);
}

void sl_loop_timer_arm(struct sl_loop *l, struct sl_loop_timer *t, uint64_t delay_ms)
{
	sl_loop_timer_cancel(l, t);
	if (l->n_timers == l->cap_timers) {
		unsigned cap = l->cap_timers ? 2 * l->cap_timers : 16;
		struct sl_loop_timer **h = realloc(l->heap, cap * sizeof(*h));
		if (!h)
			abort(); /* a few pointers: out of memory here is not recoverable */
		l->heap = h;
		l->cap_timers = cap;
	}
	t->due_ns = sl_loop_now_ns() + delay_ms * 1000000u;
	heap_set(l, l->n_timers++, t);
	heap_up(l, l->n_timers - 1);
}

int sl_loop_run_once(struct sl_loop *l, int max_wait_ms)
{
	int wait = max_wait_ms;
	if (l->n_timers) {
		uint64_t now = sl_loop_now_ns(), due = l->heap[0]->due_ns;
		/* Round up: waking a little late is fine, waking early spins. */
		uint64_t ms = due > now ? (due - now + 999999) / 1000000 : 0;
		if (wait < 0 || ms < (uint64_t)wait)
			wait = (int)(ms > 60000 ? 60000 : ms);
	}
	l->stats.rounds++;
	struct epoll_event ev[EVENTS_PER_ROUND];
	int n = epoll_wait(l->epfd, ev, EVENTS_PER_ROUND, wait);
	if (n < 0 && errno != EINTR)
		return -errno;
	int ran = 0;
	for (int i = 0; i < n; i++) {
		struct sl_loop_fd *h = ev[i].data.ptr;
		if (h->cb) {
			uint64_t t0 = sl_loop_now_ns();
			h->cb(h, ev[i].events, h->arg);
			account(l, t0);
			ran++;
		}
	}
	/* Timers due now; one armed by a callback for "now" runs in the next round, so a
	 * timer re-arming itself with delay 0 cannot starve the fds. */
	uint64_t now = sl_loop_now_ns();
	unsigned budget = l->n_timers;
	while (budget-- && l->n_timers && l->heap[0]->due_ns <= now) {
		struct sl_loop_timer *t = l->heap[0];
		uint64_t t0 = sl_loop_now_ns();
		if (t0 - t->due_ns > l->stats.max_timer_late_ns && t0 > t->due_ns)
			l->stats.max_timer_late_ns = t0 - t->due_ns;
		sl_loop_timer_cancel(l, t);
		t->cb(t, t->arg);
		account(l, t0);
		ran++;
	}
	free_dead(l);
	return ran;
}
