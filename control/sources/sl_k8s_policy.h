/* Decoders of the objects NetworkPolicy needs (issue 12): v1 Namespace, v1 Pod and
 * networking.k8s.io/v1 NetworkPolicy, as JSON, into the specs of sl_policy.h. Called by
 * sl_k8s_decode (documents, Lists), the static config (its "namespaces", "k8s_pods" and
 * "networkpolicies" arrays) and the persisted state.
 *
 * As sl_k8s.c: unknown fields are ignored, null counts as absent, a wrong field refuses
 * the object with its path and reason ("spec.ingress[0].from[1].ipBlock.except[0]: '10.1.0.0/16'
 * is not inside cidr 10.0.0.0/16"). Empty and absent follow the API documentation
 * (from/to/ports absent or empty: every peer/port; policyTypes absent or empty: Ingress, and
 * Egress when spec.egress has rules). Everything an outsider controls is bounded
 * (SL_POL_MAX_* in sl_policy.h). No DPDK; any thread. */
#pragma once
#include <stdbool.h>
#include <stddef.h>

#include <cjson/cJSON.h>

#include "model/sl_policy.h"

/* Whether kind ("Namespace", "Pod", "NetworkPolicy") is decoded here; for a List kind
 * ("NamespaceList", ...) the item kind, or NULL. */
bool sl_k8s_policy_kind(const char *kind);
const char *sl_k8s_policy_list_kind(const char *list_kind);

/* Decode object o of kind (one sl_k8s_policy_kind accepts) into op (kind and spec set).
 * Returns 0, -EINVAL with err set, or -ENOMEM. */
int sl_k8s_policy_decode(const cJSON *o, const char *path, const char *kind,
			 struct sl_k8s_op *op, char *err, size_t errlen);

/* One object of a known kind ("kind" may be absent); path prefixes error messages.
 * Return 0 with *ret (heap, sl_*_spec_free) or -EINVAL / -ENOMEM with err set. */
int sl_k8s_parse_namespace(const cJSON *o, const char *path, struct sl_ns_spec **ret,
			   char *err, size_t errlen);
int sl_k8s_parse_pod(const cJSON *o, const char *path, struct sl_kpod_spec **ret, char *err,
		     size_t errlen);
int sl_k8s_parse_policy(const cJSON *o, const char *path, struct sl_np_spec **ret, char *err,
			size_t errlen);

/* The object as JSON the decoder reads back to the same spec (persisted state). */
cJSON *sl_k8s_encode_namespace(const struct sl_ns_spec *s);
cJSON *sl_k8s_encode_pod(const struct sl_kpod_spec *s);
cJSON *sl_k8s_encode_policy(const struct sl_np_spec *s);
