/* Object slots for the control model: pointers by id, with freed ids reused lowest first,
 * and a count limit. Internal to control/model/ (sl_model.c, sl_service.c). Control thread. */
#pragma once
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Objects of one kind: pointers by id, and the ids free for reuse. */
struct slots {
	void **obj;
	uint32_t cap, used;
	uint32_t *free_ids, n_free;
	unsigned limit;
};

static inline int slot_take(struct slots *s, uint32_t *ret_id)
{
	if (s->used >= s->limit)
		return -ENOSPC;
	if (s->n_free) {
		*ret_id = s->free_ids[--s->n_free];
	} else {
		if (s->cap == UINT32_MAX / 2)
			return -ENOSPC;
		uint32_t cap = s->cap ? s->cap * 2 : 64;
		void **o = realloc(s->obj, cap * sizeof(*o));
		if (!o)
			return -ENOMEM;
		uint32_t *f = realloc(s->free_ids, cap * sizeof(*f));
		if (!f) {
			s->obj = o;
			return -ENOMEM;
		}
		s->obj = o;
		s->free_ids = f;
		for (uint32_t i = cap; i > s->cap + 1; i--)
			s->free_ids[s->n_free++] = i - 1; /* lowest id on top */
		*ret_id = s->cap;
		memset(&s->obj[s->cap], 0, (cap - s->cap) * sizeof(*o));
		s->cap = cap;
	}
	s->used++;
	return 0;
}

static inline void slot_put(struct slots *s, uint32_t id)
{
	s->obj[id] = NULL;
	s->free_ids[s->n_free++] = id;
	s->used--;
}

static inline void *slot_next(const struct slots *s, uint32_t *id)
{
	for (; *id < s->cap; (*id)++)
		if (s->obj[*id])
			return s->obj[(*id)++];
	return NULL;
}

static inline void slots_free(struct slots *s)
{
	free(s->obj);
	free(s->free_ids);
}


/* Take exactly id back after slot_put(id) (undoing a delete): ids freed since were put
 * back first, so it is at or near the top of the free stack. Returns 0 or -ENOENT. */
static inline int slot_restore(struct slots *s, uint32_t id)
{
	for (uint32_t i = s->n_free; i > 0; i--) {
		if (s->free_ids[i - 1] != id)
			continue;
		s->free_ids[i - 1] = s->free_ids[s->n_free - 1];
		s->n_free--;
		s->used++;
		return 0;
	}
	return -ENOENT;
}
