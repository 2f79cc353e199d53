/*
 * Unit tests for kafka-configs' SCRAM credentials (tools/cli_scram.c): the
 * --add-config and --delete-config values of users, and the salted
 * password against PBKDF2 vectors computed with Python's
 * hashlib.pbkdf2_hmac.
 */
#include <stdarg.h>
#include <setjmp.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "cli.h"

#define NELEM(a)	(sizeof(a) / sizeof((a)[0]))

/* An argument and a part of the error it must produce. */
struct bad {
	const char	*arg;
	const char	*err;
};

static void
test_mech_names(void **state)
{
	(void)state;
	assert_int_equal(scram_mech_parse("SCRAM-SHA-256", 13), SCRAM_SHA_256);
	assert_int_equal(scram_mech_parse("SCRAM-SHA-512", 13), SCRAM_SHA_512);
	assert_int_equal(scram_mech_parse("SCRAM-SHA-51", 12), SCRAM_UNKNOWN);
	assert_int_equal(scram_mech_parse("scram-sha-256", 13), SCRAM_UNKNOWN);
	assert_int_equal(scram_mech_parse("", 0), SCRAM_UNKNOWN);
	assert_string_equal(scram_mech_name(SCRAM_SHA_256), "SCRAM-SHA-256");
	assert_string_equal(scram_mech_name(SCRAM_SHA_512), "SCRAM-SHA-512");
	assert_string_equal(scram_mech_name(SCRAM_UNKNOWN), "UNKNOWN");
	assert_string_equal(scram_mech_name(7), "UNKNOWN");
}

static void
test_add_kafka_form(void **state)
{
	struct scram_edit e = { 0 };
	char err[256] = "";

	(void)state;
	assert_int_equal(scram_parse_add(&e, "SCRAM-SHA-256=[iterations=8192,"
	    "password=alice-secret],SCRAM-SHA-512=[password=alice-secret]",
	    err, sizeof(err)), 0);
	assert_int_equal(e.nadd, 2);
	assert_int_equal(e.ndel, 0);
	assert_int_equal(e.add[0].mech, SCRAM_SHA_256);
	assert_int_equal(e.add[0].iterations, 8192);
	assert_string_equal(e.add[0].password, "alice-secret");
	assert_int_equal(e.add[1].mech, SCRAM_SHA_512);
	assert_int_equal(e.add[1].iterations, SCRAM_DEFAULT_ITERATIONS);
	assert_int_equal(SCRAM_DEFAULT_ITERATIONS, 4096);
	assert_string_equal(e.add[1].password, "alice-secret");
	scram_edit_clear(&e);
	assert_int_equal(e.nadd, 0);
}

static void
test_add_other_forms(void **state)
{
	struct scram_edit e = { 0 };
	char err[256] = "";

	(void)state;
	/* no brackets around one key; blanks around keys and numbers; the
	   password is taken as it is, '=' included */
	assert_int_equal(scram_parse_add(&e, "SCRAM-SHA-512=password=a=b",
	    err, sizeof(err)), 0);
	assert_int_equal(scram_parse_add(&e, " SCRAM-SHA-256 = [password=p w,"
	    " iterations = 16384 ]", err, sizeof(err)), 0);
	assert_int_equal(e.nadd, 2);
	assert_int_equal(e.add[0].mech, SCRAM_SHA_512);
	assert_string_equal(e.add[0].password, "a=b");
	assert_int_equal(e.add[1].mech, SCRAM_SHA_256);
	assert_string_equal(e.add[1].password, "p w");
	assert_int_equal(e.add[1].iterations, SCRAM_MAX_ITERATIONS);
	scram_edit_clear(&e);
}

static void
test_add_errors(void **state)
{
	static const struct bad bad[] = {
		{ "", "--add-config for users wants SCRAM-SHA-256=[" },
		{ "SCRAM-SHA-256", "--add-config for users wants" },
		{ "SCRAM-SHA-256=[password=a],", "--add-config for users " },
		{ "SCRAM-SHA-1=[password=x]", "unknown config 'SCRAM-SHA-1' "
		    "for users (only SCRAM-SHA-256 and SCRAM-SHA-512)" },
		{ "consumer_byte_rate=1024", "unknown config "
		    "'consumer_byte_rate'" },
		{ "SCRAM-SHA-256=[iterations=8192]", "SCRAM-SHA-256: a "
		    "password is required" },
		{ "SCRAM-SHA-512=[password=]", "SCRAM-SHA-512: a password "
		    "is required" },
		{ "SCRAM-SHA-256=[]", "SCRAM-SHA-256: '' is not key=value" },
		{ "SCRAM-SHA-256=[foo,password=a]", "'foo' is not key=value" },
		{ "SCRAM-SHA-256=[iterations=abc,password=x]", "iterations "
		    "must be a positive integer (got 'abc')" },
		{ "SCRAM-SHA-256=[iterations=0,password=x]", "positive" },
		{ "SCRAM-SHA-256=[iterations=-1,password=x]", "positive" },
		{ "SCRAM-SHA-256=[iterations=,password=x]", "positive" },
		{ "SCRAM-SHA-256=[iterations=4096x,password=x]", "positive" },
		{ "SCRAM-SHA-256=[iterations=2147483648,password=x]",
		    "positive" },
		{ "SCRAM-SHA-256=[iterations=16385,password=x]", "too many "
		    "iterations (16385; brokers accept at most 16384)" },
		{ "SCRAM-SHA-256=[salt=x,password=y]", "SCRAM-SHA-256: "
		    "unknown key 'salt' (want iterations and password)" },
		{ "SCRAM-SHA-256=[password=a,password=b]", "password is given "
		    "twice" },
		{ "SCRAM-SHA-256=[password=a],SCRAM-SHA-256=[password=b]",
		    "SCRAM-SHA-256 is given twice" },
		{ "SCRAM-SHA-256=[password=a", "unbalanced brackets" },
	};

	(void)state;
	for (size_t i = 0; i < NELEM(bad); i++) {
		struct scram_edit e = { 0 };
		char err[256] = "";

		if (scram_parse_add(&e, bad[i].arg, err, sizeof(err)) == 0)
			fail_msg("'%s' accepted", bad[i].arg);
		if (strstr(err, bad[i].err) == NULL)
			fail_msg("'%s': error '%s' lacks '%s'", bad[i].arg,
			    err, bad[i].err);
		scram_edit_clear(&e);
	}
}

static void
test_delete(void **state)
{
	struct scram_edit e = { 0 };
	char err[256] = "";

	(void)state;
	assert_int_equal(scram_parse_delete(&e, "SCRAM-SHA-512", err,
	    sizeof(err)), 0);
	assert_int_equal(e.ndel, 1);
	assert_int_equal(e.del[0], SCRAM_SHA_512);
	scram_edit_clear(&e);
	assert_int_equal(scram_parse_delete(&e, "SCRAM-SHA-256, SCRAM-SHA-512",
	    err, sizeof(err)), 0);
	assert_int_equal(e.ndel, 2);
	assert_int_equal(e.del[0], SCRAM_SHA_256);
	assert_int_equal(e.del[1], SCRAM_SHA_512);
	assert_int_equal(e.nadd, 0);
	scram_edit_clear(&e);
}

static void
test_delete_errors(void **state)
{
	static const struct bad bad[] = {
		{ "", "unknown config '' for users" },
		{ "SCRAM-SHA-512,", "unknown config ''" },
		{ "consumer_byte_rate", "unknown config 'consumer_byte_rate'" },
		{ "SCRAM-SHA-512=[password=x]", "--delete-config for users "
		    "wants mechanism names" },
		{ "SCRAM-SHA-512,SCRAM-SHA-512", "SCRAM-SHA-512 is given "
		    "twice" },
	};

	(void)state;
	for (size_t i = 0; i < NELEM(bad); i++) {
		struct scram_edit e = { 0 };
		char err[256] = "";

		if (scram_parse_delete(&e, bad[i].arg, err, sizeof(err)) == 0)
			fail_msg("'%s' accepted", bad[i].arg);
		if (strstr(err, bad[i].err) == NULL)
			fail_msg("'%s': error '%s' lacks '%s'", bad[i].arg,
			    err, bad[i].err);
		scram_edit_clear(&e);
	}
}

/* Both options together; one mechanism may not be in both. */
static void
test_add_and_delete(void **state)
{
	struct scram_edit e = { 0 };
	char err[256] = "";

	(void)state;
	assert_int_equal(scram_parse_add(&e, "SCRAM-SHA-256=[password=x]",
	    err, sizeof(err)), 0);
	assert_int_equal(scram_parse_delete(&e, "SCRAM-SHA-512", err,
	    sizeof(err)), 0);
	assert_int_equal(e.nadd, 1);
	assert_int_equal(e.ndel, 1);
	assert_int_equal(scram_parse_delete(&e, "SCRAM-SHA-256", err,
	    sizeof(err)), -1);
	assert_string_equal(err, "SCRAM-SHA-256 is both added and deleted");
	assert_int_equal(scram_parse_add(&e, "SCRAM-SHA-512=[password=y]",
	    err, sizeof(err)), -1);
	assert_string_equal(err, "SCRAM-SHA-512 is both added and deleted");
	scram_edit_clear(&e);
}

static void
unhex(const char *hex, uint8_t *out, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned int b;

		assert_int_equal(sscanf(hex + 2 * i, "%2x", &b), 1);
		out[i] = (uint8_t)b;
	}
}

static void
test_salted_password(void **state)
{
	/* hashlib.pbkdf2_hmac(h, b"alice-secret", SALT, iterations).hex() */
	static const struct {
		int8_t		 mech;
		int32_t		 iterations;
		const char	*hex;
	} v[] = {
		{ SCRAM_SHA_256, 4096, "dad82ca1a002c6f283abc12674d4cec0"
		    "9d62b6db6fa76f4fc4937d8e0ad062c5" },
		{ SCRAM_SHA_512, 8192, "bf07e55713c18a81dcd1c75c6267c7b5"
		    "5788934987e5e55dc45bb02cc54a3bd21d22c52d26676b8332063006"
		    "1541c4f3c06d456f61d9a606bfcc78cae92d2837" },
	};
	static const char salt[] = "0123456789abcdef0123456789abcdef";
	uint8_t out[SCRAM_MAX_DIGEST], want[SCRAM_MAX_DIGEST];

	(void)state;
	for (size_t i = 0; i < NELEM(v); i++) {
		size_t n = strlen(v[i].hex) / 2;

		unhex(v[i].hex, want, n);
		assert_int_equal(scram_salted_password(v[i].mech,
		    "alice-secret", (const uint8_t *)salt, 32, v[i].iterations,
		    out, sizeof(out)), (int)n);
		assert_memory_equal(out, want, n);
	}
	assert_int_equal(scram_salted_password(SCRAM_UNKNOWN, "x",
	    (const uint8_t *)salt, 32, 4096, out, sizeof(out)), -1);
	assert_int_equal(scram_salted_password(SCRAM_SHA_256, "x",
	    (const uint8_t *)salt, 32, 0, out, sizeof(out)), -1);
	assert_int_equal(scram_salted_password(SCRAM_SHA_512, "x",
	    (const uint8_t *)salt, 32, 4096, out, 32), -1);
}

/* A new random salt each time, and the salted password of that salt. */
static void
test_cred_make(void **state)
{
	char pw[] = "pw";
	struct scram_cred c = { SCRAM_SHA_512, 4096, pw };
	uint8_t s1[SCRAM_SALT_LEN], s2[SCRAM_SALT_LEN];
	uint8_t p1[SCRAM_MAX_DIGEST], p2[SCRAM_MAX_DIGEST];
	uint8_t want[SCRAM_MAX_DIGEST];
	size_t n1 = 0, n2 = 0;

	(void)state;
	assert_int_equal(scram_cred_make(&c, s1, p1, &n1), 0);
	assert_int_equal(scram_cred_make(&c, s2, p2, &n2), 0);
	assert_int_equal(n1, 64);
	assert_int_equal(n2, 64);
	assert_memory_not_equal(s1, s2, SCRAM_SALT_LEN);
	assert_int_equal(scram_salted_password(c.mech, c.password, s1,
	    sizeof(s1), c.iterations, want, sizeof(want)), 64);
	assert_memory_equal(p1, want, 64);
	c.mech = SCRAM_SHA_256;
	assert_int_equal(scram_cred_make(&c, s1, p1, &n1), 0);
	assert_int_equal(n1, 32);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mech_names),
		cmocka_unit_test(test_add_kafka_form),
		cmocka_unit_test(test_add_other_forms),
		cmocka_unit_test(test_add_errors),
		cmocka_unit_test(test_delete),
		cmocka_unit_test(test_delete_errors),
		cmocka_unit_test(test_add_and_delete),
		cmocka_unit_test(test_salted_password),
		cmocka_unit_test(test_cred_make),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
