/* The JSON field helpers the Kubernetes object decoders share (sl_k8s_*.c: Service and
 * EndpointSlice; sl_k8s_policy.c: Namespace, Pod, NetworkPolicy). Errors are "path: reason"
 * ("items[3].spec.ports[0].port: must be 1-65535"); JSON null counts as absent, as
 * Kubernetes clients treat it. No DPDK; any thread. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#define SL_K8S_PATH_MAX 192 /* a field's path in errors; longer ones are cut */

/* Write "path: reason" into err (n bytes); returns -EINVAL. */
int sl_k8s_fail(char *err, size_t n, const char *path, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* "base.key" ("key" at the top) and "base[i]" into buf (SL_K8S_PATH_MAX bytes; buf may not
 * be base); returns buf. Without snprintf: built for every field on the way down. */
const char *sl_k8s_sub(char *buf, const char *base, const char *key);
const char *sl_k8s_idx(char *buf, const char *base, unsigned i);
/* Member key of o, or NULL when absent or null. */
const cJSON *sl_k8s_get(const cJSON *o, const char *key);
/* 0 when v is an object, else the error. */
int sl_k8s_want_obj(const cJSON *v, const char *path, char *err, size_t n);
/* A string field into out (max bytes with the NUL); "" when absent and optional. */
int sl_k8s_get_str(const cJSON *o, const char *base, const char *key, bool required, char *out,
		   size_t max, char *err, size_t n);
/* An array field: NULL and 0 when absent; refused over max entries. */
int sl_k8s_get_array(const cJSON *o, const char *base, const char *key, unsigned max,
		     const cJSON **ret, unsigned *ret_n, char *err, size_t n);
/* "kind"/"apiVersion", when present, must be this kind's. */
int sl_k8s_check_kind(const cJSON *o, const char *base, const char *kind, const char *api,
		      char *err, size_t n);
/* An IANA service name (a named port): 1-15 lowercase alphanumerics or '-', a letter, no
 * '-' at either end or twice in a row. */
bool sl_k8s_iana_svc_name(const char *s);
/* "protocol": TCP (the default), UDP or SCTP, as IPPROTO_*. */
int sl_k8s_parse_protocol(const cJSON *o, const char *base, uint8_t *ret, char *err, size_t n);
/* The protocol named s (TCP, UDP, SCTP; "": TCP) as IPPROTO_* into *ret; false when s names
 * none of them. */
bool sl_k8s_proto_of(const char *s, uint8_t *ret);
/* IPPROTO_* as the API spells it ("TCP"). */
const char *sl_k8s_proto_name(uint8_t p);
