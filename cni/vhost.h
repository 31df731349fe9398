/* sluice-cni: vhost-user attachments: the per-attachment socket directory and socket path,
 * who owns it, the MAC, the NPWG device-info file (device-info spec 1.1.0, "vhost-user").
 *
 * Layout on the node (docs/cni.md "Isolating vhost-user pods"):
 *   <socketDir>/                      root's, 0755; never mounted into a pod
 *   <socketDir>/<id>/                 the attachment's directory, made by ADD, removed by DEL
 *                                     and GC: owned by the pod's user (socketUid/socketGid)
 *                                     or root, mode 0700 (0750 with a group). The only thing
 *                                     a pod mounts (hostPath + subPathExpr: $(POD_UID)-<ifname>)
 *   <socketDir>/<id>/<ifname>.sock    the vhost-user socket: created by the pod's DPDK app
 *                                     (vhostMode "client") or by sluiced ("server")
 *   <socketDir>/<id>/device-info.json {"type":"vhost-user","version":"1.1.0",
 *                                      "vhost-user":{"mode":<the pod's role>,"path":...}}
 *   <socketDir>/.owner/<id>           root's, 0600: which attachment (container id, ifname,
 *                                     pod UID) the directory belongs to; out of pods' reach
 * where <id> is "<K8S_POD_UID>-<ifname>" when the runtime passes K8S_POD_UID in CNI_ARGS
 * (Kubernetes), else 12 hex digits of sl_cni_attach_hash (the veth host end's name without
 * "sl"). Two attachments never share a directory: ADD refuses an <id> whose owner record
 * names another attachment (code 104), except a newer sandbox of the same pod UID, which
 * takes it over; DEL and GC remove only what the record says is theirs.
 *
 * Every file operation works from directory fds: socketDir is opened component by
 * component from "/" without following symbolic links, everything below it relative to
 * that fd with O_NOFOLLOW (openat, mkdirat, fchown/fchmod on the opened fd, renameat,
 * unlinkat), so nothing a pod can rename or replace in its directory redirects root.
 *
 * The path functions are pure (unit-tested); the file functions act on the node's file
 * system and fill err with code 101 (a system call failed) naming the path. */
#pragma once
#include <stdbool.h>
#include <stdint.h>

#include "cni.h"
#include "conf.h"

#define SL_CNI_VHOST_ID_LEN 12 /* the hashed id: 12 hex digits */
#define SL_CNI_VHOST_ID_MAX (SL_CNI_UID_MAX + SL_CNI_IFNAME_MAX + 1) /* "<uid>-<ifname>" */
#define SL_CNI_OWNER_DIR ".owner"
#define SL_CNI_DEVINFO_NAME "device-info.json"
#define SL_CNI_DEVINFO_VERSION "1.1.0"

/* Where one vhost-user attachment lives. */
struct sl_cni_vhost {
	char id[SL_CNI_VHOST_ID_MAX];      /* "<pod uid>-<ifname>", or 12 lowercase hex digits */
	char dir[SL_CNI_SOCKET_MAX + SL_CNI_VHOST_ID_MAX]; /* <socketDir>/<id> (always fits) */
	char socket[SL_CNI_SOCKET_MAX];    /* <dir>/<ifname>.sock; "" when it does not fit */
	char devinfo[SL_CNI_SOCKET_MAX + SL_CNI_VHOST_ID_MAX + sizeof(SL_CNI_DEVINFO_NAME)];
	uint8_t mac[6];                    /* the configured MAC, else generated */
};

/* Whose an attachment directory is (the owner record). */
struct sl_cni_vhost_owner {
	char container_id[SL_CNI_ID_MAX];
	char ifname[SL_CNI_IFNAME_MAX];
	char pod_uid[SL_CNI_UID_MAX];     /* "" outside Kubernetes */
};

/* Fill ret for the attachment (container_id, ifname) of the pod pod_uid ("" when unknown)
 * under c->socket_dir. The MAC is c's when given, else sl_cni_vhost_mac. Returns 0, or
 * -ENAMETOOLONG (code 7, message starting "socketDir:") when the socket path would not fit
 * sun_path (107 bytes); id, dir, devinfo and mac are filled in any case, so DEL and GC work
 * whatever the length. */
int sl_cni_vhost_paths(const struct sl_cni_conf *c, const char *container_id,
		       const char *ifname, const char *pod_uid, struct sl_cni_vhost *ret,
		       struct sl_cni_err *err);

/* The generated MAC of an attachment: locally administered, unicast, from hash
 * (sl_cni_attach_hash): byte 0 = (bits 56..63 & 0xfc) | 0x02, bytes 1..5 = bits 0..39. */
void sl_cni_vhost_mac(uint64_t hash, uint8_t mac[6]);

/* Whether name has the shape of an attachment directory (12 lowercase hex digits). */
bool sl_cni_is_vhost_id(const char *name);

/* The device-info JSON (pretty-printed text, free()) of a vhost-user socket. mode is the
 * POD's role (device-info spec 3.1.5.1): "server" when sluiced is the vhost-user client
 * (vhostMode "client": the pod creates the socket), "client" when sluiced is the server.
 * NULL on no memory. */
char *sl_cni_vhost_devinfo(const char *socket, bool sluiced_server);

/* Open socket_dir (absolute) component by component from "/" with O_NOFOLLOW|O_DIRECTORY;
 * with create, missing components are made (0755). A symbolic link on the way is refused
 * (code 7, "socketDir: ... is a symbolic link"). Returns the fd (>= 0), -ENOENT when
 * missing and !create, or -errno with err filled. */
int sl_cni_vhost_base_open(const char *socket_dir, bool create, struct sl_cni_err *err);

/* Read the owner record of id (base: sl_cni_vhost_base_open's fd). Returns 0, -ENOENT
 * when there is none, or another -errno (a record that is not a regular file, or garbled:
 * -EBADMSG). */
int sl_cni_vhost_owner_read(int base, const char *id, struct sl_cni_vhost_owner *ret);

/* ADD: make v's directory for attachment me. An owner record of another attachment is
 * refused with code 104 ("socket directory ... belongs to container ...") unless it is
 * the same pod (pod UID, a newer sandbox), which takes it over. Writes me's record, empties
 * a leftover directory (a stale socket would make the pod's bind() fail), makes <id> and
 * gives it to uid/gid when c->has_uid/has_gid (mode 0700, 0750 with a group), umask
 * ignored. Returns the directory's fd (>= 0, close it) or -errno. */
int sl_cni_vhost_dir_create(const struct sl_cni_conf *c, const struct sl_cni_vhost *v,
			    const struct sl_cni_vhost_owner *me, struct sl_cni_err *err);

/* DEL, and undoing a failed ADD: remove <socketDir>/<id> and its owner record, unless the
 * record names another attachment (then nothing is touched: 1 is returned). With search,
 * when <id> has no record of me (a DEL without the K8S_POD_UID its ADD had), the records
 * are searched for me. A missing directory is success (0). Returns 0, 1 or -errno. */
int sl_cni_vhost_dir_remove(const char *socket_dir, const char *id,
			    const struct sl_cni_vhost_owner *me, bool search,
			    struct sl_cni_err *err);

/* CHECK: 0 when <socketDir>/<id> is a directory whose record names me (or that has none),
 * -ENOENT when missing, -EPERM when another attachment's. */
int sl_cni_vhost_dir_check(const char *socket_dir, const char *id,
			   const struct sl_cni_vhost_owner *me);

/* GC: call fn for every attachment directory under socket_dir: name, and its owner record
 * (NULL when it has none). fn returns true to have it removed (directory and record).
 * Owner records without a directory are offered too (name as recorded). Returns 0 or the
 * first -errno (err filled). */
int sl_cni_vhost_gc(const char *socket_dir,
		    bool (*fn)(const char *name, const struct sl_cni_vhost_owner *o, void *arg),
		    void *arg, struct sl_cni_err *err);

/* Write text as file name in directory dirfd atomically (a new temporary file, O_EXCL and
 * O_NOFOLLOW, renamed with renameat), mode 0644; shown names the file in errors. */
int sl_cni_write_at(int dirfd, const char *name, const char *text, const char *shown,
		    struct sl_cni_err *err);

/* Remove path and everything below it, never following symbolic links (at most 16
 * levels deep). A missing path is success. */
int sl_cni_rm_tree(const char *path, struct sl_cni_err *err);

/* Write text to path atomically (sl_cni_write_at in path's directory), mode 0644; with
 * make_parents the directory and its parents are created (0755) first. For files at paths
 * the runtime chooses (CNIDeviceInfoFile). */
int sl_cni_write_file(const char *path, const char *text, bool make_parents,
		      struct sl_cni_err *err);
