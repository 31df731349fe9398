/* The reconciler (see sl_net.h): model hooks -> ports, next hops, FIB. */
#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "drivers/sl_tap.h"
#include "drivers/sl_vhost.h"
#include "drivers/sl_xsk.h"
#include "sl_net.h"
#include "sl_ports.h"

/* What the tables hold for one model object (its dp pointer). */
struct net_pod {
	uint16_t port;
	int nh;
};

struct net_node {
	int nh_vxlan; /* pod CIDR -> VXLAN to the node */
	int nh_ip;    /* node address -> plain IP on the uplink */
	int neigh;
};

struct net_route {
	int nh;
	int neigh;
};

static struct {
	struct sl_config conf; /* without the pod/node/route lists */
	unsigned n_pods;       /* pods with a port */
	struct sl_tap_attach_stats tap_attach;
} net;

#define ERR(...) snprintf(err, errlen, __VA_ARGS__)

static int fib_set(struct sl_cidr c, int64_t nh)
{
	return sl_fib_set(ntohl(c.addr.v4), c.len, nh);
}

static int add_nh(const struct sl_nh *nh, char *err, size_t errlen)
{
	int idx = sl_nh_alloc(nh);
	if (idx < 0)
		ERR("no free next-hop slot (table of %u, sized by limits.nodes and limits.routes)",
		    sl_dp.nh_max);
	return idx;
}

/* Pods. */

/* Open a tap pod's tap, as sl_port_set_tap says. */
static int tap_open(const struct sl_pod_spec *s, struct sl_port *port, const char **why)
{
	struct sl_tap *q[SL_TAP_MAX_QUEUES];
	int rc = sl_tap_open(s->ifname, net.conf.tap_offload, s->mac, net.conf.pod_mtu,
			     sl_dp.n_workers, sl_dp.pool, q, why);
	return rc < 0 ? rc : sl_port_set_tap(port, q, sl_dp.n_workers);
}

/* Re-attach to a tap pod's tap (sl_tap_reattach), as sl_port_set_tap says. */
static int tap_reattach(const char *netns, uint64_t cookie, uint32_t ifindex,
			const struct sl_pod_spec *s, struct sl_port *port, bool *in_pod,
			const char **why)
{
	struct sl_tap *q[SL_TAP_MAX_QUEUES];
	unsigned n;
	int rc = sl_tap_reattach(netns, cookie, ifindex, s->ifname, s->mac, net.conf.tap_offload,
				 sl_dp.n_workers, sl_dp.pool, q, &n, in_pod, why);
	return rc < 0 ? rc : sl_port_set_tap(port, q, n);
}

/* Open the pod's AF_XDP socket, vhost-user socket or tap device into port. A pod deleted a moment ago
 * may still hold the same interface until its grace period ends: then wait for it once. */
static int open_pod_port(const struct sl_pod_spec *s, struct sl_port *port, char *err,
			 size_t errlen)
{
	/* A deleted vhost-user port unregisters its socket path when it closes: close it
	 * first, so that it cannot remove a socket this pod is about to create at that path. */
	if (s->vhost && sl_port_vhost_closing())
		sl_dp_drain();
	for (int attempt = 0;; attempt++) {
		const char *why = "", *note = NULL;
		int rc = s->vhost ? sl_vhost_open(s->socket, !s->vhost_server, &port->vhost, &why)
			 : s->tap ? tap_open(s, port, &why)
				  : sl_xsk_open(s->ifname, net.conf.xsk_multi_buffer,
						net.conf.xsk_skb_mode, &port->xsk,
						&why, &note);
		if (note) /* once per pod: a kernel that lacks it lacks it for every pod */
			fprintf(stderr, "sluiced: pod port %s: AF_XDP large-frame path reduced: %s\n",
				s->ifname, note);
		if (rc >= 0)
			return 0;
		if (attempt == 0 && sl_dp.deferred_pending) {
			sl_dp_drain();
			continue;
		}
		if (s->vhost)
			return ERR("socket: cannot open %s: %s (%s)", s->socket, why, strerror(-rc)),
			       rc;
		return ERR("ifname: cannot %s %s: %s (%s)", s->tap ? "create tap" : "attach",
			   s->ifname, why, strerror(-rc)), rc;
	}
}

/* Open the port of tap pod s that has a namespace (drivers/sl_tap.h, "Surviving a
 * restart"): re-attach to its tap when s holds what an earlier sluiced learned (the state
 * file); else create the tap, make it persistent and learn the namespace's cookie and the
 * tap's ifindex into s (the state file then has them). *ret_made: a persistent tap was
 * created (to be un-persisted if the pod fails further on). */
static int tap_pod_open(struct sl_pod_spec *s, struct sl_port *port, bool *ret_made, char *err,
			size_t errlen)
{
	const char *why = "";
	bool in_pod;
	int rc;
	*ret_made = false;
	if (s->tap_ifindex) {
		rc = tap_reattach(s->netns, s->netns_cookie, s->tap_ifindex, s, port, &in_pod, &why);
		if (rc < 0) {
			bool gone = rc == -ENOENT || rc == -ENODEV;
			if (gone)
				net.tap_attach.gone++;
			else
				net.tap_attach.refused++;
			fprintf(stderr, "sluiced: tap pod %s/%s %s: netns %s, tap ifindex %u: %s "
				"(%s)\n", s->namespace, s->name,
				gone ? "dropped" : "refused", s->netns, s->tap_ifindex, why,
				strerror(-rc));
			return ERR("netns: cannot re-attach the tap (ifindex %u in %s): %s (%s)",
				   s->tap_ifindex, s->netns, why, strerror(-rc)), rc;
		}
		net.tap_attach.reattached++;
		printf("sluiced: tap pod %s/%s: re-attached to its tap (ifindex %u, %s)\n",
		       s->namespace, s->name, s->tap_ifindex,
		       in_pod ? "in the pod's namespace" : "still in sluiced's namespace");
		fflush(stdout);
		return 0;
	}
	uint64_t cookie;
	if ((rc = sl_tap_netns_cookie(s->netns, &cookie, &why)) == -ENOENT) {
		/* sluiced cannot see the path (a container without the host's /var/run/netns
		 * mounted, deploy/sluice-daemonset.yaml): the pod works, without persistence. */
		fprintf(stderr, "sluiced: tap pod %s/%s: netns %s: %s here: the tap will not "
			"outlive sluiced (mount the runtime's netns directory into sluiced's "
			"mount namespace)\n", s->namespace, s->name, s->netns, why);
		s->netns[0] = '\0';
		return open_pod_port(s, port, err, errlen);
	}
	if (rc == -ENOPROTOOPT || rc == -EPERM || rc == -EACCES) {
		/* This sluiced cannot learn the cookie (Linux before 5.14 has no
		 * SO_NETNS_COOKIE) or may not enter the namespace: not the pod's fault, so the
		 * pod works, without persistence, as above. */
		fprintf(stderr, "sluiced: tap pod %s/%s: netns %s: %s (%s): the tap will not "
			"outlive sluiced\n", s->namespace, s->name, s->netns, why, strerror(-rc));
		s->netns[0] = '\0';
		return open_pod_port(s, port, err, errlen);
	}
	if (rc < 0)
		return ERR("netns: %s: %s (%s)", s->netns, why, strerror(-rc)), rc;
	/* This pod's persistent tap, left in sluiced's namespace by a sluiced killed after
	 * making it and before saving the pod (the CNI then never got the reply, and its retry
	 * comes here): taken over, else the name stays taken for good. */
	uint32_t left = if_nametoindex(s->ifname);
	if (left && tap_reattach(NULL, 0, left, s, port, &in_pod, &why) == 0) {
		printf("sluiced: tap pod %s/%s: took over its tap %s a killed sluiced left\n",
		       s->namespace, s->name, s->ifname);
		fflush(stdout);
	} else if ((rc = open_pod_port(s, port, err, errlen)) < 0) {
		return rc;
	}
	if ((rc = sl_tap_set_persist(port->tap, true)) < 0)
		return ERR("ifname: cannot make the tap persistent: %s", strerror(-rc)), rc;
	*ret_made = true;
	s->netns_cookie = cookie;
	s->tap_ifindex = sl_tap_ifindex(port->tap);
	return 0;
}

static int pod_add(void *ctx, struct sl_model_pod *mp, char *err, size_t errlen)
{
	const struct sl_pod_spec *s = &mp->spec;
	bool made = false; /* a persistent tap created: undone on failure */
	struct net_pod *np = calloc(1, sizeof(*np));
	uint16_t id = net.n_pods < SL_MAX_PODS ? sl_port_free_id() : 0;
	if (!np || !id) {
		free(np);
		return np ? ERR("pod limit reached (%d)", SL_MAX_PODS) : ERR("out of memory"),
		       np ? -ENOSPC : -ENOMEM;
	}
	struct sl_port *port = sl_port_new(id, s->vhost ? SL_PORT_VHOST
					   : s->tap ? SL_PORT_TAP : SL_PORT_XSK, s->ifname);
	int rc = port ? 0 : -ENOMEM;
	if (rc < 0 || (rc = s->tap && s->netns[0] ? tap_pod_open(&mp->spec, port, &made, err, errlen)
						 : open_pod_port(s, port, err, errlen)) < 0)
		goto fail;
	/* Only the owner sends, and the others hand off, unless each worker has a queue. */
	if (!port->tap_queue && (rc = sl_port_add_tx_ring(port)) < 0) {
		ERR("cannot create TX ring");
		goto fail;
	}
	if (port->xsk)
		sl_xsk_mac(port->xsk, &port->mac);
	else if (port->tap)
		port->mac = sl_dp.conf.gw_mac; /* no host end: the gateway's, as pods see it */
	else
		memcpy(&port->mac, s->mac, 6); /* the pod's own virtio MAC */
	port->mtu = net.conf.pod_mtu;
	port->whole_chains = port->xsk != NULL || port->tap != NULL;
	/* Tap pods with offloads take GSO frames whole (drivers/sl_tap.h). */
	port->gso_tx = port->tap && sl_tap_offload(port->tap);
	/* In "skb" mode sluice-cni leaves the pod's checksum offload (and GSO) on: complete
	 * partial checksums, and cut GSO frames once (port-rx, ip4-segment). */
	port->csum_partial = port->xsk != NULL && net.conf.xsk_skb_mode;
	port->owner = sl_port_least_loaded_worker();
	port->pod_ip = s->ip.v4; /* anti-spoofing: the only source the pod may use */
	memcpy(&port->pod_mac, s->mac, 6);

	struct sl_nh nh = { .type = SL_NH_POD, .port = id, .mtu = net.conf.pod_mtu };
	memcpy(&nh.mac, s->mac, 6);
	if ((rc = np->nh = add_nh(&nh, err, errlen)) < 0)
		goto fail;
	if (port->tap && (rc = sl_port_tap_poll(port, true)) < 0) {
		ERR("ifname: cannot poll the tap: %s", strerror(-rc));
		sl_nh_free((uint32_t)np->nh);
		goto fail;
	}
	if ((rc = sl_port_publish(port)) < 0 ||
	    (rc = fib_set(sl_cidr_host(s->ip), np->nh)) < 0) {
		ERR("ip: cannot route the pod: %s", strerror(-rc));
		if (port->tap)
			sl_port_tap_poll(port, false);
		if (made)
			sl_tap_set_persist(port->tap, false);
		sl_port_unpublish(port);
		sl_nh_free((uint32_t)np->nh);
		free(np);
		return rc;
	}
	np->port = id;
	mp->dp = np;
	net.n_pods++;
	return 0;
fail:
	if (rc == -ENOMEM && !err[0])
		ERR("out of memory");
	if (made) /* (a re-attached tap stays: it is the pod's eth0) */
		sl_tap_set_persist(port->tap, false);
	sl_port_free(port);
	free(np);
	return rc;
}

static void pod_del(void *ctx, struct sl_model_pod *mp)
{
	struct net_pod *np = mp->dp;
	struct sl_port *port = sl_dp.ports[np->port];
	fib_set(sl_cidr_host(mp->spec.ip), -1); /* falls back to "no such pod" */
	/* The veth or socket is free when the reply goes; the port closes after its grace. */
	sl_xsk_detach(port->xsk);
	sl_vhost_withdraw(port->vhost);
	if (port->tap)
		sl_port_tap_poll(port, false); /* before the descriptor closes (after the grace) */
	/* A persistent tap goes with the descriptor once the pod is deleted; when sluiced
	 * stops (quit), it stays for the next sluiced (drivers/sl_tap.h). */
	if (port->tap && mp->spec.netns[0] && !sl_dp.quit)
		sl_tap_set_persist(port->tap, false);
	sl_port_unpublish(port);
	sl_nh_free((uint32_t)np->nh);
	free(np);
	mp->dp = NULL;
	net.n_pods--;
}

struct sl_port *sl_net_pod_port(const struct sl_model_pod *p)
{
	const struct net_pod *np = p->dp;
	return np ? sl_dp.ports[np->port] : NULL;
}

/* Remote nodes. */

static int node_add(void *ctx, struct sl_model_node *mn, char *err, size_t errlen)
{
	const struct sl_node_spec *s = &mn->spec;
	struct net_node *nn = calloc(1, sizeof(*nn));
	if (!nn)
		return ERR("out of memory"), -ENOMEM;
	int neigh = sl_neigh_get(s->ip.v4);
	if (neigh < 0) {
		free(nn);
		return ERR("neighbour table full (%u, sized by limits.nodes and limits.routes)",
			   sl_dp.neigh_max), neigh;
	}
	if (s->has_mac) {
		uint64_t mac = 0;
		memcpy(&mac, s->mac, 6);
		atomic_store(&sl_dp.neigh[neigh].mac_state, mac | SL_NEIGH_VALID | SL_NEIGH_STATIC);
	}
	struct sl_nh vx = { .type = SL_NH_VXLAN, .port = SL_PORT_UPLINK_ID, .ip = s->ip.v4,
			    .neigh = (uint32_t)neigh, .mtu = (uint16_t)(net.conf.uplink_mtu - 50) };
	/* A flannel node's VTEP has a MAC of its own (the inner destination); the underlay
	 * neighbour above stays the outer one. Zero: the neighbour's MAC for both. */
	if (s->has_vtep_mac)
		memcpy(&vx.mac, s->vtep_mac, 6);
	struct sl_nh ip = vx;
	memset(&ip.mac, 0, sizeof(ip.mac));
	ip.type = SL_NH_UPLINK;
	ip.mtu = net.conf.uplink_mtu;
	int a = add_nh(&vx, err, errlen), b = a < 0 ? a : add_nh(&ip, err, errlen);
	int rc = b < 0 ? b : fib_set(s->pod_cidr, a);
	if (rc >= 0)
		rc = fib_set(sl_cidr_host(s->ip), b);
	if (rc < 0) {
		if (a >= 0)
			fib_set(s->pod_cidr, -1), sl_nh_free((uint32_t)a);
		if (b >= 0)
			sl_nh_free((uint32_t)b);
		sl_neigh_put((uint32_t)neigh);
		free(nn);
		if (!err[0])
			ERR("pod_cidr: cannot route the node: %s", strerror(-rc));
		return rc;
	}
	*nn = (struct net_node){ .nh_vxlan = a, .nh_ip = b, .neigh = neigh };
	mn->dp = nn;
	return 0;
}

static void node_del(void *ctx, struct sl_model_node *mn)
{
	struct net_node *nn = mn->dp;
	fib_set(mn->spec.pod_cidr, -1);
	fib_set(sl_cidr_host(mn->spec.ip), -1);
	sl_nh_free((uint32_t)nn->nh_vxlan);
	sl_nh_free((uint32_t)nn->nh_ip);
	sl_neigh_put((uint32_t)nn->neigh);
	free(nn);
	mn->dp = NULL;
}

int sl_net_node_neigh(const struct sl_model_node *n)
{
	return ((const struct net_node *)n->dp)->neigh;
}

/* Static routes. */

static int route_add(void *ctx, struct sl_model_route *mr, char *err, size_t errlen)
{
	const struct sl_route_spec *s = &mr->spec;
	struct net_route *nr = calloc(1, sizeof(*nr));
	if (!nr)
		return ERR("out of memory"), -ENOMEM;
	int neigh = sl_neigh_get(s->via.v4);
	if (neigh < 0) {
		free(nr);
		return ERR("via: neighbour table full (%u, sized by limits.nodes and limits.routes)",
			   sl_dp.neigh_max), neigh;
	}
	int nh = add_nh(&(struct sl_nh){ .type = SL_NH_UPLINK, .port = SL_PORT_UPLINK_ID,
					 .ip = s->via.v4, .neigh = (uint32_t)neigh,
					 .mtu = net.conf.uplink_mtu },
			err, errlen);
	int rc = nh < 0 ? nh : fib_set(s->prefix, nh);
	if (rc < 0) {
		if (nh >= 0)
			sl_nh_free((uint32_t)nh);
		sl_neigh_put((uint32_t)neigh);
		free(nr);
		if (!err[0])
			ERR("prefix: cannot add the route: %s", strerror(-rc));
		return rc;
	}
	*nr = (struct net_route){ .nh = nh, .neigh = neigh };
	mr->dp = nr;
	return 0;
}

static void route_del(void *ctx, struct sl_model_route *mr)
{
	struct net_route *nr = mr->dp;
	fib_set(mr->spec.prefix, -1);
	sl_nh_free((uint32_t)nr->nh);
	sl_neigh_put((uint32_t)nr->neigh);
	free(nr);
	mr->dp = NULL;
}

/* Set-up. */

int sl_net_init(const struct sl_config *c, char *err, size_t errlen)
{
	int rc;
	memset(&net, 0, sizeof(net));
	net.conf = *c;
	net.conf.pods = NULL;
	net.conf.nodes = NULL;
	net.conf.routes = NULL;
	net.conf.n_pods = net.conf.n_nodes = net.conf.n_routes = 0;
	if ((rc = sl_ports_open(&net.conf, err, errlen)) < 0)
		return rc;

	int nh_pod_cidr = add_nh(&(struct sl_nh){ .type = SL_NH_UNREACH_HOST }, err, errlen);
	int nh_gateway = add_nh(&(struct sl_nh){ .type = SL_NH_LOCAL }, err, errlen);
	int nh_node = add_nh(&(struct sl_nh){ .type = c->host_enabled ? SL_NH_HOST : SL_NH_LOCAL,
					      .port = SL_PORT_HOST_ID,
					      .mtu = RTE_MIN(c->pod_mtu, SL_POD_MTU_MAX) },
			     err, errlen);
	if (nh_pod_cidr < 0 || nh_gateway < 0 || nh_node < 0)
		return -ENOSPC;
	if ((rc = fib_set(c->pod_cidr, nh_pod_cidr)) < 0 ||
	    (rc = fib_set(sl_cidr_host(c->gateway_ip), nh_gateway)) < 0 ||
	    (rc = fib_set(sl_cidr_host(c->node_ip), nh_node)) < 0)
		return ERR("cannot install base routes: %s", strerror(-rc)), rc;

	return 0;
}

void sl_net_hooks(struct sl_model_hooks *h)
{
	h->pod_add = pod_add;
	h->pod_del = pod_del;
	h->node_add = node_add;
	h->node_del = node_del;
	h->route_add = route_add;
	h->route_del = route_del;
}

void sl_net_fini(void)
{
	sl_dp_drain();
	sl_ports_close();
}

void sl_net_tap_attach_stats(struct sl_tap_attach_stats *ret)
{
	*ret = net.tap_attach;
}

const struct sl_config *sl_net_conf(void)
{
	return &net.conf;
}

void sl_net_vtep_mac(uint8_t ret_mac[6])
{
	const struct sl_port *up = sl_port_get(sl_dp.conf.uplink_port);
	if (net.conf.has_vtep_mac)
		memcpy(ret_mac, net.conf.vtep_mac, 6);
	else if (up)
		memcpy(ret_mac, &up->mac, 6);
	else
		memset(ret_mac, 0, 6);
}

int sl_net_flannel_backend_data(char *buf, size_t len)
{
	uint8_t m[6];
	sl_net_vtep_mac(m);
	return snprintf(buf, len, "{\"VNI\":%u,\"VtepMAC\":\"%02x:%02x:%02x:%02x:%02x:%02x\"}",
			net.conf.vni, m[0], m[1], m[2], m[3], m[4], m[5]);
}
