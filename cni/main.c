/* sluice-cni: the CNI plugin binary. Reads CNI_* and the config, runs one command, writes
 * the result or the error object on stdout (SPEC.md "Section 2"). This file: the entry,
 * dispatch, DEL, CHECK, STATUS and VERSION; ADD in add.c (the steps all kinds share) and
 * add_veth.c, add_vhost.c, add_tap.c (each kind's own); GC in gc.c (plugin.h: the map).
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
 * GC    gc.c.
 * VERSION the supported versions. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "plugin.h"

extern char **environ;

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

/* ADD: the attachment kind's own steps (add_veth.c, add_vhost.c, add_tap.c) around the
 * shared ones (add.c). */

static int cmd_add(struct sl_cni_run *r, struct sl_cni_err *err)
{
	int rc;
	if (!r->conf.iface_set && (rc = sl_cni_run_prepare(r, true, err)) < 0)
		return rc; /* sluiced names the kind (node.pod_interface) */
	if (r->conf.iface == SL_CNI_IFACE_VHOST_USER)
		return sl_cni_add_vhost(r, err);
	if (r->conf.iface == SL_CNI_IFACE_TAP)
		return sl_cni_add_tap(r, err);
	return sl_cni_add_veth(r, err);
}

/* DEL. */

static int cmd_del(struct sl_cni_run *r, struct sl_cni_err *err)
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
		rc = sl_cni_run_prepare(r, false, &e);
		if (rc == 0) {
			struct sl_cni_ipam_call c = sl_cni_run_ipam_call(r, "DEL");
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

static int check_sluiced(const struct sl_cni_run *r, uint32_t ip, const char *want_ifname,
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

static int cmd_check_vhost(struct sl_cni_run *r, struct sl_cni_err *err)
{
	char port[SL_CNI_IFNAME_MAX], what[sizeof(r->vh.dir) + 32];
	uint32_t ip;
	int rc;

	if ((rc = sl_cni_result_find_ip(r->conf.prev_result, r->env.ifname, r->env.netns, &ip,
					err)) < 0 ||
	    (rc = sl_cni_run_prepare(r, true, err)) < 0)
		return rc;
	snprintf(what, sizeof(what), "socket directory %s", r->vh.dir);
	if ((rc = sl_cni_vhost_dir_check(r->conf.socket_dir, r->vh.id, &r->me)) < 0)
		return check_fail(err, what, rc == -EPERM ? "belongs to another attachment"
							  : "is missing");
	sl_cni_vhost_port_name(r->env.ifname, port);
	if ((rc = check_sluiced(r, ip, port, err)) < 0)
		return rc;
	struct sl_cni_ipam_call c = sl_cni_run_ipam_call(r, "CHECK");
	return sl_cni_ipam_run(&c, NULL, err);
}

static int cmd_check(struct sl_cni_run *r, struct sl_cni_err *err)
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
	    (rc = sl_cni_run_open_netns(r, &fd, err)) < 0 || (rc = sl_cni_run_prepare(r, true, err)) < 0 ||
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
	struct sl_cni_ipam_call c = sl_cni_run_ipam_call(r, "CHECK");
	rc = sl_cni_ipam_run(&c, NULL, err);
out:
	sl_cni_nl_close(&host);
	sl_cni_nl_close(&pod);
	if (fd >= 0)
		close(fd);
	return rc;
}

/* STATUS. */

static int cmd_status(struct sl_cni_run *r, struct sl_cni_err *err)
{
	int rc = sl_cni_run_prepare(r, true, err);
	if (rc < 0) {
		if (err->code == SL_CNI_E_TRY_AGAIN)
			err->code = SL_CNI_E_NOT_AVAILABLE;
		return rc;
	}
	struct sl_cni_ipam_call c = sl_cni_run_ipam_call(r, "STATUS");
	if ((rc = sl_cni_ipam_supports(&c, "1.1.0", err)) <= 0)
		return rc; /* an IPAM plugin older than 1.1.0 has no STATUS */
	return sl_cni_ipam_run(&c, NULL, err);
}

/* VERSION. */

static void cmd_version(void)
{
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "cniVersion", SL_CNI_SPEC_VERSION);
	cJSON *a = cJSON_AddArrayToObject(o, "supportedVersions");
	for (int i = 0; sl_cni_versions[i]; i++)
		cJSON_AddItemToArray(a, cJSON_CreateString(sl_cni_versions[i]));
	sl_cni_print_json(o);
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
	static struct sl_cni_run r; /* large (paths): not on the stack */
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
	case SL_CNI_GC: rc = sl_cni_cmd_gc(&r, &err); break;
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
