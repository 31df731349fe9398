/* The addresses of Services and EndpointSlices (see sl_k8s_at.h): IP addresses, IPv4 ones
 * kept and IPv6 ones skipped (see sl_service.h). */
#include <errno.h>
#include <arpa/inet.h>
#include <stdlib.h>

#include "sl_k8s_at.h"

/* A canonical dotted quad ("10.96.0.1": four parts of 1-3 digits, no leading zero, <= 255)
 * into *ret (network order); -1 for anything else, which sl_ip_parse (inet_pton) then
 * decides: this accepts only what inet_pton accepts, with the same value. */
static int quad(const char *s, uint32_t *ret)
{
	uint32_t a = 0;
	for (int part = 0; part < 4; part++) {
		unsigned v = 0, d = 0;
		while (s[d] >= '0' && s[d] <= '9' && d < 4)
			v = v * 10 + (unsigned)(s[d++] - '0');
		if (!d || d > 3 || v > 255 || (d > 1 && s[0] == '0'))
			return -1;
		s += d;
		if (*s != (part == 3 ? 0 : '.'))
			return -1;
		s++;
		a = a << 8 | v;
	}
	*ret = htonl(a);
	return 0;
}

int sl_k8s_ip_parse(const char *s, struct sl_ip *ret)
{
	uint32_t v4;
	if (quad(s, &v4) == 0) {
		*ret = sl_ip4(v4);
		return 0;
	}
	return sl_ip_parse(s, true, ret);
}

/* An IPv4 address into *ret (true), an IPv6 one skipped (false), else an error. */
int sl_k8s_at_addr(const cJSON *v, const struct at *a, struct sl_ip *ret, bool *ret_v4,
		   char *err, size_t n)
{
	struct sl_ip ip;
	if (!IS_STR(v))
		return FAIL(a, "must be a string");
	if (sl_k8s_ip_parse(v->valuestring, &ip))
		return FAIL(a, "'%.48s' is not an IP address", v->valuestring);
	*ret_v4 = ip.af == AF_INET;
	*ret = ip;
	return 0;
}

/* An array of address strings (v, at a) into a heap array of the IPv4 ones. */
int sl_k8s_at_ips(const cJSON *v, const struct at *a, struct sl_ip **ret, unsigned *ret_n,
		  char *err, size_t n)
{
	const cJSON *e;
	unsigned c, i = 0;
	if (sl_k8s_at_array(v, a, SL_SVC_MAX_IPS, &c, err, n))
		return -EINVAL;
	if (!c)
		return 0;
	if (!(*ret = calloc(c, sizeof(**ret))))
		return -ENOMEM;
	cJSON_ArrayForEach(e, v)
	{
		bool v4 = false;
		if (sl_k8s_at_addr(e, AT_I(a, i++), &(*ret)[*ret_n], &v4, err, n))
			return -EINVAL;
		*ret_n += v4;
	}
	return 0;
}
