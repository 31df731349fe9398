/* tap-batch-bench: where a tap port's per-frame cost goes at 64 bytes (issue 13, "Tap pods:
 * batching through io_uring"): readv/writev per frame, as drivers/sl_tap.c does, against the
 * same reads/writes batched through io_uring (one io_uring_enter per burst, RWF_NOWAIT so
 * an empty tap completes at once with -EAGAIN instead of arming a poll).
 *
 * Runs in a network namespace of its own (unshare), so it touches nothing else: a tap made
 * as sl_tap_open makes it (IFF_VNET_HDR, TUNSETOFFLOAD CSUM | TSO4 | TSO_ECN), frames queued
 * into it through a packet socket (PACKET_QDISC_BYPASS, as a pod's AF_XDP copy-mode transmit
 * reaches tun_net_xmit), then drained with each method in turn, timed with the TSC. Reads
 * use sluice's iovec (10-byte header + 24 segments of 3,712 bytes) unless said otherwise.
 * Each round fills and drains once per method; min and median over the rounds are printed
 * (other jobs on the machine inflate single rounds: min is the cleanest figure).
 *
 * Build: meson builds it as build/perf/sluice-tap-batch-bench when liburing-dev is there, or
 *   gcc -O2 -o tap-batch-bench perf/tap_batch_bench.c -luring
 * Run (root): tap-batch-bench [rounds] [burst]   burst: frames queued per fill (default 4000;
 *   16 is what sluiced's tap port-rx sees per call at 64 bytes, see docs/performance.md) */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <liburing.h>
#include <linux/if_packet.h>
#include <linux/if_tun.h>
#include <linux/virtio_net.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>
#include <x86intrin.h>

#define SEGS 24
#define SEG_ROOM 3712
#define QMAX 4000 /* frames queued per fill at most (txqueuelen is set above it) */
#define BATCH 32
#define ROUNDS_MAX 1000

static int tap_fd, pkt_fd;
static char bufs[BATCH][SEGS][SEG_ROOM];
static struct virtio_net_hdr vh[BATCH];
static struct iovec iovs[BATCH][1 + SEGS];
/* A 60-byte IPv4 frame to a unicast MAC nobody has (the tap's stack drops what is written). */
static unsigned char frame[60] = { 0x02, 0, 0, 0, 0, 0x02, 0x02, 0, 0, 0, 0, 0x01, 0x08, 0x00, 0x45 };

static void die(const char *what)
{
	perror(what);
	exit(1);
}

static void setup(void)
{
	if (unshare(CLONE_NEWNET) < 0)
		die("unshare");
	tap_fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (tap_fd < 0)
		die("open /dev/net/tun");
	struct ifreq ifr = { 0 };
	strcpy(ifr.ifr_name, "tb0");
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR;
	if (ioctl(tap_fd, TUNSETIFF, &ifr) < 0)
		die("TUNSETIFF");
	int hs = sizeof(struct virtio_net_hdr);
	if (ioctl(tap_fd, TUNSETVNETHDRSZ, &hs) < 0 ||
	    ioctl(tap_fd, TUNSETOFFLOAD, TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO_ECN) < 0)
		die("TUNSETVNETHDRSZ/TUNSETOFFLOAD");
	int s = socket(AF_INET, SOCK_DGRAM, 0);
	ifr.ifr_qlen = QMAX + 1000;
	if (ioctl(s, SIOCSIFTXQLEN, &ifr) < 0)
		die("SIOCSIFTXQLEN");
	ifr.ifr_flags = IFF_UP;
	if (ioctl(s, SIOCSIFFLAGS, &ifr) < 0)
		die("SIOCSIFFLAGS");
	close(s);
	pkt_fd = socket(AF_PACKET, SOCK_RAW, 0);
	if (pkt_fd < 0)
		die("socket(AF_PACKET)");
	int one = 1;
	setsockopt(pkt_fd, SOL_PACKET, PACKET_QDISC_BYPASS, &one, sizeof(one));
	struct sockaddr_ll sll = { .sll_family = AF_PACKET,
				   .sll_ifindex = (int)if_nametoindex("tb0") };
	if (bind(pkt_fd, (struct sockaddr *)&sll, sizeof(sll)) < 0)
		die("bind");
	for (int b = 0; b < BATCH; b++) {
		iovs[b][0] = (struct iovec){ &vh[b], sizeof(vh[b]) };
		for (int k = 0; k < SEGS; k++)
			iovs[b][1 + k] = (struct iovec){ bufs[b][k], SEG_ROOM };
	}
}

/* Queue n frames into the tap (the pod transmitting). */
static void fill(int n)
{
	struct mmsghdr m[64];
	struct iovec io = { frame, sizeof(frame) };
	for (int i = 0; i < 64; i++)
		m[i] = (struct mmsghdr){ .msg_hdr = { .msg_iov = &io, .msg_iovlen = 1 } };
	while (n > 0) {
		int r = sendmmsg(pkt_fd, m, n < 64 ? (unsigned)n : 64, 0);
		if (r <= 0)
			die("sendmmsg");
		n -= r;
	}
}

/* readv until EAGAIN with niov iovecs (sl_tap_rx_burst's loop); frames read. */
static int drain_readv(int niov, uint64_t *cyc)
{
	int got = 0;
	uint64_t t0 = __rdtsc();
	while (readv(tap_fd, iovs[0], niov) > 0)
		got++;
	*cyc += __rdtsc() - t0;
	return got;
}

/* batch READV SQEs per io_uring_enter until one completes with -EAGAIN; fixed: the tap
 * registered (IOSQE_FIXED_FILE). All complete inside the enter (RWF_NOWAIT). */
static int drain_uring(struct io_uring *ring, unsigned batch, int fixed, uint64_t *cyc)
{
	int got = 0;
	uint64_t t0 = __rdtsc();
	for (;;) {
		for (unsigned b = 0; b < batch; b++) {
			struct io_uring_sqe *sqe = io_uring_get_sqe(ring);
			io_uring_prep_readv(sqe, fixed ? 0 : tap_fd, iovs[b], 1 + SEGS, 0);
			sqe->rw_flags = RWF_NOWAIT;
			if (fixed)
				sqe->flags |= IOSQE_FIXED_FILE;
		}
		io_uring_submit(ring);
		struct io_uring_cqe *cqe;
		unsigned head, seen = 0, ok = 0;
		io_uring_for_each_cqe(ring, head, cqe) {
			seen++;
			if (cqe->res > 0)
				ok++;
			else if (cqe->res != -EAGAIN) {
				fprintf(stderr, "readv completion %d\n", cqe->res);
				exit(1);
			}
		}
		io_uring_cq_advance(ring, seen);
		if (seen != batch) {
			fprintf(stderr, "only %u of %u reads completed inside the enter\n", seen, batch);
			exit(1);
		}
		got += (int)ok;
		if (ok < batch)
			break;
	}
	*cyc += __rdtsc() - t0;
	return got;
}

static struct virtio_net_hdr txh;
static struct iovec txio[2] = { { &txh, sizeof(txh) }, { frame, sizeof(frame) } };

/* n frames written, one writev each (sl_tap_tx_burst); cycles. */
static uint64_t tx_writev(int n)
{
	uint64_t t0 = __rdtsc();
	for (int i = 0; i < n; i++)
		if (writev(tap_fd, txio, 2) < 0)
			die("writev");
	return __rdtsc() - t0;
}

/* n frames written as batch WRITEV SQEs per io_uring_enter; cycles. */
static uint64_t tx_uring(struct io_uring *ring, int n, unsigned batch)
{
	uint64_t t0 = __rdtsc();
	for (int i = 0; i < n; i += (int)batch) {
		for (unsigned b = 0; b < batch; b++)
			io_uring_prep_writev(io_uring_get_sqe(ring), tap_fd, txio, 2, 0);
		io_uring_submit(ring);
		struct io_uring_cqe *cqe;
		unsigned head, seen = 0;
		io_uring_for_each_cqe(ring, head, cqe) {
			if (cqe->res < 0) {
				fprintf(stderr, "writev completion %d\n", cqe->res);
				exit(1);
			}
			seen++;
		}
		io_uring_cq_advance(ring, seen);
		if (seen != batch) {
			fprintf(stderr, "only %u of %u writes completed inside the enter\n", seen, batch);
			exit(1);
		}
	}
	return __rdtsc() - t0;
}

static double loop_cost(int what, int ep)
{
	struct epoll_event ev;
	uint64_t t0 = __rdtsc();
	for (int i = 0; i < 100000; i++)
		if (what == 0)
			syscall(SYS_getppid);
		else if (what == 1)
			readv(tap_fd, iovs[0], 1 + SEGS);
		else
			epoll_wait(ep, &ev, 1, 0);
	return (double)(__rdtsc() - t0) / 100000;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

enum { M_READV, M_READV2, M_URING32, M_URING8, M_URING32_FIXED, M_WRITEV, M_WURING32,
       M_WURING8, M_N };
static const char *const names[M_N] = {
	"RX readv, 25 iovecs (sluice today)", "RX readv, 2 iovecs",
	"RX io_uring READV x32 per enter", "RX io_uring READV x8 per enter",
	"RX io_uring x32, registered fd", "TX writev per frame (sluice today)",
	"TX io_uring WRITEV x32 per enter", "TX io_uring WRITEV x8 per enter",
};
static double per[M_N][ROUNDS_MAX];

int main(int argc, char **argv)
{
	int rounds = argc > 1 ? atoi(argv[1]) : 30;
	int burst = argc > 2 ? atoi(argv[2]) : QMAX;
	if (rounds < 1 || rounds > ROUNDS_MAX || burst < 1 || burst > QMAX) {
		fprintf(stderr, "usage: %s [rounds 1..%d] [burst 1..%d]\n", argv[0], ROUNDS_MAX, QMAX);
		return 2;
	}
	setup();
	struct io_uring ring, ring_fixed;
	int rc = io_uring_queue_init(256, &ring, 0);
	if (rc < 0 || (rc = io_uring_queue_init(256, &ring_fixed, 0)) < 0 ||
	    (rc = io_uring_register_files(&ring_fixed, &tap_fd, 1)) < 0) {
		fprintf(stderr, "io_uring: %s\n", strerror(-rc));
		return 1;
	}
	int ep = epoll_create1(0);
	struct epoll_event ev = { .events = EPOLLIN };
	epoll_ctl(ep, EPOLL_CTL_ADD, tap_fd, &ev);
	while (readv(tap_fd, iovs[0], 1 + SEGS) > 0) /* IPv6 chatter of the new tap */
		;
	double c_null = loop_cost(0, ep), c_empty = loop_cost(1, ep), c_epoll = loop_cost(2, ep);
	/* Each round: per RX method, queue burst frames and drain them, until 4000 frames are
	 * read; per TX method, write 4000 frames. */
	for (int r = 0; r < rounds; r++) {
		for (int m = 0; m < M_N; m++) {
			uint64_t c = 0;
			int got = 0;
			if (m >= M_WRITEV) {
				c = m == M_WRITEV ? tx_writev(QMAX)
						  : tx_uring(&ring, QMAX, m == M_WURING32 ? 32 : 8);
				per[m][r] = (double)c / QMAX;
				continue;
			}
			while (got < QMAX) {
				fill(burst);
				switch (m) {
				case M_READV: got += drain_readv(1 + SEGS, &c); break;
				case M_READV2: got += drain_readv(2, &c); break;
				case M_URING32: got += drain_uring(&ring, 32, 0, &c); break;
				case M_URING8: got += drain_uring(&ring, 8, 0, &c); break;
				default: got += drain_uring(&ring_fixed, 32, 1, &c); break;
				}
			}
			per[m][r] = (double)c / got;
		}
	}
	printf("tap-batch-bench: %d rounds, %d frames queued per fill, 64-byte frames\n", rounds,
	       burst);
	printf("%-36s %6.0f cycles\n", "null system call (getppid)", c_null);
	printf("%-36s %6.0f cycles\n", "readv on the empty tap (EAGAIN)", c_empty);
	printf("%-36s %6.0f cycles\n", "epoll_wait(0), tap idle", c_epoll);
	for (int m = 0; m < M_N; m++) {
		qsort(per[m], (size_t)rounds, sizeof(double), cmp_double);
		printf("%-36s min %5.0f  median %5.0f cycles/frame\n", names[m], per[m][0],
		       per[m][rounds / 2]);
	}
	return 0;
}
