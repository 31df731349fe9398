/* Persisted run-time state: the snapshot and its journal (see sl_persist.h). */
#include <errno.h>
#include <inttypes.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "sl_config.h"
#include "sl_json.h"
#include "sl_k8s.h"
#include "sl_k8s_policy.h"
#include "sl_persist.h"
#include "sl_persist_int.h"
#include "sl_request.h"

const char *const sl_persist_list_name[K_COUNT] = { "nodes", "routes", "pods", "services",
						    "endpointslices", "namespaces", "k8s_pods",
						    "networkpolicies" };
const enum sl_k8s_kind sl_persist_k8s_kind[K_COUNT] = {
	[K_SVC] = SL_K8S_SERVICE, [K_SLICE] = SL_K8S_SLICE, [K_NS] = SL_K8S_NAMESPACE,
	[K_KPOD] = SL_K8S_POD, [K_POLICY] = SL_K8S_POLICY,
};

static enum kind kind_of(enum sl_k8s_kind k)
{
	for (unsigned i = K_SVC; i < K_COUNT; i++)
		if (sl_persist_k8s_kind[i] == k)
			return i;
	return K_SVC;
}

static void add_str(cJSON *o, const char *k, const char *v)
{
	cJSON_AddStringToObject(o, k, v);
}

static void add_ip(cJSON *o, const char *k, struct sl_ip ip)
{
	char b[SL_IP_STR_MAX];
	add_str(o, k, sl_ip_fmt(ip, b));
}

static void add_cidr(cJSON *o, const char *k, struct sl_cidr c)
{
	char b[SL_CIDR_STR_MAX];
	add_str(o, k, sl_cidr_fmt(c, b));
}

static void add_mac(cJSON *o, const char *k, const uint8_t *m)
{
	char b[18];
	snprintf(b, sizeof(b), "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4], m[5]);
	add_str(o, k, b);
}

static cJSON *enc_pod(const struct sl_pod_spec *p)
{
	cJSON *o = cJSON_CreateObject();
	add_str(o, "name", p->name);
	add_str(o, "namespace", p->namespace);
	if (p->vhost) {
		add_str(o, "interface", "vhost-user");
		add_str(o, "socket", p->socket);
		add_str(o, "vhost_mode", p->vhost_server ? "server" : "client");
	} else {
		if (p->tap)
			add_str(o, "interface", "tap");
		add_str(o, "ifname", p->ifname);
		if (p->netns[0])
			add_str(o, "netns", p->netns);
		if (p->tap_ifindex) {
			char c[24];
			snprintf(c, sizeof(c), "%" PRIu64, p->netns_cookie);
			add_str(o, "netns_cookie", c);
			cJSON_AddNumberToObject(o, "tap_ifindex", p->tap_ifindex);
		}
	}
	add_ip(o, "ip", p->ip);
	add_mac(o, "mac", p->mac);
	cJSON *hps = p->n_host_ports ? cJSON_AddArrayToObject(o, "host_ports") : NULL;
	for (unsigned k = 0; hps && k < p->n_host_ports; k++) {
		const struct sl_host_port *h = &p->host_ports[k];
		cJSON *e = cJSON_CreateObject();
		cJSON_AddNumberToObject(e, "host_port", h->host_port);
		cJSON_AddNumberToObject(e, "container_port", h->container_port);
		add_str(e, "protocol", sl_host_proto_name(h->protocol));
		if (h->host_ip)
			add_ip(e, "host_ip", sl_ip4(h->host_ip));
		cJSON_AddItemToArray(hps, e);
	}
	return o;
}

static cJSON *enc_node(const struct sl_node_spec *d)
{
	cJSON *o = cJSON_CreateObject();
	add_str(o, "name", d->name);
	add_ip(o, "ip", d->ip);
	add_cidr(o, "pod_cidr", d->pod_cidr);
	if (d->has_mac)
		add_mac(o, "mac", d->mac);
	if (d->has_vtep_mac)
		add_mac(o, "vtep_mac", d->vtep_mac);
	return o;
}

static cJSON *enc_route(const struct sl_route_spec *r)
{
	cJSON *o = cJSON_CreateObject();
	add_cidr(o, "prefix", r->prefix);
	add_ip(o, "via", r->via);
	return o;
}

cJSON *sl_persist_export(const struct sl_model *m)
{
	cJSON *doc = cJSON_CreateObject();
	cJSON *pods = cJSON_AddArrayToObject(doc, "pods");
	cJSON *nodes = cJSON_AddArrayToObject(doc, "nodes");
	cJSON *routes = cJSON_AddArrayToObject(doc, "routes");
	struct sl_model_pod *mp;
	for (uint32_t i = 0; (mp = sl_model_pod_next(m, &i));)
		cJSON_AddItemToArray(pods, enc_pod(&mp->spec));
	struct sl_model_node *mn;
	for (uint32_t i = 0; (mn = sl_model_node_next(m, &i));)
		cJSON_AddItemToArray(nodes, enc_node(&mn->spec));
	struct sl_model_route *mr;
	for (uint32_t i = 0; (mr = sl_model_route_next(m, &i));)
		cJSON_AddItemToArray(routes, enc_route(&mr->spec));
	cJSON *svcs = cJSON_AddArrayToObject(doc, "services");
	struct sl_model_svc *ms;
	for (uint32_t i = 0; (ms = sl_model_svc_next(m, &i));)
		cJSON_AddItemToArray(svcs, sl_k8s_encode_service(ms->spec));
	cJSON *slices = cJSON_AddArrayToObject(doc, "endpointslices");
	struct sl_model_slice *ml;
	for (uint32_t i = 0; (ml = sl_model_slice_next(m, &i));)
		cJSON_AddItemToArray(slices, sl_k8s_encode_slice(ml->spec));
	cJSON *a = cJSON_AddArrayToObject(doc, "namespaces");
	struct sl_model_ns *mns;
	for (uint32_t i = 0; (mns = sl_model_ns_next(m, &i));)
		cJSON_AddItemToArray(a, sl_k8s_encode_namespace(mns->spec));
	a = cJSON_AddArrayToObject(doc, "k8s_pods");
	struct sl_model_kpod *mkp;
	for (uint32_t i = 0; (mkp = sl_model_kpod_next(m, &i));)
		cJSON_AddItemToArray(a, sl_k8s_encode_pod(mkp->spec));
	a = cJSON_AddArrayToObject(doc, "networkpolicies");
	struct sl_model_policy *mpol;
	for (uint32_t i = 0; (mpol = sl_model_policy_next(m, &i));)
		cJSON_AddItemToArray(a, sl_k8s_encode_policy(mpol->spec));
	return doc;
}

bool sl_persist_item_key(enum kind k, const cJSON *o, char *buf, size_t n)
{
	const cJSON *md = k >= K_SVC ? cJSON_GetObjectItemCaseSensitive(o, "metadata") : o;
	const cJSON *name = cJSON_GetObjectItemCaseSensitive(md, k == K_ROUTE ? "prefix" : "name");
	if (!cJSON_IsString(name))
		return false;
	if (k == K_NODE || k == K_ROUTE || k == K_NS)
		return (size_t)snprintf(buf, n, "%s", name->valuestring) < n;
	const cJSON *ns = cJSON_GetObjectItemCaseSensitive(md, "namespace");
	return (size_t)snprintf(buf, n, "%s/%s", cJSON_IsString(ns) ? ns->valuestring : "default",
				name->valuestring) < n;
}

/* ---- Saving ------------------------------------------------------------------------- */

/* A persisted object a request named (its key). */
struct note {
	uint8_t kind;
	struct sl_cidr prefix; /* routes */
	char ns[SL_NAME_MAX];
	char name[SL_K8S_NAME_MAX];
};

static struct {
	char path[SL_PERSIST_PATH_MAX]; /* the state file the rest is about */
	uint64_t gen;                   /* generation of the snapshot this process wrote; 0: none */
	size_t snap_bytes;              /* its size */
	size_t journal_bytes;           /* the journal's (lines of this generation only) */
	int jfd;                        /* the journal, open for appending; -1 */
	struct note *notes;
	unsigned n_notes, cap_notes;
	struct sl_persist_stats stats;
	struct sl_json_buf line; /* the journal line being written, kept for the next */
	/* The snapshot child (sl_persist.h "The compaction in a child process"). */
	pid_t child;         /* 0: none */
	int child_fd;        /* its pidfd; -1 */
	uint64_t child_gen;  /* the generation it writes */
	int nfd;             /* <state>.journal.next while it runs; -1 */
	size_t next_bytes;   /* its size */
	bool no_fork;
	void (*child_hook)(void);
} ps = { .jfd = -1, .child_fd = -1, .nfd = -1 };

static uint64_t cpu_ns(void)
{
	struct timespec t;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
	return (uint64_t)t.tv_sec * 1000000000ull + (uint64_t)t.tv_nsec;
}

#define LINE_KEEP (8u << 20) /* bytes of ps.line kept between commits */

void sl_persist_reset(const char *path)
{
	sl_persist_reap(true); /* (about the old path) */
	if (ps.jfd >= 0)
		close(ps.jfd);
	ps.jfd = -1;
	ps.gen = 0;
	ps.snap_bytes = ps.journal_bytes = 0;
	ps.n_notes = 0;
	snprintf(ps.path, sizeof(ps.path), "%s", path);
}

/* s (NULL: "") into buf of n bytes, cut to fit, as snprintf "%s" would (a note per applied
 * object: 200,000 for 100,000 Services, and snprintf was a visible part of a save). */
static void copy(char *buf, size_t n, const char *s)
{
	size_t l = s ? strnlen(s, n - 1) : 0;
	memcpy(buf, s ? s : "", l);
	buf[l] = 0;
}

static void note(enum kind k, const char *ns, const char *name, struct sl_cidr prefix)
{
	if (ps.n_notes == ps.cap_notes) {
		unsigned cap = ps.cap_notes ? 2 * ps.cap_notes : 64;
		struct note *nn = realloc(ps.notes, cap * sizeof(*nn));
		if (!nn) { /* no room to say what changed: the next commit saves everything */
			ps.gen = 0;
			return;
		}
		ps.notes = nn;
		ps.cap_notes = cap;
	}
	struct note *t = &ps.notes[ps.n_notes++];
	t->kind = (uint8_t)k;
	t->prefix = prefix;
	copy(t->ns, sizeof(t->ns), ns);
	copy(t->name, sizeof(t->name), name);
}

void sl_persist_note_request(const struct sl_request *r)
{
	const struct sl_cidr none = { 0 };
	switch (r->cmd) {
	case SL_CMD_POD_ADD: note(K_POD, r->pod.namespace, r->pod.name, none); break;
	case SL_CMD_POD_DEL: note(K_POD, r->namespace, r->name, none); break;
	case SL_CMD_NODE_ADD: note(K_NODE, NULL, r->node.name, none); break;
	case SL_CMD_NODE_DEL: note(K_NODE, NULL, r->name, none); break;
	case SL_CMD_ROUTE_ADD: note(K_ROUTE, NULL, NULL, r->route.prefix); break;
	case SL_CMD_ROUTE_DEL: note(K_ROUTE, NULL, NULL, r->prefix); break;
	case SL_CMD_SVC_DEL: note(K_SVC, r->namespace, r->name, none); break;
	case SL_CMD_SLICE_DEL: note(K_SLICE, r->namespace, r->name, none); break;
	case SL_CMD_K8S_DEL: note(kind_of(r->k8s_kind), r->namespace, r->name, none); break;
	case SL_CMD_APPLY:
		for (unsigned i = 0; i < r->n_ops; i++) {
			const struct sl_k8s_op *op = &r->ops[i];
			enum kind k = kind_of(op->kind);
			if (op->del)
				note(k, op->namespace, op->name, none);
			else if (op->svc)
				note(k, op->svc->namespace, op->svc->name, none);
			else if (op->slice)
				note(k, op->slice->namespace, op->slice->name, none);
			else if (op->ns)
				note(k, NULL, op->ns->name, none);
			else if (op->pod)
				note(k, op->pod->namespace, op->pod->name, none);
			else if (op->policy)
				note(k, op->policy->namespace, op->policy->name, none);
		}
		break;
	default:
		if (sl_cmds[r->cmd].flags & SL_CMD_F_PERSIST)
			ps.gen = 0; /* a persisted change this file does not know: save everything */
		break;
	}
}

/* What the model holds under a note's key, encoded; NULL when nothing. */
static cJSON *model_obj(const struct sl_model *m, const struct note *t)
{
	switch ((enum kind)t->kind) {
	case K_POD: {
		struct sl_model_pod *p = sl_model_pod_find(m, t->ns, t->name);
		return p ? enc_pod(&p->spec) : NULL;
	}
	case K_NODE: {
		struct sl_model_node *d = sl_model_node_find(m, t->name);
		return d ? enc_node(&d->spec) : NULL;
	}
	case K_ROUTE: {
		struct sl_model_route *r = sl_model_route_find(m, t->prefix);
		return r ? enc_route(&r->spec) : NULL;
	}
	case K_SVC: {
		struct sl_model_svc *s = sl_model_svc_find(m, t->ns, t->name);
		return s ? sl_k8s_encode_service(s->spec) : NULL;
	}
	case K_SLICE: {
		struct sl_model_slice *s = sl_model_slice_find(m, t->ns, t->name);
		return s ? sl_k8s_encode_slice(s->spec) : NULL;
	}
	case K_NS: {
		struct sl_model_ns *n = sl_model_ns_find(m, t->name);
		return n ? sl_k8s_encode_namespace(n->spec) : NULL;
	}
	case K_KPOD: {
		struct sl_model_kpod *p = sl_model_kpod_find(m, t->ns, t->name);
		return p ? sl_k8s_encode_pod(p->spec) : NULL;
	}
	case K_POLICY: {
		struct sl_model_policy *p = sl_model_policy_find(m, t->ns, t->name);
		return p ? sl_k8s_encode_policy(p->spec) : NULL;
	}
	default:
		return NULL;
	}
}

static void note_key(const struct note *t, char *buf, size_t n)
{
	char b[SL_CIDR_STR_MAX];
	if (t->kind == K_ROUTE)
		snprintf(buf, n, "%s", sl_cidr_fmt(t->prefix, b));
	else if (t->kind == K_NODE || t->kind == K_NS)
		snprintf(buf, n, "%s", t->name);
	else
		snprintf(buf, n, "%s/%s", t->ns, t->name);
}

static uint64_t new_gen(void)
{
	static uint64_t counter;
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	uint64_t g = (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
	g ^= (uint64_t)getpid() << 40 ^ ++counter * 0x9e3779b97f4a7c15ull;
	return g ? g : 1;
}

/* ---- The text ------------------------------------------------------------------------
 * The snapshot and the journal lines are what cJSON_PrintUnformatted prints of the trees
 * sl_persist_export and the journal's records would be, made one object at a time: its
 * tree built in an arena (by the encoders), printed at once (sl_json_print), the arena's
 * memory reused for the next. The whole state as one tree was ~5 million nodes at 100,000
 * Services, and printing it with cJSON (sprintf and sscanf per number, strlen of what it
 * printed) took longer than building it; a snapshot is written to its file as it is made,
 * FLUSH_BYTES at a time. */
#define FLUSH_BYTES (1u << 20)

/* The objects of kind k in m, from *it (0 first): the next one encoded (in the arena of
 * sl_json_build_begin), or NULL at the end; *ret_oom when it could not be encoded. */
static cJSON *next_obj(const struct sl_model *m, enum kind k, uint32_t *it, bool *ret_oom)
{
	cJSON *o = NULL;
	bool end = false;
	switch (k) {
	case K_POD: {
		struct sl_model_pod *x = sl_model_pod_next(m, it);
		end = !x, o = x ? enc_pod(&x->spec) : NULL;
		break;
	}
	case K_NODE: {
		struct sl_model_node *x = sl_model_node_next(m, it);
		end = !x, o = x ? enc_node(&x->spec) : NULL;
		break;
	}
	case K_ROUTE: {
		struct sl_model_route *x = sl_model_route_next(m, it);
		end = !x, o = x ? enc_route(&x->spec) : NULL;
		break;
	}
	case K_SVC: {
		struct sl_model_svc *x = sl_model_svc_next(m, it);
		end = !x, o = x ? sl_k8s_encode_service(x->spec) : NULL;
		break;
	}
	case K_SLICE: {
		struct sl_model_slice *x = sl_model_slice_next(m, it);
		end = !x, o = x ? sl_k8s_encode_slice(x->spec) : NULL;
		break;
	}
	case K_NS: {
		struct sl_model_ns *x = sl_model_ns_next(m, it);
		end = !x, o = x ? sl_k8s_encode_namespace(x->spec) : NULL;
		break;
	}
	case K_KPOD: {
		struct sl_model_kpod *x = sl_model_kpod_next(m, it);
		end = !x, o = x ? sl_k8s_encode_pod(x->spec) : NULL;
		break;
	}
	case K_POLICY: {
		struct sl_model_policy *x = sl_model_policy_next(m, it);
		end = !x, o = x ? sl_k8s_encode_policy(x->spec) : NULL;
		break;
	}
	default:
		end = true;
		break;
	}
	*ret_oom = !end && !o;
	return o;
}

/* A member name and its colon. */
static void put_key(struct sl_json_buf *b, const char *key)
{
	cJSON k = { .type = cJSON_String, .valuestring = (char *)key };
	sl_json_print(b, &k);
	sl_json_buf_put(b, ":", 1);
}

/* o (a tree in a, or NULL: no memory) printed into b; a emptied for the next tree. */
static void put_tree(struct sl_json_buf *b, struct sl_json_arena *a, const cJSON *o)
{
	sl_json_print(b, o);
	sl_json_arena_free(a);
}

/* The snapshot of m as sl_persist_export's tree with "journal": gen, printed, written to
 * o as it is made. Returns its length, or 0 (no memory). */
static size_t snapshot_text(struct sl_persist_out *o, const struct sl_model *m, const char *gen)
{
	static const enum kind order[] = { K_POD, K_NODE, K_ROUTE, K_SVC, K_SLICE, K_NS,
					   K_KPOD, K_POLICY };
	struct sl_json_buf b = { 0 };
	struct sl_json_arena a = { 0 };
	size_t len = 0;
	bool oom = false;
	sl_json_build_begin(&a);
	sl_json_buf_put(&b, "{", 1);
	for (unsigned i = 0; i < sizeof(order) / sizeof(order[0]) && !oom && !b.oom; i++) {
		put_key(&b, sl_persist_list_name[order[i]]);
		sl_json_buf_put(&b, "[", 1);
		cJSON *e;
		for (uint32_t it = 0, n = 0; (e = next_obj(m, order[i], &it, &oom)) || oom; n++) {
			if (n)
				sl_json_buf_put(&b, ",", 1);
			put_tree(&b, &a, e);
			if (b.oom)
				break;
			if (b.len >= FLUSH_BYTES) {
				sl_persist_write_chunk(o, b.p, b.len);
				len += b.len;
				b.len = 0;
			}
		}
		sl_json_buf_put(&b, "],", 2);
	}
	sl_json_build_end();
	sl_json_arena_free(&a);
	put_key(&b, "journal");
	cJSON g = { .type = cJSON_String, .valuestring = (char *)gen };
	sl_json_print(&b, &g);
	sl_json_buf_put(&b, "}", 1);
	if (!b.oom && !oom) {
		sl_persist_write_chunk(o, b.p, b.len);
		len += b.len;
	} else {
		len = 0;
	}
	sl_json_buf_free(&b);
	return len;
}

static int save(const char *path, const struct sl_model *m)
{
	if (strcmp(ps.path, path))
		sl_persist_reset(path);
	sl_persist_reap(true); /* (one snapshot at a time) */
	uint64_t gen = new_gen();
	char g[24];
	snprintf(g, sizeof(g), "%016" PRIx64, gen);
	struct sl_persist_out out;
	int rc = sl_persist_write_begin(&out, path);
	if (rc < 0)
		return rc;
	size_t len = snapshot_text(&out, m, g);
	rc = sl_persist_write_end(&out, len ? 0 : -ENOMEM);
	if (rc < 0)
		return rc;
	/* From here the snapshot holds everything; the old journals' lines are of other
	 * generations (ignored), emptied only to save room. */
	ps.gen = gen;
	ps.snap_bytes = len;
	ps.n_notes = 0;
	ps.stats.snapshots++;
	ps.stats.snapshot_bytes += len;
	if (ps.jfd < 0) /* (created at the first line: a state never changed has none) */
		ps.jfd = sl_persist_journal_open(path, false);
	if (ps.jfd >= 0 && (ftruncate(ps.jfd, 0) < 0 || fdatasync(ps.jfd) < 0)) {
		close(ps.jfd);
		ps.jfd = -1;
	}
	sl_persist_journal_rename(path, SL_PERSIST_NEXT_SUFFIX, NULL, false); /* a failed child's */
	ps.journal_bytes = 0;
	ps.stats.journal_bytes = 0;
	return 0;
}

int sl_persist_save(const char *path, const struct sl_model *m)
{
	uint64_t t0 = cpu_ns();
	int rc = save(path, m);
	ps.stats.snapshot_ns += cpu_ns() - t0;
	return rc;
}

void sl_persist_set_fork(bool on)
{
	ps.no_fork = !on;
}

void sl_persist_set_child_hook(void (*fn)(void))
{
	ps.child_hook = fn;
}

int sl_persist_child_fd(void)
{
	return ps.child ? ps.child_fd : -1;
}

/* The snapshot child: m (its copy-on-write view) written as the snapshot of generation
 * g over the state file, the directory synced; exits 0 then, else 1. Touches nothing but
 * the model, malloc and its own files; never returns. */
static __attribute__((noreturn)) void child_main(const struct sl_model *m, const char *g,
						  pid_t parent)
{
	/* It dies with sluiced: a snapshot renamed after sluiced died could land over the one
	 * a restarted sluiced wrote since. */
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != parent)
		_exit(1);
	/* Not on the control thread's core (its affinity is inherited: EAL pins the main
	 * lcore): any core, at the lowest priority, so it runs where a core idles (a worker
	 * backing off) and yields to the control thread, workers and everything else. */
	cpu_set_t any;
	CPU_ZERO(&any);
	for (int c = 0; c < CPU_SETSIZE; c++)
		CPU_SET(c, &any);
	sched_setaffinity(0, sizeof(any), &any);
	setpriority(PRIO_PROCESS, 0, 19);
#ifdef SYS_close_range
	syscall(SYS_close_range, 3u, ~0u, 0u); /* the parent's sockets are not its to hold */
#endif
	struct sl_persist_out out;
	if (sl_persist_write_begin(&out, ps.path) < 0)
		_exit(1);
	size_t len = snapshot_text(&out, m, g);
	if (ps.child_hook)
		ps.child_hook();
	int rc = sl_persist_write_end(&out, len ? 0 : -ENOMEM);
	if (!rc) /* the rename must be on disk before the parent retires the journal */
		rc = sl_persist_sync_dir(ps.path);
	_exit(rc ? 1 : 0);
}

/* Fork the snapshot child for a new generation; the journal lines go to .next until it
 * is reaped. Returns 0 or -errno (no child then, nothing changed on disk that counts). */
static int start_child(const struct sl_model *m)
{
	uint64_t gen = new_gen();
	char g[24];
	snprintf(g, sizeof(g), "%016" PRIx64, gen);
	int nfd = sl_persist_journal_open_suffix(ps.path, SL_PERSIST_NEXT_SUFFIX, true);
	if (nfd < 0)
		return nfd;
	if (fdatasync(nfd) < 0) { /* (emptied: a stale one's lines never come back) */
		int rc = -errno;
		close(nfd);
		return rc;
	}
	pid_t parent = getpid(), pid = fork();
	if (pid < 0) {
		int rc = -errno;
		close(nfd);
		return rc;
	}
	if (pid == 0)
		child_main(m, g, parent);
	ps.child = pid;
	ps.child_gen = gen;
	ps.nfd = nfd;
	ps.next_bytes = 0;
#ifdef SYS_pidfd_open
	ps.child_fd = (int)syscall(SYS_pidfd_open, pid, 0);
#else
	ps.child_fd = -1;
#endif
	ps.stats.forks++;
	return 0;
}

int sl_persist_reap(bool wait)
{
	if (!ps.child)
		return 0;
	int st = 0;
	pid_t r;
	do
		r = waitpid(ps.child, &st, wait ? 0 : WNOHANG);
	while (r < 0 && errno == EINTR);
	if (r == 0)
		return 1;
	uint64_t t0 = cpu_ns();
	pid_t pid = ps.child;
	bool ok = r == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0;
	ps.child = 0;
	if (ps.child_fd >= 0)
		close(ps.child_fd);
	ps.child_fd = -1;
	int rc = 0;
	struct stat sb;
	if (ok && stat(ps.path, &sb) < 0)
		ok = false, rc = -errno;
	if (ok) {
		/* The snapshot of child_gen is on disk: the journal's lines are all in it, .next
		 * holds the ones after it. */
		rc = sl_persist_journal_rename(ps.path, SL_PERSIST_NEXT_SUFFIX,
					       SL_PERSIST_JOURNAL_SUFFIX, true);
		ps.stats.snapshots++;
		ps.stats.snapshot_bytes += (uint64_t)sb.st_size;
	}
	if (ok && !rc) {
		if (ps.jfd >= 0)
			close(ps.jfd);
		ps.jfd = ps.nfd;
		ps.journal_bytes = ps.next_bytes;
		ps.gen = ps.gen ? ps.child_gen : 0; /* (0: a snapshot is due all the same) */
		ps.snap_bytes = (size_t)sb.st_size;
	} else {
		/* The state on disk is whole (the old snapshot with both journals, or the new one
		 * with .next); the next commit writes a snapshot in process. */
		if (!ok) {
			sl_persist_tmp_remove(ps.path, pid);
			ps.stats.fork_failures++;
			if (r == pid && WIFSIGNALED(st))
				fprintf(stderr, "sluiced: state %s: snapshot child killed by signal %d; "
					"the next save writes it in process\n", ps.path, WTERMSIG(st));
			else
				fprintf(stderr, "sluiced: state %s: snapshot child failed (status %d); "
					"the next save writes it in process\n", ps.path,
					r == pid ? WEXITSTATUS(st) : -1);
		} else {
			fprintf(stderr, "sluiced: state %s: journal not retired: %s; the next save "
				"writes a snapshot\n", ps.path, strerror(-rc));
		}
		if (ps.nfd >= 0)
			close(ps.nfd);
		ps.gen = 0;
		rc = rc ?: -EIO;
	}
	ps.nfd = -1;
	ps.next_bytes = 0;
	ps.stats.journal_bytes = ps.journal_bytes;
	ps.stats.snapshot_ns += cpu_ns() - t0;
	return rc;
}

/* The journal line of the notes: {"gen":G,"put":{LIST:[obj...],...},"del":{LIST:[key...],
 * ...}} and its newline, as the record's tree printed it: the lists of "put" in the order
 * of their kind's first note whose object is there, those of "del" in the order of their
 * kind's first note whose object is gone, the objects and keys in the notes' order. Each
 * note's object is looked up once. Returns the length (newline included) or 0 (no
 * memory). */
static size_t journal_text(struct sl_json_buf *b, const struct sl_model *m, const char *gen,
			   const char *base)
{
	/* A note whose object is gone goes in "del": known once "put" is made. */
	uint8_t *gone = calloc(ps.n_notes ? ps.n_notes : 1, 1);
	bool done[K_COUNT] = { false };
	struct sl_json_arena a = { 0 };
	char key[SL_PERSIST_KEY_MAX];
	bool oom = !gone, any_list = false;
	b->len = 0;
	b->oom = false;
	sl_json_buf_put(b, "{", 1);
	put_key(b, "gen");
	cJSON g = { .type = cJSON_String, .valuestring = (char *)gen };
	sl_json_print(b, &g);
	sl_json_buf_put(b, ",", 1);
	if (base) {
		put_key(b, "base");
		cJSON bs = { .type = cJSON_String, .valuestring = (char *)base };
		sl_json_print(b, &bs);
		sl_json_buf_put(b, ",", 1);
	}
	put_key(b, "put");
	sl_json_buf_put(b, "{", 1);
	sl_json_build_begin(&a);
	for (unsigned i = 0; i < ps.n_notes && !oom && !b->oom; i++) {
		unsigned kind = ps.notes[i].kind;
		if (done[kind])
			continue;
		cJSON *o = model_obj(m, &ps.notes[i]);
		if (!o) {
			gone[i] = 1;
			continue;
		}
		/* The first of its kind that is there: the kind's whole list (the kind's notes
		 * before it are all gone). */
		done[kind] = true;
		if (any_list)
			sl_json_buf_put(b, ",", 1);
		any_list = true;
		put_key(b, sl_persist_list_name[kind]);
		sl_json_buf_put(b, "[", 1);
		put_tree(b, &a, o);
		for (unsigned j = i + 1; j < ps.n_notes && !b->oom; j++) {
			if (ps.notes[j].kind != kind)
				continue;
			if (!(o = model_obj(m, &ps.notes[j]))) {
				gone[j] = 1;
				continue;
			}
			sl_json_buf_put(b, ",", 1);
			put_tree(b, &a, o);
		}
		sl_json_buf_put(b, "]", 1);
	}
	sl_json_build_end();
	sl_json_arena_free(&a);
	sl_json_buf_put(b, "},", 2);
	put_key(b, "del");
	sl_json_buf_put(b, "{", 1);
	any_list = false;
	/* Lists in "del" go in the order of the kinds' first deleted note. */
	bool del_seen[K_COUNT] = { false };
	for (unsigned i = 0; i < ps.n_notes && !oom; i++) {
		unsigned kind = ps.notes[i].kind;
		if (!gone[i] || del_seen[kind])
			continue;
		del_seen[kind] = true;
		if (any_list)
			sl_json_buf_put(b, ",", 1);
		any_list = true;
		put_key(b, sl_persist_list_name[kind]);
		sl_json_buf_put(b, "[", 1);
		for (unsigned j = i, n = 0; j < ps.n_notes; j++) {
			if (!gone[j] || ps.notes[j].kind != kind)
				continue;
			if (n++)
				sl_json_buf_put(b, ",", 1);
			note_key(&ps.notes[j], key, sizeof(key));
			cJSON ks = { .type = cJSON_String, .valuestring = key };
			sl_json_print(b, &ks);
		}
		sl_json_buf_put(b, "]", 1);
	}
	sl_json_buf_put(b, "}}\n", 3);
	free(gone);
	return oom || b->oom ? 0 : b->len;
}

/* A journal line appended to fd at *at; *at and the stats updated. Returns 0 or -errno
 * (the next save is a snapshot if the line may be cut). */
static int append(int fd, size_t *at, const char *text, size_t len)
{
	bool torn;
	int rc = sl_persist_journal_append(fd, *at, text, len, &torn);
	if (torn)
		ps.gen = 0; /* a line may be cut in the journal: next time a snapshot */
	if (!rc) {
		*at += len;
		ps.n_notes = 0;
		ps.stats.appends++;
		ps.stats.append_bytes += len;
	}
	return rc;
}

static int commit(const char *path, const struct sl_model *m)
{
	if (strcmp(ps.path, path))
		sl_persist_reset(path);
	if (ps.child && ps.next_bytes > SL_PERSIST_MAX_BYTES / 2)
		sl_persist_reap(true); /* (.next stays readable) */
	if (ps.child)
		sl_persist_reap(false);
	if (!ps.gen)
		return sl_persist_save(path, m);
	if (!ps.n_notes)
		return 0;
	uint64_t t0 = cpu_ns();
	char g[24], base[24];
	int rc;
	if (ps.child) { /* a snapshot being written: the line goes to .next, for either */
		snprintf(g, sizeof(g), "%016" PRIx64, ps.child_gen);
		snprintf(base, sizeof(base), "%016" PRIx64, ps.gen);
		size_t len = journal_text(&ps.line, m, g, base);
		ps.stats.encode_ns += cpu_ns() - t0;
		rc = len ? append(ps.nfd, &ps.next_bytes, ps.line.p, len) : -ENOMEM;
		ps.stats.append_ns += cpu_ns() - t0;
		return rc;
	}
	snprintf(g, sizeof(g), "%016" PRIx64, ps.gen);
	size_t len = journal_text(&ps.line, m, g, NULL);
	ps.stats.encode_ns += cpu_ns() - t0;
	if (!len)
		return -ENOMEM;
	if (ps.jfd < 0 && ps.journal_bytes + len <= ps.snap_bytes) {
		/* The first line since the snapshot (which holds everything before it). */
		ps.jfd = sl_persist_journal_open(path, true);
		if (ps.jfd >= 0 && (ftruncate(ps.jfd, 0) < 0 || fdatasync(ps.jfd) < 0)) {
			close(ps.jfd);
			ps.jfd = -1;
		}
		ps.journal_bytes = 0;
	}
	bool compact = ps.journal_bytes + len > ps.snap_bytes;
	if (ps.jfd < 0 || (compact && ps.no_fork)) {
		/* No journal to write, or compaction in process: a snapshot instead. */
		ps.stats.append_ns += cpu_ns() - t0;
		return sl_persist_save(path, m);
	}
	rc = append(ps.jfd, &ps.journal_bytes, ps.line.p, len);
	ps.stats.journal_bytes = ps.journal_bytes;
	ps.stats.append_ns += cpu_ns() - t0;
	if (!rc && compact) {
		/* The journal outgrew the snapshot: a new one, by a child. */
		uint64_t t1 = cpu_ns();
		int frc = start_child(m);
		ps.stats.snapshot_ns += cpu_ns() - t1;
		if (frc < 0) {
			fprintf(stderr, "sluiced: state %s: cannot fork the snapshot child: %s; "
				"writing it in process\n", path, strerror(-frc));
			rc = sl_persist_save(path, m);
		}
	}
	return rc;
}

int sl_persist_commit(const char *path, const struct sl_model *m)
{
	int rc = commit(path, m);
	if (ps.line.cap > LINE_KEEP)
		sl_json_buf_free(&ps.line); /* (a large line's buffer is not kept) */
	return rc;
}

void sl_persist_get_stats(struct sl_persist_stats *ret)
{
	*ret = ps.stats;
}
