/* Which conntrack entries `sluicectl show conntrack` lists and `sluicectl conntrack flush`
 * removes: a filter and its match, no DPDK (the request parser and its unit tests use it
 * without EAL). Every field set must match; an empty filter matches every flow. */
#pragma once
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>

/* Rows `show conntrack` returns by default, and at most. */
#define SL_CT_SHOW_DEFAULT_LIMIT 1000
#define SL_CT_SHOW_MAX_LIMIT 50000

/* Names of enum sl_ct_state (ct.h), in its order; ct.c asserts the count. */
#define SL_CT_STATE_NAMES                                                                  \
	{ "NEW", "REPLIED", "SYN_SENT", "SYN_RECV", "ESTABLISHED", "FIN_WAIT", "CLOSED" }
#define SL_CT_N_STATE_NAMES 7

enum sl_ct_filter_flag {
	SL_CTF_SERVICE = 1 << 0, /* svc_ip (and svc_port unless 0) */
	SL_CTF_BACKEND = 1 << 1, /* be_ip (and be_port unless 0) */
	SL_CTF_CLIENT = 1 << 2,  /* client_ip */
	SL_CTF_PROTO = 1 << 3,   /* proto */
	SL_CTF_STATE = 1 << 4,   /* state */
};

struct sl_ct_filter {
	uint32_t flags;             /* enum sl_ct_filter_flag: the fields set */
	uint32_t svc_ip;            /* the frontend the client addressed, network order */
	uint16_t svc_port;          /* network order; 0: any */
	uint32_t be_ip;             /* the backend, network order */
	uint16_t be_port;           /* network order; 0: any */
	uint32_t client_ip;         /* network order */
	uint8_t proto;              /* IPPROTO_TCP, _UDP, _SCTP */
	uint8_t state;              /* enum sl_ct_state */
	/* Not part of the match: what `show conntrack` returns. */
	uint32_t limit;             /* rows at most (SL_CT_SHOW_DEFAULT_LIMIT when not given) */
	bool summary;               /* counts instead of rows */
};

/* Whether a flow matches f: client -> vip:vport (proto), translated to be_ip:be_port, in
 * state. Addresses and ports in network order. Any thread. */
static inline bool sl_ct_filter_match(const struct sl_ct_filter *f, uint32_t client,
				      uint32_t vip, uint16_t vport, uint8_t proto,
				      uint32_t be_ip, uint16_t be_port, uint8_t state)
{
	if ((f->flags & SL_CTF_SERVICE) &&
	    (vip != f->svc_ip || (f->svc_port && vport != f->svc_port)))
		return false;
	if ((f->flags & SL_CTF_BACKEND) &&
	    (be_ip != f->be_ip || (f->be_port && be_port != f->be_port)))
		return false;
	if ((f->flags & SL_CTF_CLIENT) && client != f->client_ip)
		return false;
	if ((f->flags & SL_CTF_PROTO) && proto != f->proto)
		return false;
	if ((f->flags & SL_CTF_STATE) && state != f->state)
		return false;
	return true;
}

/* The name of state s ("ESTABLISHED"), "?" out of range. Any thread. */
static inline const char *sl_ct_state_name(unsigned s)
{
	static const char *const names[] = SL_CT_STATE_NAMES;
	return s < SL_CT_N_STATE_NAMES ? names[s] : "?";
}

/* The state named name (any case), or -1. Any thread. */
static inline int sl_ct_state_parse(const char *name)
{
	static const char *const names[] = SL_CT_STATE_NAMES;
	for (int i = 0; i < SL_CT_N_STATE_NAMES; i++)
		if (!strcasecmp(name, names[i]))
			return i;
	return -1;
}
