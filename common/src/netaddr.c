/* netaddr.c - CIDR lists and the client address behind trusted proxies (see netaddr.h). */
#include "common/netaddr.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

/* Parses an address literal into family/addr; an IPv4-mapped IPv6 address becomes IPv4.
 * Returns 0 or -1. */
static int addr_parse(const char *s, int *family, unsigned char addr[16])
{
	static const unsigned char mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

	if (inet_pton(AF_INET, s, addr) == 1) {
		*family = AF_INET;
		return 0;
	}
	if (inet_pton(AF_INET6, s, addr) == 1) {
		*family = AF_INET6;
		if (memcmp(addr, mapped, sizeof(mapped)) == 0) {
			memmove(addr, addr + 12, 4);
			*family = AF_INET;
		}
		return 0;
	}
	return -1;
}

int netaddr_list_parse(const char *s, struct netaddr_list *out, char *err, size_t errlen)
{
	memset(out, 0, sizeof(*out));
	while (s != NULL && *s != '\0') {
		char item[64];
		size_t len;
		char *slash;
		struct netaddr_cidr *c;
		long prefix = -1;

		s += strspn(s, ", \t");
		len = strcspn(s, ", \t");
		if (len == 0)
			break;
		if (len >= sizeof(item)) {
			snprintf(err, errlen, "\"%.*s...\" is too long for an address", 32, s);
			return -1;
		}
		memcpy(item, s, len);
		item[len] = '\0';
		s += len;
		if (out->n == NETADDR_MAX_CIDRS) {
			snprintf(err, errlen, "more than %d entries", NETADDR_MAX_CIDRS);
			return -1;
		}
		c = &out->v[out->n];
		slash = strchr(item, '/');
		if (slash != NULL) {
			char *end = NULL;

			*slash = '\0';
			if (slash[1] < '0' || slash[1] > '9' || strlen(slash + 1) > 3)
				goto bad;
			prefix = strtol(slash + 1, &end, 10);
			if (end == NULL || *end != '\0')
				goto bad;
		}
		if (addr_parse(item, &c->family, c->addr) != 0)
			goto bad;
		/* An IPv4-mapped range written in IPv6 form keeps its meaning for IPv4. */
		if (c->family == AF_INET && strchr(item, ':') != NULL && prefix >= 0)
			prefix -= 96;
		if (prefix < 0 && slash == NULL)
			prefix = c->family == AF_INET ? 32 : 128;
		if (prefix < 0 || prefix > (c->family == AF_INET ? 32 : 128))
			goto bad;
		c->prefix = (int)prefix;
		out->n++;
		continue;
bad:
		if (slash != NULL)
			*slash = '/';
		snprintf(err, errlen, "\"%s\" is not an IPv4/IPv6 address or CIDR", item);
		return -1;
	}
	return 0;
}

static bool cidr_match(const struct netaddr_cidr *c, int family, const unsigned char *a)
{
	int full = c->prefix / 8, rest = c->prefix % 8;

	if (c->family != family)
		return false;
	if (memcmp(c->addr, a, (size_t)full) != 0)
		return false;
	if (rest == 0)
		return true;
	return ((c->addr[full] ^ a[full]) & (0xff << (8 - rest)) & 0xff) == 0;
}

bool netaddr_list_contains(const struct netaddr_list *l, const char *ip)
{
	unsigned char a[16];
	int family;

	if (l == NULL || l->n == 0 || ip == NULL || addr_parse(ip, &family, a) != 0)
		return false;
	for (size_t i = 0; i < l->n; i++)
		if (cidr_match(&l->v[i], family, a))
			return true;
	return false;
}

/* Copies the trimmed entry s[0..n) into out (NUL-terminated); returns 0 when it is an address
 * literal that fits. */
static int entry_copy(const char *s, size_t n, char out[NETADDR_TEXT_MAX])
{
	unsigned char a[16];
	int family;

	while (n > 0 && (*s == ' ' || *s == '\t')) {
		s++;
		n--;
	}
	while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
		n--;
	if (n == 0 || n >= NETADDR_TEXT_MAX)
		return -1;
	memcpy(out, s, n);
	out[n] = '\0';
	return addr_parse(out, &family, a);
}

void netaddr_client(const struct netaddr_list *trusted, const char *peer, const char *xff,
		    char out[NETADDR_TEXT_MAX])
{
	char cur[NETADDR_TEXT_MAX];
	size_t end;

	snprintf(out, NETADDR_TEXT_MAX, "%s", peer != NULL ? peer : "");
	if (xff == NULL || !netaddr_list_contains(trusted, peer))
		return;
	end = strlen(xff);
	/* Right to left: each hop appended the address it saw. */
	for (;;) {
		size_t start = end;

		while (start > 0 && xff[start - 1] != ',')
			start--;
		if (entry_copy(xff + start, end - start, cur) != 0)
			return; /* garbage: keep the last address we could trust */
		memcpy(out, cur, strlen(cur) + 1);
		if (!netaddr_list_contains(trusted, cur) || start == 0)
			return;
		end = start - 1;
	}
}
