/* API socket requests: parsing and validation (no DPDK; shared with the fuzz target).
 * Wire format: one JSON object per connection, e.g. {"cmd":"show","what":"pods"},
 * answered by {"ok":true,"result":...} or {"ok":false,"error":"field: reason"}. */
#pragma once
#include <stddef.h>

#include "core/sl_cmd.h"
#include "sl_config.h"
#include "sl_ct_filter.h"
#include "sl_k8s.h"

#define SL_TRACE_MAX_COUNT 100          /* packets one trace may record */


struct sl_request {
	enum sl_cmd cmd;
	char what[32];                 /* show */
	char namespace[SL_NAME_MAX];   /* pod.del */
	char name[SL_K8S_NAME_MAX];    /* pod.del, node.del, service.del, endpointslice.del */
	struct sl_cidr prefix;         /* route.del */
	unsigned count;                /* trace.start */
	struct sl_pod_spec pod;        /* pod.add */
	struct sl_node_spec node;      /* node.add */
	struct sl_route_spec route;    /* route.add */
	struct sl_k8s_op *ops;         /* apply: the decoded objects (heap, sl_request_free) */
	unsigned n_ops;
	struct sl_ct_filter ct;        /* conntrack.show, conntrack.flush */
	char src[SL_K8S_NS_MAX + SL_K8S_NAME_MAX], dst[SL_K8S_NS_MAX + SL_K8S_NAME_MAX];
	uint16_t port;                 /* policy.check: src, dst, port, proto */
	uint8_t proto;
	enum sl_k8s_kind k8s_kind;     /* k8s.del (namespace, name) */
};

/* A command's declaration (from SL_FOREACH_CMD in core/sl_cmd.h). */
struct sl_cmd_info {
	const char *name;  /* on the wire: {"cmd":"pod.add",...} */
	unsigned flags;    /* SL_CMD_F_* */
	const char *usage; /* sluicectl syntax */
	const char *help;  /* one line for sluicectl's help */
};
extern const struct sl_cmd_info sl_cmds[SL_CMD_COUNT];

/* Parse one request. Returns 0, or -EINVAL with "field: reason" in err. Any thread. */
int sl_request_parse(const char *text, size_t len, struct sl_request *ret, char *err,
		     size_t errlen);
/* Free what a parsed request holds (apply's objects). */
void sl_request_free(struct sl_request *r);
