/* The state file writer: atomic, mode 0600, never through a symbolic link; paths that do
 * not fit are refused at start. The journal: a save costs the change (one line appended,
 * the snapshot untouched) and what was saved comes back at a restart, lines cut by a crash
 * or of an older snapshot ignored. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <dirent.h>
#include <unistd.h>
#include <arpa/inet.h>

#include <cmocka.h>

#include "control/model/sl_policy.h"
#include "control/model/sl_service.h"
#include "control/sources/sl_persist.h"
#include "control/sources/sl_request.h"

static char dir[64];

static int setup(void **s)
{
	snprintf(dir, sizeof(dir), "/tmp/sl-persist-XXXXXX");
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **s)
{
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd);
}

static void slurp(const char *path, char *buf, size_t n)
{
	FILE *f = fopen(path, "r");
	assert_non_null(f);
	size_t len = fread(buf, 1, n - 1, f);
	buf[len] = 0;
	fclose(f);
}

/* The state path is a symbolic link to a file root must not write (a victim): the write
 * replaces the link with a regular file of mode 0600 and leaves the victim alone. */
static void test_write_replaces_symlink(void **s)
{
	char victim[128], state[128], buf[64];
	struct stat st;
	snprintf(victim, sizeof(victim), "%s/victim", dir);
	snprintf(state, sizeof(state), "%s/state.json", dir);
	FILE *f = fopen(victim, "w");
	assert_non_null(f);
	fputs("precious\n", f);
	fclose(f);
	assert_int_equal(symlink(victim, state), 0);
	mode_t old = umask(0);
	assert_int_equal(sl_persist_write(state, "{\"pods\":[]}\n"), 0);
	umask(old);
	slurp(victim, buf, sizeof(buf));
	assert_string_equal(buf, "precious\n");
	assert_int_equal(lstat(state, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0600);
	slurp(state, buf, sizeof(buf));
	assert_string_equal(buf, "{\"pods\":[]}\n");
	/* Nothing but the state file and the victim is left in the directory. */
	char tmp[160];
	snprintf(tmp, sizeof(tmp), "%s/.state.json" SL_PERSIST_TMP_SUFFIX "%d", dir, (int)getpid());
	assert_int_equal(access(tmp, F_OK), -1);
}

/* A temporary name planted as a symbolic link is not written through either. */
static void test_write_tmp_symlink(void **s)
{
	char victim[128], state[128], tmp[160], buf[64];
	snprintf(victim, sizeof(victim), "%s/victim2", dir);
	snprintf(state, sizeof(state), "%s/s2.json", dir);
	snprintf(tmp, sizeof(tmp), "%s/.s2.json" SL_PERSIST_TMP_SUFFIX "%d", dir, (int)getpid());
	FILE *f = fopen(victim, "w");
	assert_non_null(f);
	fputs("precious\n", f);
	fclose(f);
	assert_int_equal(symlink(victim, tmp), 0);
	snprintf(tmp, sizeof(tmp), "%s/s2.json.tmp", dir); /* the name before the fix */
	assert_int_equal(symlink(victim, tmp), 0);
	assert_int_equal(sl_persist_write(state, "x"), 0);
	slurp(victim, buf, sizeof(buf));
	assert_string_equal(buf, "precious\n");
	slurp(state, buf, sizeof(buf));
	assert_string_equal(buf, "x");
}

static void test_read(void **s)
{
	char state[128], link[128], *text;
	size_t len;
	snprintf(state, sizeof(state), "%s/r.json", dir);
	snprintf(link, sizeof(link), "%s/r-link.json", dir);
	assert_int_equal(sl_persist_read(state, &text, &len, 100), -ENOENT);
	assert_int_equal(sl_persist_write(state, "hello"), 0);
	assert_int_equal(sl_persist_read(state, &text, &len, 100), 0);
	assert_int_equal(len, 5);
	assert_string_equal(text, "hello");
	free(text);
	assert_int_equal(symlink(state, link), 0);
	assert_int_equal(sl_persist_read(link, &text, &len, 100), -ELOOP);
	assert_int_equal(sl_persist_read(dir, &text, &len, 100), -EINVAL);
}

static void expect_path(const char *path, int rc, const char *want)
{
	char err[256] = "";
	assert_int_equal(sl_persist_check_path(path, err, sizeof(err)), rc);
	if (want && !strstr(err, want))
		fail_msg("error '%s' does not contain '%s'", err, want);
}

static void test_check_path(void **s)
{
	static char longp[SL_PERSIST_PATH_MAX + 8];
	char p[PATH_MAX], link[128];
	snprintf(p, sizeof(p), "%s/ok.json", dir);
	expect_path(p, 0, NULL);
	memset(longp, 'a', sizeof(longp) - 1);
	longp[0] = '/';
	expect_path(longp, -ENAMETOOLONG, "--state: path is");
	snprintf(p, sizeof(p), "%s/%0250d", dir, 0);
	expect_path(p, -ENAMETOOLONG, "too long for its temporary file");
	snprintf(p, sizeof(p), "%s/missing/x.json", dir);
	expect_path(p, -ENOENT, "--state: directory");
	snprintf(p, sizeof(p), "%s/", dir);
	expect_path(p, -EINVAL, "does not name a file");
	snprintf(link, sizeof(link), "%s/l.json", dir);
	assert_int_equal(symlink("/etc/passwd", link), 0);
	expect_path(link, -EINVAL, "symbolic link");
}


/* ---- The journal ---------------------------------------------------------------------- */

static struct sl_model *new_model(void)
{
	struct sl_model_self self = { .pod_cidr = { .addr = { .af = AF_INET, .v4 = htonl(0x0af40100) },
						    .len = 24 } };
	self.node_ip.af = AF_INET;
	self.node_ip.v4 = htonl(0xc6120001); /* 198.18.0.1 */
	self.gateway_ip.af = AF_INET;
	self.gateway_ip.v4 = htonl(0x0af40101);
	struct sl_model *m = sl_model_create(&self, NULL);
	assert_non_null(m);
	return m;
}

/* One API request as sluiced's API handles it: parsed, noted, applied (the save of its
 * round comes later). */
static void req_noted(struct sl_model *m, const char *text)
{
	struct sl_request r;
	char err[400] = "";
	int rc = sl_request_parse(text, strlen(text), &r, err, sizeof(err));
	if (rc)
		fail_msg("request %s: %s", text, err);
	sl_persist_note_request(&r);
	switch (r.cmd) {
	case SL_CMD_POD_ADD: rc = sl_model_pod_add(m, &r.pod, err, sizeof(err)); break;
	case SL_CMD_POD_DEL: rc = sl_model_pod_del(m, r.namespace, r.name, err, sizeof(err)); break;
	case SL_CMD_ROUTE_ADD: rc = sl_model_route_add(m, &r.route, err, sizeof(err)); break;
	case SL_CMD_APPLY: rc = sl_model_k8s_apply(m, r.ops, r.n_ops, err, sizeof(err)); break;
	case SL_CMD_SVC_DEL: rc = sl_model_svc_del(m, r.namespace, r.name, err, sizeof(err)); break;
	case SL_CMD_SLICE_DEL:
		rc = sl_model_slice_del(m, r.namespace, r.name, err, sizeof(err));
		break;
	case SL_CMD_K8S_DEL: /* as sl_api.c's */
		rc = r.k8s_kind == SL_K8S_NAMESPACE ? sl_model_ns_del(m, r.name, err, sizeof(err))
		     : r.k8s_kind == SL_K8S_POD
			     ? sl_model_kpod_del(m, r.namespace, r.name, err, sizeof(err))
			     : sl_model_policy_del(m, r.namespace, r.name, err, sizeof(err));
		break;
	default: fail_msg("no handler here for %s", text);
	}
	sl_request_free(&r);
	if (rc)
		fail_msg("request %s: %s", text, err);
}

/* One API request, then the round's save (sl_api_round_end). */
static void req(struct sl_model *m, const char *path, const char *text)
{
	req_noted(m, text);
	assert_int_equal(sl_persist_commit(path, m), 0);
}

/* An apply request: Services svc-FIRST.. with one slice of eps endpoints each. */
static void apply_svcs(struct sl_model *m, const char *path, unsigned first, unsigned count,
		       unsigned eps)
{
	size_t cap = 64 + count * (600 + eps * 64), l = 0;
	char *t = malloc(cap);
	l += (size_t)snprintf(t + l, cap - l, "{\"cmd\":\"apply\",\"objects\":{\"kind\":\"List\","
			      "\"items\":[");
	for (unsigned i = first; i < first + count; i++) {
		l += (size_t)snprintf(t + l, cap - l, "%s{\"kind\":\"Service\",\"metadata\":{\"name\":"
				      "\"svc-%u\",\"namespace\":\"ns\"},\"spec\":{\"clusterIP\":"
				      "\"10.96.%u.%u\",\"ports\":[{\"port\":80,\"targetPort\":8080}]}},"
				      "{\"kind\":\"EndpointSlice\",\"metadata\":{\"name\":\"svc-%u-x\","
				      "\"namespace\":\"ns\",\"labels\":{\"kubernetes.io/service-name\":"
				      "\"svc-%u\"}},\"addressType\":\"IPv4\",\"endpoints\":[",
				      i == first ? "" : ",", i, i / 250, i % 250 + 1, i, i);
		for (unsigned k = 0; k < eps; k++)
			l += (size_t)snprintf(t + l, cap - l, "%s{\"addresses\":[\"10.244.%u.%u\"]}",
					      k ? "," : "", 2 + k, i % 250 + 1);
		l += (size_t)snprintf(t + l, cap - l, "],\"ports\":[{\"port\":8080}]}");
	}
	snprintf(t + l, cap - l, "]}}");
	req(m, path, t);
	free(t);
}

static off_t file_size(const char *path, ino_t *ino)
{
	struct stat st;
	if (stat(path, &st) < 0)
		return -1;
	if (ino)
		*ino = st.st_ino;
	return st.st_size;
}

static unsigned slice_eps(const struct sl_model *m, const char *name)
{
	struct sl_model_slice *s = sl_model_slice_find(m, "ns", name);
	return s ? s->spec->n_eps : 0;
}

/* A restart after changes saved as journal lines gets every one back; the snapshot was
 * written once and never rewritten for the small changes (each one line). */
static void test_journal_restores(void **s)
{
	char path[128], jpath[160];
	struct sl_persist_stats a, b;
	ino_t ino0, ino1;
	snprintf(path, sizeof(path), "%s/j.json", dir);
	snprintf(jpath, sizeof(jpath), "%s" SL_PERSIST_JOURNAL_SUFFIX, path);
	struct sl_model *m = new_model();
	sl_persist_get_stats(&a);
	apply_svcs(m, path, 0, 50, 3); /* the first save: a snapshot */
	sl_persist_get_stats(&b);
	assert_int_equal(b.snapshots - a.snapshots, 1);
	off_t snap = file_size(path, &ino0);
	assert_true(snap > 0);

	req(m, path, "{\"cmd\":\"pod.add\",\"pod\":{\"name\":\"p1\",\"ip\":\"10.244.1.2\","
		     "\"mac\":\"02:00:00:00:00:02\",\"ifname\":\"veth-p1\"}}");
	apply_svcs(m, path, 3, 1, 1);                /* svc-3's slice: 3 endpoints -> 1 */
	apply_svcs(m, path, 60, 1, 2);               /* a new Service */
	req(m, path, "{\"cmd\":\"service.del\",\"namespace\":\"ns\",\"name\":\"svc-7\"}");
	req(m, path, "{\"cmd\":\"endpointslice.del\",\"namespace\":\"ns\",\"name\":\"svc-7-x\"}");
	req(m, path, "{\"cmd\":\"route.add\",\"route\":{\"prefix\":\"203.0.113.0/24\","
		     "\"via\":\"198.18.0.2\"}}");
	req(m, path, "{\"cmd\":\"pod.add\",\"pod\":{\"name\":\"p2\",\"ip\":\"10.244.1.3\","
		     "\"mac\":\"02:00:00:00:00:03\",\"ifname\":\"veth-p2\"}}");
	req(m, path, "{\"cmd\":\"pod.del\",\"name\":\"p2\"}");
	sl_persist_get_stats(&a);
	assert_int_equal(a.snapshots, b.snapshots);   /* no rewrite of the whole state */
	assert_int_equal(a.appends - b.appends, 8);   /* one line per change */
	assert_int_equal(file_size(path, &ino1), snap); /* the very same snapshot */
	assert_true(ino1 == ino0);
	off_t jsize = file_size(jpath, NULL);
	assert_true(jsize > 0 && jsize < snap);
	assert_int_equal((size_t)jsize, a.journal_bytes);
	sl_model_destroy(m);

	/* The restart: everything acknowledged is back. */
	struct sl_model *m2 = new_model();
	char err[256] = "";
	int n = sl_persist_load(path, m2, err, sizeof(err));
	struct sl_model_counts c;
	sl_model_counts(m2, &c);
	assert_int_equal(c.services, 50);              /* 0..49 + 60 - 7 */
	assert_int_equal(c.slices, 50);
	assert_int_equal(c.pods, 1);
	assert_int_equal(c.routes, 1);
	assert_int_equal(n, 50 + 50 + 1 + 1);
	assert_null(sl_model_svc_find(m2, "ns", "svc-7"));
	assert_non_null(sl_model_svc_find(m2, "ns", "svc-60"));
	assert_non_null(sl_model_pod_find(m2, "default", "p1"));
	assert_null(sl_model_pod_find(m2, "default", "p2"));
	assert_int_equal(slice_eps(m2, "svc-3-x"), 1);
	assert_int_equal(slice_eps(m2, "svc-4-x"), 3);
	assert_int_equal(slice_eps(m2, "svc-60-x"), 2);

	/* The restarted process's first save is a snapshot of its own (a new generation: the
	 * journal's lines of the old one no longer count). */
	sl_persist_get_stats(&a);
	req(m2, path, "{\"cmd\":\"service.del\",\"namespace\":\"ns\",\"name\":\"svc-8\"}");
	sl_persist_get_stats(&b);
	assert_int_equal(b.snapshots - a.snapshots, 1);
	assert_int_equal(file_size(jpath, NULL), 0);
	sl_model_destroy(m2);
	struct sl_model *m3 = new_model();
	assert_int_equal(sl_persist_load(path, m3, err, sizeof(err)), 49 + 50 + 1 + 1); /* svc-8-x stays */
	sl_model_destroy(m3);
}

/* A tap pod's namespace and what sluiced learned of its tap (drivers/sl_tap.h "Surviving a
 * restart") come back from the state file exactly, the 64-bit cookie included. */
static void test_tap_pod_fields(void **s)
{
	char path[128], err[256] = "";
	snprintf(path, sizeof(path), "%s/tap.json", dir);
	struct sl_model *m = new_model();
	req(m, path, "{\"cmd\":\"pod.add\",\"pod\":{\"name\":\"t1\",\"ip\":\"10.244.1.2\","
		     "\"mac\":\"02:00:00:00:00:02\",\"interface\":\"tap\",\"ifname\":\"tap-t1\","
		     "\"netns\":\"/var/run/netns/cni-t1\",\"netns_cookie\":\"9007199254740993\","
		     "\"tap_ifindex\":42}}");
	req(m, path, "{\"cmd\":\"pod.add\",\"pod\":{\"name\":\"t2\",\"ip\":\"10.244.1.3\","
		     "\"mac\":\"02:00:00:00:00:03\",\"interface\":\"tap\",\"ifname\":\"tap-t2\"}}");
	sl_model_destroy(m);
	struct sl_model *m2 = new_model();
	assert_int_equal(sl_persist_load(path, m2, err, sizeof(err)), 2);
	const struct sl_model_pod *p = sl_model_pod_find(m2, "default", "t1");
	assert_non_null(p);
	assert_true(p->spec.tap);
	assert_string_equal(p->spec.netns, "/var/run/netns/cni-t1");
	assert_true(p->spec.netns_cookie == 9007199254740993ull); /* 2^53 + 1: not a double */
	assert_int_equal(p->spec.tap_ifindex, 42);
	p = sl_model_pod_find(m2, "default", "t2");
	assert_non_null(p);
	assert_string_equal(p->spec.netns, "");
	assert_int_equal(p->spec.tap_ifindex, 0);
	sl_model_destroy(m2);
}

/* NetworkPolicy's objects (Namespaces, cluster Pods, NetworkPolicies) go through the journal
 * too: applied and deleted after the snapshot, they are back (or gone) after a restart. */
static void test_journal_policy_kinds(void **s)
{
	char path[128], err[256] = "";
	struct sl_persist_stats a, b;
	snprintf(path, sizeof(path), "%s/jp.json", dir);
	struct sl_model *m = new_model();
	apply_svcs(m, path, 0, 20, 2); /* the snapshot */
	sl_persist_get_stats(&a);
	req(m, path, "{\"cmd\":\"apply\",\"objects\":{\"kind\":\"List\",\"items\":["
		     "{\"kind\":\"Namespace\",\"metadata\":{\"name\":\"x\",\"labels\":{\"ns\":\"x\"}}},"
		     "{\"kind\":\"Namespace\",\"metadata\":{\"name\":\"y\"}},"
		     "{\"kind\":\"Pod\",\"metadata\":{\"name\":\"a\",\"namespace\":\"x\","
		     "\"labels\":{\"pod\":\"a\"}},\"status\":{\"podIP\":\"10.244.1.2\"}},"
		     "{\"kind\":\"NetworkPolicy\",\"apiVersion\":\"networking.k8s.io/v1\","
		     "\"metadata\":{\"name\":\"deny\",\"namespace\":\"x\"},"
		     "\"spec\":{\"podSelector\":{}}},"
		     "{\"kind\":\"NetworkPolicy\",\"apiVersion\":\"networking.k8s.io/v1\","
		     "\"metadata\":{\"name\":\"gone\",\"namespace\":\"x\"},"
		     "\"spec\":{\"podSelector\":{}}}]}}");
	req(m, path, "{\"cmd\":\"k8s.del\",\"kind\":\"networkpolicy\",\"namespace\":\"x\","
		     "\"name\":\"gone\"}");
	req(m, path, "{\"cmd\":\"k8s.del\",\"kind\":\"namespace\",\"name\":\"y\"}");
	sl_persist_get_stats(&b);
	assert_int_equal(b.snapshots, a.snapshots); /* journal lines, no rewrite */
	assert_int_equal(b.appends - a.appends, 3);
	sl_model_destroy(m);

	struct sl_model *m2 = new_model();
	assert_true(sl_persist_load(path, m2, err, sizeof(err)) > 0);
	assert_non_null(sl_model_ns_find(m2, "x"));
	assert_null(sl_model_ns_find(m2, "y"));
	assert_non_null(sl_model_kpod_find(m2, "x", "a"));
	assert_non_null(sl_model_policy_find(m2, "x", "deny"));
	assert_null(sl_model_policy_find(m2, "x", "gone"));
	sl_model_destroy(m2);
}

/* A crash: a line cut short at the end of the journal (never acknowledged) and a line of
 * another snapshot's generation (the snapshot was rewritten, the crash came before the
 * journal was emptied) are ignored; the lines before the cut count. */
static void test_journal_crash(void **s)
{
	char path[128], jpath[160], err[256] = "";
	snprintf(path, sizeof(path), "%s/c.json", dir);
	snprintf(jpath, sizeof(jpath), "%s" SL_PERSIST_JOURNAL_SUFFIX, path);
	struct sl_model *m = new_model();
	apply_svcs(m, path, 0, 20, 2);
	apply_svcs(m, path, 30, 1, 2);
	FILE *f = fopen(jpath, "a");
	assert_non_null(f);
	fputs("{\"gen\":\"0000000000000001\",\"put\":{\"services\":[{\"metadata\":{\"name\":"
	      "\"old\",\"namespace\":\"ns\"},\"spec\":{\"clusterIP\":\"10.96.9.9\",\"ports\":"
	      "[{\"port\":80}]}}]},\"del\":{\"services\":[\"ns/svc-1\"]}}\n", f);
	fputs("{\"gen\":\"", f); /* cut by the crash */
	fclose(f);
	sl_model_destroy(m);
	m = new_model();
	assert_int_equal(sl_persist_load(path, m, err, sizeof(err)), 21 + 21);
	assert_non_null(sl_model_svc_find(m, "ns", "svc-30"));
	assert_non_null(sl_model_svc_find(m, "ns", "svc-1"));
	assert_null(sl_model_svc_find(m, "ns", "old"));
	sl_model_destroy(m);
}

/* The journal is folded into a new snapshot when it would outgrow the snapshot: the
 * bytes written stay proportional to the changes (here at most twice the state). */
static void test_journal_compacts(void **s)
{
	char path[128], jpath[160], err[256] = "";
	struct sl_persist_stats a, b;
	snprintf(path, sizeof(path), "%s/k.json", dir);
	snprintf(jpath, sizeof(jpath), "%s" SL_PERSIST_JOURNAL_SUFFIX, path);
	struct sl_model *m = new_model();
	sl_persist_get_stats(&a);
	/* Each snapshot child waited for before the next change: it runs at nice 19, and on a
	 * loaded machine one still running when the journal outgrows its snapshot again defers
	 * that compaction to the first commit after its reap (the journal is then larger than
	 * the snapshot for a while: what the check below would see). */
	for (unsigned i = 0; i < 200; i += 5) {
		apply_svcs(m, path, i, 5, 2);
		assert_true(sl_persist_reap(true) >= 0);
	}
	sl_persist_get_stats(&b);
	off_t snap = file_size(path, NULL), j = file_size(jpath, NULL);
	assert_true(b.snapshots - a.snapshots >= 2 && b.snapshots - a.snapshots <= 8);
	assert_true(b.forks - a.forks >= 1);
	assert_true(b.appends - a.appends >= 30);
	assert_true(j <= snap);
	/* Written in all: the final state (snapshot + journal) times a small constant, where
	 * rewriting the state every time writes ~ 40 / 2 times it. */
	assert_true(b.snapshot_bytes - a.snapshot_bytes + b.append_bytes - a.append_bytes <
		    (uint64_t)(snap + j) * 4);
	sl_model_destroy(m);
	m = new_model();
	assert_int_equal(sl_persist_load(path, m, err, sizeof(err)), 400);
	sl_model_destroy(m);
}


/* The whole of a file (malloc'd, NUL-terminated). */
static char *slurp_all(const char *path)
{
	char *t = NULL;
	size_t len;
	assert_int_equal(sl_persist_read(path, &t, &len, SL_PERSIST_MAX_BYTES), 0);
	return t;
}

/* cJSON_PrintUnformatted of o appended to t (realloc'd). */
static char *cat_printed(char *t, const cJSON *o)
{
	char *p = cJSON_PrintUnformatted(o);
	assert_non_null(p);
	size_t l = t ? strlen(t) : 0;
	t = realloc(t, l + strlen(p) + 1);
	memcpy(t + l, p, strlen(p) + 1);
	free(p);
	return t;
}

static char *cat(char *t, const char *s)
{
	cJSON raw = { .type = cJSON_Raw, .valuestring = (char *)s };
	return cat_printed(t, &raw);
}

/* The item of list whose metadata (or itself) has that name (and namespace). */
static const cJSON *item(const cJSON *doc, const char *list, const char *ns, const char *name)
{
	const cJSON *e;
	cJSON_ArrayForEach(e, cJSON_GetObjectItem(doc, list)) {
		const cJSON *md = cJSON_GetObjectItem(e, "metadata") ?: e;
		const cJSON *n = cJSON_GetObjectItem(md, "name"), *x = cJSON_GetObjectItem(md, "namespace");
		if (!strcmp(n->valuestring, name) && (!ns || (x && !strcmp(x->valuestring, ns))))
			return e;
	}
	fail_msg("%s %s/%s not exported", list, ns ? ns : "", name);
	return NULL;
}

/* Services and slices with most fields set, pods with host ports, a node, a route, and the
 * NetworkPolicy kinds, for test_text_as_cjson. */
static const char *const rich_objects[] = {
	"{\"cmd\":\"pod.add\",\"pod\":{\"name\":\"p1\",\"ip\":\"10.244.1.2\",\"mac\":"
	"\"02:00:00:00:00:02\",\"ifname\":\"veth-p1\",\"host_ports\":[{\"host_port\":8080,"
	"\"container_port\":80,\"protocol\":\"TCP\"},{\"host_port\":5353,\"container_port\":53,"
	"\"protocol\":\"UDP\",\"host_ip\":\"198.18.0.1\"}]}}",
	"{\"cmd\":\"route.add\",\"route\":{\"prefix\":\"203.0.113.0/24\",\"via\":\"198.18.0.2\"}}",
	"{\"cmd\":\"apply\",\"objects\":{\"kind\":\"List\",\"items\":["
	"{\"kind\":\"Service\",\"metadata\":{\"name\":\"lb\",\"namespace\":\"ns\"},\"spec\":{"
	"\"type\":\"LoadBalancer\",\"clusterIP\":\"10.96.1.1\",\"clusterIPs\":[\"10.96.1.1\"],"
	"\"ports\":[{\"name\":\"http\",\"port\":80,\"targetPort\":\"web\",\"nodePort\":30080,"
	"\"protocol\":\"TCP\"},{\"name\":\"dns\",\"port\":53,\"targetPort\":5353,\"nodePort\":"
	"30053,\"protocol\":\"UDP\"}],\"externalIPs\":[\"192.0.2.10\"],\"sessionAffinity\":"
	"\"ClientIP\",\"sessionAffinityConfig\":{\"clientIP\":{\"timeoutSeconds\":300}},"
	"\"externalTrafficPolicy\":\"Local\",\"internalTrafficPolicy\":\"Local\","
	"\"healthCheckNodePort\":31000,\"loadBalancerSourceRanges\":[\"192.0.2.0/24\"]},"
	"\"status\":{\"loadBalancer\":{\"ingress\":[{\"ip\":\"192.0.2.100\"}]}}},"
	"{\"kind\":\"EndpointSlice\",\"metadata\":{\"name\":\"lb-1\",\"namespace\":\"ns\","
	"\"labels\":{\"kubernetes.io/service-name\":\"lb\"}},\"addressType\":\"IPv4\","
	"\"endpoints\":[{\"addresses\":[\"10.244.1.2\"],\"nodeName\":\"n1\",\"zone\":\"z\"},"
	"{\"addresses\":[\"10.244.2.2\"],\"conditions\":{\"ready\":false,\"serving\":true,"
	"\"terminating\":true}}],\"ports\":[{\"name\":\"web\",\"port\":8080,\"protocol\":"
	"\"TCP\"},{\"name\":\"dns\",\"port\":5353,\"protocol\":\"UDP\"}]},"
	"{\"kind\":\"Service\",\"metadata\":{\"name\":\"old\",\"namespace\":\"ns\"},"
	"\"spec\":{\"clusterIP\":\"None\",\"ports\":[{\"port\":80}]}},"
	"{\"kind\":\"Namespace\",\"metadata\":{\"name\":\"x\",\"labels\":{\"ns\":\"x\"}}},"
	"{\"kind\":\"Pod\",\"metadata\":{\"name\":\"a\",\"namespace\":\"x\","
	"\"labels\":{\"pod\":\"a\"}},\"status\":{\"podIP\":\"10.244.1.2\"}},"
	"{\"kind\":\"NetworkPolicy\",\"apiVersion\":\"networking.k8s.io/v1\","
	"\"metadata\":{\"name\":\"deny\",\"namespace\":\"x\"},\"spec\":{\"podSelector\":{},"
	"\"ingress\":[{\"from\":[{\"ipBlock\":{\"cidr\":\"10.0.0.0/8\"}}],\"ports\":"
	"[{\"port\":80,\"protocol\":\"TCP\"}]}]}}]}}",
	NULL,
};

/* The state file's text is what cJSON printed of the trees it was made from before (one
 * object at a time now, by sl_json_print): the snapshot is cJSON_PrintUnformatted of
 * sl_persist_export with "journal"; a journal line of a round that put and removed objects
 * of several kinds is the record's tree printed (lists of "put" in the order of their
 * kind's first object there, of "del" of their kind's first object gone). */
static void test_text_as_cjson(void **s)
{
	char path[128], jpath[160], err[256] = "";
	snprintf(path, sizeof(path), "%s/t.json", dir);
	snprintf(jpath, sizeof(jpath), "%s" SL_PERSIST_JOURNAL_SUFFIX, path);
	struct sl_model *m = new_model();
	for (unsigned i = 0; rich_objects[i]; i++)
		req(m, path, rich_objects[i]);
	apply_svcs(m, path, 0, 30, 3);
	sl_model_destroy(m);
	/* A restarted process: its first save is a snapshot of everything. */
	m = new_model();
	assert_true(sl_persist_load(path, m, err, sizeof(err)) > 0);
	req(m, path, "{\"cmd\":\"service.del\",\"namespace\":\"ns\",\"name\":\"svc-9\"}");
	char *snap = slurp_all(path);
	cJSON *doc = cJSON_Parse(snap), *want = sl_persist_export(m);
	assert_non_null(doc);
	cJSON_AddStringToObject(want, "journal", cJSON_GetObjectItem(doc, "journal")->valuestring);
	char *w = cat_printed(NULL, want);
	assert_string_equal(snap, w);
	assert_non_null(strstr(snap, "\"lb-1\"")); /* (it holds the rich objects) */
	char gen[24];
	snprintf(gen, sizeof(gen), "%s", cJSON_GetObjectItem(doc, "journal")->valuestring);
	free(w);
	free(snap);
	cJSON_Delete(doc);
	cJSON_Delete(want);

	/* One round: objects put and gone, kinds interleaved. */
	req_noted(m, "{\"cmd\":\"service.del\",\"namespace\":\"ns\",\"name\":\"old\"}");
	req_noted(m, "{\"cmd\":\"apply\",\"objects\":{\"kind\":\"List\",\"items\":["
		     "{\"kind\":\"Service\",\"metadata\":{\"name\":\"svc-3\",\"namespace\":\"ns\"},"
		     "\"spec\":{\"clusterIP\":\"10.96.0.200\",\"ports\":[{\"port\":81}]}},"
		     "{\"kind\":\"Namespace\",\"metadata\":{\"name\":\"y\"}},"
		     "{\"kind\":\"Service\",\"metadata\":{\"name\":\"svc-6\",\"namespace\":\"ns\"},"
		     "\"spec\":{\"clusterIP\":\"10.96.0.201\",\"ports\":[{\"port\":82}]}}]}}");
	req_noted(m, "{\"cmd\":\"service.del\",\"namespace\":\"ns\",\"name\":\"svc-7\"}");
	req_noted(m, "{\"cmd\":\"pod.del\",\"name\":\"p1\"}");
	req_noted(m, "{\"cmd\":\"k8s.del\",\"kind\":\"networkpolicy\",\"namespace\":\"x\","
		     "\"name\":\"deny\"}");
	req_noted(m, "{\"cmd\":\"pod.add\",\"pod\":{\"name\":\"p2\",\"ip\":\"10.244.1.3\","
		     "\"mac\":\"02:00:00:00:00:03\",\"ifname\":\"veth-p2\"}}");
	req_noted(m, "{\"cmd\":\"endpointslice.del\",\"namespace\":\"ns\",\"name\":\"svc-4-x\"}");
	req_noted(m, "{\"cmd\":\"apply\",\"objects\":{\"kind\":\"EndpointSlice\",\"metadata\":"
		     "{\"name\":\"svc-5-x\",\"namespace\":\"ns\",\"labels\":{\"kubernetes.io/"
		     "service-name\":\"svc-5\"}},\"addressType\":\"IPv4\",\"endpoints\":[],"
		     "\"ports\":[]}}");
	struct sl_persist_stats a, b;
	sl_persist_get_stats(&a);
	assert_int_equal(sl_persist_commit(path, m), 0);
	sl_persist_get_stats(&b);
	assert_int_equal(b.appends - a.appends, 1);
	char *jt = slurp_all(jpath);
	doc = sl_persist_export(m);
	w = NULL;
	w = cat(w, "{\"gen\":\"");
	w = cat(w, gen);
	w = cat(w, "\",\"put\":{\"services\":[");
	w = cat_printed(w, item(doc, "services", "ns", "svc-3"));
	w = cat(w, ",");
	w = cat_printed(w, item(doc, "services", "ns", "svc-6"));
	w = cat(w, "],\"namespaces\":[");
	w = cat_printed(w, item(doc, "namespaces", NULL, "y"));
	w = cat(w, "],\"pods\":[");
	w = cat_printed(w, item(doc, "pods", "default", "p2"));
	w = cat(w, "],\"endpointslices\":[");
	w = cat_printed(w, item(doc, "endpointslices", "ns", "svc-5-x"));
	w = cat(w, "]},\"del\":{\"services\":[\"ns/old\",\"ns/svc-7\"],\"pods\":[\"default/p1\"],"
		   "\"networkpolicies\":[\"x/deny\"],\"endpointslices\":[\"ns/svc-4-x\"]}}\n");
	assert_string_equal(jt, w);
	free(w);
	free(jt);
	cJSON_Delete(doc);
	sl_model_destroy(m);
}

/* ---- The snapshot child ------------------------------------------------------------- */

#ifndef P_PIDFD
#define P_PIDFD 3
#endif

/* The child's hook: the snapshot is written, not yet renamed; the child tells the test
 * (SIGUSR2: it closed every descriptor it inherited) and waits there for SIGUSR1 (go on)
 * or SIGKILL (a crash mid-snapshot). */
static void park_hook(void)
{
	sigset_t set;
	int sig;
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	sigprocmask(SIG_BLOCK, &set, NULL);
	kill(getppid(), SIGUSR2);
	sigwait(&set, &sig);
}

static void signal_child(int sig)
{
	int fd = sl_persist_child_fd();
	assert_true(fd >= 0);
	assert_int_equal(syscall(SYS_pidfd_send_signal, fd, sig, NULL, 0), 0);
}

/* Wait until the child exited, without reaping it (sl_persist_reap does). */
static void child_exited(void)
{
	siginfo_t si;
	assert_int_equal(waitid(P_PIDFD, (id_t)sl_persist_child_fd(), &si, WEXITED | WNOWAIT), 0);
}

/* Copy the state file and its journals as they are (what a crash now would leave). */
static void copy_state(const char *from, const char *to)
{
	static const char *const sfx[] = { "", SL_PERSIST_JOURNAL_SUFFIX, SL_PERSIST_NEXT_SUFFIX };
	for (unsigned i = 0; i < 3; i++) {
		char a[200], b[200], *t;
		size_t len;
		snprintf(a, sizeof(a), "%s%s", from, sfx[i]);
		snprintf(b, sizeof(b), "%s%s", to, sfx[i]);
		unlink(b);
		if (sl_persist_read(a, &t, &len, SL_PERSIST_MAX_BYTES) < 0)
			continue;
		FILE *f = fopen(b, "w");
		assert_non_null(f);
		assert_int_equal(fwrite(t, 1, len, f), len);
		fclose(f);
		free(t);
	}
}

/* The Services a restart from path gets back; the ones changed after the fork checked. */
static void restores_all(const char *path, unsigned services)
{
	char err[256] = "";
	struct sl_model *m = new_model();
	assert_true(sl_persist_load(path, m, err, sizeof(err)) > 0);
	struct sl_model_counts c;
	sl_model_counts(m, &c);
	assert_int_equal(c.services, services);
	assert_null(sl_model_svc_find(m, "ns", "svc-2"));       /* deleted after the fork */
	assert_int_equal(slice_eps(m, "svc-3-x"), 1);           /* changed after the fork */
	assert_non_null(sl_model_svc_find(m, "ns", "svc-900")); /* added after the fork */
	assert_non_null(sl_model_pod_find(m, "default", "p1"));
	sl_model_destroy(m);
}

/* Changes until the journal outgrows the snapshot and a child is forked (parked in
 * park_hook); then changes made while it runs (their lines in .next). */
static void fork_with_changes(struct sl_model *m, const char *path)
{
	char next[200];
	struct sl_persist_stats a, b;
	snprintf(next, sizeof(next), "%s" SL_PERSIST_NEXT_SUFFIX, path);
	sigset_t usr2; /* the child's "parked", taken by sigwait below */
	sigemptyset(&usr2);
	sigaddset(&usr2, SIGUSR2);
	sigprocmask(SIG_BLOCK, &usr2, NULL);
	sl_persist_set_child_hook(park_hook);
	apply_svcs(m, path, 0, 20, 2); /* the first save: a snapshot, in process */
	sl_persist_get_stats(&a);
	for (unsigned i = 100; sl_persist_child_fd() < 0 && i < 400; i += 4)
		apply_svcs(m, path, i, 4, 2);
	sl_persist_get_stats(&b);
	assert_int_equal(b.forks - a.forks, 1);
	assert_true(sl_persist_child_fd() >= 0);
	assert_int_equal(file_size(next, NULL), 0);
	apply_svcs(m, path, 3, 1, 1); /* svc-3's slice: 2 endpoints -> 1 */
	req(m, path, "{\"cmd\":\"service.del\",\"namespace\":\"ns\",\"name\":\"svc-2\"}");
	apply_svcs(m, path, 900, 1, 2);
	req(m, path, "{\"cmd\":\"pod.add\",\"pod\":{\"name\":\"p1\",\"ip\":\"10.244.1.2\","
		     "\"mac\":\"02:00:00:00:00:02\",\"ifname\":\"veth-p1\"}}");
	assert_true(file_size(next, NULL) > 0); /* the lines after the fork: in .next */
	/* The child runs at the lowest priority, on any core: wait until it parked. */
	int sig;
	assert_int_equal(sigwait(&usr2, &sig), 0);
	sl_persist_set_child_hook(NULL);
}

static unsigned tmp_files(void)
{
	unsigned n = 0;
	DIR *d = opendir(dir);
	struct dirent *e;
	while (d && (e = readdir(d)))
		n += strstr(e->d_name, SL_PERSIST_TMP_SUFFIX) != NULL;
	if (d)
		closedir(d);
	return n;
}

/* A snapshot child killed mid-snapshot (written, not renamed): the state on disk is the
 * old snapshot, its journal and .next, and restores whole; the child's temporary file is
 * removed; the next save writes a snapshot in process and .next goes. */
static void test_child_killed(void **s)
{
	char path[128], next[200];
	struct sl_persist_stats a, b;
	snprintf(path, sizeof(path), "%s/ck.json", dir);
	snprintf(next, sizeof(next), "%s" SL_PERSIST_NEXT_SUFFIX, path);
	struct sl_model *m = new_model();
	fork_with_changes(m, path);
	struct sl_model_counts c;
	sl_model_counts(m, &c);
	assert_int_equal(tmp_files(), 1); /* the child's snapshot, not renamed */
	signal_child(SIGKILL);
	sl_persist_get_stats(&a);
	assert_true(sl_persist_reap(true) < 0);
	sl_persist_get_stats(&b);
	assert_int_equal(b.fork_failures - a.fork_failures, 1);
	assert_int_equal(b.snapshots, a.snapshots);
	assert_int_equal(tmp_files(), 0);
	char crash[128];
	snprintf(crash, sizeof(crash), "%s/ck-crash.json", dir);
	copy_state(path, crash);
	restores_all(crash, c.services);
	/* (load reset the module: the model's next save is a snapshot; so it is after a
	 * failed child) */
	sl_persist_get_stats(&a);
	req(m, path, "{\"cmd\":\"service.del\",\"namespace\":\"ns\",\"name\":\"svc-5\"}");
	sl_persist_get_stats(&b);
	assert_int_equal(b.snapshots - a.snapshots, 1);
	assert_int_equal(file_size(next, NULL), -1);
	restores_all(path, c.services - 1);
	sl_model_destroy(m);
}

/* A snapshot child that finishes: lines written after it started are kept at every point
 * (the crash before and after its rename, before the reap) and after the reap, when .next
 * has become the journal. */
static void test_child_lines_kept(void **s)
{
	char path[128], jpath[160], next[200], crash[128], crash2[128];
	struct sl_persist_stats a, b;
	snprintf(path, sizeof(path), "%s/cl.json", dir);
	snprintf(jpath, sizeof(jpath), "%s" SL_PERSIST_JOURNAL_SUFFIX, path);
	snprintf(next, sizeof(next), "%s" SL_PERSIST_NEXT_SUFFIX, path);
	snprintf(crash, sizeof(crash), "%s/cl-crash.json", dir);
	snprintf(crash2, sizeof(crash2), "%s/cl-crash2.json", dir);
	struct sl_model *m = new_model();
	fork_with_changes(m, path);
	struct sl_model_counts c;
	sl_model_counts(m, &c);
	ino_t ino0 = 0, ino1 = 0;
	off_t old_snap = file_size(path, &ino0);
	copy_state(path, crash); /* a crash now: the old snapshot */
	signal_child(SIGUSR1);
	child_exited();
	assert_true(file_size(path, &ino1) != old_snap || ino1 != ino0); /* the new snapshot */
	off_t nsize = file_size(next, NULL);
	copy_state(path, crash2); /* a crash now: the new snapshot, not reaped */
	sl_persist_get_stats(&a);
	assert_int_equal(sl_persist_reap(true), 0);
	sl_persist_get_stats(&b);
	assert_int_equal(b.snapshots - a.snapshots, 1);
	assert_int_equal(file_size(next, NULL), -1);     /* retired: */
	assert_int_equal(file_size(jpath, NULL), nsize); /* .next is the journal now */
	assert_int_equal(b.journal_bytes, (size_t)nsize);
	/* (restores reset the module: after the reap, as sluiced's restart) */
	struct sl_persist_stats keep = b;
	/* A change after the reap: a line of the new generation, in the journal. */
	req(m, path, "{\"cmd\":\"service.del\",\"namespace\":\"ns\",\"name\":\"svc-6\"}");
	sl_persist_get_stats(&a);
	assert_int_equal(a.appends - keep.appends, 1);
	assert_int_equal(a.snapshots, keep.snapshots);
	restores_all(path, c.services - 1);
	restores_all(crash, c.services);
	restores_all(crash2, c.services);
	sl_model_destroy(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_write_replaces_symlink),
		cmocka_unit_test(test_write_tmp_symlink),
		cmocka_unit_test(test_read),
		cmocka_unit_test(test_check_path),
		cmocka_unit_test(test_journal_restores),
		cmocka_unit_test(test_tap_pod_fields),
		cmocka_unit_test(test_journal_policy_kinds),
		cmocka_unit_test(test_journal_crash),
		cmocka_unit_test(test_journal_compacts),
		cmocka_unit_test(test_text_as_cjson),
		cmocka_unit_test(test_child_killed),
		cmocka_unit_test(test_child_lines_kept),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
