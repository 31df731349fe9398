/* CPU lists and rps_cpus masks (sl_cpus.h). */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "sl_cpus.h"

static int cpu_number(const char **s, unsigned *ret, const char **why)
{
	char *end;
	if (**s < '0' || **s > '9')
		return *why = "expected a CPU number", -EINVAL;
	unsigned long v = strtoul(*s, &end, 10);
	if (v >= CPU_SETSIZE)
		return *why = "a CPU number above the highest CPU sluiced knows (1023)", -EINVAL;
	*s = end;
	*ret = (unsigned)v;
	return 0;
}

int sl_cpus_parse(const char *s, cpu_set_t *set, const char **ret_why)
{
	CPU_ZERO(set);
	for (;;) {
		unsigned lo, hi;
		if (cpu_number(&s, &lo, ret_why) < 0)
			return -EINVAL;
		hi = lo;
		if (*s == '-') {
			s++;
			if (cpu_number(&s, &hi, ret_why) < 0)
				return -EINVAL;
			if (hi < lo)
				return *ret_why = "a range whose end is below its start", -EINVAL;
		}
		for (unsigned c = lo; c <= hi; c++)
			CPU_SET(c, set);
		if (*s == ',') {
			s++;
			continue;
		}
		if (*s == '\n')
			s++;
		if (*s)
			return *ret_why = "expected ',', '-' or the end", -EINVAL;
		return 0;
	}
}

char *sl_cpus_mask_fmt(const cpu_set_t *set, char *buf)
{
	int words = 1;
	for (int c = 0; c < CPU_SETSIZE; c++)
		if (CPU_ISSET(c, set))
			words = c / 32 + 1;
	char *p = buf;
	for (int w = words - 1; w >= 0; w--) {
		unsigned v = 0;
		for (int b = 0; b < 32; b++)
			if (CPU_ISSET(w * 32 + b, set))
				v |= 1u << b;
		p += sprintf(p, w == words - 1 ? "%x" : ",%08x", v);
	}
	return buf;
}

void sl_cpus_online(cpu_set_t *set)
{
	char line[4096];
	const char *why;
	FILE *f = fopen("/sys/devices/system/cpu/online", "re");
	bool ok = f && fgets(line, sizeof(line), f) && sl_cpus_parse(line, set, &why) == 0;
	if (f)
		fclose(f);
	if (ok)
		return;
	CPU_ZERO(set);
	long n = sysconf(_SC_NPROCESSORS_ONLN);
	for (long c = 0; c < n && c < CPU_SETSIZE; c++)
		CPU_SET(c, set);
}
