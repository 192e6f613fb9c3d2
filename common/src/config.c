/* config.c - settings from the environment (see config.h).
 *
 * An empty variable counts as unset (Kubernetes and compose files often render "VAR="), so its
 * default applies. */
#include "common/config.h"

#include "common/build_info.h"
#include "common/http.h"
#include "common/log.h"
#include "common/netaddr.h"

#include <arpa/inet.h>

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Normalised URL copies (a trailing '/' removed) live for the whole process; keeping them on a
 * list leaves them reachable for leak checkers. */
struct cfg_str_copy {
	struct cfg_str_copy *next;
	char text[];
};
static struct cfg_str_copy *cfg_copies;

/* Strict decimal integer: '-'? digit+, nothing else. Returns 0 or -1 (also on overflow). */
static int cfg_parse_ll(const char *s, long long *out)
{
	const char *p = s;
	char *end = NULL;
	long long v;

	if (*p == '-')
		p++;
	if (*p == '\0')
		return -1;
	for (; *p != '\0'; p++)
		if (*p < '0' || *p > '9')
			return -1;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno != 0 || end == NULL || *end != '\0')
		return -1;
	*out = v;
	return 0;
}

/* Checks "http(s)://host[:port][/path]": a host of letters, digits, '.', '-', '_' (or a
 * bracketed IPv6 literal), an optional port 1..65535, then an optional path without spaces or
 * control characters. Returns 0 or -1. */
static int cfg_check_url(const char *s)
{
	const char *p;
	const char *host;
	long port = 0;
	int digits = 0;

	if (strncasecmp(s, "http://", 7) == 0)
		p = s + 7;
	else if (strncasecmp(s, "https://", 8) == 0)
		p = s + 8;
	else
		return -1;
	host = p;
	if (*p == '[') {
		p++;
		while ((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f') ||
		       (*p >= 'A' && *p <= 'F') || *p == ':' || *p == '.')
			p++;
		if (*p != ']' || p == host + 1)
			return -1;
		p++;
	} else {
		while ((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'z') ||
		       (*p >= 'A' && *p <= 'Z') || *p == '.' || *p == '-' || *p == '_')
			p++;
		if (p == host)
			return -1;
	}
	if (*p == ':') {
		p++;
		while (*p >= '0' && *p <= '9' && digits < 6) {
			port = port * 10 + (*p - '0');
			digits++;
			p++;
		}
		if (digits == 0 || port < 1 || port > 65535)
			return -1;
	}
	if (*p != '\0' && *p != '/')
		return -1;
	for (; *p != '\0'; p++)
		if ((unsigned char)*p <= 0x20 || *p == 0x7F)
			return -1;
	return 0;
}

/* Returns s without trailing '/' characters (after the authority), copying only if needed. */
static const char *cfg_strip_slash(const char *s)
{
	size_t len = strlen(s);
	struct cfg_str_copy *c;

	if (len == 0 || s[len - 1] != '/')
		return s;
	while (len > 0 && s[len - 1] == '/')
		len--;
	c = malloc(sizeof(*c) + len + 1);
	if (c == NULL) {
		fputs("config: out of memory\n", stderr);
		abort();
	}
	memcpy(c->text, s, len);
	c->text[len] = '\0';
	c->next = cfg_copies;
	cfg_copies = c;
	return c->text;
}

/* Validates one variable's text and writes its destination. Returns 0 or -1 with err set. */
static int cfg_apply(const struct cfg_var *v, const char *text, bool from_env, char *err,
		     size_t errlen)
{
	long long n;
	enum log_level level;
	const char *src = from_env ? "" : " (default)";

	switch (v->kind) {
	case CFG_INT:
		if (text == NULL) {
			snprintf(err, errlen, "%s: required, an integer between %lld and %lld",
				 v->name, v->min, v->max);
			return -1;
		}
		if (cfg_parse_ll(text, &n) != 0 || n < v->min || n > v->max) {
			snprintf(err, errlen, "%s: \"%.64s\"%s is not an integer between %lld and %lld",
				 v->name, text, src, v->min, v->max);
			return -1;
		}
		*(int *)v->dest = (int)n;
		return 0;
	case CFG_STR:
		*(const char **)v->dest = text;
		return 0;
	case CFG_URL:
		if (text == NULL) {
			*(const char **)v->dest = NULL;
			return 0;
		}
		if (cfg_check_url(text) != 0) {
			snprintf(err, errlen,
				 "%s: \"%.128s\"%s is not a URL of the form http(s)://host[:port][/path]",
				 v->name, text, src);
			return -1;
		}
		*(const char **)v->dest = cfg_strip_slash(text);
		return 0;
	case CFG_HOST: {
		unsigned char addr[16];

		if (text == NULL || (inet_pton(AF_INET, text, addr) != 1 &&
				     inet_pton(AF_INET6, text, addr) != 1)) {
			snprintf(err, errlen, "%s: \"%.64s\"%s is not an IPv4 or IPv6 address",
				 v->name, text != NULL ? text : "", src);
			return -1;
		}
		*(const char **)v->dest = text;
		return 0;
	}
	case CFG_BASE_PATH:
		if (text == NULL)
			text = "";
		if (http_base_path_valid(text) != 0) {
			snprintf(err, errlen,
				 "%s: \"%.128s\"%s must be empty or start with '/' and not end with "
				 "'/' (segments of letters, digits, '.', '_', '~', '-')",
				 v->name, text, src);
			return -1;
		}
		*(const char **)v->dest = text;
		return 0;
	case CFG_CIDRS: {
		struct netaddr_list l;
		char why[160];

		if (text == NULL)
			text = "";
		if (netaddr_list_parse(text, &l, why, sizeof(why)) != 0) {
			snprintf(err, errlen, "%s: %s%s", v->name, why, src);
			return -1;
		}
		*(const char **)v->dest = text;
		return 0;
	}
	case CFG_LOG_LEVEL:
		if (text == NULL || log_parse_level(text, &level) != 0) {
			snprintf(err, errlen,
				 "%s: \"%.64s\"%s is not one of debug, info, warn, error", v->name,
				 text != NULL ? text : "", src);
			return -1;
		}
		/* The destination is an int (struct cfg_common) or an enum log_level; both hold
		 * these small values with the same representation. */
		*(int *)v->dest = (int)level;
		return 0;
	}
	snprintf(err, errlen, "%s: unknown variable kind", v->name);
	return -1;
}

int cfg_parse(const struct cfg_var *vars, size_t n, const char *(*get)(const char *name),
	      char *err, size_t errlen)
{
	for (size_t i = 0; i < n; i++) {
		const char *text = get(vars[i].name);
		bool from_env = true;

		if (text == NULL || text[0] == '\0') {
			text = vars[i].def;
			from_env = false;
		}
		if (cfg_apply(&vars[i], text, from_env, err, errlen) != 0)
			return -1;
	}
	return 0;
}

/* What the flags a daemon may accept do, for --help. */
static const char *const cfg_flag_help[][2] = {
	{ "--migrate", "apply the pending database migrations of MIGRATIONS_DIR and exit 0 (or 1)" },
	{ "--version", "print the service name, version and git commit, and exit 0" },
	{ "--help", "print this help and exit 0 (also -h)" },
};

static void cfg_print_flag(const char *flag)
{
	const char *text = "";

	for (size_t k = 0; k < sizeof(cfg_flag_help) / sizeof(cfg_flag_help[0]); k++)
		if (strcmp(cfg_flag_help[k][0], flag) == 0)
			text = cfg_flag_help[k][1];
	printf("  %-26s %s\n", flag, text);
}

/* --help: usage with every flag (extra_flags, then --version and --help), the summary, the
 * variables. */
static void cfg_help(const char *prog, const char *summary, const struct cfg_var *vars, size_t n,
		     const char *const *extra_flags)
{
	printf("Usage: %s", prog);
	for (size_t k = 0; extra_flags != NULL && extra_flags[k] != NULL; k++)
		printf(" [%s]", extra_flags[k]);
	printf(" [--version] [--help]\n\n%s\n\nOptions:\n", summary != NULL ? summary : "");
	for (size_t k = 0; extra_flags != NULL && extra_flags[k] != NULL; k++)
		cfg_print_flag(extra_flags[k]);
	cfg_print_flag("--version");
	cfg_print_flag("--help");
	printf("\nConfiguration (environment variables):\n");
	for (size_t i = 0; i < n; i++) {
		const struct cfg_var *v = &vars[i];

		printf("  %-26s default: %s\n", v->name, v->def != NULL ? v->def : "(unset)");
		if (v->kind == CFG_INT)
			printf("  %-26s %s (%lld..%lld)\n", "", v->help != NULL ? v->help : "", v->min,
			       v->max);
		else
			printf("  %-26s %s\n", "", v->help != NULL ? v->help : "");
	}
	fflush(stdout);
}

void cfg_print_help(const char *prog, const char *summary, const struct cfg_var *vars, size_t n)
{
	cfg_help(prog, summary, vars, n, NULL);
}

static const char *cfg_getenv(const char *name)
{
	return getenv(name);
}

void cfg_load(int argc, char **argv, const char *summary, const struct cfg_var *vars, size_t n,
	      const char *const *extra_flags)
{
	const char *prog = argc > 0 && argv[0] != NULL ? argv[0] : "daemon";
	const char *slash = strrchr(prog, '/');
	char err[512];

	if (slash != NULL)
		prog = slash + 1;
	for (int i = 1; i < argc; i++) {
		bool known = false;

		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			cfg_help(prog, summary, vars, n, extra_flags);
			exit(0);
		}
		if (strcmp(argv[i], "--version") == 0) {
			printf("%s %s (commit %s)\n", prog, build_version, build_commit);
			fflush(stdout);
			exit(0);
		}
		for (size_t k = 0; extra_flags != NULL && extra_flags[k] != NULL; k++)
			if (strcmp(argv[i], extra_flags[k]) == 0)
				known = true;
		if (!known) {
			fprintf(stderr, "%s: unknown argument \"%s\" (try --help)\n", prog, argv[i]);
			exit(2);
		}
	}
	if (cfg_parse(vars, n, cfg_getenv, err, sizeof(err)) != 0) {
		fprintf(stderr, "%s: %s\n", prog, err);
		exit(2);
	}
}
