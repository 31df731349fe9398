/* `show policies` and `policy check`: views of the model's NetworkPolicies (sl_policy.h).
 * No DPDK (unit-tested without EAL). Control thread.
 * policies: one row per NetworkPolicy: namespace, name, pod_selector (kubectl's selector
 *   syntax, "<all>" for {}), types ("Ingress,Egress"), ingress and egress rule counts, the
 *   local pods it isolates on this node, and the rules it compiled to here.
 * policy check: SRC and DST are addresses or cluster pods "NS/NAME"; the verdict, and per
 *   direction (egress at SRC, ingress at DST) whether the pod is isolated, by which
 *   policies, and which rule allows, or why it is denied. */
#pragma once
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "model/sl_policy.h"

cJSON *sl_show_policies(struct sl_model *m);
/* Returns the answer, or NULL with err set ("src: 'x/q' is not a known pod"). */
cJSON *sl_show_policy_check(struct sl_model *m, const char *src, const char *dst,
			    uint8_t proto, uint16_t port, char *err, size_t errlen);
/* "80/TCP" (protocol default TCP, case-insensitive) into port and protocol; -EINVAL. */
int sl_policy_check_port(const char *s, uint16_t *ret_port, uint8_t *ret_proto);
