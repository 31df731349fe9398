/* vhost-user pod port (see sl_vhost.h). */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <rte_rcu_qsbr.h>
#include <rte_vhost.h>

#include "dataplane/core/sl_dp.h"
#include "sl_vhost.h"

/* Virtqueue indexes of queue pair qp (virtio 1.1 5.1.2). */
#define GUEST_RXQ(qp) (2 * (qp))     /* the guest receives on it: we enqueue */
#define GUEST_TXQ(qp) (2 * (qp) + 1) /* the guest sends on it: we dequeue */
#define MAX_VHOST SL_MAX_PORTS

struct sl_vhost {
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	_Atomic int vid;          /* -1 while no guest is connected */
	_Atomic unsigned connects;
	_Atomic bool negotiating; /* a connection is up but the device is not ready yet */
	_Atomic unsigned failed;  /* connections that ended before the device was ready, since
				   * the last one that got ready */
	_Atomic uint64_t vrings;  /* bit i: the guest enabled virtqueue i (i < 2 * MAX_QP) */
	_Atomic bool warned_qp;   /* said once that the guest enabled more than we poll */
	struct {                  /* written by the one worker polling the queue pair */
		uint64_t rx, tx;
	} __rte_cache_aligned qp[SL_VHOST_MAX_QP];
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

static int on_new_connection(int vid)
{
	struct sl_vhost *v = find_by_vid(vid);
	if (v) {
		atomic_store(&v->vrings, 0);
		atomic_store(&v->negotiating, true);
	}
	return 0;
}

/* The guest enables a virtqueue when its driver is ready for it, and may enable or disable
 * queue pairs at any time (ethtool -L on a VM). */
static int on_vring_state_changed(int vid, uint16_t vring, int enable)
{
	struct sl_vhost *v = find_by_vid(vid);
	if (!v)
		return 0;
	if (vring >= 2 * SL_VHOST_MAX_QP) {
		if (enable && !atomic_exchange(&v->warned_qp, true))
			fprintf(stderr, "sluiced: vhost-user %s: the guest enabled queue pair %u; "
				"sluiced polls only the first %u\n", v->path, vring / 2,
				SL_VHOST_MAX_QP);
		return 0;
	}
	if (enable)
		atomic_fetch_or(&v->vrings, 1ULL << vring);
	else
		atomic_fetch_and(&v->vrings, ~(1ULL << vring));
	return 0;
}

/* A connection that closes before new_device failed negotiation: most often the pod's
 * memory has more regions than vhost-user allows (8), i.e. a DPDK pod on hugepages without
 * --single-file-segments. rte_vhost only logs it; say it where an operator looks. */
static void on_destroy_connection(int vid)
{
	struct sl_vhost *v = find_by_vid(vid);
	if (!v || !atomic_exchange(&v->negotiating, false))
		return;
	atomic_fetch_add(&v->failed, 1);
	fprintf(stderr, "sluiced: vhost-user %s: the guest disconnected before the device was "
		"ready (see the vhost log above; a DPDK pod on hugepages must pass "
		"--single-file-segments to stay within vhost-user's memory region limit)\n",
		v->path);
}

static int on_new_device(int vid)
{
	struct sl_vhost *v = find_by_vid(vid);
	if (!v)
		return -1;
	atomic_store(&v->negotiating, false);
	atomic_store(&v->failed, 0);
	atomic_fetch_add(&v->connects, 1);
	atomic_store_explicit(&v->vid, vid, memory_order_release);
	return 0;
}

static void on_destroy_device(int vid)
{
	struct sl_vhost *v = find_by_vid(vid);
	if (!v)
		return;
	/* vrings is left alone: rte_vhost may stop and restart a device (new memory table)
	 * without announcing its virtqueues again. */
	atomic_store_explicit(&v->vid, -1, memory_order_release);
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

int sl_vhost_open(const char *path, bool client, struct sl_vhost **ret, const char **err)
{
	struct sl_vhost *v = calloc(1, sizeof(*v));
	int slot = -1, rc;
	if (!v)
		return -ENOMEM;
	if (strlen(path) >= sizeof(v->path)) {
		free(v);
		*err = "socket path longer than sun_path (107 bytes)";
		return -ENAMETOOLONG;
	}
	snprintf(v->path, sizeof(v->path), "%s", path);
	atomic_store(&v->vid, -1);
	pthread_mutex_lock(&registry_lock);
	for (unsigned i = 0; i < MAX_VHOST && slot < 0; i++)
		if (!registry[i])
			slot = (int)i;
	if (slot >= 0)
		registry[slot] = v;
	pthread_mutex_unlock(&registry_lock);
	if (slot < 0) {
		free(v);
		*err = "too many vhost-user ports";
		return -ENOSPC;
	}
	struct stat sb;
	if (!client && lstat(path, &sb) == 0) {
		if (!S_ISSOCK(sb.st_mode)) { /* never remove anything but a stale socket */
			pthread_mutex_lock(&registry_lock);
			registry[slot] = NULL;
			pthread_mutex_unlock(&registry_lock);
			free(v);
			*err = "path exists and is not a socket";
			return -EEXIST;
		}
		unlink(path);
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
	if ((rc = rte_vhost_driver_register(path, flags)) < 0) {
		*err = "rte_vhost_driver_register failed";
		goto fail;
	}
	if ((rc = rte_vhost_driver_disable_features(path, off)) < 0 ||
	    (rc = rte_vhost_driver_callback_register(path, &ops)) < 0) {
		*err = "cannot set vhost-user features or callbacks";
		goto fail_unreg;
	}
	if ((rc = rte_vhost_driver_start(path)) < 0) {
		*err = client ? "cannot start connecting" : "cannot listen on the socket";
		goto fail_unreg;
	}
	*ret = v;
	return 0;
fail_unreg:
	rte_vhost_driver_unregister(path);
fail:
	pthread_mutex_lock(&registry_lock);
	registry[slot] = NULL;
	pthread_mutex_unlock(&registry_lock);
	free(v);
	return rc < 0 ? rc : -EIO;
}

void sl_vhost_close(struct sl_vhost *v)
{
	if (!v)
		return;
	/* Unregistering disconnects the guest (destroy_device runs first). */
	rte_vhost_driver_unregister(v->path);
	pthread_mutex_lock(&registry_lock);
	for (unsigned i = 0; i < MAX_VHOST; i++)
		if (registry[i] == v)
			registry[i] = NULL;
	pthread_mutex_unlock(&registry_lock);
	free(v);
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

const char *sl_vhost_state(const struct sl_vhost *v)
{
	if (atomic_load(&v->vid) >= 0)
		return "connected";
	if (atomic_load(&v->failed))
		return "failed: negotiation (too many memory regions? use --single-file-segments)";
	return "waiting";
}
