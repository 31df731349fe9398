/* sluice-cni: ADD of a veth pod (sluiced reads the host end over AF_XDP): the veth pair
 * created with its peer directly in the pod netns, the pod end configured, then pod.add
 * with the host end's name and the pod end's MAC. Undone by deleting the host end (it
 * takes the pod end along). */
#include <stdio.h>
#include <string.h>

#include "plugin.h"

int sl_cni_add_veth(struct sl_cni_run *r, struct sl_cni_err *err)
{
	struct sl_cni_add ad = SL_CNI_ADD_INIT;
	struct sl_cni_nl host = { .ioctl_fd = -1 }, pod = { .ioctl_fd = -1 };
	struct sl_cni_link hl;
	struct sl_cni_err ignored;
	bool veth_done = false;
	int rc;

	if ((rc = sl_cni_add_begin(r, &ad, err)) < 0)
		goto out;
	if ((rc = sl_cni_nl_open(&host, err)) < 0 ||
	    (rc = sl_cni_nl_open_netns(ad.netns_fd, &pod, err)) < 0)
		goto out;
	if ((rc = sl_cni_nl_veth_add(&host, r->host_ifname, r->env.ifname, ad.netns_fd, ad.mtu,
				     err)) < 0)
		goto out;
	veth_done = true;
	if ((rc = sl_cni_add_setup_pod(r, &pod, &ad.ip, ad.a.pod_mac, err)) < 0 ||
	    (rc = sl_cni_nl_link_get(&host, r->host_ifname, &hl, err)) < 0)
		goto out;

	snprintf(ad.sp.ifname, sizeof(ad.sp.ifname), "%s", r->host_ifname);
	memcpy(ad.sp.mac, ad.a.pod_mac, 6);
	if ((rc = sl_cni_add_pod(r, &ad, err)) < 0)
		goto out;

	ad.a.host_ifname = r->host_ifname;
	memcpy(ad.a.host_mac, hl.mac, 6);
	rc = sl_cni_add_result(r, &ad, err);
out:
	sl_cni_add_undo_pod(r, &ad, rc);
	if (rc < 0 && veth_done)
		sl_cni_nl_link_del(&host, r->host_ifname, &ignored);
	sl_cni_nl_close(&host);
	sl_cni_nl_close(&pod);
	return sl_cni_add_end(r, &ad, rc);
}
