/* Labels and label selectors (apimachinery labels.Selector semantics), and freeing the
 * policy specs (see sl_policy.h). Control thread, or any thread on its own objects. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "sl_policy.h"

void sl_labels_free(struct sl_labels *l)
{
	for (unsigned i = 0; i < l->n; i++) {
		free(l->v[i].key);
		free(l->v[i].value);
	}
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

static int label_cmp(const void *a, const void *b)
{
	return strcmp(((const struct sl_label *)a)->key, ((const struct sl_label *)b)->key);
}

int sl_labels_sort(struct sl_labels *l)
{
	if (l->n > 1)
		qsort(l->v, l->n, sizeof(*l->v), label_cmp);
	for (unsigned i = 1; i < l->n; i++)
		if (!strcmp(l->v[i - 1].key, l->v[i].key))
			return -EEXIST;
	return 0;
}

const char *sl_labels_get(const struct sl_labels *l, const char *key)
{
	unsigned lo = 0, hi = l->n;
	while (lo < hi) {
		unsigned mid = (lo + hi) / 2;
		int c = strcmp(l->v[mid].key, key);
		if (!c)
			return l->v[mid].value;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

/* labels.Selector: In needs the key with one of the values; NotIn matches when the key is
 * absent or its value is none of them; Exists / DoesNotExist on the key alone. */
static bool expr_match(const struct sl_sel_expr *x, const struct sl_labels *l)
{
	const char *v = sl_labels_get(l, x->key);
	bool in = false;
	switch (x->op) {
	case SL_SEL_EXISTS:
		return v != NULL;
	case SL_SEL_DOES_NOT_EXIST:
		return v == NULL;
	case SL_SEL_IN:
	case SL_SEL_NOT_IN:
		for (unsigned i = 0; v && i < x->n_values; i++)
			in |= !strcmp(v, x->values[i]);
		return x->op == SL_SEL_IN ? in : !in;
	}
	return false;
}

bool sl_selector_match(const struct sl_selector *sel, const struct sl_labels *l)
{
	for (unsigned i = 0; i < sel->match.n; i++) {
		const char *v = sl_labels_get(l, sel->match.v[i].key);
		if (!v || strcmp(v, sel->match.v[i].value))
			return false;
	}
	for (unsigned i = 0; i < sel->n_exprs; i++)
		if (!expr_match(&sel->exprs[i], l))
			return false;
	return true;
}

void sl_selector_free(struct sl_selector *s)
{
	sl_labels_free(&s->match);
	for (unsigned i = 0; i < s->n_exprs; i++) {
		free(s->exprs[i].key);
		for (unsigned k = 0; k < s->exprs[i].n_values; k++)
			free(s->exprs[i].values[k]);
		free(s->exprs[i].values);
	}
	free(s->exprs);
	s->exprs = NULL;
	s->n_exprs = 0;
}

void sl_ns_spec_free(struct sl_ns_spec *s)
{
	if (!s)
		return;
	sl_labels_free(&s->labels);
	free(s);
}

void sl_kpod_spec_free(struct sl_kpod_spec *s)
{
	if (!s)
		return;
	sl_labels_free(&s->labels);
	free(s->ports);
	free(s);
}

void sl_np_spec_free(struct sl_np_spec *s)
{
	if (!s)
		return;
	sl_selector_free(&s->pod_sel);
	for (int d = 0; d < SL_POL_NDIRS; d++) {
		for (unsigned i = 0; i < s->n_rules[d]; i++) {
			struct sl_np_rule *r = &s->rules[d][i];
			for (unsigned k = 0; k < r->n_peers; k++) {
				sl_selector_free(&r->peers[k].pod_sel);
				sl_selector_free(&r->peers[k].ns_sel);
				free(r->peers[k].except);
			}
			free(r->peers);
			free(r->ports);
		}
		free(s->rules[d]);
	}
	free(s);
}
