/* sluice-cni: the plugin binary's internal interface (not part of the sl_cni library the
 * unit tests link): one run's state, the helpers every command uses, the ADD steps the
 * attachment kinds share, and the commands.
 *
 * Files: main.c (entry, CNI_* and config, dispatch, DEL, CHECK, STATUS, VERSION),
 * plugin.c (the helpers below), gc.c (GC), add.c (the shared ADD steps), and one file per
 * attachment kind: add_veth.c (veth, read by sluiced over AF_XDP), add_vhost.c (vhost-user)
 * and add_tap.c (tap). Everything runs on the one thread of a short-lived process; every
 * function returns 0 or a negative errno with err filled (cni.h), unless it says otherwise. */
#pragma once
#include <stdbool.h>

#include "api.h"
#include "conf.h"
#include "ipam.h"
#include "netlink.h"
#include "result.h"
#include "vhost.h"

/* Everything one run works with. main() fills env, conf, host_ifname, pod_name and (for
 * ADD, CHECK and DEL) vh, me, vh_rc, vh_err before a command runs. */
struct sl_cni_run {
	struct sl_cni_env env;
	struct sl_cni_conf conf;
	struct sl_cni_node node; /* sluiced's facts (sl_cni_run_prepare) */
	bool have_node;
	char host_ifname[SL_CNI_IFNAME_MAX];
	char pod_name[SL_CNI_NAME_MAX];
	char *ipam_text; /* config for the IPAM plugin (sl_cni_run_prepare); main() frees it */
	struct sl_cni_vhost vh;    /* the vhost-user paths of the attachment */
	struct sl_cni_vhost_owner me; /* who this attachment is (owner records) */
	int vh_rc;                 /* sl_cni_vhost_paths' answer (socket path too long) */
	struct sl_cni_err vh_err;
};

/* Helpers (plugin.c), callable from any command. */

/* An IPAM plugin call of command cmd ("ADD", "DEL", ...) with r's IPAM config. Call after
 * sl_cni_run_prepare (the config is its r->ipam_text). */
struct sl_cni_ipam_call sl_cni_run_ipam_call(const struct sl_cni_run *r, const char *cmd);

/* Fetch sluiced's facts (r->node: always with need_node, else only when the IPAM config
 * needs them), give a pod whose network names no interface sluiced's (node.pod_interface),
 * and build r->ipam_text. Call before any IPAM call; later calls return 0 at once. */
int sl_cni_run_prepare(struct sl_cni_run *r, bool need_node, struct sl_cni_err *err);

/* Open CNI_NETNS (O_CLOEXEC) into *ret_fd and make sure it is a network namespace (code 4
 * otherwise, the fd closed and *ret_fd -1). The caller closes the fd; it is held for the
 * whole command so the namespace cannot be swapped under it. */
int sl_cni_run_open_netns(const struct sl_cni_run *r, int *ret_fd, struct sl_cni_err *err);

/* Print o on stdout, pretty, with a newline (nothing when out of memory). */
void sl_cni_print_json(cJSON *o);

/* sluiced's name for a vhost-user pod's port: "<ifname>.sock" cut to 15 chars. */
void sl_cni_vhost_port_name(const char *ifname, char ret[SL_CNI_IFNAME_MAX]);

/* ADD steps shared by the attachment kinds (add.c). A kind's ADD calls, in this order:
 *   struct sl_cni_add ad = SL_CNI_ADD_INIT;
 *   sl_cni_add_begin        netns, sluiced's facts, MTU, IPAM ADD and its address checked;
 *   ... the kind's own steps, then its fields of ad.sp ...
 *   sl_cni_add_pod          sluiced's pod.add;
 *   ... the kind's own steps, then its fields of ad.a ...
 *   sl_cni_add_result       the result on stdout;
 * and on every path out, whether a step failed or not (rc: the ADD's answer so far):
 *   sl_cni_add_undo_pod     pod.del if the ADD failed after sluiced may have added the pod;
 *   ... the kind's own undo (its steps in reverse) and closes ...
 *   sl_cni_add_end          IPAM DEL if the ADD failed after IPAM ADD ran; frees, closes.
 * So a failed ADD is undone in the order: sluiced's pod, the kind's steps, the address. */

/* One ADD in progress. */
struct sl_cni_add {
	int netns_fd;                  /* CNI_NETNS, held for the whole ADD; -1 before */
	unsigned mtu;                  /* the pod's MTU */
	struct sl_cni_ipam_result ip;  /* IPAM's answer (its ip passed sl_cni_add_begin's check) */
	struct sl_cni_pod sp;          /* pod.add's request: the kind fills ifname, mac, tap,
	                                * vhost, vhost_server, socket; sl_cni_add_pod the rest */
	struct sl_cni_attach a;        /* the result: the kind fills host_ifname, host_mac,
	                                * socket_path, pod_mac; sl_cni_add_result the rest */
	bool ipam_done;                /* IPAM ADD ran: a failed ADD runs IPAM DEL */
	bool pod_done;                 /* sluiced may have the pod: a failed ADD runs pod.del */
};
#define SL_CNI_ADD_INIT { .netns_fd = -1 }

/* First step of every ADD: open CNI_NETNS (ad->netns_fd), fetch sluiced's facts, the pod's
 * MTU (the config's, at most sluiced's pod MTU, else code 7), IPAM ADD into ad->ip, and
 * check the address is a pod address of sluiced's pod CIDR (code 7). */
int sl_cni_add_begin(struct sl_cni_run *r, struct sl_cni_add *ad, struct sl_cni_err *err);

/* Configure the pod end CNI_IFNAME through pod (a handle on the pod's netns): up,
 * address/32, gateway route, default route, IPAM's other routes; a veth also gets checksum
 * offload off unless sluiced's AF_XDP mode is "skb" (then UDP/SCTP GSO off). Fills mac with
 * the interface's MAC. After sl_cni_add_begin, once the interface is in the pod's netns. */
int sl_cni_add_setup_pod(const struct sl_cni_run *r, struct sl_cni_nl *pod,
			 const struct sl_cni_ipam_result *ip, uint8_t mac[6],
			 struct sl_cni_err *err);

/* Fill ad->sp's name, namespace, ip and port maps and send pod.add. Marks ad->pod_done
 * unless sluiced refused the pod (then it did not add it; a timeout or a cut connection
 * may have). After sl_cni_add_begin and the kind's fields of ad->sp. */
int sl_cni_add_pod(struct sl_cni_run *r, struct sl_cni_add *ad, struct sl_cni_err *err);

/* Fill ad->a's version, pod interface, netns, MTU, address, gateway and IPAM routes and
 * print the result (code 5 when it cannot be built). The last step of an ADD. */
int sl_cni_add_result(struct sl_cni_run *r, struct sl_cni_add *ad, struct sl_cni_err *err);

/* On the way out of an ADD: when rc < 0 and ad->pod_done, pod.del (its error ignored).
 * First of the undo steps. */
void sl_cni_add_undo_pod(const struct sl_cni_run *r, const struct sl_cni_add *ad, int rc);

/* On the way out of an ADD, last: when rc < 0 and ad->ipam_done, IPAM DEL (its error on
 * stderr); frees ad->ip, closes ad->netns_fd. Returns rc. */
int sl_cni_add_end(const struct sl_cni_run *r, struct sl_cni_add *ad, int rc);

/* The ADD of each attachment kind (add_veth.c, add_vhost.c, add_tap.c); main.c calls the
 * one "interface" names. */
int sl_cni_add_veth(struct sl_cni_run *r, struct sl_cni_err *err);
int sl_cni_add_vhost(struct sl_cni_run *r, struct sl_cni_err *err);
int sl_cni_add_tap(struct sl_cni_run *r, struct sl_cni_err *err);
/* Write mask (sluiced's tap_rps_cpus) to rps_cpus of interface ifname's receive queue in
 * the namespace netns_fd, so the pod's receive processing runs on those CPUs and not in
 * sluiced's worker (drivers/sl_tap.h "Receive steering"). Only a warning on stderr when it
 * cannot (the pod works, its receive costs the worker more). Returns 0 or -errno. */
int sl_cni_tap_rps(int netns_fd, const char *ifname, const char *mask);

/* GC (gc.c). */
int sl_cni_cmd_gc(struct sl_cni_run *r, struct sl_cni_err *err);
