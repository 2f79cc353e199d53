/*
 * SCRAM credentials of kafka-configs --entity-type users (KIP-554): the
 * --add-config and --delete-config values, and the salted password a
 * broker stores.  No I/O, so the unit test links this file alone.
 *
 *   --add-config 'SCRAM-SHA-256=[iterations=8192,password=P],
 *                 SCRAM-SHA-512=[password=P]'
 *   --delete-config 'SCRAM-SHA-512'
 */
#include <ctype.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "cli.h"
#include "xmalloc.h"

static const struct {
	int8_t		 code;
	const char	*name;
	const EVP_MD	*(*md)(void);
} mechs[] = {
	{ SCRAM_SHA_256, "SCRAM-SHA-256", EVP_sha256 },
	{ SCRAM_SHA_512, "SCRAM-SHA-512", EVP_sha512 },
};

#define NMECHS		(sizeof(mechs) / sizeof(mechs[0]))
_Static_assert(NMECHS == SCRAM_NMECH, "struct scram_edit holds each once");
#define MECH_LIST	"SCRAM-SHA-256 and SCRAM-SHA-512"
#define ADD_FORM	"SCRAM-SHA-256=[iterations=N,password=P],..."

const char *
scram_mech_name(int8_t code)
{
	for (size_t i = 0; i < NMECHS; i++)
		if (mechs[i].code == code)
			return mechs[i].name;
	return "UNKNOWN";
}

int8_t
scram_mech_parse(const char *p, size_t len)
{
	for (size_t i = 0; i < NMECHS; i++)
		if (strlen(mechs[i].name) == len &&
		    memcmp(mechs[i].name, p, len) == 0)
			return mechs[i].code;
	return SCRAM_UNKNOWN;
}

/* Drop blanks at both ends of [*p, *p + *len). */
static void
trim(const char **p, size_t *len)
{
	while (*len > 0 && isspace((unsigned char)**p)) {
		(*p)++;
		(*len)--;
	}
	while (*len > 0 && isspace((unsigned char)(*p)[*len - 1]))
		(*len)--;
}

/* The end of the item at p: the next comma outside brackets, or the end. */
static const char *
item_end(const char *p, const char *end)
{
	int depth = 0;

	for (; p < end && (*p != ',' || depth > 0); p++)
		depth += *p == '[' ? 1 : *p == ']' ? -1 : 0;
	return p;
}

static bool
has_add(const struct scram_edit *e, int8_t mech)
{
	for (size_t i = 0; i < e->nadd; i++)
		if (e->add[i].mech == mech)
			return true;
	return false;
}

static bool
has_del(const struct scram_edit *e, int8_t mech)
{
	for (size_t i = 0; i < e->ndel; i++)
		if (e->del[i] == mech)
			return true;
	return false;
}

/* A mechanism named by [p, p + len) that e does not mention yet, to
   delete (del) or to add. */
static int8_t
new_mech(const struct scram_edit *e, bool del, const char *p, size_t len,
    char *err, size_t errsz)
{
	int8_t mech;

	trim(&p, &len);
	mech = scram_mech_parse(p, len);
	if (mech == SCRAM_UNKNOWN)
		snprintf(err, errsz, "unknown config '%.*s' for users (only "
		    MECH_LIST ")", (int)len, p);
	else if (del ? has_add(e, mech) : has_del(e, mech))
		snprintf(err, errsz, "%s is both added and deleted",
		    scram_mech_name(mech));
	else if (del ? has_del(e, mech) : has_add(e, mech))
		snprintf(err, errsz, "%s is given twice",
		    scram_mech_name(mech));
	else
		return mech;
	return SCRAM_UNKNOWN;
}

static bool
parse_iterations(const char *p, size_t len, int32_t *out)
{
	int64_t v = 0;

	if (len == 0)
		return false;
	for (size_t i = 0; i < len; i++) {
		if (!isdigit((unsigned char)p[i]))
			return false;
		v = v * 10 + (p[i] - '0');
		if (v > INT32_MAX)
			return false;
	}
	if (v == 0)
		return false;
	*out = (int32_t)v;
	return true;
}

/* One "k=v" of a mechanism's list into c. */
static int
cred_field(struct scram_cred *c, const char *p, size_t len, char *err,
    size_t errsz)
{
	const char *name = scram_mech_name(c->mech), *eq = memchr(p, '=', len);
	const char *v;
	size_t kl, vl;

	if (eq == NULL) {
		snprintf(err, errsz, "%s: '%.*s' is not key=value", name,
		    (int)len, p);
		return -1;
	}
	kl = (size_t)(eq - p);
	v = eq + 1;
	vl = len - kl - 1;
	trim(&p, &kl);
	if (kl == 10 && memcmp(p, "iterations", 10) == 0) {
		trim(&v, &vl);
		if (!parse_iterations(v, vl, &c->iterations)) {
			snprintf(err, errsz, "%s: iterations must be a "
			    "positive integer (got '%.*s')", name, (int)vl, v);
			return -1;
		}
		if (c->iterations > SCRAM_MAX_ITERATIONS) {
			snprintf(err, errsz, "%s: too many iterations (%d; "
			    "brokers accept at most %d)", name,
			    (int)c->iterations, SCRAM_MAX_ITERATIONS);
			return -1;
		}
	} else if (kl == 8 && memcmp(p, "password", 8) == 0) {
		if (c->password != NULL) {
			snprintf(err, errsz, "%s: password is given twice",
			    name);
			return -1;
		}
		c->password = xstrndup(v, vl);
	} else {
		snprintf(err, errsz, "%s: unknown key '%.*s' (want iterations "
		    "and password)", name, (int)kl, p);
		return -1;
	}
	return 0;
}

/* The list of "k=v" (brackets stripped) of mechanism c->mech into c. */
static int
cred_parse(struct scram_cred *c, const char *p, size_t len, char *err,
    size_t errsz)
{
	const char *end = p + len;

	for (;;) {
		const char *comma = memchr(p, ',', (size_t)(end - p));
		const char *ie = comma != NULL ? comma : end;

		if (cred_field(c, p, (size_t)(ie - p), err, errsz) != 0)
			return -1;
		if (comma == NULL)
			break;
		p = comma + 1;
	}
	if (c->password == NULL || c->password[0] == '\0') {
		snprintf(err, errsz, "%s: a password is required",
		    scram_mech_name(c->mech));
		return -1;
	}
	return 0;
}

int
scram_parse_add(struct scram_edit *e, const char *arg, char *err,
    size_t errsz)
{
	const char *p = arg, *end = arg + strlen(arg);

	for (;;) {
		const char *ie = item_end(p, end);
		const char *eq = memchr(p, '=', (size_t)(ie - p)), *v;
		struct scram_cred *c;
		size_t vl;
		int8_t mech;

		if (eq == NULL) {
			snprintf(err, errsz, "--add-config for users wants "
			    ADD_FORM " (got '%s')", arg);
			return -1;
		}
		mech = new_mech(e, false, p, (size_t)(eq - p), err, errsz);
		if (mech == SCRAM_UNKNOWN)
			return -1;
		v = eq + 1;
		vl = (size_t)(ie - v);
		trim(&v, &vl);
		if (vl > 0 && v[0] == '[') {
			if (vl < 2 || v[vl - 1] != ']') {
				snprintf(err, errsz, "%s: unbalanced brackets "
				    "in '%.*s'", scram_mech_name(mech),
				    (int)vl, v);
				return -1;
			}
			v++;
			vl -= 2;
		}
		c = &e->add[e->nadd++];
		c->mech = mech;
		c->iterations = SCRAM_DEFAULT_ITERATIONS;
		c->password = NULL;
		if (cred_parse(c, v, vl, err, errsz) != 0)
			return -1;
		if (ie == end)
			return 0;
		p = ie + 1;
	}
}

int
scram_parse_delete(struct scram_edit *e, const char *arg, char *err,
    size_t errsz)
{
	const char *p = arg, *end = arg + strlen(arg);

	for (;;) {
		const char *comma = memchr(p, ',', (size_t)(end - p));
		const char *ie = comma != NULL ? comma : end;
		int8_t mech;

		if (memchr(p, '=', (size_t)(ie - p)) != NULL) {
			snprintf(err, errsz, "--delete-config for users wants "
			    "mechanism names, " MECH_LIST " (got '%s')", arg);
			return -1;
		}
		mech = new_mech(e, true, p, (size_t)(ie - p), err, errsz);
		if (mech == SCRAM_UNKNOWN)
			return -1;
		e->del[e->ndel++] = mech;
		if (comma == NULL)
			return 0;
		p = comma + 1;
	}
}

void
scram_edit_clear(struct scram_edit *e)
{
	for (size_t i = 0; i < e->nadd; i++) {
		if (e->add[i].password != NULL)
			OPENSSL_cleanse(e->add[i].password,
			    strlen(e->add[i].password));
		free(e->add[i].password);
	}
	memset(e, 0, sizeof(*e));
}

int
scram_salted_password(int8_t mech, const char *password,
    const uint8_t *salt, size_t saltlen, int32_t iterations, uint8_t *out,
    size_t outsz)
{
	const EVP_MD *md = NULL;
	size_t pl = strlen(password);
	int n;

	for (size_t i = 0; i < NMECHS; i++)
		if (mechs[i].code == mech)
			md = mechs[i].md();
	if (md == NULL || iterations < 1 || pl > INT_MAX || saltlen > INT_MAX)
		return -1;
	n = EVP_MD_size(md);
	if (n <= 0 || (size_t)n > outsz)
		return -1;
	if (PKCS5_PBKDF2_HMAC(password, (int)pl, salt, (int)saltlen,
	    iterations, md, n, out) != 1)
		return -1;
	return n;
}

int
scram_cred_make(const struct scram_cred *c, uint8_t salt[SCRAM_SALT_LEN],
    uint8_t salted[SCRAM_MAX_DIGEST], size_t *salted_len)
{
	int n;

	if (RAND_bytes(salt, SCRAM_SALT_LEN) != 1)
		return -1;
	n = scram_salted_password(c->mech, c->password, salt, SCRAM_SALT_LEN,
	    c->iterations, salted, SCRAM_MAX_DIGEST);
	if (n < 0)
		return -1;
	*salted_len = (size_t)n;
	return 0;
}
