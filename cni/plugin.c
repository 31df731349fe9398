/* sluice-cni: helpers every command of the plugin binary uses (plugin.h). */
#include <errno.h>
#include <fcntl.h>
#include <linux/nsfs.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "plugin.h"

void sl_cni_vhost_port_name(const char *ifname, char ret[SL_CNI_IFNAME_MAX])
{
	char b[SL_CNI_IFNAME_MAX + 8];
	snprintf(b, sizeof(b), "%s.sock", ifname);
	snprintf(ret, SL_CNI_IFNAME_MAX, "%.15s", b);
}

void sl_cni_print_json(cJSON *o)
{
	char *s = cJSON_Print(o);
	if (s) {
		fputs(s, stdout);
		fputc('\n', stdout);
	}
	free(s);
}

struct sl_cni_ipam_call sl_cni_run_ipam_call(const struct sl_cni_run *r, const char *cmd)
{
	return (struct sl_cni_ipam_call){ .type = sl_cni_conf_ipam_type(&r->conf),
					  .cni_path = r->env.path,
					  .command = cmd,
					  .config = r->ipam_text };
}

int sl_cni_run_prepare(struct sl_cni_run *r, bool need_node, struct sl_cni_err *err)
{
	int rc;
	if (r->ipam_text) /* done (cmd_add asks early for the default interface) */
		return 0;
	if (need_node || sl_cni_conf_ipam_needs_node(&r->conf)) {
		if ((rc = sl_cni_api_version(r->conf.socket, &r->node, err)) < 0)
			return rc;
		r->have_node = true;
		if (!r->conf.iface_set && r->node.pod_iface_tap)
			r->conf.iface = SL_CNI_IFACE_TAP;
	}
	return sl_cni_conf_ipam_text(&r->conf, r->have_node ? &r->node : NULL, &r->ipam_text,
				     err);
}

int sl_cni_run_open_netns(const struct sl_cni_run *r, int *ret_fd, struct sl_cni_err *err)
{
	*ret_fd = open(r->env.netns, O_RDONLY | O_CLOEXEC);
	if (*ret_fd < 0)
		return sl_cni_fail(err, SL_CNI_E_ENV, "CNI_NETNS: cannot open %s: %s", r->env.netns,
				   strerror(errno)), -errno;
	if (ioctl(*ret_fd, NS_GET_NSTYPE) != CLONE_NEWNET) {
		close(*ret_fd);
		*ret_fd = -1;
		return sl_cni_fail(err, SL_CNI_E_ENV, "CNI_NETNS: %s is not a network namespace",
				   r->env.netns);
	}
	return 0;
}
