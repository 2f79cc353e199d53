/*
 * Unit tests for kafka-configs' SCRAM credentials (tools/cli_scram.c): the
 * --add-config and --delete-config values of users, and the salted
 * password against PBKDF2 vectors computed with Python's
 * hashlib.pbkdf2_hmac; the client side of an exchange against RFC 7677's
 * example, a server computed here, and broken server messages.
 */
#include <stdarg.h>
#include <setjmp.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "cli.h"

#define NELEM(a)	(sizeof(a) / sizeof((a)[0]))

/* An argument and a part of the error it must produce. */
struct bad {
	const char	*arg;
	const char	*err;
};

/* Each value is refused by parse, with an error naming what is wrong. */
static void
check_refused(const struct bad *bad, size_t n,
    int (*parse)(struct scram_edit *, const char *, char *, size_t))
{
	for (size_t i = 0; i < n; i++) {
		struct scram_edit e = { 0 };
		char err[256] = "";

		if (parse(&e, bad[i].arg, err, sizeof(err)) == 0)
			fail_msg("'%s' accepted", bad[i].arg);
		if (strstr(err, bad[i].err) == NULL)
			fail_msg("'%s': error '%s' lacks '%s'", bad[i].arg,
			    err, bad[i].err);
		scram_edit_clear(&e);
	}
}

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
	check_refused(bad, NELEM(bad), scram_parse_add);
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
	check_refused(bad, NELEM(bad), scram_parse_delete);
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

/* RFC 7677 section 3: user "user", password "pencil". */
#define RFC_NONCE	"rOprNGfwEbeRWgbNEkqO"
#define RFC_SNONCE	RFC_NONCE "%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0"
#define RFC_SALT	"W22ZaJ0SNY7soEsUEjb6gQ=="
#define RFC_FIRST	"r=" RFC_SNONCE ",s=" RFC_SALT ",i=4096"
#define RFC_FINAL	"c=biws,r=" RFC_SNONCE \
	",p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ="
#define RFC_VERIFY	"v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4="

/* The client-final for msg, given as a malloc'd copy of exactly its len
   bytes so that ASan catches a read past them. */
/* len bytes of msg in a buffer of exactly that size (a read past it is
   ASan's to see). */
static char *
exact_copy(const char *msg, size_t len)
{
	char *copy = malloc(len > 0 ? len : 1);

	assert_non_null(copy);
	memcpy(copy, msg, len);
	return copy;
}

static char *
final_of(struct scram_client *sc, const char *msg, size_t len, char *err,
    size_t errsz)
{
	char *copy = exact_copy(msg, len), *out;

	out = scram_client_final(sc, copy, len, err, errsz);
	free(copy);
	return out;
}

static int
verify_len(struct scram_client *sc, const char *msg, size_t len, char *err,
    size_t errsz)
{
	char *copy = exact_copy(msg, len);
	int rc;

	rc = scram_client_verify(sc, copy, len, err, errsz);
	free(copy);
	return rc;
}

static int
verify_of(struct scram_client *sc, const char *msg, char *err,
    size_t errsz)
{
	return verify_len(sc, msg, strlen(msg), err, errsz);
}

/* A client of RFC 7677's example after its client-first. */
static void
rfc_start(struct scram_client *sc)
{
	char *first;

	first = scram_client_first(sc, SCRAM_SHA_256, "user", "pencil",
	    RFC_NONCE);
	assert_non_null(first);
	assert_string_equal(first, "n,,n=user,r=" RFC_NONCE);
	free(first);
}

static void
test_client_rfc7677(void **state)
{
	struct scram_client sc = { 0 };
	char err[256] = "", *final;

	(void)state;
	rfc_start(&sc);
	final = final_of(&sc, RFC_FIRST, strlen(RFC_FIRST), err, sizeof(err));
	assert_non_null(final);
	assert_string_equal(final, RFC_FINAL);
	assert_string_equal(sc.auth_message, "n=user,r=" RFC_NONCE ","
	    RFC_FIRST ",c=biws,r=" RFC_SNONCE);
	assert_int_equal(sc.sig_len, 32);
	assert_int_equal(verify_of(&sc, RFC_VERIFY, err, sizeof(err)), 0);
	/* extensions after the known attributes are ignored */
	assert_int_equal(verify_of(&sc, RFC_VERIFY ",x=y", err, sizeof(err)),
	    0);
	free(final);
	final = final_of(&sc, RFC_FIRST ",x=ext", strlen(RFC_FIRST ",x=ext"),
	    err, sizeof(err));
	assert_non_null(final);
	free(final);
	scram_client_clear(&sc);
	assert_null(sc.first_bare);
	assert_null(sc.nonce);
	assert_null(sc.auth_message);
	assert_int_equal(sc.sig_len, 0);
}

static const EVP_MD *
test_md(int8_t mech)
{
	return mech == SCRAM_SHA_512 ? EVP_sha512() : EVP_sha256();
}

static void
test_hmac(int8_t mech, const uint8_t *key, size_t klen, const void *data,
    size_t dlen, uint8_t *out)
{
	assert_non_null(HMAC(test_md(mech), key, (int)klen, data, dlen, out,
	    NULL));
}

static char *
test_b64(const uint8_t *p, size_t n)
{
	char *out = malloc(4 * ((n + 2) / 3) + 1);

	assert_non_null(out);
	EVP_EncodeBlock((unsigned char *)out, p, (int)n);
	return out;
}

/* What a broker keeps of a password (RFC 5802 section 3), and the
   messages it sent and received. */
struct test_server {
	int8_t		 mech;
	size_t		 n;
	uint8_t		 stored[SCRAM_MAX_DIGEST];
	uint8_t		 server_key[SCRAM_MAX_DIGEST];
	char		 first[256];
	char		 without_proof[256];
};

#define TEST_SALT	"moldau-test-salt"

static void
server_init(struct test_server *s, int8_t mech, const char *password)
{
	uint8_t salted[SCRAM_MAX_DIGEST], ckey[SCRAM_MAX_DIGEST];
	int n;

	memset(s, 0, sizeof(*s));
	s->mech = mech;
	n = scram_salted_password(mech, password, (const uint8_t *)TEST_SALT,
	    strlen(TEST_SALT), 4096, salted, sizeof(salted));
	assert_true(n > 0);
	s->n = (size_t)n;
	test_hmac(mech, salted, s->n, "Client Key", 10, ckey);
	assert_int_equal(EVP_Digest(ckey, s->n, s->stored, NULL, test_md(mech),
	    NULL), 1);
	test_hmac(mech, salted, s->n, "Server Key", 10, s->server_key);
}

/* The server-first answering client-first cf (of user "alice"). */
static const char *
server_first(struct test_server *s, const char *cf)
{
	static const char head[] = "n,,n=alice,r=";
	char *salt = test_b64((const uint8_t *)TEST_SALT, strlen(TEST_SALT));
	const char *nonce = cf + strlen(head);

	assert_memory_equal(cf, head, strlen(head));
	snprintf(s->first, sizeof(s->first), "r=%s%s,s=%s,i=4096", nonce,
	    "+srv/Nonce~1", salt);
	snprintf(s->without_proof, sizeof(s->without_proof),
	    "c=biws,r=%s+srv/Nonce~1", nonce);
	free(salt);
	return s->first;
}

/* The AuthMessage the server sees for client-first cf. */
static void
server_auth(const struct test_server *s, const char *cf, char *out,
    size_t outsz)
{
	snprintf(out, outsz, "%s,%s,%s", cf + 3, s->first, s->without_proof);
}

/* Whether client-final cfin proves the password s was made from. */
static bool
server_check(const struct test_server *s, const char *cf, const char *cfin)
{
	uint8_t proof[SCRAM_MAX_DIGEST + 2], csig[SCRAM_MAX_DIGEST];
	uint8_t stored[SCRAM_MAX_DIGEST];
	size_t wl = strlen(s->without_proof);
	const char *p64 = cfin + wl + 3;
	char auth[1024];
	int n;

	assert_memory_equal(cfin, s->without_proof, wl);
	assert_memory_equal(cfin + wl, ",p=", 3);
	assert_int_equal(strlen(p64), 4 * ((s->n + 2) / 3));
	n = EVP_DecodeBlock(proof, (const unsigned char *)p64,
	    (int)strlen(p64));
	assert_true(n >= (int)s->n);
	server_auth(s, cf, auth, sizeof(auth));
	test_hmac(s->mech, s->stored, s->n, auth, strlen(auth), csig);
	for (size_t i = 0; i < s->n; i++)
		proof[i] ^= csig[i];	/* the client key */
	assert_int_equal(EVP_Digest(proof, s->n, stored, NULL,
	    test_md(s->mech), NULL), 1);
	return memcmp(stored, s->stored, s->n) == 0;
}

/* "v=" and the server signature (caller frees). */
static char *
server_final(const struct test_server *s, const char *cf)
{
	uint8_t sig[SCRAM_MAX_DIGEST];
	char auth[1024], *b64, *out;

	server_auth(s, cf, auth, sizeof(auth));
	test_hmac(s->mech, s->server_key, s->n, auth, strlen(auth), sig);
	b64 = test_b64(sig, s->n);
	out = malloc(strlen(b64) + 3);
	assert_non_null(out);
	snprintf(out, strlen(b64) + 3, "v=%s", b64);
	free(b64);
	return out;
}

/* One exchange with a random nonce against a server that knows
   server_pw: whether each side accepts the other. */
static void
round_trip(int8_t mech, const char *server_pw, bool want)
{
	struct scram_client sc = { 0 };
	struct test_server s;
	char err[256] = "", *cf, *cfin, *sfin;
	const char *sf, *nonce;

	server_init(&s, mech, server_pw);
	cf = scram_client_first(&sc, mech, "alice", "alice-secret", NULL);
	assert_non_null(cf);
	nonce = cf + strlen("n,,n=alice,r=");
	assert_int_equal(strlen(nonce), 32);
	for (const char *p = nonce; *p != '\0'; p++)
		assert_true(*p > 0x20 && *p < 0x7f && *p != ',' && *p != '=');
	sf = server_first(&s, cf);
	cfin = final_of(&sc, sf, strlen(sf), err, sizeof(err));
	if (cfin == NULL)
		fail_msg("client-final refused: %s", err);
	assert_int_equal(sc.sig_len, s.n);
	assert_int_equal(server_check(&s, cf, cfin), want);
	sfin = server_final(&s, cf);
	if (want)
		assert_int_equal(verify_of(&sc, sfin, err, sizeof(err)), 0);
	else {
		assert_int_equal(verify_of(&sc, sfin, err, sizeof(err)), -1);
		assert_string_equal(err, "server signature does not match");
	}
	free(cf);
	free(cfin);
	free(sfin);
	scram_client_clear(&sc);
}

static void
test_client_round_trip(void **state)
{
	(void)state;
	round_trip(SCRAM_SHA_512, "alice-secret", true);
	round_trip(SCRAM_SHA_512, "not-alice-secret", false);
	round_trip(SCRAM_SHA_256, "alice-secret", true);
	round_trip(SCRAM_SHA_256, "not-alice-secret", false);
}

/* Two random nonces differ; a nonce we are given must be printable. */
static void
test_client_first(void **state)
{
	struct scram_client sc = { 0 };
	char *a, *b;

	(void)state;
	a = scram_client_first(&sc, SCRAM_SHA_256, "u", "p", NULL);
	b = scram_client_first(&sc, SCRAM_SHA_256, "u", "p", NULL);
	assert_non_null(a);
	assert_non_null(b);
	assert_string_not_equal(a, b);
	free(a);
	free(b);
	assert_null(scram_client_first(&sc, SCRAM_UNKNOWN, "u", "p", NULL));
	assert_null(scram_client_first(&sc, SCRAM_SHA_256, "", "p", NULL));
	assert_null(scram_client_first(&sc, SCRAM_SHA_256, "u", NULL, NULL));
	assert_null(scram_client_first(&sc, SCRAM_SHA_256, "u", "p", ""));
	assert_null(scram_client_first(&sc, SCRAM_SHA_256, "u", "p", "a,b"));
	assert_null(scram_client_first(&sc, SCRAM_SHA_256, "u", "p", "a b"));
	assert_null(sc.first_bare);
	scram_client_clear(&sc);
}

/* ',' and '=' in a user name are escaped (RFC 5802 section 5.1). */
static void
test_client_user_escaped(void **state)
{
	struct scram_client sc = { 0 };
	char *first;

	(void)state;
	first = scram_client_first(&sc, SCRAM_SHA_512, "a,b=c,,==d", "pw",
	    "nonce");
	assert_non_null(first);
	assert_string_equal(first, "n,,n=a=2Cb=3Dc=2C=2C=3D=3Dd,r=nonce");
	assert_string_equal(sc.first_bare, "n=a=2Cb=3Dc=2C=2C=3D=3Dd,r=nonce");
	free(first);
	scram_client_clear(&sc);
}

static void
test_client_bad_server_first(void **state)
{
	static const struct bad bad[] = {
		{ "r=XOprNGfwEbeRWgbNEkqO%hv,s=" RFC_SALT ",i=4096",
		    "server nonce does not extend ours" },
		{ "r=" RFC_NONCE ",s=" RFC_SALT ",i=4096",
		    "server nonce does not extend ours" },
		{ "r=rOprNGfwEbeRWgbNEkq,s=" RFC_SALT ",i=4096",
		    "server nonce does not extend ours" },
		{ "r=,s=" RFC_SALT ",i=4096", "server nonce does not extend" },
		{ "r=" RFC_NONCE "%h\x7fv,s=" RFC_SALT ",i=4096",
		    "bad server nonce" },
		{ "r=" RFC_NONCE "%h v,s=" RFC_SALT ",i=4096",
		    "bad server nonce" },
		{ "r=" RFC_NONCE "%hv,i=4096", "server-first has no salt "
		    "(s=)" },
		{ "r=" RFC_NONCE "%hv,s=" RFC_SALT, "server-first has no "
		    "iteration count (i=)" },
		{ "r=" RFC_NONCE "%hv,s=" RFC_SALT ",", "no iteration count" },
		{ "r=" RFC_NONCE "%hv,i=4096,s=" RFC_SALT, "no salt (s=)" },
		{ "r=" RFC_NONCE "%hv,s=" RFC_SALT ",i=0",
		    "bad iteration count" },
		{ "r=" RFC_NONCE "%hv,s=" RFC_SALT ",i=", "bad iteration" },
		{ "r=" RFC_NONCE "%hv,s=" RFC_SALT ",i=-1", "bad iteration" },
		{ "r=" RFC_NONCE "%hv,s=" RFC_SALT ",i= 1", "bad iteration" },
		{ "r=" RFC_NONCE "%hv,s=" RFC_SALT ",i=1x", "bad iteration" },
		{ "r=" RFC_NONCE "%hv,s=" RFC_SALT ",i=16385",
		    "iteration count above 16384" },
		{ "r=" RFC_NONCE "%hv,s=" RFC_SALT ",i=2147483648",
		    "bad iteration count" },
		{ "r=" RFC_NONCE "%hv,s=,i=4096", "bad salt" },
		{ "r=" RFC_NONCE "%hv,s=W22ZaJ0SNY7soEsUEjb6gQ=,i=4096",
		    "bad salt" },
		{ "r=" RFC_NONCE "%hv,s=W22ZaJ0S*Y7soEsUEjb6gQ==,i=4096",
		    "bad salt" },
		{ "r=" RFC_NONCE "%hv,s=W22ZaJ0SNY7soEsUEjb6g===,i=4096",
		    "bad salt" },
		{ "r=" RFC_NONCE "%hv,s= W22ZaJ0SNY7soEsUEjb6gQ=,i=4096",
		    "bad salt" },
		{ "r=" RFC_NONCE "%hv,s=====,i=4096", "bad salt" },
		{ "r=" RFC_NONCE "%hv,s=" RFC_SALT ",i=4096,",
		    "malformed server-first" },
		{ "r=" RFC_NONCE "%hv,s=" RFC_SALT ",i=4096,x",
		    "malformed server-first" },
		{ "r=" RFC_NONCE "%hv,s=" RFC_SALT ",i=4096,1=2",
		    "malformed server-first" },
		{ "e=other-error", "server error: other-error" },
		{ "e=bad\nthing,r=x", "server error: bad?thing" },
		{ "m=must-know,r=" RFC_NONCE "%hv,s=" RFC_SALT ",i=4096",
		    "server requires an extension we do not know "
		    "(m=must-know)" },
		{ "", "server-first has no nonce (r=)" },
		{ "r", "server-first has no nonce (r=)" },
		{ "s=" RFC_SALT ",r=" RFC_NONCE "%hv,i=4096", "no nonce (r=)" },
		{ " r=" RFC_NONCE "%hv,s=" RFC_SALT ",i=4096", "no nonce" },
	};
	static const char nul[] = "r=" RFC_NONCE "%hv,s=" RFC_SALT ",i=4096"
	    ",x=\0";

	(void)state;
	for (size_t i = 0; i < NELEM(bad); i++) {
		struct scram_client sc = { 0 };
		char err[256] = "";

		rfc_start(&sc);
		if (final_of(&sc, bad[i].arg, strlen(bad[i].arg), err,
		    sizeof(err)) != NULL)
			fail_msg("'%s' accepted", bad[i].arg);
		if (strstr(err, bad[i].err) == NULL)
			fail_msg("'%s': error '%s' lacks '%s'", bad[i].arg,
			    err, bad[i].err);
		assert_int_equal(sc.sig_len, 0);
		assert_int_equal(verify_of(&sc, RFC_VERIFY, err, sizeof(err)),
		    -1);
		assert_string_equal(err, "no client-final message yet");
		scram_client_clear(&sc);
	}
	{
		struct scram_client sc = { 0 };
		char err[256] = "";

		rfc_start(&sc);
		assert_null(final_of(&sc, nul, sizeof(nul) - 1, err,
		    sizeof(err)));
		assert_string_equal(err, "server-first has a NUL byte");
		/* an empty message may come as NULL */
		assert_null(scram_client_final(&sc, NULL, 0, err,
		    sizeof(err)));
		assert_string_equal(err, "server-first has no nonce (r=)");
		scram_client_clear(&sc);
	}
}

static void
test_client_bad_server_final(void **state)
{
	static const struct bad bad[] = {
		{ "e=other-error", "server error: other-error" },
		{ "e=invalid-proof,x=y", "server error: invalid-proof" },
		{ "v=7rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=",
		    "server signature does not match" },
		{ "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4",
		    "server signature does not match" },
		{ "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G=",
		    "server signature does not match" },
		{ "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl9", "does not" },
		{ "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4AAAA",
		    "server signature does not match" },
		{ "v=", "server signature does not match" },
		{ "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=6rriTRBi23Wp"
		    "RR/wtup+mMhUZUn/dB5nLTJRsjl95G4=", "does not match" },
		{ RFC_VERIFY ",", "malformed server-final" },
		{ RFC_VERIFY ",x", "malformed server-final" },
		{ "x=y," RFC_VERIFY, "malformed server-final" },
		{ "", "malformed server-final" },
		{ "v", "malformed server-final" },
	};
	struct scram_client sc = { 0 };
	char err[256] = "", *final;

	(void)state;
	rfc_start(&sc);
	assert_int_equal(verify_of(&sc, RFC_VERIFY, err, sizeof(err)), -1);
	assert_string_equal(err, "no client-final message yet");
	final = final_of(&sc, RFC_FIRST, strlen(RFC_FIRST), err, sizeof(err));
	assert_non_null(final);
	free(final);
	for (size_t i = 0; i < NELEM(bad); i++) {
		err[0] = '\0';
		if (verify_of(&sc, bad[i].arg, err, sizeof(err)) != -1)
			fail_msg("'%s' accepted", bad[i].arg);
		if (strstr(err, bad[i].err) == NULL)
			fail_msg("'%s': error '%s' lacks '%s'", bad[i].arg,
			    err, bad[i].err);
	}
	assert_int_equal(scram_client_verify(&sc, NULL, 0, err, sizeof(err)),
	    -1);
	assert_string_equal(err, "malformed server-final");
	/* the right one still passes after the wrong ones */
	assert_int_equal(verify_of(&sc, RFC_VERIFY, err, sizeof(err)), 0);
	scram_client_clear(&sc);
}

/* Every prefix of a good server-first is refused, or taken when it ends
   inside the iteration count (i=4, i=40, i=409), without reading past
   its length. */
static void
test_client_truncated(void **state)
{
	static const char full[] = RFC_FIRST;
	size_t len = sizeof(full) - 1;
	size_t count = (size_t)(strstr(full, ",i=") - full) + 3;

	(void)state;
	for (size_t n = 0; n <= len; n++) {
		struct scram_client sc = { 0 };
		char err[256] = "", *final;

		rfc_start(&sc);
		final = final_of(&sc, full, n, err, sizeof(err));
		if (n > count) {
			if (final == NULL)
				fail_msg("prefix %zu refused: %s", n, err);
		} else if (final != NULL)
			fail_msg("prefix %zu accepted: %s", n, final);
		else
			assert_true(err[0] != '\0');
		free(final);
		scram_client_clear(&sc);
	}
}

/* Every proper prefix of the RFC's server-final is refused, without
   reading past its length. */
static void
test_client_truncated_final(void **state)
{
	static const char full[] = RFC_VERIFY;
	struct scram_client sc = { 0 };
	char err[256] = "", *final;

	(void)state;
	rfc_start(&sc);
	final = final_of(&sc, RFC_FIRST, strlen(RFC_FIRST), err, sizeof(err));
	assert_non_null(final);
	free(final);
	for (size_t n = 0; n < sizeof(full) - 1; n++)
		if (verify_len(&sc, full, n, err, sizeof(err)) != -1)
			fail_msg("prefix %zu accepted", n);
	assert_int_equal(verify_len(&sc, full, sizeof(full) - 1, err,
	    sizeof(err)), 0);
	scram_client_clear(&sc);
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
		cmocka_unit_test(test_client_rfc7677),
		cmocka_unit_test(test_client_round_trip),
		cmocka_unit_test(test_client_first),
		cmocka_unit_test(test_client_user_escaped),
		cmocka_unit_test(test_client_bad_server_first),
		cmocka_unit_test(test_client_bad_server_final),
		cmocka_unit_test(test_client_truncated),
		cmocka_unit_test(test_client_truncated_final),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
