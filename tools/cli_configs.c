/*
 * kafka-configs: --describe and --alter (--add-config, --delete-config) of
 * topic and broker configs.  librdkafka 2.0 has only the non-incremental
 * AlterConfigs, so --alter reads the dynamic configs, edits them and
 * writes the whole set back.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

#define TOOL		"kafka-configs"
#define MAX_ITEMS	128

static const char help[] =
    "Usage: kafka-configs.sh --bootstrap-server HOST:PORT --entity-type "
    "topics|brokers\n"
    "         --entity-name NAME --describe [--all] | --alter "
    "[--add-config K=V,...] [--delete-config K,...]\n"
    "Describe or change topic and broker configs.\n\n"
    "  --bootstrap-server HOST:PORT  broker (default localhost:9092)\n"
    "  --entity-type TYPE        topics or brokers\n"
    "  --entity-name NAME        topic name or broker id\n"
    "  --topic NAME              same as --entity-type topics "
    "--entity-name NAME\n"
    "  --broker ID               same as --entity-type brokers "
    "--entity-name ID\n"
    "  --entity-default          the cluster-wide broker default\n"
    "  --describe                print the configs (dynamic ones, or "
    "--all)\n"
    "  --all                     with --describe: every config\n"
    "  --alter                   change configs\n"
    "  --add-config K=V,K=[A,B]  configs to set\n"
    "  --delete-config K,K       configs to remove (back to default)\n"
    "  --help                    print this help\n";

enum {
	O_BOOTSTRAP = 256, O_TYPE, O_NAME, O_TOPIC, O_BROKER, O_DEFAULT,
	O_DESCRIBE, O_ALTER, O_ALL, O_ADD, O_DELETE, O_HELP
};

static const struct option longopts[] = {
	{ "bootstrap-server", required_argument, NULL, O_BOOTSTRAP },
	{ "entity-type", required_argument, NULL, O_TYPE },
	{ "entity-name", required_argument, NULL, O_NAME },
	{ "topic", required_argument, NULL, O_TOPIC },
	{ "broker", required_argument, NULL, O_BROKER },
	{ "entity-default", no_argument, NULL, O_DEFAULT },
	{ "describe", no_argument, NULL, O_DESCRIBE },
	{ "alter", no_argument, NULL, O_ALTER },
	{ "all", no_argument, NULL, O_ALL },
	{ "add-config", required_argument, NULL, O_ADD },
	{ "delete-config", required_argument, NULL, O_DELETE },
	{ "help", no_argument, NULL, O_HELP },
	{ NULL, 0, NULL, 0 }
};

struct kv {
	char	*key, *val;	/* val NULL: delete */
};

struct copts {
	const char	*bootstrap, *type, *name;
	bool		 describe, alter, all;
	struct kv	 items[MAX_ITEMS];
	size_t		 nitems;
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
		o->type = c == O_TOPIC ? "topics" : "brokers";
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
	case O_ADD:
	case O_DELETE:
		return add_items(o, optarg, c == O_DELETE);
	default:
		return CLI_USAGE;
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
	if (strcmp(o->type, "topics") != 0 && strcmp(o->type, "brokers") != 0)
		return cli_usage_err(TOOL, "--entity-type must be topics or "
		    "brokers (got '%s')", o->type);
	if (o->alter && o->name == NULL)
		return cli_usage_err(TOOL, "--alter needs --entity-name");
	if (o->alter && o->nitems == 0)
		return cli_usage_err(TOOL, "--alter needs --add-config or "
		    "--delete-config");
	if (o->describe && o->nitems > 0)
		return cli_usage_err(TOOL, "--add-config and --delete-config "
		    "need --alter");
	return CLI_OK;
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

int
tool_configs(int argc, char **argv)
{
	struct copts o;
	struct cli c;
	int rc;

	memset(&o, 0, sizeof(o));
	rc = parse(&o, argc, argv);
	if (rc == CLI_OK && cli_open(&c, TOOL, o.bootstrap,
	    RD_KAFKA_PRODUCER, NULL) != 0)
		rc = CLI_FAIL;
	else if (rc == CLI_OK) {
		if (o.alter)
			rc = alter(&c, &o);
		else if (o.name == NULL && res_type(&o) ==
		    RD_KAFKA_RESOURCE_TOPIC)
			rc = describe_all_topics(&c, &o);
		else
			rc = describe_one(&c, &o, o.name != NULL ? o.name :
			    "");
		cli_close(&c);
	}
	for (size_t i = 0; i < o.nitems; i++)
		free(o.items[i].key);
	return rc == -1 ? cli_help(help) : rc;
}
