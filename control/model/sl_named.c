/* A table of named objects, the undo record and the one-object delete (see sl_named.h).
 * Control thread. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sl_named.h"

struct named_key {
	const char *ns, *name;
};

uint64_t sl_named_hash(const char *ns, const char *name)
{
	return ns ? sl_hash_str(name, sl_hash_str(ns, 0)) : sl_hash_str(name, 0);
}

static bool named_match(const void *ctx, uint32_t id, const void *k)
{
	const struct sl_named *t = ctx;
	const struct named_key *key = k;
	const char *ns;
	const char *name = t->key(t->slots.obj[id], &ns);
	return !strcmp(name, key->name) && (!ns || !strcmp(ns, key->ns));
}

void *sl_named_find(const struct sl_named *t, const char *ns, const char *name)
{
	struct named_key k = { ns, name };
	int64_t id = sl_index_find(&t->by_name, sl_named_hash(ns, name), named_match, t, &k);
	return id < 0 ? NULL : t->slots.obj[id];
}

static uint64_t obj_hash(const struct sl_named *t, const void *obj)
{
	const char *ns;
	const char *name = t->key(obj, &ns);
	return sl_named_hash(ns, name);
}

int sl_named_add(struct sl_named *t, void *obj, uint32_t *ret_id, char *err, size_t errlen)
{
	uint32_t id;
	int rc = slot_take(&t->slots, &id);
	if (rc < 0) {
		if (err && rc == -ENOSPC)
			snprintf(err, errlen, "%s limit reached (%u)", t->kind, t->slots.limit);
		else if (err)
			snprintf(err, errlen, "out of memory");
		return rc;
	}
	t->slots.obj[id] = obj;
	if (sl_index_add(&t->by_name, obj_hash(t, obj), id) < 0) {
		slot_put(&t->slots, id);
		if (err)
			snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	*ret_id = id;
	return 0;
}

void sl_named_del(struct sl_named *t, uint32_t id)
{
	sl_index_del(&t->by_name, obj_hash(t, t->slots.obj[id]), id);
	slot_put(&t->slots, id);
}

void sl_named_restore(struct sl_named *t, uint32_t id, void *obj)
{
	slot_restore(&t->slots, id);
	t->slots.obj[id] = obj;
	sl_index_add(&t->by_name, obj_hash(t, obj), id);
}

void *sl_named_next(const struct sl_named *t, uint32_t *id)
{
	return slot_next(&t->slots, id);
}

void sl_named_free(struct sl_named *t, void (*free_obj)(void *obj))
{
	void *o;
	for (uint32_t i = 0; free_obj && (o = slot_next(&t->slots, &i));)
		free_obj(o);
	slots_free(&t->slots);
	sl_index_free(&t->by_name);
}

/* The id and spec of an object of t. */

static uint32_t *id_of(const struct sl_named *t, void *obj)
{
	return (uint32_t *)((char *)obj + t->id_off);
}

static void *spec_get(const struct sl_named *t, const void *obj)
{
	void *spec;
	memcpy(&spec, (const char *)obj + t->spec_off, sizeof(spec));
	return spec;
}

static void spec_set(const struct sl_named *t, void *obj, void *spec)
{
	memcpy((char *)obj + t->spec_off, &spec, sizeof(spec));
}

static void changed(const struct sl_named *t, void *store, void *obj, const void *old_spec,
		    const void *new_spec)
{
	if (t->changed)
		t->changed(store, obj, old_spec, new_spec);
}

int sl_named_store(struct sl_named *t, void *store, enum sl_k8s_kind kind, const char *ns,
		   const char *name, void *spec, struct sl_named_undo *u, char *err,
		   size_t errlen)
{
	void *o = sl_named_find(t, ns, name);
	*u = (struct sl_named_undo){ .kind = kind, .obj = o };
	if (!spec) {
		if (!o)
			return snprintf(err, errlen, "%s %s%s%s not found", t->kind, ns ? ns : "",
					ns ? "/" : "", name), -ENOENT;
		changed(t, store, o, spec_get(t, o), NULL);
		t->unlink(store, o);
		sl_named_del(t, *id_of(t, o));
		u->deleted = true;
		return 0;
	}
	if (o) {
		void *old = spec_get(t, o);
		t->unlink(store, o);
		spec_set(t, o, spec);
		if (t->link(store, o) < 0) {
			spec_set(t, o, old);
			t->link(store, o); /* back: nothing grows */
			return snprintf(err, errlen, "out of memory"), -ENOMEM;
		}
		changed(t, store, o, old, spec);
		u->old_spec = old;
		return 0;
	}
	if (!(o = calloc(1, t->size)))
		return snprintf(err, errlen, "out of memory"), -ENOMEM;
	spec_set(t, o, spec);
	int rc = sl_named_add(t, o, id_of(t, o), err, errlen);
	if (rc < 0) {
		free(o);
		return rc;
	}
	if (t->link(store, o) < 0) {
		sl_named_del(t, *id_of(t, o));
		free(o);
		return snprintf(err, errlen, "out of memory"), -ENOMEM;
	}
	changed(t, store, o, NULL, spec);
	u->obj = o;
	u->created = true;
	return 0;
}

void sl_named_unstore(struct sl_named *t, void *store, struct sl_named_undo *u)
{
	void *o = u->obj;
	void *spec = spec_get(t, o);
	if (u->deleted) {
		sl_named_restore(t, *id_of(t, o), o);
		t->link(store, o);
		changed(t, store, o, NULL, spec);
	} else if (u->created) {
		changed(t, store, o, spec, NULL);
		t->unlink(store, o);
		sl_named_del(t, *id_of(t, o));
		t->discard(o);
	} else {
		changed(t, store, o, spec, u->old_spec);
		t->unlink(store, o);
		spec_set(t, o, u->old_spec);
		t->link(store, o);
	}
}

int sl_model_k8s_del_one(struct sl_model *m, enum sl_k8s_kind kind, const char *ns,
			 const char *name, char *err, size_t errlen)
{
	struct sl_k8s_op op = { .kind = kind, .del = true };
	snprintf(op.namespace, sizeof(op.namespace), "%s", ns);
	snprintf(op.name, sizeof(op.name), "%s", name);
	char why[320];
	int rc = sl_model_k8s_apply(m, &op, 1, why, sizeof(why));
	if (rc < 0) /* without the op's path: "object: service x not found" reads badly */
		snprintf(err, errlen, "%s", strncmp(why, "object: ", 8) ? why : why + 8);
	return rc;
}
