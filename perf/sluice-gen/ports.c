/* sluice-gen ports: probe and run a vdev inside a network namespace.
 *
 * net_af_xdp opens its XDP socket and attaches its program in queue setup/start, and
 * net_af_packet binds its socket at probe; both look the interface up by name, so the whole
 * bring-up (and the teardown, which detaches the XDP program) runs with the calling thread
 * inside the target namespace. setns(CLONE_NEWNET) only moves the calling thread; EAL's
 * own threads stay where they are, and the data path works from any namespace once the
 * sockets exist. */
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <rte_bus.h>
#include <rte_dev.h>
#include <rte_ethdev.h>

#include "drivers/sl_ethport.h"
#include "gen.h"

#define NB_DESC 1024

static int home_ns_fd = -1;

int
sl_gen_ports_init(void)
{
	home_ns_fd = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
	if (home_ns_fd < 0) {
		int err = errno;

		fprintf(stderr, "sluice-gen: open /proc/thread-self/ns/net: %s\n", strerror(err));
		return -err;
	}
	return 0;
}

void
sl_gen_ports_fini(void)
{
	if (home_ns_fd >= 0)
		close(home_ns_fd);
	home_ns_fd = -1;
}

static int
enter_ns(const struct sl_gen_port *p, const char *opt)
{
	if (p->ns_fd < 0)
		return 0;
	if (setns(p->ns_fd, CLONE_NEWNET) < 0) {
		int err = errno;

		fprintf(stderr, "sluice-gen: %s: setns %s: %s\n", opt, p->spec.netns, strerror(err));
		return -err;
	}
	return 0;
}

static void
leave_ns(const struct sl_gen_port *p)
{
	if (p->ns_fd < 0)
		return;
	/* Failing to come back would leave every later step in the wrong namespace. */
	if (setns(home_ns_fd, CLONE_NEWNET) < 0) {
		fprintf(stderr, "sluice-gen: setns back to the original namespace: %s\n",
			strerror(errno));
		abort();
	}
}

/* Whether the kernel interface named by "iface=" in devargs has user-requested promiscuous
 * mode (SIOCGIFFLAGS reports only that, not the count held by e.g. a bridge). Returns 1, 0,
 * or -1 when there is no iface= or it cannot be read. Call inside the port's namespace. */
static int
iface_promisc(const char *devargs)
{
	const char *v = strstr(devargs, "iface=");
	struct ifreq ifr;
	size_t n;
	int fd, rc;

	if (v == NULL || (v != devargs && v[-1] != ','))
		return -1;
	v += strlen("iface=");
	n = strcspn(v, ",");
	if (n == 0 || n >= IFNAMSIZ)
		return -1;
	memset(&ifr, 0, sizeof(ifr));
	memcpy(ifr.ifr_name, v, n);
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	rc = ioctl(fd, SIOCGIFFLAGS, &ifr);
	close(fd);
	if (rc < 0)
		return -1;
	return (ifr.ifr_flags & IFF_PROMISC) != 0;
}

/* The option that asks for each tx offload, to name it when the port lacks one. */
static const struct {
	uint64_t offload;
	const char *opt;
} offload_opts[] = {
	{RTE_ETH_TX_OFFLOAD_UDP_CKSUM, "--l4-csum"},
	{RTE_ETH_TX_OFFLOAD_TCP_TSO, "--tso"},
	{RTE_ETH_TX_OFFLOAD_TCP_CKSUM, "--tso"},
};

/* Refuse a port without nb_queues queues or the tx offloads; 0 or -ENOTSUP after saying
 * which option asked for what. */
static int
check_caps(const struct sl_gen_port *p, const struct rte_eth_dev_info *info,
	   uint16_t nb_queues, uint64_t tx_offloads, const char *opt)
{
	if (info->max_rx_queues < nb_queues || info->max_tx_queues < nb_queues) {
		fprintf(stderr, "sluice-gen: --queues %u: %s %s:%s has at most %u rx and %u tx "
			"queues\n", nb_queues, opt, p->spec.netns, p->spec.devargs,
			info->max_rx_queues, info->max_tx_queues);
		return -ENOTSUP;
	}
	for (size_t i = 0; i < RTE_DIM(offload_opts); i++) {
		uint64_t o = offload_opts[i].offload;

		if ((tx_offloads & o) != 0 && (info->tx_offload_capa & o) == 0) {
			fprintf(stderr, "sluice-gen: %s: %s %s:%s cannot offload %s on tx\n",
				offload_opts[i].opt, opt, p->spec.netns, p->spec.devargs,
				rte_eth_dev_tx_offload_name(o));
			return -ENOTSUP;
		}
	}
	return 0;
}

static int
bring_up(struct sl_gen_port *p, struct rte_mempool *mp, uint16_t nb_queues,
	 uint64_t tx_offloads, const char *opt)
{
	const char *what = opt;
	struct rte_eth_conf conf;
	struct rte_eth_dev_info info;
	uint16_t nb_rxd = NB_DESC, nb_txd = NB_DESC;
	int rc, was_promisc;

	/* rte_dev_probe() reports success for a name that is already probed (-EEXIST is
	 * swallowed for multi-process sync), and we would then drive someone else's port. */
	if (rte_eth_dev_get_port_by_name(p->name, &p->port_id) == 0) {
		fprintf(stderr, "sluice-gen: %s %s:%s: device name '%s' is already in use; give each "
			"port its own name (net_af_xdp0, net_af_xdp1, ...)\n", opt, p->spec.netns,
			p->spec.devargs, p->name);
		return -EEXIST;
	}
	/* Before start: ethdev's start turns promiscuous mode off on the way. */
	was_promisc = iface_promisc(p->spec.devargs);
	char args[512];
	rc = sl_ethport_devargs(p->spec.devargs, args, sizeof(args));
	if (rc == 0)
		rc = rte_dev_probe(args);
	if (rc < 0) {
		/* The driver's reason is in the EAL log above; rc is often just -EPERM. */
		what = "probe (does the interface exist in that namespace?)";
		goto fail;
	}
	if (rte_eth_dev_get_port_by_name(p->name, &p->port_id) != 0) {
		/* Probed under another name: nothing to configure, and nothing we can undo. */
		fprintf(stderr, "sluice-gen: %s %s:%s: no ethdev named '%s' after probe\n", opt,
			p->spec.netns, p->spec.devargs, p->name);
		return -ENODEV;
	}
	p->probed = true;

	rc = rte_eth_dev_info_get(p->port_id, &info);
	if (rc < 0) {
		what = "dev_info_get";
		goto fail;
	}
	/* Only the sending side needs all --queues: a receive-only port (an af_xdp pod on a
	 * single-queue veth) takes what it has. */
	if (strcmp(opt, "--rx-port") == 0)
		nb_queues = RTE_MIN(nb_queues, RTE_MIN(info.max_rx_queues, info.max_tx_queues));
	rc = check_caps(p, &info, nb_queues, tx_offloads, opt);
	if (rc < 0)
		return rc;
	memset(&conf, 0, sizeof(conf));
	conf.txmode.offloads = tx_offloads;
	/* Spread received flows over the queues where the device can hash (a vhost-user
	 * peer picks the queue itself). */
	if (nb_queues > 1) {
		conf.rx_adv_conf.rss_conf.rss_hf = info.flow_type_rss_offloads &
			(RTE_ETH_RSS_IP | RTE_ETH_RSS_UDP | RTE_ETH_RSS_TCP);
		if (conf.rx_adv_conf.rss_conf.rss_hf != 0)
			conf.rxmode.mq_mode = RTE_ETH_MQ_RX_RSS;
	}
	rc = rte_eth_dev_configure(p->port_id, nb_queues, nb_queues, &conf);
	if (rc < 0) {
		what = "configure";
		goto fail;
	}
	p->nb_queues = nb_queues;
	rc = rte_eth_dev_adjust_nb_rx_tx_desc(p->port_id, &nb_rxd, &nb_txd);
	if (rc < 0) {
		what = "adjust_nb_rx_tx_desc";
		goto fail;
	}
	for (uint16_t q = 0; q < nb_queues; q++) {
		rc = rte_eth_rx_queue_setup(p->port_id, q, nb_rxd,
					    rte_eth_dev_socket_id(p->port_id), NULL, mp);
		if (rc < 0) {
			what = "rx_queue_setup";
			goto fail;
		}
		/* conf.txmode.offloads are port-wide: they apply to every queue. */
		rc = rte_eth_tx_queue_setup(p->port_id, q, nb_txd,
					    rte_eth_dev_socket_id(p->port_id), NULL);
		if (rc < 0) {
			what = "tx_queue_setup";
			goto fail;
		}
	}
	rc = rte_eth_dev_start(p->port_id);
	if (rc < 0) {
		what = "start";
		goto fail;
	}
	p->started = true;
	rc = rte_eth_promiscuous_enable(p->port_id);
	if (rc < 0 && rc != -ENOTSUP) {
		what = "promiscuous_enable";
		goto fail;
	}
	/* Leave the interface as we found it. */
	p->restore_promisc = rc == 0 && was_promisc == 0;
	rc = rte_eth_macaddr_get(p->port_id, &p->mac);
	if (rc < 0) {
		what = "macaddr_get";
		goto fail;
	}
	return 0;
fail:
	fprintf(stderr, "sluice-gen: %s %s:%s: %s failed: %s\n", opt, p->spec.netns,
		p->spec.devargs, what, strerror(-rc));
	return rc;
}

int
sl_gen_port_open(struct sl_gen_port *p, const struct sl_gen_port_spec *spec,
		 struct rte_mempool *mp, uint16_t nb_queues, uint64_t tx_offloads, const char *opt)
{
	size_t n;
	int rc;

	memset(p, 0, sizeof(*p));
	p->ns_fd = -1;
	p->spec = *spec;
	n = strcspn(spec->devargs, ",");
	if (n >= sizeof(p->name)) {
		fprintf(stderr, "sluice-gen: %s: device name too long\n", opt);
		return -EINVAL;
	}
	memcpy(p->name, spec->devargs, n);
	p->name[n] = '\0';

	if (strcmp(spec->netns, "-") != 0) {
		char path[300];

		if (spec->netns[0] == '/')
			snprintf(path, sizeof(path), "%s", spec->netns);
		else
			snprintf(path, sizeof(path), "/var/run/netns/%s", spec->netns);
		p->ns_fd = open(path, O_RDONLY | O_CLOEXEC);
		if (p->ns_fd < 0) {
			rc = -errno;
			fprintf(stderr, "sluice-gen: %s: open %s: %s\n", opt, path, strerror(-rc));
			return rc;
		}
	}

	rc = enter_ns(p, opt);
	if (rc < 0)
		return rc;
	rc = bring_up(p, mp, nb_queues, tx_offloads, opt);
	leave_ns(p);
	return rc;
}

void
sl_gen_port_close(struct sl_gen_port *p)
{
	if (p->probed && enter_ns(p, "close") == 0) {
		struct rte_eth_dev_info info;
		struct rte_device *dev = NULL;
		int rc;

		if (rte_eth_dev_info_get(p->port_id, &info) == 0)
			dev = info.device;
		if (p->restore_promisc) {
			rc = rte_eth_promiscuous_disable(p->port_id);
			if (rc < 0)
				fprintf(stderr, "sluice-gen: promiscuous_disable %s: %s\n", p->name,
					strerror(-rc));
		}
		if (p->started) {
			rc = rte_eth_dev_stop(p->port_id);
			if (rc < 0)
				fprintf(stderr, "sluice-gen: stop %s: %s\n", p->name, strerror(-rc));
		}
		rc = rte_eth_dev_close(p->port_id);
		if (rc < 0)
			fprintf(stderr, "sluice-gen: close %s: %s\n", p->name, strerror(-rc));
		/* Detach the vdev too, so rte_eal_cleanup() has nothing left to do outside the
		 * namespace. */
		if (dev != NULL) {
			rc = rte_dev_remove(dev);
			if (rc < 0 && rc != -ENOENT)
				fprintf(stderr, "sluice-gen: remove %s: %s\n", p->name,
					strerror(-rc));
		}
		leave_ns(p);
	}
	p->probed = false;
	p->started = false;
	p->restore_promisc = false;
	if (p->ns_fd >= 0)
		close(p->ns_fd);
	p->ns_fd = -1;
}
