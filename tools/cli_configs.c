/*
 * kafka-configs: --describe and --alter (--add-config, --delete-config) of
 * topic and broker configs, and of users' SCRAM credentials.
 * librdkafka 2.0 has only the non-incremental AlterConfigs, so --alter
 * reads the dynamic configs, edits them and writes the whole set back.
 * It has no API for SCRAM credentials at all: users go over a connection
 * of our own (cli_raw.c).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "cli.h"
#include "kerr.h"
#include "kproto.h"
#include "kproto_gen.h"
#include "xmalloc.h"

#define TOOL		"kafka-configs"
#define MAX_ITEMS	128

static const char help[] =
    "Usage: kafka-configs.sh --bootstrap-server HOST:PORT --entity-type "
    "topics|brokers|users\n"
    "         --entity-name NAME --describe [--all] | --alter "
    "[--add-config K=V,...] [--delete-config K,...]\n"
    "Describe or change topic and broker configs and users' SCRAM "
    "credentials.\n\n"
    "  --bootstrap-server HOST:PORT  broker (default localhost:9092)\n"
    "  --entity-type TYPE        topics, brokers or users\n"
    "  --entity-name NAME        topic name, broker id or user name\n"
    "  --topic NAME              same as --entity-type topics "
    "--entity-name NAME\n"
    "  --broker ID               same as --entity-type brokers "
    "--entity-name ID\n"
    "  --user NAME               same as --entity-type users "
    "--entity-name NAME\n"
    "  --entity-default          the cluster-wide broker default\n"
    "  --describe                print the configs (dynamic ones, or "
    "--all)\n"
    "  --all                     with --describe: every config\n"
    "  --alter                   change configs\n"
    "  --add-config K=V,K=[A,B]  configs to set\n"
    "  --delete-config K,K       configs to remove (back to default)\n"
    "  --command-config FILE     client properties: security.protocol,\n"
    "                            sasl.mechanism, sasl.jaas.config (PLAIN, "
    "SCRAM)\n"
    "  --help                    print this help\n\n"
    "Users' SCRAM credentials (MECH: SCRAM-SHA-256 or SCRAM-SHA-512):\n"
    "  --alter --add-config 'MECH=[iterations=N,password=P],...'\n"
    "                            set (N: 4096 if not given)\n"
    "  --alter --delete-config MECH,...  remove\n"
    "  --describe [--entity-name NAME]   one user, or all users with "
    "credentials\n"
    "With --command-config, users go over SSL and SASL (PLAIN, "
    "SCRAM-SHA-256,\nSCRAM-SHA-512) too; TLS takes ssl.ca.location, "
    "ssl.certificate.location\nand ssl.key.location (PEM files).\n";

enum {
	O_BOOTSTRAP = 256, O_TYPE, O_NAME, O_TOPIC, O_BROKER, O_USER,
	O_DEFAULT, O_DESCRIBE, O_ALTER, O_ALL, O_ADD, O_DELETE, O_CONFIG,
	O_HELP
};

static const struct option longopts[] = {
	{ "bootstrap-server", required_argument, NULL, O_BOOTSTRAP },
	{ "entity-type", required_argument, NULL, O_TYPE },
	{ "entity-name", required_argument, NULL, O_NAME },
	{ "topic", required_argument, NULL, O_TOPIC },
	{ "broker", required_argument, NULL, O_BROKER },
	{ "user", required_argument, NULL, O_USER },
	{ "entity-default", no_argument, NULL, O_DEFAULT },
	{ "describe", no_argument, NULL, O_DESCRIBE },
	{ "alter", no_argument, NULL, O_ALTER },
	{ "all", no_argument, NULL, O_ALL },
	{ "add-config", required_argument, NULL, O_ADD },
	{ "delete-config", required_argument, NULL, O_DELETE },
	{ "command-config", required_argument, NULL, O_CONFIG },
	{ "help", no_argument, NULL, O_HELP },
	{ NULL, 0, NULL, 0 }
};

struct kv {
	char	*key, *val;	/* val NULL: delete */
};

struct copts {
	const char	*bootstrap, *type, *name, *config;
	rd_kafka_conf_t	*conf;			/* of --command-config */
	struct cli_sec	 sec;
	bool		 describe, alter, all;
	struct {
		const char	*arg;
		bool		 del;
	}		 args[MAX_ITEMS];	/* as given, parsed by type */
	size_t		 nargs;
	struct kv	 items[MAX_ITEMS];	/* topics, brokers */
	size_t		 nitems;
	struct scram_edit scram;		/* users */
};

/* Split "k=v,k=[a,b]" at the commas outside brackets. */
static int
add_items(struct copts *o, const char *arg, bool del)
{
	const char *p = arg;

	while (*p != '\0') {
		const char *end = p;
		int depth = 0;
		char *item, *eq;

		for (; *end != '\0' && (*end != ',' || depth > 0); end++)
			depth += *end == '[' ? 1 : *end == ']' ? -1 : 0;
		if (o->nitems == MAX_ITEMS)
			return cli_usage_err(TOOL, "too many configs");
		item = strndup(p, (size_t)(end - p));
		eq = strchr(item, '=');
		if (del ? eq != NULL : eq == NULL || eq == item) {
			free(item);
			return cli_usage_err(TOOL, "%s wants %s (got '%s')",
			    del ? "--delete-config" : "--add-config",
			    del ? "K,K" : "K=V,K=V", arg);
		}
		o->items[o->nitems].key = item;
		o->items[o->nitems].val = NULL;
		if (eq != NULL) {
			size_t vl;
			*eq++ = '\0';
			vl = strlen(eq);
			if (vl >= 2 && eq[0] == '[' && eq[vl - 1] == ']') {
				eq[vl - 1] = '\0';
				eq++;
			}
			o->items[o->nitems].val = eq;
		}
		o->nitems++;
		p = *end == ',' ? end + 1 : end;
	}
	return CLI_OK;
}

static int
parse_one(void *arg, int c)
{
	struct copts *o = arg;

	switch (c) {
	case O_BOOTSTRAP:
		o->bootstrap = optarg;
		break;
	case O_TYPE:
		o->type = optarg;
		break;
	case O_NAME:
		o->name = optarg;
		break;
	case O_TOPIC:
	case O_BROKER:
	case O_USER:
		o->type = c == O_TOPIC ? "topics" : c == O_BROKER ? "brokers" :
		    "users";
		o->name = optarg;
		break;
	case O_DEFAULT:
		o->name = "";
		break;
	case O_DESCRIBE:
		o->describe = true;
		break;
	case O_ALTER:
		o->alter = true;
		break;
	case O_ALL:
		o->all = true;
		break;
	case O_CONFIG:
		o->config = optarg;
		break;
	case O_ADD:
	case O_DELETE:
		if (o->nargs == MAX_ITEMS)
			return cli_usage_err(TOOL, "too many --add-config and "
			    "--delete-config options");
		o->args[o->nargs].arg = optarg;
		o->args[o->nargs++].del = c == O_DELETE;
		break;
	default:
		return CLI_USAGE;
	}
	return CLI_OK;
}

static bool
is_users(const struct copts *o)
{
	return strcmp(o->type, "users") == 0;
}

/* The --add-config and --delete-config values of users. */
static int
parse_users(struct copts *o)
{
	char err[512];

	if (o->name != NULL && *o->name == '\0')
		return cli_usage_err(TOOL, "--entity-default is not supported "
		    "for users (SCRAM credentials belong to one user)");
	if (o->all)
		return cli_usage_err(TOOL, "--all is for topics and brokers");
	for (size_t i = 0; i < o->nargs; i++) {
		int rc = o->args[i].del ?
		    scram_parse_delete(&o->scram, o->args[i].arg, err,
		    sizeof(err)) :
		    scram_parse_add(&o->scram, o->args[i].arg, err,
		    sizeof(err));
		if (rc != 0) {
			cli_err(TOOL, "%s", err);
			return CLI_FAIL;
		}
	}
	return CLI_OK;
}

static int
parse(struct copts *o, int argc, char **argv)
{
	int rc;

	if ((rc = cli_getopts(TOOL, argc, argv, longopts, O_HELP, parse_one,
	    o)) != CLI_OK)
		return rc;
	if (o->describe == o->alter)
		return cli_usage_err(TOOL, "exactly one of --describe, --alter "
		    "is required");
	if (o->type == NULL)
		return cli_usage_err(TOOL, "--entity-type is required");
	if (strcmp(o->type, "topics") != 0 &&
	    strcmp(o->type, "brokers") != 0 && !is_users(o))
		return cli_usage_err(TOOL, "--entity-type must be topics, "
		    "brokers or users (got '%s')", o->type);
	if (o->alter && o->name == NULL)
		return cli_usage_err(TOOL, "--alter needs --entity-name");
	if (o->alter && o->nargs == 0)
		return cli_usage_err(TOOL, "--alter needs --add-config or "
		    "--delete-config");
	if (o->describe && o->nargs > 0)
		return cli_usage_err(TOOL, "--add-config and --delete-config "
		    "need --alter");
	if (is_users(o))
		return parse_users(o);
	for (size_t i = 0; i < o->nargs && rc == CLI_OK; i++)
		rc = add_items(o, o->args[i].arg, o->args[i].del);
	return rc;
}

static bool
is_dynamic(const rd_kafka_ConfigEntry_t *e)
{
	rd_kafka_ConfigSource_t s = rd_kafka_ConfigEntry_source(e);

	return s == RD_KAFKA_CONFIG_SOURCE_DYNAMIC_TOPIC_CONFIG ||
	    s == RD_KAFKA_CONFIG_SOURCE_DYNAMIC_BROKER_CONFIG ||
	    s == RD_KAFKA_CONFIG_SOURCE_DYNAMIC_DEFAULT_BROKER_CONFIG;
}

static const char *
nz(const char *s)
{
	return s != NULL ? s : "null";
}

static void
print_entry(const rd_kafka_ConfigEntry_t *e)
{
	const rd_kafka_ConfigEntry_t **syn;
	bool sens = rd_kafka_ConfigEntry_is_sensitive(e);
	size_t n;

	printf("  %s=%s sensitive=%s synonyms={", rd_kafka_ConfigEntry_name(e),
	    sens ? "null" : nz(rd_kafka_ConfigEntry_value(e)),
	    sens ? "true" : "false");
	syn = rd_kafka_ConfigEntry_synonyms(e, &n);
	for (size_t i = 0; i < n; i++)
		printf("%s%s:%s=%s", i > 0 ? ", " : "",
		    rd_kafka_ConfigSource_name(
		    rd_kafka_ConfigEntry_source(syn[i])),
		    rd_kafka_ConfigEntry_name(syn[i]),
		    sens ? "null" : nz(rd_kafka_ConfigEntry_value(syn[i])));
	printf("}\n");
}

static rd_kafka_ResourceType_t
res_type(const struct copts *o)
{
	return strcmp(o->type, "topics") == 0 ? RD_KAFKA_RESOURCE_TOPIC :
	    RD_KAFKA_RESOURCE_BROKER;
}

static const char *
entity_label(const struct copts *o, const char *name)
{
	static char buf[300];

	if (res_type(o) == RD_KAFKA_RESOURCE_TOPIC)
		snprintf(buf, sizeof(buf), "topic %s", name);
	else if (*name == '\0')
		snprintf(buf, sizeof(buf), "the default broker");
	else
		snprintf(buf, sizeof(buf), "broker %s", name);
	return buf;
}

static int
describe_one(struct cli *c, const struct copts *o, const char *name)
{
	const rd_kafka_ConfigResource_t *res;
	const rd_kafka_ConfigEntry_t **e;
	rd_kafka_event_t *ev;
	size_t n;

	ev = cli_describe_configs(c, res_type(o), name, &res);
	if (ev == NULL)
		return CLI_FAIL;
	printf("%s configs for %s are:\n", o->all ? "All" : "Dynamic",
	    entity_label(o, name));
	e = rd_kafka_ConfigResource_configs(res, &n);
	for (size_t i = 0; i < n; i++)
		if (o->all || is_dynamic(e[i]))
			print_entry(e[i]);
	rd_kafka_event_destroy(ev);
	return CLI_OK;
}

static int
describe_all_topics(struct cli *c, const struct copts *o)
{
	const rd_kafka_metadata_t *md = cli_metadata(c, NULL);
	int rc = CLI_OK;

	if (md == NULL)
		return CLI_FAIL;
	for (int i = 0; i < md->topic_cnt && rc == CLI_OK; i++)
		rc = describe_one(c, o, md->topics[i].topic);
	rd_kafka_metadata_destroy(md);
	return rc;
}

static const struct kv *
find_item(const struct copts *o, const char *key)
{
	for (size_t i = 0; i < o->nitems; i++)
		if (strcmp(o->items[i].key, key) == 0)
			return &o->items[i];
	return NULL;
}

/* The new full set of dynamic configs: current ones edited by items. */
static int
build_alter(const struct copts *o, const rd_kafka_ConfigResource_t *cur,
    rd_kafka_ConfigResource_t *res)
{
	const rd_kafka_ConfigEntry_t **e;
	size_t n;

	e = rd_kafka_ConfigResource_configs(cur, &n);
	for (size_t i = 0; i < o->nitems; i++) {
		bool known = false;
		for (size_t j = 0; j < n; j++)
			known |= strcmp(rd_kafka_ConfigEntry_name(e[j]),
			    o->items[i].key) == 0;
		if (!known) {
			cli_err(TOOL, "invalid config: %s is not a %s config",
			    o->items[i].key, res_type(o) ==
			    RD_KAFKA_RESOURCE_TOPIC ? "topic" : "broker");
			return -1;
		}
	}
	for (size_t j = 0; j < n; j++) {
		const char *name = rd_kafka_ConfigEntry_name(e[j]);
		if (is_dynamic(e[j]) && find_item(o, name) == NULL)
			rd_kafka_ConfigResource_set_config(res, name,
			    rd_kafka_ConfigEntry_value(e[j]));
	}
	for (size_t i = 0; i < o->nitems; i++)
		if (o->items[i].val != NULL)
			rd_kafka_ConfigResource_set_config(res,
			    o->items[i].key, o->items[i].val);
	return 0;
}

static int
alter_result(struct cli *c, const struct copts *o)
{
	const rd_kafka_ConfigResource_t **rs;
	rd_kafka_event_t *ev;
	size_t n;
	int rc = CLI_OK;

	if ((ev = cli_wait(c, RD_KAFKA_EVENT_ALTERCONFIGS_RESULT)) == NULL)
		return CLI_FAIL;
	rs = rd_kafka_AlterConfigs_result_resources(
	    rd_kafka_event_AlterConfigs_result(ev), &n);
	for (size_t i = 0; i < n; i++) {
		if (rd_kafka_ConfigResource_error(rs[i]) == 0)
			continue;
		cli_err(TOOL, "%s", rd_kafka_ConfigResource_error_string(rs[i]));
		rc = CLI_FAIL;
	}
	if (rc == CLI_OK)
		printf("Completed updating config for %s.\n",
		    entity_label(o, o->name));
	rd_kafka_event_destroy(ev);
	return rc;
}

static int
alter(struct cli *c, const struct copts *o)
{
	const rd_kafka_ConfigResource_t *cur;
	rd_kafka_ConfigResource_t *res;
	rd_kafka_AdminOptions_t *ao;
	rd_kafka_event_t *ev;

	ev = cli_describe_configs(c, res_type(o), o->name, &cur);
	if (ev == NULL)
		return CLI_FAIL;
	res = rd_kafka_ConfigResource_new(res_type(o), o->name);
	if (build_alter(o, cur, res) != 0) {
		rd_kafka_ConfigResource_destroy(res);
		rd_kafka_event_destroy(ev);
		return CLI_FAIL;
	}
	rd_kafka_event_destroy(ev);
	ao = cli_admin_options(c, RD_KAFKA_ADMIN_OP_ALTERCONFIGS);
	rd_kafka_AlterConfigs(c->rk, &res, 1, ao, c->q);
	rd_kafka_AdminOptions_destroy(ao);
	rd_kafka_ConfigResource_destroy(res);
	return alter_result(c, o);
}

/* ---- users: SCRAM credentials (KIP-554) ----
 *
 * DescribeUserScramCredentials and AlterUserScramCredentials v0 over a
 * connection of our own to the bootstrap server, secured as
 * --command-config says (cli_raw_open).
 */

#define USERS_VERSION	0

/* One request on its own connection; -1 after an error line. */
static int
users_rpc(const struct copts *o, int16_t key, const void *req, void *resp,
    struct kp_arena *a, uint8_t **buf)
{
	const char *bs = o->bootstrap != NULL ? o->bootstrap :
	    CLI_DEFAULT_BOOTSTRAP;
	struct cli_raw *raw;
	int rc;

	*buf = NULL;
	if ((raw = cli_raw_open(TOOL, bs, &o->sec)) == NULL)
		return -1;
	rc = cli_raw_rpc(raw, key, USERS_VERSION, req, resp, a, buf);
	cli_raw_close(raw);
	if (rc != 0)
		cli_err(TOOL, "%s from %s (%s)", *buf == NULL ? "no answer" :
		    "malformed response", bs, kp_msg_get(key)->name);
	return rc;
}

/* "WHO: CODE_NAME[: message]" on stderr. */
static void
users_err(const char *who, int16_t code, struct kstr msg)
{
	if (msg.len > 0)
		cli_err(TOOL, "%s: %s: %.*s", who, kerr_name(code),
		    (int)msg.len, msg.p);
	else
		cli_err(TOOL, "%s: %s", who, kerr_name(code));
}

static void
users_user_err(struct kstr user, int16_t code, struct kstr msg)
{
	char who[300];

	snprintf(who, sizeof(who), "user '%.*s'", user.len > 0 ?
	    (int)user.len : 0, user.len > 0 ? user.p : "");
	users_err(who, code, msg);
}

/* Kafka's line of a user's credentials. */
static void
users_print_one(struct kstr user,
    const struct kp_describe_user_scram_credentials_response_credential_info
    *ci, int32_t n)
{
	printf("SCRAM credential configs for user-principal '%.*s' are ",
	    user.len > 0 ? (int)user.len : 0, user.len > 0 ? user.p : "");
	for (int32_t k = 0; k < n; k++)
		printf("%s%s=iterations=%" PRId32, k > 0 ? ", " : "",
		    scram_mech_name(ci[k].mechanism), ci[k].iterations);
	putchar('\n');
}

/* A line per user, an error line per user's error (then CLI_FAIL). */
static int
users_print(const struct kp_describe_user_scram_credentials_response *p)
{
	int rc = CLI_OK;

	for (int32_t i = 0; i < p->results.n; i++) {
		if (p->results.v[i].error_code != 0) {
			users_user_err(p->results.v[i].user,
			    p->results.v[i].error_code,
			    p->results.v[i].error_message);
			rc = CLI_FAIL;
		} else {
			users_print_one(p->results.v[i].user,
			    p->results.v[i].credential_infos.v,
			    p->results.v[i].credential_infos.n);
		}
	}
	return rc;
}

static int
users_describe(const struct copts *o)
{
	struct kp_describe_user_scram_credentials_request q;
	struct kp_describe_user_scram_credentials_response p;
	struct kp_arena a = { NULL };
	uint8_t *buf;
	int rc;

	kp_init(&kp_describe_user_scram_credentials_request_desc, &q);
	q.users.n = -1;		/* all users */
	if (o->name != NULL) {
		q.users.v = xcalloc(1, sizeof(*q.users.v));
		q.users.v[0].name = kstr_c(o->name);
		q.users.n = 1;
	}
	if (users_rpc(o, KP_API_DESCRIBE_USER_SCRAM_CREDENTIALS, &q, &p, &a,
	    &buf) != 0) {
		rc = CLI_FAIL;
	} else if (p.error_code != 0) {
		users_err("DescribeUserScramCredentials", p.error_code,
		    p.error_message);
		rc = CLI_FAIL;
	} else {
		rc = users_print(&p);
	}
	kp_arena_clear(&a);
	free(buf);
	free(q.users.v);
	return rc;
}

static int
users_alter(const struct copts *o)
{
	const struct scram_edit *e = &o->scram;
	struct kp_alter_user_scram_credentials_request q;
	struct kp_alter_user_scram_credentials_response p;
	uint8_t salt[SCRAM_NMECH][SCRAM_SALT_LEN];
	uint8_t salted[SCRAM_NMECH][SCRAM_MAX_DIGEST];
	struct kp_arena a = { NULL };
	uint8_t *buf = NULL;
	int rc = CLI_OK;

	/* every field of the elements is set: no kp_init needed */
	kp_init(&kp_alter_user_scram_credentials_request_desc, &q);
	q.deletions.v = xcalloc(SCRAM_NMECH, sizeof(*q.deletions.v));
	q.upsertions.v = xcalloc(SCRAM_NMECH, sizeof(*q.upsertions.v));
	for (size_t i = 0; i < e->ndel; i++) {
		q.deletions.v[i].name = kstr_c(o->name);
		q.deletions.v[i].mechanism = e->del[i];
	}
	q.deletions.n = (int32_t)e->ndel;
	for (size_t i = 0; i < e->nadd; i++) {
		size_t n = 0;

		if (scram_cred_make(&e->add[i], salt[i], salted[i], &n) !=
		    0) {
			cli_err(TOOL, "cannot make the %s credential",
			    scram_mech_name(e->add[i].mech));
			rc = CLI_FAIL;
			goto out;
		}
		q.upsertions.v[i].name = kstr_c(o->name);
		q.upsertions.v[i].mechanism = e->add[i].mech;
		q.upsertions.v[i].iterations = e->add[i].iterations;
		q.upsertions.v[i].salt.p = salt[i];
		q.upsertions.v[i].salt.len = SCRAM_SALT_LEN;
		q.upsertions.v[i].salted_password.p = salted[i];
		q.upsertions.v[i].salted_password.len = (int32_t)n;
	}
	q.upsertions.n = (int32_t)e->nadd;
	if (users_rpc(o, KP_API_ALTER_USER_SCRAM_CREDENTIALS, &q, &p, &a,
	    &buf) != 0) {
		rc = CLI_FAIL;
		goto out;
	}
	for (int32_t i = 0; i < p.results.n; i++) {
		if (p.results.v[i].error_code == 0)
			continue;
		users_user_err(p.results.v[i].user, p.results.v[i].error_code,
		    p.results.v[i].error_message);
		rc = CLI_FAIL;
	}
	if (rc == CLI_OK)
		printf("Completed updating config for user %s.\n", o->name);
out:
	OPENSSL_cleanse(salted, sizeof(salted));
	kp_arena_clear(&a);
	free(buf);
	free(q.deletions.v);
	free(q.upsertions.v);
	return rc;
}

/* Topics and brokers: librdkafka's admin API. */
static int
configs_rk(struct copts *o)
{
	struct cli c;
	int rc;

	/* cli_open takes o->conf, whatever it returns */
	rc = cli_open(&c, TOOL, o->bootstrap, RD_KAFKA_PRODUCER, o->conf);
	o->conf = NULL;
	if (rc != 0)
		return CLI_FAIL;
	if (o->alter)
		rc = alter(&c, o);
	else if (o->name == NULL && res_type(o) == RD_KAFKA_RESOURCE_TOPIC)
		rc = describe_all_topics(&c, o);
	else
		rc = describe_one(&c, o, o->name != NULL ? o->name : "");
	cli_close(&c);
	return rc;
}

int
tool_configs(int argc, char **argv)
{
	struct copts o;
	int rc;

	memset(&o, 0, sizeof(o));
	rc = parse(&o, argc, argv);
	if (rc == CLI_OK && o.config != NULL) {
		o.conf = rd_kafka_conf_new();
		if (cli_sec_load(TOOL, o.config, o.conf, &o.sec) != 0)
			rc = CLI_FAIL;
	}
	if (rc == CLI_OK && is_users(&o))
		rc = o.alter ? users_alter(&o) : users_describe(&o);
	else if (rc == CLI_OK)
		rc = configs_rk(&o);
	if (o.conf != NULL)
		rd_kafka_conf_destroy(o.conf);
	cli_sec_clear(&o.sec);
	for (size_t i = 0; i < o.nitems; i++)
		free(o.items[i].key);
	scram_edit_clear(&o.scram);
	return rc == -1 ? cli_help(help) : rc;
}
