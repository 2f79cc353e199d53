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
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
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

/* The hash of a mechanism, NULL if unknown. */
static const EVP_MD *
mech_md(int8_t code)
{
	for (size_t i = 0; i < NMECHS; i++)
		if (mechs[i].code == code)
			return mechs[i].md();
	return NULL;
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
	const EVP_MD *md = mech_md(mech);
	size_t pl = strlen(password);
	int n;

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

/* ---- the client side of an exchange (RFC 5802, RFC 7677) ---- */

#define NONCE_BYTES	24	/* 32 base64 characters, no padding */
#define MAX_MESSAGE	65536	/* longest server message we read */

/* The "a=value" attributes of a message of (p, end - p) bytes, in order. */
struct attrs {
	const char	*p, *end;
	bool		 done;		/* the last one had no comma after it */
};

/* A one-line reason in err (control characters become '?'); -1. */
static int __attribute__((format(printf, 3, 4)))
set_err(char *err, size_t errsz, const char *fmt, ...)
{
	va_list ap;

	if (errsz == 0)
		return -1;
	va_start(ap, fmt);
	vsnprintf(err, errsz, fmt, ap);
	va_end(ap);
	for (char *p = err; *p != '\0'; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = '?';
	return -1;
}

static bool
is_alpha(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* RFC 5802's printable: non-empty, %x21-2B / %x2D-7E (no comma). */
static bool
printable(const char *p, size_t len)
{
	if (len == 0)
		return false;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)p[i];

		if (c < 0x21 || c > 0x7e || c == ',')
			return false;
	}
	return true;
}

/*
 * The next attribute of a, named name (any letter when name is '\0'): its
 * value in [*v, *v + *vl).  False, a unchanged, when the next one is
 * missing or named otherwise.
 */
static bool
attr_get(struct attrs *a, char name, const char **v, size_t *vl)
{
	const char *comma;

	if (a->done || a->end - a->p < 2 || a->p[1] != '=')
		return false;
	if (name != '\0' ? a->p[0] != name : !is_alpha(a->p[0]))
		return false;
	*v = a->p + 2;
	comma = memchr(*v, ',', (size_t)(a->end - *v));
	if (comma == NULL) {
		*vl = (size_t)(a->end - *v);
		a->p = a->end;
		a->done = true;
	} else {
		*vl = (size_t)(comma - *v);
		a->p = comma + 1;
	}
	return true;
}

/* The attributes after the known ones: well-formed, or false. */
static bool
attr_rest(struct attrs *a)
{
	const char *v;
	size_t vl;

	while (!a->done)
		if (!attr_get(a, '\0', &v, &vl))
			return false;
	return true;
}

/* base64 of n bytes, a nonce or a digest (caller frees). */
static char *
b64_encode(const uint8_t *p, size_t n)
{
	char *out = xmalloc(4 * ((n + 2) / 3) + 1);

	EVP_EncodeBlock((unsigned char *)out, p, (int)n);
	return out;
}

static bool
is_b64(unsigned char c)
{
	return is_alpha((char)c) || (c >= '0' && c <= '9') || c == '+' ||
	    c == '/';
}

/*
 * Decode the padded base64 of [s, s + len) into out (outsz bytes): the
 * length decoded, or -1 when it is not padded base64 or does not fit.
 * EVP_DecodeBlock counts the padding as bytes, so take it off here.
 */
static int
b64_decode(const char *s, size_t len, uint8_t *out, size_t outsz)
{
	size_t pad = 0;
	int n;

	if (len == 0 || len % 4 != 0 || len > INT_MAX || len / 4 * 3 > outsz)
		return -1;
	while (pad < 2 && s[len - 1 - pad] == '=')
		pad++;
	for (size_t i = 0; i < len - pad; i++)
		if (!is_b64((unsigned char)s[i]))
			return -1;
	n = EVP_DecodeBlock(out, (const unsigned char *)s, (int)len);
	if (n < 0 || (size_t)n != len / 4 * 3)
		return -1;
	return n - (int)pad;
}

/* What a server-first message says; salt is the caller's to free. */
struct server_first {
	const char	*nonce;
	size_t		 nonce_len;
	uint8_t		*salt;
	size_t		 salt_len;
	int32_t		 iterations;
};

/* Check and split "r=NONCE,s=SALT,i=COUNT[,ext...]" of len bytes. */
static int
server_first_parse(const struct scram_client *sc, const char *msg,
    size_t len, struct server_first *f, char *err, size_t errsz)
{
	struct attrs a = { msg, msg + len, false };
	const char *v;
	size_t vl, nl = strlen(sc->nonce);
	int n;

	if (memchr(msg, '\0', len) != NULL)
		return set_err(err, errsz, "server-first has a NUL byte");
	if (attr_get(&a, 'e', &v, &vl))
		return set_err(err, errsz, "server error: %.*s", (int)vl, v);
	if (attr_get(&a, 'm', &v, &vl))
		return set_err(err, errsz, "server requires an extension we do "
		    "not know (m=%.*s)", (int)vl, v);
	if (!attr_get(&a, 'r', &v, &vl))
		return set_err(err, errsz, "server-first has no nonce (r=)");
	if (vl <= nl || memcmp(v, sc->nonce, nl) != 0)
		return set_err(err, errsz, "server nonce does not extend ours");
	if (!printable(v, vl))
		return set_err(err, errsz, "bad server nonce");
	f->nonce = v;
	f->nonce_len = vl;
	if (!attr_get(&a, 's', &v, &vl))
		return set_err(err, errsz, "server-first has no salt (s=)");
	f->salt = xmalloc(vl / 4 * 3 + 1);
	if ((n = b64_decode(v, vl, f->salt, vl / 4 * 3 + 1)) <= 0)
		return set_err(err, errsz, "bad salt");
	f->salt_len = (size_t)n;
	if (!attr_get(&a, 'i', &v, &vl))
		return set_err(err, errsz, "server-first has no iteration "
		    "count (i=)");
	if (!parse_iterations(v, vl, &f->iterations))
		return set_err(err, errsz, "bad iteration count");
	/* Brokers store no more; a higher count would only stall us. */
	if (f->iterations > SCRAM_MAX_ITERATIONS)
		return set_err(err, errsz, "iteration count above 16384");
	if (!attr_rest(&a))
		return set_err(err, errsz, "malformed server-first");
	return 0;
}

/* HMAC of the hash md with a key of klen bytes into out; -1 on failure. */
static int
hmac(const EVP_MD *md, const uint8_t *key, size_t klen, const void *data,
    size_t dlen, uint8_t *out)
{
	unsigned int n = 0;

	if (klen > INT_MAX ||
	    HMAC(md, key, (int)klen, data, dlen, out, &n) == NULL)
		return -1;
	return 0;
}

/*
 * The client proof of sc->auth_message into proof, and the signature the
 * server must send into sc: the digest size, or -1 on an OpenSSL failure.
 */
static int
client_keys(struct scram_client *sc, const struct server_first *f,
    uint8_t proof[SCRAM_MAX_DIGEST])
{
	const EVP_MD *md = mech_md(sc->mech);
	const char *am = sc->auth_message;
	size_t aml = strlen(am), n;
	uint8_t salted[SCRAM_MAX_DIGEST], ckey[SCRAM_MAX_DIGEST];
	uint8_t stored[SCRAM_MAX_DIGEST], csig[SCRAM_MAX_DIGEST];
	uint8_t skey[SCRAM_MAX_DIGEST];
	int rc = -1, len;

	len = scram_salted_password(sc->mech, sc->password, f->salt,
	    f->salt_len, f->iterations, salted, sizeof(salted));
	if (len < 0)
		goto done;
	n = (size_t)len;
	if (hmac(md, salted, n, "Client Key", 10, ckey) != 0 ||
	    EVP_Digest(ckey, n, stored, NULL, md, NULL) != 1 ||
	    hmac(md, stored, n, am, aml, csig) != 0 ||
	    hmac(md, salted, n, "Server Key", 10, skey) != 0 ||
	    hmac(md, skey, n, am, aml, sc->server_sig) != 0)
		goto done;
	for (size_t i = 0; i < n; i++)
		proof[i] = ckey[i] ^ csig[i];
	sc->sig_len = n;
	rc = len;
done:
	OPENSSL_cleanse(salted, sizeof(salted));
	OPENSSL_cleanse(ckey, sizeof(ckey));
	OPENSSL_cleanse(stored, sizeof(stored));
	OPENSSL_cleanse(csig, sizeof(csig));
	OPENSSL_cleanse(skey, sizeof(skey));
	return rc;
}

/* "n=" user with ',' and '=' escaped, ",r=" nonce (caller frees). */
static char *
first_bare(const char *user, const char *nonce)
{
	char *name, *q, *out;

	q = name = xreallocarray(NULL, strlen(user) + 1, 3);
	for (const char *p = user; *p != '\0'; p++) {
		if (*p == ',' || *p == '=') {
			memcpy(q, *p == ',' ? "=2C" : "=3D", 3);
			q += 3;
		} else
			*q++ = *p;
	}
	*q = '\0';
	xasprintf(&out, "n=%s,r=%s", name, nonce);
	free(name);
	return out;
}

char *
scram_client_first(struct scram_client *sc, int8_t mech, const char *user,
    const char *password, const char *nonce)
{
	uint8_t rnd[NONCE_BYTES];
	char *out;

	scram_client_clear(sc);
	if (mech_md(mech) == NULL || user == NULL || user[0] == '\0' ||
	    password == NULL)
		return NULL;
	if (nonce != NULL) {
		if (!printable(nonce, strlen(nonce)))
			return NULL;
		sc->nonce = xstrdup(nonce);
	} else {
		if (RAND_bytes(rnd, sizeof(rnd)) != 1)
			return NULL;
		sc->nonce = b64_encode(rnd, sizeof(rnd));
	}
	sc->mech = mech;
	sc->password = password;
	sc->first_bare = first_bare(user, sc->nonce);
	xasprintf(&out, "n,,%s", sc->first_bare);
	return out;
}

char *
scram_client_final(struct scram_client *sc, const char *server_first,
    size_t len, char *err, size_t errsz)
{
	struct server_first f = { 0 };
	uint8_t proof[SCRAM_MAX_DIGEST];
	char *bare = NULL, *p64 = NULL, *out = NULL;
	int n;

	OPENSSL_cleanse(sc->server_sig, sizeof(sc->server_sig));
	sc->sig_len = 0;
	if (len == 0)
		server_first = "";	/* may be NULL */
	if (sc->first_bare == NULL) {
		set_err(err, errsz, "no client-first message yet");
		return NULL;
	}
	if (len > MAX_MESSAGE) {
		set_err(err, errsz, "server-first longer than %d bytes",
		    MAX_MESSAGE);
		return NULL;
	}
	if (server_first_parse(sc, server_first, len, &f, err, errsz) != 0)
		goto done;
	xasprintf(&bare, "c=biws,r=%.*s", (int)f.nonce_len, f.nonce);
	free(sc->auth_message);
	xasprintf(&sc->auth_message, "%s,%.*s,%s", sc->first_bare, (int)len,
	    server_first, bare);
	if ((n = client_keys(sc, &f, proof)) < 0) {
		set_err(err, errsz, "OpenSSL failed to compute the proof");
		goto done;
	}
	p64 = b64_encode(proof, (size_t)n);
	xasprintf(&out, "%s,p=%s", bare, p64);
done:
	OPENSSL_cleanse(proof, sizeof(proof));
	free(f.salt);
	free(bare);
	free(p64);
	return out;
}

int
scram_client_verify(struct scram_client *sc, const char *server_final,
    size_t len, char *err, size_t errsz)
{
	struct attrs a;
	uint8_t sig[SCRAM_MAX_DIGEST + 2];	/* base64's slack */
	const char *v;
	size_t vl;
	int n;

	if (len == 0)
		server_final = "";	/* may be NULL */
	a = (struct attrs){ server_final, server_final + len, false };
	if (sc->sig_len == 0)
		return set_err(err, errsz, "no client-final message yet");
	if (len > MAX_MESSAGE)
		return set_err(err, errsz, "server-final longer than %d bytes",
		    MAX_MESSAGE);
	if (attr_get(&a, 'e', &v, &vl))
		return set_err(err, errsz, "server error: %.*s", (int)vl, v);
	if (!attr_get(&a, 'v', &v, &vl) || !attr_rest(&a))
		return set_err(err, errsz, "malformed server-final");
	n = b64_decode(v, vl, sig, sizeof(sig));
	if (n < 0 || (size_t)n != sc->sig_len ||
	    CRYPTO_memcmp(sig, sc->server_sig, sc->sig_len) != 0)
		return set_err(err, errsz, "server signature does not match");
	return 0;
}

static void
wipe_free(char *s)
{
	if (s == NULL)
		return;
	OPENSSL_cleanse(s, strlen(s));
	free(s);
}

void
scram_client_clear(struct scram_client *sc)
{
	wipe_free(sc->first_bare);
	wipe_free(sc->nonce);
	wipe_free(sc->auth_message);
	OPENSSL_cleanse(sc, sizeof(*sc));
}
