/* sluicectl: thin client of the sluiced API socket. One typed request, one response;
 * human tables by default, -o json for scripts. */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "control/core/sl_cmd.h"
#include "control/sources/sl_json.h"
#include "sl_apply_text.h"

#define RESP_MAX (16 << 20)

static const char *sock_path = "/run/sluice/sluiced.sock";
static bool json_out;

/* The help text: one line per command of SL_FOREACH_CMD (core/sl_cmd.h). */
static void print_help(FILE *f)
{
	static const struct {
		const char *usage, *help;
		unsigned flags;
	} cmds[] = {
#define CMD_HELP(id, nm, fl, us, hl) { us, hl, fl },
		SL_FOREACH_CMD(CMD_HELP)
#undef CMD_HELP
	};
	fprintf(f, "usage: sluicectl [-s SOCKET] [-o table|json] COMMAND\ncommands:\n");
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		if (cmds[i].flags & SL_CMD_F_HIDDEN)
			continue;
		fprintf(f, "  %-60s %s", cmds[i].usage, cmds[i].help);
		if (i == SL_CMD_SHOW)
			fprintf(f, "\n  %-60s %s", "", SL_SHOW_ALT);
		fprintf(f, "\n");
	}
	fprintf(f,
		"options:\n"
		"  -s, --socket PATH   API socket (default /run/sluice/sluiced.sock, or $SLUICE_SOCKET)\n"
		"  -o, --output FMT    table (default) or json\n");
}

/* Send one request, the concatenation of parts[0..n) (no newline: it is added), return the
 * parsed response or NULL (message printed). */
static cJSON *call_parts(const struct iovec *parts, int n)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	if (strlen(sock_path) >= sizeof(sa.sun_path)) {
		fprintf(stderr, "sluicectl: socket path too long\n");
		return NULL;
	}
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", sock_path);
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		fprintf(stderr, "sluicectl: cannot connect to %s: %s (is sluiced running?)\n",
			sock_path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return NULL;
	}
	struct iovec iov[8];
	size_t len = 1;
	bool ok = n >= 1 && n < 8;
	for (int i = 0; ok && i < n; i++) {
		iov[i] = parts[i];
		len += parts[i].iov_len;
		ok = parts[i].iov_base != NULL;
	}
	if (ok && len > SL_API_MAX_REQUEST) {
		fprintf(stderr, "sluicectl: request of %zu bytes is over sluiced's limit of %d; "
			"split it\n", len, SL_API_MAX_REQUEST);
		ok = false;
	}
	iov[n] = (struct iovec){ .iov_base = "\n", .iov_len = 1 };
	/* Written as they are (one writev per socket buffer's worth, no copy into one). */
	for (int i = 0; ok && i <= n;) {
		ssize_t w = writev(fd, iov + i, n + 1 - i);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			ok = false;
			break;
		}
		for (; i <= n && (size_t)w >= iov[i].iov_len; i++)
			w -= (ssize_t)iov[i].iov_len;
		if (i <= n) {
			iov[i].iov_base = (char *)iov[i].iov_base + w;
			iov[i].iov_len -= (size_t)w;
		}
	}
	if (!ok) {
		close(fd);
		return NULL;
	}
	shutdown(fd, SHUT_WR);
	/* The response: a few bytes for most commands, grown as it comes. */
	size_t cap = 1 << 16, got = 0;
	char *buf = malloc(cap);
	ssize_t r;
	while (buf && got < RESP_MAX - 1) {
		if (got + 1 == cap) {
			size_t nc = cap * 2 > RESP_MAX ? RESP_MAX : cap * 2;
			char *nb = realloc(buf, nc);
			if (!nb)
				break;
			buf = nb;
			cap = nc;
		}
		if ((r = read(fd, buf + got, cap - 1 - got)) < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		got += (size_t)r;
	}
	close(fd);
	cJSON *resp = NULL;
	if (buf) {
		buf[got] = 0;
		resp = cJSON_Parse(buf);
	}
	free(buf);
	if (!resp)
		fprintf(stderr, "sluicectl: no valid response from sluiced\n");
	return resp;
}

/* Send one request's text (len bytes, no newline): call_parts. */
static cJSON *call_text(const char *text, size_t len)
{
	struct iovec part = { .iov_base = (void *)text, .iov_len = len };
	return call_parts(&part, 1);
}

/* Send one request, return the parsed response or NULL (message printed). */
static cJSON *call(cJSON *req)
{
	char *text = cJSON_PrintUnformatted(req);
	cJSON *resp = call_text(text, text ? strlen(text) : 0);
	free(text);
	return resp;
}

static void print_value(const cJSON *v, int width)
{
	if (cJSON_IsString(v))
		printf("%-*s", width, v->valuestring);
	else if (cJSON_IsNumber(v) && v->valuedouble == (double)(long long)v->valuedouble)
		printf("%*lld", width, (long long)v->valuedouble);
	else if (cJSON_IsNumber(v))
		printf("%*.1f", width, v->valuedouble);
	else if (cJSON_IsBool(v))
		printf("%-*s", width, cJSON_IsTrue(v) ? "yes" : "no");
	else
		printf("%-*s", width, "-");
}

static int cell_width(const cJSON *v)
{
	char b[64];
	if (cJSON_IsString(v))
		return (int)strlen(v->valuestring);
	if (cJSON_IsNumber(v) && v->valuedouble == (double)(long long)v->valuedouble)
		return snprintf(b, sizeof(b), "%lld", (long long)v->valuedouble);
	return snprintf(b, sizeof(b), "%.1f", cJSON_IsNumber(v) ? v->valuedouble : 0);
}

/* An array of flat objects as a table, columns from the first row's keys. */
static void print_table(const cJSON *a)
{
	const cJSON *first = a->child, *row, *f;
	if (!first) {
		printf("(none)\n");
		return;
	}
	int widths[32] = {0}, ncol = 0;
	for (f = first->child; f && ncol < 32; f = f->next, ncol++)
		widths[ncol] = (int)strlen(f->string);
	cJSON_ArrayForEach(row, a)
	{
		int c = 0;
		for (f = row->child; f && c < ncol; f = f->next, c++)
			if (cell_width(f) > widths[c])
				widths[c] = cell_width(f);
	}
	int c = 0;
	for (f = first->child; f && c < ncol; f = f->next, c++) {
		char up[64];
		snprintf(up, sizeof(up), "%s", f->string);
		for (char *p = up; *p; p++)
			*p = (char)(*p == '_' ? ' ' : (*p >= 'a' && *p <= 'z' ? *p - 32 : *p));
		printf("%-*s  ", widths[c], up);
	}
	printf("\n");
	cJSON_ArrayForEach(row, a)
	{
		c = 0;
		for (f = row->child; f && c < ncol; f = f->next, c++) {
			print_value(f, widths[c]);
			printf("  ");
		}
		printf("\n");
	}
}

static void print_result(const cJSON *r)
{
	if (cJSON_IsArray(r)) {
		print_table(r);
	} else if (cJSON_IsObject(r)) {
		const cJSON *f;
		for (f = r->child; f; f = f->next) {
			if (cJSON_IsArray(f)) {
				printf("\n%s:\n", f->string);
				print_table(f);
			} else if (cJSON_IsObject(f)) {
				printf("\n%s:\n", f->string);
				for (const cJSON *g = f->child; g; g = g->next) {
					printf("  %-16s ", g->string);
					print_value(g, 0);
					printf("\n");
				}
			} else {
				printf("%-16s ", f->string);
				print_value(f, 0);
				printf("\n");
			}
		}
	} else if (cJSON_IsTrue(r)) {
		printf("ok\n");
	}
}

/* Print a response's result (or its error); return the exit code. */
static int finish(cJSON *resp, cJSON **ret_result)
{
	if (!resp)
		return 1;
	const cJSON *ok = cJSON_GetObjectItem(resp, "ok");
	if (!cJSON_IsTrue(ok)) {
		const cJSON *e = cJSON_GetObjectItem(resp, "error");
		fprintf(stderr, "sluicectl: %s\n", cJSON_IsString(e) ? e->valuestring : "failed");
		cJSON_Delete(resp);
		return 1;
	}
	if (ret_result) {
		*ret_result = cJSON_DetachItemFromObject(resp, "result");
	} else if (json_out) {
		char *s = cJSON_Print(cJSON_GetObjectItem(resp, "result"));
		printf("%s\n", s);
		free(s);
	} else {
		print_result(cJSON_GetObjectItem(resp, "result"));
	}
	cJSON_Delete(resp);
	return 0;
}

/* Run one request; print the result; return the exit code. */
static int run(cJSON *req, cJSON **ret_result)
{
	cJSON *resp = call(req);
	cJSON_Delete(req);
	return finish(resp, ret_result);
}

/* key=value arguments into an object; numbers stay strings (the daemon validates). */
static cJSON *kv_object(int argc, char **argv)
{
	cJSON *o = cJSON_CreateObject();
	for (int i = 0; i < argc; i++) {
		char *eq = strchr(argv[i], '=');
		if (!eq) {
			fprintf(stderr, "sluicectl: expected key=value, got '%s'\n", argv[i]);
			cJSON_Delete(o);
			return NULL;
		}
		*eq = 0;
		cJSON_AddStringToObject(o, argv[i], eq + 1);
	}
	return o;
}

/* apply -f FILE ("-": standard input): the file's JSON (an object or a List) is sent as
 * the request's "objects"; sluiced decodes and validates it. */
static int cmd_apply(const char *path)
{
	FILE *f = strcmp(path, "-") ? fopen(path, "r") : stdin;
	if (!f) {
		fprintf(stderr, "sluicectl: %s: %s\n", path, strerror(errno));
		return 1;
	}
	/* Read whole, into a buffer the size of the file when it has one. */
	struct stat st;
	size_t cap = fstat(fileno(f), &st) == 0 && S_ISREG(st.st_mode) &&
			     (size_t)st.st_size <= SL_API_MAX_REQUEST
		     ? (size_t)st.st_size + 1 : SL_API_MAX_REQUEST + 1;
	char *buf = malloc(cap);
	size_t len = buf ? fread(buf, 1, cap, f) : 0;
	if (buf && len == cap && cap <= SL_API_MAX_REQUEST) { /* it grew while read */
		char *nb = realloc(buf, SL_API_MAX_REQUEST + 1);
		if (nb)
			len += fread(nb + len, 1, SL_API_MAX_REQUEST + 1 - len, f);
		else
			free(buf);
		buf = nb;
	}
	if (f != stdin)
		fclose(f);
	if (!buf)
		return 1;
	if (len > SL_API_MAX_REQUEST) {
		fprintf(stderr, "sluicectl: %s: larger than %d bytes (sluiced's request limit); "
			"split it\n", path, SL_API_MAX_REQUEST);
		free(buf);
		return 1;
	}
	static const char pre[] = "{\"cmd\":\"apply\",\"objects\":";
	size_t l = sizeof(pre) - 1;
	/* The usual case: the file is one JSON value sl_apply_text_scan vouches for (its
	 * newlines made spaces on the way) and fits: sent as it is, without a tree. Printing a
	 * 3 MB List again took longer than sluiced's whole apply; parsing it into a tree only
	 * to check it took half as long. */
	size_t vlen = sl_apply_text_scan(buf, len);
	if (vlen && l + vlen + 2 <= SL_API_MAX_REQUEST) {
		struct iovec parts[3] = {
			{ .iov_base = (void *)pre, .iov_len = l },
			{ .iov_base = buf, .iov_len = vlen },
			{ .iov_base = "}", .iov_len = 1 },
		};
		cJSON *resp = call_parts(parts, 3);
		free(buf);
		return finish(resp, NULL);
	}
	/* Otherwise cJSON judges it (to say where it is not JSON), then it is sent as it is,
	 * inside the request: only the value (text after it is ignored, as cJSON does), newlines
	 * between tokens made spaces (a newline ends a request); a file with one inside a
	 * string, or too large as it is, is printed again. */
	struct sl_json_arena arena = { 0 };
	const char *end = NULL;
	const cJSON *doc = sl_json_parse(&arena, buf, len, &end);
	if (!doc) {
		fprintf(stderr, "sluicectl: %s: invalid JSON near byte %zu\n", path,
			end ? (size_t)(end - buf) : 0);
		sl_json_arena_free(&arena);
		free(buf);
		return 1;
	}
	vlen = (size_t)(end - buf);
	bool in_str = false, esc = false, nl_in_str = false;
	char *printed = NULL, *req = malloc(vlen + sizeof(pre) + 1);
	for (size_t i = 0; req && i < vlen; i++) {
		char c = buf[i];
		if (in_str)
			nl_in_str |= c == '\n' || c == '\r', in_str = esc || c != '"',
			esc = !esc && c == '\\';
		else if (c == '"')
			in_str = true;
		else if (c == '\n' || c == '\r')
			c = ' ';
		req[l + i] = c;
	}
	if (req && (nl_in_str || vlen + sizeof(pre) + 1 > SL_API_MAX_REQUEST) &&
	    (printed = cJSON_PrintUnformatted(doc))) { /* (unformatted, it may fit) */
		free(req);
		vlen = strlen(printed);
		if ((req = malloc(vlen + sizeof(pre) + 1)))
			memcpy(req + l, printed, vlen);
	}
	free(printed);
	sl_json_arena_free(&arena);
	free(buf);
	if (!req)
		return 1;
	memcpy(req, pre, l);
	req[l + vlen] = '}';
	cJSON *resp = call_text(req, l + vlen + 1);
	free(req);
	return finish(resp, NULL);
}

/* delete service|endpointslice|namespace|k8spod|networkpolicy [NS/]NAME */
static int cmd_delete(const char *kind, const char *key)
{
	const char *k8s = !strcmp(kind, "networkpolicy") || !strcmp(kind, "netpol")
				  ? "networkpolicy"
			  : !strcmp(kind, "namespace") || !strcmp(kind, "ns") ? "namespace"
			  : !strcmp(kind, "k8spod") ? "k8spod" : NULL;
	const char *cmd = !strcmp(kind, "service") || !strcmp(kind, "svc") ? "service.del"
			  : !strcmp(kind, "endpointslice") ? "endpointslice.del"
			  : k8s ? "k8s.del" : NULL;
	if (!cmd) {
		fprintf(stderr, "sluicectl: delete service|endpointslice|namespace|k8spod|"
			"networkpolicy [NS/]NAME\n");
		return 2;
	}
	cJSON *req = cJSON_CreateObject();
	cJSON_AddStringToObject(req, "cmd", cmd);
	if (k8s)
		cJSON_AddStringToObject(req, "kind", k8s);
	const char *slash = strchr(key, '/');
	if (slash) {
		char ns[256];
		snprintf(ns, sizeof(ns), "%.*s", (int)(slash - key), key);
		cJSON_AddStringToObject(req, "namespace", ns);
		key = slash + 1;
	}
	cJSON_AddStringToObject(req, "name", key);
	return run(req, NULL);
}

static int cmd_trace(int count)
{
	cJSON *req = cJSON_CreateObject();
	cJSON_AddStringToObject(req, "cmd", "trace.start");
	cJSON_AddNumberToObject(req, "count", count);
	cJSON *started = NULL;
	if (run(req, &started))
		return 1;
	cJSON_Delete(started);
	cJSON *pkts = NULL;
	for (int tries = 0; tries < 50; tries++) { /* up to 10 s */
		struct timespec ts = { 0, 200 * 1000 * 1000 };
		nanosleep(&ts, NULL);
		cJSON_Delete(pkts);
		pkts = NULL;
		req = cJSON_CreateObject();
		cJSON_AddStringToObject(req, "cmd", "trace.show");
		if (run(req, &pkts))
			return 1;
		if (cJSON_GetArraySize(pkts) >= count)
			break;
	}
	if (json_out) {
		char *s = cJSON_Print(pkts);
		printf("%s\n", s);
		free(s);
	} else {
		const cJSON *p;
		cJSON_ArrayForEach(p, pkts)
		{
			printf("Packet %d (worker %d)\n", cJSON_GetObjectItem(p, "packet")->valueint,
			       cJSON_GetObjectItem(p, "worker")->valueint);
			const cJSON *s;
			cJSON_ArrayForEach(s, cJSON_GetObjectItem(p, "path"))
			printf("  %-28s %s\n", cJSON_GetObjectItem(s, "node")->valuestring,
			       cJSON_GetObjectItem(s, "note")->valuestring);
		}
		if (cJSON_GetArraySize(pkts) < count)
			printf("(%d of %d packets seen within 10 s)\n", cJSON_GetArraySize(pkts), count);
	}
	cJSON_Delete(pkts);
	return 0;
}

/* The options of `show conntrack` and `conntrack flush` into req's fields (values stay
 * strings: sluiced validates and names the field at fault). Returns 0 or 2. */
static int ct_options(cJSON *req, int argc, char **argv, bool show)
{
	static const char *const with_value[] = { "service", "backend", "client", "proto",
						  "state", "limit" };
	int i;
	for (i = 0; i < argc; i++) {
		const char *a = argv[i];
		if (strncmp(a, "--", 2) != 0)
			goto bad;
		a += 2;
		if (show && !strcmp(a, "summary")) {
			cJSON_AddTrueToObject(req, "summary");
			continue;
		}
		size_t k;
		for (k = 0; k < sizeof(with_value) / sizeof(with_value[0]); k++)
			if (!strcmp(a, with_value[k]) && (show || strcmp(a, "limit")))
				break;
		if (k == sizeof(with_value) / sizeof(with_value[0]))
			goto bad;
		if (i + 1 >= argc) {
			fprintf(stderr, "sluicectl: --%s needs a value\n", a);
			return 2;
		}
		cJSON_AddStringToObject(req, a, argv[++i]);
	}
	return 0;
bad:
	fprintf(stderr, "sluicectl: unknown option '%s'; %s takes --service VIP[:PORT] "
		"--backend IP[:PORT] --client IP --proto tcp|udp|sctp --state NAME%s\n", argv[i],
		show ? "show conntrack" : "conntrack flush", show ? " --limit N --summary" : "");
	return 2;
}

/* show conntrack [OPTIONS]: the flows as a table, and how many more matched. */
static int cmd_ct_show(int argc, char **argv)
{
	cJSON *req = cJSON_CreateObject();
	cJSON_AddStringToObject(req, "cmd", "conntrack.show");
	if (ct_options(req, argc, argv, true)) {
		cJSON_Delete(req);
		return 2;
	}
	if (json_out || cJSON_GetObjectItem(req, "summary"))
		return run(req, NULL);
	cJSON *r = NULL;
	if (run(req, &r))
		return 1;
	print_table(cJSON_GetObjectItem(r, "flows"));
	int matched = cJSON_GetObjectItem(r, "matched")->valueint;
	int shown = cJSON_GetObjectItem(r, "shown")->valueint;
	if (matched > shown)
		printf("(%d more matched; --limit N shows up to 50000)\n", matched - shown);
	cJSON_Delete(r);
	return 0;
}

/* conntrack flush [FILTER]: how many flows went. */
static int cmd_ct_flush(int argc, char **argv)
{
	cJSON *req = cJSON_CreateObject();
	cJSON_AddStringToObject(req, "cmd", "conntrack.flush");
	if (ct_options(req, argc, argv, false)) {
		cJSON_Delete(req);
		return 2;
	}
	if (json_out)
		return run(req, NULL);
	cJSON *r = NULL;
	if (run(req, &r))
		return 1;
	printf("flushed %d conntrack entries\n", cJSON_GetObjectItem(r, "flushed")->valueint);
	cJSON_Delete(r);
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "socket", required_argument, NULL, 's' },
		{ "output", required_argument, NULL, 'o' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	if (getenv("SLUICE_SOCKET"))
		sock_path = getenv("SLUICE_SOCKET");
	int o;
	while ((o = getopt_long(argc, argv, "+s:o:h", opts, NULL)) != -1) {
		switch (o) {
		case 's': sock_path = optarg; break;
		case 'o':
			if (strcmp(optarg, "json") && strcmp(optarg, "table")) {
				fprintf(stderr, "sluicectl: -o must be table or json\n");
				return 2;
			}
			json_out = !strcmp(optarg, "json");
			break;
		case 'h': print_help(stdout); return 0;
		default: print_help(stderr); return 2;
		}
	}
	argc -= optind;
	argv += optind;
	if (argc < 1) {
		print_help(stderr);
		return 2;
	}
	cJSON *req = cJSON_CreateObject();
	const char *verb = argv[0];
	if (!strcmp(verb, "show") && argc >= 2 && !strcmp(argv[1], "conntrack")) {
		cJSON_Delete(req);
		return cmd_ct_show(argc - 2, argv + 2);
	} else if (!strcmp(verb, "conntrack") && argc >= 2 && !strcmp(argv[1], "flush")) {
		cJSON_Delete(req);
		return cmd_ct_flush(argc - 2, argv + 2);
	} else if (!strcmp(verb, "version") && argc == 1) {
		cJSON_AddStringToObject(req, "cmd", "version");
	} else if (!strcmp(verb, "show") && argc == 2) {
		cJSON_AddStringToObject(req, "cmd", "show");
		cJSON_AddStringToObject(req, "what", argv[1]);
	} else if (!strcmp(verb, "apply") && argc == 3 && !strcmp(argv[1], "-f")) {
		cJSON_Delete(req);
		return cmd_apply(argv[2]);
	} else if (!strcmp(verb, "delete") && argc == 3) {
		cJSON_Delete(req);
		return cmd_delete(argv[1], argv[2]);
	} else if (!strcmp(verb, "policy") && argc == 5 && !strcmp(argv[1], "check")) {
		cJSON_AddStringToObject(req, "cmd", "policy.check");
		cJSON_AddStringToObject(req, "src", argv[2]);
		cJSON_AddStringToObject(req, "dst", argv[3]);
		cJSON_AddStringToObject(req, "port", argv[4]);
	} else if (!strcmp(verb, "trace") && argc == 2) {
		cJSON_Delete(req);
		int n = atoi(argv[1]);
		if (n < 1 || n > 100) {
			fprintf(stderr, "sluicectl: trace count must be 1-100\n");
			return 2;
		}
		return cmd_trace(n);
	} else if ((!strcmp(verb, "pod") || !strcmp(verb, "node") || !strcmp(verb, "route")) &&
		   argc >= 2 && (!strcmp(argv[1], "add") || !strcmp(argv[1], "del"))) {
		char cmd[32];
		snprintf(cmd, sizeof(cmd), "%s.%s", verb, argv[1]);
		cJSON_AddStringToObject(req, "cmd", cmd);
		cJSON *kv = kv_object(argc - 2, argv + 2);
		if (!kv) {
			cJSON_Delete(req);
			return 2;
		}
		if (!strcmp(argv[1], "add")) {
			cJSON_AddItemToObject(req, verb, kv);
		} else {
			for (cJSON *f = kv->child; f; f = f->next)
				cJSON_AddStringToObject(req, f->string, f->valuestring);
			cJSON_Delete(kv);
		}
	} else {
		cJSON_Delete(req);
		print_help(stderr);
		return 2;
	}
	return run(req, NULL);
}
