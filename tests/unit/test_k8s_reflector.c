/* The reflector's state machine (client-go semantics) against a fake transport and sink:
 * chunked lists, watch from the list's resourceVersion, events and bookmarks, the ways a
 * watch ends (healthy, short, refused, 410), relists that diff against what was handed on,
 * expired continue tokens, refused objects; streaming lists (KEP-3157: the initial events and
 * their end bookmark, the server refusing or ignoring them, ON and OFF) and the batches the
 * sink's flush applies (one per list page or run of initial events, refusals reported). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "control/sources/k8s/sl_kube_reflector.h"

#define MS 1000000ull
#define SEC (1000 * MS)

static char calls[4096]; /* what the reflector asked for, "L:- W:10 A:ns/a@5 ..." */
static uint64_t last_retry_ms;
static unsigned last_timeout;

static void rec(const char *fmt, ...)
{
	char b[256];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(b, sizeof(b), fmt, ap);
	va_end(ap);
	strncat(calls, b, sizeof(calls) - strlen(calls) - 2);
	strcat(calls, " ");
}

static int f_list(void *c, struct sl_kube_reflector *r, const char *cont, unsigned limit)
{
	assert_true(limit == SL_KUBE_LIST_LIMIT || (limit == 0 && !cont));
	rec("L:%s%s", cont ? cont : "-", limit ? "" : "(whole)");
	return 0;
}
static int f_watch(void *c, struct sl_kube_reflector *r, const char *rv, unsigned t)
{
	last_timeout = t;
	rec("W:%s", rv);
	return 0;
}
static void f_cancel(void *c, struct sl_kube_reflector *r) { rec("C"); }
static void f_retry(void *c, struct sl_kube_reflector *r, uint64_t ms)
{
	last_retry_ms = ms;
	rec("R");
}
static int f_apply(void *c, struct sl_kube_reflector *r, cJSON *o, char *err, size_t n)
{
	char key[256];
	const cJSON *md = cJSON_GetObjectItem(o, "metadata");
	rec("A:%s@%s", sl_kube_obj_key(o, key, sizeof(key)),
	    cJSON_GetObjectItem(md, "resourceVersion")->valuestring);
	if (!strncmp(cJSON_GetObjectItem(md, "name")->valuestring, "bad", 3)) {
		snprintf(err, n, "spec.ports[0].port: must be 1-65535");
		return -EINVAL;
	}
	return 0;
}
static void f_del(void *c, struct sl_kube_reflector *r, const char *key, const cJSON *o)
{
	rec("D:%s%s", key, o ? "" : "(sweep)");
}

static const struct sl_kube_reflector_ops ops = {
	.list = f_list, .watch = f_watch, .cancel = f_cancel, .retry_in = f_retry,
	.apply = f_apply, .del = f_del,
};

static cJSON *J(const char *fmt, ...)
{
	char b[4096];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(b, sizeof(b), fmt, ap);
	va_end(ap);
	/* single quotes for readability */
	for (char *p = b; *p; p++)
		if (*p == '\'')
			*p = '"';
	cJSON *j = cJSON_Parse(b);
	assert_non_null(j);
	return j;
}

#define OBJ(name, rv) "{'metadata':{'name':'" name "','namespace':'ns','resourceVersion':'" rv "'}}"

static void list_page(struct sl_kube_reflector *r, uint64_t t, const char *rv, const char *cont,
		      const char *items)
{
	cJSON *b = cont ? J("{'kind':'ServiceList','metadata':{'resourceVersion':'%s','continue':'%s'},"
			    "'items':[%s]}", rv, cont, items)
			: J("{'kind':'ServiceList','metadata':{'resourceVersion':'%s'},'items':[%s]}",
			    rv, items);
	sl_kube_reflector_list_done(r, t, 200, b, NULL);
	cJSON_Delete(b);
}

static bool event(struct sl_kube_reflector *r, uint64_t t, const char *type, const char *obj)
{
	cJSON *e = J("{'type':'%s','object':%s}", type, obj);
	bool more = sl_kube_reflector_event(r, t, e);
	cJSON_Delete(e);
	return more;
}

static void expect(const char *want)
{
	assert_string_equal(calls, want);
	calls[0] = '\0';
}

/* Start a reflector through a two-page list (a@5, b@6), watching from "10". */
static void listed(struct sl_kube_reflector *r)
{
	calls[0] = '\0';
	sl_kube_reflector_init(r, "services", "Service", "v1", &ops, NULL, 1);
	sl_kube_reflector_start(r, 1 * SEC);
	expect("L:- ");
	list_page(r, 1 * SEC, "10", "tok1", OBJ("a", "5"));
	expect("A:ns/a@5 L:tok1 ");
	list_page(r, 1 * SEC, "10", NULL, OBJ("b", "6"));
	expect("A:ns/b@6 W:10 ");
	assert_int_equal(r->state, SL_KUBE_WATCHING);
	assert_true(last_timeout >= 300 && last_timeout < 600);
	assert_int_equal(r->st.lists, 2);
}

static void test_chunked_list_then_watch_events(void **st)
{
	struct sl_kube_reflector r;
	listed(&r);
	assert_true(event(&r, 2 * SEC, "ADDED", OBJ("c", "11")));
	assert_true(event(&r, 2 * SEC, "MODIFIED", OBJ("a", "12")));
	assert_true(event(&r, 2 * SEC, "DELETED", OBJ("b", "13")));
	assert_true(event(&r, 2 * SEC, "BOOKMARK", "{'kind':'Service','apiVersion':'v1','metadata':{'resourceVersion':'20'}}"));
	expect("A:ns/c@11 A:ns/a@12 D:ns/b ");
	assert_string_equal(r.rv, "20");
	assert_int_equal(r.st.bookmarks, 1);
	assert_int_equal(r.store.n, 2);
	/* The stream ends after a healthy life (timeoutSeconds): watch again at once from the
	 * last resourceVersion, no back-off, no relist. */
	sl_kube_reflector_watch_done(&r, 400 * SEC, 200, NULL, NULL);
	expect("W:20 ");
	/* Broken mid-stream (connection reset) after events: the same. */
	assert_true(event(&r, 401 * SEC, "ADDED", OBJ("d", "21")));
	sl_kube_reflector_watch_done(&r, 402 * SEC, 200, NULL, "Recv failure: Connection reset");
	expect("A:ns/d@21 W:21 ");
	assert_int_equal(r.st.relists, 0);
	sl_kube_reflector_fini(&r);
}

/* A watch that ends within a second without an event failed: back off (800 ms + jitter),
 * then watch again from the same resourceVersion; refused connections the same, doubling. */
static void test_short_watch_and_refused_back_off(void **st)
{
	struct sl_kube_reflector r;
	listed(&r);
	sl_kube_reflector_watch_done(&r, 1 * SEC + 500 * MS, 200, NULL, NULL);
	expect("R ");
	assert_int_equal(r.state, SL_KUBE_RETRYING);
	assert_true(last_retry_ms >= 800 && last_retry_ms < 1200);
	sl_kube_reflector_retry(&r, 3 * SEC);
	expect("W:10 ");
	sl_kube_reflector_watch_done(&r, 3 * SEC, 0, NULL, "Couldn't connect to server");
	expect("R ");
	assert_true(last_retry_ms >= 1600 && last_retry_ms < 2400);
	assert_string_equal(r.st.last_error, "watch services: Couldn't connect to server");
	sl_kube_reflector_retry(&r, 6 * SEC);
	expect("W:10 ");
	/* HTTP 401 (a revoked token): back off, watch again. */
	cJSON *s = J("{'kind':'Status','code':401,'message':'Unauthorized'}");
	sl_kube_reflector_watch_done(&r, 6 * SEC, 401, s, NULL);
	cJSON_Delete(s);
	expect("R ");
	assert_int_equal(r.st.errors, 3);
	assert_int_equal(r.st.relists, 0);
	sl_kube_reflector_fini(&r);
}

/* An ERROR event with a 410 Status mid-watch: cancel, relist; the relist hands on only what
 * changed and deletes what it no longer lists. */
static void test_410_relist_diffs(void **st)
{
	struct sl_kube_reflector r;
	listed(&r);
	assert_true(event(&r, 2 * SEC, "ADDED", OBJ("c", "11")));
	expect("A:ns/c@11 ");
	assert_false(event(&r, 3 * SEC, "ERROR", "{'kind':'Status','apiVersion':'v1','status':'Failure',"
			   "'message':'too old resource version: 11 (50)','reason':'Expired','code':410}"));
	expect("C L:- ");
	assert_int_equal(r.st.expired, 1);
	/* While away: b deleted, c unchanged, a modified, e created. */
	list_page(&r, 3 * SEC, "60", NULL, OBJ("a", "55") "," OBJ("c", "11") "," OBJ("e", "58"));
	expect("A:ns/a@55 A:ns/e@58 D:ns/b(sweep) W:60 ");
	assert_int_equal(r.store.n, 3);
	assert_int_equal(r.st.relists, 1);
	/* HTTP 410 at the start of a watch: relist too. */
	sl_kube_reflector_watch_done(&r, 4 * SEC, 410, NULL, NULL);
	expect("L:- ");
	sl_kube_reflector_fini(&r);
}

/* A continue token that expired mid-list (410): list again from the start, whole (no limit:
 * no token to expire again), keeping what the first pages handed on (nothing deleted by
 * mistake, nothing handed on twice); the next relist is paged again. */
static void test_expired_continue_token(void **st)
{
	struct sl_kube_reflector r;
	listed(&r);
	sl_kube_reflector_watch_done(&r, 2 * SEC, 410, NULL, NULL);
	expect("L:- ");
	list_page(&r, 2 * SEC, "30", "tok2", OBJ("a", "5"));
	expect("L:tok2 ");
	cJSON *s = J("{'kind':'Status','code':410,'reason':'Expired'}");
	sl_kube_reflector_list_done(&r, 2 * SEC, 410, s, NULL);
	cJSON_Delete(s);
	expect("L:-(whole) ");
	list_page(&r, 2 * SEC, "31", NULL, OBJ("a", "5") "," OBJ("b", "6"));
	expect("W:31 ");
	assert_int_equal(r.store.n, 2);
	assert_int_equal(r.st.expired, 2);
	sl_kube_reflector_watch_done(&r, 3 * SEC, 410, NULL, NULL);
	expect("L:- ");
	sl_kube_reflector_fini(&r);
}

/* A failed list backs off and lists again; a refused object is counted, the sync goes on,
 * and a delete still reaches the sink. */
static void test_list_failure_and_refused_object(void **st)
{
	struct sl_kube_reflector r;
	calls[0] = '\0';
	sl_kube_reflector_init(&r, "services", "Service", "v1", &ops, NULL, 3);
	sl_kube_reflector_start(&r, 1 * SEC);
	sl_kube_reflector_list_done(&r, 1 * SEC, 0, NULL, "Connection refused");
	expect("L:- R ");
	assert_int_equal(r.state, SL_KUBE_RETRYING);
	sl_kube_reflector_retry(&r, 2 * SEC);
	expect("L:- ");
	list_page(&r, 2 * SEC, "7", NULL, OBJ("bad1", "3") "," OBJ("ok", "4"));
	expect("A:ns/bad1@3 A:ns/ok@4 W:7 ");
	assert_int_equal(r.st.refused, 1);
	assert_int_equal(r.st.applied, 1);
	assert_non_null(strstr(r.st.last_error, "ns/bad1: spec.ports[0].port: must be 1-65535"));
	assert_true(event(&r, 3 * SEC, "DELETED", OBJ("bad1", "9")));
	expect("D:ns/bad1 ");
	/* Events the reflector cannot use are counted, not fatal. */
	assert_true(event(&r, 3 * SEC, "ADDED", "{'metadata':{}}"));
	assert_true(event(&r, 3 * SEC, "WHATEVER", OBJ("x", "10")));
	expect("");
	assert_int_equal(r.st.refused, 2);
	assert_int_equal(r.state, SL_KUBE_WATCHING);
	/* A list without a resourceVersion is a bad response. */
	sl_kube_reflector_watch_done(&r, 4 * SEC, 410, NULL, NULL);
	expect("L:- ");
	cJSON *b = J("{'kind':'ServiceList','metadata':{},'items':[]}");
	sl_kube_reflector_list_done(&r, 4 * SEC, 200, b, NULL);
	cJSON_Delete(b);
	expect("R ");
	sl_kube_reflector_fini(&r);
}

/* Streaming lists and batches: the same fakes, with watch_list ("S") and flush ("F": the
 * sink applies what it queued; objects named "late*" are refused there). */
static int f_watch_list(void *c, struct sl_kube_reflector *r, unsigned t)
{
	assert_true(t >= 300 && t < 600);
	rec("S");
	return 0;
}
static void f_flush(void *c, struct sl_kube_reflector *r)
{
	rec("F");
	if (c)
		sl_kube_reflector_refused(r, c, "object: out of luck");
}
static const struct sl_kube_reflector_ops ops_wl = {
	.list = f_list, .watch = f_watch, .cancel = f_cancel, .retry_in = f_retry,
	.apply = f_apply, .del = f_del, .watch_list = f_watch_list, .flush = f_flush,
};

#define END_BOOKMARK(rv) "{'kind':'Service','apiVersion':'v1','metadata':{'resourceVersion':'" \
	rv "','annotations':{'k8s.io/initial-events-end':'true'}}}"

/* A streaming list: the initial events are the list (one flush per SL_KUBE_LIST_LIMIT and
 * one at the end bookmark), the same stream goes on as the watch (one flush per event), a
 * relist (410) streams again and sweeps what its initial events lacked. */
static void test_watch_list_streams(void **st)
{
	struct sl_kube_reflector r;
	calls[0] = '\0';
	sl_kube_reflector_init(&r, "services", "Service", "v1", &ops_wl, NULL, 5);
	sl_kube_reflector_start(&r, 1 * SEC);
	expect("S ");
	assert_true(event(&r, 1 * SEC, "ADDED", OBJ("a", "5")));
	assert_true(event(&r, 1 * SEC, "ADDED", OBJ("b", "6")));
	expect("A:ns/a@5 A:ns/b@6 "); /* queued: no flush yet */
	assert_false(r.listed);
	assert_true(r.initial);
	assert_true(event(&r, 1 * SEC, "BOOKMARK", END_BOOKMARK("10")));
	expect("F ");
	assert_true(r.listed && r.last_streamed && !r.initial);
	assert_int_equal(r.state, SL_KUBE_WATCHING);
	assert_string_equal(r.rv, "10");
	assert_int_equal(r.st.lists, 1);
	assert_int_equal(r.st.streamed, 1);
	assert_int_equal(r.st.watches, 1); /* the stream goes on as the watch */
	/* After the initial events an event is a batch of its own. */
	assert_true(event(&r, 2 * SEC, "MODIFIED", OBJ("a", "11")));
	expect("A:ns/a@11 F ");
	/* A plain bookmark on the watch is nothing special. */
	assert_true(event(&r, 2 * SEC, "BOOKMARK", "{'kind':'Service','metadata':{'resourceVersion':'12'}}"));
	expect("");
	assert_string_equal(r.rv, "12");
	/* 410: a relist, streamed again; b was deleted meanwhile. */
	assert_false(event(&r, 3 * SEC, "ERROR", "{'kind':'Status','code':410,'reason':'Expired'}"));
	expect("C S ");
	assert_true(event(&r, 3 * SEC, "ADDED", OBJ("a", "11")));
	assert_true(event(&r, 3 * SEC, "ADDED", OBJ("c", "20")));
	expect("A:ns/c@20 "); /* a is known at 11: not handed on twice */
	assert_true(event(&r, 3 * SEC, "BOOKMARK", END_BOOKMARK("30")));
	expect("F D:ns/b(sweep) ");
	assert_int_equal(r.store.n, 2);
	assert_int_equal(r.st.relists, 1);
	/* A stream that breaks in its initial events backs off and streams again. */
	sl_kube_reflector_watch_done(&r, 4 * SEC, 410, NULL, NULL);
	expect("S ");
	sl_kube_reflector_watch_done(&r, 4 * SEC, 200, NULL, NULL);
	expect("R ");
	sl_kube_reflector_retry(&r, 5 * SEC);
	expect("S ");
	sl_kube_reflector_fini(&r);
}

/* kube-apiserver without the WatchList feature (422 Invalid) or one that forbids
 * resourceVersionMatch on a watch (400): AUTO falls back to list + watch at once, and stays
 * there; ON backs off and streams again. */
static void test_watch_list_refused(void **st)
{
	struct sl_kube_reflector r;
	calls[0] = '\0';
	sl_kube_reflector_init(&r, "services", "Service", "v1", &ops_wl, NULL, 6);
	sl_kube_reflector_start(&r, 1 * SEC);
	expect("S ");
	cJSON *s = J("{'kind':'Status','code':422,'reason':'Invalid','message':'ListOptions.meta.k8s.io "
		     "\\\"\\\" is invalid: sendInitialEvents: Forbidden: sendInitialEvents is "
		     "forbidden for watch unless the WatchList feature gate is enabled'}");
	sl_kube_reflector_watch_done(&r, 1 * SEC, 422, s, NULL);
	expect("L:- ");
	assert_true(r.wl_unsupported);
	assert_int_equal(r.st.wl_fallbacks, 1);
	assert_int_equal(r.st.relists, 0);
	assert_non_null(strstr(r.st.last_error, "HTTP 422"));
	list_page(&r, 1 * SEC, "10", NULL, OBJ("a", "5"));
	expect("A:ns/a@5 F W:10 "); /* a page is one batch */
	assert_false(r.last_streamed);
	sl_kube_reflector_watch_done(&r, 2 * SEC, 410, NULL, NULL);
	expect("L:- "); /* and stays on list + watch */
	sl_kube_reflector_fini(&r);

	calls[0] = '\0';
	sl_kube_reflector_init(&r, "services", "Service", "v1", &ops_wl, NULL, 7);
	r.wl_mode = SL_KUBE_WL_ON;
	sl_kube_reflector_start(&r, 1 * SEC);
	sl_kube_reflector_watch_done(&r, 1 * SEC, 400, s, NULL);
	expect("S R ");
	sl_kube_reflector_retry(&r, 2 * SEC);
	expect("S ");
	cJSON_Delete(s);
	sl_kube_reflector_fini(&r);

	calls[0] = '\0';
	sl_kube_reflector_init(&r, "services", "Service", "v1", &ops_wl, NULL, 8);
	r.wl_mode = SL_KUBE_WL_OFF;
	sl_kube_reflector_start(&r, 1 * SEC);
	expect("L:- ");
	sl_kube_reflector_fini(&r);
}

/* An older server ignores sendInitialEvents and serves a plain watch: ADDED events, then a
 * bookmark without the annotation. AUTO applies what came, falls back to list + watch, and
 * the list's sweep removes what it no longer has. */
static void test_watch_list_ignored(void **st)
{
	struct sl_kube_reflector r;
	calls[0] = '\0';
	sl_kube_reflector_init(&r, "services", "Service", "v1", &ops_wl, NULL, 9);
	sl_kube_reflector_start(&r, 1 * SEC);
	assert_true(event(&r, 1 * SEC, "ADDED", OBJ("a", "5")));
	assert_true(event(&r, 1 * SEC, "ADDED", OBJ("b", "6")));
	assert_false(event(&r, 2 * SEC, "BOOKMARK", "{'kind':'Service','metadata':{'resourceVersion':'9'}}"));
	expect("S A:ns/a@5 A:ns/b@6 C F L:- ");
	assert_int_equal(r.st.wl_fallbacks, 1);
	assert_false(r.listed);
	list_page(&r, 2 * SEC, "12", NULL, OBJ("a", "5"));
	expect("D:ns/b(sweep) W:12 "); /* a known at 5: nothing to apply, no flush */
	assert_true(r.listed);
	sl_kube_reflector_fini(&r);

	/* Streams ending before the end of their initial events, SL_KUBE_WL_BREAKS in a row
	 * (a server that sends no bookmarks at all): list + watch. */
	calls[0] = '\0';
	sl_kube_reflector_init(&r, "services", "Service", "v1", &ops_wl, NULL, 10);
	sl_kube_reflector_start(&r, 1 * SEC);
	for (int i = 1; i < SL_KUBE_WL_BREAKS; i++) {
		sl_kube_reflector_watch_done(&r, (uint64_t)(1 + i) * SEC, 200, NULL, NULL);
		sl_kube_reflector_retry(&r, (uint64_t)(1 + i) * SEC);
	}
	calls[0] = '\0';
	sl_kube_reflector_watch_done(&r, 9 * SEC, 200, NULL, NULL);
	expect("L:- ");
	sl_kube_reflector_fini(&r);
}

/* The sink's flush refuses an object it had taken: counted as refused, not applied. */
static void test_flush_refuses(void **st)
{
	struct sl_kube_reflector r;
	calls[0] = '\0';
	sl_kube_reflector_init(&r, "services", "Service", "v1", &ops_wl, "ns/late", 11);
	r.wl_mode = SL_KUBE_WL_OFF;
	sl_kube_reflector_start(&r, 1 * SEC);
	list_page(&r, 1 * SEC, "10", NULL, OBJ("late", "5") "," OBJ("ok", "6"));
	expect("L:- A:ns/late@5 A:ns/ok@6 F W:10 ");
	assert_int_equal(r.st.applied, 1);
	assert_int_equal(r.st.refused, 1);
	assert_true(sl_kube_store_find(&r.store, "ns/late")->refused);
	assert_non_null(strstr(r.st.last_error, "ns/late: object: out of luck"));
	sl_kube_reflector_fini(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_chunked_list_then_watch_events),
		cmocka_unit_test(test_short_watch_and_refused_back_off),
		cmocka_unit_test(test_410_relist_diffs),
		cmocka_unit_test(test_expired_continue_token),
		cmocka_unit_test(test_list_failure_and_refused_object),
		cmocka_unit_test(test_watch_list_streams),
		cmocka_unit_test(test_watch_list_refused),
		cmocka_unit_test(test_watch_list_ignored),
		cmocka_unit_test(test_flush_refuses),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
