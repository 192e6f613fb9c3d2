/* test_auth_scripts.c - scripts/devkeys.sh and scripts/token.sh make keys and tokens that
 * common/auth.h accepts (RSA and EC), with the documented defaults (iss http://localhost/dev,
 * aud bookstore) and the role, e-mail, subject and lifetime asked for. */
#include "common/auth.h"

#include "common/log.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static char repo[512];
static char tmpdir[256];

/* Runs a shell command and returns its first output line (malloc'd), or NULL if it failed. */
static char *run(const char *fmt, const char *a, const char *b)
{
	char cmd[2048];
	char line[16384];
	FILE *p;
	char *out = NULL;

	snprintf(cmd, sizeof(cmd), fmt, a, b);
	p = popen(cmd, "r");
	ck_assert_ptr_nonnull(p);
	if (fgets(line, sizeof(line), p) != NULL) {
		line[strcspn(line, "\n")] = '\0';
		out = strdup(line);
	}
	if (pclose(p) != 0) {
		free(out);
		out = NULL;
	}
	return out;
}

static struct auth_verifier *verifier_for(const char *dir)
{
	char jwks[600];
	struct cfg_auth c = { .issuer = "http://localhost/dev", .audience = "bookstore",
			      .leeway_s = 30, .roles_claim = "roles", .jwks_refresh_s = 300 };
	char err[512];
	struct auth_verifier *v;

	snprintf(jwks, sizeof(jwks), "%s/jwks.json", dir);
	c.jwks = jwks;
	v = auth_verifier_new(&c, err, sizeof(err));
	ck_assert_msg(v != NULL, "%s", err);
	return v;
}

static void check_kind(const char *flag, const char *name)
{
	char dir[400];
	char *out, *tok;
	char hdr[20000];
	struct auth_verifier *v;
	struct auth_identity id;
	const char *why;

	snprintf(dir, sizeof(dir), "%s/%s", tmpdir, name);
	snprintf(hdr, sizeof(hdr), "%s/scripts/devkeys.sh %s %s 2>/dev/null && echo ok", repo, flag,
		 dir);
	out = run("%s%s", hdr, ""); /* the command is already formatted */
	ck_assert_ptr_nonnull(out);
	free(out);
	v = verifier_for(dir);

	tok = run("%s/scripts/token.sh --role admin --email boss@example.com --sub u-1 --ttl 600 --key %s",
		  repo, dir);
	ck_assert_ptr_nonnull(tok);
	snprintf(hdr, sizeof(hdr), "Bearer %s", tok);
	ck_assert_int_eq(auth_check_why(v, hdr, 1, &id, &why), AUTH_OK);
	ck_assert_str_eq(id.sub, "u-1");
	ck_assert_str_eq(id.email, "boss@example.com");
	ck_assert(id.admin);
	free(tok);

	tok = run("%s/scripts/token.sh --role customer --key %s", repo, dir);
	ck_assert_ptr_nonnull(tok);
	snprintf(hdr, sizeof(hdr), "Bearer %s", tok);
	ck_assert_int_eq(auth_check_why(v, hdr, 1, &id, &why), AUTH_OK);
	ck_assert_str_eq(id.sub, "dev-customer");
	ck_assert_str_eq(id.email, "customer@example.com");
	ck_assert(!id.admin);
	free(tok);

	/* another audience is refused: the defaults are what the verifier was told */
	tok = run("%s/scripts/token.sh --aud other --key %s", repo, dir);
	ck_assert_ptr_nonnull(tok);
	snprintf(hdr, sizeof(hdr), "Bearer %s", tok);
	ck_assert_int_eq(auth_check_why(v, hdr, 1, &id, &why), AUTH_INVALID);
	ck_assert_str_eq(why, "wrong audience");
	free(tok);

	/* hostile input to the script is refused, not put into the JSON */
	tok = run("%s/scripts/token.sh --email 'a\"b' --key %s 2>/dev/null", repo, dir);
	ck_assert_ptr_null(tok);
	auth_verifier_free(v);
}

START_TEST(test_rsa_dev_key_and_tokens_verify)
{
	check_kind("", "rsa");
}
END_TEST

START_TEST(test_ec_dev_key_and_tokens_verify)
{
	check_kind("--ec", "ec");
}
END_TEST

int main(void)
{
	SRunner *sr;
	Suite *s = suite_create("auth_scripts");
	TCase *t = tcase_create("scripts");
	const char *here = __FILE__;
	const char *cut = strstr(here, "/tests/unit/");
	int failed;
	char cmd[300];

	log_init("test_auth_scripts", LOG_ERROR);
	if (cut == NULL || here[0] != '/')
		return 1;
	snprintf(repo, sizeof(repo), "%.*s", (int)(cut - here), here);
	snprintf(tmpdir, sizeof(tmpdir), "%s/test_auth_scripts.XXXXXX",
		 getenv("TMPDIR") != NULL ? getenv("TMPDIR") : "/tmp");
	if (mkdtemp(tmpdir) == NULL)
		return 1;
	tcase_set_timeout(t, 60);
	tcase_add_test(t, test_rsa_dev_key_and_tokens_verify);
	tcase_add_test(t, test_ec_dev_key_and_tokens_verify);
	suite_add_tcase(s, t);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", tmpdir);
	return failed == 0 ? 0 : 1;
}
