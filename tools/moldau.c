/*
 * moldau: the admin CLI.  "moldau topic|group|config|produce|consume ..."
 * and the Kafka-named tools ("moldau kafka-topics ...", run by the
 * kafka-*.sh scripts) that the subcommands translate to.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static const struct cli_tool tools[] = {
	{ "kafka-topics", tool_topics },
	{ "kafka-console-producer", tool_console_producer },
	{ "kafka-console-consumer", tool_console_consumer },
	{ "kafka-consumer-groups", tool_consumer_groups },
	{ "kafka-configs", tool_configs },
	{ "kafka-acls", tool_acls },
	{ "kafka-get-offsets", tool_get_offsets },
	{ "kafka-delete-records", tool_delete_records },
	{ "kafka-storage", tool_storage },
	{ "moldau-status", tool_status },
	{ "kafka-metadata-quorum", tool_metadata_quorum },
	{ "moldau-quorum", tool_metadata_quorum },	/* moldau quorum */
};

#define NTOOLS	(sizeof(tools) / sizeof(tools[0]))

/*
 * A subcommand: "moldau NOUN VERB [NAME] args" runs tool with the fixed
 * arguments, then name_opt NAME (when name_opt is set), then args.
 */
struct subcmd {
	const char	*noun, *verb;
	const char	*tool;
	const char	*fixed[4];
	const char	*name_opt;	/* NULL: no name */
	bool		 name_optional;
};

static const struct subcmd subcmds[] = {
	{ "topic", "create", "kafka-topics", { "--create" }, "--topic", 0 },
	{ "topic", "list", "kafka-topics", { "--list" }, NULL, 0 },
	{ "topic", "describe", "kafka-topics", { "--describe" }, "--topic", 1 },
	{ "topic", "delete", "kafka-topics", { "--delete" }, "--topic", 0 },
	{ "topic", "alter", "kafka-topics", { "--alter" }, "--topic", 0 },
	{ "group", "list", "kafka-consumer-groups", { "--list" }, NULL, 0 },
	{ "group", "describe", "kafka-consumer-groups", { "--describe" },
	    "--group", 0 },
	{ "group", "reset-offsets", "kafka-consumer-groups",
	    { "--reset-offsets" }, "--group", 0 },
	{ "group", "delete", "kafka-consumer-groups", { "--delete" },
	    "--group", 0 },
	{ "config", "get", "kafka-configs", { "--describe" }, NULL, 0 },
	{ "config", "set", "kafka-configs", { "--alter" }, NULL, 0 },
	{ "produce", NULL, "kafka-console-producer", { NULL }, "--topic", 0 },
	{ "consume", NULL, "kafka-console-consumer", { NULL }, "--topic", 0 },
	{ "status", NULL, "moldau-status", { NULL }, NULL, 0 },
	{ "storage", "format", "kafka-storage", { "format" }, NULL, 0 },
	{ "storage", "random-uuid", "kafka-storage", { "random-uuid" }, NULL,
	    0 },
	{ "storage", "info", "kafka-storage", { "info" }, NULL, 0 },
	{ "quorum", "describe", "moldau-quorum", { "describe" }, NULL, 0 },
};

#define NSUBCMDS	(sizeof(subcmds) / sizeof(subcmds[0]))

static const char usage[] =
    "Usage: moldau COMMAND [ARGS] [--bootstrap-server HOST:PORT]\n\n"
    "  moldau topic create NAME [--partitions N] [--replication-factor N]"
    " [--config K=V]...\n"
    "  moldau topic list\n"
    "  moldau topic describe [NAME]\n"
    "  moldau topic alter NAME --partitions N\n"
    "  moldau topic delete NAME\n"
    "  moldau group list\n"
    "  moldau group describe GROUP\n"
    "  moldau group reset-offsets GROUP [--topic T] --to-earliest|"
    "--to-latest|--to-offset N --execute\n"
    "  moldau group delete GROUP\n"
    "  moldau config get topic|broker NAME [--all]\n"
    "  moldau config set topic|broker NAME K=V... [--delete-config K]\n"
    "  moldau produce TOPIC [--property parse.key=true]\n"
    "  moldau consume TOPIC [--from-beginning] [--max-messages N]\n"
    "  moldau status [--config FILE] [--json]\n"
    "  moldau storage format --cluster-id ID --config FILE\n"
    "  moldau storage random-uuid | info --config FILE\n"
    "  moldau quorum describe --bootstrap-controller HOST:PORT "
    "[--status|--replication]\n\n"
    "Kafka-named tools (also installed as kafka-*.sh):\n"
    "  moldau kafka-topics|kafka-console-producer|kafka-console-consumer|\n"
    "         kafka-consumer-groups|kafka-configs|kafka-acls|"
    "kafka-get-offsets|\n"
    "         kafka-delete-records|kafka-storage|kafka-metadata-quorum ARGS\n"
    "Each takes --help.  The default bootstrap server is "
    CLI_DEFAULT_BOOTSTRAP ".\n";

static void
push(char **av, int *n, const char *s)
{
	if ((av[(*n)++] = strdup(s)) == NULL)
		abort();
}

static int
run_tool(const char *name, int argc, char **argv)
{
	for (size_t i = 0; i < NTOOLS; i++)
		if (strcmp(tools[i].name, name) == 0)
			return tools[i].main(argc, argv);
	fprintf(stderr, "moldau: unknown tool '%s' (see moldau --help)\n",
	    name);
	return CLI_USAGE;
}

/* "config get|set topic|broker NAME K=V...": kafka-configs arguments. */
static int
config_args(const struct subcmd *s, int argc, char **argv, char **av,
    int *n)
{
	const char *type;
	bool set = strcmp(s->verb, "set") == 0;

	if (argc < 5 || argv[3][0] == '-' || argv[4][0] == '-') {
		fprintf(stderr, "moldau: config %s needs topic|broker and a "
		    "name (see moldau --help)\n", s->verb);
		return CLI_USAGE;
	}
	type = strcmp(argv[3], "topic") == 0 ? "topics" :
	    strcmp(argv[3], "broker") == 0 ? "brokers" : NULL;
	if (type == NULL) {
		fprintf(stderr, "moldau: unknown config entity '%s' (want "
		    "topic or broker)\n", argv[3]);
		return CLI_USAGE;
	}
	push(av, n, "--entity-type");
	push(av, n, type);
	push(av, n, "--entity-name");
	push(av, n, argv[4]);
	for (int i = 5; i < argc; i++) {
		if (set && argv[i][0] != '-' && strchr(argv[i], '=') != NULL)
			push(av, n, "--add-config");
		push(av, n, argv[i]);
	}
	return CLI_OK;
}

static int
run_subcmd(const struct subcmd *s, int argc, char **argv)
{
	int first = s->verb != NULL ? 3 : 2, n = 0, rc = CLI_OK;
	char **av = calloc((size_t)argc * 2 + 8, sizeof(*av));
	bool has_name = argc > first && argv[first][0] != '-';

	if (av == NULL)
		abort();
	push(av, &n, s->tool);
	for (size_t i = 0; i < 4 && s->fixed[i] != NULL; i++)
		push(av, &n, s->fixed[i]);
	if (strcmp(s->noun, "config") == 0) {
		rc = config_args(s, argc, argv, av, &n);
	} else if (s->name_opt != NULL && !has_name && !s->name_optional) {
		fprintf(stderr, "moldau: %s%s%s needs a name (see moldau "
		    "--help)\n", s->noun, s->verb != NULL ? " " : "",
		    s->verb != NULL ? s->verb : "");
		rc = CLI_USAGE;
	} else {
		if (s->name_opt != NULL && has_name) {
			push(av, &n, s->name_opt);
			push(av, &n, argv[first++]);
		}
		for (int i = first; i < argc; i++)
			push(av, &n, argv[i]);
	}
	if (rc == CLI_OK)
		rc = run_tool(s->tool, n, av);
	for (int i = 0; i < n; i++)
		free(av[i]);
	free(av);
	return rc;
}

int
main(int argc, char **argv)
{
	if (argc < 2) {
		fputs(usage, stderr);
		return CLI_USAGE;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
	    strcmp(argv[1], "help") == 0) {
		fputs(usage, stdout);
		return CLI_OK;
	}
	if (strncmp(argv[1], "kafka-", 6) == 0)
		return run_tool(argv[1], argc - 1, argv + 1);
	for (size_t i = 0; i < NSUBCMDS; i++) {
		const struct subcmd *s = &subcmds[i];
		if (strcmp(s->noun, argv[1]) != 0)
			continue;
		if (s->verb == NULL || (argc > 2 &&
		    strcmp(s->verb, argv[2]) == 0))
			return run_subcmd(s, argc, argv);
	}
	fprintf(stderr, "moldau: unknown command '%s%s%s' (see moldau "
	    "--help)\n", argv[1], argc > 2 ? " " : "", argc > 2 ? argv[2] :
	    "");
	return CLI_USAGE;
}
