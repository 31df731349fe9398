/* sluice-gen command line (the part after "--"). */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "gen.h"

enum {
	OPT_TX_PORT = 256,
	OPT_RX_PORT,
	OPT_SRC_MAC,
	OPT_DST_MAC,
	OPT_SRC_IP,
	OPT_DST_IP,
	OPT_DST_PORT,
	OPT_FLOWS,
	OPT_SIZE,
	OPT_RATE,
	OPT_DURATION,
	OPT_WARMUP,
	OPT_JSON,
	OPT_LABEL,
	OPT_BURST,
	OPT_QUIET,
	OPT_QUEUES,
	OPT_L4_CSUM,
	OPT_TSO,
	OPT_EXPECT_VXLAN,
	/* transmit encapsulation and destinations: parse_tx_dst_opt() */
	OPT_VXLAN,
	OPT_OUTER_SRC_IP,
	OPT_OUTER_DST_IP,
	OPT_INNER_DST_MAC,
	OPT_DST_IP_COUNT,
	OPT_DST_FILE,
	OPT_HELP,
};

static const struct option long_opts[] = {
	{"tx-port", required_argument, NULL, OPT_TX_PORT},
	{"rx-port", required_argument, NULL, OPT_RX_PORT},
	{"src-mac", required_argument, NULL, OPT_SRC_MAC},
	{"dst-mac", required_argument, NULL, OPT_DST_MAC},
	{"src-ip", required_argument, NULL, OPT_SRC_IP},
	{"dst-ip", required_argument, NULL, OPT_DST_IP},
	{"dst-port", required_argument, NULL, OPT_DST_PORT},
	{"flows", required_argument, NULL, OPT_FLOWS},
	{"size", required_argument, NULL, OPT_SIZE},
	{"rate", required_argument, NULL, OPT_RATE},
	{"duration", required_argument, NULL, OPT_DURATION},
	{"warmup", required_argument, NULL, OPT_WARMUP},
	{"json", required_argument, NULL, OPT_JSON},
	{"label", required_argument, NULL, OPT_LABEL},
	{"burst", required_argument, NULL, OPT_BURST},
	{"quiet", no_argument, NULL, OPT_QUIET},
	{"queues", required_argument, NULL, OPT_QUEUES},
	{"l4-csum", no_argument, NULL, OPT_L4_CSUM},
	{"tso", required_argument, NULL, OPT_TSO},
	{"expect-vxlan", required_argument, NULL, OPT_EXPECT_VXLAN},
	{"vxlan", required_argument, NULL, OPT_VXLAN},
	{"outer-src-ip", required_argument, NULL, OPT_OUTER_SRC_IP},
	{"outer-dst-ip", required_argument, NULL, OPT_OUTER_DST_IP},
	{"inner-dst-mac", required_argument, NULL, OPT_INNER_DST_MAC},
	{"dst-ip-count", required_argument, NULL, OPT_DST_IP_COUNT},
	{"dst-file", required_argument, NULL, OPT_DST_FILE},
	{"help", no_argument, NULL, OPT_HELP},
	{NULL, 0, NULL, 0},
};

void
sl_gen_usage(FILE *f, const char *prog)
{
	fprintf(f,
		"usage: %s [EAL args] -- --tx-port NETNS:DEVARGS --rx-port NETNS:DEVARGS [options]\n"
		"  --tx-port NETNS:DEVARGS  port to send on; NETNS is a name under /var/run/netns,\n"
		"                           an absolute path, or '-' for the current namespace;\n"
		"                           DEVARGS is a vdev string, e.g. net_af_xdp0,iface=eth0\n"
		"  --rx-port NETNS:DEVARGS  port to receive on (the same spec reuses the tx port)\n"
		"  --src-mac MAC            (default: tx port MAC)\n"
		"  --dst-mac MAC            (default: rx port MAC)\n"
		"  --src-ip IP              (default 198.18.0.1)\n"
		"  --dst-ip IP              (default 198.18.0.2)\n"
		"  --dst-port N             UDP (TCP with --tso) destination port (default 5001)\n"
		"  --flows N                UDP source ports %u..%u+N-1 (default 1024, max %u)\n"
		"  --size BYTES             frame size without FCS, %u..%u (default 64; with --tso\n"
		"                           %u..%u, default 9014)\n"
		"  --rate PPS               0 = as fast as possible (default 0)\n"
		"  --duration SECONDS       measured window (default 5)\n"
		"  --warmup SECONDS         sent but not counted (default 1)\n"
		"  --burst N                1..%u (default 32)\n"
		"  --json FILE              write results as JSON\n"
		"  --label NAME             label in the JSON (default \"sluice-gen\")\n"
		"  --quiet                  no per-second progress lines\n"
		"  --queues N               rx and tx queues on each port, 1..%u (default 1); flow i\n"
		"                           is sent on tx queue i %% N (needs N <= --flows)\n"
		"  --l4-csum                leave each UDP checksum to the tx port (checksum offload)\n"
		"  --tso MSS                send TCP frames for the tx port to cut into MSS-byte\n"
		"                           segments (TSO), %u..%u; rx counts TCP segments instead of\n"
		"                           probes: no loss or latency. Not with --l4-csum\n"
		"  --expect-vxlan VNI       count a probe as received only if it came inside VXLAN\n"
		"                           (UDP 4789) with this VNI and inner destination --dst-ip;\n"
		"                           others count as wrong_encap\n",
		prog, SL_GEN_SPORT_BASE, SL_GEN_SPORT_BASE, SL_GEN_MAX_FLOWS, SL_GEN_MIN_SIZE,
		SL_GEN_MAX_SIZE, SL_GEN_TSO_MIN_SIZE, SL_GEN_TSO_MAX_SIZE, SL_GEN_MAX_BURST,
		SL_GEN_MAX_QUEUES, SL_GEN_TSO_MIN_MSS, SL_GEN_TSO_MAX_MSS);
	fprintf(f,
		"  --dst-ip-count N         flow i goes to --dst-ip + (i %% N), 1..%u (default 1)\n"
		"  --dst-file FILE          lines \"IPV4 PORT\": flow i goes to line i %% lines (UDP,\n"
		"                           not with --vxlan or --dst-ip-count; up to 1048576 lines)\n"
		"  --vxlan VNI              send each frame inside VXLAN (RFC 7348, UDP port %u) as a\n"
		"                           remote VTEP would: --src-mac/--dst-mac become the outer\n"
		"                           Ethernet, --size the outer frame (%u..%u, default %u),\n"
		"                           the outer UDP source port a hash of the inner flow\n"
		"                           (49152..65535); not with --tso or --l4-csum\n"
		"  --outer-src-ip IP        outer source, the remote VTEP (default 198.18.0.2)\n"
		"  --outer-dst-ip IP        outer destination, the VTEP under test (default 198.18.0.1)\n"
		"  --inner-dst-mac MAC      inner Ethernet destination (default: the outer one); the\n"
		"                           inner source is the outer source MAC\n",
		SL_GEN_MAX_DST_IPS, SL_GEN_VXLAN_PORT, SL_GEN_VXLAN_MIN_SIZE, SL_GEN_MAX_SIZE,
		SL_GEN_VXLAN_MIN_SIZE);
}

static int
bad(const char *opt, const char *val, const char *why)
{
	fprintf(stderr, "sluice-gen: --%s '%s': %s\n", opt, val, why);
	return -EINVAL;
}

static int
parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *ret)
{
	char *end;
	unsigned long long v;

	if (*s == '\0' || *s == '-' || *s == '+')
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno != 0 || *end != '\0' || v < min || v > max)
		return -EINVAL;
	*ret = v;
	return 0;
}

static int
parse_seconds(const char *s, double min, double max, double *ret)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (*s == '\0' || errno != 0 || *end != '\0' || !isfinite(v) || v < min || v > max)
		return -EINVAL;
	*ret = v;
	return 0;
}

static int
parse_mac(const char *s, struct rte_ether_addr *ret)
{
	unsigned b[RTE_ETHER_ADDR_LEN];
	char tail;

	if (sscanf(s, "%2x:%2x:%2x:%2x:%2x:%2x%c", &b[0], &b[1], &b[2], &b[3], &b[4], &b[5],
		   &tail) != 6)
		return -EINVAL;
	for (int i = 0; i < RTE_ETHER_ADDR_LEN; i++)
		ret->addr_bytes[i] = (uint8_t)b[i];
	return 0;
}

static int
parse_port_spec(const char *opt, const char *s, struct sl_gen_port_spec *ret)
{
	const char *colon = strchr(s, ':');
	size_t nslen;

	if (colon == NULL)
		return bad(opt, s, "expected NETNS:DEVARGS");
	nslen = (size_t)(colon - s);
	if (nslen == 0 || nslen >= sizeof(ret->netns))
		return bad(opt, s, "namespace name empty or too long");
	memcpy(ret->netns, s, nslen);
	ret->netns[nslen] = '\0';
	/* A bare name must stay under /var/run/netns. */
	if (ret->netns[0] != '/' &&
	    (strchr(ret->netns, '/') != NULL || strcmp(ret->netns, "..") == 0 ||
	     strcmp(ret->netns, ".") == 0))
		return bad(opt, s, "namespace must be a plain name, an absolute path or '-'");
	if (colon[1] == '\0' || colon[1] == ',')
		return bad(opt, s, "DEVARGS must start with a device name");
	if (strlen(colon + 1) >= sizeof(ret->devargs))
		return bad(opt, s, "DEVARGS too long");
	strcpy(ret->devargs, colon + 1);
	return 0;
}

/* --vxlan, --outer-*, --inner-dst-mac, --dst-ip-count. Returns 0 or -EINVAL. */
static int
parse_tx_dst_opt(int opt, const char *name, const char *arg, struct sl_gen_config *c)
{
	uint64_t v;

	switch (opt) {
	case OPT_VXLAN:
		if (parse_u64(arg, 0, (1u << 24) - 1, &v) < 0)
			return bad(name, arg, "expected a VNI, 0..16777215");
		c->vni = (uint32_t)v;
		c->vxlan = true;
		return 0;
	case OPT_OUTER_SRC_IP:
		if (inet_pton(AF_INET, arg, &c->outer_src_ip) != 1)
			return bad(name, arg, "expected an IPv4 address");
		return 0;
	case OPT_OUTER_DST_IP:
		if (inet_pton(AF_INET, arg, &c->outer_dst_ip) != 1)
			return bad(name, arg, "expected an IPv4 address");
		return 0;
	case OPT_INNER_DST_MAC:
		if (parse_mac(arg, &c->inner_dst_mac) < 0)
			return bad(name, arg, "expected xx:xx:xx:xx:xx:xx");
		c->has_inner_dst_mac = true;
		return 0;
	case OPT_DST_IP_COUNT:
		if (parse_u64(arg, 1, SL_GEN_MAX_DST_IPS, &v) < 0)
			return bad(name, arg, "expected 1..256");
		c->dst_ip_count = (uint16_t)v;
		return 0;
	}
	return -EINVAL;
}

/* --dst-file FILE: lines "IPV4 PORT" into the config's destination list. A bad line is
 * named with its number. Returns 0 or -EINVAL. */
static int
read_dst_file(const char *path, struct sl_gen_config *c)
{
	FILE *f = fopen(path, "r");
	char line[128], ip[64];
	unsigned port, lineno = 0, cap = 1024;
	int rc = -EINVAL;

	if (!f) {
		fprintf(stderr, "sluice-gen: --dst-file %s: %s\n", path, strerror(errno));
		return -EINVAL;
	}
	c->dst_list_n = 0;
	c->dst_list_ip = malloc(cap * sizeof(*c->dst_list_ip));
	c->dst_list_port = malloc(cap * sizeof(*c->dst_list_port));
	while (c->dst_list_ip && c->dst_list_port && fgets(line, sizeof(line), f)) {
		lineno++;
		if (line[0] == '\n' || line[0] == '#')
			continue;
		if (sscanf(line, "%63s %u", ip, &port) != 2 || port == 0 || port > 65535) {
			fprintf(stderr, "sluice-gen: --dst-file %s line %u: expected \"IPV4 PORT\" "
				"(port 1..65535)\n", path, lineno);
			goto out;
		}
		if (c->dst_list_n == SL_GEN_MAX_DST_LIST) {
			fprintf(stderr, "sluice-gen: --dst-file %s: more than %u destinations\n",
				path, SL_GEN_MAX_DST_LIST);
			goto out;
		}
		if (c->dst_list_n == cap) {
			uint32_t *ips;
			uint16_t *ports;

			cap *= 2;
			ips = realloc(c->dst_list_ip, cap * sizeof(*ips));
			if (ips)
				c->dst_list_ip = ips;
			ports = realloc(c->dst_list_port, cap * sizeof(*ports));
			if (ports)
				c->dst_list_port = ports;
			if (!ips || !ports)
				break;
		}
		if (inet_pton(AF_INET, ip, &c->dst_list_ip[c->dst_list_n]) != 1) {
			fprintf(stderr, "sluice-gen: --dst-file %s line %u: %s is not an IPv4 "
				"address\n", path, lineno, ip);
			goto out;
		}
		c->dst_list_port[c->dst_list_n++] = htons((uint16_t)port);
	}
	if (!c->dst_list_ip || !c->dst_list_port || !feof(f)) {
		fprintf(stderr, "sluice-gen: --dst-file %s: out of memory or read error\n", path);
		goto out;
	}
	if (c->dst_list_n == 0) {
		fprintf(stderr, "sluice-gen: --dst-file %s: no destinations\n", path);
		goto out;
	}
	c->dst_list_csum = calloc(c->dst_list_n, sizeof(*c->dst_list_csum));
	rc = c->dst_list_csum ? 0 : -EINVAL;
out:
	fclose(f);
	return rc;
}

/* The --vxlan limits; with --vxlan and no --size, the smallest frame. */
static int
check_tx_dst(struct sl_gen_config *c, bool has_size, bool has_outer)
{
	uint32_t last = ntohl(c->dst_ip) + c->dst_ip_count - 1u;

	if (last < ntohl(c->dst_ip)) {
		fprintf(stderr, "sluice-gen: --dst-ip-count %u runs past 255.255.255.255\n",
			c->dst_ip_count);
		return -EINVAL;
	}
	if (!c->vxlan) {
		if (has_outer || c->has_inner_dst_mac) {
			fprintf(stderr, "sluice-gen: --outer-src-ip, --outer-dst-ip and "
				"--inner-dst-mac need --vxlan\n");
			return -EINVAL;
		}
		return 0;
	}
	if (c->tso_mss != 0 || c->l4_csum) {
		fprintf(stderr, "sluice-gen: --vxlan cannot be combined with --tso or --l4-csum\n");
		return -EINVAL;
	}
	if (!has_size)
		c->size = SL_GEN_VXLAN_MIN_SIZE;
	if (c->size < SL_GEN_VXLAN_MIN_SIZE) {
		fprintf(stderr, "sluice-gen: --size %u: with --vxlan the outer frame is at least %u "
			"bytes (a 64-byte inner frame)\n", c->size, SL_GEN_VXLAN_MIN_SIZE);
		return -EINVAL;
	}
	return 0;
}

/* Limits that depend on more than one option. */
static int
check_combination(const struct sl_gen_config *c)
{
	if (c->tso_mss != 0 && c->l4_csum) {
		fprintf(stderr, "sluice-gen: --l4-csum offloads UDP checksums, but --tso sends TCP "
			"(its checksum is always offloaded): give one of them\n");
		return -EINVAL;
	}
	if (c->tso_mss == 0 && c->size > SL_GEN_MAX_SIZE) {
		fprintf(stderr, "sluice-gen: --size %u: expected 64..1514 (up to 9014 with --tso)\n",
			c->size);
		return -EINVAL;
	}
	/* Every TSO frame carries a full probe after its TCP header. */
	if (c->tso_mss != 0 && c->size < SL_GEN_TSO_MIN_SIZE) {
		fprintf(stderr, "sluice-gen: --size %u: --tso needs at least %u bytes (TCP headers "
			"and a probe)\n", c->size, SL_GEN_TSO_MIN_SIZE);
		return -EINVAL;
	}
	/* Flow i goes to tx queue i % queues: a queue without a flow would stay idle. */
	if (c->queues > c->flows) {
		fprintf(stderr, "sluice-gen: --queues %u needs --flows >= %u (flow i is sent on tx "
			"queue i %% %u), not %u\n", c->queues, c->queues, c->queues, c->flows);
		return -EINVAL;
	}
	return 0;
}

int
sl_gen_args_parse(int argc, char **argv, struct sl_gen_config *ret_cfg)
{
	struct sl_gen_config *c = ret_cfg;
	bool has_tx = false, has_rx = false, has_size = false, has_outer = false;
	uint64_t v;
	int opt, idx;

	memset(c, 0, sizeof(*c));
	inet_pton(AF_INET, "198.18.0.1", &c->src_ip); /* RFC 2544 C.2.2: benchmark range */
	inet_pton(AF_INET, "198.18.0.2", &c->dst_ip);
	c->dst_port = 5001;
	c->expect_vni = -1;
	c->flows = 1024;
	c->size = 64;
	c->rate = 0;
	c->duration = 5;
	c->warmup = 1;
	c->burst = 32;
	c->queues = 1;
	c->label = "sluice-gen";
	c->dst_ip_count = 1;
	inet_pton(AF_INET, "198.18.0.2", &c->outer_src_ip); /* a remote VTEP ... */
	inet_pton(AF_INET, "198.18.0.1", &c->outer_dst_ip); /* ... to the one under test */

	opterr = 0;
	optind = 1;
	while ((opt = getopt_long(argc, argv, "+:h", long_opts, &idx)) != -1) {
		const char *name = opt >= OPT_TX_PORT ? long_opts[opt - OPT_TX_PORT].name : "";

		switch (opt) {
		case OPT_TX_PORT:
			if (parse_port_spec(name, optarg, &c->tx) < 0)
				return -EINVAL;
			has_tx = true;
			break;
		case OPT_RX_PORT:
			if (parse_port_spec(name, optarg, &c->rx) < 0)
				return -EINVAL;
			has_rx = true;
			break;
		case OPT_SRC_MAC:
			if (parse_mac(optarg, &c->src_mac) < 0)
				return bad(name, optarg, "expected xx:xx:xx:xx:xx:xx");
			c->has_src_mac = true;
			break;
		case OPT_DST_MAC:
			if (parse_mac(optarg, &c->dst_mac) < 0)
				return bad(name, optarg, "expected xx:xx:xx:xx:xx:xx");
			c->has_dst_mac = true;
			break;
		case OPT_SRC_IP:
			if (inet_pton(AF_INET, optarg, &c->src_ip) != 1)
				return bad(name, optarg, "expected an IPv4 address");
			break;
		case OPT_DST_IP:
			if (inet_pton(AF_INET, optarg, &c->dst_ip) != 1)
				return bad(name, optarg, "expected an IPv4 address");
			break;
		case OPT_DST_PORT:
			if (parse_u64(optarg, 1, 65535, &v) < 0)
				return bad(name, optarg, "expected 1..65535");
			c->dst_port = (uint16_t)v;
			break;
		case OPT_FLOWS:
			if (parse_u64(optarg, 1, SL_GEN_MAX_FLOWS, &v) < 0)
				return bad(name, optarg, "expected 1..64512");
			c->flows = (uint32_t)v;
			break;
		case OPT_SIZE:
			/* The --tso limits are checked once all options are in. */
			if (parse_u64(optarg, SL_GEN_MIN_SIZE, SL_GEN_TSO_MAX_SIZE, &v) < 0)
				return bad(name, optarg, "expected 64..1514 (78..9014 with --tso)");
			c->size = (uint16_t)v;
			has_size = true;
			break;
		case OPT_RATE:
			if (parse_u64(optarg, 0, 1000000000, &v) < 0)
				return bad(name, optarg, "expected 0..1000000000 packets per second");
			c->rate = v;
			break;
		case OPT_DURATION:
			if (parse_seconds(optarg, 0.001, 86400, &c->duration) < 0)
				return bad(name, optarg, "expected seconds, 0.001..86400");
			break;
		case OPT_WARMUP:
			if (parse_seconds(optarg, 0, 3600, &c->warmup) < 0)
				return bad(name, optarg, "expected seconds, 0..3600");
			break;
		case OPT_JSON:
			if (*optarg == '\0')
				return bad(name, optarg, "expected a file name");
			c->json_path = optarg;
			break;
		case OPT_LABEL:
			if (strlen(optarg) > 256)
				return bad(name, optarg, "longer than 256 bytes");
			c->label = optarg;
			break;
		case OPT_BURST:
			if (parse_u64(optarg, 1, SL_GEN_MAX_BURST, &v) < 0)
				return bad(name, optarg, "expected 1..512");
			c->burst = (uint16_t)v;
			break;
		case OPT_QUIET:
			c->quiet = true;
			break;
		case OPT_QUEUES:
			if (parse_u64(optarg, 1, SL_GEN_MAX_QUEUES, &v) < 0)
				return bad(name, optarg, "expected 1..8");
			c->queues = (uint16_t)v;
			break;
		case OPT_L4_CSUM:
			c->l4_csum = true;
			break;
		case OPT_TSO:
			if (parse_u64(optarg, SL_GEN_TSO_MIN_MSS, SL_GEN_TSO_MAX_MSS, &v) < 0)
				return bad(name, optarg, "expected an MSS of 88..9000 bytes");
			c->tso_mss = (uint16_t)v;
			break;
		case OPT_EXPECT_VXLAN:
			/* RFC 7348 5: the VNI is 24 bits. */
			if (parse_u64(optarg, 0, (1u << 24) - 1, &v) < 0)
				return bad(name, optarg, "expected a VNI of 0..16777215");
			c->expect_vni = (int32_t)v;
			break;
		case OPT_OUTER_SRC_IP:
		case OPT_OUTER_DST_IP:
			has_outer = true;
			/* fall through */
		case OPT_VXLAN:
		case OPT_INNER_DST_MAC:
		case OPT_DST_IP_COUNT:
			if (parse_tx_dst_opt(opt, name, optarg, c) < 0)
				return -EINVAL;
			break;
		case OPT_DST_FILE:
			if (read_dst_file(optarg, c) < 0)
				return -EINVAL;
			break;
		case 'h':
		case OPT_HELP:
			sl_gen_usage(stdout, argv[0]);
			return 1;
		case ':':
			fprintf(stderr, "sluice-gen: option '%s' needs a value\n", argv[optind - 1]);
			return -EINVAL;
		default:
			fprintf(stderr, "sluice-gen: unknown option '%s'\n", argv[optind - 1]);
			return -EINVAL;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "sluice-gen: unexpected argument '%s'\n", argv[optind]);
		return -EINVAL;
	}
	if (!has_tx) {
		fprintf(stderr, "sluice-gen: --tx-port is required\n");
		return -EINVAL;
	}
	if (!has_rx) {
		fprintf(stderr, "sluice-gen: --rx-port is required\n");
		return -EINVAL;
	}
	/* TSO is about frames far larger than segments: default to the largest. */
	if (c->tso_mss != 0 && !has_size)
		c->size = SL_GEN_TSO_MAX_SIZE;
	if (check_tx_dst(c, has_size, has_outer) < 0)
		return -EINVAL;
	if (c->dst_list_n && (c->vxlan || c->tso_mss || c->dst_ip_count > 1)) {
		fprintf(stderr, "sluice-gen: --dst-file cannot be combined with --vxlan, --tso or "
			"--dst-ip-count\n");
		return -EINVAL;
	}
	return check_combination(c);
}
