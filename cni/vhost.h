/* sluice-cni: vhost-user attachments: the per-attachment socket directory and socket path,
 * the MAC, the NPWG device-info file (device-info spec 1.1.0, type "vhost-user").
 *
 * Layout on the node:
 *   <socketDir>/<id>/                 made by ADD (0755), removed by DEL and GC
 *   <socketDir>/<id>/<ifname>.sock    the vhost-user socket: created by the pod's DPDK app
 *                                     (vhostMode "client") or by sluiced ("server")
 *   <socketDir>/<id>/device-info.json {"type":"vhost-user","version":"1.1.0",
 *                                      "vhost-user":{"mode":<the pod's role>,"path":...}}
 * where <id> is 12 hex digits of sl_cni_attach_hash (the same as the veth host end's
 * name without "sl"). The pod mounts <socketDir> (or <socketDir>/<id>) at the same path.
 *
 * The path functions are pure (unit-tested); the file functions act on the node's file
 * system and fill err with code 101 (a system call failed) naming the path. */
#pragma once
#include <stdbool.h>
#include <stdint.h>

#include "cni.h"
#include "conf.h"

#define SL_CNI_VHOST_ID_LEN 12
#define SL_CNI_DEVINFO_NAME "device-info.json"
#define SL_CNI_DEVINFO_VERSION "1.1.0"

/* Where one vhost-user attachment lives. */
struct sl_cni_vhost {
	char id[SL_CNI_VHOST_ID_LEN + 1];  /* 12 lowercase hex digits */
	char dir[SL_CNI_SOCKET_MAX + 16];  /* <socketDir>/<id> (always fits) */
	char socket[SL_CNI_SOCKET_MAX];    /* <dir>/<ifname>.sock; "" when it does not fit */
	char devinfo[SL_CNI_SOCKET_MAX + 16 + sizeof(SL_CNI_DEVINFO_NAME)]; /* <dir>/device-info.json */
	uint8_t mac[6];                    /* the configured MAC, else generated */
};

/* Fill ret for the attachment (container_id, ifname) under c->socket_dir. The MAC is c's
 * when given, else sl_cni_vhost_mac. Returns 0, or -ENAMETOOLONG (code 7, message starting
 * "socketDir:") when the socket path would not fit sun_path (107 bytes); id, dir, devinfo
 * and mac are filled in any case, so DEL and GC work whatever the length. */
int sl_cni_vhost_paths(const struct sl_cni_conf *c, const char *container_id,
		       const char *ifname, struct sl_cni_vhost *ret, struct sl_cni_err *err);

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

/* Create the attachment directory: socketDir and its parents (0755) when missing, then
 * <dir> with mode 0755 (umask ignored). A <dir> left over from an earlier attachment of the
 * same id is emptied first (a stale socket would make the pod's bind() fail). */
int sl_cni_vhost_dir_create(const struct sl_cni_vhost *v, struct sl_cni_err *err);

/* Remove path and everything below it, never following symbolic links (at most 16
 * levels deep). A missing path is success. */
int sl_cni_rm_tree(const char *path, struct sl_cni_err *err);

/* Write text to path atomically (a temporary file in the same directory, renamed), mode
 * 0644; with make_parents the directory and its parents are created (0755) first. */
int sl_cni_write_file(const char *path, const char *text, bool make_parents,
		      struct sl_cni_err *err);
