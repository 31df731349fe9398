/* hostPort natively (see sl_hostport.h). */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "dataplane/lb/lb_table.h"
#include "sl_hostport.h"
#include "sl_lbctl.h"
#include "sl_node_local.h"

static struct {
	uint32_t node_ip; /* network order */
	int (*inner_add)(void *ctx, struct sl_model_pod *p, char *err, size_t errlen);
	void (*inner_del)(void *ctx, struct sl_model_pod *p);
	uint8_t used[65536]; /* installed host ports: a bit per protocol (bit()) */
} hp;

#define ERR(...) snprintf(err, errlen, __VA_ARGS__)

static uint8_t bit(uint8_t proto)
{
	return proto == IPPROTO_TCP ? 1 : proto == IPPROTO_UDP ? 2 : 4;
}

static struct sl_lb_frontend frontend(const struct sl_host_port *h)
{
	return (struct sl_lb_frontend){ .vip = hp.node_ip, .port = htons(h->host_port),
					.proto = h->protocol };
}

bool sl_hostport_holds(const struct sl_lb_frontend *fe)
{
	return hp.node_ip && fe->vip == hp.node_ip && (hp.used[ntohs(fe->port)] & bit(fe->proto));
}

/* Remove the first n host ports of pod s. */
static void uninstall(const struct sl_pod_spec *s, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		const struct sl_host_port *h = &s->host_ports[i];
		struct sl_lb_frontend fe = frontend(h);
		if (!sl_hostport_holds(&fe))
			continue;
		const struct sl_lb_service *old = sl_lb_service_find(&fe);
		if (old && h->protocol == IPPROTO_UDP) /* no end of flow: its flows go now */
			sl_ct_flush_backend(s->ip.v4, htons(h->container_port));
		sl_lb_service_del(&fe);
		sl_node_local_del(fe.vip, fe.port, fe.proto);
		sl_node_local_del(htonl(INADDR_LOOPBACK), fe.port, fe.proto);
		hp.used[h->host_port] &= (uint8_t)~bit(h->protocol);
	}
}

static int install(const struct sl_pod_spec *s, char *err, size_t errlen)
{
	char b[SL_IP_STR_MAX];
	int rc;
	if (!s->n_host_ports)
		return 0;
	if (!hp.node_ip)
		return ERR("host_ports: this node has no address for host ports"), -EINVAL;
	if ((rc = sl_lbctl_tables_up(err, errlen)) < 0)
		return rc;
	for (unsigned i = 0; i < s->n_host_ports; i++) {
		const struct sl_host_port *h = &s->host_ports[i];
		struct sl_lb_frontend fe = frontend(h);
		if (sl_lb_service_find(&fe)) {
			uninstall(s, i);
			return ERR("host_ports[%u].host_port: %s:%u/%s is already a Service's frontend "
				   "(a node port or an external IP)", i,
				   sl_ip_fmt(sl_ip4(hp.node_ip), b), h->host_port,
				   sl_host_proto_name(h->protocol)), -EEXIST;
		}
		struct sl_lb_backend be = { .ip = s->ip.v4, .port = htons(h->container_port) };
		if ((rc = sl_lb_service_set(&fe, &be, 1, 0)) < 0) {
			uninstall(s, i);
			return ERR("host_ports[%u]: cannot program %s:%u/%s: %s", i,
				   sl_ip_fmt(sl_ip4(hp.node_ip), b), h->host_port,
				   sl_host_proto_name(h->protocol), strerror(-rc)), rc;
		}
		hp.used[h->host_port] |= bit(h->protocol);
		/* The node's own processes, at its address or 127.0.0.1 (portmap's OUTPUT rules
		 * serve both): straight to the pod (sl_node_local.h). */
		sl_node_local_add(fe.vip, fe.port, fe.proto, be.ip, be.port);
		sl_node_local_add(htonl(INADDR_LOOPBACK), fe.port, fe.proto, be.ip, be.port);
	}
	return 0;
}

static int pod_add(void *ctx, struct sl_model_pod *p, char *err, size_t errlen)
{
	int rc = hp.inner_add ? hp.inner_add(ctx, p, err, errlen) : 0;
	if (rc < 0)
		return rc;
	if ((rc = install(&p->spec, err, errlen)) < 0 && hp.inner_del)
		hp.inner_del(ctx, p);
	return rc;
}

static void pod_del(void *ctx, struct sl_model_pod *p)
{
	uninstall(&p->spec, p->spec.n_host_ports);
	if (hp.inner_del)
		hp.inner_del(ctx, p);
}

void sl_hostport_hooks(struct sl_model_hooks *h, uint32_t node_ip)
{
	hp.node_ip = node_ip;
	hp.inner_add = h->pod_add;
	hp.inner_del = h->pod_del;
	h->pod_add = pod_add;
	h->pod_del = pod_del;
}
