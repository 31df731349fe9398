/* The decoder of Kubernetes objects: v1 Service and discovery.k8s.io/v1 EndpointSlice as
 * JSON, alone or in a List (`kubectl get svc,endpointslices -o json` prints a v1 List of
 * both kinds; a ServiceList or EndpointSliceList from the API server works too). One decoder
 * for every source: the static config (its `services` and `endpointslices` arrays), the
 * API socket (`sluicectl apply -f`), the persisted state, and later the Kubernetes sync.
 *
 * As Kubernetes clients do, unknown fields are ignored (metadata.uid, spec.selector,
 * status.conditions, ...) and JSON null counts as absent. A field this node needs that is
 * wrong refuses the whole document with its path and reason
 * ("items[3].spec.ports[0].port: must be 1-65535"). Validation follows the API server's
 * where it matters here (names, ports, protocols, addresses, the per-slice limits);
 * IPv6 entries are accepted and ignored (see sl_service.h). No DPDK; any thread. */
#pragma once
#include <stdbool.h>
#include <stddef.h>

#include <cjson/cJSON.h>

#include "model/sl_service.h"

#define SL_K8S_MAX_OBJECTS 100000 /* objects in one document */

/* Decode one document (a Service, an EndpointSlice, or a List of them) into ops to
 * apply (sl_model_k8s_apply), each with its path ("items[3]", or "" for a single object).
 * Returns 0 with *ret_ops (free with sl_k8s_ops_free) and *ret_n set, or -EINVAL / -ENOMEM
 * with err set ("items[3].spec.ports[0].port: must be 1-65535"). */
int sl_k8s_decode(const cJSON *doc, struct sl_k8s_op **ret_ops, unsigned *ret_n, char *err,
		  size_t errlen);
/* The same from JSON text (at most len bytes). */
int sl_k8s_decode_text(const char *text, size_t len, struct sl_k8s_op **ret_ops,
		       unsigned *ret_n, char *err, size_t errlen);

/* Decoding while the JSON is read (sl_json_parse_watch on a List's "items"): each item is
 * decoded as soon as the reader has it, still in the cache, and its tree dropped;
 * sl_k8s_stream_finish then checks the document is that List and hands the ops over.
 * When it cannot (not a List, an item failed, two items arrays, ...), the caller reads
 * the text again without the watch and decodes the tree (sl_k8s_decode: same ops, same
 * errors). */
struct sl_k8s_stream {
	struct sl_k8s_op *ops;
	unsigned n, cap;
	const cJSON *array; /* the items' array */
	bool bad;
};
/* The sl_json_watch.elem callback; ctx is a zeroed struct sl_k8s_stream. */
void sl_k8s_stream_elem(void *ctx, const cJSON *array, const cJSON *e, unsigned idx);
/* doc: the List's object in the tree returned; dropped: elements were told and dropped
 * (sl_json_watch.streamed && .n). Returns as sl_k8s_decode, or -EAGAIN when the tree
 * lacks the dropped items and the stream cannot stand for them (read the text again and
 * sl_k8s_decode it). s is empty afterwards. */
int sl_k8s_stream_finish(struct sl_k8s_stream *s, bool dropped, const cJSON *doc,
			 struct sl_k8s_op **ret_ops, unsigned *ret_n, char *err, size_t errlen);
/* Free what s holds (the ops of a request that turned out not to use them). */
void sl_k8s_stream_free(struct sl_k8s_stream *s);

/* One object of a known kind (the config's lists: "kind" may be absent); path prefixes
 * error messages ("services[2]"). Return 0 with *ret (heap) or -EINVAL/-ENOMEM. */
int sl_k8s_parse_service(const cJSON *o, const char *path, struct sl_svc_spec **ret, char *err,
			 size_t errlen);
int sl_k8s_parse_slice(const cJSON *o, const char *path, struct sl_slice_spec **ret, char *err,
		       size_t errlen);

/* The object as JSON the decoder reads back to the same spec (persisted state). */
cJSON *sl_k8s_encode_service(const struct sl_svc_spec *s);
cJSON *sl_k8s_encode_slice(const struct sl_slice_spec *s);
