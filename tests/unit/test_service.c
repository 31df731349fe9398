/* Services and EndpointSlices in the model without EAL: limits, all-or-nothing batches with
 * failing hooks, and churn against the hooks' own copy of the state. Helpers:
 * service_test.h; the decoder: test_service_decode.c; selection: test_service_select.c. */
#include <arpa/inet.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "control/core/sl_show_svc.h"
#include "control/model/sl_service.h"
#include "control/sources/sl_config.h"
#include "control/sources/sl_k8s.h"
#include "control/sources/sl_request.h"
#include "service_test.h"

/* The hooks' own copy of the state: per Service id, a signature of its last view. */
#define MAXS 64
static struct {
	bool present[MAXS];
	char sig[MAXS][512];
	int fail_in;       /* fail the n-th svc_changed from now (0: never) */
	unsigned changed, deleted;
} rec;

static void view_sig(const struct sl_svc_view *v, char *out, size_t n)
{
	size_t l = (size_t)snprintf(out, n, "%s/%s:", v->spec->namespace, v->spec->name);
	for (unsigned p = 0; p < v->n_ports; p++)
		for (unsigned i = 0; i < v->ports[p].n_be && l < n; i++) {
			char ip[SL_IP_STR_MAX];
			l += (size_t)snprintf(out + l, n - l, " %u>%s:%u/%x", v->ports[p].port->port,
					      sl_ip_fmt(v->ports[p].be[i].ip, ip), v->ports[p].be[i].port,
					      v->ports[p].be[i].flags);
		}
}

static int rec_changed(void *ctx, const struct sl_svc_view *v, char *err, size_t n)
{
	if (rec.fail_in && --rec.fail_in == 0)
		return snprintf(err, n, "frontend: table full"), -ENOSPC;
	assert_true(v->svc->id < MAXS);
	rec.present[v->svc->id] = true;
	view_sig(v, rec.sig[v->svc->id], sizeof(rec.sig[0]));
	rec.changed++;
	return 0;
}

static void rec_deleted(void *ctx, struct sl_model_svc *s)
{
	assert_true(rec.present[s->id]);
	rec.present[s->id] = false;
	rec.deleted++;
}

/* The hooks' copy equals the model: every proxied Service with its current view. */
static void check_rec(struct sl_model *m)
{
	bool seen[MAXS] = { 0 };
	struct sl_model_svc *s;
	for (uint32_t id = 0; (s = sl_model_svc_next(m, &id));) {
		seen[s->id] = true;
		if (!sl_svc_proxied(s->spec)) {
			assert_false(rec.present[s->id]);
			continue;
		}
		struct sl_svc_view *v;
		char sig[512];
		assert_int_equal(sl_svc_view_build(m, s, &v), 0);
		view_sig(v, sig, sizeof(sig));
		sl_svc_view_free(v);
		assert_true(rec.present[s->id]);
		assert_string_equal(rec.sig[s->id], sig);
	}
	for (int i = 0; i < MAXS; i++)
		if (!seen[i])
			assert_false(rec.present[i]);
	/* No two proxied Services share a cluster IP:port/protocol or a node port. */
	struct sl_model_svc *a, *b;
	for (uint32_t i = 0; (a = sl_model_svc_next(m, &i));)
		for (uint32_t j = i; (b = sl_model_svc_next(m, &j));) {
			if (!sl_svc_proxied(a->spec) || !sl_svc_proxied(b->spec))
				continue;
			for (unsigned p = 0; p < a->spec->n_ports; p++)
				for (unsigned q = 0; q < b->spec->n_ports; q++) {
					const struct sl_svc_port *x = &a->spec->ports[p], *y = &b->spec->ports[q];
					if (x->protocol != y->protocol)
						continue;
					assert_false(x->node_port && x->node_port == y->node_port);
					assert_false(x->port == y->port && a->spec->n_cluster_ips &&
						     b->spec->n_cluster_ips &&
						     a->spec->cluster_ips[0].v4 == b->spec->cluster_ips[0].v4);
				}
		}
}

static struct sl_model *hooked_model(const struct sl_model_limits *l)
{
	memset(&rec, 0, sizeof(rec));
	struct sl_model *m = new_model(l);
	struct sl_model_hooks h = { .svc_changed = rec_changed, .svc_deleted = rec_deleted };
	sl_model_set_hooks(m, &h);
	return m;
}

static void test_batches(void **state)
{
	struct sl_model *m = hooked_model(&(struct sl_model_limits){ 10, 10, 10, 3, 4 });
	char a[4096], b[4096]; /* svc() returns rotating buffers */
	snprintf(a, sizeof(a), "%s", svc("a", "ClusterIP", "10.96.0.1", "[{'port':80}]", ""));
	snprintf(b, sizeof(b), "%s", svc("b", "ClusterIP", "10.96.0.2", "[{'port':80}]", ""));
	/* One batch: one hook call per Service, however many of its slices came along. */
	APPLY_OK(m, list(a, slice("a-1", "a", "[" R("10.0.0.1", "node1") "]", "[{'port':80}]"),
			 slice("a-2", "a", "[" R("10.0.0.2", "node1") "]", "[{'port':80}]")));
	assert_int_equal(rec.changed, 1);
	check_rec(m);
	/* A hook failing on the 2nd Service: the whole batch undone, the 1st told again. */
	rec.fail_in = 2;
	APPLY_ERR(m, list(svc("a", "ClusterIP", "10.96.0.1", "[{'port':81}]", ""), b, NULL),
		  -ENOSPC, "service default/b.frontend: table full");
	assert_null(sl_model_svc_find(m, "default", "b"));
	assert_int_equal(sl_model_svc_find(m, "default", "a")->spec->ports[0].port, 80);
	check_rec(m);
	/* Limits: 3 Services; a batch creating 3 more fails at the 2nd, nothing stays. */
	APPLY_OK(m, b);
	unsigned before = rec.changed;
	APPLY_ERR(m, list(svc("c", "ClusterIP", "10.96.0.3", "[{'port':80}]", ""),
			  svc("d", "ClusterIP", "10.96.0.4", "[{'port':80}]", ""),
			  svc("e", "ClusterIP", "10.96.0.5", "[{'port':80}]", "")),
		  -ENOSPC, "items[1]: service limit reached (3)");
	assert_null(sl_model_svc_find(m, "default", "c"));
	assert_int_equal(rec.changed, before); /* refused before any hook */
	check_rec(m);
	/* Slices: 4 at most. */
	APPLY_ERR(m, list(slice("b-1", "b", "[]", "[]"), slice("b-2", "b", "[]", "[]"),
			  slice("b-3", "b", "[]", "[]")),
		  -ENOSPC, "items[2]: endpointslice limit reached (4)");
	assert_null(sl_model_slice_find(m, "default", "b-1"));
	/* Delete of an unknown object. */
	char err[400];
	assert_int_equal(sl_model_svc_del(m, "default", "zz", err, sizeof(err)), -ENOENT);
	assert_string_equal(err, "service default/zz not found");
	assert_int_equal(sl_model_slice_del(m, "default", "zz", err, sizeof(err)), -ENOENT);
	assert_string_equal(err, "endpointslice default/zz not found");
	/* A slice delete re-resolves its Service. */
	assert_int_equal(sl_model_slice_del(m, "default", "a-2", err, sizeof(err)), 0);
	assert_string_equal(selected(m, "a", 0, SL_BE_INTERNAL), "10.0.0.1:80");
	check_rec(m);
	/* Headless, another proxy's, ExternalName: kept, never handed to the hooks. */
	APPLY_OK(m, J("{'kind':'Service','metadata':{'name':'a','labels':{"
		      "'service.kubernetes.io/service-proxy-name':'other'}},'spec':{'ports':[{'port':80}]}}"));
	assert_false(rec.present[sl_model_svc_find(m, "default", "a")->id]);
	assert_int_equal(rec.deleted, 1);
	check_rec(m);
	APPLY_OK(m, J("{'kind':'Service','metadata':{'name':'a'},'spec':{'clusterIP':'None'}}"));
	check_rec(m);
	APPLY_OK(m, a); /* proxied again */
	assert_true(rec.present[sl_model_svc_find(m, "default", "a")->id]);
	check_rec(m);
	/* Delete and re-create in one batch. */
	struct sl_k8s_op ops[2] = { { .kind = SL_K8S_SERVICE, .del = true, .namespace = "default",
				      .name = "a" } };
	struct sl_k8s_op *dec;
	unsigned n;
	assert_int_equal(sl_k8s_decode_text(a, strlen(a), &dec, &n, err, sizeof(err)), 0);
	ops[1] = dec[0];
	dec[0].svc = NULL;
	sl_k8s_ops_free(dec, n);
	assert_int_equal(sl_model_k8s_apply(m, ops, 2, err, sizeof(err)), 0);
	assert_null(ops[1].svc);
	check_rec(m);
	/* A slice before its Service, a Service created then deleted, then a hook failing:
	 * all undone (under ASan: nothing freed twice or used after). */
	assert_int_equal(sl_model_svc_del(m, "default", "b", err, sizeof(err)), 0);
	struct sl_k8s_op *o2;
	unsigned n2;
	const char *l2 = list(slice("x-1", "x", "[" R("10.0.0.7", "node1") "]", "[{'port':80}]"),
			      svc("x", "ClusterIP", "10.96.0.7", "[{'port':80}]", ""),
			      svc("y", "ClusterIP", "10.96.0.8", "[{'port':80}]", ""));
	assert_int_equal(sl_k8s_decode_text(l2, strlen(l2), &o2, &n2, err, sizeof(err)), 0);
	struct sl_k8s_op batch[5] = { o2[0], o2[1],
				      { .kind = SL_K8S_SERVICE, .del = true, .namespace = "default",
					.name = "x", .path = "del-x" },
				      o2[2],
				      { .kind = SL_K8S_SERVICE, .del = true, .namespace = "default",
					.name = "a", .path = "del-a" } };
	free(o2);
	unsigned calls = rec.changed, dels = rec.deleted;
	rec.fail_in = 1; /* y, the only Service told before a's deletion... fails */
	assert_int_equal(sl_model_k8s_apply(m, batch, 5, err, sizeof(err)), -ENOSPC);
	assert_null(sl_model_svc_find(m, "default", "x"));
	assert_null(sl_model_svc_find(m, "default", "y"));
	assert_non_null(sl_model_svc_find(m, "default", "a"));
	assert_null(sl_model_slice_find(m, "default", "x-1"));
	check_rec(m);
	/* a was told deleted first, then restored. */
	assert_int_equal(rec.deleted, dels + 1);
	assert_int_equal(rec.changed, calls + 1);
	rec.fail_in = 0;
	assert_int_equal(sl_model_k8s_apply(m, batch, 5, err, sizeof(err)), 0);
	assert_null(sl_model_svc_find(m, "default", "x"));
	assert_non_null(sl_model_svc_find(m, "default", "y"));
	assert_non_null(sl_model_slice_find(m, "default", "x-1")); /* orphan, as in Kubernetes */
	check_rec(m);
	for (int i = 0; i < 5; i++)
		assert_true(batch[i].svc == NULL && batch[i].slice == NULL);
	/* Frontends: one Service per cluster IP:port/protocol and per node port; a batch may
	 * move one from a Service to another. */
	APPLY_ERR(m, list(svc("z", "ClusterIP", "10.96.0.8", "[{'port':80}]", ""), NULL, NULL),
		  -EEXIST, "items[0].spec.ports[0]: 10.96.0.8:80/TCP is already a frontend of "
			   "service default/y");
	APPLY_OK(m, list(svc("z", "ClusterIP", "10.96.0.8", "[{'port':81}]", ""), NULL, NULL));
	APPLY_OK(m, list(svc("y", "ClusterIP", "10.96.0.9", "[{'port':80}]", ""),
			 svc("z", "ClusterIP", "10.96.0.8", "[{'port':80}]", ""), NULL));
	check_rec(m);
	assert_int_equal(sl_model_svc_del(m, "default", "z", err, sizeof(err)), 0);
	APPLY_OK(m, list(svc("n1", "NodePort", "10.96.0.20", "[{'port':80,'nodePort':30080}]", ""),
			 NULL, NULL));
	APPLY_ERR(m, svc("n2", "NodePort", "10.96.0.21", "[{'port':8080,'nodePort':30080}]", ""),
		  -EEXIST, "spec.ports[0].nodePort: node port 30080/TCP is already used by service "
			   "default/n1");
	APPLY_OK(m, svc("n2", "NodePort", "10.96.0.21",
			"[{'port':8080,'protocol':'UDP','nodePort':30080}]", ""));
	check_rec(m);
	assert_int_equal(sl_model_svc_del(m, "default", "n1", err, sizeof(err)), 0);
	assert_int_equal(sl_model_svc_del(m, "default", "n2", err, sizeof(err)), 0);
	struct sl_model_counts c;
	sl_model_counts(m, &c);
	assert_int_equal(c.services, 1); /* y: a and b deleted */
	assert_int_equal(c.slices, 2);  /* a-1, x-1 */
	sl_model_destroy(m);
}

/* Random applies and deletes of Services and slices, with hooks failing at random: after
 * every batch the hooks' copy equals the model (run under ASan: no leak, no stale ring). */
static void test_churn(void **state)
{
	struct sl_model *m = hooked_model(&(struct sl_model_limits){ 10, 10, 10, 12, 40 });
	srand(7);
	unsigned clashes = 0;
	char text[16384], eps[4096];
	for (int round = 0; round < 3000; round++) {
		int k = rand() % 16, what = rand() % 10;
		char name[32], sname[32], err[400];
		snprintf(name, sizeof(name), "s%d", k);
		snprintf(sname, sizeof(sname), "s%d-%d", k, rand() % 4);
		rec.fail_in = rand() % 10 == 0 ? 1 + rand() % 2 : 0;
		if (what < 3) {
			const char *types[] = { "ClusterIP", "NodePort" };
			const char *ex[] = { "", "'externalTrafficPolicy':'Local'",
					     "'internalTrafficPolicy':'Local'", "'clusterIP':'None'" };
			char cip[32];
			snprintf(cip, sizeof(cip), "10.96.1.%d", k % 10); /* some clash */
			snprintf(text, sizeof(text), "%s",
				 svc(name, types[rand() % 2], cip,
				     rand() % 2 ? "[{'name':'a','port':80,'nodePort':30001},"
						  "{'name':'b','protocol':'UDP','port':53}]"
						: "[{'name':'a','port':80}]",
				     ex[rand() % 4]));
			if (strstr(text, "'clusterIP':'None'") || strstr(text, "\"clusterIP\":\"None\""))
				continue;
			/* NodePort only with the NodePort type. */
			if (strstr(text, "ClusterIP\"") && strstr(text, "nodePort"))
				continue;
			int rc = apply(m, text, err, sizeof(err));
			assert_true(rc == 0 || rc == -ENOSPC || rc == -EEXIST);
			clashes += rc == -EEXIST;
		} else if (what < 7) {
			size_t l = 0;
			int ne = rand() % 5;
			l += (size_t)snprintf(eps + l, sizeof(eps) - l, "[");
			for (int e = 0; e < ne; e++)
				l += (size_t)snprintf(eps + l, sizeof(eps) - l,
						      "%s{'addresses':['10.0.0.%d'],'nodeName':'node%d',"
						      "'conditions':{'ready':%s,'serving':%s,"
						      "'terminating':%s}}",
						      e ? "," : "", rand() % 6 + 1, rand() % 2 + 1,
						      rand() % 2 ? "true" : "false",
						      rand() % 2 ? "true" : "false",
						      rand() % 2 ? "true" : "false");
			snprintf(eps + l, sizeof(eps) - l, "]");
			snprintf(text, sizeof(text), "%s",
				 slice(sname, rand() % 8 ? name : "s0", J(eps),
				       J(rand() % 2 ? "[{'name':'a','port':8080},{'name':'b','protocol':'UDP','port':53}]"
						    : "[{'name':'a','port':8081}]")));
			int rc = apply(m, text, err, sizeof(err));
			assert_true(rc == 0 || rc == -ENOSPC);
		} else if (what < 9) {
			int rc = sl_model_slice_del(m, "default", sname, err, sizeof(err));
			assert_true(rc == 0 || rc == -ENOENT || rc == -ENOSPC);
		} else {
			int rc = sl_model_svc_del(m, "default", name, err, sizeof(err));
			assert_true(rc == 0 || rc == -ENOENT);
		}
		check_rec(m);
	}
	struct sl_model_counts c;
	sl_model_counts(m, &c);
	print_message("churn: %u hook calls, %u deletes, %u frontend clashes refused; %u "
		      "Services, %u slices at the end\n", rec.changed, rec.deleted, clashes,
		      c.services, c.slices);
	assert_true(rec.changed > 500 && c.services > 3 && c.slices > 3 && clashes > 10);
	sl_model_destroy(m);
	for (int i = 0; i < MAXS; i++)
		assert_false(rec.present[i]); /* destroy told the hooks */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_batches),
		cmocka_unit_test(test_churn),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
