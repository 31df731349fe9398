/* The `show services` and `show backends` tables: views of the model's Services and their
 * resolved backends (sl_service.h). No DPDK (unit-tested without EAL). Control thread.
 * services: one row per Service: namespace, name, type, cluster_ip, external_ip (external
 *   and ingress IPs), ports ("80:30080/TCP->8080": port, node port, target port), backends
 *   ("ready/total" endpoints of its port with the most) and why kube-proxy would skip
 *   it (headless, other proxy, ExternalName) or "-".
 * backends: one row per Service port and merged endpoint: namespace, name, port
 *   ("http:80/TCP"), backend ("10.244.1.5:8080"), node, conditions, local, and whether it
 *   is selected for cluster-IP traffic (internal) and for external traffic (external). */
#pragma once
#include <cjson/cJSON.h>

#include "model/sl_service.h"

cJSON *sl_show_services(const struct sl_model *m);
cJSON *sl_show_backends(const struct sl_model *m);
