/* `policy check` (sl_model_policy_check, see sl_policy.h): why a packet is allowed or
 * denied, the policies evaluated directly on the objects (any two pods or addresses, local
 * or not), not through the compiled set. Control thread. */
#include <string.h>

#include "sl_policy_int.h"

static bool port_allows(const struct sl_np_port *pt, const struct sl_kpod_spec *owner,
			uint8_t proto, uint16_t port)
{
	if (pt->proto != proto)
		return false;
	if (pt->name[0]) {
		for (unsigned i = 0; owner && i < owner->n_ports; i++)
			if (owner->ports[i].proto == proto && owner->ports[i].port == port &&
			    !strcmp(owner->ports[i].name, pt->name))
				return true;
		return false;
	}
	if (!pt->port)
		return true;
	return port >= pt->port && port <= (pt->end_port ? pt->end_port : pt->port);
}

static bool peer_allows(const struct sl_pol_store *st, const struct sl_np_spec *sp,
			const struct sl_np_peer *pe, struct sl_ip ip,
			const struct sl_model_kpod *peer)
{
	if (pe->kind == SL_PEER_IPBLOCK) {
		if (pe->v6 || ip.af != AF_INET || !sl_cidr_contains(pe->cidr, ip))
			return false;
		for (unsigned i = 0; i < pe->n_except; i++)
			if (sl_cidr_contains(pe->except[i], ip))
				return false;
		return true;
	}
	if (!peer || !pol_pod_addressed(peer->spec))
		return false;
	return pol_peer_selects(st, pe, sp->namespace,
				pol_group_find(st, peer->spec->namespace), peer->spec);
}

void sl_model_policy_check(const struct sl_model *m, struct sl_ip src, struct sl_ip dst,
			   uint8_t proto, uint16_t port, struct sl_pol_check *ret)
{
	const struct sl_pol_store *st = sl_model_pols(m);
	memset(ret, 0, sizeof(*ret));
	ret->src = sl_model_kpod_by_ip(m, src);
	ret->dst = sl_model_kpod_by_ip(m, dst);
	ret->src_local = sl_model_pod_by_ip(m, src) != NULL;
	ret->dst_local = sl_model_pod_by_ip(m, dst) != NULL;
	for (int d = 0; d < SL_POL_NDIRS; d++) {
		struct sl_pol_check_dir *c = &ret->dir[d];
		const struct sl_model_kpod *pod = d == SL_POL_INGRESS ? ret->dst : ret->src;
		const struct sl_model_kpod *peer = d == SL_POL_INGRESS ? ret->src : ret->dst;
		struct sl_ip peer_ip = d == SL_POL_INGRESS ? src : dst;
		/* The pod owning the destination port: ingress the pod, egress the peer. */
		const struct sl_model_kpod *owner = d == SL_POL_INGRESS ? pod : peer;
		c->allowed = true;
		if (!pod || !pol_pod_addressed(pod->spec))
			continue;
		c->applies = true;
		const struct pol_group *g = pol_group_find(st, pod->spec->namespace);
		for (uint32_t i = 0; g && i < g->n_pols; i++) {
			const struct pol *p = st->pols.slots.obj[g->pols[i]];
			const struct sl_np_spec *sp = p->pub.spec;
			if (!sp->types[d] || !sl_selector_match(&sp->pod_sel, &pod->spec->labels))
				continue;
			if (!c->isolated)
				c->allowed = false;
			c->isolated = true;
			if (c->n_isolating < SL_POL_CHECK_MAX)
				c->isolating[c->n_isolating] = p->pub.id;
			c->n_isolating++;
			for (unsigned r = 0; !c->allowed && r < sp->n_rules[d]; r++) {
				const struct sl_np_rule *ru = &sp->rules[d][r];
				bool peer_ok = !ru->n_peers, port_ok = !ru->n_ports;
				for (unsigned k = 0; !peer_ok && k < ru->n_peers; k++)
					peer_ok = peer_allows(st, sp, &ru->peers[k], peer_ip, peer);
				for (unsigned k = 0; peer_ok && !port_ok && k < ru->n_ports; k++)
					port_ok = port_allows(&ru->ports[k], owner ? owner->spec : NULL,
							      proto, port);
				if (peer_ok && port_ok) {
					c->allowed = true;
					c->policy = p->pub.id;
					c->rule = r;
				}
			}
		}
	}
	ret->allowed = ret->dir[0].allowed && ret->dir[1].allowed;
}
