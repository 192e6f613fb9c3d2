/* test_netaddr.c - CIDR lists and the client address behind trusted proxies (netaddr.h). */
#include "common/netaddr.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

static struct netaddr_list parse_ok(const char *s)
{
	struct netaddr_list l;
	char err[160] = "";

	ck_assert_msg(netaddr_list_parse(s, &l, err, sizeof(err)) == 0, "%s: %s", s, err);
	return l;
}

START_TEST(test_parses_addresses_and_cidrs_of_both_families)
{
	struct netaddr_list l = parse_ok("10.0.0.0/8, 192.168.1.7 fd00::/8,::1");

	ck_assert_uint_eq(l.n, 4);
	ck_assert(netaddr_list_contains(&l, "10.255.1.2"));
	ck_assert(!netaddr_list_contains(&l, "11.0.0.1"));
	ck_assert(netaddr_list_contains(&l, "192.168.1.7"));
	ck_assert(!netaddr_list_contains(&l, "192.168.1.8"));
	ck_assert(netaddr_list_contains(&l, "fd12:3456::1"));
	ck_assert(netaddr_list_contains(&l, "::1"));
	ck_assert(!netaddr_list_contains(&l, "fe80::1"));
	ck_assert(netaddr_list_contains(&l, "::ffff:10.1.2.3")); /* IPv4-mapped peer */
	ck_assert(!netaddr_list_contains(&l, "not-an-ip"));
	ck_assert(!netaddr_list_contains(&l, NULL));
}
END_TEST

START_TEST(test_odd_prefixes_match_bit_by_bit)
{
	struct netaddr_list l = parse_ok("172.16.0.0/12,0.0.0.0/0");
	struct netaddr_list one = parse_ok("172.16.0.0/12");

	ck_assert(netaddr_list_contains(&one, "172.31.255.255"));
	ck_assert(!netaddr_list_contains(&one, "172.32.0.0"));
	ck_assert(netaddr_list_contains(&l, "8.8.8.8"));
}
END_TEST

START_TEST(test_empty_list_trusts_nobody)
{
	struct netaddr_list l = parse_ok("");
	struct netaddr_list n = parse_ok(NULL);

	ck_assert_uint_eq(l.n, 0);
	ck_assert_uint_eq(n.n, 0);
	ck_assert(!netaddr_list_contains(&l, "127.0.0.1"));
}
END_TEST

START_TEST(test_rejects_bad_entries)
{
	static const char *const bad[] = { "10.0.0.0/33", "10.0.0.0/", "10.0.0/8", "fd00::/129",
					   "hello",	  "10.0.0.0/-1", "1.2.3.4/8x", "/8" };
	struct netaddr_list l;
	char err[160];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		ck_assert_msg(netaddr_list_parse(bad[i], &l, err, sizeof(err)) == -1, "accepted %s",
			      bad[i]);
		ck_assert(strlen(err) > 0);
	}
}
END_TEST

START_TEST(test_client_is_the_peer_unless_it_is_a_trusted_proxy)
{
	struct netaddr_list none = parse_ok("");
	struct netaddr_list t = parse_ok("127.0.0.1, 10.0.0.0/8");
	char out[NETADDR_TEXT_MAX];

	netaddr_client(&none, "127.0.0.1", "203.0.113.9", out);
	ck_assert_str_eq(out, "127.0.0.1");
	netaddr_client(&t, "192.0.2.1", "203.0.113.9", out); /* peer not trusted */
	ck_assert_str_eq(out, "192.0.2.1");
	netaddr_client(&t, "127.0.0.1", NULL, out);
	ck_assert_str_eq(out, "127.0.0.1");
	netaddr_client(&t, "127.0.0.1", "203.0.113.9", out);
	ck_assert_str_eq(out, "203.0.113.9");
}
END_TEST

START_TEST(test_client_is_the_rightmost_untrusted_forwarded_address)
{
	struct netaddr_list t = parse_ok("127.0.0.1, 10.0.0.0/8");
	char out[NETADDR_TEXT_MAX];

	/* A client may forge the left part; only hops our proxies appended count. */
	netaddr_client(&t, "127.0.0.1", "1.1.1.1, 203.0.113.9, 10.0.0.5", out);
	ck_assert_str_eq(out, "203.0.113.9");
	netaddr_client(&t, "127.0.0.1", "10.1.1.1 , 10.0.0.5", out); /* all trusted */
	ck_assert_str_eq(out, "10.1.1.1");
	netaddr_client(&t, "127.0.0.1", "2001:db8::7", out);
	ck_assert_str_eq(out, "2001:db8::7");
	netaddr_client(&t, "127.0.0.1", "<script>, 10.0.0.5", out); /* garbage stops the walk */
	ck_assert_str_eq(out, "10.0.0.5");
	netaddr_client(&t, "127.0.0.1", "garbage", out);
	ck_assert_str_eq(out, "127.0.0.1");
}
END_TEST

static Suite *netaddr_suite(void)
{
	Suite *s = suite_create("netaddr");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_parses_addresses_and_cidrs_of_both_families);
	tcase_add_test(tc, test_odd_prefixes_match_bit_by_bit);
	tcase_add_test(tc, test_empty_list_trusts_nobody);
	tcase_add_test(tc, test_rejects_bad_entries);
	tcase_add_test(tc, test_client_is_the_peer_unless_it_is_a_trusted_proxy);
	tcase_add_test(tc, test_client_is_the_rightmost_untrusted_forwarded_address);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(netaddr_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
