/* test_cli_flags.c - the daemons' command line: --version prints the service, the CMake project
 * version and the git commit it was built from, and exits 0 (before reading any setting); --help
 * lists every flag; an unknown flag exits 2. */
#include "test_catalog_common.h"

#include <regex.h>

static char out_path[512];

static void setup(void)
{
	snprintf(out_path, sizeof out_path, "%s/cli-%d.txt", c_env("TEST_TMPDIR"), (int)getpid());
	ck_assert_int_eq(ts_system("mkdir -p '%s'", c_env("TEST_TMPDIR")), 0);
}

static void teardown(void)
{
	unlink(out_path);
}

/* The first line of a file (malloc'd, no newline). */
static char *first_line(const char *path)
{
	char buf[512] = "";
	FILE *f = fopen(path, "r");

	ck_assert_ptr_nonnull(f);
	if (fgets(buf, sizeof buf, f) == NULL)
		buf[0] = '\0';
	fclose(f);
	buf[strcspn(buf, "\n")] = '\0';
	return strdup(buf);
}

/* <root>/<rel>, from MIGRATIONS_DIR=<root>/db/migrations. */
static void source_path(const char *rel, char *out, size_t len)
{
	const char *mig = c_env("MIGRATIONS_DIR");
	size_t n = strlen(mig);

	ck_assert(n > 14 && strcmp(mig + n - 14, "/db/migrations") == 0);
	snprintf(out, len, "%.*s/%s", (int)(n - 14), mig, rel);
}

static void check_version(const char *bin, const char *service)
{
	char root[512], cmake[600], want_prefix[128];
	char *line, *version, *head = NULL;
	regex_t re;
	regmatch_t m[3];

	/* A bad setting does not matter: --version reads none. */
	ck_assert_int_eq(ts_system("PORT=notaport '%s' --version >'%s' 2>&1", bin, out_path), 0);
	line = first_line(out_path);
	ck_assert_int_eq(regcomp(&re,
				 "^([a-z-]+) ([0-9]+\\.[0-9]+\\.[0-9]+) \\(commit "
				 "([0-9a-f]{12}(-dirty)?|unknown|[0-9A-Za-z._-]+)\\)$",
				 REG_EXTENDED),
			 0);
	ck_assert_msg(regexec(&re, line, 3, m, 0) == 0, "--version printed \"%s\"", line);
	regfree(&re);
	ck_assert_msg(strncmp(line, service, strlen(service)) == 0 && line[strlen(service)] == ' ',
		      "\"%s\" does not start with %s", line, service);

	/* The version is the CMake project version. */
	source_path("", root, sizeof root);
	snprintf(cmake, sizeof cmake, "%s.version", out_path);
	ck_assert_int_eq(ts_system("sed -n 's/^project(bookstore VERSION \\([0-9.]*\\).*/\\1/p' "
				   "'%sCMakeLists.txt' >'%s'",
				   root, cmake),
			 0);
	version = first_line(cmake);
	snprintf(want_prefix, sizeof want_prefix, "%s %s (commit ", service, version);
	ck_assert_msg(strncmp(line, want_prefix, strlen(want_prefix)) == 0, "\"%s\", want \"%s...\"",
		      line, want_prefix);
	/* In a git checkout (the usual test run) it is this checkout's commit. */
	if (ts_system("git -C '%s' rev-parse --short=12 HEAD >'%s' 2>/dev/null", root, cmake) == 0) {
		head = first_line(cmake);
		ck_assert_msg(strncmp(line + strlen(want_prefix), head, strlen(head)) == 0,
			      "\"%s\" does not name HEAD %s", line, head);
	} else {
		ck_assert_ptr_nonnull(strstr(line, "(commit unknown)"));
	}
	unlink(cmake);
	free(head);
	free(version);
	free(line);
}

START_TEST(test_version_names_service_version_and_commit)
{
	check_version(c_env("CATALOG_BIN"), "catalog-service");
	check_version(c_env("ORDER_BIN"), "order-service");
}
END_TEST

START_TEST(test_help_lists_every_flag_and_unknown_flags_exit_2)
{
	const char *bins[] = { c_env("CATALOG_BIN"), c_env("ORDER_BIN") };

	for (size_t i = 0; i < 2; i++) {
		char *usage;

		ck_assert_int_eq(ts_system("'%s' --help >'%s' 2>&1", bins[i], out_path), 0);
		usage = first_line(out_path);
		ck_assert_msg(strstr(usage, " [--migrate] [--version] [--help]") != NULL,
			      "usage line: %s", usage);
		free(usage);
		ck_assert_int_eq(ts_system("grep -Eq '^  --migrate +apply' '%s'", out_path), 0);
		ck_assert_int_eq(ts_system("grep -Eq '^  --version +print' '%s'", out_path), 0);
		ck_assert_int_eq(ts_system("grep -Eq '^  --help +print' '%s'", out_path), 0);
		ck_assert_int_eq(ts_system("'%s' --versions >'%s' 2>&1", bins[i], out_path), 2);
		ck_assert_int_eq(ts_system("grep -q 'unknown argument \"--versions\"' '%s'", out_path),
				 0);
	}
}
END_TEST

int main(void)
{
	Suite *s = suite_create("cli_flags");
	TCase *tc = tcase_create("flags");
	SRunner *sr;
	int failed;

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, C_TIMEOUT_S);
	tcase_add_test(tc, test_version_names_service_version_and_commit);
	tcase_add_test(tc, test_help_lists_every_flag_and_unknown_flags_exit_2);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
