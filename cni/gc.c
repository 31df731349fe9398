/* sluice-cni: GC. Pods and host veths of this plugin (host name "sl" + 12 hex) that belong
 * to no attachment of cni.dev/valid-attachments are removed from sluiced and the node, their
 * addresses released (IPAM DEL) when the container id is known, then IPAM GC. With a
 * vhost-user config the same for vhost-user pods (name "<id>:<ifname>", port
 * "<ifname>.sock") and the socket directories under socketDir (by owner record) instead.
 * The other kind's live attachments are added to the valid list the IPAM plugin's GC gets
 * (one host-local store serves both); without sluiced no IPAM GC. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plugin.h"

struct gc {
	struct sl_cni_run *r;
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
	struct sl_cni_ipam_call c = sl_cni_run_ipam_call(g->r, "DEL");
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
	sl_cni_vhost_port_name(colon + 1, want);
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

int sl_cni_cmd_gc(struct sl_cni_run *r, struct sl_cni_err *err)
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

	KEEP(rc = sl_cni_run_prepare(r, false, &e));
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
		struct sl_cni_ipam_call c = sl_cni_run_ipam_call(r, "GC");
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
