/*
 * Configuration loader: one YAML file (libyaml document API) plus --set
 * overrides, into a struct mo_config.  Every key is a row of cfg_keys[];
 * the embedded defaults, the file and --set all go through the same typed,
 * bounded setters, so a value is checked the same way wherever it comes
 * from.  Errors are collected (not just the first) as lines of text.
 */
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yaml.h>

#include "config.h"
#include "log.h"
#include "xmalloc.h"

#define CFG_MAX_ERRORS	 100		/* then stop: bounds work on bad input */
#define CFG_MAX_FILE	 (16u << 20)	/* bytes of YAML we read */
#define CFG_MAX_STR	 4096		/* bytes in one string value */
#define CFG_MAX_SHOWN	 48		/* bytes of a bad value echoed back */

enum cfg_type { CFG_INT32, CFG_INT64, CFG_BOOL, CFG_STR, CFG_LIST };

static const char *const cfg_expect[] = {
	[CFG_INT32] = "an integer",
	[CFG_INT64] = "an integer",
	[CFG_BOOL] = "true or false",
	[CFG_STR] = "a string",
	[CFG_LIST] = "a list",
};

/*
 * One key.  min/max bound the value of an integer, the length of a string
 * or the number of elements of a list; choices ("a|b|c"), if set, are the
 * only values a string (or each element of a list) may take.
 */
struct cfg_key {
	const char	*section;
	const char	*key;
	enum cfg_type	 type;
	size_t		 off;
	int64_t		 min;
	int64_t		 max;
	const char	*def;		/* lists: comma-separated */
	const char	*choices;
};

#define OFF(f)	offsetof(struct mo_config, f)

/* As choices: each element must be a listener, NAME://host:port. */
static const char cfg_listener[] = "NAME://host:port";

static const struct cfg_key cfg_keys[] = {
	{ "node", "id", CFG_INT32, OFF(node_id), 0, INT32_MAX, "1", NULL },
	{ "node", "data_dir", CFG_STR, OFF(data_dir), 1, CFG_MAX_STR,
	    "/var/lib/moldau", NULL },
	{ "node", "run_dir", CFG_STR, OFF(run_dir), 1, CFG_MAX_STR,
	    "/run/moldau", NULL },
	{ "node", "roles", CFG_LIST, OFF(roles), 1, 4,
	    "controller,broker,connect,streams",
	    "controller|broker|connect|streams" },
	{ "node", "log_level", CFG_STR, OFF(log_level), 1, 16, "info",
	    "error|warn|info|debug" },
	{ "node", "log_dir", CFG_STR, OFF(log_dir), 0, CFG_MAX_STR, "", NULL },
	{ "node", "log_max_bytes", CFG_INT64, OFF(log_max_bytes), 1024,
	    INT64_MAX, "10485760", NULL },
	{ "node", "log_keep", CFG_INT32, OFF(log_keep), 1, 1000, "5", NULL },
	{ "node", "auto_format", CFG_BOOL, OFF(auto_format), 0, 0, "true",
	    NULL },
	{ "cluster", "controllers", CFG_LIST, OFF(controllers), 1, 64,
	    "1@127.0.0.1:9093", NULL },
	{ "cluster", "id", CFG_STR, OFF(cluster_id), 0, 63, "", NULL },
	{ "cluster", "metadata.log.max.record.bytes.between.snapshots",
	    CFG_INT64, OFF(metadata_snapshot_bytes), 1, INT64_MAX, "20971520",
	    NULL },
	{ "cluster", "metadata.log.max.snapshot.interval.ms", CFG_INT64,
	    OFF(metadata_snapshot_interval_ms), 0, INT64_MAX, "3600000", NULL },
	{ "cluster", "broker.session.timeout.ms", CFG_INT32,
	    OFF(broker_session_timeout_ms), 1, INT32_MAX, "9000", NULL },
	{ "broker", "listeners", CFG_LIST, OFF(listeners), 1, 64,
	    "PLAINTEXT://127.0.0.1:9092", cfg_listener },
	{ "broker", "advertised.listeners", CFG_LIST,
	    OFF(advertised_listeners), 0, 64, "", cfg_listener },
	{ "broker", "num.partitions", CFG_INT32, OFF(num_partitions),
	    1, 100000, "1", NULL },
	{ "broker", "default.replication.factor", CFG_INT32,
	    OFF(default_replication_factor), 1, INT16_MAX, "1", NULL },
	{ "broker", "auto.create.topics.enable", CFG_BOOL,
	    OFF(auto_create_topics_enable), 0, 0, "true", NULL },
	{ "broker", "delete.topic.enable", CFG_BOOL,
	    OFF(delete_topic_enable), 0, 0, "true", NULL },
	{ "broker", "socket.request.max.bytes", CFG_INT32,
	    OFF(socket_request_max_bytes), 1, INT32_MAX, "104857600", NULL },
	{ "broker", "message.max.bytes", CFG_INT32, OFF(message_max_bytes),
	    0, INT32_MAX, "1048588", NULL },
	{ "broker", "log.retention.hours", CFG_INT64,
	    OFF(log_retention_hours), -1, INT32_MAX, "168", NULL },
	{ "broker", "log.retention.minutes", CFG_INT64,
	    OFF(log_retention_minutes), -1, INT32_MAX, "-1", NULL },
	{ "broker", "log.retention.ms", CFG_INT64, OFF(log_retention_ms),
	    -1, INT64_MAX, "-1", NULL },
	{ "broker", "log.retention.bytes", CFG_INT64,
	    OFF(log_retention_bytes), -1, INT64_MAX, "-1", NULL },
	{ "broker", "log.segment.bytes", CFG_INT64, OFF(log_segment_bytes),
	    14, INT32_MAX, "1073741824", NULL },
	{ "broker", "log.roll.ms", CFG_INT64, OFF(log_segment_ms),
	    -1, INT64_MAX, "-1", NULL },
	{ "broker", "log.flush.interval.messages", CFG_INT64,
	    OFF(log_flush_interval_messages), 1, INT64_MAX,
	    "9223372036854775807", NULL },
	{ "broker", "log.flush.interval.ms", CFG_INT64,
	    OFF(log_flush_interval_ms), -1, INT64_MAX, "-1", NULL },
	{ "broker", "log.cache.window.bytes", CFG_INT64,
	    OFF(log_cache_window_bytes), 0, INT64_MAX, "16777216", NULL },
	{ "broker", "log.cache.max.bytes", CFG_INT64,
	    OFF(log_cache_max_bytes), 0, INT64_MAX, "268435456", NULL },
	{ "broker", "producer.id.expiration.ms", CFG_INT64,
	    OFF(producer_id_expiration_ms), 1, INT64_MAX, "86400000", NULL },
	{ "broker", "producer.id.expiration.check.interval.ms", CFG_INT64,
	    OFF(producer_id_expiration_check_interval_ms), 1, INT64_MAX,
	    "600000", NULL },
	{ "broker", "log.message.timestamp.type", CFG_STR,
	    OFF(log_message_timestamp_type), 1, 16, "CreateTime",
	    "CreateTime|LogAppendTime" },
	{ "broker", "compression.type", CFG_STR, OFF(compression_type),
	    1, 16, "producer", "producer|uncompressed|gzip|snappy|lz4|zstd" },
	{ "broker", "num.io.threads", CFG_INT32, OFF(num_io_threads),
	    1, 1024, "8", NULL },
	{ "broker", "broker.rack", CFG_STR, OFF(broker_rack), 0, 255, "",
	    NULL },
	{ "broker", "ssl.keystore.type", CFG_STR, OFF(ssl_keystore_type), 1,
	    16, "PEM", "PEM" },
	{ "broker", "ssl.keystore.location", CFG_STR,
	    OFF(ssl_keystore_location), 0, CFG_MAX_STR, "", NULL },
	{ "broker", "ssl.key.password", CFG_STR, OFF(ssl_key_password), 0,
	    1024, "", NULL },
	{ "broker", "ssl.truststore.location", CFG_STR,
	    OFF(ssl_truststore_location), 0, CFG_MAX_STR, "", NULL },
	{ "broker", "ssl.client.auth", CFG_STR, OFF(ssl_client_auth), 1, 16,
	    "none", "none|requested|required" },
	{ "broker", "sasl.enabled.mechanisms", CFG_LIST,
	    OFF(sasl_enabled_mechanisms), 1, 3, "PLAIN",
	    "PLAIN|SCRAM-SHA-256|SCRAM-SHA-512" },
	{ "broker", "sasl.users", CFG_LIST, OFF(sasl_users), 0, 10000, "",
	    NULL },
	{ "broker", "authorizer.class.name", CFG_STR,
	    OFF(authorizer_class_name), 0, CFG_MAX_STR, "", NULL },
	{ "broker", "super.users", CFG_STR, OFF(super_users), 0, 65536, "",
	    NULL },
	{ "broker", "allow.everyone.if.no.acl.found", CFG_BOOL,
	    OFF(allow_everyone_if_no_acl_found), 0, 0, "false", NULL },
	{ "broker", "broker.heartbeat.interval.ms", CFG_INT32,
	    OFF(broker_heartbeat_interval_ms), 10, INT32_MAX, "2000", NULL },
	{ "broker", "replica.lag.time.max.ms", CFG_INT64,
	    OFF(replica_lag_time_max_ms), 1, INT64_MAX, "30000", NULL },
	{ "broker", "offsets.topic.replication.factor", CFG_INT32,
	    OFF(offsets_topic_replication_factor), 1, 32767, "3", NULL },
	{ "broker", "offsets.topic.num.partitions", CFG_INT32,
	    OFF(offsets_topic_num_partitions), 1, 100000, "50", NULL },
	{ "broker", "group.initial.rebalance.delay.ms", CFG_INT32,
	    OFF(group_initial_rebalance_delay_ms), 0, INT32_MAX, "3000", NULL },
	{ "broker", "group.min.session.timeout.ms", CFG_INT32,
	    OFF(group_min_session_timeout_ms), 1, INT32_MAX, "6000", NULL },
	{ "broker", "group.max.session.timeout.ms", CFG_INT32,
	    OFF(group_max_session_timeout_ms), 1, INT32_MAX, "1800000", NULL },
	{ "broker", "offsets.retention.minutes", CFG_INT64,
	    OFF(offsets_retention_minutes), 1, INT32_MAX, "10080", NULL },
	{ "broker", "offsets.retention.check.interval.ms", CFG_INT64,
	    OFF(offsets_retention_check_interval_ms), 1, INT32_MAX, "600000",
	    NULL },
	{ "connect", "rest", CFG_STR, OFF(connect_rest), 1, CFG_MAX_STR,
	    "127.0.0.1:8083", NULL },
	{ "connect", "connectors_dir", CFG_STR, OFF(connect_connectors_dir),
	    1, CFG_MAX_STR, "connect.d", NULL },
	{ "streams", "topologies_dir", CFG_STR, OFF(streams_topologies_dir),
	    1, CFG_MAX_STR, "streams.d", NULL },
	{ "metrics", "listen", CFG_STR, OFF(metrics_listen), 1, CFG_MAX_STR,
	    "127.0.0.1:9644", NULL },
};

#define CFG_NKEYS	(sizeof(cfg_keys) / sizeof(cfg_keys[0]))

static const char *const cfg_sections[] = {
	"node", "cluster", "broker", "connect", "streams", "metrics",
};

#define CFG_NSECTIONS	(sizeof(cfg_sections) / sizeof(cfg_sections[0]))

/* Where a value came from: a file line, or one --set argument. */
struct cfg_src {
	const char	*file;
	size_t		 line;
	const char	*set;
};

struct cfg_loader {
	struct mo_config	*cfg;
	const char		*file;
	char			*err;
	size_t			 errlen;
	size_t			 errcap;
	unsigned		 nerr;
	size_t			 seen[CFG_NKEYS];	/* file line, 0 = unset */
};

static void	cfg_vappend(struct cfg_loader *, const char *, va_list)
    __attribute__((format(printf, 2, 0)));
static void	cfg_append(struct cfg_loader *, const char *, ...)
    __attribute__((format(printf, 2, 3)));
static void	cfg_report(struct cfg_loader *, const struct cfg_src *,
    const char *, const char *, size_t, const char *, ...)
    __attribute__((format(printf, 6, 7)));

static void
cfg_vappend(struct cfg_loader *ld, const char *fmt, va_list ap)
{
	va_list aq;
	int n;

	va_copy(aq, ap);
	n = vsnprintf(NULL, 0, fmt, aq);
	va_end(aq);
	MO_ASSERT(n >= 0);
	if (ld->errlen + (size_t)n + 1 > ld->errcap) {
		ld->errcap = (ld->errlen + (size_t)n + 1) * 2;
		ld->err = xrealloc(ld->err, ld->errcap);
	}
	vsnprintf(ld->err + ld->errlen, (size_t)n + 1, fmt, ap);
	ld->errlen += (size_t)n;
}

static void
cfg_append(struct cfg_loader *ld, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	cfg_vappend(ld, fmt, ap);
	va_end(ap);
}

static bool
cfg_stopped(const struct cfg_loader *ld)
{
	return ld->nerr > CFG_MAX_ERRORS;
}

/* A printable, bounded copy of s[0..len) for an error message. */
static void
cfg_shown(char *out, size_t outsz, const char *s, size_t len)
{
	size_t i, n = 0;

	for (i = 0; i < len && n + 4 < outsz; i++) {
		unsigned char c = (unsigned char)s[i];

		out[n++] = c < 0x20 || c == 0x7f ? '?' : (char)c;
	}
	if (i < len) {
		memcpy(out + n, "...", 3);
		n += 3;
	}
	out[n] = '\0';
}

/*
 * Report one error.  what is "section.key" (or NULL); got/gotlen, if got is
 * not NULL, is the offending value, echoed for file errors (a --set error
 * already shows its argument).
 */
static void
cfg_report(struct cfg_loader *ld, const struct cfg_src *src,
    const char *what, const char *got, size_t gotlen, const char *fmt, ...)
{
	char shown[CFG_MAX_SHOWN + 4];
	va_list ap;

	if (cfg_stopped(ld))
		return;
	if (++ld->nerr > CFG_MAX_ERRORS) {
		cfg_append(ld, "%s: too many errors, giving up\n",
		    src->set != NULL ? "--set" : src->file);
		return;
	}
	if (src->set != NULL)
		cfg_append(ld, "--set %s: ", src->set);
	else
		cfg_append(ld, "%s:%zu: ", src->file, src->line);
	if (what != NULL && src->set == NULL)
		cfg_append(ld, "%s: ", what);
	va_start(ap, fmt);
	cfg_vappend(ld, fmt, ap);
	va_end(ap);
	if (got != NULL && src->set == NULL) {
		cfg_shown(shown, sizeof(shown), got, gotlen);
		if (gotlen == 0)
			cfg_append(ld, " (got an empty value)");
		else
			cfg_append(ld, " (got %s)", shown);
	}
	cfg_append(ld, "\n");
}

static void
cfg_keyname(char *out, size_t outsz, const struct cfg_key *k)
{
	snprintf(out, outsz, "%s.%s", k->section, k->key);
}

/* Levenshtein distance, or a large number when clearly unrelated. */
static size_t
cfg_distance(const char *a, size_t la, const char *b, size_t lb)
{
	size_t row[72], i, j, diag, up;

	if (la > lb + 3 || lb > la + 3 || lb >= sizeof(row) / sizeof(row[0]))
		return SIZE_MAX;
	for (j = 0; j <= lb; j++)
		row[j] = j;
	for (i = 1; i <= la; i++) {
		diag = row[0];
		row[0] = i;
		for (j = 1; j <= lb; j++) {
			up = row[j];
			row[j] = diag + (a[i - 1] != b[j - 1]);
			if (up + 1 < row[j])
				row[j] = up + 1;
			if (row[j - 1] + 1 < row[j])
				row[j] = row[j - 1] + 1;
			diag = up;
		}
	}
	return row[lb];
}

static bool
cfg_close_enough(size_t d, size_t len)
{
	size_t lim = len / 3;

	if (lim < 1)
		lim = 1;
	if (lim > 3)
		lim = 3;
	return d <= lim;
}

/*
 * The key closest to sec.key: a key of the same section, or the full name
 * of a key of another section (broker: { node.id: 1 } -> node.id).
 */
static const struct cfg_key *
cfg_suggest(const char *sec, size_t slen, const char *key, size_t klen)
{
	const struct cfg_key *best = NULL;
	size_t bestd = SIZE_MAX, d, d2, n, glen = slen + 1 + klen;
	char full[80], given[80];

	if (glen < sizeof(given)) {
		memcpy(given, sec, slen);
		given[slen] = '.';
		memcpy(given + slen + 1, key, klen);
	}
	for (size_t i = 0; i < CFG_NKEYS; i++) {
		const struct cfg_key *k = &cfg_keys[i];

		cfg_keyname(full, sizeof(full), k);
		if (strlen(k->section) == slen &&
		    memcmp(k->section, sec, slen) == 0)
			d = cfg_distance(key, klen, k->key, strlen(k->key));
		else
			d = cfg_distance(key, klen, full, strlen(full));
		if (glen < sizeof(given) && (d2 = cfg_distance(given, glen,
		    full, strlen(full))) < d)
			d = d2;
		if (d < bestd) {
			bestd = d;
			best = k;
		}
	}
	n = best != NULL ? strlen(best->key) : 0;
	return best != NULL && cfg_close_enough(bestd, n > klen ? n : klen) ?
	    best : NULL;
}

static const struct cfg_key *
cfg_lookup(const char *sec, size_t slen, const char *key, size_t klen,
    size_t *index)
{
	for (size_t i = 0; i < CFG_NKEYS; i++) {
		const struct cfg_key *k = &cfg_keys[i];

		if (strlen(k->section) == slen && strlen(k->key) == klen &&
		    memcmp(k->section, sec, slen) == 0 &&
		    memcmp(k->key, key, klen) == 0) {
			*index = i;
			return k;
		}
	}
	return NULL;
}

static void
cfg_unknown_key(struct cfg_loader *ld, const struct cfg_src *src,
    const char *sec, size_t slen, const char *key, size_t klen)
{
	const struct cfg_key *k;
	char what[CFG_MAX_SHOWN * 2 + 8], s[CFG_MAX_SHOWN + 4],
	    kshown[CFG_MAX_SHOWN + 4], full[80];

	cfg_shown(s, sizeof(s), sec, slen);
	cfg_shown(kshown, sizeof(kshown), key, klen);
	snprintf(what, sizeof(what), "%s.%s", s, kshown);
	if ((k = cfg_suggest(sec, slen, key, klen)) == NULL) {
		cfg_report(ld, src, what, NULL, 0, "unknown key");
		return;
	}
	/* In the file a key of the same section is named without it. */
	if (src->set == NULL && strlen(k->section) == slen &&
	    memcmp(k->section, sec, slen) == 0)
		snprintf(full, sizeof(full), "%s", k->key);
	else
		cfg_keyname(full, sizeof(full), k);
	cfg_report(ld, src, what, NULL, 0, "unknown key (did you mean %s?)",
	    full);
}

static void
cfg_unknown_section(struct cfg_loader *ld, const struct cfg_src *src,
    const char *sec, size_t slen)
{
	char what[CFG_MAX_SHOWN + 4];
	size_t best = 0, bestd = SIZE_MAX, d;

	cfg_shown(what, sizeof(what), sec, slen);
	for (size_t i = 0; i < CFG_NSECTIONS; i++) {
		d = cfg_distance(sec, slen, cfg_sections[i],
		    strlen(cfg_sections[i]));
		if (d < bestd) {
			bestd = d;
			best = i;
		}
	}
	if (cfg_close_enough(bestd, slen))
		cfg_report(ld, src, what, NULL, 0,
		    "unknown section (did you mean %s?)", cfg_sections[best]);
	else
		cfg_report(ld, src, what, NULL, 0, "unknown section (expected "
		    "node, cluster, broker, connect, streams or metrics)");
}

/*
 * Plain decimal: an optional '-' and digits.  Returns 0, -1 if s is not an
 * integer or 1 if it does not fit in 64 bits.
 */
static int
cfg_parse_int(const char *s, size_t len, int64_t *out)
{
	uint64_t v = 0, lim = INT64_MAX;
	bool neg = false, over = false;
	size_t i = 0;

	if (len > 0 && s[0] == '-') {
		neg = true;
		lim = (uint64_t)INT64_MAX + 1;
		i = 1;
	}
	if (i == len)
		return -1;
	for (; i < len; i++) {
		unsigned d;

		if (s[i] < '0' || s[i] > '9')
			return -1;
		d = (unsigned)(s[i] - '0');
		if (v > (lim - d) / 10)
			over = true;
		else
			v = v * 10 + d;
	}
	if (over)
		return 1;
	if (!neg)
		*out = (int64_t)v;
	else if (v == (uint64_t)INT64_MAX + 1)
		*out = INT64_MIN;
	else
		*out = -(int64_t)v;
	return 0;
}

static bool
cfg_is_choice(const char *choices, const char *s, size_t len)
{
	const char *p = choices, *bar;
	size_t n;

	for (;;) {
		bar = strchr(p, '|');
		n = bar != NULL ? (size_t)(bar - p) : strlen(p);
		if (n == len && memcmp(p, s, len) == 0)
			return true;
		if (bar == NULL)
			return false;
		p = bar + 1;
	}
}

/*
 * A listener: an upper-case name (PLAINTEXT, SSL, ...), "://", a host
 * (possibly empty or a [v6] address) and a port 0..65535.
 */
static bool
cfg_is_listener(const char *s, size_t len)
{
	const char *end = s + len, *p = s, *colon;
	unsigned long port = 0;

	while (p < end && ((*p >= 'A' && *p <= 'Z') || *p == '_'))
		p++;
	if (p == s || end - p < 3 || memcmp(p, "://", 3) != 0)
		return false;
	p += 3;
	for (colon = end; colon > p && colon[-1] != ':'; colon--)
		;
	if (colon == p || colon == end || end - colon > 5)
		return false;
	for (const char *q = colon; q < end; q++) {
		if (*q < '0' || *q > '9')
			return false;
		port = port * 10 + (unsigned long)(*q - '0');
	}
	if (port > 65535)
		return false;
	for (const char *q = p; q < colon - 1; q++)
		if (*q == '/' || *q == ' ' || *q == ',')
			return false;
	return true;
}

/* Check one string (or list element) against k; 0 if good. */
static int
cfg_check_str(struct cfg_loader *ld, const struct cfg_src *src,
    const struct cfg_key *k, const char *what, const char *s, size_t len)
{
	int64_t min = k->type == CFG_LIST ? 1 : k->min;
	int64_t max = k->type == CFG_LIST ? CFG_MAX_STR : k->max;

	if (memchr(s, '\0', len) != NULL)
		cfg_report(ld, src, what, NULL, 0,
		    "must not contain a NUL character");
	else if (len == 0 && min > 0)
		cfg_report(ld, src, what, NULL, 0, k->type == CFG_LIST ?
		    "empty list element" : "must not be empty");
	else if ((uint64_t)len > (uint64_t)max)
		cfg_report(ld, src, what, s, len,
		    "must be at most %" PRId64 " characters", max);
	else if (k->choices == cfg_listener && !cfg_is_listener(s, len))
		cfg_report(ld, src, what, s, len, "must be %s", cfg_listener);
	else if (k->choices != NULL && k->choices != cfg_listener &&
	    !cfg_is_choice(k->choices, s, len))
		cfg_report(ld, src, what, s, len, "must be one of %s",
		    k->choices);
	else
		return 0;
	return -1;
}

/* Set a non-list key from its text; null is a YAML null (~, empty). */
static void
cfg_set_scalar(struct cfg_loader *ld, const struct cfg_src *src,
    const struct cfg_key *k, const char *s, size_t len, bool null)
{
	void *p = (char *)ld->cfg + k->off;
	char what[80];
	int64_t v = 0;
	int rc;

	cfg_keyname(what, sizeof(what), k);
	switch (k->type) {
	case CFG_INT32:
	case CFG_INT64:
		if (null || (rc = cfg_parse_int(s, len, &v)) < 0) {
			cfg_report(ld, src, what, s, len, "expected an integer");
			return;
		}
		if (rc > 0 || v < k->min || v > k->max) {
			cfg_report(ld, src, what, s, len,
			    "must be %" PRId64 "..%" PRId64, k->min, k->max);
			return;
		}
		if (k->type == CFG_INT32)
			*(int32_t *)p = (int32_t)v;
		else
			*(int64_t *)p = v;
		break;
	case CFG_BOOL:
		if (!null && len == 4 && memcmp(s, "true", 4) == 0)
			*(bool *)p = true;
		else if (!null && len == 5 && memcmp(s, "false", 5) == 0)
			*(bool *)p = false;
		else
			cfg_report(ld, src, what, s, len,
			    "expected true or false");
		break;
	case CFG_STR:
		if (null)
			len = 0;
		if (cfg_check_str(ld, src, k, what, s, len) != 0)
			return;
		free(*(char **)p);
		*(char **)p = xstrndup(s, len);
		break;
	case CFG_LIST:
		fatalx("config: %s is a list", what);
	}
}

static void
cfg_list_clear(struct mo_strlist *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

/* Check an element and add it to l; 0 if good. */
static int
cfg_list_add(struct cfg_loader *ld, const struct cfg_src *src,
    const struct cfg_key *k, struct mo_strlist *l, const char *s, size_t len)
{
	char what[80];

	cfg_keyname(what, sizeof(what), k);
	if (cfg_check_str(ld, src, k, what, s, len) != 0)
		return -1;
	if ((int64_t)l->n >= k->max) {
		cfg_report(ld, src, what, NULL, 0,
		    "must have at most %" PRId64 " elements", k->max);
		return -1;
	}
	l->v = xreallocarray(l->v, l->n + 1, sizeof(*l->v));
	l->v[l->n++] = xstrndup(s, len);
	return 0;
}

/* Replace the list of k with l (taking it) if it is good, else drop it. */
static void
cfg_list_give(struct cfg_loader *ld, const struct cfg_src *src,
    const struct cfg_key *k, struct mo_strlist *l, int rc)
{
	struct mo_strlist *dst = (void *)((char *)ld->cfg + k->off);
	char what[80];

	cfg_keyname(what, sizeof(what), k);
	if (rc == 0 && (int64_t)l->n < k->min) {
		cfg_report(ld, src, what, NULL, 0,
		    "must have at least %" PRId64 " element%s", k->min,
		    k->min == 1 ? "" : "s");
		rc = -1;
	}
	if (rc != 0) {
		cfg_list_clear(l);
		return;
	}
	cfg_list_clear(dst);
	*dst = *l;
}

/* Set a list from comma-separated text; blanks around commas are dropped. */
static void
cfg_set_csv(struct cfg_loader *ld, const struct cfg_src *src,
    const struct cfg_key *k, const char *s, size_t len)
{
	struct mo_strlist l = { NULL, 0 };
	const char *end = s + len, *p = s, *q, *a, *b;
	int rc = 0;

	while (len > 0 && rc == 0) {
		q = memchr(p, ',', (size_t)(end - p));
		if (q == NULL)
			q = end;
		for (a = p; a < q && (*a == ' ' || *a == '\t'); a++)
			;
		for (b = q; b > a && (b[-1] == ' ' || b[-1] == '\t'); b--)
			;
		rc = cfg_list_add(ld, src, k, &l, a, (size_t)(b - a));
		if (q == end)
			break;
		p = q + 1;
	}
	cfg_list_give(ld, src, k, &l, rc);
}

static void
cfg_defaults(struct cfg_loader *ld)
{
	struct cfg_src src = { "(defaults)", 0, NULL };

	for (size_t i = 0; i < CFG_NKEYS; i++) {
		const struct cfg_key *k = &cfg_keys[i];

		if (k->type == CFG_LIST)
			cfg_set_csv(ld, &src, k, k->def, strlen(k->def));
		else
			cfg_set_scalar(ld, &src, k, k->def, strlen(k->def),
			    false);
	}
	MO_ASSERT(ld->nerr == 0);
}

static const char *
cfg_node_name(const yaml_node_t *n)
{
	switch (n->type) {
	case YAML_SEQUENCE_NODE:
		return "a list";
	case YAML_MAPPING_NODE:
		return "a mapping";
	default:
		return "a scalar";
	}
}

static size_t
cfg_line(const yaml_node_t *n)
{
	return n->start_mark.line + 1;
}

static bool
cfg_is_null(const yaml_node_t *n)
{
	const char *s = (const char *)n->data.scalar.value;
	size_t len = n->data.scalar.length;

	if (n->type != YAML_SCALAR_NODE ||
	    n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return false;
	return len == 0 || (len == 1 && s[0] == '~') ||
	    (len == 4 && (memcmp(s, "null", 4) == 0 ||
	    memcmp(s, "Null", 4) == 0 || memcmp(s, "NULL", 4) == 0));
}

/* Set key k from the YAML node v. */
static void
cfg_set_node(struct cfg_loader *ld, yaml_document_t *doc,
    const struct cfg_key *k, yaml_node_t *v)
{
	struct cfg_src src = { ld->file, cfg_line(v), NULL };
	struct mo_strlist l = { NULL, 0 };
	const char *s = NULL;
	size_t len = 0;
	yaml_node_item_t *it;
	yaml_node_t *e;
	char what[80];
	int rc = 0;

	cfg_keyname(what, sizeof(what), k);
	if (v->type == YAML_SCALAR_NODE) {
		s = (const char *)v->data.scalar.value;
		len = v->data.scalar.length;
	}
	if (v->type == YAML_SCALAR_NODE && k->type == CFG_LIST)
		cfg_set_csv(ld, &src, k, s, cfg_is_null(v) ? 0 : len);
	else if (v->type == YAML_SCALAR_NODE)
		cfg_set_scalar(ld, &src, k, s, len, cfg_is_null(v));
	else if (v->type == YAML_SEQUENCE_NODE && k->type == CFG_LIST) {
		for (it = v->data.sequence.items.start;
		    it < v->data.sequence.items.top && rc == 0; it++) {
			if ((e = yaml_document_get_node(doc, *it)) == NULL)
				continue;
			src.line = cfg_line(e);
			if (e->type != YAML_SCALAR_NODE) {
				cfg_report(ld, &src, what, NULL, 0,
				    "list elements must be scalars, not %s",
				    cfg_node_name(e));
				rc = -1;
			} else
				rc = cfg_list_add(ld, &src, k, &l,
				    (const char *)e->data.scalar.value,
				    cfg_is_null(e) ? 0 : e->data.scalar.length);
		}
		src.line = cfg_line(v);
		cfg_list_give(ld, &src, k, &l, rc);
	} else
		cfg_report(ld, &src, what, NULL, 0, "expected %s, not %s",
		    cfg_expect[k->type], cfg_node_name(v));
}

static void
cfg_load_section(struct cfg_loader *ld, yaml_document_t *doc,
    const yaml_node_t *sn, yaml_node_t *map)
{
	const char *sec = (const char *)sn->data.scalar.value;
	size_t slen = sn->data.scalar.length, i;
	struct cfg_src src = { ld->file, cfg_line(map), NULL };
	const struct cfg_key *k;
	yaml_node_pair_t *pr;
	yaml_node_t *kn, *vn;
	char what[80];

	if (cfg_is_null(map))
		return;		/* "connect:" alone: an empty section */
	if (map->type != YAML_MAPPING_NODE) {
		cfg_report(ld, &src, sec, NULL, 0, "expected a mapping of "
		    "keys, not %s", cfg_node_name(map));
		return;
	}
	for (pr = map->data.mapping.pairs.start;
	    pr < map->data.mapping.pairs.top && !cfg_stopped(ld); pr++) {
		kn = yaml_document_get_node(doc, pr->key);
		vn = yaml_document_get_node(doc, pr->value);
		if (kn == NULL || vn == NULL)
			continue;
		src.line = cfg_line(kn);
		if (kn->type != YAML_SCALAR_NODE) {
			cfg_report(ld, &src, sec, NULL, 0,
			    "keys must be scalars, not %s", cfg_node_name(kn));
			continue;
		}
		k = cfg_lookup(sec, slen, (const char *)kn->data.scalar.value,
		    kn->data.scalar.length, &i);
		if (k == NULL && vn->type == YAML_MAPPING_NODE) {
			cfg_shown(what, sizeof(what),
			    (const char *)kn->data.scalar.value,
			    kn->data.scalar.length);
			cfg_report(ld, &src, NULL, NULL, 0, "%s.%s: nested "
			    "mappings are not supported; write the full "
			    "property name (log.retention.hours: 168)",
			    sec, what);
		} else if (k == NULL)
			cfg_unknown_key(ld, &src, sec, slen,
			    (const char *)kn->data.scalar.value,
			    kn->data.scalar.length);
		else if (ld->seen[i] != 0) {
			cfg_keyname(what, sizeof(what), k);
			cfg_report(ld, &src, what, NULL, 0,
			    "duplicate key (first set on line %zu)",
			    ld->seen[i]);
		} else {
			ld->seen[i] = src.line;
			cfg_set_node(ld, doc, k, vn);
		}
	}
}

static void
cfg_load_doc(struct cfg_loader *ld, yaml_document_t *doc)
{
	yaml_node_t *root = yaml_document_get_root_node(doc), *kn, *vn;
	struct cfg_src src = { ld->file, 1, NULL };
	yaml_node_pair_t *pr;
	size_t i;

	if (root == NULL || cfg_is_null(root))
		return;		/* an empty file: the defaults */
	src.line = cfg_line(root);
	if (root->type != YAML_MAPPING_NODE) {
		cfg_report(ld, &src, NULL, NULL, 0, "expected a mapping of "
		    "sections (node, cluster, broker, ...), not %s",
		    cfg_node_name(root));
		return;
	}
	for (pr = root->data.mapping.pairs.start;
	    pr < root->data.mapping.pairs.top && !cfg_stopped(ld); pr++) {
		kn = yaml_document_get_node(doc, pr->key);
		vn = yaml_document_get_node(doc, pr->value);
		if (kn == NULL || vn == NULL)
			continue;
		src.line = cfg_line(kn);
		if (kn->type != YAML_SCALAR_NODE) {
			cfg_report(ld, &src, NULL, NULL, 0, "section names "
			    "must be scalars, not %s", cfg_node_name(kn));
			continue;
		}
		for (i = 0; i < CFG_NSECTIONS; i++)
			if (strlen(cfg_sections[i]) == kn->data.scalar.length &&
			    memcmp(cfg_sections[i], kn->data.scalar.value,
			    kn->data.scalar.length) == 0)
				break;
		if (i == CFG_NSECTIONS)
			cfg_unknown_section(ld, &src,
			    (const char *)kn->data.scalar.value,
			    kn->data.scalar.length);
		else
			cfg_load_section(ld, doc, kn, vn);
	}
}

/* Report a libyaml error with the line (and column) where it happened. */
static void
cfg_yaml_error(struct cfg_loader *ld, const yaml_parser_t *p,
    const char *buf, size_t len)
{
	struct cfg_src src = { ld->file, p->problem_mark.line + 1, NULL };
	const char *problem = p->problem != NULL ? p->problem : "error";
	size_t off = p->problem_offset;

	switch (p->error) {
	case YAML_MEMORY_ERROR:
		fatalx("config: %s: libyaml out of memory", ld->file);
	case YAML_READER_ERROR:
		src.line = 1;
		for (size_t i = 0; i < off && i < len; i++)
			src.line += buf[i] == '\n';
		cfg_report(ld, &src, NULL, NULL, 0,
		    "invalid input at byte %zu: %s", off, problem);
		break;
	default:
		if (p->context != NULL)
			cfg_report(ld, &src, NULL, NULL, 0, "YAML syntax "
			    "error, column %zu: %s (%s on line %zu)",
			    p->problem_mark.column + 1, problem, p->context,
			    p->context_mark.line + 1);
		else
			cfg_report(ld, &src, NULL, NULL, 0, "YAML syntax "
			    "error, column %zu: %s",
			    p->problem_mark.column + 1, problem);
		break;
	}
}

static void
cfg_load_yaml(struct cfg_loader *ld, const char *buf, size_t len)
{
	struct cfg_src src = { ld->file, 1, NULL };
	yaml_document_t doc;
	yaml_parser_t p;
	yaml_node_t *root;

	if (!yaml_parser_initialize(&p))
		fatalx("config: yaml_parser_initialize failed");
	yaml_parser_set_input_string(&p, (const unsigned char *)buf, len);
	if (!yaml_parser_load(&p, &doc)) {
		cfg_yaml_error(ld, &p, buf, len);
		goto done;
	}
	cfg_load_doc(ld, &doc);
	yaml_document_delete(&doc);
	/* A second document is a mistake (a stray "---"), not ignored. */
	if (!yaml_parser_load(&p, &doc)) {
		cfg_yaml_error(ld, &p, buf, len);
		goto done;
	}
	if ((root = yaml_document_get_root_node(&doc)) != NULL) {
		src.line = doc.start_mark.line + 1;
		cfg_report(ld, &src, NULL, NULL, 0,
		    "only one YAML document is allowed");
	}
	yaml_document_delete(&doc);
done:
	yaml_parser_delete(&p);
}

/* Apply one --set "section.key=value". */
static void
cfg_apply_set(struct cfg_loader *ld, const char *arg)
{
	struct cfg_src src = { NULL, 0, arg };
	const char *eq = strchr(arg, '='), *dot, *val;
	const struct cfg_key *k;
	size_t nlen, i;

	if (eq == NULL) {
		cfg_report(ld, &src, NULL, NULL, 0,
		    "expected section.key=value");
		return;
	}
	nlen = (size_t)(eq - arg);
	val = eq + 1;
	if ((dot = memchr(arg, '.', nlen)) == NULL)
		dot = eq;
	k = cfg_lookup(arg, (size_t)(dot - arg), dot + (dot < eq),
	    (size_t)(eq - dot) - (dot < eq), &i);
	if (k == NULL)
		cfg_unknown_key(ld, &src, arg, (size_t)(dot - arg),
		    dot + (dot < eq), (size_t)(eq - dot) - (dot < eq));
	else if (k->type == CFG_LIST)
		cfg_set_csv(ld, &src, k, val, strlen(val));
	else
		cfg_set_scalar(ld, &src, k, val, strlen(val), false);
}

static void
cfg_loader_init(struct cfg_loader *ld, const char *file)
{
	memset(ld, 0, sizeof(*ld));
	ld->cfg = xcalloc(1, sizeof(*ld->cfg));
	ld->file = file;
	cfg_defaults(ld);
}

static int
cfg_loader_finish(struct cfg_loader *ld, struct mo_config **out,
    char **errs)
{
	*out = NULL;
	*errs = NULL;
	if (ld->nerr > 0) {
		config_free(ld->cfg);
		*errs = ld->err;
		return -1;
	}
	free(ld->err);
	*out = ld->cfg;
	return 0;
}

/* Read all of path; -1 with errno set on failure. */
static int
cfg_read_file(const char *path, char **bufp, size_t *lenp)
{
	size_t len = 0, cap = 4096, n;
	char *buf;
	FILE *f;

	if ((f = fopen(path, "r")) == NULL)
		return -1;
	buf = xmalloc(cap);
	errno = 0;
	while ((n = fread(buf + len, 1, cap - len, f)) > 0) {
		len += n;
		if (len == cap) {
			if (cap >= CFG_MAX_FILE) {
				errno = EFBIG;
				goto fail;
			}
			cap *= 2;
			buf = xrealloc(buf, cap);
		}
	}
	if (ferror(f)) {
		if (errno == 0)
			errno = EIO;
		goto fail;
	}
	fclose(f);
	*bufp = buf;
	*lenp = len;
	return 0;
fail:
	free(buf);
	fclose(f);
	return -1;
}

/* Load one file on top of what is loaded; its keys override earlier ones. */
static void
cfg_load_file(struct cfg_loader *ld, const char *path)
{
	char *buf;
	size_t len;

	ld->file = path;
	memset(ld->seen, 0, sizeof(ld->seen));
	if (cfg_read_file(path, &buf, &len) != 0) {
		ld->nerr++;
		cfg_append(ld, "cannot open %s: %s\n", path, strerror(errno));
		return;
	}
	cfg_load_yaml(ld, buf, len);
	free(buf);
}

int
config_load(const char *path, char *const *sets, size_t nsets,
    struct mo_config **out, char **errs)
{
	struct cfg_loader ld;

	cfg_loader_init(&ld, path);
	if (path != NULL)
		cfg_load_file(&ld, path);
	for (size_t i = 0; i < nsets && !cfg_stopped(&ld); i++)
		cfg_apply_set(&ld, sets[i]);
	return cfg_loader_finish(&ld, out, errs);
}

static int
cfg_strcmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool
cfg_is_yaml_name(const char *name)
{
	size_t n = strlen(name);

	return name[0] != '.' && n > 5 && strcmp(name + n - 5, ".yaml") == 0;
}

/*
 * The *.yaml files of dir, sorted by name (caller frees each and the
 * array); 0 and none when dir does not exist, -1 if it cannot be read.
 */
static int
cfg_list_dir(const char *dir, char ***namesp, size_t *np)
{
	struct dirent *de;
	char **names = NULL;
	size_t n = 0;
	DIR *d;

	*namesp = NULL;
	*np = 0;
	if ((d = opendir(dir)) == NULL)
		return errno == ENOENT ? 0 : -1;
	while ((de = readdir(d)) != NULL) {
		if (!cfg_is_yaml_name(de->d_name))
			continue;
		names = xreallocarray(names, n + 1, sizeof(*names));
		xasprintf(&names[n++], "%s/%s", dir, de->d_name);
	}
	closedir(d);
	if (n > 0)
		qsort(names, n, sizeof(*names), cfg_strcmp);
	*namesp = names;
	*np = n;
	return 0;
}

int
config_load_tree(const char *path, char *const *sets, size_t nsets,
    struct mo_config **out, char **errs)
{
	struct cfg_loader ld;
	const char *slash;
	char *dir = NULL, **names = NULL;
	size_t n = 0;

	cfg_loader_init(&ld, path);
	if (path != NULL) {
		cfg_load_file(&ld, path);
		slash = strrchr(path, '/');
		if (slash == NULL)
			dir = xstrdup("conf.d");
		else
			xasprintf(&dir, "%.*s/conf.d", (int)(slash - path),
			    path);
		if (cfg_list_dir(dir, &names, &n) != 0) {
			ld.nerr++;
			cfg_append(&ld, "cannot read %s: %s\n", dir,
			    strerror(errno));
		}
		for (size_t i = 0; i < n; i++) {
			if (!cfg_stopped(&ld))
				cfg_load_file(&ld, names[i]);
		}
	}
	ld.file = path;
	for (size_t i = 0; i < nsets && !cfg_stopped(&ld); i++)
		cfg_apply_set(&ld, sets[i]);
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	free(dir);
	return cfg_loader_finish(&ld, out, errs);
}

/* s as a YAML double-quoted scalar. */
static void
cfg_write_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c < 0x20 || c == 0x7f)
			fprintf(f, "\\x%02x", c);
		else
			fputc(c, f);
	}
	fputc('"', f);
}

int
config_write(const struct mo_config *cfg, FILE *f)
{
	const char *sec = NULL;

	fprintf(f, "# Written by moldau from a validated config tree.\n");
	for (size_t i = 0; i < CFG_NKEYS; i++) {
		const struct cfg_key *k = &cfg_keys[i];
		const void *p = (const char *)cfg + k->off;

		if (sec == NULL || strcmp(sec, k->section) != 0) {
			sec = k->section;
			fprintf(f, "%s:\n", sec);
		}
		fprintf(f, "  %s: ", k->key);
		switch (k->type) {
		case CFG_INT32:
			fprintf(f, "%" PRId32, *(const int32_t *)p);
			break;
		case CFG_INT64:
			fprintf(f, "%" PRId64, *(const int64_t *)p);
			break;
		case CFG_BOOL:
			fputs(*(const bool *)p ? "true" : "false", f);
			break;
		case CFG_STR:
			cfg_write_str(f, *(char *const *)p);
			break;
		case CFG_LIST: {
			const struct mo_strlist *l = p;

			fputc('[', f);
			for (size_t j = 0; j < l->n; j++) {
				if (j > 0)
					fputs(", ", f);
				cfg_write_str(f, l->v[j]);
			}
			fputc(']', f);
			break;
		}
		}
		fputc('\n', f);
	}
	return ferror(f) ? -1 : 0;
}

int
config_load_mem(const char *name, const char *buf, size_t len,
    struct mo_config **out, char **errs)
{
	struct cfg_loader ld;

	cfg_loader_init(&ld, name);
	cfg_load_yaml(&ld, buf, len);
	return cfg_loader_finish(&ld, out, errs);
}

void
config_free(struct mo_config *cfg)
{
	if (cfg == NULL)
		return;
	for (size_t i = 0; i < CFG_NKEYS; i++) {
		void *p = (char *)cfg + cfg_keys[i].off;

		if (cfg_keys[i].type == CFG_STR)
			free(*(char **)p);
		else if (cfg_keys[i].type == CFG_LIST)
			cfg_list_clear(p);
	}
	free(cfg);
}
