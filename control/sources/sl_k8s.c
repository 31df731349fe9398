/* Kubernetes object decoder (see sl_k8s.h): documents and Lists, read whole or while the
 * JSON is read; the kinds are decoded in sl_k8s_service.c, sl_k8s_slice.c and (Namespace,
 * Pod, NetworkPolicy) sl_k8s_policy.c. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sl_json.h"
#include "sl_k8s.h"
#include "sl_k8s_at.h"
#include "sl_k8s_policy.h"

/* One object of a document: its kind from "kind", or from the list's kind. */
static int decode_one(const cJSON *o, const char *path, const char *list_kind,
		      struct sl_k8s_op *op, char *err, size_t n)
{
	const cJSON *m[K_N];
	const struct at *a = AT(NULL, path);
	sl_k8s_members(IS_OBJ(o) ? o : NULL, sl_k8s_obj_keys, K_N, m);
	const cJSON *k = m[K_KIND];
	const char *kind = IS_STR(k) ? k->valuestring : list_kind;
	size_t pl = strlen(path);
	if (pl > sizeof(op->path) - 1)
		pl = sizeof(op->path) - 1;
	memcpy(op->path, path, pl);
	op->path[pl] = 0;
	if (sl_k8s_at_obj(o, a, err, n))
		return -EINVAL;
	if (!kind)
		return FAIL(AT(a, "kind"), "missing (Service or EndpointSlice)");
	if (!strcmp(kind, "Service")) {
		op->kind = SL_K8S_SERVICE;
		return sl_k8s_service_of(o, m, a, &op->svc, err, n);
	}
	if (!strcmp(kind, "EndpointSlice")) {
		op->kind = SL_K8S_SLICE;
		return sl_k8s_slice_of(o, m, a, &op->slice, err, n);
	}
	if (sl_k8s_policy_kind(kind)) /* Namespace, Pod, NetworkPolicy (sl_k8s_policy.c) */
		return sl_k8s_policy_decode(o, path, kind, op, err, n);
	return FAIL(AT(a, "kind"), "'%.32s' is not supported (Service, "
		    "EndpointSlice, Namespace, Pod, NetworkPolicy, or a List of them)", kind);
}

/* Whether k (a document's "kind") names a List; *ret its items' kind when the List says
 * it (ServiceList: Service), else NULL. */
static bool is_list_kind(const cJSON *k, const char **ret)
{
	*ret = NULL;
	if (!IS_STR(k))
		return false;
	const char *s = k->valuestring;
	if (!strcmp(s, "List"))
		return true;
	if (!strcmp(s, "ServiceList"))
		*ret = "Service";
	else if (!strcmp(s, "EndpointSliceList"))
		*ret = "EndpointSlice";
	else
		*ret = sl_k8s_policy_list_kind(s);
	return *ret != NULL;
}

int sl_k8s_decode(const cJSON *doc, struct sl_k8s_op **ret_ops, unsigned *ret_n, char *err,
		  size_t n)
{
	const cJSON *k = sl_k8s_get(doc, "kind"), *items = NULL, *e;
	const char *list_kind = NULL;
	bool is_list = false;
	unsigned count = 1;
	int rc = 0;
	*ret_ops = NULL;
	*ret_n = 0;
	if (!IS_OBJ(doc))
		return sl_k8s_fail(err, n, "object", "must be a JSON object (a Service, an "
				   "EndpointSlice or a List)");
	if (is_list_kind(k, &list_kind)) {
		is_list = true;
		items = sl_k8s_get(doc, "items");
		if (sl_k8s_at_array(items, AT(NULL, "items"), SL_K8S_MAX_OBJECTS, &count, err, n))
			return -EINVAL;
	}
	struct sl_k8s_op *ops = calloc(count ? count : 1, sizeof(*ops));
	if (!ops)
		return snprintf(err, n, "out of memory"), -ENOMEM;
	if (!is_list) {
		rc = decode_one(doc, "", NULL, &ops[0], err, n);
	} else {
		unsigned i = 0;
		char p[SL_K8S_PATH_MAX];
		cJSON_ArrayForEach(e, items)
		{
			if ((rc = decode_one(e, sl_k8s_idx(p, "items", i), list_kind, &ops[i], err,
					     n)))
				break;
			i++;
		}
	}
	if (rc) {
		sl_k8s_ops_free(ops, count);
		return rc;
	}
	*ret_ops = ops;
	*ret_n = count;
	return 0;
}

void sl_k8s_stream_elem(void *ctx, const cJSON *array, const cJSON *e, unsigned idx)
{
	struct sl_k8s_stream *s = ctx;
	char p[SL_K8S_PATH_MAX], err[4];
	if (s->bad)
		return;
	if (idx != s->n || (s->array && array != s->array) || s->n >= SL_K8S_MAX_OBJECTS) {
		s->bad = true; /* a second array, or too many */
		return;
	}
	s->array = array;
	if (s->n == s->cap) {
		unsigned cap = s->cap ? 2 * s->cap : 256;
		struct sl_k8s_op *ops = realloc(s->ops, cap * sizeof(*ops));
		if (!ops) {
			s->bad = true;
			return;
		}
		memset(ops + s->cap, 0, (cap - s->cap) * sizeof(*ops));
		s->ops = ops;
		s->cap = cap;
	}
	/* As sl_k8s_decode would with the List's own kind unknown yet (kubectl prints "kind"
	 * after "items"): an item without a kind of its own fails here, and is decoded again
	 * from the tree. */
	if (decode_one(e, sl_k8s_idx(p, "items", idx), NULL, &s->ops[s->n], err, sizeof(err)))
		s->bad = true;
	s->n++; /* freed with the others, even when half decoded */
}

void sl_k8s_stream_free(struct sl_k8s_stream *s)
{
	sl_k8s_ops_free(s->ops, s->n);
	*s = (struct sl_k8s_stream){ 0 };
}

int sl_k8s_stream_finish(struct sl_k8s_stream *s, bool streamed, const cJSON *doc,
			 struct sl_k8s_op **ret_ops, unsigned *ret_n, char *err, size_t n)
{
	const char *list_kind;
	const cJSON *items = IS_OBJ(doc) ? sl_k8s_get(doc, "items") : NULL;
	/* The streamed items are the List's when every one decoded, they were the elements
	 * of the tree's own items array (its first: each array told is checked to be the
	 * first one), and the document is a List: then sl_k8s_decode would give the same
	 * ops. */
	if (streamed && !s->bad && is_list_kind(sl_k8s_get(doc, "kind"), &list_kind) &&
	    items == s->array) {
		*ret_ops = s->ops;
		*ret_n = s->n;
		*s = (struct sl_k8s_stream){ 0 };
		return 0;
	}
	sl_k8s_stream_free(s);
	if (streamed) /* items were dropped from the tree: read the text again */
		return -EAGAIN;
	return sl_k8s_decode(doc, ret_ops, ret_n, err, n);
}

int sl_k8s_decode_text(const char *text, size_t len, struct sl_k8s_op **ret_ops,
		       unsigned *ret_n, char *err, size_t n)
{
	static const char *const path[] = { "items" };
	*ret_ops = NULL;
	*ret_n = 0;
	struct sl_json_arena a = { 0 };
	struct sl_k8s_stream st = { 0 };
	struct sl_json_watch w = { .path = path, .depth = 1, .elem = sl_k8s_stream_elem,
				   .ctx = &st };
	cJSON *doc = sl_json_parse_watch(&a, text, len, NULL, &w);
	int rc = -EAGAIN;
	if (doc)
		rc = sl_k8s_stream_finish(&st, w.streamed && w.n, doc, ret_ops, ret_n, err, n);
	sl_k8s_stream_free(&st);
	if (rc == -EAGAIN) { /* not a List the stream could take: the whole tree */
		sl_json_arena_free(&a);
		doc = doc ? sl_json_parse(&a, text, len, NULL) : NULL;
		rc = doc ? sl_k8s_decode(doc, ret_ops, ret_n, err, n)
			 : sl_k8s_fail(err, n, "object", "invalid JSON");
	}
	sl_json_arena_free(&a);
	return rc;
}
