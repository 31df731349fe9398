/* The control thread's event loop: epoll over file descriptors, plus timers kept in a
 * binary heap whose earliest deadline bounds epoll_wait. Nothing registered on it may block;
 * callbacks do a bounded amount of work and return. Every function here runs on the thread
 * that runs the loop (the control thread), none is safe from a worker. No DPDK.
 *
 * Sources register here: the API socket and its clients (sl_api.c), neighbour upkeep and
 * the persistence retry (sluiced.c); later libcurl's multi handle (CURLMOPT_SOCKETFUNCTION
 * maps to sl_loop_fd_add/_mod/_del, CURLMOPT_TIMERFUNCTION to sl_loop_timer_arm/_cancel)
 * and conntrack ageing. */
#pragma once
#include <stdbool.h>
#include <stdint.h>
#include <sys/epoll.h>

struct sl_loop;
struct sl_loop_fd;

/* Called with the epoll events (EPOLLIN, EPOLLOUT, EPOLLERR, EPOLLHUP...) that fired. */
typedef void (*sl_loop_fd_cb)(struct sl_loop_fd *h, uint32_t events, void *arg);

/* A timer, embedded in its owner's struct. Owners fill nothing: use sl_loop_timer_init. */
struct sl_loop_timer {
	void (*cb)(struct sl_loop_timer *t, void *arg); /* runs once when due */
	void *arg;                                      /* passed to cb */
	uint64_t due_ns;  /* CLOCK_MONOTONIC deadline while armed */
	unsigned heap_i;  /* index in the loop's heap + 1; 0 when not armed */
};

/* A new loop, or NULL (errno set). */
struct sl_loop *sl_loop_create(void);
/* Free the loop. Registered fds are not closed (their owners do that); armed timers are
 * forgotten. */
void sl_loop_destroy(struct sl_loop *l);

/* Watch fd for events (EPOLLIN/EPOLLOUT; level-triggered). The fd stays the caller's.
 * Returns a handle, or NULL with errno set. */
struct sl_loop_fd *sl_loop_fd_add(struct sl_loop *l, int fd, uint32_t events, sl_loop_fd_cb cb,
				  void *arg);
/* Change the events watched. Returns 0 or -errno. */
int sl_loop_fd_mod(struct sl_loop_fd *h, uint32_t events);
/* Stop watching (before closing the fd). Safe from any callback, including h's own: the
 * handle is freed after the current dispatch round, and no further callback runs for it. */
void sl_loop_fd_del(struct sl_loop_fd *h);

/* Prepare t (not armed). */
void sl_loop_timer_init(struct sl_loop_timer *t, void (*cb)(struct sl_loop_timer *, void *),
			void *arg);
/* (Re-)arm t to fire once, delay_ms from now (0: on the next round). */
void sl_loop_timer_arm(struct sl_loop *l, struct sl_loop_timer *t, uint64_t delay_ms);
/* Disarm t; harmless if not armed. Safe from any callback. */
void sl_loop_timer_cancel(struct sl_loop *l, struct sl_loop_timer *t);
static inline bool sl_loop_timer_armed(const struct sl_loop_timer *t) { return t->heap_i != 0; }

/* One round: wait for events (at most max_wait_ms, less if a timer is due sooner; -1: no
 * bound but the timers), run the callbacks of ready fds, then of due timers. A signal
 * interrupts the wait. Returns the number of callbacks run, or -errno. */
int sl_loop_run_once(struct sl_loop *l, int max_wait_ms);

/* What the loop measured since it was created. */
struct sl_loop_stats {
	uint64_t rounds;            /* sl_loop_run_once calls */
	uint64_t max_callback_ns;   /* the longest one callback ran: it held everything else */
	uint64_t max_timer_late_ns; /* the latest a timer ran after its deadline */
};
void sl_loop_get_stats(const struct sl_loop *l, struct sl_loop_stats *ret_stats);

/* CLOCK_MONOTONIC in nanoseconds. */
uint64_t sl_loop_now_ns(void);
