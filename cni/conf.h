/* sluice-cni: the CNI_* environment and the network configuration on stdin, parsed and
 * validated; default IPAM injection; the names derived from an attachment.
 *
 * Pure functions (no system calls): linked by the plugin and by tests/cni/test_cni_conf.c. */
#pragma once
#include <linux/limits.h>

#include <cjson/cJSON.h>

#include "cni.h"

#define SL_CNI_ID_MAX 256    /* CNI_CONTAINERID bytes + NUL */
#define SL_CNI_IFNAME_MAX 16 /* IFNAMSIZ */
#define SL_CNI_RPS_MAX 320   /* an rps_cpus mask of 1,024 CPUs ("ffffffff," x 32) + NUL */
#define SL_CNI_NAME_MAX 128  /* sluiced's pod name/namespace buffers (127 chars + NUL) */
#define SL_CNI_NETNAME_MAX 256
#define SL_CNI_SOCKET_MAX 108 /* sun_path */
#define SL_CNI_ARG_MAX 32     /* CNI_ARGS values this plugin reads (MAC, SLUICE_INTERFACE) */
#define SL_CNI_DEFAULT_SOCKET_DIR "/run/sluice/vhost"
#define SL_CNI_UID_MAX 65    /* CNI_ARGS K8S_POD_UID bytes + NUL */

enum sl_cni_cmd {
	SL_CNI_ADD,
	SL_CNI_DEL,
	SL_CNI_CHECK,
	SL_CNI_VERSION,
	SL_CNI_STATUS,
	SL_CNI_GC,
};

enum sl_cni_iface {
	SL_CNI_IFACE_VETH,       /* kernel pod: veth, host end attached over AF_XDP */
	SL_CNI_IFACE_VHOST_USER, /* DPDK pod over a vhost-user socket (virtio_user in the pod) */
	SL_CNI_IFACE_TAP,        /* kernel pod: eth0 is a tap sluiced creates (virtio-net offloads) */
};

/* The invocation parameters (SPEC.md "Parameters"). Strings are NUL-terminated and empty
 * when the variable is absent and optional for the command. */
struct sl_cni_env {
	enum sl_cni_cmd cmd;
	char container_id[SL_CNI_ID_MAX];
	char netns[PATH_MAX];
	char ifname[SL_CNI_IFNAME_MAX];
	char path[PATH_MAX];                   /* CNI_PATH, ':'-separated */
	char k8s_namespace[SL_CNI_NAME_MAX];   /* CNI_ARGS K8S_POD_NAMESPACE */
	char k8s_name[SL_CNI_NAME_MAX * 2];    /* CNI_ARGS K8S_POD_NAME (logs only) */
	char arg_mac[SL_CNI_ARG_MAX];          /* CNI_ARGS MAC (vhost-user interface MAC) */
	char arg_iface[SL_CNI_ARG_MAX];        /* CNI_ARGS SLUICE_INTERFACE */
	char k8s_uid[SL_CNI_UID_MAX];          /* CNI_ARGS K8S_POD_UID: [A-Za-z0-9-] */
};

#define SL_CNI_MAX_PORT_MAPS 8 /* runtimeConfig.portMappings entries (sluiced's limit) */

/* One runtimeConfig.portMappings entry (CONVENTIONS.md "Port mappings"). */
struct sl_cni_port_map {
	uint16_t host_port, container_port; /* 1-65535 */
	char protocol[8];                   /* "tcp", "udp" or "sctp" (lower case) */
	uint32_t host_ip;                   /* network order; 0: "" or "0.0.0.0" (any) */
};

/* The plugin configuration (SPEC.md "Section 1", as derived for one plugin). */
struct sl_cni_conf {
	char version[16];                /* cniVersion; one of sl_cni_versions */
	char name[SL_CNI_NETNAME_MAX];   /* network name */
	char type[64];                   /* plugin type (the binary's name) */
	char socket[SL_CNI_SOCKET_MAX];  /* sluiced API socket */
	unsigned mtu;                    /* pod MTU override; 0 = sluiced's pod_mtu */
	enum sl_cni_iface iface;         /* "interface" (runtimeConfig > CNI_ARGS > config >
					  * sluiced's node.pod_interface, sl_cni_run_prepare) */
	bool iface_set;                  /* one of the first three named it */
	bool iface_pinned;               /* iface came from runtimeConfig.interface */
	/* vhost-user options. */
	bool vhost_server;               /* "vhostMode" "server": sluiced creates the socket
					  * (default "client": the pod's DPDK app creates it) */
	char socket_dir[SL_CNI_SOCKET_MAX]; /* "socketDir", no trailing '/' */
	bool has_mac;                    /* mac given (runtimeConfig.mac or CNI_ARGS MAC) */
	bool mac_pinned;                 /* mac came from runtimeConfig.mac */
	uint8_t mac[6];
	char devinfo_file[PATH_MAX];     /* runtimeConfig.CNIDeviceInfoFile, or empty */
	/* "capabilities": {"portMappings": true}: sluiced DNATs the host ports itself (ADD
	 * reads runtimeConfig.portMappings; without the capability they are ignored, so the
	 * portmap plugin can be chained instead). */
	bool cap_port_mappings;
	unsigned n_port_maps;
	struct sl_cni_port_map port_maps[SL_CNI_MAX_PORT_MAPS];
	/* The pod's user, who gets the attachment directory: "socketUid"/"socketGid" of
	 * args.cni (Multus cni-args, per pod) or of the config (per network). */
	bool has_uid, has_gid;
	uint32_t uid, gid;
	cJSON *root;                     /* the whole config, owned; IPAM gets it printed */
	const cJSON *prev_result;        /* "prevResult" object or NULL */
	const cJSON *valid_attachments;  /* GC: "cni.dev/valid-attachments" array or NULL */
};

/* What sluiced's "version" tells a client about the node. */
struct sl_cni_node {
	uint32_t pod_net;      /* pod CIDR network address */
	uint8_t pod_len;       /* pod CIDR prefix length */
	uint32_t gateway;      /* the pods' gateway (answered by sluiced) */
	unsigned pod_mtu;      /* MTU pods must use */
	bool pod_csum_offload; /* af_xdp_mode "skb": pods keep TX checksum offload and GSO */
	bool pod_iface_tap;    /* pod_interface "tap": a kernel pod's default is a tap */
	char tap_rps_cpus[SL_CNI_RPS_MAX]; /* rps_cpus mask for tap pods; "" = leave it */
	char name[SL_CNI_NAME_MAX];
};

/* The versions this plugin accepts, NULL-terminated, oldest first. */
extern const char *const sl_cni_versions[];

/* Whether cniVersion v is one of sl_cni_versions. */
bool sl_cni_version_supported(const char *v);

/* Parse the environment (an envp-style NULL-terminated "K=V" array): CNI_COMMAND first,
 * then the variables that command requires (SPEC.md lists them per operation). Returns 0
 * or -EINVAL with code 4 and the variable's name in err->msg. */
int sl_cni_env_parse(char *const *envp, struct sl_cni_env *ret, struct sl_cni_err *err);

/* Parse and validate the stdin config text (len bytes, at most SL_CNI_MAX_STDIN) for
 * command cmd. On success ret owns a cJSON tree (sl_cni_conf_free). Errors: code 5 (too
 * large), 6 (not a JSON object), 1 (cniVersion), 2 (unsupported "interface" value), 7
 * (any other invalid field); err->msg starts with the field's name. VERSION accepts any
 * input and only reads cniVersion. */
int sl_cni_conf_parse(const char *text, size_t len, enum sl_cni_cmd cmd,
		      struct sl_cni_conf *ret, struct sl_cni_err *err);

/* Apply the CNI_ARGS that override the config (SLUICE_INTERFACE, MAC) unless
 * runtimeConfig already set the same thing (precedence: runtimeConfig > CNI_ARGS >
 * config). Errors: code 4, message "CNI_ARGS: <KEY>: ...". */
int sl_cni_conf_apply_args(struct sl_cni_conf *c, const struct sl_cni_env *e,
			   struct sl_cni_err *err);

/* Parse "aa:bb:cc:dd:ee:ff" (or '-' separated) into mac; refuses multicast and all-zero
 * addresses. Returns 0 or -EINVAL. */
int sl_cni_parse_mac(const char *s, uint8_t mac[6]);

/* Release what sl_cni_conf_parse allocated. Safe on a zeroed struct. */
void sl_cni_conf_free(struct sl_cni_conf *c);

/* Whether the config's IPAM section needs facts from sluiced (subnet/gateway injection). */
bool sl_cni_conf_ipam_needs_node(const struct sl_cni_conf *c);

/* Make the config's "ipam" section complete for the IPAM plugin and print the whole
 * config for it (SPEC.md 4: delegates get the complete configuration):
 *  - no "ipam": {"type":"host-local","ranges":[[{"subnet":<pod CIDR>,"gateway":<gw>}]]};
 *  - host-local without "ranges" and without "subnet": "subnet" (and "gateway" if absent)
 *    added at the section's top level, so "rangeStart"/"rangeEnd" keep working;
 *  - host-local "ranges" entries without "subnet": subnet (and gateway) added to each.
 * node may be NULL when no injection is needed. Returns 0 with *ret_text (free()), or
 * -EAGAIN (code 11) when injection is needed and node is NULL, -ENOMEM. */
int sl_cni_conf_ipam_text(struct sl_cni_conf *c, const struct sl_cni_node *node,
			  char **ret_text, struct sl_cni_err *err);

/* The IPAM plugin's type ("host-local" when the config has no ipam section). */
const char *sl_cni_conf_ipam_type(const struct sl_cni_conf *c);

/* The 64-bit hash of an attachment: FNV-1a over "<container_id>:<ifname>", then the
 * splitmix64 finaliser (every output bit depends on every input byte). */
uint64_t sl_cni_attach_hash(const char *container_id, const char *ifname);

/* The host end's name for an attachment: "sl" + 12 hex digits (the low 48 bits of
 * sl_cni_attach_hash; stable across calls, 14 chars, fits IFNAMSIZ). */
void sl_cni_host_ifname(const char *container_id, const char *ifname,
			char ret[SL_CNI_IFNAME_MAX]);

/* Whether name has the shape sl_cni_host_ifname produces. */
bool sl_cni_is_host_ifname(const char *name);

/* sluiced's pod name for an attachment: "<container_id>:<ifname>", the container id cut so
 * the whole fits SL_CNI_NAME_MAX - 1 chars. */
void sl_cni_pod_name(const char *container_id, const char *ifname,
		     char ret[SL_CNI_NAME_MAX]);

/* sluiced's pod namespace: K8S_POD_NAMESPACE, or "cni" outside Kubernetes. */
const char *sl_cni_pod_namespace(const struct sl_cni_env *e);

/* Parse the result of sluiced's "version" into ret. Returns 0 or -EINVAL (code 5, the
 * missing or bad field named). */
int sl_cni_node_parse(const cJSON *result, struct sl_cni_node *ret, struct sl_cni_err *err);
