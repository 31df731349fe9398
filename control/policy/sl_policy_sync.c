/* The NetworkPolicy reconciler (see sl_policy_sync.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>
#include <rte_log.h>

#include "dataplane/ct/ct.h"
#include "dataplane/policy/pol_table.h"
#include "lb/sl_lbctl.h"
#include "model/sl_policy.h"
#include "sl_policy_sync.h"

#define DENY_LOG_MS 200 /* the deny log is drained this often */

static struct {
	struct sl_model *m;
	struct sl_loop *loop;
	struct sl_policy_sync_conf conf;
	struct sl_loop_timer build_t, log_t;
	bool dirty, started;
	uint64_t last_end_ns, last_dur_ns;
	struct sl_policy_sync_stats st;
} ps;

/* Arm the build timer: coalesce_ms from now, and no sooner after the last publish than
 * that one took. */
static void arm(void)
{
	if (!ps.started || sl_loop_timer_armed(&ps.build_t))
		return;
	uint64_t now = sl_loop_now_ns(), at = now + ps.conf.coalesce_ms * 1000000ull;
	if (ps.last_end_ns + ps.last_dur_ns > at)
		at = ps.last_end_ns + ps.last_dur_ns;
	sl_loop_timer_arm(ps.loop, &ps.build_t, (at - now + 999999) / 1000000);
}

void sl_policy_sync_changed(void *ctx, uint64_t generation)
{
	ps.st.changes++;
	ps.dirty = true;
	arm();
}

int sl_policy_sync_flush(void)
{
	if (!ps.dirty || !ps.m || !sl_pol.deny_ring[0])
		return 0;
	ps.dirty = false;
	uint64_t t0 = sl_loop_now_ns();
	const struct sl_pol_set *set = sl_model_policy_set(ps.m);
	uint64_t t1 = sl_loop_now_ns();
	int rc = -ENOMEM;
	if (!set) {
		RTE_LOG(ERR, USER1, "policy: compiling the model's policies: out of memory\n");
		goto fail;
	}
	/* Stateful from the first isolated pod on: the conntrack table must exist. */
	if ((set->dir[SL_POL_INGRESS].n_isolated || set->dir[SL_POL_EGRESS].n_isolated) &&
	    !sl_ct.hash) {
		char err[256];
		if ((rc = sl_lbctl_tables_up(err, sizeof(err))) < 0) {
			RTE_LOG(ERR, USER1, "policy: %s\n", err);
			goto fail;
		}
	}
	rc = sl_pol_publish(set);
	if (rc < 0)
		goto fail; /* logged by sl_pol_publish; the old classifier stays */
	uint64_t t2 = sl_loop_now_ns();
	const struct sl_pol_dp *d = atomic_load(&sl_pol.cur);
	ps.st.publishes++;
	ps.st.generation = set->generation;
	ps.st.last_compile_ns = t1 - t0;
	ps.st.last_publish_ns = t2 - t1;
	if (t2 - t1 > ps.st.max_publish_ns)
		ps.st.max_publish_ns = t2 - t1;
	ps.st.last_groups_built = d ? d->groups_built : 0;
	ps.last_end_ns = t2;
	ps.last_dur_ns = t2 - t0;
	return 0;
fail:
	ps.st.failures++;
	ps.dirty = true; /* try again on the next change, or in a second */
	ps.last_end_ns = sl_loop_now_ns();
	ps.last_dur_ns = 1000000000ull;
	arm();
	return rc;
}

static void on_build(struct sl_loop_timer *t, void *arg)
{
	sl_policy_sync_flush();
}

static void on_log(struct sl_loop_timer *t, void *arg)
{
	if (atomic_load_explicit(&sl_pol.deny_log, memory_order_relaxed))
		sl_pol_deny_log_drain(sl_loop_now_ns());
	sl_loop_timer_arm(ps.loop, t, DENY_LOG_MS);
}

int sl_policy_sync_init(struct sl_model *m, const struct sl_policy_sync_conf *conf)
{
	memset(&ps, 0, sizeof(ps));
	ps.conf = conf ? *conf : (struct sl_policy_sync_conf){ 0 };
	if (!ps.conf.coalesce_ms)
		ps.conf.coalesce_ms = 5;
	int rc = sl_pol_init(&(struct sl_pol_conf){ .deny_log = ps.conf.deny_log,
						    .log_rate = ps.conf.deny_log_rate });
	if (rc < 0)
		return rc;
	ps.m = m;
	sl_loop_timer_init(&ps.build_t, on_build, NULL);
	sl_loop_timer_init(&ps.log_t, on_log, NULL);
	sl_model_policy_set_notify(m, sl_policy_sync_changed, NULL);
	ps.dirty = true; /* the policies the config and the state file loaded */
	return 0;
}

int sl_policy_sync_start(struct sl_loop *loop)
{
	ps.loop = loop;
	ps.started = true;
	sl_loop_timer_arm(loop, &ps.log_t, DENY_LOG_MS);
	arm();
	return 0;
}

void sl_policy_sync_get_stats(struct sl_policy_sync_stats *ret)
{
	*ret = ps.st;
}

void sl_policy_sync_stop(void)
{
	if (!ps.started)
		return;
	sl_loop_timer_cancel(ps.loop, &ps.build_t);
	sl_loop_timer_cancel(ps.loop, &ps.log_t);
	ps.started = false;
	ps.loop = NULL;
}

void sl_policy_sync_fini(void)
{
	sl_policy_sync_stop();
	sl_pol_fini();
	memset(&ps, 0, sizeof(ps));
}

void sl_policy_sync_show(cJSON *o)
{
	if (!ps.st.publishes && !ps.st.failures)
		return;
	const struct sl_pol_dp *d = atomic_load(&sl_pol.cur);
	cJSON *p = cJSON_AddObjectToObject(o, "policy");
	cJSON_AddNumberToObject(p, "generation", (double)ps.st.generation);
	cJSON_AddNumberToObject(p, "changes", (double)ps.st.changes);
	cJSON_AddNumberToObject(p, "publishes", (double)ps.st.publishes);
	cJSON_AddNumberToObject(p, "failures", (double)ps.st.failures);
	cJSON_AddNumberToObject(p, "last_compile_ms", (double)ps.st.last_compile_ns / 1e6);
	cJSON_AddNumberToObject(p, "last_publish_ms", (double)ps.st.last_publish_ns / 1e6);
	cJSON_AddNumberToObject(p, "max_publish_ms", (double)ps.st.max_publish_ns / 1e6);
	cJSON_AddNumberToObject(p, "contexts_built", ps.st.last_groups_built);
	cJSON_AddBoolToObject(p, "active", atomic_load(&sl_pol.active));
	if (d) {
		cJSON_AddNumberToObject(p, "rules_ingress", d->n_rules[SL_POL_INGRESS]);
		cJSON_AddNumberToObject(p, "rules_egress", d->n_rules[SL_POL_EGRESS]);
		cJSON_AddNumberToObject(p, "isolated_ingress", d->n_isolated[SL_POL_INGRESS]);
		cJSON_AddNumberToObject(p, "isolated_egress", d->n_isolated[SL_POL_EGRESS]);
	}
	cJSON_AddNumberToObject(p, "acl_bytes_last_build", (double)sl_pol.last_acl_bytes);
	cJSON_AddBoolToObject(p, "deny_log", atomic_load(&sl_pol.deny_log));
	cJSON_AddNumberToObject(p, "deny_logged", (double)sl_pol.logged);
	cJSON_AddNumberToObject(p, "deny_log_suppressed", (double)sl_pol.log_suppressed);
	cJSON_AddNumberToObject(p, "deny_log_lost", (double)atomic_load(&sl_pol.deny_ring_full));
}

cJSON *sl_policy_sync_add_counters(cJSON *rows)
{
	const struct sl_pol_dp *d = atomic_load(&sl_pol.cur);
	struct sl_pol_totals *t = NULL;
	int n = d ? sl_pol_counters(&t) : 0, cursor = 0;
	cJSON *row;
	cJSON_ArrayForEach(row, rows) {
		const char *ns = cJSON_GetStringValue(cJSON_GetObjectItem(row, "namespace"));
		const char *name = cJSON_GetStringValue(cJSON_GetObjectItem(row, "name"));
		uint64_t denied = 0, allowed = 0;
		char key[SL_POL_NAME_MAX + 1];
		if (ns && name && n > 0) {
			snprintf(key, sizeof(key), "%s/%s", ns, name);
			/* Rows come in policy id order and the ids are the set's indexes: look
			 * forward from the last match, by name (the published set may be a few ms
			 * older than the model: a policy it lacks shows 0). */
			for (int k = 0; k < n; k++) {
				int i = (cursor + k) % n;
				if (strcmp(d->names[i], key) != 0)
					continue;
				denied = t[i].denied;
				allowed = t[i].allowed;
				cursor = i + 1;
				break;
			}
		}
		cJSON_AddNumberToObject(row, "denied", (double)denied);
		cJSON_AddNumberToObject(row, "allowed_flows", (double)allowed);
	}
	free(t);
	return rows;
}
