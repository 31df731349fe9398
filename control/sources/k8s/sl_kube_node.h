/* The decoder of v1 Node objects for the Kubernetes sync, and the annotations this node
 * publishes on its own Node. A Node gives a remote node of the model (struct sl_node_spec):
 *   name       metadata.name
 *   pod_cidr   spec.podCIDRs (the first IPv4 one), else spec.podCIDR
 *   ip         annotation flannel.alpha.coreos.com/public-ip (the VTEP flannel uses), else
 *              the first IPv4 status.addresses entry of type InternalIP
 *   vtep_mac   annotation flannel.alpha.coreos.com/backend-data {"VNI":n,"VtepMAC":"..."}
 *              when backend-type is "vxlan" (a flannel node's flannel.1 MAC; sluice nodes
 *              publish the same form)
 * A Node without a pod CIDR or an address yet is valid but not routable (has_* false).
 * Wrong fields refuse the Node with the field's path and the reason. No DPDK; any thread. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "model/sl_spec.h"

#define SL_KUBE_ANN_PREFIX "flannel.alpha.coreos.com/"
#define SL_KUBE_ANN_BACKEND_TYPE SL_KUBE_ANN_PREFIX "backend-type"
#define SL_KUBE_ANN_BACKEND_DATA SL_KUBE_ANN_PREFIX "backend-data"
#define SL_KUBE_ANN_PUBLIC_IP SL_KUBE_ANN_PREFIX "public-ip"
#define SL_KUBE_ANN_SUBNET_MGR SL_KUBE_ANN_PREFIX "kube-subnet-manager"

struct sl_kube_node {
	struct sl_node_spec spec; /* name, ip, pod_cidr, has_vtep_mac/vtep_mac (has_mac false) */
	bool has_ip;              /* spec.ip is set */
	bool has_pod_cidr;        /* spec.pod_cidr is set */
	bool vxlan;               /* backend-type "vxlan" */
	bool has_vni;
	uint32_t vni;             /* backend-data VNI */
};

/* Decode a v1 Node. Returns 0, or -EINVAL with err naming the field ("spec.podCIDR: not a
 * CIDR"). */
int sl_kube_node_decode(const cJSON *o, struct sl_kube_node *ret, char *err, size_t errlen);

/* What this node publishes: the annotations flannel would set for a VXLAN node. */
struct sl_kube_node_pub {
	struct sl_ip ip;  /* VTEP (underlay) address */
	uint8_t mac[6];   /* VTEP MAC */
	uint32_t vni;
};
/* Whether Node o already carries pub's annotations (then no PATCH is needed). */
bool sl_kube_node_published(const cJSON *o, const struct sl_kube_node_pub *pub);
/* The JSON merge patch (RFC 7386) of metadata.annotations that publishes pub, as text
 * (free()), or NULL when out of memory. */
char *sl_kube_node_patch(const struct sl_kube_node_pub *pub);
