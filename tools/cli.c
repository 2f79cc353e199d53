/*
 * moldau CLI: client setup on librdkafka, waiting for admin results with a
 * deadline, and one-line error reporting.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"

static void vmsg(const char *, const char *, va_list)
    __attribute__((format(printf, 2, 0)));

static void
vmsg(const char *tool, const char *fmt, va_list ap)
{
	fprintf(stderr, "%s: ", tool);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
}

void
cli_err(const char *tool, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vmsg(tool, fmt, ap);
	va_end(ap);
}

int
cli_usage_err(const char *tool, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fprintf(stderr, "%s: ", tool);
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, " (see --help)\n");
	va_end(ap);
	return CLI_USAGE;
}

int
cli_help(const char *text)
{
	fputs(text, stdout);
	return CLI_OK;
}

int
cli_bad_option(const char *tool, int argc, char **argv, int c)
{
	const char *arg = optind > 0 && optind <= argc ? argv[optind - 1] :
	    "?";

	if (c == ':')
		return cli_usage_err(tool, "option %s needs a value", arg);
	if (optopt != 0)
		return cli_usage_err(tool, "unknown option -%c", optopt);
	return cli_usage_err(tool, "unknown option %s", arg);
}

int
cli_getopts(const char *tool, int argc, char **argv,
    const struct option *longopts, int help, int (*one)(void *, int),
    void *arg)
{
	int c, rc;

	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":", longopts, NULL)) != -1) {
		if (c == help)
			return -1;
		if (c == '?' || c == ':')
			return cli_bad_option(tool, argc, argv, c);
		if ((rc = one(arg, c)) != CLI_OK)
			return rc;
	}
	if (optind < argc)
		return cli_usage_err(tool, "unexpected argument '%s'",
		    argv[optind]);
	return CLI_OK;
}

bool
cli_parse_i64(const char *s, int64_t *v)
{
	char *end;
	long long x;

	errno = 0;
	x = strtoll(s, &end, 10);
	if (end == s || *end != '\0' || errno != 0)
		return false;
	*v = x;
	return true;
}

bool
cli_parse_i32(const char *s, int32_t *v)
{
	int64_t x;

	if (!cli_parse_i64(s, &x) || x < INT32_MIN || x > INT32_MAX)
		return false;
	*v = (int32_t)x;
	return true;
}

static void
log_cb(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
	(void)rk;
	(void)level;
	(void)fac;
	(void)buf;
}

static void
error_cb(rd_kafka_t *rk, int err, const char *reason, void *opaque)
{
	struct cli *c = opaque;

	(void)rk;
	if (err == RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN ||
	    err == RD_KAFKA_RESP_ERR__RESOLVE) {
		c->down = true;
		if (c->errstr[0] == '\0')
			snprintf(c->errstr, sizeof(c->errstr), "%s", reason);
	} else if (err == RD_KAFKA_RESP_ERR__TRANSPORT) {
		snprintf(c->errstr, sizeof(c->errstr), "%s", reason);
	}
}

bool
cli_conf_set(struct cli *c, rd_kafka_conf_t *conf, const char *kv)
{
	char key[256], err[256];
	const char *eq = strchr(kv, '=');

	if (eq == NULL || eq == kv || (size_t)(eq - kv) >= sizeof(key)) {
		cli_err(c->tool, "bad property '%s' (want key=value)", kv);
		return false;
	}
	memcpy(key, kv, (size_t)(eq - kv));
	key[eq - kv] = '\0';
	if (rd_kafka_conf_set(conf, key, eq + 1, err, sizeof(err)) !=
	    RD_KAFKA_CONF_OK) {
		cli_err(c->tool, "%s", err);
		return false;
	}
	return true;
}

int
cli_open(struct cli *c, const char *tool, const char *bootstrap,
    rd_kafka_type_t type, rd_kafka_conf_t *extra)
{
	rd_kafka_conf_t *conf = extra != NULL ? extra : rd_kafka_conf_new();
	char err[512];

	memset(c, 0, sizeof(*c));
	c->tool = tool;
	c->bootstrap = bootstrap != NULL ? bootstrap : CLI_DEFAULT_BOOTSTRAP;
	rd_kafka_conf_set_log_cb(conf, log_cb);
	rd_kafka_conf_set_error_cb(conf, error_cb);
	rd_kafka_conf_set_opaque(conf, c);
	if (rd_kafka_conf_set(conf, "bootstrap.servers", c->bootstrap, err,
	    sizeof(err)) != RD_KAFKA_CONF_OK) {
		cli_err(tool, "%s", err);
		rd_kafka_conf_destroy(conf);
		return -1;
	}
	c->rk = rd_kafka_new(type, conf, err, sizeof(err));
	if (c->rk == NULL) {
		cli_err(tool, "%s", err);
		return -1;
	}
	c->q = rd_kafka_queue_new(c->rk);
	return 0;
}

void
cli_close(struct cli *c)
{
	if (c->q != NULL)
		rd_kafka_queue_destroy(c->q);
	if (c->rk != NULL)
		rd_kafka_destroy(c->rk);
	c->q = NULL;
	c->rk = NULL;
	free(c->ids);
	c->ids = NULL;
	c->nids = 0;
}

bool
cli_check_down(struct cli *c)
{
	rd_kafka_poll(c->rk, 0);
	if (!c->down)
		return false;
	cli_err(c->tool, "cannot connect to bootstrap server %s: %s",
	    c->bootstrap, c->errstr);
	return true;
}

static int64_t
mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

rd_kafka_event_t *
cli_wait(struct cli *c, rd_kafka_event_type_t type)
{
	int64_t deadline = mono_ms() + CLI_TIMEOUT_MS + 5000;

	while (mono_ms() < deadline) {
		rd_kafka_event_t *ev = rd_kafka_queue_poll(c->q, 100);

		if (ev != NULL && rd_kafka_event_type(ev) == type) {
			if (rd_kafka_event_error(ev) != 0) {
				cli_err(c->tool, "%s",
				    rd_kafka_event_error_string(ev));
				rd_kafka_event_destroy(ev);
				return NULL;
			}
			return ev;
		}
		if (ev != NULL)
			rd_kafka_event_destroy(ev);
		if (cli_check_down(c))
			return NULL;
	}
	cli_err(c->tool, "timed out waiting for %s", c->bootstrap);
	return NULL;
}

rd_kafka_AdminOptions_t *
cli_admin_options(struct cli *c, rd_kafka_admin_op_t op)
{
	rd_kafka_AdminOptions_t *o = rd_kafka_AdminOptions_new(c->rk, op);
	char err[256];

	rd_kafka_AdminOptions_set_request_timeout(o, CLI_TIMEOUT_MS, err,
	    sizeof(err));
	return o;
}

const rd_kafka_metadata_t *
cli_metadata(struct cli *c, const char *topic)
{
	const rd_kafka_metadata_t *md = NULL;
	rd_kafka_topic_t *rkt = NULL;
	int64_t deadline = mono_ms() + CLI_TIMEOUT_MS;
	rd_kafka_resp_err_t err;

	if (topic != NULL)
		rkt = rd_kafka_topic_new(c->rk, topic, NULL);
	do {
		err = rd_kafka_metadata(c->rk, rkt == NULL, rkt, &md, 500);
		if (err == RD_KAFKA_RESP_ERR_NO_ERROR)
			break;
		if (cli_check_down(c)) {
			err = RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN;
			break;
		}
	} while (err == RD_KAFKA_RESP_ERR__TIMED_OUT &&
	    mono_ms() < deadline);
	if (rkt != NULL)
		rd_kafka_topic_destroy(rkt);
	if (err == RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN)
		return NULL;
	if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
		cli_err(c->tool, "cannot get metadata from %s: %s",
		    c->bootstrap, rd_kafka_err2str(err));
		return NULL;
	}
	return md;
}

const rd_kafka_metadata_topic_t *
cli_md_topic(const rd_kafka_metadata_t *md, const char *name)
{
	for (int i = 0; i < md->topic_cnt; i++)
		if (strcmp(md->topics[i].topic, name) == 0)
			return &md->topics[i];
	return NULL;
}

rd_kafka_event_t *
cli_describe_configs(struct cli *c, rd_kafka_ResourceType_t type,
    const char *name, const rd_kafka_ConfigResource_t **out)
{
	rd_kafka_ConfigResource_t *res = rd_kafka_ConfigResource_new(type,
	    name);
	rd_kafka_AdminOptions_t *o = cli_admin_options(c,
	    RD_KAFKA_ADMIN_OP_DESCRIBECONFIGS);
	const rd_kafka_ConfigResource_t **rs;
	rd_kafka_event_t *ev;
	size_t n;

	rd_kafka_DescribeConfigs(c->rk, &res, 1, o, c->q);
	rd_kafka_AdminOptions_destroy(o);
	rd_kafka_ConfigResource_destroy(res);
	if ((ev = cli_wait(c, RD_KAFKA_EVENT_DESCRIBECONFIGS_RESULT)) == NULL)
		return NULL;
	rs = rd_kafka_DescribeConfigs_result_resources(
	    rd_kafka_event_DescribeConfigs_result(ev), &n);
	if (n != 1 || rd_kafka_ConfigResource_error(rs[0]) != 0) {
		cli_err(c->tool, "%s", n != 1 ? "no configs in the response" :
		    rd_kafka_ConfigResource_error_string(rs[0]));
		rd_kafka_event_destroy(ev);
		return NULL;
	}
	*out = rs[0];
	return ev;
}
