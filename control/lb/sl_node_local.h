/* Node ports for the node's own processes: the cgroup socket hooks of node_local.bpf.c,
 * loaded and kept in step with the Service table. A connect()/sendmsg() from sluiced's
 * network namespace to a node port (or a hostPort) on the node address or 127.0.0.1 is sent
 * to the Service's cluster IP (or the pod) instead, which the kernel routes to sluiced
 * through the host port. Without it those packets never leave the node's kernel
 * (kube-proxy handles them with its OUTPUT-chain rules).
 *
 * The hooks are attached to the root of the cgroup v2 hierarchy with BPF links: they go away with sluiced's
 * process, however it ends. Addresses and ports in network order. Control thread only. */
#pragma once
#include <stddef.h>
#include <stdbool.h>
#include <stdint.h>

/* Load and attach the hooks for the calling thread's network namespace. Returns 0, or
 * -errno with err set (no cgroup v2 hierarchy mounted, no BPF): the feature is then off and
 * every other call a no-op. */
int sl_node_local_start(char *err, size_t errlen);
/* Detach and unload (idempotent). */
void sl_node_local_stop(void);
/* Whether the hooks are attached. */
bool sl_node_local_on(void);
/* Translate (ip, port, proto) to (to_ip, to_port) from now on (replacing what was there).
 * Returns 0 (also when off) or -errno (the map is full: 65,536 entries). */
int sl_node_local_add(uint32_t ip, uint16_t port, uint8_t proto, uint32_t to_ip,
		      uint16_t to_port);
/* Stop translating (ip, port, proto); absent is not an error. */
void sl_node_local_del(uint32_t ip, uint16_t port, uint8_t proto);
