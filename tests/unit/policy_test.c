/* Helpers of the NetworkPolicy unit tests (see policy_test.h). */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "control/sources/sl_k8s.h"
#include "policy_test.h"

/* JSON with ' for " (readable tables). */
char *J(const char *s)
{
	static char buf[8][16384];
	static int k;
	char *b = buf[k++ % 8];
	snprintf(b, sizeof(buf[0]), "%s", s);
	for (char *p = b; *p; p++)
		if (*p == '\'')
			*p = '"';
	return b;
}

struct sl_ip ip4(const char *s)
{
	struct sl_ip ip;
	assert_int_equal(sl_ip_parse(s, false, &ip), 0);
	return ip;
}

uint32_t hip(const char *s)
{
	return ntohl(ip4(s).v4);
}

struct sl_model *new_model(void)
{
	struct sl_model_self self = { .node_name = "node1" };
	self.node_ip = ip4("198.18.0.1");
	assert_int_equal(sl_cidr_parse("10.244.1.0/24", false, &self.pod_cidr), 0);
	self.gateway_ip = ip4("10.244.1.1");
	struct sl_model *m = sl_model_create(&self, NULL);
	assert_non_null(m);
	return m;
}

/* Attach a local pod (an address of this node) under ifname. */
void attach(struct sl_model *m, const char *addr, const char *ifname)
{
	struct sl_pod_spec s = { .ip = ip4(addr), .mac = { 2, 0, 0, 0, 0, 9 } };
	char err[320];
	snprintf(s.name, sizeof(s.name), "%s", ifname);
	snprintf(s.namespace, sizeof(s.namespace), "cni");
	snprintf(s.ifname, sizeof(s.ifname), "%s", ifname);
	if (sl_model_pod_add(m, &s, err, sizeof(err)))
		fail_msg("attach %s: %s", addr, err);
}

int apply(struct sl_model *m, const char *text, char *err, size_t n)
{
	struct sl_k8s_op *ops;
	unsigned cnt;
	int rc = sl_k8s_decode_text(text, strlen(text), &ops, &cnt, err, n);
	if (rc)
		return rc;
	rc = sl_model_k8s_apply(m, ops, cnt, err, n);
	sl_k8s_ops_free(ops, cnt);
	return rc;
}

/* The compiled set's verdict (what the dataplane enforces). */
static bool rule_hit(const struct sl_pol_rule *r, uint32_t pod, uint32_t peer, uint8_t proto,
		     uint16_t port)
{
	uint32_t mask = r->peer_len ? ~0u << (32 - r->peer_len) : 0;
	return r->pod_ip == pod && (peer & mask) == r->peer_net &&
	       (!r->proto || (r->proto == proto && port >= r->port_lo && port <= r->port_hi));
}

bool dir_allows(const struct sl_pol_dir_set *d, uint32_t pod, uint32_t peer,
		uint8_t proto, uint16_t port, uint32_t *ret_policy)
{
	bool iso = false;
	for (uint32_t i = 0; i < d->n_isolated; i++)
		iso |= d->isolated[i] == pod;
	if (!iso)
		return true;
	for (uint32_t i = 0; i < d->n_rules; i++)
		if (rule_hit(&d->rules[i], pod, peer, proto, port)) {
			if (ret_policy)
				*ret_policy = d->rules[i].policy;
			return true;
		}
	return false;
}

bool set_allows(const struct sl_pol_set *s, uint32_t src, uint32_t dst, uint8_t proto,
		uint16_t port)
{
	return dir_allows(&s->dir[SL_POL_INGRESS], dst, src, proto, port, NULL) &&
	       dir_allows(&s->dir[SL_POL_EGRESS], src, dst, proto, port, NULL);
}

bool allows(struct sl_model *m, const char *src, const char *dst, uint8_t proto,
	    uint16_t port)
{
	const struct sl_pol_set *s = sl_model_policy_set(m);
	assert_non_null(s);
	return set_allows(s, hip(src), hip(dst), proto, port);
}

struct sl_model *xyz(void)
{
	struct sl_model *m = new_model();
	attach(m, "10.244.1.2", "va");
	attach(m, "10.244.1.3", "vb");
	attach(m, "10.244.1.4", "vc");
	APPLY_OK(m, PODS_XYZ);
	return m;
}

void apply_json(struct sl_model *m, cJSON *o)
{
	char err[400];
	struct sl_k8s_op *ops;
	unsigned n;
	if (sl_k8s_decode(o, &ops, &n, err, sizeof(err))) {
		char *t = cJSON_PrintUnformatted(o);
		fail_msg("decode: %s\n%s", err, t);
	}
	if (sl_model_k8s_apply(m, ops, n, err, sizeof(err)))
		fail_msg("apply: %s", err);
	sl_k8s_ops_free(ops, n);
	cJSON_Delete(o);
}
