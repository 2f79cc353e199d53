/*
 * Topic configuration: Kafka's topic config names with their types, ranges
 * and defaults (taken from the broker config where Kafka has a broker
 * synonym), and per-topic overrides kept as "name=value" lines in
 * <data_dir>/<topic>-0/topic.config (written to a temporary file, synced and
 * renamed into place).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "broker.h"
#include "kerr.h"
#include "log.h"
#include "tconfig.h"
#include "xmalloc.h"

#define TC_FILE		"topic.config"
#define TC_LMAX		"9223372036854775807"

/* Broker config fields a topic default comes from. */
enum {
	TCK_NONE,
	TCK_RETENTION_MS,
	TCK_RETENTION_BYTES,
	TCK_SEGMENT_BYTES,
	TCK_SEGMENT_MS,
	TCK_FLUSH_MESSAGES,
	TCK_FLUSH_MS,
	TCK_MAX_MESSAGE_BYTES,
	TCK_TIMESTAMP_TYPE,
	TCK_COMPRESSION
};

static const char *const cleanup_choices[] = { "compact", "delete", NULL };
static const char *const compression_choices[] = { "uncompressed", "zstd",
	"lz4", "snappy", "gzip", "producer", NULL };
static const char *const ts_choices[] = { "CreateTime", "LogAppendTime",
	NULL };

static const struct tconfig_def defs[] = {
	{ "cleanup.policy", TC_LIST, "log.cleanup.policy", "delete", TCK_NONE,
	    0, 0, cleanup_choices, NULL },
	{ "compression.type", TC_STRING, "compression.type", "producer",
	    TCK_COMPRESSION, 0, 0, compression_choices, NULL },
	{ "delete.retention.ms", TC_LONG, "log.cleaner.delete.retention.ms",
	    "86400000", TCK_NONE, 0, INT64_MAX, NULL, NULL },
	{ "file.delete.delay.ms", TC_LONG, "log.segment.delete.delay.ms",
	    "60000", TCK_NONE, 0, INT64_MAX, NULL, NULL },
	{ "flush.messages", TC_LONG, "log.flush.interval.messages", TC_LMAX,
	    TCK_FLUSH_MESSAGES, 1, INT64_MAX, NULL, NULL },
	{ "flush.ms", TC_LONG, "log.flush.interval.ms", TC_LMAX, TCK_FLUSH_MS,
	    0, INT64_MAX, NULL, NULL },
	{ "follower.replication.throttled.replicas", TC_LIST,
	    "follower.replication.throttled.replicas", "", TCK_NONE, 0, 0,
	    NULL, NULL },
	{ "index.interval.bytes", TC_INT, "log.index.interval.bytes", "4096",
	    TCK_NONE, 0, INT32_MAX, NULL, NULL },
	{ "leader.replication.throttled.replicas", TC_LIST,
	    "leader.replication.throttled.replicas", "", TCK_NONE, 0, 0, NULL,
	    NULL },
	{ "local.retention.bytes", TC_LONG, "log.local.retention.bytes", "-2",
	    TCK_NONE, -2, INT64_MAX, NULL, NULL },
	{ "local.retention.ms", TC_LONG, "log.local.retention.ms", "-2",
	    TCK_NONE, -2, INT64_MAX, NULL, NULL },
	{ "max.compaction.lag.ms", TC_LONG,
	    "log.cleaner.max.compaction.lag.ms", TC_LMAX, TCK_NONE, 1,
	    INT64_MAX, NULL, NULL },
	{ "max.message.bytes", TC_INT, "message.max.bytes", "1048588",
	    TCK_MAX_MESSAGE_BYTES, 0, INT32_MAX, NULL, NULL },
	{ "message.downconversion.enable", TC_BOOLEAN,
	    "log.message.downconversion.enable", "true", TCK_NONE, 0, 0, NULL,
	    NULL },
	{ "message.timestamp.after.max.ms", TC_LONG,
	    "log.message.timestamp.after.max.ms", TC_LMAX, TCK_NONE, 0,
	    INT64_MAX, NULL, NULL },
	{ "message.timestamp.before.max.ms", TC_LONG,
	    "log.message.timestamp.before.max.ms", TC_LMAX, TCK_NONE, 0,
	    INT64_MAX, NULL, NULL },
	{ "message.timestamp.difference.max.ms", TC_LONG,
	    "log.message.timestamp.difference.max.ms", TC_LMAX, TCK_NONE, 0,
	    INT64_MAX, NULL, NULL },
	{ "message.timestamp.type", TC_STRING, "log.message.timestamp.type",
	    "CreateTime", TCK_TIMESTAMP_TYPE, 0, 0, ts_choices, NULL },
	{ "min.cleanable.dirty.ratio", TC_DOUBLE,
	    "log.cleaner.min.cleanable.ratio", "0.5", TCK_NONE, 0, 1, NULL,
	    NULL },
	{ "min.compaction.lag.ms", TC_LONG, "log.cleaner.min.compaction.lag.ms",
	    "0", TCK_NONE, 0, INT64_MAX, NULL, NULL },
	{ "min.insync.replicas", TC_INT, "min.insync.replicas", "1", TCK_NONE,
	    1, INT32_MAX, NULL, NULL },
	{ "preallocate", TC_BOOLEAN, "log.preallocate", "false", TCK_NONE, 0,
	    0, NULL, NULL },
	{ "remote.storage.enable", TC_BOOLEAN, NULL, "false", TCK_NONE, 0, 0,
	    NULL, NULL },
	{ "retention.bytes", TC_LONG, "log.retention.bytes", "-1",
	    TCK_RETENTION_BYTES, INT64_MIN, INT64_MAX, NULL, NULL },
	{ "retention.ms", TC_LONG, "log.retention.ms", "604800000",
	    TCK_RETENTION_MS, -1, INT64_MAX, NULL, NULL },
	{ "segment.bytes", TC_INT, "log.segment.bytes", "1073741824",
	    TCK_SEGMENT_BYTES, 14, INT32_MAX, NULL, NULL },
	{ "segment.index.bytes", TC_INT, "log.index.size.max.bytes", "10485760",
	    TCK_NONE, 4, INT32_MAX, NULL, NULL },
	{ "segment.jitter.ms", TC_LONG, "log.roll.jitter.ms", "0", TCK_NONE, 0,
	    INT64_MAX, NULL, NULL },
	{ "segment.ms", TC_LONG, "log.roll.ms", "604800000", TCK_SEGMENT_MS, 1,
	    INT64_MAX, NULL, NULL },
	{ "unclean.leader.election.enable", TC_BOOLEAN,
	    "unclean.leader.election.enable", "false", TCK_NONE, 0, 0, NULL,
	    NULL },
};

#define NDEFS	(sizeof(defs) / sizeof(defs[0]))

struct tconfig {
	char	*path;		/* NULL: not persisted */
	char	*over[NDEFS];	/* topic overrides, NULL when unset */
	char	*base[NDEFS];	/* broker-derived defaults */
	int8_t	 base_src[NDEFS];
};

size_t
tconfig_ndefs(void)
{
	return NDEFS;
}

const struct tconfig_def *
tconfig_def_at(size_t i)
{
	return i < NDEFS ? &defs[i] : NULL;
}

int
tconfig_index(const char *name, size_t len)
{
	for (size_t i = 0; i < NDEFS; i++)
		if (strlen(defs[i].name) == len &&
		    memcmp(defs[i].name, name, len) == 0)
			return (int)i;
	return -1;
}

static int64_t
cfg_retention_ms(const struct mo_config *c)
{
	if (c->log_retention_ms >= 0)
		return c->log_retention_ms;
	if (c->log_retention_minutes >= 0)
		return c->log_retention_minutes * 60000;
	return c->log_retention_hours * 3600000;
}

/* The broker's value of a topic default; NULL when it has none. */
static char *
cfg_value(const struct mo_config *c, int key)
{
	char *s = NULL;

	switch (key) {
	case TCK_RETENTION_MS:
		xasprintf(&s, "%" PRId64, cfg_retention_ms(c));
		break;
	case TCK_RETENTION_BYTES:
		xasprintf(&s, "%" PRId64, c->log_retention_bytes);
		break;
	case TCK_SEGMENT_BYTES:
		xasprintf(&s, "%" PRId64, c->log_segment_bytes);
		break;
	case TCK_SEGMENT_MS:
		if (c->log_segment_ms >= 0)
			xasprintf(&s, "%" PRId64, c->log_segment_ms);
		break;
	case TCK_FLUSH_MESSAGES:
		xasprintf(&s, "%" PRId64, c->log_flush_interval_messages);
		break;
	case TCK_FLUSH_MS:
		if (c->log_flush_interval_ms >= 0)
			xasprintf(&s, "%" PRId64, c->log_flush_interval_ms);
		break;
	case TCK_MAX_MESSAGE_BYTES:
		xasprintf(&s, "%" PRId32, c->message_max_bytes);
		break;
	case TCK_TIMESTAMP_TYPE:
		if (c->log_message_timestamp_type != NULL)
			s = xstrdup(c->log_message_timestamp_type);
		break;
	case TCK_COMPRESSION:
		if (c->compression_type != NULL)
			s = xstrdup(c->compression_type);
		break;
	default:
		break;
	}
	return s;
}

struct tconfig *
tconfig_new(const struct mo_config *c)
{
	struct tconfig *tc = xcalloc(1, sizeof(*tc));

	for (size_t i = 0; i < NDEFS; i++) {
		char *v = c != NULL ? cfg_value(c, defs[i].cfgkey) : NULL;

		if (v == NULL)
			v = xstrdup(defs[i].dflt);
		tc->base_src[i] = strcmp(v, defs[i].dflt) == 0 ?
		    TC_SRC_DEFAULT : TC_SRC_STATIC_BROKER;
		tc->base[i] = v;
	}
	return tc;
}

/* New broker defaults under the same overrides (a reloaded config). */
void
tconfig_rebase(struct tconfig *tc, const struct mo_config *c)
{
	struct tconfig *fresh = tconfig_new(c);

	for (size_t i = 0; i < NDEFS; i++) {
		free(tc->base[i]);
		tc->base[i] = fresh->base[i];
		tc->base_src[i] = fresh->base_src[i];
		fresh->base[i] = NULL;
	}
	tconfig_free(fresh);
}

struct tconfig *
tconfig_dup(const struct tconfig *src)
{
	struct tconfig *tc = xcalloc(1, sizeof(*tc));

	for (size_t i = 0; i < NDEFS; i++) {
		tc->base[i] = xstrdup(src->base[i]);
		tc->base_src[i] = src->base_src[i];
		if (src->over[i] != NULL)
			tc->over[i] = xstrdup(src->over[i]);
	}
	return tc;
}

void
tconfig_free(struct tconfig *tc)
{
	if (tc == NULL)
		return;
	for (size_t i = 0; i < NDEFS; i++) {
		free(tc->over[i]);
		free(tc->base[i]);
	}
	free(tc->path);
	free(tc);
}

static int16_t
invalid(char *msg, size_t msgsz, const char *name, const char *val,
    const char *why)
{
	snprintf(msg, msgsz, "Invalid value %s for configuration %s: %s", val,
	    name, why);
	return KERR_INVALID_CONFIG;
}

static bool
in_choices(const char *const *choices, const char *s, size_t len)
{
	for (size_t i = 0; choices[i] != NULL; i++)
		if (strlen(choices[i]) == len &&
		    strncasecmp(choices[i], s, len) == 0)
			return true;
	return false;
}

static int16_t
check_list(const struct tconfig_def *d, const char *v, char *msg,
    size_t msgsz)
{
	const char *p = v;

	if (d->choices == NULL)
		return KERR_NONE;
	if (*v == '\0')
		return invalid(msg, msgsz, d->name, "\"\"",
		    "String must be one of: compact, delete");
	for (;;) {
		size_t n = strcspn(p, ",");
		while (n > 0 && *p == ' ') {
			p++;
			n--;
		}
		while (n > 0 && p[n - 1] == ' ')
			n--;
		if (!in_choices(d->choices, p, n))
			return invalid(msg, msgsz, d->name, v,
			    "String must be one of: compact, delete");
		p += strcspn(p, ",");
		if (*p == '\0')
			return KERR_NONE;
		p++;
	}
}

static int16_t
check_number(const struct tconfig_def *d, const char *v, char *msg,
    size_t msgsz)
{
	static const char *const tname[] = { [TC_INT] = "INT",
		[TC_LONG] = "LONG", [TC_DOUBLE] = "DOUBLE" };
	char why[128], *end;

	errno = 0;
	if (d->type == TC_DOUBLE) {
		double x = strtod(v, &end);
		if (end == v || *end != '\0' || errno != 0)
			goto nan;
		if (x < (double)d->min || x > (double)d->max) {
			snprintf(why, sizeof(why), "Value must be in the range "
			    "[%" PRId64 ",...,%" PRId64 "]", d->min, d->max);
			return invalid(msg, msgsz, d->name, v, why);
		}
		return KERR_NONE;
	}
	long long x = strtoll(v, &end, 10);
	if (end == v || *end != '\0' || errno != 0)
		goto nan;
	if (d->type == TC_INT && (x < INT32_MIN || x > INT32_MAX))
		goto nan;
	if (x < d->min || x > d->max) {
		snprintf(why, sizeof(why), "Value must be at least %" PRId64,
		    d->min);
		return invalid(msg, msgsz, d->name, v, why);
	}
	return KERR_NONE;
nan:
	snprintf(why, sizeof(why), "Not a number of type %s", tname[d->type]);
	return invalid(msg, msgsz, d->name, v, why);
}

static int16_t
check_value(const struct tconfig_def *d, const char *v, char *msg,
    size_t msgsz)
{
	for (const char *p = v; *p != '\0'; p++)
		if ((unsigned char)*p < 0x20)
			return invalid(msg, msgsz, d->name, "(binary)",
			    "Control characters are not allowed");
	switch (d->type) {
	case TC_BOOLEAN:
		if (strcasecmp(v, "true") != 0 && strcasecmp(v, "false") != 0)
			return invalid(msg, msgsz, d->name, v,
			    "Expected value to be either true or false");
		return KERR_NONE;
	case TC_STRING:
		if (d->choices != NULL &&
		    !in_choices(d->choices, v, strlen(v))) {
			char why[160] = "String must be one of:";
			for (size_t i = 0; d->choices[i] != NULL; i++)
				snprintf(why + strlen(why), sizeof(why) -
				    strlen(why), "%s %s", i > 0 ? "," : "",
				    d->choices[i]);
			return invalid(msg, msgsz, d->name, v, why);
		}
		return KERR_NONE;
	case TC_LIST:
		return check_list(d, v, msg, msgsz);
	default:
		return check_number(d, v, msg, msgsz);
	}
}

static int
lookup(const char *name, size_t nlen, char *msg, size_t msgsz)
{
	int i = tconfig_index(name, nlen);

	if (i < 0)
		snprintf(msg, msgsz, "Unknown topic config name: %.*s",
		    (int)(nlen > 200 ? 200 : nlen), name);
	return i;
}

/* Normalised form: booleans in lower case. */
static char *
normalise(const struct tconfig_def *d, char *v)
{
	if (d->type == TC_BOOLEAN)
		for (char *p = v; *p != '\0'; p++)
			*p = (char)(*p >= 'A' && *p <= 'Z' ? *p + 32 : *p);
	return v;
}

int16_t
tconfig_set(struct tconfig *tc, const char *name, size_t nlen,
    const char *val, size_t vlen, char *msg, size_t msgsz)
{
	int i = lookup(name, nlen, msg, msgsz);
	char *v;
	int16_t err;

	if (i < 0)
		return KERR_INVALID_CONFIG;
	if (val == NULL)
		return invalid(msg, msgsz, defs[i].name, "null",
		    "Value must not be null");
	v = xstrndup(val, vlen);
	if (strlen(v) != vlen) {
		free(v);
		return invalid(msg, msgsz, defs[i].name, "(binary)",
		    "NUL bytes are not allowed");
	}
	if ((err = check_value(&defs[i], v, msg, msgsz)) != KERR_NONE) {
		free(v);
		return err;
	}
	free(tc->over[i]);
	tc->over[i] = normalise(&defs[i], v);
	return KERR_NONE;
}

int16_t
tconfig_delete(struct tconfig *tc, const char *name, size_t nlen, char *msg,
    size_t msgsz)
{
	int i = lookup(name, nlen, msg, msgsz);

	if (i < 0)
		return KERR_INVALID_CONFIG;
	free(tc->over[i]);
	tc->over[i] = NULL;
	return KERR_NONE;
}

/* Does the comma-separated list have item (len bytes)? */
static bool
list_has(const char *list, const char *item, size_t len)
{
	const char *p = list;

	while (*p != '\0') {
		size_t n = strcspn(p, ",");
		if (n == len && memcmp(p, item, len) == 0)
			return true;
		p += n;
		if (*p == ',')
			p++;
	}
	return false;
}

static void
list_add(char **out, const char *item, size_t len)
{
	char *s;

	xasprintf(&s, "%s%s%.*s", *out, **out != '\0' ? "," : "", (int)len,
	    item);
	free(*out);
	*out = s;
}

int16_t
tconfig_append(struct tconfig *tc, const char *name, size_t nlen,
    const char *val, size_t vlen, bool subtract, char *msg, size_t msgsz)
{
	int i = lookup(name, nlen, msg, msgsz);
	const char *cur, *p;
	char *out, *items;
	int16_t err;

	if (i < 0)
		return KERR_INVALID_CONFIG;
	if (defs[i].type != TC_LIST || val == NULL) {
		snprintf(msg, msgsz, "Config value append/subtract is not "
		    "allowed for config key: %s", defs[i].name);
		return KERR_INVALID_CONFIG;
	}
	cur = tc->over[i] != NULL ? tc->over[i] : tc->base[i];
	items = xstrndup(val, vlen);
	out = xstrdup("");
	for (p = cur; *p != '\0'; p += *p == ',') {
		size_t n = strcspn(p, ",");
		if (!subtract || !list_has(items, p, n))
			list_add(&out, p, n);
		p += n;
	}
	for (p = items; !subtract && *p != '\0'; p += *p == ',') {
		size_t n = strcspn(p, ",");
		if (!list_has(out, p, n))
			list_add(&out, p, n);
		p += n;
	}
	free(items);
	err = tconfig_set(tc, name, nlen, out, strlen(out), msg, msgsz);
	free(out);
	return err;
}

static int
save(const struct tconfig *tc)
{
	char *tmp;
	FILE *f;
	int rc = 0;

	xasprintf(&tmp, "%s.tmp", tc->path);
	f = fopen(tmp, "w");
	if (f == NULL) {
		log_warn("broker: topic config: open %s", tmp);
		free(tmp);
		return -1;
	}
	for (size_t i = 0; i < NDEFS; i++)
		if (tc->over[i] != NULL &&
		    fprintf(f, "%s=%s\n", defs[i].name, tc->over[i]) < 0)
			rc = -1;
	if (fflush(f) != 0 || fsync(fileno(f)) != 0)
		rc = -1;
	if (fclose(f) != 0)
		rc = -1;
	if (rc == 0 && rename(tmp, tc->path) != 0)
		rc = -1;
	if (rc != 0) {
		log_warn("broker: topic config: write %s", tc->path);
		unlink(tmp);
	}
	free(tmp);
	return rc;
}

int
tconfig_replace(struct tconfig *dst, struct tconfig *src)
{
	char *old[NDEFS];
	int rc = 0;

	for (size_t i = 0; i < NDEFS; i++) {
		old[i] = dst->over[i];
		dst->over[i] = src->over[i];
		src->over[i] = NULL;
	}
	if (dst->path != NULL && (rc = save(dst)) != 0) {
		for (size_t i = 0; i < NDEFS; i++) {
			src->over[i] = dst->over[i];
			dst->over[i] = old[i];
			old[i] = NULL;
		}
	}
	for (size_t i = 0; i < NDEFS; i++)
		free(old[i]);
	tconfig_free(src);
	return rc;
}

static void
load(struct tconfig *tc)
{
	char line[4096], msg[256];
	FILE *f = fopen(tc->path, "r");
	unsigned lineno = 0;

	if (f == NULL) {
		if (errno != ENOENT)
			log_warn("broker: topic config: open %s", tc->path);
		return;
	}
	while (fgets(line, sizeof(line), f) != NULL) {
		char *eq = strchr(line, '=');
		size_t len = strcspn(line, "\n");

		lineno++;
		line[len] = '\0';
		if (len == 0)
			continue;
		if (eq == NULL || tconfig_set(tc, line, (size_t)(eq - line),
		    eq + 1, strlen(eq + 1), msg, sizeof(msg)) != KERR_NONE)
			log_warnx("broker: %s:%u: ignored: %s", tc->path,
			    lineno, eq == NULL ? "no '='" : msg);
	}
	fclose(f);
}

struct tconfig *
tconfig_open(const struct mo_config *c, const char *data_dir,
    const char *topic)
{
	struct tconfig *tc = tconfig_new(c);

	xasprintf(&tc->path, "%s/%s-0/%s", data_dir, topic, TC_FILE);
	load(tc);
	return tc;
}

void
tconfig_value_at(const struct tconfig *tc, size_t i, struct tconfig_value *v)
{
	v->def = &defs[i];
	v->base = tc->base[i];
	v->base_source = tc->base_src[i];
	v->value = tc->over[i] != NULL ? tc->over[i] : tc->base[i];
	v->source = tc->over[i] != NULL ? TC_SRC_DYNAMIC_TOPIC :
	    tc->base_src[i];
}

bool
tconfig_same_overrides(const struct tconfig *a, const struct tconfig *b)
{
	for (size_t i = 0; i < NDEFS; i++) {
		if ((a->over[i] == NULL) != (b->over[i] == NULL))
			return false;
		if (a->over[i] != NULL && strcmp(a->over[i], b->over[i]) != 0)
			return false;
	}
	return true;
}

size_t
tconfig_noverrides(const struct tconfig *tc)
{
	size_t n = 0;

	for (size_t i = 0; i < NDEFS; i++)
		n += tc->over[i] != NULL;
	return n;
}

const char *
tconfig_get(const struct topic *t, const char *name)
{
	int i = tconfig_index(name, strlen(name));

	if (i < 0)
		return NULL;
	if (t == NULL || t->config == NULL)
		return defs[i].dflt;
	return t->config->over[i] != NULL ? t->config->over[i] :
	    t->config->base[i];
}

int64_t
tconfig_get_i64(const struct topic *t, const char *name)
{
	const char *v = tconfig_get(t, name);

	return v == NULL ? 0 : strtoll(v, NULL, 10);
}

double
tconfig_get_double(const struct topic *t, const char *name)
{
	const char *v = tconfig_get(t, name);

	return v == NULL ? 0 : strtod(v, NULL);
}

bool
tconfig_get_bool(const struct topic *t, const char *name)
{
	const char *v = tconfig_get(t, name);

	return v != NULL && strcasecmp(v, "true") == 0;
}
