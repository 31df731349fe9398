/* sluice-cni: definitions shared by the plugin's modules.
 *
 * The plugin is a short-lived, single-threaded process that the container runtime execs once
 * per operation (CNI spec 1.0.0/1.1.0, SPEC.md "Section 2: Execution Protocol"). Every
 * function reports failure as a negative errno and fills a struct sl_cni_err with the CNI
 * error code and a message that names the failing field or step; main.c prints it as the
 * spec's error object. IPv4 addresses are uint32_t in network byte order throughout. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SL_CNI_SPEC_VERSION "1.1.0"          /* highest version implemented */
#define SL_CNI_MAX_STDIN (1024 * 1024)       /* bytes of config accepted on stdin */
#define SL_CNI_MAX_OUTPUT (4 * 1024 * 1024)  /* bytes read from sluiced or an IPAM plugin */
#define SL_CNI_DEFAULT_SOCKET "/run/sluice/sluiced.sock"
#define SL_CNI_API_TIMEOUT_MS 30000          /* one request to sluiced, connect included */
#define SL_CNI_IPAM_TIMEOUT_MS 60000         /* one IPAM plugin run */

/* CNI error codes (SPEC.md "Error"); 100+ are this plugin's own. */
enum sl_cni_code {
	SL_CNI_E_VERSION = 1,       /* incompatible CNI version */
	SL_CNI_E_UNSUPPORTED = 2,   /* unsupported field (message has key and value) */
	SL_CNI_E_NO_CONTAINER = 3,  /* container unknown or does not exist */
	SL_CNI_E_ENV = 4,           /* invalid necessary environment variable */
	SL_CNI_E_IO = 5,            /* I/O failure */
	SL_CNI_E_DECODE = 6,        /* failed to decode content */
	SL_CNI_E_CONFIG = 7,        /* invalid network config */
	SL_CNI_E_TRY_AGAIN = 11,    /* transient: sluiced not reachable */
	SL_CNI_E_NOT_AVAILABLE = 50,/* STATUS: cannot service ADD */
	SL_CNI_E_DAEMON = 100,      /* sluiced refused the request (details: its reason) */
	SL_CNI_E_SYSTEM = 101,      /* a netlink/system call failed (details: which, why) */
	SL_CNI_E_IPAM = 102,        /* the IPAM plugin failed without a CNI error object */
	SL_CNI_E_CHECK = 103,       /* CHECK found the attachment not as ADD left it */
	SL_CNI_E_IN_USE = 104,      /* the attachment's socket directory is another's (id collision) */
};

/* An error to report: code, short message naming the field or step, optional details. */
struct sl_cni_err {
	int code;           /* enum sl_cni_code, or a delegated plugin's own code */
	char msg[512];      /* e.g. "mtu: must be an integer between 68 and 65535" */
	char details[1024]; /* longer explanation; may be empty */
};

/* Fill err with code and the printf-style message (details cleared). Returns -EINVAL so a
 * caller can `return sl_cni_fail(...)`. */
int sl_cni_fail(struct sl_cni_err *err, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Set err->details (printf-style); keeps code and msg. */
void sl_cni_detail(struct sl_cni_err *err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Format an IPv4 address (network order) into buf (≥ 16 bytes); returns buf. */
const char *sl_cni_fmt_ip(uint32_t ip, char *buf);

/* Parse "a.b.c.d" into *ret_ip. Returns 0 or -EINVAL. */
int sl_cni_parse_ip(const char *s, uint32_t *ret_ip);

/* Parse "a.b.c.d/len" into address and prefix length; host bits are kept (IPAM results
 * carry the host address with the subnet's length). Returns 0 or -EINVAL. */
int sl_cni_parse_cidr(const char *s, uint32_t *ret_ip, uint8_t *ret_len);

/* The netmask of a prefix length, network order. */
uint32_t sl_cni_mask(uint8_t len);
