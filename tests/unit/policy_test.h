/* Shared by the NetworkPolicy unit tests without EAL (test_policy*.c): a model with this
 * node's attachments, objects applied from JSON written with ' for ", the compiled set's
 * verdict (what the dataplane enforces), and the upstream e2e layout of namespaces x, y, z
 * with pods a, b, c in each (policy_test.c). Test code: any thread. */
#pragma once
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <cJSON.h>

#include "control/model/sl_policy.h"

/* JSON with ' for " (readable tables); one of 8 static buffers, reused in turn. */
char *J(const char *s);
/* An IPv4 address (asserted valid), and the same in host order. */
struct sl_ip ip4(const char *s);
uint32_t hip(const char *s);
/* A model of node1 (198.18.0.1, pods 10.244.1.0/24). */
struct sl_model *new_model(void);
/* Attach a local pod (an address of this node) under ifname. */
void attach(struct sl_model *m, const char *addr, const char *ifname);
/* Decode text (JSON) and apply it as one batch: 0 or the error with err set. */
int apply(struct sl_model *m, const char *text, char *err, size_t n);
/* Decode the object o, apply it as one batch and free it; fails the test on an error. */
void apply_json(struct sl_model *m, cJSON *o);
/* Whether the compiled set d lets peer reach pod on proto/port (ret_policy: the policy of
 * the rule allowing it, when one does). */
bool dir_allows(const struct sl_pol_dir_set *d, uint32_t pod, uint32_t peer, uint8_t proto,
		uint16_t port, uint32_t *ret_policy);
/* Whether set s allows src -> dst (host order) in both directions. */
bool set_allows(const struct sl_pol_set *s, uint32_t src, uint32_t dst, uint8_t proto,
		uint16_t port);
/* The same through m's current set, addresses as strings. */
bool allows(struct sl_model *m, const char *src, const char *dst, uint8_t proto,
	    uint16_t port);
/* A model with the e2e layout (PODS_XYZ) applied, x's pods attached. */
struct sl_model *xyz(void);

#define APPLY_OK(m, text)                                                                  \
	do {                                                                               \
		char err_[400];                                                            \
		if (apply(m, J(text), err_, sizeof(err_)))                                 \
			fail_msg("apply: %s", err_);                                       \
	} while (0)

/* The upstream e2e layout: namespaces x, y, z; pods a, b, c in each; x's pods local. */
#define PODS_XYZ                                                                            \
	"{'kind':'List','items':["                                                          \
	"{'kind':'Namespace','metadata':{'name':'x','labels':{'ns':'x'}}},"                 \
	"{'kind':'Namespace','metadata':{'name':'y','labels':{'ns':'y'}}},"                 \
	"{'kind':'Namespace','metadata':{'name':'z','labels':{'ns':'z'}}},"                 \
	"{'kind':'Pod','metadata':{'name':'a','namespace':'x','labels':{'pod':'a'}},'spec':{'containers':[{'ports':[" \
	"{'name':'serve-80-tcp','containerPort':80},{'name':'serve-81-tcp','containerPort':81},{'name':'serve-80-udp','containerPort':80,'protocol':'UDP'}]}]},'status':{'podIP':'10.244.1.2'}}," \
	"{'kind':'Pod','metadata':{'name':'b','namespace':'x','labels':{'pod':'b'}},'spec':{'containers':[{'ports':[" \
	"{'name':'serve-80-tcp','containerPort':80},{'name':'serve-81-tcp','containerPort':81}]}]},'status':{'podIP':'10.244.1.3'}}," \
	"{'kind':'Pod','metadata':{'name':'c','namespace':'x','labels':{'pod':'c'}},'status':{'podIP':'10.244.1.4'}}," \
	"{'kind':'Pod','metadata':{'name':'a','namespace':'y','labels':{'pod':'a'}},'status':{'podIP':'10.244.2.2'}}," \
	"{'kind':'Pod','metadata':{'name':'b','namespace':'y','labels':{'pod':'b'}},'spec':{'containers':[{'ports':[" \
	"{'name':'serve-80-tcp','containerPort':8080}]}]},'status':{'podIP':'10.244.2.3'}}," \
	"{'kind':'Pod','metadata':{'name':'c','namespace':'y','labels':{'pod':'c'}},'status':{'podIP':'10.244.2.4'}}," \
	"{'kind':'Pod','metadata':{'name':'a','namespace':'z','labels':{'pod':'a'}},'status':{'podIP':'10.244.3.2'}}," \
	"{'kind':'Pod','metadata':{'name':'b','namespace':'z','labels':{'pod':'b'}},'status':{'podIP':'10.244.3.3'}}," \
	"{'kind':'Pod','metadata':{'name':'c','namespace':'z','labels':{'pod':'c'}},'status':{'podIP':'10.244.3.4'}}]}"

#define TCP IPPROTO_TCP
#define UDP IPPROTO_UDP
#define SCTP IPPROTO_SCTP
#define XA "10.244.1.2"
#define XB "10.244.1.3"
#define XC "10.244.1.4"
#define YA "10.244.2.2"
#define YB "10.244.2.3"
#define YC "10.244.2.4"
#define ZA "10.244.3.2"
