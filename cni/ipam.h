/* sluice-cni: delegation to the IPAM plugin (SPEC.md "Section 4: Plugin Delegation").
 *
 * The delegate is looked up in each CNI_PATH directory, run with this process's
 * environment (CNI_COMMAND and, for GC's per-attachment releases, CNI_CONTAINERID and
 * CNI_IFNAME overridden), the complete network configuration on stdin, its stderr passed
 * through, its stdout read (at most SL_CNI_MAX_OUTPUT bytes) and bounded in time by
 * SL_CNI_IPAM_TIMEOUT_MS. */
#pragma once
#include "cni.h"
#include "conf.h"
#include "result.h"

/* One delegated run. */
struct sl_cni_ipam_call {
	const char *type;         /* plugin name (ipam.type) */
	const char *cni_path;     /* CNI_PATH */
	const char *command;      /* "ADD", "DEL", "CHECK", "STATUS", "GC" */
	const char *container_id; /* override CNI_CONTAINERID, or NULL to inherit */
	const char *ifname;       /* override CNI_IFNAME, or NULL to inherit */
	const char *config;       /* stdin text */
};

/* Run the IPAM plugin. Returns 0 with *ret_out (its stdout, NUL-terminated, free()) when
 * it exited 0. On failure: -ENOENT (code 7: not found in CNI_PATH), -EIO (code 5: could
 * not run it, or it timed out), -EPROTO (it exited non-zero: its own CNI error object's
 * code, msg and details, msg prefixed "ipam <type>: "; code 102 if it printed none). */
int sl_cni_ipam_exec(const struct sl_cni_ipam_call *call, char **ret_out,
		     struct sl_cni_err *err);

/* Run call, and when the plugin answers code 1 (incompatible version) for a 1.1.0 config,
 * run it again with cniVersion "1.0.0" (the 1.0.0 and 1.1.0 IPAM results are the same;
 * older host-local builds know only 1.0.0). With ret non-NULL the output is parsed as an
 * IPAM result (sl_cni_ipam_result_parse). Returns as sl_cni_ipam_exec, or the parser's
 * error. */
int sl_cni_ipam_run(const struct sl_cni_ipam_call *call, struct sl_cni_ipam_result *ret,
		    struct sl_cni_err *err);

/* Whether the plugin lists version among its supportedVersions (asked with VERSION):
 * 1 yes, 0 no, or a negative errno. STATUS and GC are delegated only to a plugin that
 * implements 1.1.0 (older Go plugins refuse them before looking at the command). */
int sl_cni_ipam_supports(const struct sl_cni_ipam_call *c, const char *version,
			 struct sl_cni_err *err);
