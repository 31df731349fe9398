/* Internal to the Service and EndpointSlice decoders (sl_k8s.c: documents and Lists;
 * sl_k8s_service.c, sl_k8s_slice.c: the kinds; sl_k8s_at.c, sl_k8s_addr.c: their fields);
 * sl_k8s_field.c's readers by path text (the other kinds') are built on these.
 *
 * A 100,000-Service load decodes ~2 million fields, so: an object's members are found in
 * one walk of its children (sl_k8s_members, not one scan per name), a field's path for
 * errors is a chain of steps on the stack (struct at) formatted only when an error names
 * it, and an EndpointSlice's strings go in one allocation with its endpoints.
 *
 * Each function returns 0, or -EINVAL with err (n bytes) set to "path: reason"
 * (sl_k8s_fail), or -ENOMEM where it allocates. No DPDK; any thread. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "model/sl_service.h"
#include "sl_k8s_field.h"

#define SL_K8S_LABEL_SERVICE_NAME "kubernetes.io/service-name"
#define SL_K8S_LABEL_PROXY_NAME "service.kubernetes.io/service-proxy-name"

/* cJSON's type tests, inline. */
static inline bool sl_k8s_is_type(const cJSON *v, int t)
{
	return v && (v->type & 0xFF) == t;
}
#define IS_STR(v) sl_k8s_is_type((v), cJSON_String)
#define IS_NUM(v) sl_k8s_is_type((v), cJSON_Number)
#define IS_OBJ(v) sl_k8s_is_type((v), cJSON_Object)
#define IS_ARR(v) sl_k8s_is_type((v), cJSON_Array)
#define IS_NULL(v) sl_k8s_is_type((v), cJSON_NULL)
#define IS_BOOL(v) ((v) && ((v)->type & (cJSON_True | cJSON_False)))
#define IS_TRUE(v) sl_k8s_is_type((v), cJSON_True)

/* Where a field is: its parent and its name (or index). The root's key is the caller's
 * path ("items[3]", "" for a document's top). */
struct at {
	const struct at *up; /* NULL: the root */
	const char *key;     /* the member's name; NULL: element idx of up */
	unsigned idx;
};
#define AT(up_, key_) (&(const struct at){ (up_), (key_), 0 })
#define AT_I(up_, i_) (&(const struct at){ (up_), NULL, (i_) })

/* The path as text into buf (SL_K8S_PATH_MAX bytes): what sl_k8s_sub and sl_k8s_idx
 * build step by step, cut at the same length. Returns buf. */
const char *sl_k8s_at_path(const struct at *a, char *buf);

/* The error "path: reason" (functions with err and n in scope); -EINVAL. */
#define FAIL(a, ...)                                                                           \
	sl_k8s_fail(err, n, sl_k8s_at_path((a), (char[SL_K8S_PATH_MAX]){ 0 }), __VA_ARGS__)

/* The members of o named keys[0..nk) (nk <= 32) into v: the first of each name, NULL when
 * absent or null (as sl_k8s_get), in one walk of o's children. */
void sl_k8s_members(const cJSON *o, const char *const *keys, unsigned nk, const cJSON **v);

/* The members of a Service or EndpointSlice object the decoders read (sl_k8s_obj_keys). */
enum { K_KIND, K_API, K_META, K_SPEC, K_STATUS, K_ADDR_TYPE, K_ENDPOINTS, K_PORTS, K_N };
extern const char *const sl_k8s_obj_keys[K_N];

/* 0 when v (the field at a) is an object. */
int sl_k8s_at_obj(const cJSON *v, const struct at *a, char *err, size_t n);
/* An integer in [min, max] from v (the field at a, NULL when absent); *out unchanged
 * when absent. */
int sl_k8s_at_int(const cJSON *v, const struct at *a, bool required, long min, long max,
		  long *out, char *err, size_t n);
/* A string field of under max bytes: *ret is its text ("" when absent and optional) and
 * *ret_len its length. */
int sl_k8s_at_str_ref(const cJSON *v, const struct at *a, bool required, size_t max,
		      const char **ret, size_t *ret_len, char *err, size_t n);
/* The same copied into out (max bytes with the NUL). */
int sl_k8s_at_str(const cJSON *v, const struct at *a, bool required, char *out, size_t max,
		  char *err, size_t n);
/* An array field: *ret_n 0 when absent; refused over max entries. */
int sl_k8s_at_array(const cJSON *v, const struct at *a, unsigned max, unsigned *ret_n,
		    char *err, size_t n);
/* "kind"/"apiVersion" (the members k and api), when present, must be this kind's. */
int sl_k8s_at_kind(const cJSON *k, const cJSON *api, const struct at *a, const char *kind,
		   const char *want_api, char *err, size_t n);
/* "protocol" (v): TCP (the default), UDP or SCTP, as IPPROTO_*. */
int sl_k8s_at_protocol(const cJSON *v, const struct at *a, uint8_t *ret, char *err, size_t n);
/* s as a DNS-1123 label (max 63) or subdomain (max 253) (sl_k8s_dns_name); rfc1035: a
 * label that also starts with a letter. */
int sl_k8s_at_name(const char *s, const struct at *a, size_t max, bool rfc1035, char *err,
		   size_t n);
/* choices[i] for the string v (under 32 bytes); "" or absent gives 0. Returns the index or
 * -EINVAL. */
int sl_k8s_at_enum(const cJSON *v, const struct at *a, const char *const *choices,
		   const char *list, char *err, size_t n);
/* metadata (md, of the object at obj): name (an RFC 1035 label when name_1035),
 * namespace (default "default"), and the one label named label: its value into label_out
 * (label_max bytes) when not NULL, *label_set true when not NULL. */
int sl_k8s_at_meta(const cJSON *md, const struct at *obj, char *name, size_t name_max,
		   bool name_1035, char *ns, const char *label, char *label_out,
		   size_t label_max, bool *label_set, char *err, size_t n);
/* rc, with err set to "<path of a>: out of memory" when rc is -ENOMEM. */
int sl_k8s_at_nomem(int rc, const struct at *a, char *err, size_t n);

/* Addresses (sl_k8s_addr.c). An IP address (IPv4 or IPv6) into *ret: 0 or -1. */
int sl_k8s_ip_parse(const char *s, struct sl_ip *ret);
/* An IPv4 address into *ret (*ret_v4 true), an IPv6 one skipped (false), else an error. */
int sl_k8s_at_addr(const cJSON *v, const struct at *a, struct sl_ip *ret, bool *ret_v4,
		   char *err, size_t n);
/* An array of address strings (v, at a) into a heap array of the IPv4 ones. */
int sl_k8s_at_ips(const cJSON *v, const struct at *a, struct sl_ip **ret, unsigned *ret_n,
		  char *err, size_t n);

/* A Service (sl_k8s_service.c) or an EndpointSlice (sl_k8s_slice.c): o with its members m
 * (sl_k8s_obj_keys), at a, into *ret (heap; NULL on an error, err set then). */
int sl_k8s_service_of(const cJSON *o, const cJSON *const *m, const struct at *a,
		      struct sl_svc_spec **ret, char *err, size_t n);
int sl_k8s_slice_of(const cJSON *o, const cJSON *const *m, const struct at *a,
		    struct sl_slice_spec **ret, char *err, size_t n);
