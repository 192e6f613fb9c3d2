/* netaddr.h - IP address ranges (CIDR lists) and the client address behind trusted proxies.
 *
 * TRUSTED_PROXIES is a list of CIDRs ("10.0.0.0/8, 192.168.1.7, fd00::/8"): a peer inside it is
 * a proxy whose X-Forwarded-For may be believed. An IPv4-mapped IPv6 peer (::ffff:a.b.c.d)
 * matches IPv4 ranges. Pure functions, no allocation: unit-testable without a socket. */
#ifndef COMMON_NETADDR_H
#define COMMON_NETADDR_H

#include <stdbool.h>
#include <stddef.h>

#define NETADDR_MAX_CIDRS 64
#define NETADDR_TEXT_MAX 46 /* INET6_ADDRSTRLEN */

struct netaddr_cidr {
	int family;              /* AF_INET or AF_INET6 */
	unsigned char addr[16];  /* network byte order; 4 bytes used for AF_INET */
	int prefix;              /* 0..32 or 0..128 */
};

struct netaddr_list {
	size_t n;
	struct netaddr_cidr v[NETADDR_MAX_CIDRS];
};

/* Parses a comma- and/or space-separated list of addresses and CIDRs (an address alone is /32
 * or /128); NULL or "" gives an empty list. Host bits set under the prefix are accepted and
 * ignored. Returns 0, or -1 with a one-line reason in err (bad entry, prefix out of range, more
 * than NETADDR_MAX_CIDRS). */
int netaddr_list_parse(const char *s, struct netaddr_list *out, char *err, size_t errlen);
/* True when the address text ip (IPv4 or IPv6 literal) lies in one of l's ranges. */
bool netaddr_list_contains(const struct netaddr_list *l, const char *ip);
/* The client address of a request that arrived from peer (an address text): peer itself unless
 * peer is in trusted and xff (the X-Forwarded-For value, may be NULL) is present; then the
 * rightmost X-Forwarded-For entry that is not itself a trusted proxy (or the leftmost, when all
 * are), stopping at an entry that is not an IP address (the address examined before it is
 * used). Writes the result into out (NETADDR_TEXT_MAX bytes). */
void netaddr_client(const struct netaddr_list *trusted, const char *peer, const char *xff,
		    char out[NETADDR_TEXT_MAX]);

#endif
