/* A reflector's record of the objects it handed on (see sl_kube_store.h). */
#include <stdlib.h>
#include <string.h>

#include "sl_kube_store.h"

static uint64_t hash(const char *k)
{
	uint64_t h = 0xcbf29ce484222325ull; /* FNV-1a */
	for (; *k; k++)
		h = (h ^ (uint8_t)*k) * 0x100000001b3ull;
	return h;
}

void sl_kube_store_init(struct sl_kube_store *s)
{
	*s = (struct sl_kube_store){ 0 };
}

static void obj_free(struct sl_kube_store *s, struct sl_kube_obj *o)
{
	s->bytes -= sizeof(*o) + strlen(o->key) + 1 + strlen(o->rv) + 1;
	free(o->rv);
	free(o);
}

void sl_kube_store_fini(struct sl_kube_store *s)
{
	for (size_t i = 0; i < s->n_buckets; i++)
		while (s->bucket[i]) {
			struct sl_kube_obj *o = s->bucket[i];
			s->bucket[i] = o->next;
			obj_free(s, o);
		}
	free(s->bucket);
	*s = (struct sl_kube_store){ 0 };
}

struct sl_kube_obj *sl_kube_store_find(const struct sl_kube_store *s, const char *key)
{
	if (!s->n_buckets)
		return NULL;
	for (struct sl_kube_obj *o = s->bucket[hash(key) & (s->n_buckets - 1)]; o; o = o->next)
		if (!strcmp(o->key, key))
			return o;
	return NULL;
}

static int grow(struct sl_kube_store *s)
{
	size_t nb = s->n_buckets ? s->n_buckets * 2 : 64;
	struct sl_kube_obj **b = calloc(nb, sizeof(*b));
	if (!b)
		return -1;
	for (size_t i = 0; i < s->n_buckets; i++)
		while (s->bucket[i]) {
			struct sl_kube_obj *o = s->bucket[i];
			s->bucket[i] = o->next;
			size_t j = hash(o->key) & (nb - 1);
			o->next = b[j];
			b[j] = o;
		}
	s->bytes += (nb - s->n_buckets) * sizeof(*b);
	free(s->bucket);
	s->bucket = b;
	s->n_buckets = nb;
	return 0;
}

struct sl_kube_obj *sl_kube_store_set(struct sl_kube_store *s, const char *key, const char *rv)
{
	struct sl_kube_obj *o = sl_kube_store_find(s, key);
	char *nrv = strdup(rv ? rv : "");
	if (!nrv)
		return NULL;
	if (o) {
		s->bytes += strlen(nrv) - strlen(o->rv);
		free(o->rv);
		o->rv = nrv;
		return o;
	}
	if (s->n >= s->n_buckets && grow(s) < 0) {
		free(nrv);
		return NULL;
	}
	size_t kl = strlen(key) + 1;
	if (!(o = calloc(1, sizeof(*o) + kl))) {
		free(nrv);
		return NULL;
	}
	memcpy(o->key, key, kl);
	o->rv = nrv;
	size_t j = hash(key) & (s->n_buckets - 1);
	o->next = s->bucket[j];
	s->bucket[j] = o;
	s->n++;
	s->bytes += sizeof(*o) + kl + strlen(nrv) + 1;
	return o;
}

void sl_kube_store_del(struct sl_kube_store *s, const char *key)
{
	if (!s->n_buckets)
		return;
	for (struct sl_kube_obj **p = &s->bucket[hash(key) & (s->n_buckets - 1)]; *p;
	     p = &(*p)->next)
		if (!strcmp((*p)->key, key)) {
			struct sl_kube_obj *o = *p;
			*p = o->next;
			s->n--;
			obj_free(s, o);
			return;
		}
}

size_t sl_kube_store_sweep(struct sl_kube_store *s, uint64_t gen,
			   void (*fn)(void *arg, const struct sl_kube_obj *o), void *arg)
{
	size_t n = 0;
	for (size_t i = 0; i < s->n_buckets; i++)
		for (struct sl_kube_obj *o = s->bucket[i]; o; o = o->next)
			if (o->gen != gen && fn)
				fn(arg, o);
	for (size_t i = 0; i < s->n_buckets; i++)
		for (struct sl_kube_obj **p = &s->bucket[i]; *p;) {
			struct sl_kube_obj *o = *p;
			if (o->gen == gen) {
				p = &o->next;
				continue;
			}
			*p = o->next;
			s->n--;
			obj_free(s, o);
			n++;
		}
	return n;
}
