/* sluice-cni: the pod's veth, its address, routes and offloads, over rtnetlink (libmnl)
 * and the ethtool ioctl.
 *
 * A handle is bound to one network namespace: the namespace its sockets were created in.
 * sl_cni_nl_open_netns() creates them in a short-lived thread that setns()es into the
 * target namespace, so the plugin's main thread never leaves the runtime's (node's)
 * namespace and every later operation through the handle acts on the target namespace.
 * All functions return 0 or a negative errno and fill err (code 101 unless noted). */
#pragma once
#include <stdbool.h>
#include <stdint.h>

#include "cni.h"

struct mnl_socket;

/* Sockets bound to one network namespace. */
struct sl_cni_nl {
	struct mnl_socket *nl; /* NETLINK_ROUTE */
	int ioctl_fd;          /* AF_INET datagram socket for SIOCETHTOOL */
	unsigned seq;          /* last sequence number used */
};

/* A link as read back from the kernel. */
struct sl_cni_link {
	int ifindex;
	uint8_t mac[6];
	unsigned mtu;
	bool up; /* IFF_UP */
};

/* Open a handle on the calling thread's namespace. */
int sl_cni_nl_open(struct sl_cni_nl *ret, struct sl_cni_err *err);

/* Open a handle on the namespace whose file (e.g. /var/run/netns/x) is netns_fd.
 * -EINVAL (code 4) when the file is not a network namespace. */
int sl_cni_nl_open_netns(int netns_fd, struct sl_cni_nl *ret, struct sl_cni_err *err);

/* Close a handle (safe on a zeroed or closed one). */
void sl_cni_nl_close(struct sl_cni_nl *h);

/* Create a veth pair: host_name in h's namespace (up), peer_name directly in the
 * namespace of peer_netns_fd (down: see sl_cni_nl_link_up), both with mtu. -EEXIST when
 * either name is taken. */
int sl_cni_nl_veth_add(struct sl_cni_nl *h, const char *host_name, const char *peer_name,
		       int peer_netns_fd, unsigned mtu, struct sl_cni_err *err);

/* Move link name of h's namespace into the namespace of netns_fd, renamed new_name, with
 * mtu (a tap sluiced created for a pod). -ENODEV when there is none. */
int sl_cni_nl_link_move(struct sl_cni_nl *h, const char *name, int netns_fd,
			const char *new_name, unsigned mtu, struct sl_cni_err *err);

/* Look a link up by name. -ENODEV when there is none. */
int sl_cni_nl_link_get(struct sl_cni_nl *h, const char *name, struct sl_cni_link *ret,
		       struct sl_cni_err *err);

/* Set link ifindex up. */
int sl_cni_nl_link_up(struct sl_cni_nl *h, int ifindex, struct sl_cni_err *err);

/* Delete a link by name (a veth takes its peer along). -ENODEV when there is none. */
int sl_cni_nl_link_del(struct sl_cni_nl *h, const char *name, struct sl_cni_err *err);

/* Add ip/len to ifindex (IFA_LOCAL = IFA_ADDRESS = ip). */
int sl_cni_nl_addr_add(struct sl_cni_nl *h, int ifindex, uint32_t ip, uint8_t len,
		       struct sl_cni_err *err);

/* Whether ifindex carries ip/len: 1 yes, 0 no, or a negative errno. */
int sl_cni_nl_addr_has(struct sl_cni_nl *h, int ifindex, uint32_t ip, uint8_t len,
		       struct sl_cni_err *err);

/* Add a route in the main table: dst/len out of ifindex, via gw (0: scope link, no
 * gateway). onlink marks gw reachable on the link without a covering route. */
int sl_cni_nl_route_add(struct sl_cni_nl *h, int ifindex, uint32_t dst, uint8_t len,
			uint32_t gw, bool onlink, struct sl_cni_err *err);

/* Turn TX checksum offload off on name (ETHTOOL_STXCSUM 0): the XDP copy path forwards
 * what the pod sends, so partial checksums must never leave the pod. */
int sl_cni_nl_tx_csum_off(struct sl_cni_nl *h, const char *name, struct sl_cni_err *err);

/* Turn the ethtool features named in the NULL-terminated features[] off on name
 * (ETHTOOL_SFEATURES; names the device lacks are skipped). A positive return from the
 * kernel (some wanted feature not changeable) is not an error. Returns 0 or -errno. */
int sl_cni_nl_features_off(struct sl_cni_nl *h, const char *name, const char *const *features,
			   struct sl_cni_err *err);

/* Call fn(name, arg) for every link of h's namespace (a dump). */
int sl_cni_nl_link_names(struct sl_cni_nl *h, void (*fn)(const char *name, void *arg),
			 void *arg, struct sl_cni_err *err);
