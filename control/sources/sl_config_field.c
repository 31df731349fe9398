/* The configuration's field readers and text helpers (see sl_config_int.h, sl_config.h). */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "sl_config_int.h"

int sl_cfg_fail(char *err, size_t n, const char *path, const char *fmt, ...)
{
	char why[160];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	snprintf(err, n, "%s: %s", path, why);
	return -EINVAL;
}

const char *sl_fmt_ip4(uint32_t ip, char *buf)
{
	return inet_ntop(AF_INET, &ip, buf, 16);
}

int sl_parse_mac(const char *s, uint8_t mac[6])
{
	unsigned v[6];
	char tail;
	if (!s || sscanf(s, "%2x:%2x:%2x:%2x:%2x:%2x%c", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5],
			 &tail) != 6 || strlen(s) != 17)
		return -EINVAL;
	for (int i = 0; i < 6; i++)
		mac[i] = (uint8_t)v[i];
	if (mac[0] & 1)
		return -EINVAL; /* multicast */
	return 0;
}

const char *sl_ifname_invalid(const char *s)
{
	static const char *const reserved[] = { ".", "..", "all", "default", "lo", NULL };
	size_t n = strlen(s);
	if (n == 0 || n >= SL_IFNAME_MAX)
		return "must be 1 to 15 characters";
	for (const char *const *r = reserved; *r; r++)
		if (!strcmp(s, *r))
			return "is a reserved name (\".\", \"..\", \"all\", \"default\", \"lo\")";
	for (const char *p = s; *p; p++)
		if (*p == '/' || *p == ',' || *p == '=' || *p == ':' || *p == ';' ||
		    !isgraph((unsigned char)*p))
			return "has a character not allowed in an interface name ('/', ',', '=', ':', "
			       "';', whitespace or a control character)";
	return NULL;
}


int sl_cfg_fields(const cJSON *o, const char *path, const char *const *known, char *err,
		  size_t n)
{
	if (!cJSON_IsObject(o))
		return sl_cfg_fail(err, n, path, "must be an object");
	for (const cJSON *f = o->child; f; f = f->next) {
		bool ok = false;
		for (const char *const *k = known; *k && !ok; k++)
			ok = strcmp(*k, f->string) == 0;
		if (!ok)
			return sl_cfg_fail(err, n, path, "unknown field '%.40s'", f->string);
	}
	return 0;
}

int sl_cfg_section(const cJSON *root, const char *key, bool required,
		   const char *const *known, const cJSON **ret, char *err, size_t n)
{
	*ret = cJSON_GetObjectItemCaseSensitive(root, key);
	if (!*ret)
		return required ? sl_cfg_fail(err, n, key, "missing") : 0;
	TRY(sl_cfg_fields(*ret, key, known, err, n));
	return 1;
}

int sl_cfg_str(const cJSON *o, const char *path, const char *key, bool required, char *out,
	       size_t max, char *err, size_t n)
{
	char fp[128];
	snprintf(fp, sizeof(fp), "%s.%s", path, key);
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
	if (!v)
		return required ? sl_cfg_fail(err, n, fp, "missing") : 0;
	if (!cJSON_IsString(v))
		return sl_cfg_fail(err, n, fp, "must be a string");
	if (strlen(v->valuestring) == 0)
		return sl_cfg_fail(err, n, fp, "must not be empty");
	if (strlen(v->valuestring) >= max)
		return sl_cfg_fail(err, n, fp, "longer than %zu characters", max - 1);
	snprintf(out, max, "%s", v->valuestring);
	return 0;
}

/* A field parsed further from its text: the text (under TEXT_MAX bytes) into s and its
 * path into fp (FIELD_PATH_MAX bytes). Returns 1 when present, 0 when absent and
 * optional, else the error. */
#define TEXT_MAX 64
#define FIELD_PATH_MAX 128
static int get_text(const cJSON *o, const char *path, const char *key, bool required, char *s,
		    char *fp, char *err, size_t n)
{
	s[0] = 0;
	int rc = sl_cfg_str(o, path, key, required, s, TEXT_MAX, err, n);
	if (rc || !s[0])
		return rc;
	snprintf(fp, FIELD_PATH_MAX, "%s.%s", path, key);
	return 1;
}

int sl_cfg_ip(const cJSON *o, const char *path, const char *key, bool required,
	      struct sl_ip *out, char *err, size_t n)
{
	char s[TEXT_MAX], fp[FIELD_PATH_MAX];
	int rc = get_text(o, path, key, required, s, fp, err, n);
	if (rc <= 0)
		return rc;
	if (sl_ip_parse(s, false, out))
		return sl_cfg_fail(err, n, fp, "'%s' is not an IPv4 address", s);
	return 0;
}

int sl_cfg_cidr(const cJSON *o, const char *path, const char *key, bool required,
		struct sl_cidr *out, char *err, size_t n)
{
	char s[TEXT_MAX], fp[FIELD_PATH_MAX];
	int rc = get_text(o, path, key, required, s, fp, err, n);
	if (rc <= 0)
		return rc;
	if (sl_cidr_parse(s, false, out))
		return sl_cfg_fail(err, n, fp,
				   "'%s' is not an IPv4 prefix a.b.c.d/len without host bits",
				   s);
	return 0;
}

int sl_cfg_mac(const cJSON *o, const char *path, const char *key, bool required,
	       uint8_t out[6], char *err, size_t n)
{
	char s[TEXT_MAX], fp[FIELD_PATH_MAX];
	int rc = get_text(o, path, key, required, s, fp, err, n);
	if (rc <= 0)
		return rc;
	if (sl_parse_mac(s, out))
		return sl_cfg_fail(err, n, fp, "'%s' is not a unicast MAC aa:bb:cc:dd:ee:ff", s);
	return 0;
}

/* An optional "vtep_mac": a unicast MAC, not 00:00:00:00:00:00 (the dataplane's "none"). */
int sl_cfg_vtep_mac(const cJSON *o, const char *path, uint8_t out[6], bool *ret_has,
		    char *err, size_t n)
{
	static const uint8_t zero[6];
	char fp[128];
	TRY(sl_cfg_mac(o, path, "vtep_mac", false, out, err, n));
	*ret_has = cJSON_GetObjectItemCaseSensitive(o, "vtep_mac") != NULL;
	snprintf(fp, sizeof(fp), "%s.vtep_mac", path);
	if (*ret_has && !memcmp(out, zero, 6))
		return sl_cfg_fail(err, n, fp, "must not be 00:00:00:00:00:00");
	return 0;
}

/* A required "a.b.c.d:port" listen address (IPv4, port 1-65535). */
int sl_cfg_listen(const cJSON *o, const char *path, const char *key, uint32_t *ret_addr,
		  uint16_t *ret_port, char *err, size_t n)
{
	char s[32] = "", fp[128], ip[24], tail;
	unsigned port;
	TRY(sl_cfg_str(o, path, key, true, s, sizeof(s), err, n));
	snprintf(fp, sizeof(fp), "%s.%s", path, key);
	const char *colon = strrchr(s, ':');
	struct sl_ip a;
	if (!colon || (size_t)(colon - s) >= sizeof(ip) ||
	    sscanf(colon + 1, "%u%c", &port, &tail) != 1 || port < 1 || port > 65535 ||
	    !isdigit((unsigned char)colon[1]))
		return sl_cfg_fail(err, n, fp,
				   "'%s' is not an IPv4 address and port a.b.c.d:port (port "
				   "1-65535)", s);
	snprintf(ip, sizeof(ip), "%.*s", (int)(colon - s), s);
	if (sl_ip_parse(ip, false, &a))
		return sl_cfg_fail(err, n, fp, "'%s' is not an IPv4 address and port a.b.c.d:port",
				   s);
	*ret_addr = a.v4;
	*ret_port = (uint16_t)port;
	return 0;
}

/* An optional "LO-HI" port range (min <= LO <= HI, at least size ports); absent: *lo and
 * *hi unchanged. */
int sl_cfg_port_range(const cJSON *o, const char *path, const char *key, unsigned min,
		      unsigned size, uint16_t *lo, uint16_t *hi, char *err, size_t n)
{
	char fp[128], s[16], tail;
	unsigned a, b;
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
	if (!v)
		return 0;
	snprintf(fp, sizeof(fp), "%s.%s", path, key);
	if (!cJSON_IsString(v) || strlen(v->valuestring) >= sizeof(s) ||
	    sscanf(v->valuestring, "%u-%u%c", &a, &b, &tail) != 2)
		return sl_cfg_fail(err, n, fp, "must be a port range \"LO-HI\"");
	if (a < min || b > 65535 || a > b || b - a + 1 < size)
		return sl_cfg_fail(err, n, fp,
				   "'%s': need %u-65535 with LO <= HI and at least %u ports",
				   v->valuestring, min, size);
	*lo = (uint16_t)a;
	*hi = (uint16_t)b;
	return 0;
}

int sl_cfg_uint(const cJSON *o, const char *path, const char *key, unsigned min,
		unsigned max, unsigned *out, char *err, size_t n)
{
	char fp[128];
	snprintf(fp, sizeof(fp), "%s.%s", path, key);
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
	if (!v)
		return 0;
	if (!cJSON_IsNumber(v))
		return sl_cfg_fail(err, n, fp, "must be an integer");
	if (!(v->valuedouble >= min && v->valuedouble <= max)) /* also NaN; before any cast */
		return sl_cfg_fail(err, n, fp, "must be between %u and %u", min, max);
	if (v->valuedouble != (double)(unsigned)v->valuedouble)
		return sl_cfg_fail(err, n, fp, "must be an integer");
	*out = (unsigned)v->valuedouble;
	return 0;
}

int sl_cfg_bool(const cJSON *o, const char *path, const char *key, bool *out, char *err,
		size_t n)
{
	char fp[128];
	snprintf(fp, sizeof(fp), "%s.%s", path, key);
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
	if (!v)
		return 0;
	if (!cJSON_IsBool(v))
		return sl_cfg_fail(err, n, fp, "must be true or false");
	*out = cJSON_IsTrue(v);
	return 0;
}

/* Read interface name key of o into out (sl_cfg_str), then check it with sl_ifname_invalid. */
int sl_cfg_ifname(const cJSON *o, const char *path, const char *key, bool required,
		  char *out, size_t max, char *err, size_t n)
{
	char fp[128];
	int rc = sl_cfg_str(o, path, key, required, out, max, err, n);
	if (rc || !cJSON_GetObjectItemCaseSensitive(o, key))
		return rc;
	const char *why = sl_ifname_invalid(out);
	snprintf(fp, sizeof(fp), "%s.%s", path, key);
	return why ? sl_cfg_fail(err, n, fp, "'%.15s' %s", out, why) : 0;
}
