/* The health-check NodePort of Services with externalTrafficPolicy Local, answered as
 * kube-proxy's service health server does (pkg/proxy/healthcheck/service_health.go): for
 * every LoadBalancer Service with externalTrafficPolicy Local and a
 * spec.healthCheckNodePort (kube-proxy's NeedsHealthCheck), an HTTP server (core/sl_http.h)
 * on 0.0.0.0:healthCheckNodePort in sluiced's network namespace, the node's kernel side:
 * the node address reaches it through the host port. Any method, any path:
 *   200 when the Service has ready endpoints on this node, else 503;
 *   Content-Type: application/json, X-Content-Type-Options: nosniff,
 *   X-Load-Balancing-Endpoint-Weight: N;
 *   {"service": {"namespace": NS, "name": NAME}, "localEndpoints": N,
 *    "serviceProxyHealthy": true}   (kube-proxy's layout, tabs and all).
 * N counts distinct addresses of this node's ready endpoints over all the Service's ports
 * (kube-proxy's EndpointsMap.LocalReadyEndpoints: terminating-only nodes answer 503).
 * serviceProxyHealthy is always true: sluiced answers only while its loop runs.
 *
 * The listener opens when such a Service appears, closes when it goes or stops needing
 * one, and moves when the port changes. A port that cannot be bound (another process has
 * it) is logged once and counted (bind_failed); the Service still applies, and the bind is
 * retried every 5 s (kube-proxy retries on each sync). Control thread only; no DPDK. */
#pragma once
#include <stdint.h>

#include "core/sl_loop.h"
#include "model/sl_service.h"

#define SL_HC_RETRY_MS 5000

/* Whether Service s gets a health-check server (kube-proxy's NeedsHealthCheck plus a
 * port): type LoadBalancer, externalTrafficPolicy Local, healthCheckNodePort set. */
bool sl_healthcheck_wanted(const struct sl_svc_spec *s);
/* The Service's local ready endpoints as kube-proxy counts them: distinct addresses of
 * the endpoints with ready true on this node, over all its ports. */
unsigned sl_healthcheck_local_endpoints(const struct sl_svc_view *v);
/* kube-proxy's reply body for Service ns/name with n local endpoints, into buf (NUL
 * terminated). Returns its length, or -ENOSPC when it does not fit. */
int sl_healthcheck_body(const char *ns, const char *name, unsigned n, char *buf, size_t len);

/* The Services reconciler's calls (lb/sl_lbctl.c): v applied (open, move or close its
 * server; update its count), ms deleted (close). Before sl_healthcheck_start they only
 * record; the servers open at start. */
void sl_healthcheck_update(const struct sl_svc_view *v);
void sl_healthcheck_remove(const struct sl_model_svc *ms);

/* Serve on loop l: open the servers of the Services recorded so far. */
void sl_healthcheck_start(struct sl_loop *l);
/* Close every server (before the loop is destroyed); Services are still recorded until
 * removed, and nothing opens again. Harmless when not started. */
void sl_healthcheck_stop(void);

struct sl_healthcheck_stats {
	unsigned services;   /* Services that want a health-check port */
	unsigned listening;  /* of them, with their port open */
	uint64_t bind_failed; /* times a Service's port could not be bound (once per port) */
	uint64_t requests;   /* requests answered */
};
void sl_healthcheck_get_stats(struct sl_healthcheck_stats *ret_stats);
