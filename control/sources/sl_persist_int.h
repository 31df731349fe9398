/* What the state file's parts share: saving (sl_persist.c, the journal writer
 * sl_persist_journal.c, the snapshot child sl_persist_child.c), the text
 * (sl_persist_encode.c) and loading (sl_persist_load.c). Not for use outside them. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "sl_json.h"
#include "sl_k8s.h"
#include "sl_persist.h"

/* The persisted kinds, in the order they are restored (nodes and routes before the pods
 * that may use them; the Kubernetes objects last, in one batch). Adding a kind: a row in
 * each table below and a case in sl_persist_note_request. */
enum kind { K_NODE, K_ROUTE, K_POD, K_SVC, K_SLICE, K_NS, K_KPOD, K_POLICY, K_COUNT };
/* Each kind's list in the snapshot and the journal lines. */
extern const char *const sl_persist_list_name[K_COUNT];
/* The Kubernetes kinds (K_SVC..K_POLICY) as the decoder names them. */
extern const enum sl_k8s_kind sl_persist_k8s_kind[K_COUNT];

/* An object's key within its kind, at most this long. */
#define SL_PERSIST_KEY_MAX (SL_NAME_MAX + SL_K8S_NAME_MAX + 2)

/* An object's key within its kind, as the snapshot and the journal write it: "ns/name"
 * for pods and the namespaced Kubernetes objects (namespace "default" when absent), the
 * name of a node or a Namespace, the prefix of a route. Returns false when the object has
 * none (restored as it is, and refused there). */
bool sl_persist_item_key(enum kind k, const cJSON *o, char *buf, size_t n);

/* Start over for path: no snapshot of this process's yet (its next commit writes one);
 * a snapshot child still running is waited for. Control thread. */
void sl_persist_reset(const char *path);

/* ---- Saving --------------------------------------------------------------------------- */

/* A persisted object a request named (its key). */
struct note {
	uint8_t kind;
	struct sl_cidr prefix; /* routes */
	char ns[SL_NAME_MAX];
	char name[SL_K8S_NAME_MAX];
};

/* What the saving side knows of the state file: one, sl_persist_ps (sl_persist.c), used by
 * the control thread only (the snapshot child reads its copy of path and child_hook). */
struct sl_persist_state {
	char path[SL_PERSIST_PATH_MAX]; /* the state file the rest is about */
	uint64_t gen;                   /* generation of the snapshot this process wrote; 0: none */
	size_t snap_bytes;              /* its size */
	size_t journal_bytes;           /* the journal's (lines of this generation only) */
	int jfd;                        /* the journal, open for appending; -1 */
	struct note *notes;
	unsigned n_notes, cap_notes;
	struct sl_persist_stats stats;
	struct sl_json_buf line; /* the journal line being written, kept for the next */
	/* The snapshot child (sl_persist.h "The compaction in a child process"). */
	pid_t child;         /* 0: none */
	int child_fd;        /* its pidfd; -1 */
	uint64_t child_gen;  /* the generation it writes */
	int nfd;             /* <state>.journal.next while it runs; -1 */
	size_t next_bytes;   /* its size */
	bool no_fork;
	void (*child_hook)(void);
};
extern struct sl_persist_state sl_persist_ps;

/* CPU time of the calling thread in ns (the stats' *_ns). Any thread. */
static inline uint64_t sl_persist_cpu_ns(void)
{
	struct timespec t;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
	return (uint64_t)t.tv_sec * 1000000000ull + (uint64_t)t.tv_nsec;
}

/* A new snapshot generation: never 0, and not one this or another process made before.
 * Control thread (sl_persist.c). */
uint64_t sl_persist_new_gen(void);

/* Fork the snapshot child for a new generation; the journal lines go to .next until it
 * is reaped. Returns 0 or -errno (no child then, nothing changed on disk that counts).
 * Control thread, from the commit (sl_persist_child.c). */
int sl_persist_start_child(const struct sl_model *m);

/* ---- The text (sl_persist_encode.c; no state: safe in the snapshot child) ------------- */

/* The snapshot of m as sl_persist_export's tree with "journal": gen, printed, written to
 * o as it is made. Returns its length, or 0 (no memory). */
size_t sl_persist_snapshot_text(struct sl_persist_out *o, const struct sl_model *m,
				const char *gen);
/* What the model holds under a note's key, encoded (in the arena of sl_json_build_begin);
 * NULL when nothing. */
cJSON *sl_persist_model_obj(const struct sl_model *m, const struct note *t);
/* A member name and its colon, printed into b. */
void sl_persist_put_key(struct sl_json_buf *b, const char *key);
/* o (a tree in a, or NULL: no memory) printed into b; a emptied for the next tree. */
void sl_persist_put_tree(struct sl_json_buf *b, struct sl_json_arena *a, const cJSON *o);
