/* The conntrack filter of an API request (`conntrack.show`, `conntrack.flush`), from JSON:
 *   {"service": "VIP[:PORT]", "backend": "IP[:PORT]", "client": "IP",
 *    "proto": "tcp|udp|sctp", "state": "ESTABLISHED", "limit": N, "summary": true}
 * every field optional, strings as sluicectl passes them (limit also a number). No DPDK. */
#pragma once
#include <stddef.h>

#include <cjson/cJSON.h>

#include "dataplane/ct/ct_filter.h"

/* Fill *ret from root's fields. Returns 0, or -EINVAL with "field: reason" in err (e.g.
 * "service: '10.96.0.300' is not an IPv4 address"). Any thread. */
int sl_ct_filter_parse(const cJSON *root, struct sl_ct_filter *ret, char *err, size_t errlen);
