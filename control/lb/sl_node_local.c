/* Node ports for the node's own processes (see sl_node_local.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <mntent.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "sl_node_local.h"
#include "sl_node_local_prog.h"

#ifndef SO_NETNS_COOKIE
#define SO_NETNS_COOKIE 71 /* Linux 5.14 */
#endif


/* The map layouts of node_local.bpf.c. */
struct nl_key {
	uint32_t ip;
	uint16_t port;
	uint8_t proto;
	uint8_t pad;
};
struct nl_val {
	uint32_t ip;
	uint16_t port;
	uint16_t pad;
};

static const char *const progs[] = { "nl_connect4", "nl_sendmsg4", "nl_recvmsg4",
				     "nl_getpeername4" };
#define N_PROGS (sizeof(progs) / sizeof(progs[0]))

/* Where sluiced mounts the cgroup v2 hierarchy when none is mounted (a cgroup v1 host, or
 * `ip netns exec`, which mounts a fresh /sys): as Cilium mounts /run/cilium/cgroupv2. */
#define OWN_CGROUP2 "/run/sluice-cgroup2"

static struct {
	bool mounted;           /* OWN_CGROUP2 is ours */
	struct bpf_object *obj;
	struct bpf_link *links[N_PROGS];
	int map_fd;
} nl = { .map_fd = -1 };

#define ERR(...) snprintf(err, errlen, __VA_ARGS__)

/* Where the cgroup v2 hierarchy is mounted (/sys/fs/cgroup on a unified host,
 * /sys/fs/cgroup/unified on a hybrid one): the first cgroup2 entry of the mount table. */
static int cgroup2_root(char *buf, size_t n)
{
	FILE *f = setmntent("/proc/self/mounts", "re");
	struct mntent *m;
	int rc = -ENOENT;
	while (f && rc && (m = getmntent(f)))
		if (!strcmp(m->mnt_type, "cgroup2"))
			rc = snprintf(buf, n, "%s", m->mnt_dir) < (int)n ? 0 : -ENAMETOOLONG;
	if (f)
		endmntent(f);
	return rc;
}

static int netns_cookie(uint64_t *ret)
{
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	socklen_t len = sizeof(*ret);
	if (s < 0)
		return -errno;
	int rc = getsockopt(s, SOL_SOCKET, SO_NETNS_COOKIE, ret, &len) < 0 ? -errno : 0;
	close(s);
	return rc;
}

int sl_node_local_start(char *err, size_t errlen)
{
	char root[256];
	uint64_t cookie;
	int rc, cg = -1;
	if (cgroup2_root(root, sizeof(root)) < 0) {
		if ((mkdir(OWN_CGROUP2, 0700) < 0 && errno != EEXIST) ||
		    mount("none", OWN_CGROUP2, "cgroup2", 0, NULL) < 0) {
			rc = -errno;
			return ERR("no cgroup v2 hierarchy is mounted and mounting one at "
				   OWN_CGROUP2 " failed: %s", strerror(-rc)), rc;
		}
		nl.mounted = true;
		snprintf(root, sizeof(root), OWN_CGROUP2);
	}
	if ((rc = netns_cookie(&cookie)) < 0)
		return ERR("cannot read the network namespace cookie (Linux 5.14+): %s",
			   strerror(-rc)), rc;
	nl.obj = bpf_object__open_mem(sl_node_local_prog_obj, sl_node_local_prog_obj_len, NULL);
	if (!nl.obj) {
		rc = -errno;
		return ERR("cannot open the socket hooks: %s", strerror(-rc)), rc;
	}
	if ((rc = bpf_object__load(nl.obj)) < 0) {
		ERR("cannot load the socket hooks: %s", strerror(-rc));
		goto fail;
	}
	uint32_t zero = 0;
	struct bpf_map *cfg = bpf_object__find_map_by_name(nl.obj, "cfg");
	struct bpf_map *map = bpf_object__find_map_by_name(nl.obj, "nl_map");
	if (!cfg || !map || bpf_map_update_elem(bpf_map__fd(cfg), &zero, &cookie, BPF_ANY) < 0) {
		rc = -ENOENT;
		ERR("the socket hooks' maps are missing");
		goto fail;
	}
	if ((cg = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
		rc = -errno;
		ERR("cannot open %s: %s", root, strerror(-rc));
		goto fail;
	}
	for (unsigned i = 0; i < N_PROGS; i++) {
		struct bpf_program *p = bpf_object__find_program_by_name(nl.obj, progs[i]);
		nl.links[i] = p ? bpf_program__attach_cgroup(p, cg) : NULL;
		if (!nl.links[i]) {
			rc = p ? -errno : -ENOENT;
			ERR("cannot attach %s to %s: %s", progs[i], root, strerror(-rc));
			goto fail;
		}
	}
	close(cg);
	nl.map_fd = bpf_map__fd(map);
	return 0;
fail:
	if (cg >= 0)
		close(cg);
	sl_node_local_stop();
	return rc;
}

void sl_node_local_stop(void)
{
	for (unsigned i = 0; i < N_PROGS; i++) {
		bpf_link__destroy(nl.links[i]);
		nl.links[i] = NULL;
	}
	bpf_object__close(nl.obj);
	nl.obj = NULL;
	nl.map_fd = -1;
	if (nl.mounted)
		umount2(OWN_CGROUP2, MNT_DETACH);
	nl.mounted = false;
}

bool sl_node_local_on(void)
{
	return nl.map_fd >= 0;
}

int sl_node_local_add(uint32_t ip, uint16_t port, uint8_t proto, uint32_t to_ip,
		      uint16_t to_port)
{
	struct nl_key k = { .ip = ip, .port = port, .proto = proto };
	struct nl_val v = { .ip = to_ip, .port = to_port };
	if (nl.map_fd < 0)
		return 0;
	return bpf_map_update_elem(nl.map_fd, &k, &v, BPF_ANY) < 0 ? -errno : 0;
}

void sl_node_local_del(uint32_t ip, uint16_t port, uint8_t proto)
{
	struct nl_key k = { .ip = ip, .port = port, .proto = proto };
	if (nl.map_fd >= 0)
		bpf_map_delete_elem(nl.map_fd, &k);
}
