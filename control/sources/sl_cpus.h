/* CPU sets as Linux writes them: lists ("0-3,8", /sys/devices/system/cpu/online, config
 * values) and the hex masks of /sys/class/net/<dev>/queues/rx-<n>/rps_cpus ("ff,00000001":
 * 32-bit words, most significant first). No DPDK; any thread. */
#pragma once
#include <sched.h>
#include <stddef.h>

/* Longest mask sl_cpus_mask_fmt writes, with its NUL: CPU_SETSIZE bits in 32-bit words. */
#define SL_CPUS_MASK_MAX (CPU_SETSIZE / 4 + CPU_SETSIZE / 32)

/* Parse list s ("0-3,8", ranges ascending, each CPU below CPU_SETSIZE, an optional final
 * newline) into *set. Returns 0, or -EINVAL with *ret_why saying what is wrong. */
int sl_cpus_parse(const char *s, cpu_set_t *set, const char **ret_why);
/* Write set as an rps_cpus mask into buf (SL_CPUS_MASK_MAX bytes): the fewest 32-bit words
 * that hold its highest CPU, at least one. Returns buf. */
char *sl_cpus_mask_fmt(const cpu_set_t *set, char *buf);
/* The CPUs online on this machine (/sys/devices/system/cpu/online; CPUs 0 to
 * sysconf(_SC_NPROCESSORS_ONLN) - 1 if it cannot be read). */
void sl_cpus_online(cpu_set_t *set);
