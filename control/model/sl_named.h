/* Storage shared by the control model's Kubernetes object kinds: a table of objects keyed
 * by namespace/name (slots with a count limit, and a name index), the undo record of one
 * change in an all-or-nothing batch, and the one-object delete. Used by the policy store
 * (Namespaces, cluster pods, NetworkPolicies and namespace groups: sl_policy_*.c) and the
 * Service store (Services and EndpointSlices: sl_service.c). Internal to control/model/.
 * No DPDK; control thread only. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sl_index.h"
#include "sl_model.h"
#include "sl_service.h"
#include "sl_slots.h"

/* Objects of one kind, by id and by name. The table owns neither the objects nor their
 * specs; an object's key must stay readable (and unchanged) while it is in the table.
 * kind and key are needed by every function; the rest only by sl_named_store/unstore. */
struct sl_named {
	struct slots slots;      /* objects by id; slots.limit bounds how many */
	struct sl_index by_name; /* sl_named_hash(namespace, name) -> id */
	const char *kind;        /* in error messages: "pod", "networkpolicy" */
	/* The key of obj: returns its name and sets *ret_ns to its namespace, or to NULL for
	 * a cluster-scoped kind (a Namespace). */
	const char *(*key)(const void *obj, const char **ret_ns);

	/* The object: its size (allocated zeroed by a create), and the offsets of its
	 * uint32_t id and of its spec pointer. */
	size_t size, id_off, spec_off;
	/* Enter obj (its spec set) in the kind's other indexes of store: 0, or -ENOMEM with
	 * nothing entered. Entering again what unlink removed must take no new memory. */
	int (*link)(void *store, void *obj);
	/* Remove obj (its spec as when linked) from those indexes. */
	void (*unlink)(void *store, void *obj);
	/* Optional: obj's spec went from old to new (either NULL: created or deleted), called
	 * while obj is linked (after link, before unlink). */
	void (*changed)(void *store, void *obj, const void *old_spec, const void *new_spec);
	/* Free an object created by a change that is undone (not its spec). */
	void (*discard)(void *obj);
};

/* The hash a name is indexed under (ns NULL: a cluster-scoped name). */
uint64_t sl_named_hash(const char *ns, const char *name);

/* The object ns/name (ns NULL for a cluster-scoped kind), or NULL. */
void *sl_named_find(const struct sl_named *t, const char *ns, const char *name);

/* Store obj (its key readable) under the lowest free id, written to *ret_id (which may point
 * into obj), and index it by name. Returns 0; or -ENOSPC ("<kind> limit reached (<limit>)")
 * or -ENOMEM ("out of memory") with err set when err is not NULL, and then nothing is
 * stored. */
int sl_named_add(struct sl_named *t, void *obj, uint32_t *ret_id, char *err, size_t errlen);

/* Remove object id (still in the table, its key readable): the object is not freed. */
void sl_named_del(struct sl_named *t, uint32_t id);

/* Put obj back under id after sl_named_del(id), undoing a delete in the same batch: takes
 * no new memory (the slot and the index entry were freed by the delete). */
void sl_named_restore(struct sl_named *t, uint32_t id, void *obj);

/* The next object from *id on (start at 0), advancing *id past it; NULL at the end. */
void *sl_named_next(const struct sl_named *t, uint32_t *id);

/* Free every object with free_obj (NULL: none), then the table's own memory. */
void sl_named_free(struct sl_named *t, void (*free_obj)(void *obj));

/* One stored change of a batch, and what undoes it. Specs are swapped, never copied: the
 * applied spec moves from the op into the model, and at commit the replaced (old_spec) or
 * deleted one is freed. */
struct sl_named_undo {
	enum sl_k8s_kind kind;
	void *obj;      /* the object changed */
	void *old_spec; /* replaced: the previous spec; else NULL */
	bool created;   /* created by the change (freed by the undo) */
	bool deleted;   /* removed from its table and indexes (freed at commit) */
};

/* Store one change of object ns/name (ns NULL for a cluster-scoped kind) in table t of store:
 * spec NULL deletes it, else spec (owned by the caller until the batch commits) replaces
 * its spec or creates it. u records what undoes it (kind in u->kind). Returns 0, or
 * -ENOENT ("<kind> <ns>/<name> not found"), -ENOSPC or -ENOMEM with err set and nothing
 * changed. */
int sl_named_store(struct sl_named *t, void *store, enum sl_k8s_kind kind, const char *ns,
		   const char *name, void *spec, struct sl_named_undo *u, char *err,
		   size_t errlen);
/* Undo a change sl_named_store recorded in u (the later changes undone first): takes no new
 * memory. */
void sl_named_unstore(struct sl_named *t, void *store, struct sl_named_undo *u);

/* Delete one object (a batch of one through sl_model_k8s_apply). Returns 0 or a negative
 * errno with err set, without the "object: " path of a batch ("pod x/y not found"). */
int sl_model_k8s_del_one(struct sl_model *m, enum sl_k8s_kind kind, const char *ns,
			 const char *name, char *err, size_t errlen);
