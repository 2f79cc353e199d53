/* Unit tests for the configuration loader (config.c). */
#include <sys/stat.h>
#include <stdarg.h>
#include <setjmp.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "config.h"

/* A YAML text and the exact error text it must produce ("" = loads). */
struct case_ {
	const char	*yaml;
	const char	*errs;
};

static void
expect_list(const struct mo_strlist *l, size_t n, ...)
{
	va_list ap;

	assert_int_equal(l->n, n);
	va_start(ap, n);
	for (size_t i = 0; i < n; i++)
		assert_string_equal(l->v[i], va_arg(ap, const char *));
	va_end(ap);
}

static void
expect_defaults(const struct mo_config *c)
{
	assert_int_equal(c->node_id, 1);
	assert_string_equal(c->data_dir, "/var/lib/moldau");
	assert_string_equal(c->run_dir, "/run/moldau");
	expect_list(&c->roles, 4, "controller", "broker", "connect",
	    "streams");
	assert_string_equal(c->log_level, "info");
	assert_string_equal(c->log_dir, "");
	assert_true(c->log_max_bytes == 10485760);
	assert_int_equal(c->log_keep, 5);
	expect_list(&c->controllers, 1, "1@127.0.0.1:9093");
	assert_string_equal(c->cluster_id, "");
	assert_true(c->metadata_snapshot_bytes == 20971520);
	assert_int_equal(c->broker_session_timeout_ms, 9000);
	expect_list(&c->listeners, 1, "PLAINTEXT://127.0.0.1:9092");
	expect_list(&c->advertised_listeners, 0);
	assert_int_equal(c->num_partitions, 1);
	assert_int_equal(c->default_replication_factor, 1);
	assert_true(c->auto_create_topics_enable);
	assert_true(c->delete_topic_enable);
	assert_int_equal(c->socket_request_max_bytes, 104857600);
	assert_int_equal(c->message_max_bytes, 1048588);
	assert_int_equal(c->log_retention_hours, 168);
	assert_int_equal(c->log_retention_minutes, -1);
	assert_int_equal(c->log_retention_ms, -1);
	assert_int_equal(c->log_retention_bytes, -1);
	assert_int_equal(c->log_segment_bytes, 1073741824);
	assert_int_equal(c->log_segment_ms, -1);
	assert_true(c->log_flush_interval_messages == INT64_MAX);
	assert_int_equal(c->log_flush_interval_ms, -1);
	assert_string_equal(c->log_message_timestamp_type, "CreateTime");
	assert_string_equal(c->compression_type, "producer");
	assert_int_equal(c->num_io_threads, 8);
	assert_int_equal(c->offsets_topic_num_partitions, 50);
	assert_int_equal(c->group_initial_rebalance_delay_ms, 3000);
	assert_int_equal(c->group_min_session_timeout_ms, 6000);
	assert_int_equal(c->offsets_retention_minutes, 10080);
	assert_string_equal(c->connect_rest, "127.0.0.1:8083");
	assert_string_equal(c->connect_connectors_dir, "connect.d");
	assert_string_equal(c->streams_topologies_dir, "streams.d");
	assert_string_equal(c->metrics_listen, "127.0.0.1:9644");
}

/* Write text to a new temporary file; returns its (static) name. */
static const char *
tmpfile_with(const char *text)
{
	static char path[64];
	size_t len = strlen(text);
	int fd;

	snprintf(path, sizeof(path), "/tmp/test_config.XXXXXX");
	assert_true((fd = mkstemp(path)) >= 0);
	assert_int_equal(write(fd, text, len), (ssize_t)len);
	assert_int_equal(close(fd), 0);
	return path;
}

/* config_load with --set arguments given as string literals. */
static int
load_sets(const char *path, const char *const *sets, size_t n,
    struct mo_config **c, char **e)
{
	char **v = calloc(n + 1, sizeof(*v));
	int rc;

	assert_non_null(v);
	for (size_t i = 0; i < n; i++)
		assert_non_null(v[i] = strdup(sets[i]));
	rc = config_load(path, v, n, c, e);
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
	return rc;
}

/* Load text from memory as "t.yaml"; expect errs ("" for success). */
static void
check_mem(const char *yaml, const char *errs)
{
	struct mo_config *c = NULL;
	char *e = NULL;
	int rc;

	rc = config_load_mem("t.yaml", yaml, strlen(yaml), &c, &e);
	if (errs[0] == '\0') {
		if (rc != 0)
			fail_msg("unexpected errors for:\n%s\n%s", yaml, e);
		assert_null(e);
		assert_non_null(c);
		config_free(c);
		return;
	}
	assert_int_equal(rc, -1);
	assert_null(c);
	assert_non_null(e);
	if (strcmp(e, errs) != 0) {
		print_error("for:\n%s\ngot:\n%swant:\n%s", yaml, e, errs);
		free(e);
		fail();
	}
	free(e);
}

/* Apply sets over the defaults; expect errs ("" for success). */
static void
check_sets(const char *const *sets, size_t n, const char *errs)
{
	struct mo_config *c = NULL;
	char *e = NULL;
	int rc;

	rc = load_sets(NULL, sets, n, &c, &e);
	if (errs[0] == '\0') {
		if (rc != 0)
			fail_msg("unexpected errors for --set %s:\n%s",
			    sets[0], e);
		config_free(c);
		return;
	}
	assert_int_equal(rc, -1);
	assert_null(c);
	if (strcmp(e, errs) != 0) {
		print_error("for --set %s\ngot:\n%swant:\n%s", sets[0], e,
		    errs);
		free(e);
		fail();
	}
	free(e);
}

static void
test_defaults(void **state)
{
	struct mo_config *c;
	char *e;

	(void)state;
	assert_int_equal(config_load(NULL, NULL, 0, &c, &e), 0);
	assert_null(e);
	expect_defaults(c);
	config_free(c);
	config_free(NULL);
	/* An empty file, a null document and empty sections: defaults. */
	assert_int_equal(config_load_mem("t", "", 0, &c, &e), 0);
	expect_defaults(c);
	config_free(c);
	check_mem("~\n", "");
	check_mem("# nothing\n", "");
	check_mem("node:\nconnect:\nstreams: ~\n", "");
}

/* The shipped etc/moldau.yaml loads and says exactly the defaults. */
static void
test_shipped_file(void **state)
{
	const char *src = getenv("MOLDAU_SRCDIR");
	struct mo_config *c;
	char path[4096], *e;

	(void)state;
	snprintf(path, sizeof(path), "%s/etc/moldau.yaml",
	    src != NULL ? src : ".");
	if (config_load(path, NULL, 0, &c, &e) != 0) {
		print_error("%s", e);
		free(e);
		fail();
	}
	expect_defaults(c);
	/* the one key an installed node sets apart from the defaults */
	assert_false(c->auto_format);
	config_free(c);
}

static const char full_yaml[] =
    "# every key, none at its default\n"
    "node:\n"
    "  id: 7\n"
    "  data_dir: /srv/moldau\n"
    "  run_dir: /tmp/run\n"
    "  roles:\n"
    "    - broker\n"
    "    - controller\n"
    "  log_level: debug\n"
    "cluster: { controllers: [\"1@h1:9093\", \"2@h2:9093\"], id: abc }\n"
    "broker:\n"
    "  listeners: PLAINTEXT://0.0.0.0:9092, PLAINTEXT://[::]:9093\n"
    "  advertised.listeners: [PLAINTEXT://k1:9092]\n"
    "  num.partitions: 100000\n"
    "  default.replication.factor: 3\n"
    "  auto.create.topics.enable: false\n"
    "  delete.topic.enable: \"false\"\n"
    "  socket.request.max.bytes: 2147483647\n"
    "  message.max.bytes: 0\n"
    "  log.retention.hours: -1\n"
    "  log.retention.minutes: 60\n"
    "  log.retention.ms: 9223372036854775807\n"
    "  log.retention.bytes: 1000000000000\n"
    "  log.segment.bytes: 14\n"
    "  log.roll.ms: 3600000\n"
    "  log.flush.interval.messages: 1\n"
    "  log.flush.interval.ms: 1000\n"
    "  log.message.timestamp.type: LogAppendTime\n"
    "  compression.type: zstd\n"
    "  num.io.threads: 1\n"
    "  offsets.topic.num.partitions: 1\n"
    "  group.initial.rebalance.delay.ms: 0\n"
    "connect: { rest: \"0.0.0.0:8083\", connectors_dir: /etc/c }\n"
    "streams: { topologies_dir: /etc/s }\n"
    "metrics: { listen: \"[::1]:9644\" }\n";

static void
expect_full(const struct mo_config *c)
{
	assert_int_equal(c->node_id, 7);
	assert_string_equal(c->data_dir, "/srv/moldau");
	assert_string_equal(c->run_dir, "/tmp/run");
	expect_list(&c->roles, 2, "broker", "controller");
	assert_string_equal(c->log_level, "debug");
	expect_list(&c->controllers, 2, "1@h1:9093", "2@h2:9093");
	assert_string_equal(c->cluster_id, "abc");
	expect_list(&c->listeners, 2, "PLAINTEXT://0.0.0.0:9092",
	    "PLAINTEXT://[::]:9093");
	expect_list(&c->advertised_listeners, 1, "PLAINTEXT://k1:9092");
	assert_int_equal(c->num_partitions, 100000);
	assert_int_equal(c->default_replication_factor, 3);
	assert_false(c->auto_create_topics_enable);
	assert_false(c->delete_topic_enable);
	assert_int_equal(c->socket_request_max_bytes, INT32_MAX);
	assert_int_equal(c->message_max_bytes, 0);
	assert_int_equal(c->log_retention_hours, -1);
	assert_int_equal(c->log_retention_minutes, 60);
	assert_true(c->log_retention_ms == INT64_MAX);
	assert_true(c->log_retention_bytes == 1000000000000);
	assert_int_equal(c->log_segment_bytes, 14);
	assert_int_equal(c->log_segment_ms, 3600000);
	assert_int_equal(c->log_flush_interval_messages, 1);
	assert_int_equal(c->log_flush_interval_ms, 1000);
	assert_string_equal(c->log_message_timestamp_type, "LogAppendTime");
	assert_string_equal(c->compression_type, "zstd");
	assert_int_equal(c->num_io_threads, 1);
	assert_int_equal(c->offsets_topic_num_partitions, 1);
	assert_int_equal(c->group_initial_rebalance_delay_ms, 0);
	assert_string_equal(c->connect_rest, "0.0.0.0:8083");
	assert_string_equal(c->connect_connectors_dir, "/etc/c");
	assert_string_equal(c->streams_topologies_dir, "/etc/s");
	assert_string_equal(c->metrics_listen, "[::1]:9644");
}

static void
test_full_file(void **state)
{
	const char *path = tmpfile_with(full_yaml);
	struct mo_config *c;
	char *e;

	(void)state;
	if (config_load(path, NULL, 0, &c, &e) != 0)
		fail_msg("%s", e);
	unlink(path);
	expect_full(c);
	config_free(c);
}

static const struct case_ type_cases[] = {
	/* integers: plain decimal, in range, no overflow */
	{ "broker:\n  num.partitions: 0\n", "t.yaml:2: broker.num.partitions: "
	    "must be 1..100000 (got 0)\n" },
	{ "broker:\n  num.partitions: 100001\n", "t.yaml:2: "
	    "broker.num.partitions: must be 1..100000 (got 100001)\n" },
	{ "\n\nbroker: { num.partitions: 3x }\n", "t.yaml:3: "
	    "broker.num.partitions: expected an integer (got 3x)\n" },
	{ "broker:\n  num.partitions: 0x10\n", "t.yaml:2: "
	    "broker.num.partitions: expected an integer (got 0x10)\n" },
	{ "broker:\n  num.partitions: 1e3\n", "t.yaml:2: "
	    "broker.num.partitions: expected an integer (got 1e3)\n" },
	{ "broker:\n  num.partitions: +3\n", "t.yaml:2: "
	    "broker.num.partitions: expected an integer (got +3)\n" },
	{ "broker:\n  num.partitions: --\n", "t.yaml:2: "
	    "broker.num.partitions: expected an integer (got --)\n" },
	{ "broker:\n  num.partitions:\n", "t.yaml:2: "
	    "broker.num.partitions: expected an integer (got an empty "
	    "value)\n" },
	{ "broker:\n  num.partitions: [1]\n", "t.yaml:2: "
	    "broker.num.partitions: expected an integer, not a list\n" },
	{ "broker:\n  log.retention.ms: 9223372036854775808\n", "t.yaml:2: "
	    "broker.log.retention.ms: must be -1..9223372036854775807 (got "
	    "9223372036854775808)\n" },
	{ "broker:\n  log.retention.ms: -9223372036854775808\n", "t.yaml:2: "
	    "broker.log.retention.ms: must be -1..9223372036854775807 (got "
	    "-9223372036854775808)\n" },
	{ "broker:\n  log.retention.ms: 99999999999999999999999999\n",
	    "t.yaml:2: broker.log.retention.ms: must be "
	    "-1..9223372036854775807 (got 99999999999999999999999999)\n" },
	{ "node:\n  id: 2147483648\n", "t.yaml:2: node.id: must be "
	    "0..2147483647 (got 2147483648)\n" },
	{ "node:\n  id: -1\n", "t.yaml:2: node.id: must be 0..2147483647 "
	    "(got -1)\n" },
	{ "broker:\n  log.retention.ms: -1\n  log.retention.bytes: "
	    "9223372036854775807\n  node.id: 0\n", "t.yaml:4: broker.node.id: "
	    "unknown key (did you mean node.id?)\n" },
	/* booleans: true or false only */
	{ "broker:\n  delete.topic.enable: yes\n", "t.yaml:2: "
	    "broker.delete.topic.enable: expected true or false (got yes)\n" },
	{ "broker:\n  delete.topic.enable: 1\n", "t.yaml:2: "
	    "broker.delete.topic.enable: expected true or false (got 1)\n" },
	{ "broker:\n  delete.topic.enable: True\n", "t.yaml:2: "
	    "broker.delete.topic.enable: expected true or false (got True)\n" },
	/* strings */
	{ "node:\n  log_level: loud\n", "t.yaml:2: node.log_level: must be "
	    "one of error|warn|info|debug (got loud)\n" },
	{ "broker:\n  compression.type: brotli\n", "t.yaml:2: "
	    "broker.compression.type: must be one of producer|uncompressed|"
	    "gzip|snappy|lz4|zstd (got brotli)\n" },
	{ "broker:\n  log.message.timestamp.type: createtime\n", "t.yaml:2: "
	    "broker.log.message.timestamp.type: must be one of "
	    "CreateTime|LogAppendTime (got createtime)\n" },
	{ "node:\n  data_dir: \"\"\n", "t.yaml:2: node.data_dir: must not "
	    "be empty\n" },
	{ "node:\n  data_dir: \"a\\0b\"\n", "t.yaml:2: node.data_dir: must "
	    "not contain a NUL character\n" },
	{ "cluster:\n  id: 0123456789012345678901234567890123456789"
	    "012345678901234567890123\n", "t.yaml:2: cluster.id: must be at "
	    "most 63 characters (got 012345678901234567890123456789012345678"
	    "901234567...)\n" },
	{ "node:\n  data_dir: [a]\n", "t.yaml:2: node.data_dir: expected a "
	    "string, not a list\n" },
	{ "node:\n  data_dir: {a: b}\n", "t.yaml:2: node.data_dir: expected "
	    "a string, not a mapping\n" },
	/* lists: a sequence, or a scalar of comma-separated values */
	{ "node:\n  roles: [broker, bogus]\n", "t.yaml:2: node.roles: must "
	    "be one of controller|broker|connect|streams (got bogus)\n" },
	{ "node:\n  roles:\n    - broker\n    - [x]\n", "t.yaml:4: "
	    "node.roles: list elements must be scalars, not a list\n" },
	{ "node:\n  roles: []\n", "t.yaml:2: node.roles: must have at least "
	    "1 element\n" },
	{ "broker:\n  listeners:\n", "t.yaml:2: broker.listeners: must have "
	    "at least 1 element\n" },
	{ "node:\n  roles: \"broker,,controller\"\n", "t.yaml:2: node.roles: "
	    "empty list element\n" },
	{ "node:\n  roles:\n    - broker\n    -\n", "t.yaml:4: node.roles: "
	    "empty list element\n" },
	{ "node:\n  roles: [broker, broker, broker, broker, broker]\n",
	    "t.yaml:2: node.roles: must have at most 4 elements\n" },
	{ "broker:\n  listeners: {a: b}\n", "t.yaml:2: broker.listeners: "
	    "expected a list, not a mapping\n" },
	{ "broker:\n  advertised.listeners: \"\"\n", "" },
	{ "broker:\n  advertised.listeners: ~\n", "" },
	{ "broker:\n  listeners: [\"PLAINTEXT://h:9092\", \"h:9092\"]\n",
	    "t.yaml:2: broker.listeners: must be NAME://host:port "
	    "(got h:9092)\n" },
	{ "broker:\n  listeners: PLAINTEXT://h:65536\n", "t.yaml:2: "
	    "broker.listeners: must be NAME://host:port "
	    "(got PLAINTEXT://h:65536)\n" },
	{ "broker:\n  listeners: PLAINTEXT://:0\n", "" },
	{ "broker:\n  listeners: \"SSL://[::1]:9093\"\n", "" },
	/* structure */
	{ "- node\n", "t.yaml:1: expected a mapping of sections (node, "
	    "cluster, broker, ...), not a list\n" },
	{ "node: 1\n", "t.yaml:1: node: expected a mapping of keys, not a "
	    "scalar\n" },
	{ "[a]: 1\n", "t.yaml:1: section names must be scalars, not a "
	    "list\n" },
	{ "node:\n  [a]: 1\n", "t.yaml:2: node: keys must be scalars, not a "
	    "list\n" },
	{ "brokers:\n  num.partitions: 1\n", "t.yaml:1: brokers: unknown "
	    "section (did you mean broker?)\n" },
	{ "kafka: {}\n", "t.yaml:1: kafka: unknown section (expected node, "
	    "cluster, broker, connect, streams or metrics)\n" },
	{ "broker:\n  log:\n    retention.hours: 1\n", "t.yaml:2: "
	    "broker.log: nested mappings are not supported; write the full "
	    "property name (log.retention.hours: 168)\n" },
	{ "broker:\n  num.partitions: 2\n  num.partitions: 3\n", "t.yaml:3: "
	    "broker.num.partitions: duplicate key (first set on line 2)\n" },
	{ "node: {}\n---\nnode: {}\n", "t.yaml:2: only one YAML document is "
	    "allowed\n" },
};

static void
test_type_errors(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(type_cases) / sizeof(type_cases[0]); i++)
		check_mem(type_cases[i].yaml, type_cases[i].errs);
}

static void
test_unknown_keys(void **state)
{
	(void)state;
	check_mem("node:\n  id: 1\nbroker:\n\n  num.partitons: 3\n",
	    "t.yaml:5: broker.num.partitons: unknown key (did you mean "
	    "num.partitions?)\n");
	check_mem("broker:\n  log.retention.hour: 3\n", "t.yaml:2: "
	    "broker.log.retention.hour: unknown key (did you mean "
	    "log.retention.hours?)\n");
	check_mem("node:\n  nonsense: true\n", "t.yaml:2: node.nonsense: "
	    "unknown key\n");
	check_mem("node:\n  data-dir: /x\n", "t.yaml:2: node.data-dir: "
	    "unknown key (did you mean data_dir?)\n");
	check_mem("node:\n  \"a\\tb\": 1\n", "t.yaml:2: node.a?b: unknown "
	    "key\n");
}

/* Every error in a file is reported, in order, one per line. */
static void
test_many_errors(void **state)
{
	(void)state;
	check_mem("broker:\n"
	    "  num.partitions: 1\n"
	    "  socket.request.max.bytes: lots\n"
	    "node:\n"
	    "  nonsense: true\n"
	    "  id: 1\n"
	    "  log_level: loud\n"
	    "bogus: {}\n"
	    "broker:\n"
	    "  num.partitions: 0\n",
	    "t.yaml:3: broker.socket.request.max.bytes: expected an integer "
	    "(got lots)\n"
	    "t.yaml:5: node.nonsense: unknown key\n"
	    "t.yaml:7: node.log_level: must be one of error|warn|info|debug "
	    "(got loud)\n"
	    "t.yaml:8: bogus: unknown section (expected node, cluster, "
	    "broker, connect, streams or metrics)\n"
	    "t.yaml:10: broker.num.partitions: duplicate key (first set on "
	    "line 2)\n");
}

/* A flood of errors stops after a bound, saying so. */
static void
test_too_many_errors(void **state)
{
	size_t cap = 300 * 16 + 16, len = 0, lines = 0;
	struct mo_config *c;
	char *buf, *e;

	(void)state;
	buf = malloc(cap);
	assert_non_null(buf);
	len += (size_t)snprintf(buf + len, cap - len, "node:\n");
	for (int i = 0; i < 300; i++)
		len += (size_t)snprintf(buf + len, cap - len, "  k%d: 1\n", i);
	assert_int_equal(config_load_mem("t.yaml", buf, len, &c, &e), -1);
	for (const char *p = e; *p != '\0'; p++)
		lines += *p == '\n';
	assert_int_equal(lines, 101);
	assert_non_null(strstr(e, "t.yaml: too many errors, giving up\n"));
	free(e);
	free(buf);
}

static void
test_syntax_errors(void **state)
{
	(void)state;
	check_mem("broker:\n  num.partitions: [1\n", "t.yaml:3: YAML syntax "
	    "error, column 1: did not find expected ',' or ']' (while "
	    "parsing a flow sequence on line 2)\n");
	check_mem("node:\n  id: 1\n id: 2\n", "t.yaml:3: YAML syntax error, "
	    "column 2: did not find expected key (while parsing a block "
	    "mapping on line 1)\n");
	check_mem("node: {id: *x}\n", "t.yaml:1: YAML syntax error, column "
	    "12: found undefined alias\n");
	check_mem("node:\n  id: 1\n\xff\n", "t.yaml:3: invalid input at byte "
	    "14: invalid leading UTF-8 octet\n");
}

static void
test_missing_file(void **state)
{
	struct mo_config *c;
	char *e;

	(void)state;
	assert_int_equal(config_load("/nonexistent/moldau.yaml", NULL, 0, &c,
	    &e), -1);
	assert_null(c);
	assert_string_equal(e, "cannot open /nonexistent/moldau.yaml: No "
	    "such file or directory\n");
	free(e);
}

/* --set applies after the file, in order; lists take commas. */
static void
test_set_overrides(void **state)
{
	const char *path = tmpfile_with("broker:\n  num.partitions: 2\n"
	    "  listeners: [PLAINTEXT://a:1]\n");
	const char *const sets[] = {
		"broker.num.partitions=3",
		"broker.num.partitions=4",
		"broker.listeners=PLAINTEXT://b:1, PLAINTEXT://c:2",
		"node.roles=broker",
		"broker.advertised.listeners=",
		"cluster.id=",
		"broker.auto.create.topics.enable=false",
		"broker.log.flush.interval.messages=9223372036854775807",
		"node.data_dir=/a=b",
	};
	struct mo_config *c;
	char *e;

	(void)state;
	if (load_sets(path, sets, sizeof(sets) / sizeof(sets[0]), &c,
	    &e) != 0)
		fail_msg("%s", e);
	unlink(path);
	assert_int_equal(c->num_partitions, 4);
	expect_list(&c->listeners, 2, "PLAINTEXT://b:1", "PLAINTEXT://c:2");
	expect_list(&c->roles, 1, "broker");
	expect_list(&c->advertised_listeners, 0);
	assert_string_equal(c->cluster_id, "");
	assert_false(c->auto_create_topics_enable);
	assert_true(c->log_flush_interval_messages == INT64_MAX);
	assert_string_equal(c->data_dir, "/a=b");
	config_free(c);
}

static const struct case_ set_cases[] = {
	{ "broker.num.partitions=0", "--set broker.num.partitions=0: must be "
	    "1..100000\n" },
	{ "broker.num.partitions=abc", "--set broker.num.partitions=abc: "
	    "expected an integer\n" },
	{ "broker.num.partitions=", "--set broker.num.partitions=: expected "
	    "an integer\n" },
	{ "broker.num.partitions", "--set broker.num.partitions: expected "
	    "section.key=value\n" },
	{ "broker.no.such.key=1", "--set broker.no.such.key=1: unknown "
	    "key\n" },
	{ "broker.num.partitons=1", "--set broker.num.partitons=1: unknown "
	    "key (did you mean broker.num.partitions?)\n" },
	{ "brokr.num.partitions=1", "--set brokr.num.partitions=1: unknown "
	    "key (did you mean broker.num.partitions?)\n" },
	{ "broker=1", "--set broker=1: unknown key\n" },
	{ "=1", "--set =1: unknown key\n" },
	{ "broker.delete.topic.enable=yes", "--set "
	    "broker.delete.topic.enable=yes: expected true or false\n" },
	{ "node.roles=broker,,controller", "--set "
	    "node.roles=broker,,controller: empty list element\n" },
	{ "node.roles=broker,x", "--set node.roles=broker,x: must be one of "
	    "controller|broker|connect|streams\n" },
	{ "broker.listeners=", "--set broker.listeners=: must have at least "
	    "1 element\n" },
	{ "node.data_dir=", "--set node.data_dir=: must not be empty\n" },
	{ "node.log_level=loud", "--set node.log_level=loud: must be one of "
	    "error|warn|info|debug\n" },
};

static void
test_set_errors(void **state)
{
	const char *const two[] = { "node.id=-5", "broker.num.partitions=1",
	    "broker.nope=1" };

	(void)state;
	for (size_t i = 0; i < sizeof(set_cases) / sizeof(set_cases[0]); i++)
		check_sets(&set_cases[i].yaml, 1, set_cases[i].errs);
	check_sets(two, 3, "--set node.id=-5: must be 0..2147483647\n"
	    "--set broker.nope=1: unknown key\n");
}

/* File errors and --set errors are reported together. */
static void
test_file_and_set_errors(void **state)
{
	const char *path = tmpfile_with("node:\n  id: x\n");
	const char *const sets[] = { "node.id=2", "node.idd=2" };
	struct mo_config *c;
	char want[256], *e;

	(void)state;
	assert_int_equal(load_sets(path, sets, 2, &c, &e), -1);
	snprintf(want, sizeof(want), "%s:2: node.id: expected an integer "
	    "(got x)\n--set node.idd=2: unknown key (did you mean "
	    "node.id?)\n", path);
	unlink(path);
	assert_string_equal(e, want);
	free(e);
}

static char *
write_text(const struct mo_config *c)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	assert_non_null(f);
	assert_int_equal(config_write(c, f), 0);
	assert_int_equal(fclose(f), 0);
	return buf;
}

/* config_write's YAML loads back to the same config, quoting included. */
static void
test_write_roundtrip(void **state)
{
	static const char odd[] = "node:\n  data_dir: \"/a b/\\\"q\\\\\\t\"\n";
	struct mo_config *c, *d;
	char *a, *b, *e;

	(void)state;
	assert_int_equal(config_load_mem("full", full_yaml,
	    sizeof(full_yaml) - 1, &c, &e), 0);
	a = write_text(c);
	assert_int_equal(config_load_mem("w", a, strlen(a), &d, &e), 0);
	b = write_text(d);
	assert_string_equal(a, b);
	assert_int_equal(d->node_id, 7);
	config_free(c);
	config_free(d);
	free(a);
	free(b);
	assert_int_equal(config_load_mem("odd", odd, sizeof(odd) - 1, &c,
	    &e), 0);
	assert_string_equal(c->data_dir, "/a b/\"q\\\t");
	a = write_text(c);
	assert_int_equal(config_load_mem("w", a, strlen(a), &d, &e), 0);
	assert_string_equal(d->data_dir, c->data_dir);
	config_free(c);
	config_free(d);
	free(a);
}

static void
put_file(const char *dir, const char *name, const char *text)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	assert_non_null(f = fopen(path, "w"));
	fputs(text, f);
	assert_int_equal(fclose(f), 0);
}

/* A main file, then conf.d/NAME.yaml in name order, then --set. */
static void
test_tree(void **state)
{
	char dir[] = "/tmp/moldau-cfgtree-XXXXXX", sub[4200], main[4200];
	char *sets[] = { (char *)(uintptr_t)"broker.num.partitions=9" };
	struct mo_config *c;
	char *e;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(sub, sizeof(sub), "%s/conf.d", dir);
	snprintf(main, sizeof(main), "%s/moldau.yaml", dir);
	put_file(dir, "moldau.yaml", "node: { id: 3, log_level: warn }\n"
	    "broker: { num.partitions: 2 }\n");
	/* no conf.d: the main file alone */
	assert_int_equal(config_load_tree(main, NULL, 0, &c, &e), 0);
	assert_int_equal(c->node_id, 3);
	config_free(c);
	assert_int_equal(mkdir(sub, 0755), 0);
	put_file(sub, "20-b.yaml", "node:\n  id: 5\n");
	put_file(sub, "10-a.yaml", "node:\n  id: 4\n  log_level: debug\n");
	put_file(sub, "notes.txt", "not: yaml: at all\n");
	assert_int_equal(config_load_tree(main, sets, 1, &c, &e), 0);
	assert_int_equal(c->node_id, 5);
	assert_string_equal(c->log_level, "debug");
	assert_int_equal(c->num_partitions, 9);
	config_free(c);
	/* errors name the drop-in file and its line */
	put_file(sub, "30-bad.yaml", "node:\n  id: 1\n  idd: 2\n");
	assert_int_equal(config_load_tree(main, NULL, 0, &c, &e), -1);
	assert_null(c);
	assert_non_null(strstr(e, "conf.d/30-bad.yaml:3: node.idd: unknown "
	    "key"));
	free(e);
	snprintf(sub, sizeof(sub), "rm -rf '%s'", dir);
	assert_int_equal(system(sub), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_shipped_file),
		cmocka_unit_test(test_write_roundtrip),
		cmocka_unit_test(test_tree),
		cmocka_unit_test(test_full_file),
		cmocka_unit_test(test_type_errors),
		cmocka_unit_test(test_unknown_keys),
		cmocka_unit_test(test_many_errors),
		cmocka_unit_test(test_too_many_errors),
		cmocka_unit_test(test_syntax_errors),
		cmocka_unit_test(test_missing_file),
		cmocka_unit_test(test_set_overrides),
		cmocka_unit_test(test_set_errors),
		cmocka_unit_test(test_file_and_set_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
