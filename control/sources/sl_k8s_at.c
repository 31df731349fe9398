/* The fields of Services and EndpointSlices: paths, members, strings, integers, arrays,
 * kinds, protocols, names, enumerations and metadata (see sl_k8s_at.h). */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "sl_k8s_at.h"
#include "sl_k8s_policy_int.h"

const char *const sl_k8s_obj_keys[K_N] = { "kind", "apiVersion", "metadata", "spec", "status",
					   "addressType", "endpoints", "ports" };

/* The path as text into buf (SL_K8S_PATH_MAX bytes): what sl_k8s_sub and sl_k8s_idx
 * build step by step, cut at the same length. */
const char *sl_k8s_at_path(const struct at *a, char *buf)
{
	if (!a->up) {
		size_t l = strlen(a->key);
		if (l > SL_K8S_PATH_MAX - 1)
			l = SL_K8S_PATH_MAX - 1;
		memcpy(buf, a->key, l);
		buf[l] = 0;
		return buf;
	}
	char up[SL_K8S_PATH_MAX];
	sl_k8s_at_path(a->up, up);
	return a->key ? sl_k8s_sub(buf, up, a->key) : sl_k8s_idx(buf, up, a->idx);
}

/* The members of o named keys[0..nk) (nk <= 32) into v: the first of each name, NULL when
 * absent or null (as sl_k8s_get), in one walk of o's children. */
void sl_k8s_members(const cJSON *o, const char *const *keys, unsigned nk, const cJSON **v)
{
	uint32_t seen = 0;
	for (unsigned j = 0; j < nk; j++)
		v[j] = NULL;
	for (const cJSON *c = o ? o->child : NULL; c; c = c->next) {
		const char *s = c->string;
		if (!s) /* an array's elements */
			continue;
		for (unsigned j = 0; j < nk; j++) {
			if (s[0] == keys[j][0] && !(seen >> j & 1) && !strcmp(s, keys[j])) {
				seen |= 1u << j;
				v[j] = IS_NULL(c) ? NULL : c;
				break;
			}
		}
	}
}

int sl_k8s_at_obj(const cJSON *v, const struct at *a, char *err, size_t n)
{
	return IS_OBJ(v) ? 0 : FAIL(a, "must be an object");
}

/* An integer in [min, max] from v (the field at a, NULL when absent); *out unchanged
 * when absent. */
int sl_k8s_at_int(const cJSON *v, const struct at *a, bool required, long min, long max,
		  long *out, char *err, size_t n)
{
	if (!v)
		return required ? FAIL(a, "missing") : 0;
	if (!IS_NUM(v))
		return FAIL(a, "must be an integer");
	if (!(v->valuedouble >= (double)min && v->valuedouble <= (double)max)) /* NaN too; */
		return FAIL(a, "must be %ld-%ld", min, max);
	if (v->valuedouble != (double)(long)v->valuedouble)
		return FAIL(a, "must be an integer");
	*out = (long)v->valuedouble;
	return 0;
}

/* A string field of under max bytes: *ret is its text ("" when absent and optional) and
 * *ret_len its length. */
int sl_k8s_at_str_ref(const cJSON *v, const struct at *a, bool required, size_t max,
		      const char **ret, size_t *ret_len, char *err, size_t n)
{
	*ret = "";
	*ret_len = 0;
	if (!v)
		return required ? FAIL(a, "missing") : 0;
	if (!IS_STR(v))
		return FAIL(a, "must be a string");
	size_t len = strlen(v->valuestring);
	if (len >= max)
		return FAIL(a, "longer than %zu characters", max - 1);
	*ret = v->valuestring;
	*ret_len = len;
	return 0;
}

/* The same copied into out (max bytes with the NUL). */
int sl_k8s_at_str(const cJSON *v, const struct at *a, bool required, char *out, size_t max,
		  char *err, size_t n)
{
	const char *s;
	size_t len;
	out[0] = 0;
	if (sl_k8s_at_str_ref(v, a, required, max, &s, &len, err, n))
		return -EINVAL;
	memcpy(out, s, len + 1);
	return 0;
}

/* An array field: *ret_n 0 when absent; refused over max entries. */
int sl_k8s_at_array(const cJSON *v, const struct at *a, unsigned max, unsigned *ret_n,
		    char *err, size_t n)
{
	unsigned c = 0;
	*ret_n = 0;
	if (!v)
		return 0;
	if (!IS_ARR(v))
		return FAIL(a, "must be an array");
	for (const cJSON *e = v->child; e; e = e->next)
		if (++c > max)
			return FAIL(a, "more than %u entries", max);
	*ret_n = c;
	return 0;
}

/* "kind"/"apiVersion" (the members k and api), when present, must be this kind's. */
int sl_k8s_at_kind(const cJSON *k, const cJSON *api, const struct at *a, const char *kind,
		   const char *want_api, char *err, size_t n)
{
	if (k && (!IS_STR(k) || strcmp(k->valuestring, kind)))
		return FAIL(AT(a, "kind"), "must be %s", kind);
	if (api && (!IS_STR(api) || strcmp(api->valuestring, want_api)))
		return FAIL(AT(a, "apiVersion"), "must be %s for a %s", want_api, kind);
	return 0;
}

/* "protocol" (v): TCP (the default), UDP or SCTP, as IPPROTO_*. */
int sl_k8s_at_protocol(const cJSON *v, const struct at *a, uint8_t *ret, char *err, size_t n)
{
	const char *s = v && IS_STR(v) ? v->valuestring : "";
	if (v && (!IS_STR(v) || strlen(s) >= 8))
		return FAIL(a, "must be TCP, UDP or SCTP");
	if (!sl_k8s_proto_of(s, ret))
		return FAIL(a, "'%s' is not TCP, UDP or SCTP", s);
	return 0;
}

int sl_k8s_at_name(const char *s, const struct at *a, size_t max, bool rfc1035, char *err,
		   size_t n)
{
	const char *why = sl_k8s_dns_name(s, max);
	if (!why && rfc1035 && !(s[0] >= 'a' && s[0] <= 'z'))
		why = "must start with a letter";
	return why ? FAIL(a, "'%.64s' %s", s, why) : 0;
}

/* choices[i] for the string v (under 32 bytes); "" or absent gives 0. Returns the index or
 * -EINVAL. */
int sl_k8s_at_enum(const cJSON *v, const struct at *a, const char *const *choices,
		   const char *list, char *err, size_t n)
{
	const char *s;
	size_t len;
	if (sl_k8s_at_str_ref(v, a, false, 32, &s, &len, err, n))
		return -EINVAL;
	if (!s[0])
		return 0;
	for (int i = 0; choices[i]; i++)
		if (!strcmp(s, choices[i]))
			return i;
	return FAIL(a, "'%s' is not one of %s", s, list);
}

/* metadata (md): name, namespace (default "default"), and one label. */
int sl_k8s_at_meta(const cJSON *md, const struct at *obj, char *name, size_t name_max,
		   bool name_1035, char *ns, const char *label, char *label_out,
		   size_t label_max, bool *label_set, char *err, size_t n)
{
	static const char *const keys[] = { "name", "namespace", "labels" };
	const struct at *p = AT(obj, "metadata"), *pn = AT(p, "name"), *pns = AT(p, "namespace");
	const cJSON *v[3];
	if (!md)
		return FAIL(p, "missing");
	if (sl_k8s_at_obj(md, p, err, n))
		return -EINVAL;
	sl_k8s_members(md, keys, 3, v);
	if (sl_k8s_at_str(v[0], pn, true, name, name_max, err, n) ||
	    sl_k8s_at_name(name, pn, name_max - 1 > 63 ? 253 : 63, name_1035, err, n))
		return -EINVAL;
	if (sl_k8s_at_str(v[1], pns, false, ns, SL_K8S_NS_MAX, err, n))
		return -EINVAL;
	if (!ns[0])
		memcpy(ns, "default", sizeof("default"));
	else if (sl_k8s_at_name(ns, pns, 63, false, err, n))
		return -EINVAL;
	const cJSON *labels = v[2];
	if (!labels)
		return 0;
	const struct at *q = AT(p, "labels");
	if (sl_k8s_at_obj(labels, q, err, n))
		return -EINVAL;
	const cJSON *lv = sl_k8s_get(labels, label);
	if (!lv)
		return 0;
	size_t len = IS_STR(lv) ? strlen(lv->valuestring) : 0;
	if (!IS_STR(lv) || (label_out && len >= label_max)) {
		char qs[SL_K8S_PATH_MAX], r[SL_K8S_PATH_MAX];
		if (snprintf(r, sizeof(r), "%s[\"%s\"]", sl_k8s_at_path(q, qs), label) < 0)
			r[0] = 0;
		return IS_STR(lv) ? sl_k8s_fail(err, n, r, "longer than %zu characters",
						label_max - 1)
				  : sl_k8s_fail(err, n, r, "must be a string");
	}
	if (label_set)
		*label_set = true;
	if (label_out)
		memcpy(label_out, lv->valuestring, len + 1);
	return 0;
}

int sl_k8s_at_nomem(int rc, const struct at *a, char *err, size_t n)
{
	char p[SL_K8S_PATH_MAX];
	return rc == -ENOMEM ? sl_k8s_nomem(rc, sl_k8s_at_path(a, p), err, n) : rc;
}
