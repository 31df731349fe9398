/* HTTPS requests to the API server on the control thread's event loop: libcurl's multi
 * interface with its sockets on sl_loop's epoll (CURLMOPT_SOCKETFUNCTION) and its timeout on
 * one sl_loop timer (CURLMOPT_TIMERFUNCTION). No thread per request: every watch is one easy
 * handle on the one multi handle; callbacks run on the loop and do bounded work.
 *
 * A request is a plain one (the body is buffered, at most SL_KUBE_BODY_MAX bytes, and handed
 * to on_done) or a stream (a watch: each newline-terminated line of a 200 response is handed
 * to on_line as it arrives, at most SL_KUBE_LINE_MAX bytes; a non-200 body is buffered for
 * on_done). No DPDK; control thread only. */
#pragma once
#include <stdbool.h>
#include <stddef.h>

#include "core/sl_loop.h"
#include "sl_kube_auth.h"

#define SL_KUBE_BODY_MAX (256u << 20) /* a list page (500 objects) is far below */
#define SL_KUBE_LINE_MAX (16u << 20)  /* one watch event */
#define SL_KUBE_CONNECT_TIMEOUT_S 10

struct sl_kube_http;
struct sl_kube_req;

/* One line of a stream (NUL-terminated, without its newline; the callback may modify it).
 * Return false to end the stream (no on_done follows then). */
typedef bool (*sl_kube_line_cb)(void *arg, char *line, size_t len);
/* The request ended: status is the HTTP status (0: no response; why says what failed, else
 * NULL), body the buffered response (NUL-terminated; "" for a stream that ended well). The
 * request is freed after the call: do not cancel it from here. */
typedef void (*sl_kube_done_cb)(void *arg, long status, const char *body, size_t len,
				const char *why);

/* A client of the API server that auth describes (kept by reference: it must outlive the
 * client). Returns NULL with err set. */
struct sl_kube_http *sl_kube_http_create(struct sl_loop *loop, struct sl_kube_auth *auth,
					 char *err, size_t errlen);
/* Cancel every request (no callbacks) and free. */
void sl_kube_http_destroy(struct sl_kube_http *h);

/* Start a request: method "GET"/"PATCH", path with query ("/api/v1/nodes?limit=500"),
 * body and its content type for PATCH (else NULL), stream for a watch, timeout_s the whole
 * request's limit (0: none). The transfer starts on the loop's next round (so this is safe
 * from any callback). Returns the request, or NULL with err set. */
struct sl_kube_req *sl_kube_http_request(struct sl_kube_http *h, const char *method,
					 const char *path, const char *ctype, const char *body,
					 bool stream, long timeout_s, sl_kube_line_cb on_line,
					 sl_kube_done_cb on_done, void *arg, char *err,
					 size_t errlen);
/* Drop a request in flight: no callback follows. Safe from any callback, including the
 * request's own on_line. */
void sl_kube_http_cancel(struct sl_kube_req *r);
/* Escape s for a URL query into buf; NULL when it does not fit. */
const char *sl_kube_http_escape(const char *s, char *buf, size_t len);
