/* Family-tagged addresses (see sl_addr.h). */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sl_addr.h"

static unsigned bits_of(const struct sl_ip *ip)
{
	return ip->af == AF_INET6 ? 128 : 32;
}

static const uint8_t *bytes_of(const struct sl_ip *ip)
{
	return ip->af == AF_INET6 ? ip->v6 : (const uint8_t *)&ip->v4;
}

/* Whether the first len bits of a and b agree. */
static bool prefix_eq(const struct sl_ip *a, const struct sl_ip *b, unsigned len)
{
	const uint8_t *x = bytes_of(a), *y = bytes_of(b);
	unsigned full = len / 8, rest = len % 8;
	if (memcmp(x, y, full))
		return false;
	return !rest || ((x[full] ^ y[full]) & (uint8_t)(0xff << (8 - rest))) == 0;
}

struct sl_cidr sl_cidr_host(struct sl_ip ip)
{
	return (struct sl_cidr){ .addr = ip, .len = (uint8_t)bits_of(&ip) };
}

bool sl_ip_eq(struct sl_ip a, struct sl_ip b)
{
	return a.af == b.af && prefix_eq(&a, &b, bits_of(&a));
}

bool sl_cidr_contains(struct sl_cidr c, struct sl_ip ip)
{
	return c.addr.af == ip.af && prefix_eq(&c.addr, &ip, c.len);
}

bool sl_cidr_overlaps(struct sl_cidr a, struct sl_cidr b)
{
	return a.addr.af == b.addr.af && prefix_eq(&a.addr, &b.addr, a.len < b.len ? a.len : b.len);
}

bool sl_cidr_eq(struct sl_cidr a, struct sl_cidr b)
{
	return a.len == b.len && sl_ip_eq(a.addr, b.addr);
}

uint64_t sl_ip_hash(struct sl_ip ip)
{
	const uint8_t *p = bytes_of(&ip);
	uint64_t h = 0xcbf29ce484222325ull ^ ip.af; /* FNV-1a */
	for (unsigned i = 0; i < bits_of(&ip) / 8; i++)
		h = (h ^ p[i]) * 0x100000001b3ull;
	return h;
}

int sl_ip_parse(const char *s, bool allow_v6, struct sl_ip *ret)
{
	struct sl_ip ip = { .af = AF_INET };
	if (inet_pton(AF_INET, s, &ip.v4) != 1) {
		ip.af = AF_INET6;
		if (!allow_v6 || inet_pton(AF_INET6, s, ip.v6) != 1)
			return -EINVAL;
	}
	*ret = ip;
	return 0;
}

int sl_cidr_parse(const char *s, bool allow_v6, struct sl_cidr *ret)
{
	char buf[SL_CIDR_STR_MAX];
	const char *slash = strchr(s, '/');
	if (!slash || (size_t)(slash - s) >= sizeof(buf) || !slash[1])
		return -EINVAL;
	memcpy(buf, s, (size_t)(slash - s));
	buf[slash - s] = 0;
	struct sl_cidr c;
	if (sl_ip_parse(buf, allow_v6, &c.addr))
		return -EINVAL;
	char *end;
	long len = strtol(slash + 1, &end, 10);
	if (*end || slash[1] < '0' || slash[1] > '9' || len < 0 || len > (long)bits_of(&c.addr))
		return -EINVAL;
	c.len = (uint8_t)len;
	const uint8_t *p = bytes_of(&c.addr);
	for (unsigned b = c.len; b < bits_of(&c.addr); b++)
		if (p[b / 8] & (0x80 >> (b % 8)))
			return -EINVAL; /* host bits set */
	*ret = c;
	return 0;
}

const char *sl_ip_fmt(struct sl_ip ip, char *buf)
{
	if (ip.af != AF_INET6) { /* what inet_ntop prints, without its sprintf (the state file
				  * prints millions of endpoint addresses) */
		const uint8_t *b = bytes_of(&ip);
		char *p = buf;
		for (unsigned i = 0; i < 4; i++) {
			unsigned v = b[i];
			if (v >= 100)
				*p++ = (char)('0' + v / 100);
			if (v >= 10)
				*p++ = (char)('0' + v / 10 % 10);
			*p++ = (char)('0' + v % 10);
			*p++ = i < 3 ? '.' : 0;
		}
		return buf;
	}
	if (!inet_ntop(ip.af == AF_INET6 ? AF_INET6 : AF_INET, bytes_of(&ip), buf, SL_IP_STR_MAX))
		snprintf(buf, SL_IP_STR_MAX, "?");
	return buf;
}

const char *sl_cidr_fmt(struct sl_cidr c, char *buf)
{
	char a[SL_IP_STR_MAX];
	snprintf(buf, SL_CIDR_STR_MAX, "%s/%u", sl_ip_fmt(c.addr, a), c.len);
	return buf;
}
