/* The conntrack filter of an API request (see sl_ct_filter.h). */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sl_ct_filter.h"

#define ERR(...) (snprintf(err, errlen, __VA_ARGS__), -EINVAL)

/* A string field or NULL (absent); *ret_rc -EINVAL when present but not a usable string. */
static const char *str_of(const cJSON *root, const char *key, int *ret_rc, char *err,
			  size_t errlen)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(root, key);
	if (!v)
		return NULL;
	if (!cJSON_IsString(v) || !v->valuestring[0] || strlen(v->valuestring) > 64) {
		*ret_rc = ERR("%s: not a non-empty string of at most 64 characters", key);
		return NULL;
	}
	return v->valuestring;
}

/* "A.B.C.D" or, with port_ok, "A.B.C.D:PORT" into *ret_ip and *ret_port (network order,
 * 0 when not given). */
static int addr_port(const char *key, const char *s, bool port_ok, uint32_t *ret_ip,
		     uint16_t *ret_port, char *err, size_t errlen)
{
	char ip[32];
	const char *colon = strchr(s, ':');
	size_t l = colon ? (size_t)(colon - s) : strlen(s);
	if (colon && !port_ok)
		return ERR("%s: '%.64s' is not an IPv4 address (no port here)", key, s);
	if (l >= sizeof(ip))
		return ERR("%s: '%.64s' is not an IPv4 address", key, s);
	memcpy(ip, s, l);
	ip[l] = 0;
	struct in_addr a;
	if (inet_pton(AF_INET, ip, &a) != 1)
		return ERR("%s: '%.64s' is not an IPv4 address", key, ip);
	*ret_ip = a.s_addr;
	*ret_port = 0;
	if (colon) {
		char *end;
		errno = 0;
		unsigned long p = strtoul(colon + 1, &end, 10);
		if (!colon[1] || *end || errno || p < 1 || p > 65535 || colon[1] == '-' ||
		    colon[1] == '+' || colon[1] == ' ')
			return ERR("%s: port '%.16s' is not a number from 1 to 65535", key,
				   colon + 1);
		*ret_port = htons((uint16_t)p);
	}
	return 0;
}

int sl_ct_filter_parse(const cJSON *root, struct sl_ct_filter *f, char *err, size_t errlen)
{
	int rc = 0;
	const char *s;
	memset(f, 0, sizeof(*f));
	f->limit = SL_CT_SHOW_DEFAULT_LIMIT;
	if ((s = str_of(root, "service", &rc, err, errlen))) {
		if ((rc = addr_port("service", s, true, &f->svc_ip, &f->svc_port, err, errlen)))
			return rc;
		f->flags |= SL_CTF_SERVICE;
	}
	if (rc)
		return rc;
	if ((s = str_of(root, "backend", &rc, err, errlen))) {
		if ((rc = addr_port("backend", s, true, &f->be_ip, &f->be_port, err, errlen)))
			return rc;
		f->flags |= SL_CTF_BACKEND;
	}
	if (rc)
		return rc;
	if ((s = str_of(root, "client", &rc, err, errlen))) {
		uint16_t none;
		if ((rc = addr_port("client", s, false, &f->client_ip, &none, err, errlen)))
			return rc;
		f->flags |= SL_CTF_CLIENT;
	}
	if (rc)
		return rc;
	if ((s = str_of(root, "proto", &rc, err, errlen))) {
		if (!strcasecmp(s, "tcp"))
			f->proto = IPPROTO_TCP;
		else if (!strcasecmp(s, "udp"))
			f->proto = IPPROTO_UDP;
		else if (!strcasecmp(s, "sctp"))
			f->proto = IPPROTO_SCTP;
		else
			return ERR("proto: '%.16s' is not tcp, udp or sctp", s);
		f->flags |= SL_CTF_PROTO;
	}
	if (rc)
		return rc;
	if ((s = str_of(root, "state", &rc, err, errlen))) {
		int st = sl_ct_state_parse(s);
		if (st < 0)
			return ERR("state: '%.16s' is not one of NEW, REPLIED, SYN_SENT, SYN_RECV, "
				   "ESTABLISHED, FIN_WAIT, CLOSED", s);
		f->state = (uint8_t)st;
		f->flags |= SL_CTF_STATE;
	}
	if (rc)
		return rc;
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(root, "limit");
	if (v) {
		double d = -1;
		char *end = NULL;
		if (cJSON_IsNumber(v))
			d = v->valuedouble;
		else if (cJSON_IsString(v) && v->valuestring[0] >= '0' && v->valuestring[0] <= '9')
			d = strtod(v->valuestring, &end);
		if (d < 0 || d > SL_CT_SHOW_MAX_LIMIT || d != (double)(uint32_t)d ||
		    (end && *end))
			return ERR("limit: must be a whole number from 0 to %d",
				   SL_CT_SHOW_MAX_LIMIT);
		f->limit = (uint32_t)d;
	}
	v = cJSON_GetObjectItemCaseSensitive(root, "summary");
	if (v) {
		if (!cJSON_IsBool(v))
			return ERR("summary: must be true or false");
		f->summary = cJSON_IsTrue(v);
	}
	return 0;
}
