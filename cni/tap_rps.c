/* sluice-cni: a tap pod's receive steering (drivers/sl_tap.h "Receive steering"). */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <unistd.h>

#include "plugin.h"

struct rps_job {
	int netns_fd;
	const char *ifname, *mask;
	int rc;
	const char *step;
};

/* Write mask to every receive queue of ifname (rx-0, rx-1, ...: one per sluiced worker)
 * under the sysfs mount mnt. Returns NULL, or the failing step (errno set). */
static const char *write_queues(int mnt, const char *ifname, const char *mask)
{
	ssize_t len = (ssize_t)strlen(mask);
	for (unsigned q = 0;; q++) {
		char path[64];
		snprintf(path, sizeof(path), "class/net/%s/queues/rx-%u/rps_cpus", ifname, q);
		int fd = openat(mnt, path, O_WRONLY | O_CLOEXEC);
		if (fd < 0)
			return q > 0 && errno == ENOENT ? NULL : "opening the interface's rps_cpus";
		bool ok = write(fd, mask, (size_t)len) == len;
		close(fd);
		if (!ok)
			return "writing rps_cpus";
	}
}

/* In a thread inside the pod's namespace: a sysfs instance of that namespace, mounted
 * nowhere (fsmount's detached mount: no mount table changes, nothing to clean up), and
 * the mask written to the device's receive queues. */
static void *rps_thread(void *p)
{
	struct rps_job *j = p;
	int fs = -1, mnt = -1;
	j->rc = 0;
	errno = 0;
	if (setns(j->netns_fd, CLONE_NEWNET) < 0)
		j->step = "entering the pod namespace";
	else if ((fs = fsopen("sysfs", FSOPEN_CLOEXEC)) < 0 ||
		 fsconfig(fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0 ||
		 (mnt = fsmount(fs, FSMOUNT_CLOEXEC, MOUNT_ATTR_NOEXEC)) < 0)
		j->step = "a sysfs of the pod namespace";
	else
		j->step = write_queues(mnt, j->ifname, j->mask);
	if (j->step)
		j->rc = errno ? -errno : -EIO;
	if (mnt >= 0)
		close(mnt);
	if (fs >= 0)
		close(fs);
	return NULL;
}

int sl_cni_tap_rps(int netns_fd, const char *ifname, const char *mask)
{
	struct rps_job j = { .netns_fd = netns_fd, .ifname = ifname, .mask = mask,
			     .rc = -EINVAL, .step = "a thread for the pod namespace" };
	pthread_t t;
	int rc = pthread_create(&t, NULL, rps_thread, &j);
	if (rc != 0)
		j.rc = -rc;
	else
		pthread_join(t, NULL);
	if (j.rc < 0)
		fprintf(stderr, "sluice-cni: warning: tap pod %s: receive steering (rps_cpus %s) "
			"not set: %s: %s; the pod's receive processing runs on sluiced's worker "
			"core\n", ifname, mask, j.step, strerror(-j.rc));
	return j.rc;
}
