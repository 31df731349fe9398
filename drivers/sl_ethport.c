/* Ethdev ports (see sl_ethport.h). */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <rte_bus.h>
#include <rte_dev.h>
#include <rte_errno.h>
#include <rte_ethdev.h>

#include "sl_ethport.h"
#include "sl_mbuf_pool.h"

#define RX_DESC 1024
#define TX_DESC 1024

int sl_ethport_devargs(const char *devargs, char *out, size_t len)
{
	bool af_xdp = strncmp(devargs, "net_af_xdp", strlen("net_af_xdp")) == 0;
	const char *extra = af_xdp && !strstr(devargs, "busy_budget=") ? ",busy_budget=0" : "";
	int n = snprintf(out, len, "%s%s", devargs, extra);
	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

int sl_ethport_open(const char *devargs, uint16_t *ret_rxq, uint16_t *ret_txq, uint16_t mtu,
		    struct rte_mempool *pool, uint16_t *ret_port, char *err, size_t errlen)
{
	char name[RTE_ETH_NAME_MAX_LEN];
	uint16_t port;
	int rc;

	char args[512];
	snprintf(name, sizeof(name), "%.*s", (int)strcspn(devargs, ","), devargs);
	if (sl_ethport_devargs(devargs, args, sizeof(args)) < 0) {
		snprintf(err, errlen, "devargs too long (at most %zu bytes)", sizeof(args) - 16);
		return -ENAMETOOLONG;
	}
	rc = rte_dev_probe(args);
	if (rc < 0) {
		snprintf(err, errlen, "cannot probe device '%s': %s", devargs, strerror(-rc));
		return rc;
	}
	if (rte_eth_dev_get_port_by_name(name, &port) != 0) {
		snprintf(err, errlen, "device '%s' probed but has no ethdev port", name);
		return -ENODEV;
	}
	struct rte_eth_dev_info info;
	rc = rte_eth_dev_info_get(port, &info);
	if (rc < 0)
		goto fail_msg;
	if (strcmp(info.driver_name, "net_af_xdp") == 0 && !sl_mbuf_pool_fits_umem(pool)) {
		snprintf(err, errlen, "device '%s': net_af_xdp needs every mbuf inside its UMEM, and "
			 "the mbuf pool is split over memory chunks (try fewer mbufs or --no-huge)", name);
		rc = -EINVAL;
		goto fail;
	}
	uint16_t n_rxq = RTE_MIN(*ret_rxq, info.max_rx_queues);
	uint16_t n_txq = RTE_MIN(*ret_txq, info.max_tx_queues);
	if (n_rxq == 0 || n_txq == 0) {
		snprintf(err, errlen, "device '%s' has no rx or tx queue", name);
		rc = -ENOTSUP;
		goto fail;
	}
	struct rte_eth_conf conf = {0};
	if (n_rxq > 1 && info.flow_type_rss_offloads) {
		conf.rxmode.mq_mode = RTE_ETH_MQ_RX_RSS;
		conf.rx_adv_conf.rss_conf.rss_hf = RTE_ETH_RSS_IP & info.flow_type_rss_offloads;
	}
	rc = rte_eth_dev_configure(port, n_rxq, n_txq, &conf);
	if (rc < 0)
		goto fail_msg;
	if (mtu && (rc = rte_eth_dev_set_mtu(port, mtu)) < 0 && rc != -ENOTSUP)
		goto fail_msg;
	for (uint16_t q = 0; q < n_rxq; q++)
		if ((rc = rte_eth_rx_queue_setup(port, q, RX_DESC, SOCKET_ID_ANY, NULL, pool)) < 0)
			goto fail_msg;
	for (uint16_t q = 0; q < n_txq; q++)
		if ((rc = rte_eth_tx_queue_setup(port, q, TX_DESC, SOCKET_ID_ANY, NULL)) < 0)
			goto fail_msg;
	if ((rc = rte_eth_dev_start(port)) < 0)
		goto fail_msg;
	rte_eth_promiscuous_enable(port);
	*ret_port = port;
	*ret_rxq = n_rxq;
	*ret_txq = n_txq;
	return 0;
fail_msg:
	snprintf(err, errlen, "device '%s': setup failed: %s", name, strerror(-rc));
fail:
	sl_ethport_close(port);
	return rc;
}

void sl_ethport_close(uint16_t port)
{
	struct rte_eth_dev_info info;
	struct rte_device *dev = NULL;
	if (rte_eth_dev_info_get(port, &info) == 0)
		dev = info.device;
	rte_eth_dev_stop(port);
	rte_eth_dev_close(port);
	if (dev)
		rte_dev_remove(dev);
}
