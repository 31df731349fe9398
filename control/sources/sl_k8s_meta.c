/* The field checks the Namespace, Pod and NetworkPolicy decoders share (see
 * sl_k8s_policy_int.h): booleans, integers, DNS names, label keys and values, labels and
 * metadata. Validation follows the API server's (k8s.io/apimachinery validation). */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sl_k8s_field.h"
#include "sl_k8s_policy.h"
#include "sl_k8s_policy_int.h"

int sl_k8s_get_bool(const cJSON *o, const char *base, const char *key, bool *ret, char *err,
		    size_t n)
{
	char p[SL_K8S_PATH_MAX];
	const cJSON *v = sl_k8s_get(o, key);
	*ret = false;
	if (!v)
		return 0;
	if (!cJSON_IsBool(v))
		return sl_k8s_fail(err, n, sl_k8s_sub(p, base, key), "must be true or false");
	*ret = cJSON_IsTrue(v);
	return 0;
}

/* An integer in [min, max] from v (path names it). */
int sl_k8s_int_of(const cJSON *v, const char *path, long min, long max, long *out, char *err,
		  size_t n)
{
	if (!cJSON_IsNumber(v) || v->valuedouble != (double)(long)v->valuedouble)
		return sl_k8s_fail(err, n, path, "must be an integer");
	if (!(v->valuedouble >= (double)min && v->valuedouble <= (double)max))
		return sl_k8s_fail(err, n, path, "must be %ld-%ld", min, max);
	*out = (long)v->valuedouble;
	return 0;
}

/* DNS-1123 label (max 63) or subdomain (max 253). Returns a reason or NULL. */
const char *sl_k8s_dns_name(const char *s, size_t max)
{
	size_t len = strlen(s);
	if (!len)
		return "must not be empty";
	if (len > max)
		return max == 63 ? "longer than 63 characters" : "longer than 253 characters";
	for (size_t i = 0; i < len; i++)
		if (!(islower((unsigned char)s[i]) || isdigit((unsigned char)s[i]) || s[i] == '-' ||
		      (s[i] == '.' && max > 63)))
			return "must consist of lower case alphanumerics, '-' (and '.' in names)";
	if (!isalnum((unsigned char)s[0]) || !isalnum((unsigned char)s[len - 1]))
		return "must start and end with an alphanumeric character";
	return NULL;
}

/* The name part of a qualified name, or a label value (may be empty when value). */
const char *sl_k8s_label_part(const char *s, size_t len, bool value)
{
	if (!len)
		return value ? NULL : "name part must not be empty";
	if (len > 63)
		return "longer than 63 characters";
	for (size_t i = 0; i < len; i++)
		if (!(isalnum((unsigned char)s[i]) || s[i] == '-' || s[i] == '_' || s[i] == '.'))
			return "must consist of alphanumerics, '-', '_' or '.'";
	if (!isalnum((unsigned char)s[0]) || !isalnum((unsigned char)s[len - 1]))
		return "must start and end with an alphanumeric character";
	return NULL;
}

/* A label key: [prefix/]name (apimachinery IsQualifiedName). */
const char *sl_k8s_label_key(const char *s)
{
	const char *slash = strchr(s, '/');
	if (!slash)
		return sl_k8s_label_part(s, strlen(s), false);
	if (strchr(slash + 1, '/'))
		return "must have at most one '/'";
	char prefix[254];
	size_t plen = (size_t)(slash - s);
	if (!plen || plen > 253)
		return "prefix must be 1-253 characters";
	memcpy(prefix, s, plen);
	prefix[plen] = 0;
	if (sl_k8s_dns_name(prefix, 253))
		return "prefix must be a DNS subdomain";
	return sl_k8s_label_part(slash + 1, strlen(slash + 1), false);
}

int sl_k8s_check_name(const char *s, const char *path, size_t max, char *err, size_t n)
{
	const char *why = sl_k8s_dns_name(s, max);
	return why ? sl_k8s_fail(err, n, path, "'%.64s' %s", s, why) : 0;
}

/* Labels (an object of strings) into l. */
int sl_k8s_parse_labels(const cJSON *v, const char *path, struct sl_labels *l, char *err,
			size_t n)
{
	char p[SL_K8S_PATH_MAX];
	const cJSON *e;
	if (sl_k8s_want_obj(v, path, err, n))
		return -EINVAL;
	int c = cJSON_GetArraySize(v);
	if (c > SL_POL_MAX_LABELS)
		return sl_k8s_fail(err, n, path, "more than %d labels", SL_POL_MAX_LABELS);
	if (!c)
		return 0;
	if (!(l->v = calloc((size_t)c, sizeof(*l->v))))
		return -ENOMEM;
	cJSON_ArrayForEach(e, v)
	{
		const char *why;
		if (snprintf(p, sizeof(p), "%s[\"%.64s\"]", path, e->string) < 0)
			p[0] = 0;
		if ((why = sl_k8s_label_key(e->string)))
			return sl_k8s_fail(err, n, p, "key %s", why);
		if (!cJSON_IsString(e))
			return sl_k8s_fail(err, n, p, "must be a string");
		if ((why = sl_k8s_label_part(e->valuestring, strlen(e->valuestring), true)))
			return sl_k8s_fail(err, n, p, "value '%.64s' %s", e->valuestring, why);
		struct sl_label *lb = &l->v[l->n];
		if (!(lb->key = strdup(e->string)) || !(lb->value = strdup(e->valuestring))) {
			free(lb->key);
			lb->key = NULL;
			return -ENOMEM;
		}
		l->n++;
	}
	if (sl_labels_sort(l))
		return sl_k8s_fail(err, n, path, "a key repeats");
	return 0;
}

/* metadata: name (DNS subdomain or label), namespace (default "default" unless none),
 * labels. */
int sl_k8s_pol_meta(const cJSON *o, const char *base, char *name, size_t name_max, char *ns,
		    struct sl_labels *labels, char *err, size_t n)
{
	char p[SL_K8S_PATH_MAX], q[SL_K8S_PATH_MAX];
	const cJSON *md = sl_k8s_get(o, "metadata"), *lb;
	sl_k8s_sub(p, base, "metadata");
	if (!md)
		return sl_k8s_fail(err, n, p, "missing");
	if (sl_k8s_want_obj(md, p, err, n) ||
	    sl_k8s_get_str(md, p, "name", true, name, name_max, err, n) ||
	    sl_k8s_check_name(name, sl_k8s_sub(q, p, "name"), name_max > SL_K8S_NS_MAX ? 253 : 63, err, n))
		return -EINVAL;
	if (ns) {
		if (sl_k8s_get_str(md, p, "namespace", false, ns, SL_K8S_NS_MAX, err, n))
			return -EINVAL;
		if (!ns[0])
			snprintf(ns, SL_K8S_NS_MAX, "default");
		else if (sl_k8s_check_name(ns, sl_k8s_sub(q, p, "namespace"), 63, err, n))
			return -EINVAL;
	}
	if (labels && (lb = sl_k8s_get(md, "labels")))
		return sl_k8s_parse_labels(lb, sl_k8s_sub(q, p, "labels"), labels, err, n);
	return 0;
}

int sl_k8s_nomem(int rc, const char *base, char *err, size_t n)
{
	if (rc == -ENOMEM)
		snprintf(err, n, "%s: out of memory", base[0] ? base : "object");
	return rc;
}
