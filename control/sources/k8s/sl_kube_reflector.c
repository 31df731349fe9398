/* One resource's list + watch (see sl_kube_reflector.h). */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "sl_kube_reflector.h"

const char *sl_kube_state_name(enum sl_kube_state s)
{
	static const char *const names[] = {
		[SL_KUBE_IDLE] = "idle", [SL_KUBE_LISTING] = "listing",
		[SL_KUBE_WATCHING] = "watching", [SL_KUBE_RETRYING] = "retrying",
	};
	return s < sizeof(names) / sizeof(names[0]) ? names[s] : "?";
}

void sl_kube_reflector_init(struct sl_kube_reflector *r, const char *resource, const char *kind,
			    const char *api_version, const struct sl_kube_reflector_ops *ops,
			    void *ctx, uint64_t seed)
{
	*r = (struct sl_kube_reflector){ .resource = resource, .kind = kind,
					 .api_version = api_version, .ops = ops, .ctx = ctx };
	sl_kube_store_init(&r->store);
	sl_kube_backoff_init(&r->backoff, seed);
}

static void flush(struct sl_kube_reflector *r);

void sl_kube_reflector_fini(struct sl_kube_reflector *r)
{
	flush(r); /* what was taken stays in the sink */
	if (r->state == SL_KUBE_LISTING || r->state == SL_KUBE_WATCHING)
		r->ops->cancel(r->ctx, r);
	r->state = SL_KUBE_IDLE;
	sl_kube_store_fini(&r->store);
}

static void note(struct sl_kube_reflector *r, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void note(struct sl_kube_reflector *r, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(r->st.last_error, sizeof(r->st.last_error), fmt, ap);
	va_end(ap);
}

/* Apply what the sink queued (a page, a run of initial events, one event). */
static void flush(struct sl_kube_reflector *r)
{
	if (!r->queued)
		return;
	r->queued = 0;
	if (r->ops->flush)
		r->ops->flush(r->ctx, r);
}

/* Back off, then list (relist) or watch again. */
static void fail(struct sl_kube_reflector *r, uint64_t now, bool relist)
{
	flush(r);
	r->initial = false;
	r->st.errors++;
	r->st.retry_ms = sl_kube_backoff_next(&r->backoff, now);
	r->state = SL_KUBE_RETRYING;
	r->retry_list = relist;
	r->ops->retry_in(r->ctx, r, r->st.retry_ms);
}

static void list_page(struct sl_kube_reflector *r, uint64_t now, const char *cont)
{
	r->state = SL_KUBE_LISTING;
	int rc = r->ops->list(r->ctx, r, cont, r->unpaged ? 0 : SL_KUBE_LIST_LIMIT);
	if (rc < 0) {
		note(r, "list: %s", strerror(-rc));
		fail(r, now, true);
	}
}

static bool use_watch_list(const struct sl_kube_reflector *r)
{
	return r->ops->watch_list && r->wl_mode != SL_KUBE_WL_OFF &&
	       !(r->wl_mode == SL_KUBE_WL_AUTO && r->wl_unsupported);
}

static void watch_begin(struct sl_kube_reflector *r, uint64_t now, bool initial)
{
	r->state = SL_KUBE_WATCHING;
	r->initial = initial;
	r->watch_start_ns = now;
	r->watch_event = false;
	r->st.watches++;
}

/* A new list generation; the sweep at its end removes what it did not see. A streaming
 * list where the server takes it (see sl_kube_reflector.h). */
static void relist(struct sl_kube_reflector *r, uint64_t now)
{
	flush(r);
	if (r->gen)
		r->st.relists++;
	r->gen++;
	r->list_rv[0] = '\0';
	r->unpaged = false;
	if (!use_watch_list(r)) {
		r->initial = false;
		list_page(r, now, NULL);
		return;
	}
	unsigned t = (unsigned)sl_kube_backoff_rand(&r->backoff, SL_KUBE_WATCH_MIN_S,
						    SL_KUBE_WATCH_MAX_S);
	watch_begin(r, now, true);
	int rc = r->ops->watch_list(r->ctx, r, t);
	if (rc < 0) {
		note(r, "watch-list: %s", strerror(-rc));
		fail(r, now, true);
	}
}

static void watch(struct sl_kube_reflector *r, uint64_t now)
{
	unsigned t = (unsigned)sl_kube_backoff_rand(&r->backoff, SL_KUBE_WATCH_MIN_S,
						    SL_KUBE_WATCH_MAX_S);
	watch_begin(r, now, false);
	int rc = r->ops->watch(r->ctx, r, r->rv, t);
	if (rc < 0) {
		note(r, "watch: %s", strerror(-rc));
		fail(r, now, false);
	}
}

void sl_kube_reflector_start(struct sl_kube_reflector *r, uint64_t now_ns)
{
	relist(r, now_ns);
}

void sl_kube_reflector_retry(struct sl_kube_reflector *r, uint64_t now_ns)
{
	if (r->state != SL_KUBE_RETRYING)
		return;
	if (r->retry_list)
		relist(r, now_ns);
	else
		watch(r, now_ns);
}

static const char *str_at(const cJSON *o, const char *a, const char *b)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, a);
	if (b)
		v = cJSON_GetObjectItemCaseSensitive(v, b);
	return cJSON_IsString(v) ? v->valuestring : NULL;
}

const char *sl_kube_obj_key(const cJSON *obj, char *buf, size_t len)
{
	const cJSON *md = cJSON_GetObjectItemCaseSensitive(obj, "metadata");
	const char *name = str_at(md, "name", NULL), *ns = str_at(md, "namespace", NULL);
	if (!name || !name[0])
		return NULL;
	int n = ns && ns[0] ? snprintf(buf, len, "%s/%s", ns, name) : snprintf(buf, len, "%s", name);
	return n > 0 && (size_t)n < len ? buf : NULL;
}

/* An object listed, added or modified: handed on unless known at this resourceVersion. */
static void upsert(struct sl_kube_reflector *r, cJSON *obj, const char *where)
{
	char key[512], err[256] = "";
	const char *rv = str_at(cJSON_GetObjectItemCaseSensitive(obj, "metadata"),
				"resourceVersion", NULL);
	if (!cJSON_IsObject(obj) || !sl_kube_obj_key(obj, key, sizeof(key))) {
		r->st.refused++;
		note(r, "%s %s: metadata.name: missing, or too long", r->resource, where);
		return;
	}
	struct sl_kube_obj *o = sl_kube_store_find(&r->store, key);
	if (o && rv && !strcmp(o->rv, rv)) { /* known: not handed on twice */
		o->gen = r->gen;
		return;
	}
	int rc = r->ops->apply(r->ctx, r, obj, err, sizeof(err));
	if (rc < 0) {
		r->st.refused++;
		note(r, "%s %s: %s", r->resource, key, err[0] ? err : strerror(-rc));
	} else {
		r->st.applied++;
		r->queued++;
	}
	if (!(o = sl_kube_store_set(&r->store, key, rv))) {
		note(r, "%s %s: out of memory", r->resource, key);
		return;
	}
	o->gen = r->gen;
	o->refused = rc < 0;
}

void sl_kube_reflector_refused(struct sl_kube_reflector *r, const char *key, const char *why)
{
	struct sl_kube_obj *o = sl_kube_store_find(&r->store, key);
	if (o && !o->refused) {
		o->refused = true;
		r->st.applied--;
		r->st.refused++;
	}
	note(r, "%s %s: %s", r->resource, key, why);
}

static void sweep_one(void *arg, const struct sl_kube_obj *o)
{
	struct sl_kube_reflector *r = arg;
	r->st.deleted++;
	r->ops->del(r->ctx, r, o->key, NULL);
}

static bool set_rv(char *dst, const char *rv)
{
	if (!rv || strlen(rv) >= SL_KUBE_RV_MAX)
		return false;
	strcpy(dst, rv);
	return true;
}

static long status_code(const cJSON *st)
{
	const cJSON *c = cJSON_GetObjectItemCaseSensitive(st, "code");
	return cJSON_IsNumber(c) ? (long)c->valuedouble : 0;
}

void sl_kube_reflector_list_done(struct sl_kube_reflector *r, uint64_t now_ns, long status,
				 cJSON *body, const char *why)
{
	if (r->state != SL_KUBE_LISTING)
		return;
	if (status == 410 && r->list_rv[0]) {
		/* The continue token expired (etcd compacted past it): list from the start, as
		 * client-go's pager falls back to a full list. */
		r->st.expired++;
		note(r, "list: continue token expired (410): listing again, whole");
		r->list_rv[0] = '\0';
		r->unpaged = true;
		list_page(r, now_ns, NULL);
		return;
	}
	if (status != 200) {
		const char *msg = str_at(body, "message", NULL);
		if (status)
			note(r, "list %s: HTTP %ld%s%s", r->resource, status, msg ? ": " : "",
			     msg ? msg : "");
		else
			note(r, "list %s: %s", r->resource, why ? why : "no response");
		fail(r, now_ns, true);
		return;
	}
	const cJSON *md = cJSON_GetObjectItemCaseSensitive(body, "metadata");
	cJSON *items = cJSON_GetObjectItemCaseSensitive(body, "items");
	const char *rv = str_at(md, "resourceVersion", NULL), *cont = str_at(md, "continue", NULL);
	if (!cJSON_IsArray(items) && !cJSON_IsNull(items) && items) {
		note(r, "list %s: items: not an array", r->resource);
		fail(r, now_ns, true);
		return;
	}
	if (!r->list_rv[0] && !set_rv(r->list_rv, rv)) {
		note(r, "list %s: metadata.resourceVersion: missing or too long", r->resource);
		fail(r, now_ns, true);
		return;
	}
	r->st.lists++;
	unsigned i = 0;
	cJSON *it;
	cJSON_ArrayForEach(it, items) {
		char where[32];
		snprintf(where, sizeof(where), "items[%u]", i++);
		upsert(r, it, where);
	}
	flush(r); /* the page: one batch */
	if (cont && cont[0]) {
		list_page(r, now_ns, cont);
		return;
	}
	/* The whole list is in: what it lacks was deleted while we were away. */
	sl_kube_store_sweep(&r->store, r->gen, sweep_one, r);
	strcpy(r->rv, r->list_rv);
	r->listed = true;
	r->last_streamed = false;
	r->st.last_event_ns = now_ns;
	watch(r, now_ns);
}

/* A streaming list the server refused or ignored: in AUTO, list + watch from now on. */
static void wl_fallback(struct sl_kube_reflector *r, uint64_t now)
{
	r->st.wl_fallbacks++;
	r->initial = false;
	if (r->wl_mode == SL_KUBE_WL_AUTO) {
		r->wl_unsupported = true;
		relist(r, now);
		r->st.relists--; /* the same list, made the other way */
	} else {
		fail(r, now, true);
	}
}

static bool initial_events_end(const cJSON *obj)
{
	const cJSON *md = cJSON_GetObjectItemCaseSensitive(obj, "metadata");
	const char *v = str_at(cJSON_GetObjectItemCaseSensitive(md, "annotations"),
			       SL_KUBE_INITIAL_EVENTS_END, NULL);
	return v && !strcmp(v, "true");
}

bool sl_kube_reflector_event(struct sl_kube_reflector *r, uint64_t now_ns, cJSON *ev)
{
	if (r->state != SL_KUBE_WATCHING)
		return false;
	const char *type = str_at(ev, "type", NULL);
	cJSON *obj = cJSON_GetObjectItemCaseSensitive(ev, "object");
	r->st.events++;
	r->st.last_event_ns = now_ns;
	r->watch_event = true;
	if (!type || !cJSON_IsObject(obj)) {
		r->st.errors++;
		note(r, "watch %s: event without type or object", r->resource);
		return true;
	}
	if (!strcmp(type, "ERROR")) {
		long code = status_code(obj);
		const char *msg = str_at(obj, "message", NULL);
		note(r, "watch %s: ERROR %ld%s%s", r->resource, code, msg ? ": " : "",
		     msg ? msg : "");
		r->ops->cancel(r->ctx, r);
		r->initial = false;
		if (code == 410) { /* Expired/Gone: our resourceVersion is compacted away */
			r->st.expired++;
			relist(r, now_ns);
		} else {
			fail(r, now_ns, true);
		}
		return false;
	}
	const char *rv = str_at(cJSON_GetObjectItemCaseSensitive(obj, "metadata"),
				"resourceVersion", NULL);
	if (!strcmp(type, "BOOKMARK")) {
		r->st.bookmarks++;
		if (r->initial && initial_events_end(obj)) {
			/* The streaming list is complete: as at the end of a list. */
			flush(r);
			if (!set_rv(r->list_rv, rv)) {
				note(r, "watch-list %s: the end bookmark's metadata.resourceVersion: "
				     "missing or too long", r->resource);
				r->ops->cancel(r->ctx, r);
				fail(r, now_ns, true);
				return false;
			}
			r->initial = false;
			r->wl_breaks = 0;
			r->st.lists++;
			r->st.streamed++;
			sl_kube_store_sweep(&r->store, r->gen, sweep_one, r);
			r->listed = true;
			r->last_streamed = true;
		} else if (r->initial) {
			/* A bookmark before the end of the initial events: a server that took
			 * the request for a plain watch (it ignores sendInitialEvents). */
			note(r, "watch-list %s: a bookmark without %s: the server ignores "
			     "sendInitialEvents%s", r->resource, SL_KUBE_INITIAL_EVENTS_END,
			     r->wl_mode == SL_KUBE_WL_AUTO ? "; list + watch instead" : "");
			r->ops->cancel(r->ctx, r);
			wl_fallback(r, now_ns);
			return false;
		}
	} else if (!strcmp(type, "ADDED") || !strcmp(type, "MODIFIED")) {
		upsert(r, obj, type);
		if (!r->initial || r->queued >= SL_KUBE_LIST_LIMIT)
			flush(r);
	} else if (!strcmp(type, "DELETED")) {
		char key[512];
		flush(r);
		if (sl_kube_obj_key(obj, key, sizeof(key))) {
			r->st.deleted++;
			r->ops->del(r->ctx, r, key, obj);
			sl_kube_store_del(&r->store, key);
		}
	} else {
		r->st.errors++;
		note(r, "watch %s: unknown event type %.32s", r->resource, type);
		return true;
	}
	if (rv && !set_rv(r->rv, rv))
		note(r, "watch %s: metadata.resourceVersion too long", r->resource);
	return true;
}

void sl_kube_reflector_watch_done(struct sl_kube_reflector *r, uint64_t now_ns, long status,
				  const cJSON *body, const char *why)
{
	if (r->state != SL_KUBE_WATCHING)
		return;
	const char *msg = str_at(body, "message", NULL);
	flush(r);
	if (r->initial && (status == 400 || status == 403 || status == 404 || status == 405 ||
			   status == 422)) {
		/* kube-apiserver without the WatchList feature (422 Invalid, or 403), one
		 * that forbids resourceVersionMatch on a watch (400): client-go falls back to
		 * list + watch, "because making progress is better than deadlocking". */
		note(r, "watch-list %s: HTTP %ld%s%s%s", r->resource, status, msg ? ": " : "",
		     msg ? msg : "", r->wl_mode == SL_KUBE_WL_AUTO ? "; list + watch instead" : "");
		wl_fallback(r, now_ns);
		return;
	}
	if (r->initial && status == 200 && ++r->wl_breaks >= SL_KUBE_WL_BREAKS) {
		/* Streams that end again and again before the end of the initial events: a
		 * server that serves a plain watch and sends no bookmarks. */
		note(r, "watch-list %s: %u streams ended before %s%s", r->resource, r->wl_breaks,
		     SL_KUBE_INITIAL_EVENTS_END,
		     r->wl_mode == SL_KUBE_WL_AUTO ? "; list + watch instead" : "");
		r->wl_breaks = 0;
		wl_fallback(r, now_ns);
		return;
	}
	if (status == 410) {
		r->st.expired++;
		note(r, "watch %s: HTTP 410%s%s", r->resource, msg ? ": " : "", msg ? msg : "");
		relist(r, now_ns);
		return;
	}
	if (status != 200) {
		if (status)
			note(r, "watch %s: HTTP %ld%s%s", r->resource, status, msg ? ": " : "",
			     msg ? msg : "");
		else
			note(r, "watch %s: %s", r->resource, why ? why : "no response");
		fail(r, now_ns, r->initial);
		return;
	}
	if (r->initial) { /* ended (or broke) early: the streaming list again, backed off */
		note(r, "watch-list %s: the stream ended before %s", r->resource,
		     SL_KUBE_INITIAL_EVENTS_END);
		fail(r, now_ns, true);
		return;
	}
	if (!r->watch_event && now_ns - r->watch_start_ns < SL_KUBE_SHORT_WATCH_MS * 1000000ull) {
		/* client-go: "very short watch": the server closed it at once. */
		note(r, "watch %s: closed within %u ms without an event", r->resource,
		     SL_KUBE_SHORT_WATCH_MS);
		fail(r, now_ns, false);
		return;
	}
	watch(r, now_ns); /* timeoutSeconds ran out, or the stream broke: resume */
}
