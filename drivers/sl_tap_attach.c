/* Tap pods that outlive sluiced: the pod's namespace and its tap found again (see sl_tap.h,
 * "Surviving a restart"). */
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <linux/if_tun.h>
#include <linux/magic.h>

#include "sl_tap.h"

#ifndef SO_NETNS_COOKIE
#define SO_NETNS_COOKIE 71 /* Linux 5.14 */
#endif

/* One job for a thread inside a pod's namespace (setns changes the calling thread only). */
struct netns_job {
	const char *path;     /* the namespace's path (CNI_NETNS) */
	uint64_t cookie;      /* in: the cookie it must have (0: any); out: the one it has */
	uint32_t ifindex;     /* find: the tap's ifindex; 0: only the cookie */
	const char *name;     /* find: the name the device must have; NULL: any */
	const uint8_t *mac;   /* find: the pod's MAC, the tap's */
	int *fds;             /* find: the descriptors attached to the tap, fds[0..n_fds) */
	unsigned n_fds;       /* find: in, the queues wanted; out, those attached (0: none) */
	int rc;
	const char *err;
};

/* The cookie of the calling thread's network namespace (SO_NETNS_COOKIE: a 64-bit number
 * never given to another namespace while the machine runs). Returns 0 or -errno. */
static int cookie_here(uint64_t *ret)
{
	int s = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0), rc = 0;
	socklen_t len = sizeof(*ret);
	if (s < 0)
		return -errno;
	if (getsockopt(s, SOL_SOCKET, SO_NETNS_COOKIE, ret, &len) < 0)
		rc = -errno;
	close(s);
	return rc;
}

/* Attach j->fds to the tap whose ifindex is j->ifindex in the calling thread's namespace and
 * check it is the one sluiced made for this pod: a tap (TUNSETIFF refuses other devices),
 * persistent (TUNSETIFF on a name nobody has creates a device, not persistent: the name
 * went between the lookup and the attach), still that ifindex under the name it had when
 * attached (checked again once every queue is attached), and the pod's MAC (read through
 * the descriptor, not by name). A multi-queue tap gets j->n_fds queues, a single-queue one
 * (made by an older sluiced) one. j->name set: only a device of that name counts. Returns
 * 0, or -ENODEV (no such device here), -EPERM (a device that is not the pod's tap, j->err
 * says why) or another -errno. */
static int find_here(struct netns_job *j)
{
	char name[IFNAMSIZ];
	unsigned want = j->n_fds;
	j->n_fds = 0;
	if (!if_indextoname(j->ifindex, name) || (j->name && strcmp(name, j->name)))
		return j->err = "no device with the tap's ifindex", -ENODEV;
	const char *why;
	int fd = sl_tap_tun_open(name, IFF_MULTI_QUEUE, &why), rc = 0;
	if (fd == -EINVAL) /* not a tap, or a single-queue one */
		fd = sl_tap_tun_open(name, 0, &why);
	if (fd < 0) {
		j->err = fd == -EBUSY ? "the tap is held by another process"
			 : fd == -EINVAL ? "the device with the tap's ifindex is not a tap" : why;
		return fd == -EINVAL ? -EPERM : fd;
	}
	j->fds[j->n_fds++] = fd;
	struct ifreq got = { 0 };
	if (ioctl(fd, TUNGETIFF, &got) < 0) {
		rc = -errno, j->err = "TUNGETIFF";
		goto fail;
	}
	if (!(got.ifr_flags & IFF_PERSIST)) {
		rc = -EPERM, j->err = "the device was replaced while attaching (not persistent)";
		goto fail;
	}
	if (if_nametoindex(got.ifr_name) != j->ifindex) {
		rc = -EPERM, j->err = "the device was renamed or replaced while attaching";
		goto fail;
	}
	struct ifreq hw = { 0 };
	if (ioctl(fd, SIOCGIFHWADDR, &hw) < 0) {
		rc = -errno, j->err = "SIOCGIFHWADDR";
		goto fail;
	}
	if (memcmp(hw.ifr_hwaddr.sa_data, j->mac, 6) != 0) {
		rc = -EPERM, j->err = "the tap's MAC is not the pod's any more";
		goto fail;
	}
	while ((got.ifr_flags & IFF_MULTI_QUEUE) && j->n_fds < want) {
		if ((fd = sl_tap_tun_open(got.ifr_name, IFF_MULTI_QUEUE, &why)) < 0) {
			rc = fd, j->err = why;
			goto fail;
		}
		j->fds[j->n_fds++] = fd;
	}
	if (if_nametoindex(got.ifr_name) != j->ifindex) { /* the queues went to the same device */
		rc = -EPERM, j->err = "the device was renamed or replaced while attaching";
		goto fail;
	}
	return 0;
fail:
	while (j->n_fds > 0)
		close(j->fds[--j->n_fds]);
	return rc;
}

/* Open path for setns only if it is a namespace file (nsfs): a path that names anything
 * else (a FIFO, whose open would block; a device, whose open may act) is never opened.
 * Returns the descriptor, or -errno: -EINVAL not a namespace file. */
static int open_nsfs(const char *path)
{
	int pfd = open(path, O_PATH | O_CLOEXEC), fd;
	struct statfs sf;
	if (pfd < 0)
		return -errno;
	if (fstatfs(pfd, &sf) < 0 || sf.f_type != NSFS_MAGIC) {
		close(pfd);
		return -EINVAL;
	}
	char self[64];
	snprintf(self, sizeof(self), "/proc/self/fd/%d", pfd);
	fd = open(self, O_RDONLY | O_CLOEXEC);
	fd = fd < 0 ? -errno : fd;
	close(pfd);
	return fd;
}

static void *netns_thread(void *arg)
{
	struct netns_job *j = arg;
	uint64_t want = j->cookie;
	int nfd = open_nsfs(j->path);
	if (nfd < 0) {
		j->rc = nfd;
		j->err = nfd == -ENOENT ? "the namespace is gone"
			 : nfd == -EINVAL ? "not a network namespace" : "cannot open the namespace";
		return NULL;
	}
	if (setns(nfd, CLONE_NEWNET) < 0) {
		j->rc = -errno;
		j->err = errno == EINVAL ? "not a network namespace" : "setns";
		close(nfd);
		return NULL;
	}
	close(nfd);
	if ((j->rc = cookie_here(&j->cookie)) < 0) {
		j->err = "SO_NETNS_COOKIE";
		return NULL;
	}
	if (want && j->cookie != want) {
		j->rc = -ESTALE;
		j->err = "the path names another namespace now (its cookie differs)";
		return NULL;
	}
	j->rc = j->ifindex ? find_here(j) : 0;
	return NULL;
}

/* Run j in a short-lived thread inside j->path's namespace. */
static int in_netns(struct netns_job *j)
{
	pthread_t th;
	int rc = pthread_create(&th, NULL, netns_thread, j);
	if (rc != 0)
		return j->err = "pthread_create", -rc;
	pthread_join(th, NULL);
	return j->rc;
}

int sl_tap_netns_cookie(const char *netns, uint64_t *ret_cookie, const char **ret_err_msg)
{
	struct netns_job j = { .path = netns, .err = "" };
	int rc = in_netns(&j);
	*ret_err_msg = j.err;
	if (rc == 0)
		*ret_cookie = j.cookie;
	return rc;
}

int sl_tap_find(const char *netns, uint64_t cookie, uint32_t ifindex, const char *host_name,
		const uint8_t mac[6], int *ret_fds, unsigned *n, bool *ret_in_pod,
		const char **ret_err_msg)
{
	struct netns_job j = { .path = netns, .cookie = cookie, .ifindex = ifindex, .mac = mac,
			       .fds = ret_fds, .n_fds = *n, .err = "" };
	int rc = netns ? in_netns(&j) : -ENODEV;
	*ret_in_pod = rc == 0;
	/* Not in the pod's namespace (or that is gone, or not the pod's any more): the CNI may
	 * never have moved the tap, still in sluiced's namespace under the name it was made
	 * with. Found there, the pod keeps it until its DEL; else the first reason stands. */
	if (rc == -ENODEV || rc == -ENOENT || rc == -ESTALE) {
		struct netns_job h = { .ifindex = ifindex, .mac = mac, .name = host_name,
				       .fds = ret_fds, .n_fds = *n, .err = "" };
		int hrc = host_name ? find_here(&h) : -ENODEV;
		if (hrc != -ENODEV) {
			rc = hrc;
			j.n_fds = h.n_fds;
			j.err = h.err;
		} else if (rc == -ENODEV) {
			j.err = netns ? "no device with the tap's ifindex in the pod's namespace, "
					"nor the tap in sluiced's (deleted)"
				      : "no such tap";
		}
	}
	*ret_err_msg = j.err;
	if (rc == 0)
		*n = j.n_fds;
	return rc;
}
