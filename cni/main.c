/* sluice-cni: the CNI plugin binary. Reads CNI_* and the config, runs one command, writes
 * the result or the error object on stdout (SPEC.md "Section 2").
 *
 * ADD   sluiced version -> IPAM ADD -> veth (peer created in the pod netns) -> pod address,
 *       routes, checksum offload off -> sluiced pod.add -> result. Any failure undoes the
 *       steps already done (veth deleted, IPAM DEL), so a failed ADD leaves nothing behind.
 *       vhost-user: sluiced version -> IPAM ADD -> owner record and socket directory
 *       (vhost.h) -> device-info file(s) -> sluiced pod.add (interface vhost-user, socket,
 *       vhost_mode)
 *       -> result with socketPath; no kernel interface; undone the same way on failure.
 *       tap: sluiced version -> IPAM ADD -> sluiced pod.add (interface tap, ifname the host
 *       name: sluiced creates the tap with the pod's MAC, its MTU and virtio-net offloads)
 *       -> the tap moved into the pod netns as CNI_IFNAME -> pod address, routes (the
 *       pod keeps its offloads) -> result with the pod interface only; undone by pod.del
 *       (the tap goes with sluiced's descriptor) and IPAM DEL.
 * DEL   sluiced pod.del ("not found" is success) -> delete the host veth (takes the pod
 *       end along) -> remove the vhost-user socket directory if its owner record is ours
 *       (and the CNIDeviceInfoFile of a vhost-user attachment) -> IPAM DEL. Both kinds of
 *       leftovers are looked for whatever "interface" says. Every step runs even when an
 *       earlier one failed. When sluiced cannot be reached the local steps still run and
 *       DEL answers 11 ("try again later"): sluiced might still route the pod's address
 *       to a port that no longer exists, and the retry after sluiced is back removes it.
 *       DEL never needs the pod namespace.
 * CHECK the pod interface exists, is up and has its address, the host end exists and is
 *       up, sluiced lists the pod with that address and port, and the IPAM CHECK passes.
 *       vhost-user: the socket directory exists, sluiced lists the pod with that address
 *       and socket (connected or not), and the IPAM CHECK passes.
 * STATUS sluiced answers "version" (else 50) and the IPAM plugin's STATUS passes.
 * GC    pods and host veths of this plugin (host name "sl" + 12 hex) that belong to no
 *       attachment of cni.dev/valid-attachments are removed from sluiced and the node, their
 *       addresses released (IPAM DEL) when the container id is known, then IPAM GC. With a
 *       vhost-user config the same for vhost-user pods (name "<id>:<ifname>", port
 *       "<ifname>.sock") and the socket directories under socketDir (by owner record)
 *       instead.
 *       The other kind's live attachments are added to the valid list the IPAM plugin's
 *       GC gets (one host-local store serves both); without sluiced no IPAM GC.
 * VERSION the supported versions. */
#include <errno.h>
#include <fcntl.h>
#include <linux/nsfs.h>
#include <sched.h>
#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "api.h"
#include "conf.h"
#include "ipam.h"
#include "netlink.h"
#include "result.h"
#include "vhost.h"

extern char **environ;

/* Everything one run works with. */
struct run {
	struct sl_cni_env env;
	struct sl_cni_conf conf;
	struct sl_cni_node node;
	bool have_node;
	char host_ifname[SL_CNI_IFNAME_MAX];
	char pod_name[SL_CNI_NAME_MAX];
	char *ipam_text; /* config for the IPAM plugin */
	struct sl_cni_vhost vh;    /* the vhost-user paths of the attachment */
	struct sl_cni_vhost_owner me; /* who this attachment is (owner records) */
	int vh_rc;                 /* sl_cni_vhost_paths' answer (socket path too long) */
	struct sl_cni_err vh_err;
};

/* sluiced's name for a vhost-user pod's port: the socket's file name cut to 15 chars. */
static void vhost_port_name(const char *ifname, char ret[SL_CNI_IFNAME_MAX])
{
	char b[SL_CNI_IFNAME_MAX + 8];
	snprintf(b, sizeof(b), "%s.sock", ifname);
	snprintf(ret, SL_CNI_IFNAME_MAX, "%.15s", b);
}

static int read_stdin(char **ret, size_t *ret_len, struct sl_cni_err *err)
{
	size_t cap = 65536, len = 0;
	char *buf = malloc(cap + 1);
	if (!buf)
		return sl_cni_fail(err, SL_CNI_E_IO, "stdin: out of memory");
	for (;;) {
		if (len == cap) {
			if (cap > SL_CNI_MAX_STDIN)
				break; /* conf parse reports it as too large */
			char *nb = realloc(buf, cap * 2 + 1);
			if (!nb) {
				free(buf);
				return sl_cni_fail(err, SL_CNI_E_IO, "stdin: out of memory");
			}
			buf = nb;
			cap *= 2;
		}
		ssize_t r = read(0, buf + len, cap - len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			free(buf);
			return sl_cni_fail(err, SL_CNI_E_IO, "stdin: %s", strerror(errno));
		}
		if (r == 0)
			break;
		len += (size_t)r;
	}
	buf[len] = 0;
	*ret = buf;
	*ret_len = len;
	return 0;
}

static void print_json(cJSON *o)
{
	char *s = cJSON_Print(o);
	if (s) {
		fputs(s, stdout);
		fputc('\n', stdout);
	}
	free(s);
}

static struct sl_cni_ipam_call ipam_call(const struct run *r, const char *cmd)
{
	return (struct sl_cni_ipam_call){ .type = sl_cni_conf_ipam_type(&r->conf),
					  .cni_path = r->env.path,
					  .command = cmd,
					  .config = r->ipam_text };
}

/* Fetch sluiced's facts and build the IPAM config. */
static int prepare(struct run *r, bool need_node, struct sl_cni_err *err)
{
	int rc;
	if (need_node || sl_cni_conf_ipam_needs_node(&r->conf)) {
		if ((rc = sl_cni_api_version(r->conf.socket, &r->node, err)) < 0)
			return rc;
		r->have_node = true;
	}
	return sl_cni_conf_ipam_text(&r->conf, r->have_node ? &r->node : NULL, &r->ipam_text,
				     err);
}

static int open_netns(const struct run *r, int *ret_fd, struct sl_cni_err *err)
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

/* ADD. */

static int check_ip(const struct run *r, const struct sl_cni_ipam_result *ip,
		    struct sl_cni_err *err)
{
	char b[16];
	uint32_t mask = sl_cni_mask(r->node.pod_len);
	if ((ip->ip & mask) != r->node.pod_net || ip->ip == r->node.gateway ||
	    ip->ip == r->node.pod_net || ip->ip == (r->node.pod_net | ~mask))
		return sl_cni_fail(err, SL_CNI_E_CONFIG, "ipam: allocated %s, which is not a pod "
				   "address of sluiced's pod CIDR (check ipam ranges)",
				   sl_cni_fmt_ip(ip->ip, b));
	return 0;
}

/* Configure the pod end: address/32, gateway route, default route, IPAM's other routes,
 * checksum offload off unless sluiced's AF_XDP mode is "skb". Fills mac. */
static int setup_pod(const struct run *r, struct sl_cni_nl *pod,
		     const struct sl_cni_ipam_result *ip, uint8_t mac[6], struct sl_cni_err *err)
{
	struct sl_cni_link l;
	uint32_t gw = r->node.gateway;
	int rc;
	if ((rc = sl_cni_nl_link_get(pod, r->env.ifname, &l, err)) < 0 ||
	    (rc = sl_cni_nl_link_up(pod, l.ifindex, err)) < 0 ||
	    (rc = sl_cni_nl_addr_add(pod, l.ifindex, ip->ip, 32, err)) < 0 ||
	    (rc = sl_cni_nl_route_add(pod, l.ifindex, gw, 32, 0, false, err)) < 0 ||
	    (rc = sl_cni_nl_route_add(pod, l.ifindex, 0, 0, gw, true, err)) < 0)
		return rc;
	for (unsigned i = 0; i < ip->n_routes; i++) {
		const struct sl_cni_route *rt = &ip->routes[i];
		if (!rt->len || (rt->len == 32 && rt->dst == gw))
			continue; /* already there */
		rc = sl_cni_nl_route_add(pod, l.ifindex, rt->dst, rt->len, rt->gw ? rt->gw : gw,
					 true, err);
		if (rc < 0 && rc != -EEXIST)
			return rc;
	}
	/* A tap (cmd_add_tap) keeps its virtio-net offloads: sluiced takes GSO frames. */
	if (r->conf.iface == SL_CNI_IFACE_TAP) {
		memcpy(mac, l.mac, 6);
		return 0;
	}
	/* sluiced reads the veth through XDP. In "native" mode veth takes GSO from the pod
	 * and frames carry no "checksum partial" flag: the pod's stack must fill checksums. In
	 * "skb" mode the pod keeps both and sluiced completes checksums (offload/l4_csum.h). */
	if (!r->node.pod_csum_offload && (rc = sl_cni_nl_tx_csum_off(pod, r->env.ifname, err)) < 0)
		return rc;
	/* In "skb" mode only TCP GSO frames may leave the pod whole: sluiced cuts TCP at any
	 * MSS, but a UDP or SCTP GSO frame carries its datagram size in skb metadata that
	 * XDP does not pass on, so the pod's stack must cut those itself. */
	static const char *const not_tcp_gso[] = { "tx-udp-segmentation", "tx-sctp-segmentation",
						   "tx-gso-list", NULL };
	if (r->node.pod_csum_offload &&
	    (rc = sl_cni_nl_features_off(pod, r->env.ifname, not_tcp_gso, err)) < 0)
		return rc;
	memcpy(mac, l.mac, 6);
	return 0;
}

/* The MTU the pod gets: the config's, at most sluiced's pod MTU. */
static int pod_mtu(const struct run *r, unsigned *ret, struct sl_cni_err *err)
{
	*ret = r->conf.mtu ? r->conf.mtu : r->node.pod_mtu;
	if (*ret > r->node.pod_mtu) /* larger frames would not fit the VXLAN underlay */
		return sl_cni_fail(err, SL_CNI_E_CONFIG, "mtu: %u exceeds sluiced's pod MTU %u",
				   *ret, r->node.pod_mtu);
	return 0;
}

/* Print the ADD result; if it cannot be built, detach the pod again. Returns 0 or < 0. */
static int emit_result(const struct run *r, const struct sl_cni_attach *a,
		       const struct sl_cni_pod *sp, struct sl_cni_err *err)
{
	struct sl_cni_err ignored;
	cJSON *res = sl_cni_result_build(a, r->conf.prev_result);
	if (!res) {
		sl_cni_api_pod_del(r->conf.socket, sp->namespace, sp->name, &ignored);
		return sl_cni_fail(err, SL_CNI_E_IO, "result: out of memory");
	}
	print_json(res);
	cJSON_Delete(res);
	return 0;
}

/* Release the address IPAM gave a failed ADD. */
static void undo_ipam(const struct run *r)
{
	struct sl_cni_err ignored;
	struct sl_cni_ipam_call d = ipam_call(r, "DEL");
	if (sl_cni_ipam_run(&d, NULL, &ignored) < 0)
		fprintf(stderr, "sluice-cni: undoing ADD: %s\n", ignored.msg);
}

static int cmd_add_vhost(struct run *r, struct sl_cni_err *err)
{
	struct sl_cni_ipam_result ip = { 0 };
	struct sl_cni_pod sp = { 0 };
	struct sl_cni_err ignored;
	bool ipam_done = false, dir_done = false, devinfo_done = false;
	char *info = NULL;
	unsigned mtu = 0;
	int fd = -1, dfd = -1, rc;

	if (r->vh_rc < 0) { /* before anything is allocated: the config cannot work */
		*err = r->vh_err;
		return r->vh_rc;
	}
	if ((rc = open_netns(r, &fd, err)) < 0 || (rc = prepare(r, true, err)) < 0 ||
	    (rc = pod_mtu(r, &mtu, err)) < 0)
		goto out;

	struct sl_cni_ipam_call c = ipam_call(r, "ADD");
	ipam_done = true;
	if ((rc = sl_cni_ipam_run(&c, &ip, err)) < 0 || (rc = check_ip(r, &ip, err)) < 0)
		goto out;

	dir_done = true; /* undone only if the owner record is ours (dir_remove) */
	if ((rc = dfd = sl_cni_vhost_dir_create(&r->conf, &r->vh, &r->me, err)) < 0)
		goto out;
	info = sl_cni_vhost_devinfo(r->vh.socket, r->conf.vhost_server);
	if (!info) {
		rc = sl_cni_fail(err, SL_CNI_E_IO, "device-info: out of memory");
		goto out;
	}
	if ((rc = sl_cni_write_at(dfd, SL_CNI_DEVINFO_NAME, info, r->vh.devinfo, err)) < 0)
		goto out;
	if (r->conf.devinfo_file[0]) {
		devinfo_done = true;
		if ((rc = sl_cni_write_file(r->conf.devinfo_file, info, true, err)) < 0)
			goto out;
	}

	snprintf(sp.name, sizeof(sp.name), "%s", r->pod_name);
	snprintf(sp.namespace, sizeof(sp.namespace), "%s", sl_cni_pod_namespace(&r->env));
	sp.vhost = true;
	sp.vhost_server = r->conf.vhost_server;
	snprintf(sp.socket, sizeof(sp.socket), "%s", r->vh.socket);
	sp.ip = ip.ip;
	memcpy(sp.mac, r->vh.mac, 6);
	sp.n_port_maps = r->conf.n_port_maps;
	sp.port_maps = r->conf.port_maps;
	if ((rc = sl_cni_api_pod_add(r->conf.socket, &sp, err)) < 0) {
		if (rc != -EREMOTEIO)
			sl_cni_api_pod_del(r->conf.socket, sp.namespace, sp.name, &ignored);
		goto out;
	}

	struct sl_cni_attach a = {
		.version = r->conf.version,
		.socket_path = r->vh.socket,
		.pod_ifname = r->env.ifname,
		.netns = r->env.netns,
		.mtu = mtu,
		.ip = ip.ip,
		.gateway = r->node.gateway,
		.ipam = &ip,
	};
	memcpy(a.pod_mac, r->vh.mac, 6);
	rc = emit_result(r, &a, &sp, err);
out:
	if (rc < 0 && devinfo_done)
		unlink(r->conf.devinfo_file);
	if (rc < 0 && dir_done)
		sl_cni_vhost_dir_remove(r->conf.socket_dir, r->vh.id, &r->me, false, &ignored);
	if (dfd >= 0)
		close(dfd);
	if (rc < 0 && ipam_done)
		undo_ipam(r);
	free(info);
	sl_cni_ipam_result_free(&ip);
	if (fd >= 0)
		close(fd);
	return rc;
}

/* ADD of a tap pod (see the file comment). */
static int cmd_add_tap(struct run *r, struct sl_cni_err *err)
{
	struct sl_cni_ipam_result ip = { 0 };
	struct sl_cni_nl host = { .ioctl_fd = -1 }, pod = { .ioctl_fd = -1 };
	struct sl_cni_attach a = { 0 };
	struct sl_cni_pod sp = { 0 };
	struct sl_cni_err ignored;
	bool ipam_done = false, pod_done = false;
	unsigned mtu = 0;
	int fd = -1, rc;

	if ((rc = open_netns(r, &fd, err)) < 0 || (rc = prepare(r, true, err)) < 0 ||
	    (rc = pod_mtu(r, &mtu, err)) < 0)
		goto out;
	struct sl_cni_ipam_call c = ipam_call(r, "ADD");
	ipam_done = true;
	if ((rc = sl_cni_ipam_run(&c, &ip, err)) < 0 || (rc = check_ip(r, &ip, err)) < 0)
		goto out;

	snprintf(sp.name, sizeof(sp.name), "%s", r->pod_name);
	snprintf(sp.namespace, sizeof(sp.namespace), "%s", sl_cni_pod_namespace(&r->env));
	snprintf(sp.ifname, sizeof(sp.ifname), "%s", r->host_ifname);
	sp.tap = true;
	sp.ip = ip.ip;
	if (r->conf.has_mac)
		memcpy(sp.mac, r->conf.mac, 6);
	else
		sl_cni_vhost_mac(sl_cni_attach_hash(r->env.container_id, r->env.ifname), sp.mac);
	sp.n_port_maps = r->conf.n_port_maps;
	sp.port_maps = r->conf.port_maps;
	pod_done = true; /* timed out or cut off: sluiced may still have added it */
	if ((rc = sl_cni_api_pod_add(r->conf.socket, &sp, err)) < 0) {
		pod_done = rc != -EREMOTEIO;
		goto out;
	}
	if ((rc = sl_cni_nl_open(&host, err)) < 0 ||
	    (rc = sl_cni_nl_open_netns(fd, &pod, err)) < 0 ||
	    (rc = sl_cni_nl_link_move(&host, r->host_ifname, fd, r->env.ifname, mtu, err)) < 0 ||
	    (rc = setup_pod(r, &pod, &ip, a.pod_mac, err)) < 0)
		goto out;

	a.version = r->conf.version;
	a.pod_ifname = r->env.ifname;
	a.netns = r->env.netns;
	a.mtu = mtu;
	a.ip = ip.ip;
	a.gateway = r->node.gateway;
	a.ipam = &ip;
	rc = emit_result(r, &a, &sp, err);
	pod_done = rc < 0 ? false : pod_done; /* emit_result detached it already */
out:
	if (rc < 0 && pod_done) /* the tap goes with it, wherever it is */
		sl_cni_api_pod_del(r->conf.socket, sp.namespace, sp.name, &ignored);
	if (rc < 0 && ipam_done)
		undo_ipam(r);
	sl_cni_nl_close(&host);
	sl_cni_nl_close(&pod);
	sl_cni_ipam_result_free(&ip);
	if (fd >= 0)
		close(fd);
	return rc;
}

static int cmd_add(struct run *r, struct sl_cni_err *err)
{
	struct sl_cni_ipam_result ip = { 0 };
	struct sl_cni_nl host = { .ioctl_fd = -1 }, pod = { .ioctl_fd = -1 };
	struct sl_cni_attach a = { 0 };
	struct sl_cni_pod sp = { 0 };
	struct sl_cni_err ignored;
	bool ipam_done = false, veth_done = false;
	int fd = -1, rc;

	unsigned mtu = 0;
	if (r->conf.iface == SL_CNI_IFACE_VHOST_USER)
		return cmd_add_vhost(r, err);
	if (r->conf.iface == SL_CNI_IFACE_TAP)
		return cmd_add_tap(r, err);
	if ((rc = open_netns(r, &fd, err)) < 0 || (rc = prepare(r, true, err)) < 0 ||
	    (rc = pod_mtu(r, &mtu, err)) < 0)
		goto out;

	struct sl_cni_ipam_call c = ipam_call(r, "ADD");
	ipam_done = true; /* SPEC.md 4: a failed delegated ADD is followed by DEL too */
	if ((rc = sl_cni_ipam_run(&c, &ip, err)) < 0 || (rc = check_ip(r, &ip, err)) < 0)
		goto out;

	if ((rc = sl_cni_nl_open(&host, err)) < 0 ||
	    (rc = sl_cni_nl_open_netns(fd, &pod, err)) < 0)
		goto out;
	if ((rc = sl_cni_nl_veth_add(&host, r->host_ifname, r->env.ifname, fd, mtu, err)) < 0)
		goto out;
	veth_done = true;
	struct sl_cni_link hl;
	if ((rc = setup_pod(r, &pod, &ip, a.pod_mac, err)) < 0 ||
	    (rc = sl_cni_nl_link_get(&host, r->host_ifname, &hl, err)) < 0)
		goto out;

	snprintf(sp.name, sizeof(sp.name), "%s", r->pod_name);
	snprintf(sp.namespace, sizeof(sp.namespace), "%s", sl_cni_pod_namespace(&r->env));
	snprintf(sp.ifname, sizeof(sp.ifname), "%s", r->host_ifname);
	sp.ip = ip.ip;
	memcpy(sp.mac, a.pod_mac, 6);
	sp.n_port_maps = r->conf.n_port_maps;
	sp.port_maps = r->conf.port_maps;
	if ((rc = sl_cni_api_pod_add(r->conf.socket, &sp, err)) < 0) {
		/* Timed out or cut off: sluiced may still have added it; refused: it did not. */
		if (rc != -EREMOTEIO)
			sl_cni_api_pod_del(r->conf.socket, sp.namespace, sp.name, &ignored);
		goto out;
	}

	a.version = r->conf.version;
	a.host_ifname = r->host_ifname;
	memcpy(a.host_mac, hl.mac, 6);
	a.pod_ifname = r->env.ifname;
	a.netns = r->env.netns;
	a.mtu = mtu;
	a.ip = ip.ip;
	a.gateway = r->node.gateway;
	a.ipam = &ip;
	rc = emit_result(r, &a, &sp, err);
out:
	if (rc < 0 && veth_done)
		sl_cni_nl_link_del(&host, r->host_ifname, &ignored);
	if (rc < 0 && ipam_done)
		undo_ipam(r);
	sl_cni_nl_close(&host);
	sl_cni_nl_close(&pod);
	sl_cni_ipam_result_free(&ip);
	if (fd >= 0)
		close(fd);
	return rc;
}

/* DEL. */

static int cmd_del(struct run *r, struct sl_cni_err *err)
{
	struct sl_cni_err e;
	struct sl_cni_nl host = { .ioctl_fd = -1 };
	int first = 0, rc;
#define KEEP(rc_, e_)                                                                           \
	do {                                                                                    \
		if ((rc_) < 0 && !first) {                                                      \
			first = (rc_);                                                          \
			*err = (e_);                                                            \
		}                                                                               \
	} while (0)

	rc = sl_cni_api_pod_del(r->conf.socket, sl_cni_pod_namespace(&r->env), r->pod_name, &e);
	if (rc == -ENOENT)
		rc = 0;
	KEEP(rc, e);
	bool sluiced_up = rc != -ECONNREFUSED;

	if ((rc = sl_cni_nl_open(&host, &e)) == 0) {
		rc = sl_cni_nl_link_del(&host, r->host_ifname, &e);
		if (rc == -ENODEV)
			rc = 0;
		sl_cni_nl_close(&host);
	}
	KEEP(rc, e);

	/* vhost-user leftovers: looked for whatever "interface" says (a DEL may not carry
	 * the CNI_ARGS or runtimeConfig its ADD had). */
	bool vhost = r->conf.iface == SL_CNI_IFACE_VHOST_USER;
	rc = sl_cni_vhost_dir_remove(r->conf.socket_dir, r->vh.id, &r->me,
				     vhost && !r->env.k8s_uid[0], &e);
	if (vhost) /* a veth DEL only looks (socketDir may not even be usable) */
		KEEP(rc < 0 ? rc : 0, e);
	if (r->conf.iface == SL_CNI_IFACE_VHOST_USER && r->conf.devinfo_file[0] &&
	    unlink(r->conf.devinfo_file) < 0 && errno != ENOENT) {
		rc = sl_cni_fail(&e, SL_CNI_E_SYSTEM, "remove %s: %s", r->conf.devinfo_file,
				 strerror(errno));
		KEEP(rc, e);
	}

	if (sluiced_up || !sl_cni_conf_ipam_needs_node(&r->conf)) {
		rc = prepare(r, false, &e);
		if (rc == 0) {
			struct sl_cni_ipam_call c = ipam_call(r, "DEL");
			rc = sl_cni_ipam_run(&c, NULL, &e);
		}
		KEEP(rc, e);
	}
#undef KEEP
	return first;
}

/* CHECK. */

static int check_fail(struct sl_cni_err *err, const char *what, const char *why)
{
	sl_cni_fail(err, SL_CNI_E_CHECK, "CHECK: %s %s", what, why);
	return -ENOENT;
}

static int check_sluiced(const struct run *r, uint32_t ip, const char *want_ifname,
			 struct sl_cni_err *err)
{
	cJSON *pods = NULL, *p;
	char b[16];
	int rc = sl_cni_api_pods(r->conf.socket, &pods, err);
	if (rc < 0)
		return rc;
	rc = check_fail(err, "sluiced:", "has no such pod");
	snprintf(err->msg, sizeof(err->msg), "CHECK: sluiced has no pod %s/%s with ip %s on %s",
		 sl_cni_pod_namespace(&r->env), r->pod_name, sl_cni_fmt_ip(ip, b), want_ifname);
	cJSON_ArrayForEach(p, pods)
	{
		const cJSON *ns = cJSON_GetObjectItemCaseSensitive(p, "namespace");
		const cJSON *n = cJSON_GetObjectItemCaseSensitive(p, "name");
		const cJSON *pip = cJSON_GetObjectItemCaseSensitive(p, "ip");
		const cJSON *ifn = cJSON_GetObjectItemCaseSensitive(p, "ifname");
		if (cJSON_IsString(ns) && !strcmp(ns->valuestring, sl_cni_pod_namespace(&r->env)) &&
		    cJSON_IsString(n) && !strcmp(n->valuestring, r->pod_name) &&
		    cJSON_IsString(pip) && !strcmp(pip->valuestring, b) && cJSON_IsString(ifn) &&
		    !strcmp(ifn->valuestring, want_ifname))
			rc = 0;
	}
	cJSON_Delete(pods);
	return rc;
}

static int cmd_check_vhost(struct run *r, struct sl_cni_err *err)
{
	char port[SL_CNI_IFNAME_MAX], what[sizeof(r->vh.dir) + 32];
	uint32_t ip;
	int rc;

	if ((rc = sl_cni_result_find_ip(r->conf.prev_result, r->env.ifname, r->env.netns, &ip,
					err)) < 0 ||
	    (rc = prepare(r, true, err)) < 0)
		return rc;
	snprintf(what, sizeof(what), "socket directory %s", r->vh.dir);
	if ((rc = sl_cni_vhost_dir_check(r->conf.socket_dir, r->vh.id, &r->me)) < 0)
		return check_fail(err, what, rc == -EPERM ? "belongs to another attachment"
							  : "is missing");
	vhost_port_name(r->env.ifname, port);
	if ((rc = check_sluiced(r, ip, port, err)) < 0)
		return rc;
	struct sl_cni_ipam_call c = ipam_call(r, "CHECK");
	return sl_cni_ipam_run(&c, NULL, err);
}

static int cmd_check(struct run *r, struct sl_cni_err *err)
{
	struct sl_cni_nl host = { .ioctl_fd = -1 }, pod = { .ioctl_fd = -1 };
	struct sl_cni_link l;
	uint32_t ip;
	int fd = -1, rc;

	if (!r->conf.prev_result)
		return sl_cni_fail(err, SL_CNI_E_CONFIG, "prevResult: required for CHECK");
	if (r->conf.iface == SL_CNI_IFACE_VHOST_USER)
		return cmd_check_vhost(r, err);
	if ((rc = sl_cni_result_find_ip(r->conf.prev_result, r->env.ifname, r->env.netns, &ip,
					err)) < 0 ||
	    (rc = open_netns(r, &fd, err)) < 0 || (rc = prepare(r, true, err)) < 0 ||
	    (rc = sl_cni_nl_open(&host, err)) < 0 || (rc = sl_cni_nl_open_netns(fd, &pod, err)) < 0)
		goto out;
	unsigned mtu = r->conf.mtu ? r->conf.mtu : r->node.pod_mtu;
	char what[64];
	snprintf(what, sizeof(what), "pod interface %s", r->env.ifname);
	if ((rc = sl_cni_nl_link_get(&pod, r->env.ifname, &l, err)) < 0) {
		rc = check_fail(err, what, "is missing");
		goto out;
	}
	if (!l.up || l.mtu != mtu) {
		rc = check_fail(err, what, l.up ? "has the wrong MTU" : "is down");
		goto out;
	}
	if ((rc = sl_cni_nl_addr_has(&pod, l.ifindex, ip, 32, err)) <= 0) {
		if (rc == 0)
			rc = check_fail(err, what, "lacks its address");
		goto out;
	}
	snprintf(what, sizeof(what), "host interface %s", r->host_ifname);
	if (r->conf.iface != SL_CNI_IFACE_TAP && /* a tap pod has no host end */
	    ((rc = sl_cni_nl_link_get(&host, r->host_ifname, &l, err)) < 0 || !l.up)) {
		rc = check_fail(err, what, rc < 0 ? "is missing" : "is down");
		goto out;
	}
	if ((rc = check_sluiced(r, ip, r->host_ifname, err)) < 0)
		goto out;
	struct sl_cni_ipam_call c = ipam_call(r, "CHECK");
	rc = sl_cni_ipam_run(&c, NULL, err);
out:
	sl_cni_nl_close(&host);
	sl_cni_nl_close(&pod);
	if (fd >= 0)
		close(fd);
	return rc;
}

/* STATUS. */

static int cmd_status(struct run *r, struct sl_cni_err *err)
{
	int rc = prepare(r, true, err);
	if (rc < 0) {
		if (err->code == SL_CNI_E_TRY_AGAIN)
			err->code = SL_CNI_E_NOT_AVAILABLE;
		return rc;
	}
	struct sl_cni_ipam_call c = ipam_call(r, "STATUS");
	if ((rc = sl_cni_ipam_supports(&c, "1.1.0", err)) <= 0)
		return rc; /* an IPAM plugin older than 1.1.0 has no STATUS */
	return sl_cni_ipam_run(&c, NULL, err);
}

/* GC. */

struct gc {
	struct run *r;
	char (*valid)[SL_CNI_IFNAME_MAX]; /* host names of the valid attachments */
	int n_valid;
	char (*stale)[SL_CNI_IFNAME_MAX]; /* host links found stale */
	int n_stale, cap_stale;
};

static bool gc_valid(const struct gc *g, const char *ifname)
{
	for (int i = 0; i < g->n_valid; i++)
		if (!strcmp(g->valid[i], ifname))
			return true;
	return false;
}

static void gc_link(const char *name, void *arg)
{
	struct gc *g = arg;
	if (sl_cni_is_host_ifname(name) && !gc_valid(g, name) && g->n_stale < g->cap_stale)
		snprintf(g->stale[g->n_stale++], SL_CNI_IFNAME_MAX, "%s", name);
}

/* Release a stale pod's address: its name is "<container id>:<ifname>"; a name of full
 * length may hold a cut id, which IPAM would not know (IPAM GC covers it). */
static int gc_release(struct gc *g, const char *pod_name, struct sl_cni_err *err)
{
	char id[SL_CNI_NAME_MAX];
	snprintf(id, sizeof(id), "%s", pod_name);
	char *colon = strrchr(id, ':');
	if (!colon || strlen(pod_name) >= SL_CNI_NAME_MAX - 1)
		return 0;
	*colon = 0;
	struct sl_cni_ipam_call c = ipam_call(g->r, "DEL");
	c.container_id = id;
	c.ifname = colon + 1;
	return sl_cni_ipam_run(&c, NULL, err);
}

/* Whether sluiced's pod (name, port ifname) is a vhost-user attachment of this plugin:
 * name "<container id>:<ifname>" (not cut) and port "<ifname>.sock" (cut to 15). Then
 * ret is the attachment's host-end-shaped name, to compare with the valid ones. */
static bool gc_vhost_pod(const char *name, const char *port, char ret[SL_CNI_IFNAME_MAX])
{
	char id[SL_CNI_NAME_MAX], want[SL_CNI_IFNAME_MAX];
	if (strlen(name) >= SL_CNI_NAME_MAX - 1) /* the id may be cut: cannot tell */
		return false;
	snprintf(id, sizeof(id), "%s", name);
	char *colon = strrchr(id, ':');
	if (!colon || colon == id || !colon[1] || strlen(colon + 1) >= SL_CNI_IFNAME_MAX)
		return false;
	*colon = 0;
	vhost_port_name(colon + 1, want);
	if (strcmp(want, port))
		return false;
	sl_cni_host_ifname(id, colon + 1, ret);
	return true;
}

/* Add the attachment of sluiced pod name ("<id>:<ifname>", not cut) to the valid list.
 * Returns whether it was added. */
static bool gc_protect(cJSON *valid, const char *name)
{
	char id[SL_CNI_NAME_MAX];
	if (!cJSON_IsArray(valid) || strlen(name) >= SL_CNI_NAME_MAX - 1)
		return false;
	snprintf(id, sizeof(id), "%s", name);
	char *colon = strrchr(id, ':');
	if (!colon || colon == id || !colon[1])
		return false;
	*colon = 0;
	cJSON *a = cJSON_CreateObject();
	if (!a || !cJSON_AddStringToObject(a, "containerID", id) ||
	    !cJSON_AddStringToObject(a, "ifname", colon + 1)) {
		cJSON_Delete(a);
		return false;
	}
	cJSON_AddItemToArray(valid, a);
	return true;
}

/* Whether a socket directory (name, owner record o or NULL) is stale: its attachment is not
 * among the valid ones. Without a record (made before records existed) only the 12-hex
 * names of this plugin are judged, by their hash. */
static bool gc_vhost_stale(const char *name, const struct sl_cni_vhost_owner *o, void *arg)
{
	struct gc *g = arg;
	char host_if[SL_CNI_IFNAME_MAX];
	if (o)
		sl_cni_host_ifname(o->container_id, o->ifname, host_if);
	else if (sl_cni_is_vhost_id(name))
		snprintf(host_if, sizeof(host_if), "sl%.12s", name);
	else
		return false; /* not this plugin's */
	return !gc_valid(g, host_if);
}

/* Remove the socket directories under socketDir that belong to no valid attachment. */
static int gc_vhost_dirs(struct gc *g, struct sl_cni_err *err)
{
	return sl_cni_vhost_gc(g->r->conf.socket_dir, gc_vhost_stale, g, err);
}

static int cmd_gc(struct run *r, struct sl_cni_err *err)
{
	struct gc g = { .r = r };
	struct sl_cni_nl host = { .ioctl_fd = -1 };
	struct sl_cni_err e;
	cJSON *pods = NULL, *p;
	const cJSON *va;
	/* A veth config collects veth attachments, a vhost-user config vhost-user ones: the
	 * primary network and a Multus vhost-user network are separate configs, and neither
	 * lists the other's attachments as valid. */
	bool vhost = r->conf.iface == SL_CNI_IFACE_VHOST_USER;
	int first = 0, rc;
#define KEEP(rc_)                                                                               \
	do {                                                                                    \
		if ((rc_) < 0 && !first) {                                              \
			first = (rc_);                                                          \
			*err = e;                                                               \
		}                                                                               \
	} while (0)

	int n = cJSON_GetArraySize(r->conf.valid_attachments);
	g.valid = calloc((size_t)n + 1, sizeof(*g.valid));
	g.cap_stale = 4096;
	g.stale = calloc((size_t)g.cap_stale, sizeof(*g.stale));
	if (!g.valid || !g.stale) {
		rc = sl_cni_fail(err, SL_CNI_E_IO, "gc: out of memory");
		goto out;
	}
	cJSON_ArrayForEach(va, r->conf.valid_attachments)
	{
		const char *id = cJSON_GetObjectItemCaseSensitive(va, "containerID")->valuestring;
		const char *ifn = cJSON_GetObjectItemCaseSensitive(va, "ifname")->valuestring;
		sl_cni_host_ifname(id, ifn, g.valid[g.n_valid++]);
	}

	KEEP(rc = prepare(r, false, &e));
	KEEP(rc = sl_cni_api_pods(r->conf.socket, &pods, &e));
	bool pods_known = rc == 0, protected = false;
	cJSON *valid = cJSON_GetObjectItemCaseSensitive(r->conf.root, "cni.dev/valid-attachments");
	cJSON_ArrayForEach(p, pods)
	{
		const cJSON *ns = cJSON_GetObjectItemCaseSensitive(p, "namespace");
		const cJSON *nm = cJSON_GetObjectItemCaseSensitive(p, "name");
		const cJSON *ifn = cJSON_GetObjectItemCaseSensitive(p, "ifname");
		char host_if[SL_CNI_IFNAME_MAX];
		if (!cJSON_IsString(ns) || !cJSON_IsString(nm) || !cJSON_IsString(ifn))
			continue;
		bool is_veth = sl_cni_is_host_ifname(ifn->valuestring);
		if (is_veth)
			snprintf(host_if, sizeof(host_if), "%s", ifn->valuestring);
		else if (!gc_vhost_pod(nm->valuestring, ifn->valuestring, host_if))
			continue; /* not this plugin's */
		if (is_veth == vhost) {
			/* The other kind's attachment: not this GC's to judge, and its address
			 * must survive the IPAM GC below (both kinds share one host-local store). */
			protected |= gc_protect(valid, nm->valuestring);
			continue;
		}
		if (gc_valid(&g, host_if))
			continue;
		rc = sl_cni_api_pod_del(r->conf.socket, ns->valuestring, nm->valuestring, &e);
		KEEP(rc == -ENOENT ? 0 : rc);
		if (r->ipam_text)
			KEEP(rc = gc_release(&g, nm->valuestring, &e));
	}

	if (!vhost) {
		if ((rc = sl_cni_nl_open(&host, &e)) == 0)
			rc = sl_cni_nl_link_names(&host, gc_link, &g, &e);
		KEEP(rc);
		for (int i = 0; i < g.n_stale; i++) {
			rc = sl_cni_nl_link_del(&host, g.stale[i], &e);
			KEEP(rc == -ENODEV ? 0 : rc);
		}
	} else {
		KEEP(rc = gc_vhost_dirs(&g, &e));
	}

	if (protected && r->ipam_text) {
		char *t = cJSON_PrintUnformatted(r->conf.root);
		if (t) {
			free(r->ipam_text);
			r->ipam_text = t;
		}
	}
	/* Without sluiced's pod list the other kind's addresses cannot be protected: the IPAM
	 * GC waits for the next GC (this one answers sluiced's error). */
	if (r->ipam_text && pods_known) {
		struct sl_cni_ipam_call c = ipam_call(r, "GC");
		if ((rc = sl_cni_ipam_supports(&c, "1.1.0", &e)) > 0)
			rc = sl_cni_ipam_run(&c, NULL, &e);
		KEEP(rc);
	}
	rc = first;
#undef KEEP
out:
	sl_cni_nl_close(&host);
	cJSON_Delete(pods);
	free(g.valid);
	free(g.stale);
	return rc;
}

/* VERSION. */

static void cmd_version(void)
{
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "cniVersion", SL_CNI_SPEC_VERSION);
	cJSON *a = cJSON_AddArrayToObject(o, "supportedVersions");
	for (int i = 0; sl_cni_versions[i]; i++)
		cJSON_AddItemToArray(a, cJSON_CreateString(sl_cni_versions[i]));
	print_json(o);
	cJSON_Delete(o);
}

static void print_error(const char *version, const struct sl_cni_err *err)
{
	char *s = sl_cni_error_json(version, err);
	if (s) {
		fputs(s, stdout);
		fputc('\n', stdout);
	} else {
		printf("{\"cniVersion\":\"%s\",\"code\":%d,\"msg\":\"out of memory\"}\n", version,
		       err->code);
	}
	free(s);
}

/* The cniVersion to answer errors with before the config is parsed. */
static void peek_version(const char *text, size_t len, char *ret, size_t n)
{
	cJSON *o = cJSON_ParseWithLength(text, len);
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, "cniVersion");
	if (cJSON_IsString(v) && sl_cni_version_supported(v->valuestring))
		snprintf(ret, n, "%s", v->valuestring);
	cJSON_Delete(o);
}

int main(void)
{
	static struct run r; /* large (paths): not on the stack */
	struct sl_cni_err err = { 0 };
	char version[16] = SL_CNI_SPEC_VERSION, *in = NULL;
	size_t len = 0;
	int rc;

	signal(SIGPIPE, SIG_IGN); /* a dead peer on a pipe or socket is an error, not a kill */
	if ((rc = read_stdin(&in, &len, &err)) < 0)
		goto out;
	if ((rc = sl_cni_env_parse(environ, &r.env, &err)) < 0) {
		if (len <= SL_CNI_MAX_STDIN)
			peek_version(in, len, version, sizeof(version));
		goto out;
	}
	rc = sl_cni_conf_parse(in, len, r.env.cmd, &r.conf, &err);
	snprintf(version, sizeof(version), "%s", r.conf.version);
	if (rc < 0)
		goto out;
	sl_cni_host_ifname(r.env.container_id, r.env.ifname, r.host_ifname);
	sl_cni_pod_name(r.env.container_id, r.env.ifname, r.pod_name);
	if (r.env.cmd == SL_CNI_ADD || r.env.cmd == SL_CNI_CHECK || r.env.cmd == SL_CNI_DEL) {
		/* DEL cleans up whatever the arguments say: a bad one is not its concern. */
		struct sl_cni_err e;
		if ((rc = sl_cni_conf_apply_args(&r.conf, &r.env, r.env.cmd == SL_CNI_DEL ? &e
										      : &err)) < 0 &&
		    r.env.cmd != SL_CNI_DEL)
			goto out;
		rc = 0;
		r.vh_rc = sl_cni_vhost_paths(&r.conf, r.env.container_id, r.env.ifname,
					     r.env.k8s_uid, &r.vh, &r.vh_err);
		snprintf(r.me.container_id, sizeof(r.me.container_id), "%s", r.env.container_id);
		snprintf(r.me.ifname, sizeof(r.me.ifname), "%s", r.env.ifname);
		snprintf(r.me.pod_uid, sizeof(r.me.pod_uid), "%s", r.env.k8s_uid);
	}
	switch (r.env.cmd) {
	case SL_CNI_ADD: rc = cmd_add(&r, &err); break;
	case SL_CNI_DEL: rc = cmd_del(&r, &err); break;
	case SL_CNI_CHECK: rc = cmd_check(&r, &err); break;
	case SL_CNI_STATUS: rc = cmd_status(&r, &err); break;
	case SL_CNI_GC: rc = cmd_gc(&r, &err); break;
	case SL_CNI_VERSION: cmd_version(); break;
	}
out:
	if (rc < 0)
		print_error(version, &err);
	fflush(stdout);
	sl_cni_conf_free(&r.conf);
	free(r.ipam_text);
	free(in);
	return rc < 0 ? 1 : 0;
}
