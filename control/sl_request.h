/* API socket requests: parsing and validation (no DPDK; shared with the fuzz target).
 * Wire format: one JSON object per connection, e.g. {"cmd":"show","what":"pods"},
 * answered by {"ok":true,"result":...} or {"ok":false,"error":"field: reason"}. */
#pragma once
#include <stddef.h>

#include "sl_config.h"

#define SL_API_MAX_REQUEST (64 * 1024) /* bytes; larger requests are refused */
#define SL_TRACE_MAX_COUNT 100          /* packets one trace may record */

enum sl_cmd {
	SL_CMD_VERSION,
	SL_CMD_SHOW,
	SL_CMD_POD_ADD,
	SL_CMD_POD_DEL,
	SL_CMD_NODE_ADD,
	SL_CMD_NODE_DEL,
	SL_CMD_ROUTE_ADD,
	SL_CMD_ROUTE_DEL,
	SL_CMD_TRACE_START,
	SL_CMD_TRACE_SHOW,
};

struct sl_request {
	enum sl_cmd cmd;
	char what[32];                 /* show */
	char namespace[SL_NAME_MAX];   /* pod.del */
	char name[SL_NAME_MAX];        /* pod.del, node.del */
	struct sl_cidr prefix;         /* route.del */
	unsigned count;                /* trace.start */
	struct sl_pod_spec pod;        /* pod.add */
	struct sl_node_spec node;      /* node.add */
	struct sl_route_spec route;    /* route.add */
};

/* Parse one request. Returns 0, or -EINVAL with "field: reason" in err. Any thread. */
int sl_request_parse(const char *text, size_t len, struct sl_request *ret, char *err,
		     size_t errlen);
