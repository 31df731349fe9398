/* A small HTTP/1.1 server on the control thread's event loop (core/sl_loop.h), built on
 * libmicrohttpd in its external-epoll mode: MHD's epoll fd is watched by the loop, MHD_run
 * is called when it is readable and when MHD's own timeout (from MHD_get_timeout) falls
 * due. No thread of its own, nothing blocks. Used by the Services' health-check ports
 * (lb/sl_healthcheck.c); later /healthz and /metrics.
 *
 * Every resource a client controls is bounded (sl_http_conf): connections in all and per
 * client address, the idle time of a connection, the memory of one connection (request
 * line and headers beyond it get 431/413 from MHD); request bodies are never read.
 * Control thread only; no DPDK. */
#pragma once
#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/sl_loop.h"

#define SL_HTTP_MAX_HEADERS 4

/* What a handler answers. The server fills status 200, no body, no headers first. */
struct sl_http_reply {
	unsigned status;          /* HTTP status code */
	const char *content_type; /* Content-Type; NULL: none */
	struct {
		const char *name;     /* a constant string */
		char value[64];
	} hdr[SL_HTTP_MAX_HEADERS]; /* extra headers, n_hdr of them */
	unsigned n_hdr;
	char *body;               /* copied by the server, or taken (body_free: free()d) */
	size_t len;
	bool body_free;           /* body came from malloc and the server frees it */
};

/* Called once per request (any method, any path: the handler decides), on the control
 * thread from within the loop. Fills r. Must not stop its own server. */
typedef void (*sl_http_handler)(void *arg, const char *method, const char *path,
				struct sl_http_reply *r);

struct sl_http_conf {
	struct in_addr addr;       /* listen address (INADDR_ANY: all) */
	uint16_t port;             /* listen port (0: any, see sl_http_port) */
	unsigned max_conns;        /* open connections at once (0: 64) */
	unsigned max_conns_per_ip; /* of them from one client address (0: 16) */
	unsigned timeout_s;        /* a connection idle this long is closed (0: 10) */
	size_t conn_memory;        /* memory of one connection, request headers included
				    * (0: 16 KiB) */
	sl_http_handler handler;
	void *arg;                 /* passed to handler */
};

/* What one server counted since it started. */
struct sl_http_stats {
	uint64_t connections; /* accepted */
	uint64_t requests;    /* answered by the handler */
	uint64_t failed;      /* replies that could not be queued (out of memory) */
};

struct sl_http;

/* Listen on c->addr:c->port and serve on loop l. Returns 0 and *ret, or -errno with err
 * saying why ("cannot listen on 0.0.0.0:32000: Address already in use"). Control thread. */
int sl_http_start(struct sl_loop *l, const struct sl_http_conf *c, struct sl_http **ret,
		  char *err, size_t errlen);
/* Close the listening socket and every connection, free h (NULL: nothing). Not from h's
 * own handler. Control thread. */
void sl_http_stop(struct sl_http *h);
/* The port h listens on (the one picked when conf.port was 0). */
uint16_t sl_http_port(const struct sl_http *h);
void sl_http_get_stats(const struct sl_http *h, struct sl_http_stats *ret_stats);
