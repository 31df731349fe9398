/* Addresses in the control model: one family-tagged type for IPv4 and IPv6, so dual-stack
 * objects follow without touching every signature. Today the model accepts IPv4 only
 * (sl_addr_parse refuses IPv6 where a caller asks for it); the tables are IPv4. No DPDK. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

struct sl_ip {
	uint8_t af; /* AF_INET or AF_INET6; 0 = unset */
	union {
		uint32_t v4;    /* network order */
		uint8_t v6[16];
	};
};

struct sl_cidr {
	struct sl_ip addr; /* the network address: host bits are zero */
	uint8_t len;
};

#define SL_IP_STR_MAX 46   /* INET6_ADDRSTRLEN */
#define SL_CIDR_STR_MAX 50

/* An IPv4 address (network order) as a struct sl_ip. */
static inline struct sl_ip sl_ip4(uint32_t v4)
{
	return (struct sl_ip){ .af = AF_INET, .v4 = v4 };
}

static inline struct sl_cidr sl_cidr4(uint32_t v4, uint8_t len)
{
	return (struct sl_cidr){ .addr = sl_ip4(v4), .len = len };
}

/* The /32 (/128) holding exactly ip. */
struct sl_cidr sl_cidr_host(struct sl_ip ip);

bool sl_ip_eq(struct sl_ip a, struct sl_ip b);
/* Whether ip lies inside c (same family). */
bool sl_cidr_contains(struct sl_cidr c, struct sl_ip ip);
/* Whether a and b share any address. */
bool sl_cidr_overlaps(struct sl_cidr a, struct sl_cidr b);
bool sl_cidr_eq(struct sl_cidr a, struct sl_cidr b);
/* A 64-bit hash of the address (for the model's indexes). */
uint64_t sl_ip_hash(struct sl_ip ip);

/* Parse "a.b.c.d" (or an IPv6 address when allow_v6). Returns 0 or -EINVAL. */
int sl_ip_parse(const char *s, bool allow_v6, struct sl_ip *ret);
/* Parse "addr/len"; host bits must be zero. Returns 0 or -EINVAL. */
int sl_cidr_parse(const char *s, bool allow_v6, struct sl_cidr *ret);
/* Format into buf (SL_IP_STR_MAX / SL_CIDR_STR_MAX bytes); return buf. */
const char *sl_ip_fmt(struct sl_ip ip, char *buf);
const char *sl_cidr_fmt(struct sl_cidr c, char *buf);
