/* Internal to control/model/: what sl_service.c needs of the model and the model of it.
 * Control thread. */
#pragma once
#include <stddef.h>

#include "sl_model.h"

struct sl_svc_store;
struct sl_k8s_op;

/* The Service store of a new model (NULL: out of memory); limits may be NULL. */
struct sl_svc_store *sl_svc_store_create(const struct sl_model_limits *limits);
/* Delete every Service and slice of m (svc_deleted hooks called) and free the store. */
void sl_svc_store_destroy(struct sl_model *m);
/* How many Services and slices m holds, and the heap they take. */
void sl_svc_store_counts(const struct sl_svc_store *st, unsigned *ret_svcs,
			 unsigned *ret_slices, size_t *ret_bytes);

struct sl_svc_store *sl_model_svcs(const struct sl_model *m);
const struct sl_model_hooks *sl_model_hooks(const struct sl_model *m);

/* sl_model_k8s_apply for a batch of Services and EndpointSlices only (sl_service.c);
 * sl_model_k8s_apply (sl_policy_batch.c) wraps it with the policy objects. */
int sl_model_svc_apply(struct sl_model *m, struct sl_k8s_op *ops, unsigned n, char *err,
		       size_t errlen);
/* Free the policy specs an op holds (sl_policy_batch.c). */
void sl_k8s_op_free_policy(struct sl_k8s_op *op);

struct sl_pol_store;
struct sl_pol_store *sl_model_pols(const struct sl_model *m);
