/* sluice-cni: client of sluiced's API socket (control/core/sl_api.h).
 *
 * One request per connection: connect, write one JSON object and "\n", shut down the
 * write side, read the response until EOF: {"ok":true,"result":...} or
 * {"ok":false,"error":"field: reason"}. The whole exchange, connect included, is bounded by
 * SL_CNI_API_TIMEOUT_MS (sluiced handles requests one at a time, so a burst of ADDs
 * queues; beyond 128 open connections in its listen backlog). */
#pragma once
#include <cjson/cJSON.h>

#include "cni.h"
#include "conf.h"

/* The pod sluiced attaches (its "pod.add" request). */
struct sl_cni_pod {
	char name[SL_CNI_NAME_MAX];      /* sl_cni_pod_name() */
	char namespace[SL_CNI_NAME_MAX]; /* sl_cni_pod_namespace() */
	uint32_t ip;                     /* routed as ip/32 to the port */
	uint8_t mac[6];                  /* the pod-side interface's MAC */
	char ifname[SL_CNI_IFNAME_MAX];  /* veth: the host end sluiced opens as AF_XDP */
	bool vhost;                      /* vhost-user: "interface":"vhost-user", no ifname */
	bool vhost_server;               /* vhost-user: "vhost_mode" "server" (else "client") */
	char socket[SL_CNI_SOCKET_MAX];  /* vhost-user: the socket's absolute path */
	bool tap;                        /* "interface":"tap": sluiced creates ifname as a tap */
	const char *netns;               /* tap: "netns", the pod's namespace (CNI_NETNS): the
					  * tap then outlives a sluiced restart; NULL: not sent */
	unsigned n_port_maps;            /* "host_ports": runtimeConfig.portMappings */
	const struct sl_cni_port_map *port_maps;
};

/* Send request (a JSON object) to the socket at path. Returns 0 with *ret_result (owned,
 * may be cJSON true), or:
 *  -ECONNREFUSED  sluiced not reachable (no socket, refused, timed out): code 11;
 *  -EREMOTEIO     sluiced answered ok:false: code 100, err->msg "sluiced: <its error>";
 *  -EBADMSG       the response is not a response: code 5. */
int sl_cni_api_call(const char *path, const cJSON *request, cJSON **ret_result,
		    struct sl_cni_err *err);

/* "version": the node's facts. Errors as sl_cni_api_call, or a bad result (code 5). */
int sl_cni_api_version(const char *path, struct sl_cni_node *ret, struct sl_cni_err *err);

/* "pod.add" (veth: ifname; vhost-user: interface, socket, vhost_mode). Errors as
 * sl_cni_api_call. */
int sl_cni_api_pod_add(const char *path, const struct sl_cni_pod *pod, struct sl_cni_err *err);

/* "pod.del". Returns 0, -ENOENT when sluiced has no such pod, or sl_cni_api_call's
 * errors. */
int sl_cni_api_pod_del(const char *path, const char *ns, const char *name,
		       struct sl_cni_err *err);

/* "show pods": *ret_pods is the array of {namespace,name,ip,mac,ifname,port,state}
 * (owned). A vhost-user pod's ifname is its socket's file name cut to 15 characters;
 * state is "attached" (veth), "connected" or "waiting" (vhost-user). */
int sl_cni_api_pods(const char *path, cJSON **ret_pods, struct sl_cni_err *err);

/* Parse a response text into *ret_result (see sl_cni_api_call for the errors). Pure;
 * exposed for tests. */
int sl_cni_api_response_parse(const char *text, size_t len, cJSON **ret_result,
			      struct sl_cni_err *err);
