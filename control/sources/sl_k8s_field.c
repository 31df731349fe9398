/* The JSON field helpers the Kubernetes object decoders share (see sl_k8s_field.h). */
#include <ctype.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "sl_k8s_at.h"
#include "sl_k8s_field.h"

int sl_k8s_fail(char *err, size_t n, const char *path, const char *fmt, ...)
{
	char why[200];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	snprintf(err, n, "%s: %s", path[0] ? path : "object", why);
	return -EINVAL;
}

/* Paths are built for every field on the way down (most are never printed), so without
 * snprintf: a 100,000-Service load builds ~70 per Service. A path longer than SL_K8S_PATH_MAX - 1
 * is cut there (still a good error). */
static size_t put(char *buf, size_t at, const char *s, size_t len)
{
	if (at + len > SL_K8S_PATH_MAX - 1)
		len = at < SL_K8S_PATH_MAX - 1 ? SL_K8S_PATH_MAX - 1 - at : 0;
	memcpy(buf + at, s, len);
	return at + len;
}

/* "base.key" (or "key" at the top). buf may not be base. */
const char *sl_k8s_sub(char *buf, const char *base, const char *key)
{
	size_t at = put(buf, 0, base, strlen(base));
	if (base[0])
		at = put(buf, at, ".", 1);
	buf[put(buf, at, key, strlen(key))] = 0;
	return buf;
}

/* "base[i]". */
const char *sl_k8s_idx(char *buf, const char *base, unsigned i)
{
	char d[16];
	size_t k = sizeof(d);
	d[--k] = ']';
	do
		d[--k] = (char)('0' + i % 10);
	while (i /= 10);
	d[--k] = '[';
	buf[put(buf, put(buf, 0, base, strlen(base)), d + k, sizeof(d) - k)] = 0;
	return buf;
}

/* A field, or NULL when absent or null (Kubernetes clients treat null as absent). The
 * first member with that name, as cJSON_GetObjectItemCaseSensitive, with the first byte
 * compared inline: the decoder looks up ~20 names per object in objects of ~10 members. */
const cJSON *sl_k8s_get(const cJSON *o, const char *key)
{
	for (const cJSON *v = o ? o->child : NULL; v; v = v->next) /* (an array's have no name) */
		if (v->string && v->string[0] == key[0] && !strcmp(v->string, key))
			return cJSON_IsNull(v) ? NULL : v;
	return NULL;
}

/* The readers by path text below are those of sl_k8s_at.c (the same checks and errors),
 * with the field's place given as base and key. */

int sl_k8s_want_obj(const cJSON *v, const char *path, char *err, size_t n)
{
	return sl_k8s_at_obj(v, AT(NULL, path), err, n);
}

/* A string field into out (max bytes with the NUL); "" when absent and optional. */
int sl_k8s_get_str(const cJSON *o, const char *base, const char *key, bool required, char *out,
		   size_t max, char *err, size_t n)
{
	return sl_k8s_at_str(sl_k8s_get(o, key), AT(AT(NULL, base), key), required, out, max, err,
			     n);
}

/* An array field: NULL and 0 when absent; refused over max entries. */
int sl_k8s_get_array(const cJSON *o, const char *base, const char *key, unsigned max,
		     const cJSON **ret, unsigned *ret_n, char *err, size_t n)
{
	const cJSON *v = sl_k8s_get(o, key);
	*ret = NULL;
	if (sl_k8s_at_array(v, AT(AT(NULL, base), key), max, ret_n, err, n))
		return -EINVAL;
	*ret = v;
	return 0;
}

/* "kind"/"apiVersion" when present must be this kind's. */
int sl_k8s_check_kind(const cJSON *o, const char *base, const char *kind, const char *api,
		      char *err, size_t n)
{
	return sl_k8s_at_kind(sl_k8s_get(o, "kind"), sl_k8s_get(o, "apiVersion"), AT(NULL, base),
			      kind, api, err, n);
}

bool sl_k8s_iana_svc_name(const char *s)
{
	size_t len = strlen(s);
	bool letter = false;
	if (!len || len > 15 || s[0] == '-' || s[len - 1] == '-' || strstr(s, "--"))
		return false;
	for (size_t i = 0; i < len; i++) {
		if (!(islower((unsigned char)s[i]) || isdigit((unsigned char)s[i]) || s[i] == '-'))
			return false;
		letter |= islower((unsigned char)s[i]) != 0;
	}
	return letter;
}

int sl_k8s_parse_protocol(const cJSON *o, const char *base, uint8_t *ret, char *err, size_t n)
{
	return sl_k8s_at_protocol(sl_k8s_get(o, "protocol"), AT(AT(NULL, base), "protocol"), ret,
				  err, n);
}

bool sl_k8s_proto_of(const char *s, uint8_t *ret)
{
	if (!s[0] || !strcmp(s, "TCP"))
		*ret = IPPROTO_TCP;
	else if (!strcmp(s, "UDP"))
		*ret = IPPROTO_UDP;
	else if (!strcmp(s, "SCTP"))
		*ret = IPPROTO_SCTP;
	else
		return false;
	return true;
}

const char *sl_k8s_proto_name(uint8_t p)
{
	return p == IPPROTO_UDP ? "UDP" : p == IPPROTO_SCTP ? "SCTP" : "TCP";
}
