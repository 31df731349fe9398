/* vhost-user pod port (see sl_vhost.h). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <rte_rcu_qsbr.h>
#include <rte_vhost.h>

#include "dataplane/core/sl_dp.h"
#include "sl_vhost.h"

/* Virtqueue indexes of queue pair qp (virtio 1.1 5.1.2). */
#define GUEST_RXQ(qp) (2 * (qp))     /* the guest receives on it: we enqueue */
#define GUEST_TXQ(qp) (2 * (qp) + 1) /* the guest sends on it: we dequeue */
#define MAX_VHOST SL_MAX_PORTS

/* vhost-user requests sluiced looks at or names, by number (vhost-user specification,
 * "Front-end message types"; DPDK lib/vhost/vhost_user.h). */
#define foreach_vhost_req(_)                                                                   \
	_(1, GET_FEATURES) _(2, SET_FEATURES) _(3, SET_OWNER) _(4, RESET_OWNER)                \
	_(5, SET_MEM_TABLE) _(6, SET_LOG_BASE) _(7, SET_LOG_FD) _(8, SET_VRING_NUM)            \
	_(9, SET_VRING_ADDR) _(10, SET_VRING_BASE) _(11, GET_VRING_BASE)                      \
	_(12, SET_VRING_KICK) _(13, SET_VRING_CALL) _(14, SET_VRING_ERR)                      \
	_(15, GET_PROTOCOL_FEATURES) _(16, SET_PROTOCOL_FEATURES) _(17, GET_QUEUE_NUM)        \
	_(18, SET_VRING_ENABLE) _(19, SEND_RARP) _(20, NET_SET_MTU) _(21, SET_BACKEND_REQ_FD) \
	_(22, IOTLB_MSG) _(24, GET_CONFIG) _(25, SET_CONFIG) _(31, GET_INFLIGHT_FD)           \
	_(32, SET_INFLIGHT_FD) _(39, SET_STATUS) _(40, GET_STATUS)
enum vhost_req {
	REQ_NONE = 0,
#define _(n, name) REQ_##name = n,
	foreach_vhost_req(_)
#undef _
};
static const char *const req_names[] = {
#define _(n, name) [n] = #name,
	foreach_vhost_req(_)
#undef _
};

/* A vhost-user message as rte_vhost passes it to the extern hooks: the header of the
 * vhost-user specification ("Message Specification": request, flags, payload size, each a
 * u32 in host order), then the payload; rte_vhost puts the message first in what it passes
 * (RTE_BUILD_BUG_ON in vhost_user_msg_handler). Only SET_MEM_TABLE's payload is read: it
 * starts with the number of regions ("Memory regions description"). */
struct vhost_msg_head {
	uint32_t request;
	uint32_t flags;
	uint32_t size;
	uint32_t mem_nregions; /* SET_MEM_TABLE only, when size >= 4 */
};

/* vhost-user spec: a back-end that does not offer VHOST_USER_PROTOCOL_F_CONFIGURE_MEM_SLOTS
 * (rte_vhost 22.11 does not) takes at most 8 memory regions (VHOST_MEMORY_MAX_NREGIONS). */
#define MAX_MEM_REGIONS 8
/* A guest that negotiated features and then says nothing more for this long, while staying
 * connected, has given up starting the device (see sl_vhost_status). Healthy front-ends
 * send the memory table within milliseconds of the features (DPDK virtio_user in
 * virtio_init_device, QEMU in vhost_dev_start): 2 s leaves room for a loaded machine. */
#define STALL_NS (2 * 1000000000ULL)

/* Why the last negotiations failed, shown until a device gets ready again. */
enum vhost_fail {
	FAIL_NONE,
	FAIL_REGIONS,  /* the guest's memory table could not be passed or was refused */
	FAIL_REJECTED, /* rte_vhost refused another request (fail_req) */
};

/* What the current connection has done (client mode has at most one; in server mode the
 * newest one is followed). */
struct vhost_conn {
	int vid;                /* -1: no connection */
	unsigned msgs;          /* messages received */
	uint32_t last_req;      /* the last of them */
	uint32_t pending;       /* the request being handled: the pre hook ran, the post hook
				 * did not (rte_vhost skips it when it refuses the request) */
	uint32_t nregions;      /* regions in the last SET_MEM_TABLE */
	bool want_mem;          /* SET_FEATURES received, no SET_MEM_TABLE since */
	bool was_ready;         /* new_device ran on this connection */
	uint32_t stopped_by;    /* the request during which destroy_device last ran (e.g.
				 * GET_VRING_BASE), REQ_NONE when it ran as the connection closed */
	uint64_t last_msg_ns;   /* CLOCK_MONOTONIC of the last message */
	bool failed;            /* conn_fail ran for this connection */
};

struct sl_vhost {
	/* immutable */
	char name[sizeof(((struct sockaddr_un *)0)->sun_path)]; /* the socket path as given */
	/* What rte_vhost binds or connects to: /proc/self/fd/<dirfd>/<base>, the socket's
	 * directory pinned by dirfd (see sl_vhost_open). */
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	int dirfd;                /* the socket's directory, opened without following links */
	char base[NAME_MAX + 1];  /* the socket's file name in it */
	bool client;              /* sluiced connects (the pod owns the socket) */
	/* read by workers */
	_Atomic int vid;          /* of the ready device; -1 while there is none */
	_Atomic uint64_t vrings;  /* bit i: the guest enabled virtqueue i (i < 2 * MAX_QP) */
	_Atomic bool warned_qp;   /* said once that the guest enabled more than we poll */
	struct {                  /* written by the one worker polling the queue pair */
		uint64_t rx, tx;
	} __rte_cache_aligned qp[SL_VHOST_MAX_QP];
	/* Connection history, for show pods: written by rte_vhost's threads (callbacks),
	 * read by the control thread, both under lock; never touched by workers. */
	pthread_mutex_t lock;
	struct vhost_conn conn;
	enum vhost_fail fail;
	uint32_t fail_req;              /* FAIL_REJECTED: the refused request */
	struct timespec disconnect_at;  /* CLOCK_REALTIME; tv_sec 0 while none */
	char disconnect_cause[96];
	uint64_t refused;               /* connections refused (a second one, or not a socket) */
};

/* Ports by socket path, for the callbacks (which run on rte_vhost's own thread). */
static pthread_mutex_t registry_lock = PTHREAD_MUTEX_INITIALIZER;
static struct sl_vhost *registry[MAX_VHOST];

static struct sl_vhost *find_by_vid(int vid)
{
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	struct sl_vhost *found = NULL;
	if (rte_vhost_get_ifname(vid, path, sizeof(path)) < 0)
		return NULL;
	pthread_mutex_lock(&registry_lock);
	for (unsigned i = 0; i < MAX_VHOST && !found; i++)
		if (registry[i] && !strcmp(registry[i]->path, path))
			found = registry[i];
	pthread_mutex_unlock(&registry_lock);
	return found;
}

static const char *req_name(uint32_t r)
{
	return r < RTE_DIM(req_names) && req_names[r] ? req_names[r] : "an unknown request";
}

static uint64_t mono_ns(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000000ULL + (uint64_t)t.tv_nsec;
}

/* Connection history. Every function below takes v->lock held. */

/* Whether the current connection stopped mid-negotiation: the device never got ready, the
 * guest negotiated features and did not send its memory table (or sent a request that was
 * refused), and has said nothing for STALL_NS while staying connected. */
static bool conn_stalled(const struct vhost_conn *c, uint64_t now)
{
	return c->vid >= 0 && !c->was_ready && (c->want_mem || c->pending) &&
	       now - c->last_msg_ns >= STALL_NS;
}

/* What a failed negotiation on c (stalled, or a request refused) is put down to: the memory
 * table when none came or it had too many regions, else the refused request. */
static enum vhost_fail conn_verdict(const struct vhost_conn *c)
{
	return !c->pending || (c->pending == REQ_SET_MEM_TABLE && c->nregions > MAX_MEM_REGIONS) ?
		       FAIL_REGIONS : FAIL_REJECTED;
}

/* Record that negotiation failed on the current connection, with the evidence. */
static void conn_fail(struct sl_vhost *v)
{
	struct vhost_conn *c = &v->conn;
	bool regions = conn_verdict(c) == FAIL_REGIONS;
	v->fail = conn_verdict(c);
	v->fail_req = c->pending;
	c->failed = true;
	if (regions && c->pending)
		fprintf(stderr, "sluiced: vhost-user %s: the guest's memory table has %u regions, "
			"vhost-user takes %u (a DPDK pod on hugepages must pass "
			"--single-file-segments)\n", v->name, c->nregions, MAX_MEM_REGIONS);
	else if (regions)
		fprintf(stderr, "sluiced: vhost-user %s: the guest negotiated features but never "
			"sent its memory table (a DPDK pod on hugepages must pass "
			"--single-file-segments to stay within vhost-user's %u memory regions; see "
			"the pod's log)\n", v->name, MAX_MEM_REGIONS);
	else
		fprintf(stderr, "sluiced: vhost-user %s: negotiation failed: %s was refused "
			"(see the vhost log above)\n", v->name, req_name(c->pending));
}

/* A message arrived on connection vid (pre hook). */
static void conn_request(struct sl_vhost *v, const struct vhost_msg_head *m)
{
	struct vhost_conn *c = &v->conn;
	c->pending = m->request;
	c->last_req = m->request;
	c->msgs++;
	c->last_msg_ns = mono_ns();
	if (m->request == REQ_SET_FEATURES)
		c->want_mem = true;
	if (m->request == REQ_SET_MEM_TABLE) {
		c->want_mem = false;
		c->nregions = m->size >= sizeof(uint32_t) ? m->mem_nregions : 0;
		/* rte_vhost refuses it (vhost_user_set_mem_table): say why, now. */
		if (c->nregions > MAX_MEM_REGIONS)
			conn_fail(v);
	}
}

/* How the current connection ended, into v->disconnect_*. A connection that ended before
 * any message is no session (sluiced connected into a listener that never served it, such
 * as a dying pod's, whose process closed its connection before its listening socket) and
 * leaves the record alone. */
static void conn_ended(struct sl_vhost *v)
{
	const struct vhost_conn *c = &v->conn;
	char *b = v->disconnect_cause;
	const size_t n = sizeof(v->disconnect_cause);
	if (!c->msgs)
		return;
	clock_gettime(CLOCK_REALTIME, &v->disconnect_at);
	if (c->pending) /* refused: rte_vhost closed the connection */
		snprintf(b, n, "sluiced refused %s", req_name(c->pending));
	else if (conn_stalled(c, mono_ns()))
		snprintf(b, n, "peer closed, stalled in negotiation after %s", req_name(c->last_req));
	else if (c->was_ready && c->stopped_by == REQ_NONE)
		snprintf(b, n, "peer closed while running");
	else if (c->was_ready)
		snprintf(b, n, "peer closed after stopping the device (%s)", req_name(c->stopped_by));
	else
		snprintf(b, n, "peer closed during negotiation (after %s)", req_name(c->last_req));
}

static enum rte_vhost_msg_result on_msg_pre(int vid, void *msg)
{
	struct sl_vhost *v = find_by_vid(vid);
	if (v) {
		pthread_mutex_lock(&v->lock);
		if (v->conn.vid == vid)
			conn_request(v, msg);
		pthread_mutex_unlock(&v->lock);
	}
	return RTE_VHOST_MSG_RESULT_NOT_HANDLED; /* rte_vhost handles every message */
}

/* Runs after rte_vhost handled a message, not when it refused it. */
static enum rte_vhost_msg_result on_msg_post(int vid, void *msg)
{
	const struct vhost_msg_head *m = msg;
	struct sl_vhost *v = find_by_vid(vid);
	if (v) {
		pthread_mutex_lock(&v->lock);
		if (v->conn.vid == vid && v->conn.pending == m->request)
			v->conn.pending = REQ_NONE;
		pthread_mutex_unlock(&v->lock);
	}
	return RTE_VHOST_MSG_RESULT_NOT_HANDLED;
}

static const struct rte_vhost_user_extern_ops msg_hooks = {
	.pre_msg_handle = on_msg_pre,
	.post_msg_handle = on_msg_post,
};

/* A port takes one connection at a time. In server mode rte_vhost accepts every connection
 * made to the socket; a second one while the first lives is refused here (rte_vhost closes
 * it, no other callback runs for it), so whoever connected first keeps the port: a pod
 * that can reach the socket of another cannot take its traffic over. In client mode the
 * socket's entry must still be a socket when the connection is made (not a symbolic link
 * the pod planted towards another socket of the node). */
static int on_new_connection(int vid)
{
	struct sl_vhost *v = find_by_vid(vid);
	struct stat st;
	const char *why = NULL;
	if (!v)
		return -1;
	pthread_mutex_lock(&v->lock);
	/* Client mode: rte_vhost makes one connection at a time and never retries one refused
	 * here, so refuse only on proof: an entry that exists and is not a socket. A socket
	 * gone by now (the pod restarting between connect and this check) is no proof. */
	if (!v->client && v->conn.vid >= 0 && v->conn.vid != vid)
		why = "the port already has a connection";
	else if (v->client && fstatat(v->dirfd, v->base, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
		 !S_ISSOCK(st.st_mode))
		why = "its path is not a socket (a symbolic link?)";
	if (why) {
		unsigned long long n = ++v->refused;
		pthread_mutex_unlock(&v->lock);
		fprintf(stderr, "sluiced: vhost-user %s: refused a connection: %s (%llu refused "
			"so far)\n", v->name, why, n);
		return -1;
	}
	atomic_store(&v->vrings, 0);
	v->conn = (struct vhost_conn){ .vid = vid };
	pthread_mutex_unlock(&v->lock);
	/* Follow the negotiation message by message (the hooks handle nothing themselves). */
	if (rte_vhost_extern_callback_register(vid, &msg_hooks, NULL) < 0)
		fprintf(stderr, "sluiced: vhost-user %s: cannot follow the negotiation; show pods "
			"will not tell a failed one from a peer that went away\n", v->name);
	return 0;
}

/* The guest enables a virtqueue when its driver is ready for it, and may enable or disable
 * queue pairs at any time (ethtool -L on a VM). */
static int on_vring_state_changed(int vid, uint16_t vring, int enable)
{
	struct sl_vhost *v = find_by_vid(vid);
	if (!v)
		return 0;
	pthread_mutex_lock(&v->lock);
	bool ours = v->conn.vid == vid;
	pthread_mutex_unlock(&v->lock);
	if (!ours)
		return 0;
	if (vring >= 2 * SL_VHOST_MAX_QP) {
		if (enable && !atomic_exchange(&v->warned_qp, true))
			fprintf(stderr, "sluiced: vhost-user %s: the guest enabled queue pair %u; "
				"sluiced polls only the first %u\n", v->name, vring / 2,
				SL_VHOST_MAX_QP);
		return 0;
	}
	if (enable)
		atomic_fetch_or(&v->vrings, 1ULL << vring);
	else
		atomic_fetch_and(&v->vrings, ~(1ULL << vring));
	return 0;
}

/* rte_vhost calls this after destroy_device when a connection closes, whoever closed it
 * (socket.c vhost_user_read_cb); not when sluiced unregisters the port. */
static void on_destroy_connection(int vid)
{
	struct sl_vhost *v = find_by_vid(vid);
	if (!v)
		return;
	pthread_mutex_lock(&v->lock);
	if (v->conn.vid == vid) {
		/* A refusal that ended the connection, or a stall, is a failed negotiation; a
		 * peer that went away mid-negotiation (crash, kill, restart) is not. */
		const struct vhost_conn *c = &v->conn;
		if (!c->was_ready && !c->failed && (c->pending || conn_stalled(c, mono_ns())))
			conn_fail(v);
		conn_ended(v);
		v->conn.vid = -1;
	}
	pthread_mutex_unlock(&v->lock);
}

static int on_new_device(int vid)
{
	struct sl_vhost *v = find_by_vid(vid);
	if (!v)
		return -1;
	pthread_mutex_lock(&v->lock);
	if (v->conn.vid != vid) { /* not the port's connection: never reaches the workers */
		pthread_mutex_unlock(&v->lock);
		return -1;
	}
	v->conn.was_ready = true;
	v->conn.stopped_by = REQ_NONE;
	v->fail = FAIL_NONE; /* a good connection: earlier failures are history */
	pthread_mutex_unlock(&v->lock);
	atomic_store_explicit(&v->vid, vid, memory_order_release);
	return 0;
}

static void on_destroy_device(int vid)
{
	struct sl_vhost *v = find_by_vid(vid);
	if (!v)
		return;
	/* Inside a request (GET_VRING_BASE, RESET_OWNER, ...) the guest stopped the device;
	 * outside one, the connection is closing. */
	pthread_mutex_lock(&v->lock);
	if (v->conn.vid == vid)
		v->conn.stopped_by = v->conn.pending;
	pthread_mutex_unlock(&v->lock);
	/* vrings is left alone: rte_vhost may stop and restart a device (new memory table)
	 * without announcing its virtqueues again. Only the port's own device is stopped. */
	int expect = vid;
	atomic_compare_exchange_strong(&v->vid, &expect, -1);
	/* rte_vhost requires that nobody uses the device once this returns: wait until every
	 * worker has passed a quiescent state, so none is inside a burst on vid. */
	sl_dp_sync();
}

static const struct rte_vhost_device_ops ops = {
	.new_device = on_new_device,
	.destroy_device = on_destroy_device,
	.new_connection = on_new_connection,
	.destroy_connection = on_destroy_connection,
	.vring_state_changed = on_vring_state_changed,
};

/* Open the directory of absolute path component by component from "/", never following a
 * symbolic link and refusing "." and "..": no component, wherever a pod can write, can
 * redirect sluiced elsewhere. Returns the directory's fd and its file name in base, or
 * -errno with *err set (why[] is the control thread's). */
static int open_socket_dir(const char *path, char base[NAME_MAX + 1], const char **err)
{
	static char why[192];
	char comp[NAME_MAX + 1];
	if (path[0] != '/') {
		*err = "not an absolute path";
		return -EINVAL;
	}
	int fd = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) {
		*err = "cannot open /";
		return -errno;
	}
	for (const char *p = path + 1;;) {
		while (*p == '/')
			p++;
		size_t n = strcspn(p, "/");
		if (n == 0 || n > NAME_MAX || (n <= 2 && !strncmp(p, "..", n))) {
			*err = n ? n > NAME_MAX ? "a path component is longer than NAME_MAX"
					   : "has a \".\" or \"..\" component"
				 : "does not name a file (it ends with \"/\")";
			close(fd);
			return -EINVAL;
		}
		memcpy(comp, p, n);
		comp[n] = 0;
		if (!p[n]) { /* the socket's own name */
			memcpy(base, comp, n + 1);
			return fd;
		}
		int next = openat(fd, comp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		int e = errno;
		close(fd);
		if (next < 0) {
			snprintf(why, sizeof(why), "directory %.*s: %s", (int)(p + n - path), path,
				 e == ELOOP || e == ENOTDIR ? "is a symbolic link or not a directory "
				 "(never followed)" : strerror(e));
			*err = why;
			return -e;
		}
		fd = next;
		p += n + 1;
	}
}

/* Server mode: give the socket sluiced just bound to the owner of its directory (the pod's
 * user: sluice-cni makes the directory the pod's, docs/cni.md), so a pod not running as
 * root can connect. Only a socket that is still sluiced's own, with one link, is changed. */
static void give_socket_to_dir_owner(struct sl_vhost *v)
{
	struct stat ds, ss;
	if (fstat(v->dirfd, &ds) < 0 || (ds.st_uid == geteuid() && ds.st_gid == getegid()))
		return;
	int fd = openat(v->dirfd, v->base, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return;
	if (fstat(fd, &ss) == 0 && S_ISSOCK(ss.st_mode) && ss.st_nlink == 1 &&
	    ss.st_uid == geteuid() && fchownat(fd, "", ds.st_uid, ds.st_gid, AT_EMPTY_PATH) < 0)
		fprintf(stderr, "sluiced: vhost-user %s: cannot give the socket to uid %u: %s\n",
			v->name, (unsigned)ds.st_uid, strerror(errno));
	close(fd);
}

int sl_vhost_open(const char *path, bool client, struct sl_vhost **ret, const char **err)
{
	struct sl_vhost *v = calloc(1, sizeof(*v));
	int slot = -1, rc;
	if (!v)
		return -ENOMEM;
	v->dirfd = -1;
	if (strlen(path) >= sizeof(v->name)) {
		free(v);
		*err = "socket path longer than sun_path (107 bytes)";
		return -ENAMETOOLONG;
	}
	snprintf(v->name, sizeof(v->name), "%s", path);
	/* rte_vhost binds and connects by path, again at every reconnect: it gets the path
	 * through the directory sluiced holds open, /proc/self/fd/<dirfd>/<name>. The kernel
	 * resolves that link to the very directory checked here, whatever is renamed or
	 * replaced on the way to it later; only the socket's own name is looked up each time
	 * (see on_new_connection). */
	if ((rc = open_socket_dir(path, v->base, err)) < 0) {
		free(v);
		return rc;
	}
	v->dirfd = rc;
	v->client = client;
	if (snprintf(v->path, sizeof(v->path), "/proc/self/fd/%d/%s", v->dirfd, v->base) >=
	    (int)sizeof(v->path)) {
		close(v->dirfd);
		free(v);
		*err = "socket file name too long (at most 80 bytes)";
		return -ENAMETOOLONG;
	}
	atomic_store(&v->vid, -1);
	pthread_mutex_init(&v->lock, NULL);
	v->conn.vid = -1;
	pthread_mutex_lock(&registry_lock);
	for (unsigned i = 0; i < MAX_VHOST && slot < 0; i++)
		if (!registry[i])
			slot = (int)i;
	if (slot >= 0)
		registry[slot] = v;
	pthread_mutex_unlock(&registry_lock);
	if (slot < 0) {
		rc = -ENOSPC;
		*err = "too many vhost-user ports";
		goto fail_free;
	}
	struct stat sb;
	if (!client && fstatat(v->dirfd, v->base, &sb, AT_SYMLINK_NOFOLLOW) == 0) {
		if (!S_ISSOCK(sb.st_mode)) { /* never remove anything but a stale socket */
			*err = "path exists and is not a socket";
			rc = -EEXIST;
			goto fail;
		}
		unlinkat(v->dirfd, v->base, 0);
	}
	/* Compliant flags: offload requests arrive as RX flags (see sl_vhost.h). */
	uint64_t flags = RTE_VHOST_USER_NET_COMPLIANT_OL_FLAGS |
			 (client ? RTE_VHOST_USER_CLIENT : 0);
	/* Offered: CSUM, GUEST_CSUM, HOST_TSO4 and HOST_TSO6 (DPDK's virtio PMD enables TSO
	 * only when both are there; sluice routes IPv4 only, so IPv6 frames are dropped as an
	 * unsupported type either way). Not offered: large frames towards guests, UDP
	 * fragmentation offload. */
	uint64_t off = (1ULL << 7) /* GUEST_TSO4 */ | (1ULL << 8) /* GUEST_TSO6 */ |
		       (1ULL << 9) /* GUEST_ECN */ | (1ULL << 10) /* GUEST_UFO */ |
		       (1ULL << 14) /* HOST_UFO */;
	if ((rc = rte_vhost_driver_register(v->path, flags)) < 0) {
		*err = "rte_vhost_driver_register failed";
		goto fail;
	}
	if ((rc = rte_vhost_driver_disable_features(v->path, off)) < 0 ||
	    (rc = rte_vhost_driver_callback_register(v->path, &ops)) < 0) {
		*err = "cannot set vhost-user features or callbacks";
		goto fail_unreg;
	}
	if ((rc = rte_vhost_driver_start(v->path)) < 0) {
		*err = client ? "cannot start connecting" : "cannot listen on the socket";
		goto fail_unreg;
	}
	if (!client)
		give_socket_to_dir_owner(v);
	*ret = v;
	return 0;
fail_unreg:
	rte_vhost_driver_unregister(v->path);
fail:
	pthread_mutex_lock(&registry_lock);
	registry[slot] = NULL;
	pthread_mutex_unlock(&registry_lock);
fail_free:
	pthread_mutex_destroy(&v->lock);
	close(v->dirfd);
	free(v);
	return rc < 0 ? rc : -EIO;
}

void sl_vhost_withdraw(struct sl_vhost *v)
{
	if (v && !v->client)
		unlinkat(v->dirfd, v->base, 0); /* the directory sluiced checked and holds open */
}

void sl_vhost_close(struct sl_vhost *v)
{
	if (!v)
		return;
	/* Unregistering disconnects the guest (destroy_device runs first) and, in server
	 * mode, unlinks the socket through the directory still held open. */
	rte_vhost_driver_unregister(v->path);
	pthread_mutex_lock(&registry_lock);
	for (unsigned i = 0; i < MAX_VHOST; i++)
		if (registry[i] == v)
			registry[i] = NULL;
	pthread_mutex_unlock(&registry_lock);
	pthread_mutex_destroy(&v->lock);
	close(v->dirfd);
	free(v);
}

uint64_t sl_vhost_refused(struct sl_vhost *v)
{
	pthread_mutex_lock(&v->lock);
	uint64_t n = v->refused;
	pthread_mutex_unlock(&v->lock);
	return n;
}

uint16_t sl_vhost_rx_burst(struct sl_vhost *v, unsigned first, unsigned stride,
			   struct rte_mempool *pool, struct rte_mbuf **pkts, uint16_t n)
{
	int vid = atomic_load_explicit(&v->vid, memory_order_acquire);
	uint64_t on = atomic_load_explicit(&v->vrings, memory_order_relaxed);
	uint16_t got = 0;
	if (vid < 0)
		return 0;
	for (unsigned qp = first; qp < SL_VHOST_MAX_QP && got < n; qp += stride) {
		if (!(on & (1ULL << GUEST_TXQ(qp))))
			continue;
		uint16_t k = rte_vhost_dequeue_burst(vid, (uint16_t)GUEST_TXQ(qp), pool,
						     pkts + got, n - got);
		v->qp[qp].rx += k;
		got += k;
	}
	return got;
}

bool sl_vhost_tx_ready(const struct sl_vhost *v, unsigned qp)
{
	return qp < SL_VHOST_MAX_QP &&
	       (atomic_load_explicit(&v->vrings, memory_order_relaxed) & (1ULL << GUEST_RXQ(qp)));
}

uint16_t sl_vhost_tx_burst(struct sl_vhost *v, unsigned qp, struct rte_mbuf **pkts, uint16_t n)
{
	int vid = atomic_load_explicit(&v->vid, memory_order_acquire);
	if (vid < 0 || !sl_vhost_tx_ready(v, qp))
		return 0;
	uint16_t sent = rte_vhost_enqueue_burst(vid, (uint16_t)GUEST_RXQ(qp), pkts, n);
	rte_pktmbuf_free_bulk(pkts, sent); /* enqueue copies */
	v->qp[qp].tx += sent;
	return sent;
}

bool sl_vhost_qp_stats(const struct sl_vhost *v, unsigned qp, uint64_t *rx, uint64_t *tx)
{
	*rx = v->qp[qp].rx;
	*tx = v->qp[qp].tx;
	return atomic_load(&v->vid) >= 0 && (atomic_load(&v->vrings) & (1ULL << GUEST_TXQ(qp)));
}

unsigned sl_vhost_queue_pairs(const struct sl_vhost *v)
{
	uint64_t on = atomic_load(&v->vid) >= 0 ? atomic_load(&v->vrings) : 0;
	unsigned n = 0;
	for (unsigned qp = 0; qp < SL_VHOST_MAX_QP; qp++)
		n += (on & (1ULL << GUEST_TXQ(qp))) != 0;
	return n;
}

/* The state, from what happened rather than guessed:
 * - "connected": new_device ran and destroy_device has not (the device is ready).
 * - "failed: negotiation (...)": only on evidence that the negotiation failed, shown until a
 *   device gets ready again. Evidence is one of (a) the guest's memory table announced more
 *   than MAX_MEM_REGIONS regions (rte_vhost refuses it); (b) rte_vhost refused another
 *   request: its pre hook ran and its post hook did not, and the connection then closed
 *   (rte_vhost closes it) or stalled; (c) the guest stalled: it negotiated features
 *   (SET_FEATURES), never sent its memory table, and said nothing for STALL_NS while staying
 *   connected (now, or when it closed). (c) is how a DPDK pod on hugepages without
 *   --single-file-segments looks from here: its virtio_user refuses to build a table of more
 *   than 8 regions ("Too many memory regions", drivers/net/virtio/virtio_user/vhost_user.c),
 *   so SET_MEM_TABLE never comes, and the app runs on with the connection open; QEMU too
 *   refuses to start a device with more memory slots than the back-end's limit.
 * - "stopped": the guest stopped the device (destroy_device inside one of its requests,
 *   e.g. GET_VRING_BASE on rte_eth_dev_stop) and stayed connected. (destroy_device outside
 *   a request is the connection closing: "waiting" already.)
 * - "negotiating": a connection on which the guest has spoken, device not ready yet.
 * - "waiting": no connection, or one on which nothing has been said yet.
 * A pod that crashed, was killed or restarted, at any point of the handshake or of traffic,
 * is "waiting" (or "negotiating" again when it is back), never "failed": a peer closing the
 * socket is not evidence. Its last disconnect says how it went (conn_ended). */
static const char *state_name(const struct sl_vhost *v, char *b, size_t n)
{
	const struct vhost_conn *c = &v->conn;
	enum vhost_fail fail = v->fail;
	uint32_t req = v->fail_req;
	if (atomic_load(&v->vid) >= 0)
		return "connected";
	if (fail == FAIL_NONE && conn_stalled(c, mono_ns())) { /* stalling now */
		fail = conn_verdict(c);
		req = c->pending;
	}
	if (fail == FAIL_REJECTED) {
		snprintf(b, n, "failed: negotiation (%s refused, see the sluiced log)", req_name(req));
		return b;
	}
	if (fail == FAIL_REGIONS)
		return "failed: negotiation (too many memory regions? use --single-file-segments)";
	if (c->vid < 0 || !c->msgs || (c->was_ready && c->stopped_by == REQ_NONE))
		return "waiting";
	return c->was_ready ? "stopped" : "negotiating";
}

void sl_vhost_status(struct sl_vhost *v, struct sl_vhost_status *ret)
{
	char b[sizeof(ret->state)];
	struct tm tm;
	memset(ret, 0, sizeof(*ret));
	pthread_mutex_lock(&v->lock);
	snprintf(ret->state, sizeof(ret->state), "%s", state_name(v, b, sizeof(b)));
	if (v->disconnect_at.tv_sec && gmtime_r(&v->disconnect_at.tv_sec, &tm)) {
		char t[24];
		strftime(t, sizeof(t), "%Y-%m-%dT%H:%M:%S", &tm);
		snprintf(ret->disconnect_at, sizeof(ret->disconnect_at), "%s.%03uZ", t,
			 (unsigned)(v->disconnect_at.tv_nsec / 1000000) % 1000);
		snprintf(ret->disconnect_cause, sizeof(ret->disconnect_cause), "%s",
			 v->disconnect_cause);
	}
	pthread_mutex_unlock(&v->lock);
}
