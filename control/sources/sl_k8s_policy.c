/* The kinds NetworkPolicy needs (Namespace, Pod, NetworkPolicy) in a Kubernetes document:
 * which kinds are decoded here and the dispatch to their decoders, sl_k8s_namespace.c,
 * sl_k8s_pod.c and sl_k8s_netpol.c (see sl_k8s_policy.h). */
#include <string.h>

#include "sl_k8s_policy.h"

bool sl_k8s_policy_kind(const char *kind)
{
	return kind && (!strcmp(kind, "Namespace") || !strcmp(kind, "Pod") ||
			!strcmp(kind, "NetworkPolicy"));
}

const char *sl_k8s_policy_list_kind(const char *k)
{
	return !strcmp(k, "NamespaceList") ? "Namespace" : !strcmp(k, "PodList") ? "Pod"
	       : !strcmp(k, "NetworkPolicyList") ? "NetworkPolicy" : NULL;
}

int sl_k8s_policy_decode(const cJSON *o, const char *path, const char *kind,
			 struct sl_k8s_op *op, char *err, size_t n)
{
	if (!strcmp(kind, "Namespace")) {
		op->kind = SL_K8S_NAMESPACE;
		return sl_k8s_parse_namespace(o, path, &op->ns, err, n);
	}
	if (!strcmp(kind, "Pod")) {
		op->kind = SL_K8S_POD;
		return sl_k8s_parse_pod(o, path, &op->pod, err, n);
	}
	op->kind = SL_K8S_POLICY;
	return sl_k8s_parse_policy(o, path, &op->policy, err, n);
}
