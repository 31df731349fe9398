/* /metrics (Prometheus text exposition format 0.0.4) and /healthz on a local address, served
 * by the HTTP server on the control loop (core/sl_http.h, libmicrohttpd). Config:
 * "metrics": {"listen": "127.0.0.1:9464"}; absent: no server (docs/kubernetes.md).
 *
 * What /metrics shows comes from collectors that modules register (sl_metrics_register):
 * the dataplane's (ports, drops by reason, graph nodes, conntrack, Services: core/
 * sl_metrics_dp.c) and any other's (the Kubernetes sync's). A collector writes whole
 * families with sl_metrics_family + sl_metrics_sample; each family is written by one
 * collector, its samples right after its header (the format wants a family's lines
 * together). /healthz answers 200 "ok" when every registered health check passes, else 503
 * and the first failing check's reason.
 *
 * Formatting needs no DPDK, server or loop: unit-tested on its own (tests/unit/
 * test_metrics.c). Control thread only: collectors and checks run on it, at request time. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/sl_loop.h"

#define SL_METRICS_MAX_COLLECTORS 16
#define SL_METRICS_MAX_HEALTH 8
#define SL_METRICS_MAX_BYTES (32u << 20) /* a larger exposition is refused (500) */
#define SL_METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

/* Growing text that collectors append to. On allocation failure or past
 * SL_METRICS_MAX_BYTES it stops growing and sets failed; later appends do nothing. */
struct sl_metrics_buf {
	char *text;  /* NUL-terminated (NULL while empty) */
	size_t len;
	size_t cap;
	bool failed;
};

/* Metric types of the 0.0.4 format. */
enum sl_metrics_type { SL_METRICS_COUNTER, SL_METRICS_GAUGE, SL_METRICS_UNTYPED };

/* Start a family: "# HELP name help" (help escaped: '\\' and newline) and "# TYPE name type".
 * name must be a valid metric name ([a-zA-Z_:][a-zA-Z0-9_:]*; counters end in "_total");
 * an invalid one sets b->failed (a bug in the caller, not bad input). */
void sl_metrics_family(struct sl_metrics_buf *b, const char *name, enum sl_metrics_type type,
		       const char *help);
/* One sample "name{l1="v1",...} value". labels: NULL, or label name / value pairs ending in
 * a NULL name; values are escaped ('\\', '"', newline), names must be valid label names.
 * The value is written exactly as an integer when it is one below 2^53, else with 17
 * significant digits; NaN, +Inf, -Inf as the format spells them. */
void sl_metrics_sample(struct sl_metrics_buf *b, const char *name, const char *const *labels,
		       double value);
/* The same with an exact 64-bit integer value (counters past 2^53). */
void sl_metrics_sample_u64(struct sl_metrics_buf *b, const char *name,
			   const char *const *labels, uint64_t value);
/* Append raw bytes (internal; tests). */
void sl_metrics_append(struct sl_metrics_buf *b, const char *s, size_t n);
void sl_metrics_buf_free(struct sl_metrics_buf *b);

/* Whether s is a valid metric name / label name. */
bool sl_metrics_name_ok(const char *s);
bool sl_metrics_label_ok(const char *s);

/* A collector: appends its families to b. */
typedef void (*sl_metrics_collect_fn)(void *arg, struct sl_metrics_buf *b);
/* Add a collector; collectors run in registration order. Returns 0, -EEXIST (fn and arg
 * already registered) or -ENOSPC (SL_METRICS_MAX_COLLECTORS). */
int sl_metrics_register(sl_metrics_collect_fn fn, void *arg);
/* Remove a collector (nothing when absent). */
void sl_metrics_unregister(sl_metrics_collect_fn fn, void *arg);

/* A health check: NULL when healthy, else why not (a static or arg-owned string). */
typedef const char *(*sl_metrics_health_fn)(void *arg);
/* Add a health check for /healthz. Returns 0, -EEXIST or -ENOSPC. */
int sl_metrics_health_register(sl_metrics_health_fn fn, void *arg);
void sl_metrics_health_unregister(sl_metrics_health_fn fn, void *arg);

/* Run every collector into a new buffer (free with sl_metrics_buf_free). */
void sl_metrics_collect(struct sl_metrics_buf *ret);
/* Run the health checks: NULL when all pass, else the first failure's reason. */
const char *sl_metrics_health(void);

/* Serve /metrics and /healthz on addr:port (network order addr, host order port; 0: any
 * free port, see sl_metrics_port) on loop l. Other paths get 404, other methods than GET
 * and HEAD 405. Returns 0 or -errno with err naming the address. Once. */
int sl_metrics_start(struct sl_loop *l, uint32_t addr, uint16_t port, char *err,
		     size_t errlen);
/* The port the server listens on (0: not started). */
uint16_t sl_metrics_port(void);
/* Stop the server (before the loop is destroyed; nothing when not started). Collectors and
 * health checks stay registered. */
void sl_metrics_stop(void);
/* Forget every collector and health check (tests). */
void sl_metrics_reset(void);
