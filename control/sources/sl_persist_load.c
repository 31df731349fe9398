/* The state file read back into a model at start (see sl_persist.h). */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sl_config.h"
#include "sl_json.h"
#include "sl_k8s.h"
#include "sl_k8s_policy.h"
#include "sl_persist.h"
#include "sl_persist_int.h"

/* The objects of one kind as the snapshot and the journal leave them: in order, a removed
 * one NULL, found by key. */
struct set {
	const cJSON **items;
	char **keys;             /* NULL for an object without a key */
	unsigned n, cap;
	unsigned *tab;           /* open addressing: index + 1, 0 empty */
	unsigned tcap;           /* a power of 2 */
};

static uint32_t hash_str(const char *s)
{
	uint32_t h = 2166136261u;
	while (*s)
		h = (h ^ (uint8_t)*s++) * 16777619u;
	return h;
}

/* The slot of key in s's table: where it is, or the empty one where it would go. */
static unsigned *set_slot(struct set *s, const char *key)
{
	for (unsigned i = hash_str(key) & (s->tcap - 1);; i = (i + 1) & (s->tcap - 1))
		if (!s->tab[i] || !strcmp(s->keys[s->tab[i] - 1], key))
			return &s->tab[i];
}

static int set_grow(struct set *s)
{
	if (s->n + 1 > s->cap) {
		unsigned cap = s->cap ? 2 * s->cap : 64;
		const cJSON **it = realloc(s->items, cap * sizeof(*it));
		if (it)
			s->items = it;
		char **k = realloc(s->keys, cap * sizeof(*k));
		if (k)
			s->keys = k;
		if (!it || !k)
			return -ENOMEM;
		s->cap = cap;
	}
	if (2 * (s->n + 1) > s->tcap) {
		unsigned tcap = s->tcap ? 2 * s->tcap : 128;
		unsigned *tab = calloc(tcap, sizeof(*tab));
		if (!tab)
			return -ENOMEM;
		free(s->tab);
		s->tab = tab;
		s->tcap = tcap;
		for (unsigned i = 0; i < s->n; i++)
			if (s->keys[i])
				*set_slot(s, s->keys[i]) = i + 1;
	}
	return 0;
}

/* Put o (replacing the object with its key), or with del remove what has key. */
static int set_put(struct set *s, enum kind k, const cJSON *o, const char *del_key)
{
	char key[SL_PERSIST_KEY_MAX];
	bool keyed = del_key ? snprintf(key, sizeof(key), "%s", del_key) >= 0 : sl_persist_item_key(k, o, key,
											  sizeof(key));
	if (set_grow(s) < 0)
		return -ENOMEM;
	unsigned *slot = keyed ? set_slot(s, key) : NULL;
	if (slot && *slot) {
		s->items[*slot - 1] = o; /* NULL: removed (its key stays, for a later put) */
		return 0;
	}
	if (del_key)
		return 0;
	s->items[s->n] = o;
	s->keys[s->n] = keyed ? strdup(key) : NULL;
	if (keyed && !s->keys[s->n])
		return -ENOMEM;
	if (slot)
		*slot = s->n + 1;
	s->n++;
	return 0;
}

static void set_free(struct set *s)
{
	for (unsigned i = 0; i < s->n; i++)
		free(s->keys[i]);
	free(s->items);
	free(s->keys);
	free(s->tab);
}

/* The lines of the journal path + suffix that follow the snapshot of generation gen (their
 * "gen" or "base" is gen), applied to sets. Returns how many. */
static int apply_journal(const char *path, const char *suffix, const char *gen,
			 struct sl_json_arena *a, struct set *sets)
{
	char jpath[SL_PERSIST_PATH_MAX + sizeof(SL_PERSIST_NEXT_SUFFIX)], *buf;
	size_t len;
	int lines = 0;
	snprintf(jpath, sizeof(jpath), "%s%s", path, suffix);
	int rc = sl_persist_read(jpath, &buf, &len, SL_PERSIST_MAX_BYTES);
	if (rc < 0) {
		if (rc != -ENOENT)
			fprintf(stderr, "sluiced: state journal %s not read: %s\n", jpath,
				strerror(-rc));
		return 0;
	}
	unsigned lineno = 0;
	for (char *l = buf, *nl; l < buf + len; l = nl + 1) {
		lineno++;
		if (!(nl = memchr(l, '\n', (size_t)(buf + len - l))))
			break; /* cut by a crash: never acknowledged */
		const cJSON *rec = sl_json_parse(a, l, (size_t)(nl - l), NULL);
		const cJSON *g = cJSON_GetObjectItemCaseSensitive(rec, "gen");
		const cJSON *b = cJSON_GetObjectItemCaseSensitive(rec, "base");
		if (!rec) {
			fprintf(stderr, "sluiced: state journal %s line %u: not valid JSON, skipped\n",
				jpath, lineno);
			continue;
		}
		if ((!cJSON_IsString(g) || strcmp(g->valuestring, gen)) &&
		    (!cJSON_IsString(b) || strcmp(b->valuestring, gen)))
			continue; /* of an older snapshot: it holds the line already */
		const cJSON *put = cJSON_GetObjectItemCaseSensitive(rec, "put");
		const cJSON *del = cJSON_GetObjectItemCaseSensitive(rec, "del");
		for (unsigned k = 0; k < K_COUNT; k++) {
			const cJSON *e;
			cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(put, sl_persist_list_name[k]))
				if (set_put(&sets[k], k, e, NULL) < 0)
					goto oom;
			cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(del, sl_persist_list_name[k]))
				if (cJSON_IsString(e) && set_put(&sets[k], k, NULL, e->valuestring) < 0)
					goto oom;
		}
		lines++;
	}
	free(buf);
	return lines;
oom:
	fprintf(stderr, "sluiced: state journal %s: out of memory\n", jpath);
	free(buf);
	return lines;
}

/* The persisted Kubernetes objects: one batch; if it fails, object by object (the ones that
 * fail are logged and skipped). Returns how many were restored. */
static int load_k8s(const struct set *sets, struct sl_model *m, const char *path)
{
	unsigned count = 0, k = 0;
	for (unsigned l = K_SVC; l < K_COUNT; l++)
		count += sets[l].n;
	struct sl_k8s_op *ops = calloc(count ? count : 1, sizeof(*ops));
	char why[400] = "";
	if (!ops)
		return 0;
	for (unsigned l = K_SVC; l < K_COUNT; l++) {
		for (unsigned i = 0; i < sets[l].n; i++) {
			const cJSON *e = sets[l].items[i];
			if (!e)
				continue;
			struct sl_k8s_op *op = &ops[k];
			snprintf(op->path, sizeof(op->path), "%s[%u]", sl_persist_list_name[l], i);
			op->kind = sl_persist_k8s_kind[l];
			int rc = l == K_SVC ? sl_k8s_parse_service(e, op->path, &op->svc, why, sizeof(why))
				 : l == K_SLICE ? sl_k8s_parse_slice(e, op->path, &op->slice, why, sizeof(why))
				 : l == K_NS ? sl_k8s_parse_namespace(e, op->path, &op->ns, why, sizeof(why))
				 : l == K_KPOD ? sl_k8s_parse_pod(e, op->path, &op->pod, why, sizeof(why))
					       : sl_k8s_parse_policy(e, op->path, &op->policy, why,
								     sizeof(why));
			if (rc == 0)
				k++;
			else
				fprintf(stderr, "sluiced: state %s %s not restored: %s\n", path,
					op->path, why);
		}
	}
	int restored = 0;
	if (sl_model_k8s_apply(m, ops, k, why, sizeof(why)) == 0) {
		restored = (int)k;
	} else {
		for (unsigned i = 0; i < k; i++) {
			if (sl_model_k8s_apply(m, &ops[i], 1, why, sizeof(why)) == 0)
				restored++;
			else
				fprintf(stderr, "sluiced: state %s %s not restored: %s\n", path,
					ops[i].path, why);
		}
	}
	sl_k8s_ops_free(ops, count);
	return restored;
}

int sl_persist_load(const char *path, struct sl_model *m, char *err, size_t n)
{
	char *buf;
	size_t len;
	sl_persist_reset(path); /* this process's first commit writes a snapshot of its own */
	int rc = sl_persist_read(path, &buf, &len, SL_PERSIST_MAX_BYTES);
	if (rc == -ENOENT)
		return 0; /* (a journal without its snapshot has no line of any use) */
	if (rc < 0) {
		snprintf(err, n, "%s: %s", path, rc == -ELOOP ? "is a symbolic link (never followed)"
			 : rc == -EINVAL ? "not a regular file" : strerror(-rc));
		return rc;
	}
	struct sl_json_arena a = { 0 };
	cJSON *doc = sl_json_parse(&a, buf, len, NULL);
	free(buf);
	if (!doc) {
		sl_json_arena_free(&a);
		snprintf(err, n, "%s: not valid JSON", path);
		return -EINVAL;
	}
	struct set sets[K_COUNT] = { 0 };
	for (unsigned k = 0; k < K_COUNT; k++) {
		const cJSON *e;
		cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(doc, sl_persist_list_name[k]))
			if (set_put(&sets[k], k, e, NULL) < 0) {
				snprintf(err, n, "%s: out of memory", path);
				rc = -ENOMEM;
				goto out;
			}
	}
	const cJSON *gen = cJSON_GetObjectItemCaseSensitive(doc, "journal");
	if (cJSON_IsString(gen)) {
		/* The journal, then the lines written while a child wrote a snapshot (which
		 * follow the journal's, whichever of the two snapshots is on disk). */
		int lines = apply_journal(path, SL_PERSIST_JOURNAL_SUFFIX, gen->valuestring, &a,
					  sets);
		lines += apply_journal(path, SL_PERSIST_NEXT_SUFFIX, gen->valuestring, &a, sets);
		if (lines)
			printf("sluiced: state %s: %d journal line(s) applied\n", path, lines);
	}
	int restored = 0;
	for (unsigned k = K_NODE; k <= K_POD; k++) {
		for (unsigned i = 0; i < sets[k].n; i++) {
			const cJSON *e = sets[k].items[i];
			char p[48], why[320] = "";
			if (!e)
				continue;
			snprintf(p, sizeof(p), "%s[%u]", sl_persist_list_name[k], i);
			if (k == K_NODE) {
				struct sl_node_spec s;
				rc = sl_node_parse(e, p, &s, why, sizeof(why));
				rc = rc ?: sl_model_node_add(m, &s, why, sizeof(why));
			} else if (k == K_ROUTE) {
				struct sl_route_spec s;
				rc = sl_route_parse(e, p, &s, why, sizeof(why));
				rc = rc ?: sl_model_route_add(m, &s, why, sizeof(why));
			} else {
				struct sl_pod_spec s;
				rc = sl_pod_parse(e, p, &s, why, sizeof(why));
				rc = rc ?: sl_model_pod_add(m, &s, why, sizeof(why));
			}
			if (rc == 0)
				restored++;
			else if (rc != -EEXIST)
				fprintf(stderr, "sluiced: state %s %s not restored: %s\n", path, p, why);
		}
	}
	restored += load_k8s(sets, m, path);
	rc = restored;
out:
	for (unsigned k = 0; k < K_COUNT; k++)
		set_free(&sets[k]);
	sl_json_arena_free(&a);
	return rc;
}
