/* Shared by the Service and EndpointSlice unit tests without EAL (test_service*.c): objects
 * written as JSON with ' for ", a model of node1, a decode-and-apply, and the backends a
 * Service's view selects (service_test.c). Test code: any thread. */
#pragma once
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "control/model/sl_service.h"

/* JSON with ' for " (readable tables); one of 8 static buffers, reused in turn. */
char *J(const char *s);
/* A model of node1 (198.18.0.1, pods 10.244.1.0/24, gateway 10.244.1.1) with limits l. */
struct sl_model *new_model(const struct sl_model_limits *l);
/* Decode text and apply it; returns the apply's (or decode's) result, err filled. */
int apply(struct sl_model *m, const char *text, char *err, size_t n);
/* apply, failing the test on an error; and expecting error code with msg in its text. */
#define APPLY_OK(m, text)                                                                  \
	do {                                                                               \
		char e_[400] = "";                                                         \
		int rc_ = apply(m, text, e_, sizeof(e_));                                  \
		if (rc_)                                                                   \
			fail_msg("apply: %d %s", rc_, e_);                                 \
	} while (0)

#define APPLY_ERR(m, text, code, msg)                                                      \
	do {                                                                               \
		char e_[400] = "";                                                         \
		assert_int_equal(apply(m, text, e_, sizeof(e_)), code);                    \
		if (!strstr(e_, msg))                                                      \
			fail_msg("error '%s' lacks '%s'", e_, msg);                        \
	} while (0)
/* A Service in namespace default: name, type, cluster IP, ports (JSON array text), extra
 * spec fields. */
const char *svc(const char *name, const char *type, const char *cip, const char *ports,
		const char *extra);
/* An EndpointSlice of Service svc_name: name, endpoints and ports (JSON array texts). */
const char *slice(const char *name, const char *svc_name, const char *eps, const char *ports);
/* A v1 List of a, and b and c when not NULL. */
const char *list(const char *a, const char *b, const char *c);
/* The backends of port p of Service name with flag f set, as "ip:port ip:port". */
const char *selected(struct sl_model *m, const char *name, unsigned p, unsigned f);
/* An endpoint (JSON with ') of ip on node: ready; not ready; serving and terminating;
 * terminating, not serving. */
#define R(ip, node) "{'addresses':['" ip "'],'nodeName':'" node "'}"
#define NR(ip, node) \
	"{'addresses':['" ip "'],'nodeName':'" node "','conditions':{'ready':false,'serving':false,'terminating':false}}"
#define ST(ip, node) \
	"{'addresses':['" ip "'],'nodeName':'" node "','conditions':{'ready':false,'serving':true,'terminating':true}}"
#define T(ip, node) \
	"{'addresses':['" ip "'],'nodeName':'" node "','conditions':{'ready':false,'serving':false,'terminating':true}}"
