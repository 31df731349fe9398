// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Node ports for the node's own processes (kubelet, node agents, hostNetwork pods): a packet
 * the node's kernel sends to one of its own addresses never leaves the kernel, so sluiced's
 * fast path cannot translate it. These cgroup socket hooks, attached by sluiced to the root
 * cgroup, rewrite the destination of a connect() or sendmsg() to a node port (or a hostPort)
 * on the node address or 127.0.0.1 into the Service's cluster IP (or the pod), which the
 * kernel routes to sluiced through the host port (node.service_cidr), where it is load
 * balanced as any ClusterIP flow: the same design as Cilium's socket load balancer, reduced
 * to what the kernel cannot deliver itself.
 *
 * Only sockets of the network namespace sluiced runs in are touched (netns cookie in
 * `cfg`). The original address is remembered per socket (LRU, keyed by socket cookie) so
 * getpeername() and recvmsg() on an unconnected UDP socket show the address the
 * application asked for. Built with clang -target bpf; embedded in sluiced
 * (control/lb/meson via bpf_embed.py). */
#include <linux/bpf.h>
#include <linux/in.h>
#include <bpf/bpf_helpers.h>

struct nl_key {
	__u32 ip;     /* network order: the node address or 127.0.0.1 */
	__u16 port;   /* network order */
	__u8 proto;   /* IPPROTO_TCP or IPPROTO_UDP */
	__u8 pad;
};

struct nl_val {
	__u32 ip;     /* network order: the cluster IP (or pod) to connect to instead */
	__u16 port;   /* network order */
	__u16 pad;
};

struct nl_rev_key {
	__u64 cookie; /* socket cookie */
	__u32 ip;     /* the translated destination */
	__u16 port;
	__u16 pad;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__type(key, struct nl_key);
	__type(value, struct nl_val);
} nl_map SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, struct nl_rev_key);
	__type(value, struct nl_val); /* the original destination */
} nl_rev SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64); /* the netns cookie of sluiced's namespace */
} cfg SEC(".maps");

static __always_inline int ours(struct bpf_sock_addr *ctx)
{
	__u32 zero = 0;
	__u64 *ns = bpf_map_lookup_elem(&cfg, &zero);
	return ns && *ns && bpf_get_netns_cookie(ctx) == *ns;
}

/* Rewrite the destination when it is a node port of ours; remember the original. */
static __always_inline void translate(struct bpf_sock_addr *ctx)
{
	if (!ours(ctx))
		return;
	struct nl_key k = { .ip = ctx->user_ip4, .port = (__u16)ctx->user_port,
			    .proto = (__u8)ctx->protocol };
	struct nl_val *v = bpf_map_lookup_elem(&nl_map, &k);
	if (!v)
		return;
	struct nl_rev_key r = { .cookie = bpf_get_socket_cookie(ctx), .ip = v->ip,
				.port = v->port };
	struct nl_val orig = { .ip = k.ip, .port = k.port };
	bpf_map_update_elem(&nl_rev, &r, &orig, BPF_ANY);
	ctx->user_ip4 = v->ip;
	ctx->user_port = v->port;
}

/* The original destination back where the application reads a peer address. */
static __always_inline void untranslate(struct bpf_sock_addr *ctx)
{
	if (!ours(ctx))
		return;
	struct nl_rev_key r = { .cookie = bpf_get_socket_cookie(ctx), .ip = ctx->user_ip4,
				.port = (__u16)ctx->user_port };
	struct nl_val *o = bpf_map_lookup_elem(&nl_rev, &r);
	if (!o)
		return;
	ctx->user_ip4 = o->ip;
	ctx->user_port = o->port;
}

SEC("cgroup/connect4")
int nl_connect4(struct bpf_sock_addr *ctx)
{
	translate(ctx);
	return 1;
}

SEC("cgroup/sendmsg4")
int nl_sendmsg4(struct bpf_sock_addr *ctx)
{
	translate(ctx);
	return 1;
}

SEC("cgroup/recvmsg4")
int nl_recvmsg4(struct bpf_sock_addr *ctx)
{
	untranslate(ctx);
	return 1;
}

SEC("cgroup/getpeername4")
int nl_getpeername4(struct bpf_sock_addr *ctx)
{
	untranslate(ctx);
	return 1;
}

char _license[] SEC("license") = "Dual BSD/GPL";
