/* Internal to the decoders of the kinds NetworkPolicy needs (sl_k8s_namespace.c,
 * sl_k8s_pod.c, sl_k8s_netpol.c): the field checks they share (sl_k8s_meta.c). Each
 * returns 0, or -EINVAL with err set to "path: reason" (sl_k8s_fail), or -ENOMEM where it
 * allocates; the const char * ones return a reason or NULL. No DPDK; any thread. */
#pragma once
#include <stdbool.h>
#include <stddef.h>

#include <cjson/cJSON.h>

#include "model/sl_policy.h"

/* o[key] as a boolean into *ret (false when absent); base names o. */
int sl_k8s_get_bool(const cJSON *o, const char *base, const char *key, bool *ret, char *err,
		    size_t n);
/* An integer in [min, max] from v (path names it) into *out. */
int sl_k8s_int_of(const cJSON *v, const char *path, long min, long max, long *out, char *err,
		  size_t n);
/* Whether s is a DNS-1123 label (max 63) or subdomain (max 253): NULL, or the reason. */
const char *sl_k8s_dns_name(const char *s, size_t max);
/* Whether s[0..len) is the name part of a qualified name, or a label value (value: may be
 * empty): NULL, or the reason. */
const char *sl_k8s_label_part(const char *s, size_t len, bool value);
/* Whether s is a label key, [prefix/]name (apimachinery IsQualifiedName): NULL, or the
 * reason. */
const char *sl_k8s_label_key(const char *s);
/* sl_k8s_dns_name(s, max) as an error naming path and s. */
int sl_k8s_check_name(const char *s, const char *path, size_t max, char *err, size_t n);
/* Labels (an object of strings, at most SL_POL_MAX_LABELS) into l, sorted; keys unique. */
int sl_k8s_parse_labels(const cJSON *v, const char *path, struct sl_labels *l, char *err,
			size_t n);
/* o.metadata: name (a DNS subdomain, or a label when name_max is SL_K8S_NS_MAX) into name;
 * when ns is not NULL, namespace (default "default") into ns (SL_K8S_NS_MAX); when labels is
 * not NULL, labels into labels. */
int sl_k8s_pol_meta(const cJSON *o, const char *base, char *name, size_t name_max, char *ns,
		    struct sl_labels *labels, char *err, size_t n);
/* rc, with err set to "<base>: out of memory" when rc is -ENOMEM (the decoders' exit). */
int sl_k8s_nomem(int rc, const char *base, char *err, size_t n);
