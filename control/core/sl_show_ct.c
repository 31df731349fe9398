/* `show conntrack` and `conntrack flush` (see sl_show_ct.h). */
#include <netinet/in.h>
#include <stdio.h>

#include <rte_cycles.h>

#include "dataplane/ct/ct_walk.h"
#include "dataplane/lb/lb_table.h"
#include "sl_show_ct.h"

static const char *proto_name(uint8_t p)
{
	return p == IPPROTO_TCP ? "tcp" : p == IPPROTO_UDP ? "udp" : p == IPPROTO_SCTP ? "sctp"
			      : p == IPPROTO_ICMP ? "icmp" : "other";
}

static void add_ep(cJSON *o, const char *k, uint32_t ip, uint16_t port)
{
	const uint8_t *b = (const uint8_t *)&ip;
	char s[24];
	snprintf(s, sizeof(s), "%u.%u.%u.%u:%u", b[0], b[1], b[2], b[3], rte_be_to_cpu_16(port));
	cJSON_AddStringToObject(o, k, s);
}

struct show {
	const struct sl_ct_filter *f;
	cJSON *rows;
	uint64_t now, hz;
	unsigned matched, shown;
	unsigned states[SL_CT_STATE_COUNT];
	unsigned tcp, udp, sctp, other;
};

static bool show_one(struct sl_ct_entry *e, void *arg)
{
	struct show *s = arg;
	if (!sl_ct_match(s->f, e))
		return true;
	s->matched++;
	uint8_t st = atomic_load_explicit(&e->state, memory_order_relaxed);
	if (s->f->summary) {
		s->states[st < SL_CT_STATE_COUNT ? st : SL_CT_CLOSED]++;
		uint8_t p = e->fwd.proto;
		if (p == IPPROTO_TCP)
			s->tcp++;
		else if (p == IPPROTO_UDP)
			s->udp++;
		else if (p == IPPROTO_SCTP)
			s->sctp++;
		else
			s->other++;
		return true;
	}
	if (s->shown >= s->f->limit)
		return true; /* go on counting */
	uint64_t last = atomic_load_explicit(&e->last_tsc, memory_order_relaxed);
	uint64_t idle = s->now > last ? (s->now - last) / s->hz : 0;
	unsigned cls = e->fwd.proto == IPPROTO_TCP ? 0 : e->fwd.proto == IPPROTO_ICMP ? 2 : 1;
	uint64_t timeout = sl_ct.timeout_tsc[cls][st < SL_CT_STATE_COUNT ? st : 0] / s->hz;
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "proto", proto_name(e->fwd.proto));
	add_ep(o, "client", e->fwd.src, e->fwd.sport);
	add_ep(o, "service", e->fwd.dst, e->fwd.dport);
	add_ep(o, "backend", e->rev.src, e->rev.sport);
	cJSON_AddStringToObject(o, "state", sl_ct_state_name(st));
	cJSON_AddNumberToObject(o, "idle_s", (double)idle);
	cJSON_AddNumberToObject(o, "expires_s", (double)(timeout > idle ? timeout - idle : 0));
	cJSON_AddItemToArray(s->rows, o);
	s->shown++;
	return true;
}

cJSON *sl_show_conntrack(const struct sl_ct_filter *f)
{
	struct show s = { .f = f, .now = rte_rdtsc(), .hz = rte_get_tsc_hz() };
	cJSON *o = cJSON_CreateObject();
	if (!f->summary)
		s.rows = cJSON_AddArrayToObject(o, "flows");
	uint64_t t0 = rte_rdtsc();
	unsigned entries = sl_ct.hash ? sl_ct_walk(show_one, &s) : 0;
	double walk_ms = (double)(rte_rdtsc() - t0) * 1e3 / (double)s.hz;
	if (!f->summary) {
		cJSON_AddNumberToObject(o, "matched", s.matched);
		cJSON_AddNumberToObject(o, "shown", s.shown);
		return o;
	}
	uint32_t size = sl_ct.hash ? sl_ct.conf.size : 0;
	cJSON_AddNumberToObject(o, "entries", entries);
	cJSON_AddNumberToObject(o, "size", size);
	cJSON_AddNumberToObject(o, "occupancy_pct",
				size ? (double)(int)((double)entries * 1e4 / size) / 100 : 0);
	/* Entries removed but waiting for a grace period still hold a pool slot. */
	cJSON_AddNumberToObject(o, "pending_free", sl_ct_count() > entries ? sl_ct_count() - entries : 0);
	cJSON_AddNumberToObject(o, "matched", s.matched);
	cJSON *st = cJSON_AddObjectToObject(o, "states");
	for (unsigned i = 0; i < SL_CT_STATE_COUNT; i++)
		cJSON_AddNumberToObject(st, sl_ct_state_name(i), s.states[i]);
	cJSON *pr = cJSON_AddObjectToObject(o, "protocols");
	cJSON_AddNumberToObject(pr, "tcp", s.tcp);
	cJSON_AddNumberToObject(pr, "udp", s.udp);
	cJSON_AddNumberToObject(pr, "sctp", s.sctp);
	if (s.other)
		cJSON_AddNumberToObject(pr, "other", s.other);
	cJSON_AddNumberToObject(o, "insert_failed",
				sl_ct.hash ? (double)atomic_load(&sl_ct.insert_failed) : 0);
	cJSON_AddNumberToObject(o, "aged", (double)sl_ct.aged);
	cJSON_AddNumberToObject(o, "flushed", (double)sl_ct.flushed);
	cJSON_AddNumberToObject(o, "walk_ms", (double)(int)(walk_ms * 100) / 100);
	return o;
}

cJSON *sl_conntrack_flush(const struct sl_ct_filter *f)
{
	cJSON *o = cJSON_CreateObject();
	cJSON_AddNumberToObject(o, "flushed", sl_ct.hash ? sl_ct_flush(f) : 0);
	return o;
}
