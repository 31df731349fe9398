/* sluice-cni: rtnetlink and ethtool operations (see netlink.h). */
#include <errno.h>
#include <net/if.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <libmnl/libmnl.h>
#include <linux/ethtool.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <linux/sockios.h>
#include <linux/veth.h>

#include "netlink.h"

#define NL_BUF 65536 /* one receive: several link messages of a dump */

static int sys_fail(struct sl_cni_err *err, int rc, const char *fmt, const char *what)
{
	char m[256];
	snprintf(m, sizeof(m), fmt, what);
	sl_cni_fail(err, SL_CNI_E_SYSTEM, "%s: %s", m, strerror(-rc));
	return rc;
}

/* Send nlh and run cb on every reply message until the ACK, the DONE of a dump or an
 * error. Returns 0 or the kernel's negative errno. */
static int talk(struct sl_cni_nl *h, struct nlmsghdr *nlh, mnl_cb_t cb, void *data)
{
	static char buf[NL_BUF];
	unsigned portid = mnl_socket_get_portid(h->nl);
	nlh->nlmsg_seq = ++h->seq;
	if (mnl_socket_sendto(h->nl, nlh, nlh->nlmsg_len) < 0)
		return -errno;
	for (;;) {
		ssize_t n = mnl_socket_recvfrom(h->nl, buf, sizeof(buf));
		if (n < 0)
			return -errno;
		int ret = mnl_cb_run(buf, (size_t)n, h->seq, portid, cb, data);
		if (ret < 0)
			return -errno;
		if (ret == MNL_CB_STOP)
			return 0;
	}
}

static int open_here(struct sl_cni_nl *h)
{
	memset(h, 0, sizeof(*h));
	h->ioctl_fd = -1;
	h->nl = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC);
	if (!h->nl || mnl_socket_bind(h->nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		int rc = -errno;
		sl_cni_nl_close(h);
		return rc;
	}
	h->ioctl_fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (h->ioctl_fd < 0) {
		int rc = -errno;
		sl_cni_nl_close(h);
		return rc;
	}
	return 0;
}

int sl_cni_nl_open(struct sl_cni_nl *h, struct sl_cni_err *err)
{
	int rc = open_here(h);
	return rc < 0 ? sys_fail(err, rc, "%s", "netlink socket") : 0;
}

struct ns_job {
	int fd;
	struct sl_cni_nl *h;
	int rc;
};

/* Runs in its own thread: a setns() there changes only that thread's namespace, and the
 * sockets it creates stay bound to the target namespace after it exits. */
static void *ns_thread(void *p)
{
	struct ns_job *j = p;
	if (setns(j->fd, CLONE_NEWNET) < 0)
		j->rc = -errno;
	else
		j->rc = open_here(j->h);
	return NULL;
}

int sl_cni_nl_open_netns(int netns_fd, struct sl_cni_nl *h, struct sl_cni_err *err)
{
	struct ns_job j = { .fd = netns_fd, .h = h, .rc = -EINVAL };
	pthread_t t;
	memset(h, 0, sizeof(*h));
	h->ioctl_fd = -1;
	int rc = pthread_create(&t, NULL, ns_thread, &j);
	if (rc != 0)
		return sys_fail(err, -rc, "%s", "thread for the pod namespace");
	pthread_join(t, NULL);
	if (j.rc == -EINVAL)
		return sl_cni_fail(err, SL_CNI_E_ENV, "CNI_NETNS: not a network namespace"), j.rc;
	if (j.rc < 0)
		return sys_fail(err, j.rc, "%s", "entering the pod namespace");
	return 0;
}

void sl_cni_nl_close(struct sl_cni_nl *h)
{
	if (h->nl)
		mnl_socket_close(h->nl);
	if (h->ioctl_fd >= 0)
		close(h->ioctl_fd);
	h->nl = NULL;
	h->ioctl_fd = -1;
}

static struct nlmsghdr *new_msg(char *buf, size_t size, uint16_t type, uint16_t flags)
{
	memset(buf, 0, size); /* attribute padding goes out on the wire too */
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = type;
	/* Every request but a dump asks for an ACK, which ends talk()'s wait. NLM_F_DUMP is
	 * two bits, one of them shared with NLM_F_EXCL: compare both. */
	nlh->nlmsg_flags = NLM_F_REQUEST | flags;
	if ((flags & NLM_F_DUMP) != NLM_F_DUMP)
		nlh->nlmsg_flags |= NLM_F_ACK;
	return nlh;
}

int sl_cni_nl_veth_add(struct sl_cni_nl *h, const char *host_name, const char *peer_name,
		       int peer_netns_fd, unsigned mtu, struct sl_cni_err *err)
{
	char buf[1024];
	struct nlmsghdr *nlh = new_msg(buf, sizeof(buf), RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL);
	struct ifinfomsg *ifm = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifm));
	ifm->ifi_family = AF_UNSPEC;
	ifm->ifi_flags = ifm->ifi_change = IFF_UP;
	mnl_attr_put_strz(nlh, IFLA_IFNAME, host_name);
	mnl_attr_put_u32(nlh, IFLA_MTU, mtu);
	struct nlattr *info = mnl_attr_nest_start(nlh, IFLA_LINKINFO);
	mnl_attr_put_strz(nlh, IFLA_INFO_KIND, "veth");
	struct nlattr *data = mnl_attr_nest_start(nlh, IFLA_INFO_DATA);
	struct nlattr *peer = mnl_attr_nest_start(nlh, VETH_INFO_PEER);
	/* The peer's own ifinfomsg, then its attributes (kernel veth_newlink()). */
	struct ifinfomsg *pifm = mnl_nlmsg_put_extra_header(nlh, sizeof(*pifm));
	pifm->ifi_family = AF_UNSPEC; /* not IFF_UP: veth_open() of the peer runs before the
				       * pair is joined and fails with ENOTCONN */
	mnl_attr_put_strz(nlh, IFLA_IFNAME, peer_name);
	mnl_attr_put_u32(nlh, IFLA_NET_NS_FD, (uint32_t)peer_netns_fd);
	mnl_attr_put_u32(nlh, IFLA_MTU, mtu);
	mnl_attr_nest_end(nlh, peer);
	mnl_attr_nest_end(nlh, data);
	mnl_attr_nest_end(nlh, info);
	int rc = talk(h, nlh, NULL, NULL);
	if (rc == -EEXIST)
		return sl_cni_fail(err, SL_CNI_E_SYSTEM, "veth %s/%s: an interface of that name "
				   "already exists (host or pod namespace)", host_name, peer_name),
		       rc;
	return rc < 0 ? sys_fail(err, rc, "creating veth %s", host_name) : 0;
}

static int link_cb(const struct nlmsghdr *nlh, void *data)
{
	struct sl_cni_link *l = data;
	const struct ifinfomsg *ifm = mnl_nlmsg_get_payload(nlh);
	const struct nlattr *a;
	l->ifindex = ifm->ifi_index;
	l->up = ifm->ifi_flags & IFF_UP;
	mnl_attr_for_each(a, nlh, sizeof(*ifm))
	{
		if (mnl_attr_get_type(a) == IFLA_ADDRESS && mnl_attr_get_payload_len(a) == 6)
			memcpy(l->mac, mnl_attr_get_payload(a), 6);
		else if (mnl_attr_get_type(a) == IFLA_MTU)
			l->mtu = mnl_attr_get_u32(a);
	}
	return MNL_CB_OK;
}

int sl_cni_nl_link_get(struct sl_cni_nl *h, const char *name, struct sl_cni_link *ret,
		       struct sl_cni_err *err)
{
	char buf[256];
	memset(ret, 0, sizeof(*ret));
	struct nlmsghdr *nlh = new_msg(buf, sizeof(buf), RTM_GETLINK, 0);
	struct ifinfomsg *ifm = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifm));
	ifm->ifi_family = AF_UNSPEC;
	mnl_attr_put_u32(nlh, IFLA_EXT_MASK, RTEXT_FILTER_SKIP_STATS);
	mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
	int rc = talk(h, nlh, link_cb, ret);
	if (rc == 0 && ret->ifindex <= 0)
		rc = -ENODEV;
	if (rc == -ENODEV)
		return sl_cni_fail(err, SL_CNI_E_SYSTEM, "link %s: not found", name), rc;
	return rc < 0 ? sys_fail(err, rc, "reading link %s", name) : 0;
}

int sl_cni_nl_link_up(struct sl_cni_nl *h, int ifindex, struct sl_cni_err *err)
{
	char buf[256], what[16];
	struct nlmsghdr *nlh = new_msg(buf, sizeof(buf), RTM_NEWLINK, 0);
	struct ifinfomsg *ifm = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifm));
	ifm->ifi_family = AF_UNSPEC;
	ifm->ifi_index = ifindex;
	ifm->ifi_flags = ifm->ifi_change = IFF_UP;
	int rc = talk(h, nlh, NULL, NULL);
	snprintf(what, sizeof(what), "%d", ifindex);
	return rc < 0 ? sys_fail(err, rc, "setting link %s up", what) : 0;
}

int sl_cni_nl_link_move(struct sl_cni_nl *h, const char *name, int netns_fd,
			const char *new_name, unsigned mtu, struct sl_cni_err *err)
{
	char buf[512];
	struct nlmsghdr *nlh = new_msg(buf, sizeof(buf), RTM_NEWLINK, 0);
	struct ifinfomsg *ifm = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifm));
	ifm->ifi_family = AF_UNSPEC;
	ifm->ifi_index = (int)if_nametoindex(name);
	if (!ifm->ifi_index)
		return sl_cni_fail(err, SL_CNI_E_SYSTEM, "link %s: not found", name), -ENODEV;
	mnl_attr_put_u32(nlh, IFLA_NET_NS_FD, (uint32_t)netns_fd);
	mnl_attr_put_strz(nlh, IFLA_IFNAME, new_name);
	if (mtu)
		mnl_attr_put_u32(nlh, IFLA_MTU, mtu);
	int rc = talk(h, nlh, NULL, NULL);
	return rc < 0 ? sys_fail(err, rc, "moving link %s into the pod", name) : 0;
}

int sl_cni_nl_link_del(struct sl_cni_nl *h, const char *name, struct sl_cni_err *err)
{
	char buf[256];
	struct nlmsghdr *nlh = new_msg(buf, sizeof(buf), RTM_DELLINK, 0);
	struct ifinfomsg *ifm = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifm));
	ifm->ifi_family = AF_UNSPEC;
	mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
	int rc = talk(h, nlh, NULL, NULL);
	if (rc == -ENODEV)
		return sl_cni_fail(err, SL_CNI_E_SYSTEM, "link %s: not found", name), rc;
	return rc < 0 ? sys_fail(err, rc, "deleting link %s", name) : 0;
}

int sl_cni_nl_addr_add(struct sl_cni_nl *h, int ifindex, uint32_t ip, uint8_t len,
		       struct sl_cni_err *err)
{
	char buf[256], b[16];
	struct nlmsghdr *nlh = new_msg(buf, sizeof(buf), RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL);
	struct ifaddrmsg *ifa = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifa));
	ifa->ifa_family = AF_INET;
	ifa->ifa_prefixlen = len;
	ifa->ifa_scope = RT_SCOPE_UNIVERSE;
	ifa->ifa_index = (unsigned)ifindex;
	mnl_attr_put_u32(nlh, IFA_LOCAL, ip);
	mnl_attr_put_u32(nlh, IFA_ADDRESS, ip);
	int rc = talk(h, nlh, NULL, NULL);
	return rc < 0 ? sys_fail(err, rc, "adding address %s", sl_cni_fmt_ip(ip, b)) : 0;
}

struct addr_match {
	int ifindex;
	uint32_t ip;
	uint8_t len;
	bool found;
};

static int addr_cb(const struct nlmsghdr *nlh, void *data)
{
	struct addr_match *m = data;
	const struct ifaddrmsg *ifa = mnl_nlmsg_get_payload(nlh);
	const struct nlattr *a;
	if ((int)ifa->ifa_index != m->ifindex || ifa->ifa_prefixlen != m->len)
		return MNL_CB_OK;
	mnl_attr_for_each(a, nlh, sizeof(*ifa))
	{
		if (mnl_attr_get_type(a) == IFA_LOCAL && mnl_attr_get_u32(a) == m->ip)
			m->found = true;
	}
	return MNL_CB_OK;
}

int sl_cni_nl_addr_has(struct sl_cni_nl *h, int ifindex, uint32_t ip, uint8_t len,
		       struct sl_cni_err *err)
{
	char buf[256];
	struct addr_match m = { .ifindex = ifindex, .ip = ip, .len = len };
	struct nlmsghdr *nlh = new_msg(buf, sizeof(buf), RTM_GETADDR, NLM_F_DUMP);
	struct ifaddrmsg *ifa = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifa));
	ifa->ifa_family = AF_INET;
	int rc = talk(h, nlh, addr_cb, &m);
	return rc < 0 ? sys_fail(err, rc, "%s", "listing addresses") : m.found;
}

int sl_cni_nl_route_add(struct sl_cni_nl *h, int ifindex, uint32_t dst, uint8_t len,
			uint32_t gw, bool onlink, struct sl_cni_err *err)
{
	char buf[256], b[16], what[24];
	struct nlmsghdr *nlh = new_msg(buf, sizeof(buf), RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL);
	struct rtmsg *rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));
	rtm->rtm_family = AF_INET;
	rtm->rtm_dst_len = len;
	rtm->rtm_table = RT_TABLE_MAIN;
	rtm->rtm_protocol = RTPROT_BOOT;
	rtm->rtm_scope = gw ? RT_SCOPE_UNIVERSE : RT_SCOPE_LINK;
	rtm->rtm_type = RTN_UNICAST;
	rtm->rtm_flags = onlink ? RTNH_F_ONLINK : 0;
	if (len)
		mnl_attr_put_u32(nlh, RTA_DST, dst);
	if (gw)
		mnl_attr_put_u32(nlh, RTA_GATEWAY, gw);
	mnl_attr_put_u32(nlh, RTA_OIF, (uint32_t)ifindex);
	int rc = talk(h, nlh, NULL, NULL);
	snprintf(what, sizeof(what), "%s/%u", sl_cni_fmt_ip(dst, b), len);
	return rc < 0 ? sys_fail(err, rc, "adding route %s", what) : 0;
}

int sl_cni_nl_tx_csum_off(struct sl_cni_nl *h, const char *name, struct sl_cni_err *err)
{
	struct ethtool_value ev = { .cmd = ETHTOOL_STXCSUM, .data = 0 };
	struct ifreq ifr;
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	ifr.ifr_data = (void *)&ev;
	if (ioctl(h->ioctl_fd, SIOCETHTOOL, &ifr) < 0)
		return sys_fail(err, -errno, "turning TX checksum offload off on %s", name);
	return 0;
}

/* The index of feature string want among the n of ETH_SS_FEATURES on name, or -1. */
static int feature_index(struct sl_cni_nl *h, const char *name, const char *want, uint32_t n)
{
	struct ethtool_gstrings *gs = calloc(1, sizeof(*gs) + (size_t)n * ETH_GSTRING_LEN);
	struct ifreq ifr;
	int idx = -1;
	if (!gs)
		return -1;
	gs->cmd = ETHTOOL_GSTRINGS;
	gs->string_set = ETH_SS_FEATURES;
	gs->len = n;
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	ifr.ifr_data = (void *)gs;
	if (ioctl(h->ioctl_fd, SIOCETHTOOL, &ifr) == 0)
		for (uint32_t i = 0; i < gs->len && idx < 0; i++)
			if (!strncmp((const char *)gs->data + (size_t)i * ETH_GSTRING_LEN, want,
				     ETH_GSTRING_LEN))
				idx = (int)i;
	free(gs);
	return idx;
}

int sl_cni_nl_features_off(struct sl_cni_nl *h, const char *name, const char *const *features,
			   struct sl_cni_err *err)
{
	struct {
		struct ethtool_sset_info hdr;
		uint32_t len;
	} info = { .hdr = { .cmd = ETHTOOL_GSSET_INFO, .sset_mask = 1ull << ETH_SS_FEATURES } };
	struct ifreq ifr;
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	ifr.ifr_data = (void *)&info;
	if (ioctl(h->ioctl_fd, SIOCETHTOOL, &ifr) < 0 || !info.hdr.sset_mask)
		return sys_fail(err, -(errno ? errno : EOPNOTSUPP), "listing the features of %s",
				name);
	uint32_t n = info.len, words = (n + 31) / 32;
	struct ethtool_sfeatures *sf = calloc(1, sizeof(*sf) + words * sizeof(sf->features[0]));
	if (!sf)
		return sys_fail(err, -ENOMEM, "turning features off on %s", name);
	sf->cmd = ETHTOOL_SFEATURES;
	sf->size = words;
	for (const char *const *f = features; *f; f++) {
		int i = feature_index(h, name, *f, n);
		if (i >= 0)
			sf->features[i / 32].valid |= 1u << (i % 32); /* requested stays 0: off */
	}
	ifr.ifr_data = (void *)sf;
	int rc = ioctl(h->ioctl_fd, SIOCETHTOOL, &ifr) < 0 ? -errno : 0;
	free(sf);
	return rc < 0 ? sys_fail(err, rc, "turning features off on %s", name) : 0;
}

struct names_job {
	void (*fn)(const char *, void *);
	void *arg;
};

static int names_cb(const struct nlmsghdr *nlh, void *data)
{
	struct names_job *j = data;
	const struct nlattr *a;
	mnl_attr_for_each(a, nlh, sizeof(struct ifinfomsg))
	{
		if (mnl_attr_get_type(a) == IFLA_IFNAME)
			j->fn(mnl_attr_get_str(a), j->arg);
	}
	return MNL_CB_OK;
}

int sl_cni_nl_link_names(struct sl_cni_nl *h, void (*fn)(const char *, void *), void *arg,
			 struct sl_cni_err *err)
{
	char buf[256];
	struct names_job j = { fn, arg };
	struct nlmsghdr *nlh = new_msg(buf, sizeof(buf), RTM_GETLINK, NLM_F_DUMP);
	struct ifinfomsg *ifm = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifm));
	ifm->ifi_family = AF_UNSPEC;
	mnl_attr_put_u32(nlh, IFLA_EXT_MASK, RTEXT_FILTER_SKIP_STATS);
	int rc = talk(h, nlh, names_cb, &j);
	return rc < 0 ? sys_fail(err, rc, "%s", "listing links") : 0;
}
