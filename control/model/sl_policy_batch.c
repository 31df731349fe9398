/* Batches of Kubernetes objects (sl_model_k8s_apply): the policy objects stored first and
 * undone if the Services' part fails, then the Services and slices (sl_service.c), then the
 * policy part committed and the reconciler told; and the one-object deletes. Control
 * thread. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "sl_policy_int.h"

#define ERR(...) (snprintf(err, errlen, __VA_ARGS__))

void sl_k8s_op_free_policy(struct sl_k8s_op *op)
{
	sl_ns_spec_free(op->ns);
	sl_kpod_spec_free(op->pod);
	sl_np_spec_free(op->policy);
	op->ns = NULL;
	op->pod = NULL;
	op->policy = NULL;
}

static void undo_all(struct sl_pol_store *st, struct sl_named_undo *u, unsigned n)
{
	while (n--)
		pol_obj_unstore(st, &u[n]);
}

static bool is_pol_kind(enum sl_k8s_kind k)
{
	return k == SL_K8S_NAMESPACE || k == SL_K8S_POD || k == SL_K8S_POLICY;
}

static void *op_spec(const struct sl_k8s_op *op)
{
	return op->kind == SL_K8S_NAMESPACE ? (void *)op->ns
	       : op->kind == SL_K8S_POD     ? (void *)op->pod
					    : (void *)op->policy;
}

/* The batch: policy objects stored first (undone if the Services' part fails), then the
 * Services and slices through sl_model_svc_apply, then the policy part committed. */
int sl_model_k8s_apply(struct sl_model *m, struct sl_k8s_op *ops, unsigned n, char *err,
		       size_t errlen)
{
	struct sl_pol_store *st = sl_model_pols(m);
	unsigned npol = 0, nsvc = 0, i, k;
	char why[400];
	unsigned npods = 0;
	int rc = 0;
	for (i = 0; i < n; i++) {
		npol += is_pol_kind(ops[i].kind);
		npods += ops[i].kind == SL_K8S_POD;
	}
	if (!npol)
		return sl_model_svc_apply(m, ops, n, err, errlen);
	nsvc = n - npol;
	struct sl_named_undo *u = calloc(npol, sizeof(*u));
	struct sl_k8s_op *svc = nsvc ? calloc(nsvc, sizeof(*svc)) : NULL;
	if (!u || (nsvc && !svc)) {
		free(u);
		free(svc);
		return ERR("out of memory"), -ENOMEM;
	}
	st->coarse = npods >= SL_POL_COARSE_PODS;
	for (i = 0, k = 0; i < n; i++) {
		struct sl_k8s_op *op = &ops[i];
		if (!is_pol_kind(op->kind))
			continue;
		if (!op->del && !op_spec(op)) {
			snprintf(why, sizeof(why), "nothing to apply");
			rc = -EINVAL;
		} else {
			rc = pol_obj_store(st, m, op, &u[k], why, sizeof(why));
		}
		if (rc < 0) {
			undo_all(st, u, k);
			sl_model_err_path(err, errlen, op->path[0] ? op->path : "object", why, false);
			goto out;
		}
		k++;
	}
	if (nsvc) {
		for (i = 0, k = 0; i < n; i++)
			if (!is_pol_kind(ops[i].kind))
				svc[k++] = ops[i];
		if ((rc = sl_model_svc_apply(m, svc, nsvc, err, errlen)) < 0) {
			undo_all(st, u, npol);
			goto out;
		}
		for (i = 0, k = 0; i < n; i++)
			if (!is_pol_kind(ops[i].kind)) {
				ops[i].svc = svc[k].svc;
				ops[i].slice = svc[k++].slice;
			}
	}
	/* Commit: the model owns the applied specs; free what was replaced or deleted. */
	for (i = 0, k = 0; i < n; i++) {
		if (!is_pol_kind(ops[i].kind))
			continue;
		pol_obj_commit(&u[k++]);
		ops[i].ns = NULL;
		ops[i].pod = NULL;
		ops[i].policy = NULL;
	}
	if (st->changed) {
		st->generation++;
		if (st->notify)
			st->notify(st->notify_ctx, st->generation);
	}
out:
	st->coarse = false;
	free(u);
	free(svc);
	return rc;
}

int sl_model_ns_del(struct sl_model *m, const char *name, char *err, size_t errlen)
{
	return sl_model_k8s_del_one(m, SL_K8S_NAMESPACE, "", name, err, errlen);
}

int sl_model_kpod_del(struct sl_model *m, const char *ns, const char *name, char *err,
		      size_t errlen)
{
	return sl_model_k8s_del_one(m, SL_K8S_POD, ns, name, err, errlen);
}

int sl_model_policy_del(struct sl_model *m, const char *ns, const char *name, char *err,
			size_t errlen)
{
	return sl_model_k8s_del_one(m, SL_K8S_POLICY, ns, name, err, errlen);
}
