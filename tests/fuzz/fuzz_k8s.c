/* libFuzzer target: the Kubernetes object decoder (control/sources/sl_k8s.c), then the
 * decoded batch applied to a small model (limits, rings, rollback when a hook fails), every
 * Service's view built, the Service tables shown, the objects encoded and decoded again. */
#include <stddef.h>
#include <stdint.h>
#include <errno.h>
#include <stdlib.h>

#include "control/core/sl_show_svc.h"
#include "control/sources/sl_k8s.h"
#include "control/sources/sl_k8s_policy.h"
#include "control/core/sl_show_pol.h"

static unsigned calls;

/* Fails every 5th call: exercises the batch rollback. */
static int changed(void *ctx, const struct sl_svc_view *v, char *err, size_t n)
{
	return ++calls % 5 == 0 ? -ENOSPC : 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sl_k8s_op *ops;
	unsigned n;
	char err[400];
	if (sl_k8s_decode_text((const char *)data, size, &ops, &n, err, sizeof(err)))
		return 0;
	struct sl_model_self self = { .node_name = "node1" };
	struct sl_model *m = sl_model_create(&self, &(struct sl_model_limits){ 1, 1, 1, 8, 16 });
	if (!m) {
		sl_k8s_ops_free(ops, n);
		return 0;
	}
	struct sl_model_hooks h = { .svc_changed = changed };
	sl_model_set_hooks(m, &h);
	calls = 0;
	sl_model_k8s_apply(m, ops, n, err, sizeof(err)); /* may fail: then nothing changed */
	sl_k8s_ops_free(ops, n);
	/* Again: replaces what the first applied. */
	if (sl_k8s_decode_text((const char *)data, size, &ops, &n, err, sizeof(err)) == 0)
		sl_model_k8s_apply(m, ops, n, err, sizeof(err));
	else
		abort(); /* the same text decodes the same way */
	cJSON_Delete(sl_show_services(m));
	cJSON_Delete(sl_show_backends(m));
	struct sl_model_svc *s;
	for (uint32_t id = 0; (s = sl_model_svc_next(m, &id));) {
		cJSON *o = sl_k8s_encode_service(s->spec);
		struct sl_svc_spec *back;
		if (sl_k8s_parse_service(o, "", &back, err, sizeof(err)))
			abort(); /* what the model holds must survive the persisted state */
		sl_svc_spec_free(back);
		cJSON_Delete(o);
	}
	struct sl_model_slice *sl;
	for (uint32_t id = 0; (sl = sl_model_slice_next(m, &id));) {
		cJSON *o = sl_k8s_encode_slice(sl->spec);
		struct sl_slice_spec *back;
		if (sl_k8s_parse_slice(o, "", &back, err, sizeof(err)))
			abort();
		sl_slice_spec_free(back);
		cJSON_Delete(o);
	}
	/* NetworkPolicy: compile, show, check, and round trips of what the model holds. */
	struct sl_model_ns *mns;
	for (uint32_t id = 0; (mns = sl_model_ns_next(m, &id));) {
		cJSON *o = sl_k8s_encode_namespace(mns->spec);
		struct sl_ns_spec *back;
		if (sl_k8s_parse_namespace(o, "", &back, err, sizeof(err)))
			abort();
		sl_ns_spec_free(back);
		cJSON_Delete(o);
	}
	struct sl_model_kpod *kp;
	for (uint32_t id = 0; (kp = sl_model_kpod_next(m, &id));) {
		cJSON *o = sl_k8s_encode_pod(kp->spec);
		struct sl_kpod_spec *back;
		if (sl_k8s_parse_pod(o, "", &back, err, sizeof(err)))
			abort();
		sl_kpod_spec_free(back);
		cJSON_Delete(o);
		if (kp->spec->ip.af) {
			cJSON *c = sl_show_policy_check(m, "10.244.1.2", "10.244.1.3", 6, 80, err,
							sizeof(err));
			cJSON_Delete(c);
		}
	}
	struct sl_model_policy *mp;
	for (uint32_t id = 0; (mp = sl_model_policy_next(m, &id));) {
		cJSON *o = sl_k8s_encode_policy(mp->spec);
		struct sl_np_spec *back;
		if (sl_k8s_parse_policy(o, "", &back, err, sizeof(err)))
			abort();
		sl_np_spec_free(back);
		cJSON_Delete(o);
	}
	sl_model_policy_set(m);
	cJSON_Delete(sl_show_policies(m));
	sl_model_destroy(m);
	sl_k8s_ops_free(ops, n);
	return 0;
}
