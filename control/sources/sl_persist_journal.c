/* The journal writer: the notes of what each request may have changed, and at the end of
 * a round (sl_persist_commit) one journal line of what they name, appended and synced; the
 * snapshot when the journal outgrows it, by the child (sl_persist_child.c) or in process
 * (sl_persist.c). Control thread. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sl_config.h"
#include "sl_json.h"
#include "sl_k8s.h"
#include "sl_k8s_policy.h"
#include "sl_persist.h"
#include "sl_persist_int.h"
#include "sl_request.h"

static struct sl_persist_state *const ps = &sl_persist_ps;

#define LINE_KEEP (8u << 20) /* bytes of ps->line kept between commits */

static enum kind kind_of(enum sl_k8s_kind k)
{
	for (unsigned i = K_SVC; i < K_COUNT; i++)
		if (sl_persist_k8s_kind[i] == k)
			return i;
	return K_SVC;
}

/* s (NULL: "") into buf of n bytes, cut to fit, as snprintf "%s" would (a note per applied
 * object: 200,000 for 100,000 Services, and snprintf was a visible part of a save). */
static void copy(char *buf, size_t n, const char *s)
{
	size_t l = s ? strnlen(s, n - 1) : 0;
	memcpy(buf, s ? s : "", l);
	buf[l] = 0;
}

static void note(enum kind k, const char *ns, const char *name, struct sl_cidr prefix)
{
	if (ps->n_notes == ps->cap_notes) {
		unsigned cap = ps->cap_notes ? 2 * ps->cap_notes : 64;
		struct note *nn = realloc(ps->notes, cap * sizeof(*nn));
		if (!nn) { /* no room to say what changed: the next commit saves everything */
			ps->gen = 0;
			return;
		}
		ps->notes = nn;
		ps->cap_notes = cap;
	}
	struct note *t = &ps->notes[ps->n_notes++];
	t->kind = (uint8_t)k;
	t->prefix = prefix;
	copy(t->ns, sizeof(t->ns), ns);
	copy(t->name, sizeof(t->name), name);
}

void sl_persist_note_request(const struct sl_request *r)
{
	const struct sl_cidr none = { 0 };
	switch (r->cmd) {
	case SL_CMD_POD_ADD: note(K_POD, r->pod.namespace, r->pod.name, none); break;
	case SL_CMD_POD_DEL: note(K_POD, r->namespace, r->name, none); break;
	case SL_CMD_NODE_ADD: note(K_NODE, NULL, r->node.name, none); break;
	case SL_CMD_NODE_DEL: note(K_NODE, NULL, r->name, none); break;
	case SL_CMD_ROUTE_ADD: note(K_ROUTE, NULL, NULL, r->route.prefix); break;
	case SL_CMD_ROUTE_DEL: note(K_ROUTE, NULL, NULL, r->prefix); break;
	case SL_CMD_SVC_DEL: note(K_SVC, r->namespace, r->name, none); break;
	case SL_CMD_SLICE_DEL: note(K_SLICE, r->namespace, r->name, none); break;
	case SL_CMD_K8S_DEL: note(kind_of(r->k8s_kind), r->namespace, r->name, none); break;
	case SL_CMD_APPLY:
		for (unsigned i = 0; i < r->n_ops; i++) {
			const struct sl_k8s_op *op = &r->ops[i];
			enum kind k = kind_of(op->kind);
			if (op->del)
				note(k, op->namespace, op->name, none);
			else if (op->svc)
				note(k, op->svc->namespace, op->svc->name, none);
			else if (op->slice)
				note(k, op->slice->namespace, op->slice->name, none);
			else if (op->ns)
				note(k, NULL, op->ns->name, none);
			else if (op->pod)
				note(k, op->pod->namespace, op->pod->name, none);
			else if (op->policy)
				note(k, op->policy->namespace, op->policy->name, none);
		}
		break;
	default:
		if (sl_cmds[r->cmd].flags & SL_CMD_F_PERSIST)
			ps->gen = 0; /* a persisted change this file does not know: save everything */
		break;
	}
}

static void note_key(const struct note *t, char *buf, size_t n)
{
	char b[SL_CIDR_STR_MAX];
	if (t->kind == K_ROUTE)
		snprintf(buf, n, "%s", sl_cidr_fmt(t->prefix, b));
	else if (t->kind == K_NODE || t->kind == K_NS)
		snprintf(buf, n, "%s", t->name);
	else
		snprintf(buf, n, "%s/%s", t->ns, t->name);
}

/* The list of kind in "put" or "del" opened: a comma before all but the first (*any), its
 * name, its bracket. */
static void open_list(struct sl_json_buf *b, bool *any, unsigned kind)
{
	if (*any)
		sl_json_buf_put(b, ",", 1);
	*any = true;
	sl_persist_put_key(b, sl_persist_list_name[kind]);
	sl_json_buf_put(b, "[", 1);
}

/* The journal line of the notes: {"gen":G,"put":{LIST:[obj...],...},"del":{LIST:[key...],
 * ...}} and its newline, as the record's tree printed it: the lists of "put" in the order
 * of their kind's first note whose object is there, those of "del" in the order of their
 * kind's first note whose object is gone, the objects and keys in the notes' order. Each
 * note's object is looked up once. Returns the length (newline included) or 0 (no
 * memory). */
static size_t journal_text(struct sl_json_buf *b, const struct sl_model *m, const char *gen,
			   const char *base)
{
	/* A note whose object is gone goes in "del": known once "put" is made. */
	uint8_t *gone = calloc(ps->n_notes ? ps->n_notes : 1, 1);
	bool done[K_COUNT] = { false };
	struct sl_json_arena a = { 0 };
	char key[SL_PERSIST_KEY_MAX];
	bool oom = !gone, any_list = false;
	b->len = 0;
	b->oom = false;
	sl_json_buf_put(b, "{", 1);
	sl_persist_put_key(b, "gen");
	cJSON g = { .type = cJSON_String, .valuestring = (char *)gen };
	sl_json_print(b, &g);
	sl_json_buf_put(b, ",", 1);
	if (base) {
		sl_persist_put_key(b, "base");
		cJSON bs = { .type = cJSON_String, .valuestring = (char *)base };
		sl_json_print(b, &bs);
		sl_json_buf_put(b, ",", 1);
	}
	sl_persist_put_key(b, "put");
	sl_json_buf_put(b, "{", 1);
	sl_json_build_begin(&a);
	for (unsigned i = 0; i < ps->n_notes && !oom && !b->oom; i++) {
		unsigned kind = ps->notes[i].kind;
		if (done[kind])
			continue;
		cJSON *o = sl_persist_model_obj(m, &ps->notes[i]);
		if (!o) {
			gone[i] = 1;
			continue;
		}
		/* The first of its kind that is there: the kind's whole list (the kind's notes
		 * before it are all gone). */
		done[kind] = true;
		open_list(b, &any_list, kind);
		sl_persist_put_tree(b, &a, o);
		for (unsigned j = i + 1; j < ps->n_notes && !b->oom; j++) {
			if (ps->notes[j].kind != kind)
				continue;
			if (!(o = sl_persist_model_obj(m, &ps->notes[j]))) {
				gone[j] = 1;
				continue;
			}
			sl_json_buf_put(b, ",", 1);
			sl_persist_put_tree(b, &a, o);
		}
		sl_json_buf_put(b, "]", 1);
	}
	sl_json_build_end();
	sl_json_arena_free(&a);
	sl_json_buf_put(b, "},", 2);
	sl_persist_put_key(b, "del");
	sl_json_buf_put(b, "{", 1);
	any_list = false;
	/* Lists in "del" go in the order of the kinds' first deleted note. */
	bool del_seen[K_COUNT] = { false };
	for (unsigned i = 0; i < ps->n_notes && !oom; i++) {
		unsigned kind = ps->notes[i].kind;
		if (!gone[i] || del_seen[kind])
			continue;
		del_seen[kind] = true;
		open_list(b, &any_list, kind);
		for (unsigned j = i, n = 0; j < ps->n_notes; j++) {
			if (!gone[j] || ps->notes[j].kind != kind)
				continue;
			if (n++)
				sl_json_buf_put(b, ",", 1);
			note_key(&ps->notes[j], key, sizeof(key));
			cJSON ks = { .type = cJSON_String, .valuestring = key };
			sl_json_print(b, &ks);
		}
		sl_json_buf_put(b, "]", 1);
	}
	sl_json_buf_put(b, "}}\n", 3);
	free(gone);
	return oom || b->oom ? 0 : b->len;
}

/* A journal line appended to fd at *at; *at and the stats updated. Returns 0 or -errno
 * (the next save is a snapshot if the line may be cut). */
static int append(int fd, size_t *at, const char *text, size_t len)
{
	bool torn;
	int rc = sl_persist_journal_append(fd, *at, text, len, &torn);
	if (torn)
		ps->gen = 0; /* a line may be cut in the journal: next time a snapshot */
	if (!rc) {
		*at += len;
		ps->n_notes = 0;
		ps->stats.appends++;
		ps->stats.append_bytes += len;
	}
	return rc;
}

static int commit(const char *path, const struct sl_model *m)
{
	if (strcmp(ps->path, path))
		sl_persist_reset(path);
	if (ps->child && ps->next_bytes > SL_PERSIST_MAX_BYTES / 2)
		sl_persist_reap(true); /* (.next stays readable) */
	if (ps->child)
		sl_persist_reap(false);
	if (!ps->gen)
		return sl_persist_save(path, m);
	if (!ps->n_notes)
		return 0;
	uint64_t t0 = sl_persist_cpu_ns();
	char g[24], base[24];
	int rc;
	if (ps->child) { /* a snapshot being written: the line goes to .next, for either */
		snprintf(g, sizeof(g), "%016" PRIx64, ps->child_gen);
		snprintf(base, sizeof(base), "%016" PRIx64, ps->gen);
		size_t len = journal_text(&ps->line, m, g, base);
		ps->stats.encode_ns += sl_persist_cpu_ns() - t0;
		rc = len ? append(ps->nfd, &ps->next_bytes, ps->line.p, len) : -ENOMEM;
		ps->stats.append_ns += sl_persist_cpu_ns() - t0;
		return rc;
	}
	snprintf(g, sizeof(g), "%016" PRIx64, ps->gen);
	size_t len = journal_text(&ps->line, m, g, NULL);
	ps->stats.encode_ns += sl_persist_cpu_ns() - t0;
	if (!len)
		return -ENOMEM;
	if (ps->jfd < 0 && ps->journal_bytes + len <= ps->snap_bytes) {
		/* The first line since the snapshot (which holds everything before it). */
		ps->jfd = sl_persist_journal_open(path, true);
		if (ps->jfd >= 0 && (ftruncate(ps->jfd, 0) < 0 || fdatasync(ps->jfd) < 0)) {
			close(ps->jfd);
			ps->jfd = -1;
		}
		ps->journal_bytes = 0;
	}
	bool compact = ps->journal_bytes + len > ps->snap_bytes;
	if (ps->jfd < 0 || (compact && ps->no_fork)) {
		/* No journal to write, or compaction in process: a snapshot instead. */
		ps->stats.append_ns += sl_persist_cpu_ns() - t0;
		return sl_persist_save(path, m);
	}
	rc = append(ps->jfd, &ps->journal_bytes, ps->line.p, len);
	ps->stats.journal_bytes = ps->journal_bytes;
	ps->stats.append_ns += sl_persist_cpu_ns() - t0;
	if (!rc && compact) {
		/* The journal outgrew the snapshot: a new one, by a child. */
		uint64_t t1 = sl_persist_cpu_ns();
		int frc = sl_persist_start_child(m);
		ps->stats.snapshot_ns += sl_persist_cpu_ns() - t1;
		if (frc < 0) {
			fprintf(stderr, "sluiced: state %s: cannot fork the snapshot child: %s; "
				"writing it in process\n", path, strerror(-frc));
			rc = sl_persist_save(path, m);
		}
	}
	return rc;
}

int sl_persist_commit(const char *path, const struct sl_model *m)
{
	int rc = commit(path, m);
	if (ps->line.cap > LINE_KEEP)
		sl_json_buf_free(&ps->line); /* (a large line's buffer is not kept) */
	return rc;
}
