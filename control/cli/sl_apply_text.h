/* sluicectl apply: a file's JSON checked without building its tree, so that it can be sent to
 * sluiced as it is (a 1,000-Service List is ~2.7 MB: parsing it into a tree to check it took
 * sluicectl ~15 ms and ~16 MB of fresh memory, about as long as sluiced's whole apply less
 * its Maglev tables). No DPDK, no allocation; linked by sluicectl and tests/unit. */
#pragma once
#include <stddef.h>

/* Scan text[0..len) for one JSON value that cJSON (and so sluiced) certainly reads the same:
 * RFC 8259 JSON with whitespace of space, tab, CR and LF only, strings without raw control
 * characters, \u escapes other than \u0000 with their surrogates paired, numbers of at
 * most 63 characters, nesting of at most 512 levels. On the way, every CR and LF outside a
 * string becomes a space (a newline ends an API request; text inside strings is never
 * changed, so byte offsets stay). Returns the length of text up to the end of the value
 * (leading whitespace included, what follows it ignored, as cJSON does), or 0 when the scan
 * cannot vouch for the text (invalid JSON, or one of the forms above that only cJSON's own
 * parser judges): the caller then parses it. Any thread. */
size_t sl_apply_text_scan(char *text, size_t len);
