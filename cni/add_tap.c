/* sluice-cni: ADD of a tap pod: pod.add first (interface tap, ifname the host name:
 * sluiced creates the tap with the pod's MAC, its MTU and virtio-net offloads), then the
 * tap moved into the pod netns as CNI_IFNAME and configured (the pod keeps its offloads);
 * the result names the pod interface only. The pod's namespace path (CNI_NETNS) goes with
 * pod.add: sluiced makes the tap persistent and finds it there again after a restart
 * (drivers/sl_tap.h, "Surviving a restart"). The pod's receive processing is steered to
 * the CPUs sluiced names (tap_rps_cpus, "Receive steering"). Undone by pod.del alone (sluiced deletes the
 * tap, wherever it is). */
#include <stdio.h>
#include <string.h>

#include "plugin.h"

int sl_cni_add_tap(struct sl_cni_run *r, struct sl_cni_err *err)
{
	struct sl_cni_add ad = SL_CNI_ADD_INIT;
	struct sl_cni_nl host = { .ioctl_fd = -1 }, pod = { .ioctl_fd = -1 };
	int rc;

	if ((rc = sl_cni_add_begin(r, &ad, err)) < 0)
		goto out;

	snprintf(ad.sp.ifname, sizeof(ad.sp.ifname), "%s", r->host_ifname);
	ad.sp.tap = true;
	/* sluiced keeps paths up to SL_NETNS_PATH_MAX - 1 (127) characters; a longer one
	 * (never seen from a runtime) costs only the restart survival. */
	if (r->env.netns[0] == '/' && strlen(r->env.netns) < 128)
		ad.sp.netns = r->env.netns;
	else
		fprintf(stderr, "sluice-cni: CNI_NETNS %.200s is not an absolute path of at most "
			"127 characters: the tap will not outlive a sluiced restart\n",
			r->env.netns);
	if (r->conf.has_mac)
		memcpy(ad.sp.mac, r->conf.mac, 6);
	else
		sl_cni_vhost_mac(sl_cni_attach_hash(r->env.container_id, r->env.ifname), ad.sp.mac);
	if ((rc = sl_cni_add_pod(r, &ad, err)) < 0)
		goto out;

	if ((rc = sl_cni_nl_open(&host, err)) < 0 ||
	    (rc = sl_cni_nl_open_netns(ad.netns_fd, &pod, err)) < 0 ||
	    (rc = sl_cni_nl_link_move(&host, r->host_ifname, ad.netns_fd, r->env.ifname, ad.mtu,
				      err)) < 0 ||
	    (rc = sl_cni_add_setup_pod(r, &pod, &ad.ip, ad.a.pod_mac, err)) < 0)
		goto out;
	if (r->node.tap_rps_cpus[0])
		sl_cni_tap_rps(ad.netns_fd, r->env.ifname, r->node.tap_rps_cpus);
	rc = sl_cni_add_result(r, &ad, err);
out:
	sl_cni_add_undo_pod(r, &ad, rc);
	sl_cni_nl_close(&host);
	sl_cni_nl_close(&pod);
	return sl_cni_add_end(r, &ad, rc);
}
