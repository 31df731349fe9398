/* NetworkPolicy without EAL (issue 12), a differential test: thousands of random policies
 * and packets, the compiled set's verdict against a plain reference evaluator written from
 * the API documentation, after every change of a random sequence of changes (so the
 * incremental recompile is checked too); and the selector index against checking every
 * policy (the same dirty sets). */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "control/model/sl_policy_int.h"
#include "control/sources/sl_k8s.h"
#include "policy_test.h"

/* The reference evaluator: random objects in the test's own form, evaluated as the API
 * documents, independent of the model's code. */

#define NKEYS 4
#define NVALS 6
static const char *const keys[NKEYS] = { "app", "tier", "team", "kubernetes.io/metadata.name" };
static const char *const vals[NVALS] = { "a", "b", "c", "x", "y", "z" };
#define NNS 3
#define NPODS 14
#define MAXP 5

enum { C_EQ, C_IN, C_NOTIN, C_EXISTS, C_DNE };
struct t_clause {
	int op, key, vmask; /* vmask: bit per value (EQ: one bit) */
};
struct t_sel {
	int n;
	struct t_clause c[3];
};
struct t_port {
	int proto, port, end, name; /* port 0: every port; name -1: numeric */
};
struct t_peer {
	bool block, has_ps, has_ns;
	struct t_sel ps, ns;
	uint32_t net;
	int len, n_except;
	uint32_t ex_net[2];
	int ex_len[2];
};
struct t_rule {
	int n_peers, n_ports;
	struct t_peer peers[3];
	struct t_port ports[3];
};
struct t_pol {
	bool live, defaulted;
	int ns;
	struct t_sel sel;
	bool types[2];
	int n_rules[2];
	struct t_rule rules[2][3];
};
struct t_pod {
	bool live, has_ip, local, hostnet;
	int ns, lab[NKEYS];
	uint32_t ip;
	int n_ports;
	struct t_port ports[3]; /* name >= 0: named */
};
struct world {
	int ns_lab[NNS][NKEYS]; /* value index or -1 */
	struct t_pod pods[NPODS];
	struct t_pol pols[MAXP];
};

static const char *const pnames[3] = { "http", "dns", "metrics" };
static uint64_t rng = 0x9e3779b97f4a7c15ull;

static unsigned rnd(unsigned n)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (unsigned)(rng % n);
}

static bool sel_match(const struct t_sel *s, const int *lab)
{
	for (int i = 0; i < s->n; i++) {
		const struct t_clause *c = &s->c[i];
		int v = lab[c->key];
		bool ok = c->op == C_EQ || c->op == C_IN ? v >= 0 && (c->vmask >> v & 1)
			  : c->op == C_NOTIN ? v < 0 || !(c->vmask >> v & 1)
			  : c->op == C_EXISTS ? v >= 0 : v < 0;
		if (!ok)
			return false;
	}
	return true;
}

static void ns_labels(const struct world *w, int ns, int *lab)
{
	memcpy(lab, w->ns_lab[ns], sizeof(int) * NKEYS);
	lab[3] = 3 + ns; /* kubernetes.io/metadata.name: x, y, z */
}

static const struct t_pod *pod_at(const struct world *w, uint32_t ip)
{
	for (int i = 0; i < NPODS; i++)
		if (w->pods[i].live && w->pods[i].has_ip && !w->pods[i].hostnet && w->pods[i].ip == ip)
			return &w->pods[i];
	return NULL;
}

static bool ref_peer(const struct world *w, const struct t_pol *p, const struct t_peer *pe,
		     uint32_t ip)
{
	if (pe->block) {
		uint32_t mask = pe->len ? ~0u << (32 - pe->len) : 0;
		if ((ip & mask) != pe->net)
			return false;
		for (int i = 0; i < pe->n_except; i++) {
			uint32_t em = ~0u << (32 - pe->ex_len[i]);
			if ((ip & em) == pe->ex_net[i])
				return false;
		}
		return true;
	}
	const struct t_pod *q = pod_at(w, ip);
	if (!q)
		return false;
	if (pe->has_ns) {
		int lab[NKEYS];
		ns_labels(w, q->ns, lab);
		if (!sel_match(&pe->ns, lab))
			return false;
	} else if (q->ns != p->ns) {
		return false;
	}
	return !pe->has_ps || sel_match(&pe->ps, q->lab);
}

static bool ref_port(const struct t_port *pt, const struct t_pod *owner, int proto, int port)
{
	if (pt->proto != proto)
		return false;
	if (pt->name >= 0) {
		for (int i = 0; owner && i < owner->n_ports; i++)
			if (owner->ports[i].name == pt->name && owner->ports[i].proto == proto &&
			    owner->ports[i].port == port)
				return true;
		return false;
	}
	return !pt->port || (port >= pt->port && port <= (pt->end ? pt->end : pt->port));
}

/* One direction at pod (ingress: dst, egress: src); local_only: as this node enforces. */
static bool ref_dir(const struct world *w, int d, uint32_t pod_ip, uint32_t peer_ip, int proto,
		    int port, bool local_only)
{
	const struct t_pod *pod = pod_at(w, pod_ip);
	if (!pod || (local_only && !pod->local))
		return true;
	const struct t_pod *owner = d == 0 ? pod : pod_at(w, peer_ip);
	bool isolated = false;
	for (int i = 0; i < MAXP; i++) {
		const struct t_pol *p = &w->pols[i];
		if (!p->live || p->ns != pod->ns || !p->types[d] || !sel_match(&p->sel, pod->lab))
			continue;
		isolated = true;
		for (int r = 0; r < p->n_rules[d]; r++) {
			const struct t_rule *ru = &p->rules[d][r];
			bool peer_ok = !ru->n_peers, port_ok = !ru->n_ports;
			for (int k = 0; k < ru->n_peers; k++)
				peer_ok |= ref_peer(w, p, &ru->peers[k], peer_ip);
			for (int k = 0; k < ru->n_ports; k++)
				port_ok |= ref_port(&ru->ports[k], owner, proto, port);
			if (peer_ok && port_ok)
				return true;
		}
	}
	return !isolated;
}

static bool ref_allows(const struct world *w, uint32_t src, uint32_t dst, int proto, int port,
		       bool local_only)
{
	return ref_dir(w, 0, dst, src, proto, port, local_only) &&
	       ref_dir(w, 1, src, dst, proto, port, local_only);
}

/* Random objects, and their JSON. */

static void rnd_sel(struct t_sel *s, bool ns)
{
	s->n = (int)rnd(3);
	for (int i = 0; i < s->n; i++) {
		struct t_clause *c = &s->c[i];
		c->op = (int)rnd(5);
		c->key = ns ? 2 + (int)rnd(2) : (int)rnd(2);
		c->vmask = c->op == C_EQ ? 1 << (ns && c->key == 3 ? 3 + rnd(3) : rnd(3))
			   : (int)(1 + rnd(63));
		if (c->op == C_EQ) /* one matchLabels entry per key */
			for (int k = 0; k < i; k++)
				if (s->c[k].op == C_EQ && s->c[k].key == c->key)
					c->op = C_EXISTS;
	}
}

static void rnd_port(struct t_port *pt)
{
	static const int protos[] = { IPPROTO_TCP, IPPROTO_UDP, IPPROTO_SCTP };
	pt->proto = protos[rnd(3)];
	pt->name = -1;
	pt->port = pt->end = 0;
	switch (rnd(4)) {
	case 0:
		break; /* protocol only */
	case 1:
		pt->port = 79 + (int)rnd(4);
		break;
	case 2:
		pt->port = 79 + (int)rnd(3);
		pt->end = pt->port + (int)rnd(3);
		break;
	default:
		pt->name = (int)rnd(3);
	}
}

static uint32_t rnd_ip(void)
{
	/* 10.244.{1,2}.{0..7} and a few outside */
	if (rnd(10) == 0)
		return hip("192.168.0.1") + rnd(4);
	return (10u << 24) | (244u << 16) | ((1 + rnd(2)) << 8) | rnd(8);
}

static void rnd_peer(struct t_peer *pe)
{
	memset(pe, 0, sizeof(*pe));
	if (rnd(4) == 0) {
		pe->block = true;
		pe->len = 22 + (int)rnd(10);
		pe->net = rnd_ip() & (~0u << (32 - pe->len));
		if (rnd(3) == 0) {
			pe->len = 0;
			pe->net = 0;
		}
		pe->n_except = (int)rnd(3);
		for (int i = 0; i < pe->n_except; i++) {
			pe->ex_len[i] = pe->len + 1 + (int)rnd((unsigned)(32 - pe->len));
			if (pe->ex_len[i] > 32)
				pe->ex_len[i] = 32;
			uint32_t inside = pe->len ? pe->net | (rnd_ip() & ~(~0u << (32 - pe->len)))
						  : rnd_ip();
			pe->ex_net[i] = inside & (~0u << (32 - pe->ex_len[i]));
		}
		return;
	}
	int k = 1 + (int)rnd(3);
	pe->has_ps = k & 1;
	pe->has_ns = k & 2;
	rnd_sel(&pe->ps, false);
	rnd_sel(&pe->ns, true);
}

static void rnd_pol(struct world *w, int i)
{
	struct t_pol *p = &w->pols[i];
	memset(p, 0, sizeof(*p));
	p->live = true;
	p->ns = (int)rnd(NNS);
	rnd_sel(&p->sel, false);
	int t = (int)rnd(4); /* 0: absent (defaulted) */
	for (int d = 0; d < 2; d++) {
		p->n_rules[d] = (int)rnd(3);
		for (int r = 0; r < p->n_rules[d]; r++) {
			struct t_rule *ru = &p->rules[d][r];
			ru->n_peers = (int)rnd(3);
			ru->n_ports = (int)rnd(3);
			for (int k = 0; k < ru->n_peers; k++)
				rnd_peer(&ru->peers[k]);
			for (int k = 0; k < ru->n_ports; k++)
				rnd_port(&ru->ports[k]);
		}
	}
	p->defaulted = t == 0; /* policyTypes absent: defaulted as the API server does */
	if (p->defaulted) {
		p->types[0] = true;
		p->types[1] = p->n_rules[1] != 0;
	} else {
		p->types[0] = t & 1;
		p->types[1] = t & 2;
	}
}

static void rnd_pod(struct world *w, int i)
{
	struct t_pod *q = &w->pods[i];
	memset(q, 0, sizeof(*q));
	q->live = true;
	q->ns = i % NNS;
	q->has_ip = rnd(8) != 0;
	q->hostnet = rnd(12) == 0; /* its address is not the pod's: never selected */
	q->ip = (10u << 24) | (244u << 16) | ((1 + (unsigned)(i & 1)) << 8) | (2 + (unsigned)i / 2);
	q->local = (q->ip >> 8 & 0xff) == 1; /* 10.244.1.x: attached here */
	for (int k = 0; k < NKEYS; k++)
		q->lab[k] = k < 2 && rnd(3) ? (int)rnd(3) : -1;
	q->n_ports = (int)rnd(4);
	for (int k = 0; k < q->n_ports; k++) {
		static const int protos[] = { IPPROTO_TCP, IPPROTO_UDP, IPPROTO_SCTP };
		q->ports[k].name = k; /* names unique per pod */
		q->ports[k].proto = protos[rnd(3)];
		q->ports[k].port = 79 + (int)rnd(5);
	}
}

static cJSON *sel_json(const struct t_sel *s)
{
	static const char *const ops[] = { "", "In", "NotIn", "Exists", "DoesNotExist" };
	cJSON *o = cJSON_CreateObject();
	for (int i = 0; i < s->n; i++) {
		const struct t_clause *c = &s->c[i];
		if (c->op == C_EQ) {
			cJSON *ml = cJSON_GetObjectItem(o, "matchLabels");
			if (!ml)
				ml = cJSON_AddObjectToObject(o, "matchLabels");
			for (int v = 0; v < NVALS; v++)
				if (c->vmask >> v & 1)
					cJSON_AddStringToObject(ml, keys[c->key], vals[v]);
			continue;
		}
		cJSON *me = cJSON_GetObjectItem(o, "matchExpressions");
		if (!me)
			me = cJSON_AddArrayToObject(o, "matchExpressions");
		cJSON *e = cJSON_CreateObject();
		cJSON_AddStringToObject(e, "key", keys[c->key]);
		cJSON_AddStringToObject(e, "operator", ops[c->op]);
		if (c->op == C_IN || c->op == C_NOTIN) {
			cJSON *a = cJSON_AddArrayToObject(e, "values");
			for (int v = 0; v < NVALS; v++)
				if (c->vmask >> v & 1)
					cJSON_AddItemToArray(a, cJSON_CreateString(vals[v]));
		}
		cJSON_AddItemToArray(me, e);
	}
	return o;
}

static const char *proto_s(int p)
{
	return p == IPPROTO_UDP ? "UDP" : p == IPPROTO_SCTP ? "SCTP" : "TCP";
}

static char *ipstr(uint32_t h, char *b)
{
	snprintf(b, 20, "%u.%u.%u.%u", h >> 24, h >> 16 & 255, h >> 8 & 255, h & 255);
	return b;
}

static cJSON *pol_json(const struct t_pol *p, int i)
{
	char b[40], c[20];
	int ns = p->ns;
	bool defaulted = p->defaulted;
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "kind", "NetworkPolicy");
	cJSON *md = cJSON_AddObjectToObject(o, "metadata");
	snprintf(b, sizeof(b), "p%d", i);
	cJSON_AddStringToObject(md, "name", b);
	cJSON_AddStringToObject(md, "namespace", vals[3 + ns]);
	cJSON *sp = cJSON_AddObjectToObject(o, "spec");
	cJSON_AddItemToObject(sp, "podSelector", sel_json(&p->sel));
	if (!defaulted) {
		cJSON *t = cJSON_AddArrayToObject(sp, "policyTypes");
		if (p->types[0])
			cJSON_AddItemToArray(t, cJSON_CreateString("Ingress"));
		if (p->types[1])
			cJSON_AddItemToArray(t, cJSON_CreateString("Egress"));
	}
	for (int d = 0; d < 2; d++) {
		if (!p->n_rules[d] && rnd(2))
			continue; /* absent, else [] */
		cJSON *rules = cJSON_AddArrayToObject(sp, d ? "egress" : "ingress");
		for (int r = 0; r < p->n_rules[d]; r++) {
			const struct t_rule *ru = &p->rules[d][r];
			cJSON *e = cJSON_CreateObject();
			if (ru->n_peers || rnd(2)) {
				cJSON *a = cJSON_AddArrayToObject(e, d ? "to" : "from");
				for (int k = 0; k < ru->n_peers; k++) {
					const struct t_peer *pe = &ru->peers[k];
					cJSON *x = cJSON_CreateObject();
					if (pe->block) {
						cJSON *ib = cJSON_AddObjectToObject(x, "ipBlock");
						snprintf(b, sizeof(b), "%s/%d", ipstr(pe->net, c), pe->len);
						cJSON_AddStringToObject(ib, "cidr", b);
						if (pe->n_except) {
							cJSON *ex = cJSON_AddArrayToObject(ib, "except");
							for (int q = 0; q < pe->n_except; q++) {
								snprintf(b, sizeof(b), "%s/%d", ipstr(pe->ex_net[q], c),
									 pe->ex_len[q]);
								cJSON_AddItemToArray(ex, cJSON_CreateString(b));
							}
						}
					}
					if (pe->has_ps)
						cJSON_AddItemToObject(x, "podSelector", sel_json(&pe->ps));
					if (pe->has_ns)
						cJSON_AddItemToObject(x, "namespaceSelector", sel_json(&pe->ns));
					cJSON_AddItemToArray(a, x);
				}
			}
			if (ru->n_ports || rnd(2)) {
				cJSON *a = cJSON_AddArrayToObject(e, "ports");
				for (int k = 0; k < ru->n_ports; k++) {
					const struct t_port *pt = &ru->ports[k];
					cJSON *x = cJSON_CreateObject();
					if (pt->proto != IPPROTO_TCP || rnd(2))
						cJSON_AddStringToObject(x, "protocol", proto_s(pt->proto));
					if (pt->name >= 0)
						cJSON_AddStringToObject(x, "port", pnames[pt->name]);
					else if (pt->port)
						cJSON_AddNumberToObject(x, "port", pt->port);
					if (pt->end)
						cJSON_AddNumberToObject(x, "endPort", pt->end);
					cJSON_AddItemToArray(a, x);
				}
			}
			cJSON_AddItemToArray(rules, e);
		}
	}
	return o;
}

static cJSON *pod_json(const struct t_pod *q, int i)
{
	char b[20];
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "kind", "Pod");
	cJSON *md = cJSON_AddObjectToObject(o, "metadata");
	snprintf(b, sizeof(b), "q%d", i);
	cJSON_AddStringToObject(md, "name", b);
	cJSON_AddStringToObject(md, "namespace", vals[3 + q->ns]);
	cJSON *lb = cJSON_AddObjectToObject(md, "labels");
	for (int k = 0; k < NKEYS; k++)
		if (q->lab[k] >= 0)
			cJSON_AddStringToObject(lb, keys[k], vals[q->lab[k]]);
	cJSON *c = cJSON_CreateObject();
	cJSON *ps = cJSON_AddArrayToObject(c, "ports");
	for (int k = 0; k < q->n_ports; k++) {
		cJSON *x = cJSON_CreateObject();
		cJSON_AddStringToObject(x, "name", pnames[q->ports[k].name]);
		cJSON_AddNumberToObject(x, "containerPort", q->ports[k].port);
		cJSON_AddStringToObject(x, "protocol", proto_s(q->ports[k].proto));
		cJSON_AddItemToArray(ps, x);
	}
	cJSON *spec = cJSON_AddObjectToObject(o, "spec");
	cJSON_AddItemToArray(cJSON_AddArrayToObject(spec, "containers"), c);
	if (q->hostnet)
		cJSON_AddTrueToObject(spec, "hostNetwork");
	if (q->has_ip)
		cJSON_AddStringToObject(cJSON_AddObjectToObject(o, "status"), "podIP", ipstr(q->ip, b));
	return o;
}

static cJSON *ns_json(const struct world *w, int ns)
{
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "kind", "Namespace");
	cJSON *md = cJSON_AddObjectToObject(o, "metadata");
	cJSON_AddStringToObject(md, "name", vals[3 + ns]);
	cJSON *lb = cJSON_AddObjectToObject(md, "labels");
	if (w->ns_lab[ns][2] >= 0)
		cJSON_AddStringToObject(lb, "team", vals[w->ns_lab[ns][2]]);
	return o;
}

static void del_op(struct sl_model *m, enum sl_k8s_kind kind, const char *ns, const char *name)
{
	char err[400];
	struct sl_k8s_op op = { .kind = kind, .del = true };
	snprintf(op.namespace, sizeof(op.namespace), "%s", ns);
	snprintf(op.name, sizeof(op.name), "%s", name);
	if (sl_model_k8s_apply(m, &op, 1, err, sizeof(err)))
		fail_msg("delete: %s", err);
}

static unsigned long checks, allowed_seen, denied_seen;

static void compare(struct sl_model *m, const struct world *w, int scen, int step)
{
	const struct sl_pol_set *s = sl_model_policy_set(m);
	static const int protos[] = { IPPROTO_TCP, IPPROTO_UDP, IPPROTO_SCTP };
	assert_non_null(s);
	for (int k = 0; k < 60; k++) {
		uint32_t src = rnd(3) ? w->pods[rnd(NPODS)].ip : rnd_ip();
		uint32_t dst = rnd(3) ? w->pods[rnd(NPODS)].ip : rnd_ip();
		int proto = protos[rnd(3)], port = 78 + (int)rnd(7);
		bool want = ref_allows(w, src, dst, proto, port, true);
		bool got = set_allows(s, src, dst, (uint8_t)proto, (uint16_t)port);
		if (want != got) {
			char a[20], b[20];
			fail_msg("scenario %d step %d: %s -> %s %d/%d: reference %s, compiled %s", scen,
				 step, ipstr(src, a), ipstr(dst, b), port, proto,
				 want ? "allows" : "denies", got ? "allows" : "denies");
		}
		/* policy check evaluates every pod, local or not. */
		struct sl_pol_check c;
		struct sl_ip sip = sl_ip4(htonl(src)), dip = sl_ip4(htonl(dst));
		sl_model_policy_check(m, sip, dip, (uint8_t)proto, (uint16_t)port, &c);
		if (c.allowed != ref_allows(w, src, dst, proto, port, false))
			fail_msg("scenario %d step %d: policy check disagrees", scen, step);
		checks++;
		want ? allowed_seen++ : denied_seen++;
	}
}

static void test_random_reference(void **state)
{
	(void)state;
	char name[20];
	for (int scen = 0; scen < 150; scen++) {
		struct world w;
		struct sl_model *m = new_model();
		memset(&w, 0, sizeof(w));
		for (int n = 0; n < NNS; n++) {
			for (int k = 0; k < NKEYS; k++)
				w.ns_lab[n][k] = -1;
			w.ns_lab[n][2] = rnd(2) ? (int)rnd(3) : -1;
			apply_json(m, ns_json(&w, n));
		}
		for (int i = 0; i < NPODS; i++) {
			rnd_pod(&w, i);
			if (w.pods[i].local) {
				char a[20];
				snprintf(name, sizeof(name), "v%d", i);
				attach(m, ipstr(w.pods[i].ip, a), name);
			}
			apply_json(m, pod_json(&w.pods[i], i));
		}
		int np = 1 + (int)rnd(MAXP);
		for (int i = 0; i < np; i++) {
			rnd_pol(&w, i);
			apply_json(m, pol_json(&w.pols[i], i));
		}
		compare(m, &w, scen, 0);
		/* Changes, each checked: labels, namespaces, policies, attachments. */
		for (int step = 1; step <= 8; step++) {
			int i = (int)rnd(NPODS);
			switch (rnd(6)) {
			case 0: /* relabel or re-port a pod */
				for (int k = 0; k < 2; k++)
					w.pods[i].lab[k] = rnd(3) ? (int)rnd(3) : -1;
				w.pods[i].ports[0].port = 79 + (int)rnd(5);
				if (w.pods[i].live)
					apply_json(m, pod_json(&w.pods[i], i));
				break;
			case 1: { /* a namespace's labels */
				int n = (int)rnd(NNS);
				w.ns_lab[n][2] = rnd(2) ? (int)rnd(3) : -1;
				apply_json(m, ns_json(&w, n));
				break;
			}
			case 2: { /* replace or add a policy */
				int p = (int)rnd(MAXP);
				if (w.pols[p].live) {
					snprintf(name, sizeof(name), "p%d", p);
					del_op(m, SL_K8S_POLICY, vals[3 + w.pols[p].ns], name);
				}
				rnd_pol(&w, p);
				apply_json(m, pol_json(&w.pols[p], p));
				break;
			}
			case 3: { /* delete a policy */
				int p = (int)rnd(MAXP);
				if (!w.pols[p].live)
					break;
				snprintf(name, sizeof(name), "p%d", p);
				del_op(m, SL_K8S_POLICY, vals[3 + w.pols[p].ns], name);
				w.pols[p].live = false;
				break;
			}
			case 4: /* delete or re-add a pod */
				snprintf(name, sizeof(name), "q%d", i);
				if (w.pods[i].live) {
					del_op(m, SL_K8S_POD, vals[3 + w.pods[i].ns], name);
					w.pods[i].live = false;
				} else {
					w.pods[i].live = true;
					apply_json(m, pod_json(&w.pods[i], i));
				}
				break;
			default: { /* detach or attach a local pod */
				char err[320], a[20];
				if (!(w.pods[i].ip >> 8 & 1))
					break; /* 10.244.2.x: remote */
				snprintf(name, sizeof(name), "v%d", i);
				if (w.pods[i].local) {
					assert_int_equal(sl_model_pod_del(m, "cni", name, err, sizeof(err)), 0);
					w.pods[i].local = false;
				} else {
					attach(m, ipstr(w.pods[i].ip, a), name);
					w.pods[i].local = true;
				}
			}
			}
			compare(m, &w, scen, step);
		}
		sl_model_destroy(m);
	}
	printf("reference: %lu packets checked (%lu allowed, %lu denied)\n", checks, allowed_seen,
	       denied_seen);
	assert_true(checks >= 10000);
	assert_true(allowed_seen > checks / 10 && denied_seen > checks / 10);
}


/* The selector index (a pod change looks only at the policies whose selectors mention its
 * labels) marks the same policies dirty as checking every policy: two models, one with the
 * index off, the same random policies and the same random pod, namespace and policy changes;
 * after each change the dirty sets are compared, then both sets assembled. */
struct dirty_list {
	unsigned n;
	char names[64][48];
};

static void dirty_add(void *ctx, const char *ns, const char *name)
{
	struct dirty_list *l = ctx;
	assert_true(l->n < 64);
	snprintf(l->names[l->n++], sizeof(l->names[0]), "%s/%s", ns, name);
}

static int str_cmp(const void *a, const void *b)
{
	return strcmp(a, b);
}

static void dirty_of(struct sl_model *m, struct dirty_list *l)
{
	l->n = 0;
	sl_pol_dirty_each(m, dirty_add, l);
	qsort(l->names, l->n, sizeof(l->names[0]), str_cmp);
}

static void test_index_dirty(void **state)
{
	(void)state;
	unsigned changes = 0, marked = 0, unmarked = 0;
	for (int scen = 0; scen < 60; scen++) {
		struct world w, tw;
		bool attached[NPODS] = { false };
		struct sl_model *m[2] = { new_model(), new_model() };
		sl_pol_index_enable(m[1], false);
		memset(&w, 0, sizeof(w));
		for (int n = 0; n < NNS; n++) {
			for (int k = 0; k < NKEYS; k++)
				w.ns_lab[n][k] = -1;
			w.ns_lab[n][2] = rnd(2) ? (int)rnd(3) : -1;
			for (int x = 0; x < 2; x++)
				apply_json(m[x], ns_json(&w, n));
		}
		for (int i = 0; i < NPODS; i++) {
			rnd_pod(&w, i);
			for (int x = 0; x < 2; x++)
				apply_json(m[x], pod_json(&w.pods[i], i));
		}
		for (int i = 0; i < 30; i++) {
			rnd_pol(&tw, 0);
			for (int x = 0; x < 2; x++)
				apply_json(m[x], pol_json(&tw.pols[0], i));
		}
		for (int step = 0; step < 40; step++) {
			for (int x = 0; x < 2; x++)
				assert_non_null(sl_model_policy_set(m[x]));
			int i = (int)rnd(NPODS);
			char name[20];
			switch (rnd(8)) {
			case 0: /* a pod's address appears or goes */
				w.pods[i].has_ip = !w.pods[i].has_ip;
				break;
			case 1: /* its ports */
				w.pods[i].ports[0].port = 79 + (int)rnd(5);
				break;
			case 2: { /* a namespace's labels */
				int n = (int)rnd(NNS);
				w.ns_lab[n][2] = rnd(2) ? (int)rnd(3) : -1;
				for (int x = 0; x < 2; x++)
					apply_json(m[x], ns_json(&w, n));
				i = -1;
				break;
			}
			case 3: /* delete or re-add */
				snprintf(name, sizeof(name), "q%d", i);
				w.pods[i].live = !w.pods[i].live;
				if (!w.pods[i].live) {
					for (int x = 0; x < 2; x++)
						del_op(m[x], SL_K8S_POD, vals[3 + w.pods[i].ns], name);
					i = -1;
				}
				break;
			case 4: { /* attach or detach a pod of this node (10.244.1.x) */
				char err[320], a[20];
				if (!(w.pods[i].ip >> 8 & 1))
					break; /* 10.244.2.x: remote */
				snprintf(name, sizeof(name), "v%d", i);
				for (int x = 0; x < 2; x++)
					if (attached[i])
						assert_int_equal(sl_model_pod_del(m[x], "cni", name, err,
										  sizeof(err)), 0);
					else
						attach(m[x], ipstr(w.pods[i].ip, a), name);
				attached[i] = !attached[i];
				i = -1;
				break;
			}
			default: /* labels: one key or both, sometimes unchanged */
				for (int k = 0; k < 2; k++)
					if (k == 0 || rnd(2))
						w.pods[i].lab[k] = rnd(3) ? (int)rnd(3) : -1;
			}
			if (i >= 0 && w.pods[i].live)
				for (int x = 0; x < 2; x++)
					apply_json(m[x], pod_json(&w.pods[i], i));
			struct dirty_list a, b;
			dirty_of(m[0], &a);
			dirty_of(m[1], &b);
			if (a.n != b.n)
				fail_msg("scenario %d step %d: the index marks %u policies, every "
					 "policy checked %u", scen, step, a.n, b.n);
			for (unsigned k = 0; k < a.n; k++)
				if (strcmp(a.names[k], b.names[k]))
					fail_msg("scenario %d step %d: %s marked by the index, %s by "
						 "checking all", scen, step, a.names[k], b.names[k]);
			changes++;
			a.n ? marked++ : unmarked++;
		}
		for (int x = 0; x < 2; x++)
			sl_model_destroy(m[x]);
	}
	printf("index: %u changes, %u marked some policy, %u none\n", changes, marked, unmarked);
	assert_true(marked > changes / 4 && unmarked > changes / 20);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_random_reference),
		cmocka_unit_test(test_index_dirty),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
