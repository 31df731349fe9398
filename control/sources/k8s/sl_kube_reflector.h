/* One resource's list + watch, with client-go's reflector semantics
 * (k8s.io/client-go/tools/cache/reflector.go), apart from any transport: the HTTP layer
 * (sl_kube_http.h) feeds it responses and watch events, and it tells the transport what to
 * request next and the sink what changed. Unit-tested with a fake transport.
 *
 *   list (chunked: limit + continue; consistent read)  --all pages-->  sweep, watch
 *     410 on a continue token (expired): list again from the start in one piece (no limit),
 *       as client-go's pager does (FullListIfExpired)
 *     any other failure: back off, then list again
 *   watch from the list's resourceVersion, allowWatchBookmarks, timeoutSeconds in
 *   [300, 600) s, each event handed to the sink, the resourceVersion advanced by events and
 *   bookmarks
 *     stream ended after a healthy life: watch again at once from the last resourceVersion
 *     ended within 1 s with no event, refused, HTTP error: back off, watch again
 *     ERROR event or HTTP status 410 (Expired, Gone): list again (a relist)
 *
 * A relist diffs against what the reflector handed on (sl_kube_store.h): objects it already
 * has at the same resourceVersion are not handed on again, objects the new list lacks (deleted
 * while the watch was away) are handed to the sink's del. One event costs one store lookup
 * and the sink's work for that object.
 *
 * Streaming lists (KEP-3157, client-go's UseWatchList): with the transport's watch_list op
 * and wl_mode not OFF, a list is a watch with sendInitialEvents=true,
 * resourceVersionMatch=NotOlderThan, allowWatchBookmarks (resourceVersion ""): its ADDED
 * events are the list, the BOOKMARK annotated k8s.io/initial-events-end: "true" ends it
 * (sweep as after a list, the resourceVersion from the bookmark) and the same stream goes
 * on as the watch. In AUTO mode a server that refuses it (HTTP 400, 403, 404, 405, 422: the
 * WatchList feature off, or a server that forbids resourceVersionMatch on a watch), or that
 * ignores it (a bookmark without the annotation before the end of the initial events, or
 * SL_KUBE_WL_BREAKS streams in a row ending before it: an older server's plain watch) makes
 * the reflector fall back to list +
 * watch, and stay there (wl_unsupported) until restarted; ON keeps trying (backing off).
 *
 * Batches: apply may only queue (the sink's choice); the reflector calls flush after each
 * list page, every SL_KUBE_LIST_LIMIT initial events, at the end of the initial events,
 * after every other watch event, and before any del, so the sink applies a page as one
 * model transaction. An object the flush refuses is reported back with
 * sl_kube_reflector_refused. No DPDK; control thread. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "sl_kube_backoff.h"
#include "sl_kube_store.h"

#define SL_KUBE_RV_MAX 64            /* resourceVersion (opaque; etcd gives an int64) */
#define SL_KUBE_LIST_LIMIT 500       /* objects per list page (client-go's pager default) */
#define SL_KUBE_WATCH_MIN_S 300      /* timeoutSeconds is random in [MIN, MAX) */
#define SL_KUBE_WATCH_MAX_S 600
#define SL_KUBE_SHORT_WATCH_MS 1000  /* a watch ending sooner with no event failed */

enum sl_kube_state {
	SL_KUBE_IDLE,     /* not started */
	SL_KUBE_LISTING,  /* a list page is in flight */
	SL_KUBE_WATCHING, /* a watch is in flight */
	SL_KUBE_RETRYING, /* waiting out a back-off */
};
/* Streaming lists: AUTO tries them and falls back; ON always; OFF never (list + watch). */
enum sl_kube_wl { SL_KUBE_WL_AUTO, SL_KUBE_WL_ON, SL_KUBE_WL_OFF };
#define SL_KUBE_INITIAL_EVENTS_END "k8s.io/initial-events-end"
#define SL_KUBE_WL_BREAKS 3 /* AUTO: streams ending this often in a row before the end of
			     * their initial events fall back to list + watch */
const char *sl_kube_state_name(enum sl_kube_state s);

struct sl_kube_reflector;

/* Transport and sink. Transport calls return 0 or -errno (a failure is backed off); list's
 * limit 0 asks for the whole list in one response.
 * cancel: drop the request in flight without calling back for it (may be called from inside
 * the transport's own callbacks). apply: obj is the whole object as the server sent it
 * (read-only; list items carry no kind or apiVersion: the reflector's kind is the sink's);
 * 0, or -errno with err set when the sink refuses it (counted; the sync goes on).
 * del: key is "ns/name" or "name"; obj is the last state when a DELETED event brought it,
 * NULL when a relist found it gone.
 * watch_list (optional; NULL: no streaming lists): a watch with sendInitialEvents=true,
 * resourceVersionMatch=NotOlderThan, allowWatchBookmarks=true, resourceVersion "", events
 * and its end through sl_kube_reflector_event / _watch_done as any watch.
 * flush (optional; NULL: apply applies at once): apply what apply queued since the last
 * flush, reporting each object refused with sl_kube_reflector_refused. */
struct sl_kube_reflector_ops {
	int (*list)(void *ctx, struct sl_kube_reflector *r, const char *cont, unsigned limit);
	int (*watch)(void *ctx, struct sl_kube_reflector *r, const char *rv, unsigned timeout_s);
	void (*cancel)(void *ctx, struct sl_kube_reflector *r);
	void (*retry_in)(void *ctx, struct sl_kube_reflector *r, uint64_t ms);
	int (*apply)(void *ctx, struct sl_kube_reflector *r, cJSON *obj, char *err, size_t errlen);
	void (*del)(void *ctx, struct sl_kube_reflector *r, const char *key, const cJSON *obj);
	int (*watch_list)(void *ctx, struct sl_kube_reflector *r, unsigned timeout_s);
	void (*flush)(void *ctx, struct sl_kube_reflector *r);
};

/* What `sluicectl show sync` shows of one reflector. */
struct sl_kube_reflector_stats {
	uint64_t lists;        /* list pages received */
	uint64_t relists;      /* lists started after the first (410, errors) */
	uint64_t watches;      /* watches started */
	uint64_t events;       /* watch events received (bookmarks included) */
	uint64_t bookmarks;
	uint64_t applied;      /* objects handed to the sink and taken */
	uint64_t deleted;      /* deletes handed to the sink (events and relist sweeps) */
	uint64_t refused;      /* objects the sink refused */
	uint64_t errors;       /* failed requests, bad responses, ERROR events */
	uint64_t expired;      /* 410s: expired continue tokens, too old resourceVersions */
	uint64_t streamed;     /* lists completed as streams (initial events, KEP-3157) */
	uint64_t wl_fallbacks; /* streaming lists the server refused or ignored (AUTO: then
				* list + watch) */
	uint64_t last_event_ns;/* the last event or bookmark (CLOCK_MONOTONIC) */
	uint64_t retry_ms;     /* the last back-off */
	char last_error[192];  /* the last error or refusal, "" if none */
};

struct sl_kube_reflector {
	/* immutable after init */
	const char *resource;    /* "services", for show and messages */
	const char *kind;        /* "Service" (list items carry no kind) */
	const char *api_version; /* "v1" */
	const struct sl_kube_reflector_ops *ops;
	void *ctx;
	/* mutable, the control thread's */
	enum sl_kube_state state;
	bool retry_list;          /* RETRYING: list (true) or watch (false) when it ends */
	bool listed;              /* a list completed at least once */
	bool unpaged;             /* this list is a full one (a continue token expired) */
	char rv[SL_KUBE_RV_MAX];  /* the resourceVersion to watch from */
	char list_rv[SL_KUBE_RV_MAX]; /* the resourceVersion of the list in progress */
	uint64_t gen;             /* the current list's generation (store marks) */
	uint64_t watch_start_ns;
	bool watch_event;         /* the current watch delivered an event */
	enum sl_kube_wl wl_mode;  /* set after init (default AUTO) */
	bool wl_unsupported;      /* AUTO: the server refused or ignored a streaming list */
	bool initial;             /* WATCHING: in the initial events of a streaming list */
	bool last_streamed;       /* the last list completed was a streaming one */
	unsigned queued;          /* objects handed to apply since the last flush */
	unsigned wl_breaks;       /* streaming lists ended before their end, in a row */
	struct sl_kube_store store;
	struct sl_kube_backoff backoff;
	struct sl_kube_reflector_stats st;
};

/* Prepare r (IDLE); seed varies the jitter and watch timeouts between reflectors. */
void sl_kube_reflector_init(struct sl_kube_reflector *r, const char *resource, const char *kind,
			    const char *api_version, const struct sl_kube_reflector_ops *ops,
			    void *ctx, uint64_t seed);
/* Cancel what is in flight and free the store (objects stay in the sink). */
void sl_kube_reflector_fini(struct sl_kube_reflector *r);
/* Start: the first list. */
void sl_kube_reflector_start(struct sl_kube_reflector *r, uint64_t now_ns);

/* The transport's reports. status: the HTTP status (0 when there was no response, then why
 * says what failed); body: the parsed response (NULL when absent or not JSON). */
void sl_kube_reflector_list_done(struct sl_kube_reflector *r, uint64_t now_ns, long status,
				 cJSON *body, const char *why);
/* One watch event ({"type", "object"}). Returns false when the reflector ended the watch
 * (it called cancel): the transport delivers nothing more from that stream. */
bool sl_kube_reflector_event(struct sl_kube_reflector *r, uint64_t now_ns, cJSON *ev);
void sl_kube_reflector_watch_done(struct sl_kube_reflector *r, uint64_t now_ns, long status,
				  const cJSON *body, const char *why);
/* The sink's flush refused an object apply had taken (key as sl_kube_obj_key): counted as
 * refused instead of applied, why kept as the last error. */
void sl_kube_reflector_refused(struct sl_kube_reflector *r, const char *key, const char *why);
/* The back-off the reflector asked for (retry_in) is over. */
void sl_kube_reflector_retry(struct sl_kube_reflector *r, uint64_t now_ns);

/* The object's store key ("ns/name", or "name" without a namespace) into buf; NULL when
 * metadata.name is missing or too long. */
const char *sl_kube_obj_key(const cJSON *obj, char *buf, size_t len);
