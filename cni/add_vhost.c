/* sluice-cni: ADD of a vhost-user pod: no kernel interface. The attachment's owner record
 * and socket directory (vhost.h), its device-info file (and the runtime's
 * CNIDeviceInfoFile), then pod.add with the socket, sluiced's vhost_mode and the
 * attachment's MAC; the result names socketPath. Undone by removing the CNIDeviceInfoFile
 * and the directory (only while its owner record is ours). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "plugin.h"

int sl_cni_add_vhost(struct sl_cni_run *r, struct sl_cni_err *err)
{
	struct sl_cni_add ad = SL_CNI_ADD_INIT;
	struct sl_cni_err ignored;
	bool dir_done = false, devinfo_done = false;
	char *info = NULL;
	int dfd = -1, rc;

	if (r->vh_rc < 0) { /* before anything is allocated: the config cannot work */
		*err = r->vh_err;
		return r->vh_rc;
	}
	if ((rc = sl_cni_add_begin(r, &ad, err)) < 0)
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

	ad.sp.vhost = true;
	ad.sp.vhost_server = r->conf.vhost_server;
	snprintf(ad.sp.socket, sizeof(ad.sp.socket), "%s", r->vh.socket);
	memcpy(ad.sp.mac, r->vh.mac, 6);
	if ((rc = sl_cni_add_pod(r, &ad, err)) < 0)
		goto out;

	ad.a.socket_path = r->vh.socket;
	memcpy(ad.a.pod_mac, r->vh.mac, 6);
	rc = sl_cni_add_result(r, &ad, err);
out:
	sl_cni_add_undo_pod(r, &ad, rc);
	if (rc < 0 && devinfo_done)
		unlink(r->conf.devinfo_file);
	if (rc < 0 && dir_done)
		sl_cni_vhost_dir_remove(r->conf.socket_dir, r->vh.id, &r->me, false, &ignored);
	if (dfd >= 0)
		close(dfd);
	free(info);
	return sl_cni_add_end(r, &ad, rc);
}
