/* `show conntrack` and `conntrack flush` (see sl_show_ct.h). */
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>

#include <rte_cycles.h>

#include "dataplane/ct/ct_walk.h"
#include "dataplane/lb/lb_table.h"
#include "sl_show_ct.h"

#define KEYS_PER_SLICE 4096 /* keys walked between two looks at the clock */

struct sl_ct_job {
	struct sl_ct_filter f;
	bool flush;
	uint32_t cursor;             /* rte_hash_iterate position */
	cJSON *rows;                 /* show: the flows listed so far */
	uint64_t now, hz, t_start;   /* TSC */
	unsigned slices;             /* sl_ct_job_run calls */
	unsigned entries, matched, shown, removed;
	unsigned states[SL_CT_STATE_COUNT];
	unsigned tcp, udp, sctp, other;
};

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

/* One flow: count it, list it, or remove it. */
static bool visit(struct sl_ct_entry *e, void *arg)
{
	struct sl_ct_job *j = arg;
	j->entries++;
	if (!sl_ct_match(&j->f, e))
		return true;
	j->matched++;
	if (j->flush) {
		sl_ct_remove(e);
		j->removed++;
		return true;
	}
	uint8_t st = atomic_load_explicit(&e->state, memory_order_relaxed);
	if (st >= SL_CT_STATE_COUNT)
		st = SL_CT_CLOSED;
	if (j->f.summary) {
		j->states[st]++;
		uint8_t p = e->fwd.proto;
		if (p == IPPROTO_TCP)
			j->tcp++;
		else if (p == IPPROTO_UDP)
			j->udp++;
		else if (p == IPPROTO_SCTP)
			j->sctp++;
		else
			j->other++;
		return true;
	}
	if (j->shown >= j->f.limit)
		return true; /* go on counting */
	uint64_t last = atomic_load_explicit(&e->last_tsc, memory_order_relaxed);
	uint64_t idle = j->now > last ? (j->now - last) / j->hz : 0;
	unsigned cls = e->fwd.proto == IPPROTO_TCP ? 0 : e->fwd.proto == IPPROTO_ICMP ? 2 : 1;
	uint64_t timeout = sl_ct.timeout_tsc[cls][st] / j->hz;
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "proto", proto_name(e->fwd.proto));
	add_ep(o, "client", e->fwd.src, e->fwd.sport);
	add_ep(o, "service", e->fwd.dst, e->fwd.dport);
	add_ep(o, "backend", e->rev.src, e->rev.sport);
	cJSON_AddStringToObject(o, "state", sl_ct_state_name(st));
	cJSON_AddNumberToObject(o, "idle_s", (double)idle);
	cJSON_AddNumberToObject(o, "expires_s", (double)(timeout > idle ? timeout - idle : 0));
	cJSON_AddItemToArray(j->rows, o);
	j->shown++;
	return true;
}

struct sl_ct_job *sl_ct_job_start(const struct sl_ct_filter *f, bool flush)
{
	struct sl_ct_job *j = calloc(1, sizeof(*j));
	if (!j)
		return NULL;
	j->f = *f;
	j->flush = flush;
	j->hz = rte_get_tsc_hz();
	j->now = j->t_start = rte_rdtsc();
	if (!flush && !f->summary && !(j->rows = cJSON_CreateArray())) {
		free(j);
		return NULL;
	}
	return j;
}

void sl_ct_job_free(struct sl_ct_job *j)
{
	if (!j)
		return;
	if (j->flush)
		sl_ct.flushed += j->removed; /* what went, went */
	cJSON_Delete(j->rows);
	free(j);
}

static cJSON *summary(struct sl_ct_job *j)
{
	cJSON *o = cJSON_CreateObject();
	uint32_t size = sl_ct.hash ? sl_ct.conf.size : 0, held = sl_ct.hash ? sl_ct_count() : 0;
	cJSON_AddNumberToObject(o, "entries", j->entries);
	cJSON_AddNumberToObject(o, "size", size);
	cJSON_AddNumberToObject(o, "occupancy_pct",
				size ? (double)(int)((double)j->entries * 1e4 / size) / 100 : 0);
	/* Entries removed but waiting for a grace period still hold a pool slot. */
	cJSON_AddNumberToObject(o, "pending_free", held > j->entries ? held - j->entries : 0);
	cJSON_AddNumberToObject(o, "matched", j->matched);
	cJSON *st = cJSON_AddObjectToObject(o, "states");
	for (unsigned i = 0; i < SL_CT_STATE_COUNT; i++)
		cJSON_AddNumberToObject(st, sl_ct_state_name(i), j->states[i]);
	cJSON *pr = cJSON_AddObjectToObject(o, "protocols");
	cJSON_AddNumberToObject(pr, "tcp", j->tcp);
	cJSON_AddNumberToObject(pr, "udp", j->udp);
	cJSON_AddNumberToObject(pr, "sctp", j->sctp);
	if (j->other)
		cJSON_AddNumberToObject(pr, "other", j->other);
	cJSON_AddNumberToObject(o, "insert_failed",
				sl_ct.hash ? (double)atomic_load(&sl_ct.insert_failed) : 0);
	cJSON_AddNumberToObject(o, "aged", (double)sl_ct.aged);
	cJSON_AddNumberToObject(o, "flushed", (double)sl_ct.flushed);
	double ms = (double)(rte_rdtsc() - j->t_start) * 1e3 / (double)j->hz;
	cJSON_AddNumberToObject(o, "walk_ms", (double)(int)(ms * 100) / 100);
	cJSON_AddNumberToObject(o, "walk_slices", j->slices);
	return o;
}

cJSON *sl_ct_job_run(struct sl_ct_job *j, uint64_t max_us)
{
	uint64_t t0 = rte_rdtsc(), limit = max_us * (j->hz / 1000000);
	bool done = !sl_ct.hash;
	j->slices++;
	do {
		j->now = rte_rdtsc();
		done = done || sl_ct_walk_step(&j->cursor, KEYS_PER_SLICE, visit, j);
	} while (!done && rte_rdtsc() - t0 < limit);
	if (!done)
		return NULL;
	cJSON *o;
	if (j->flush) {
		o = cJSON_CreateObject();
		cJSON_AddNumberToObject(o, "flushed", j->removed);
	} else if (j->f.summary) {
		o = summary(j);
	} else {
		o = cJSON_CreateObject();
		cJSON_AddItemToObject(o, "flows", j->rows);
		j->rows = NULL;
		cJSON_AddNumberToObject(o, "matched", j->matched);
		cJSON_AddNumberToObject(o, "shown", j->shown);
	}
	sl_ct_job_free(j);
	return o;
}
