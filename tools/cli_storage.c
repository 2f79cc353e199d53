/*
 * kafka-storage (moldau storage): prepare data dirs.
 *
 *   kafka-storage random-uuid
 *   kafka-storage format -t|--cluster-id ID -c|--config FILE [--set k=v]...
 *                        [-g|--ignore-formatted]
 *   kafka-storage info -c|--config FILE [--set k=v]...
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "config.h"
#include "err.h"
#include "storage.h"

#define STORAGE_TOOL	"kafka-storage"

static const char storage_help[] =
    "Usage: kafka-storage random-uuid\n"
    "       kafka-storage format -t ID -c FILE [--set section.key=value]..."
    " [-g]\n"
    "       kafka-storage info -c FILE [--set section.key=value]...\n"
    "       (moldau storage random-uuid|format|info: the same, with\n"
    "        --cluster-id ID and --config FILE)\n\n"
    "format writes meta.properties (cluster.id, node.id) into the data\n"
    "dir (node.data_dir) of the config tree, which a broker needs before\n"
    "it starts unless node.auto_format is on.  A dir formatted already is\n"
    "an error unless -g/--ignore-formatted and it names the same cluster.\n";

struct storage_args {
	const char	*cluster_id;
	const char	*config;
	char		**sets;
	size_t		 nsets;
	bool		 ignore_formatted;
};

static int
storage_parse(int argc, char **argv, struct storage_args *a)
{
	static const struct option opts[] = {
		{ "cluster-id", required_argument, NULL, 't' },
		{ "config", required_argument, NULL, 'c' },
		{ "set", required_argument, NULL, 's' },
		{ "ignore-formatted", no_argument, NULL, 'g' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	int c;

	optind = 1;
	while ((c = getopt_long(argc, argv, ":t:c:s:gh", opts, NULL)) != -1) {
		switch (c) {
		case 't':
			a->cluster_id = optarg;
			break;
		case 'c':
			a->config = optarg;
			break;
		case 's':
			if ((a->sets = realloc(a->sets, (a->nsets + 1) *
			    sizeof(*a->sets))) == NULL)
				abort();
			a->sets[a->nsets++] = optarg;
			break;
		case 'g':
			a->ignore_formatted = true;
			break;
		case 'h':
			cli_help(storage_help);
			return CLI_OK + 100;
		default:
			return cli_bad_option(STORAGE_TOOL, argc, argv, c);
		}
	}
	if (optind != argc)
		return cli_usage_err(STORAGE_TOOL, "unexpected argument %s",
		    argv[optind]);
	if (a->config == NULL)
		return cli_usage_err(STORAGE_TOOL, "--config FILE is needed");
	return CLI_OK;
}

static struct mo_config *
storage_config(const struct storage_args *a)
{
	struct mo_config *cfg;
	char *errs = NULL;

	if (config_load_tree(a->config, a->sets, a->nsets, &cfg, &errs) != 0) {
		fputs(errs, stderr);
		free(errs);
		return NULL;
	}
	return cfg;
}

static int
storage_format(const struct storage_args *a)
{
	struct storage_meta m, old;
	struct mo_config *cfg;
	char err[512];
	int rc = CLI_FAIL, r;

	if (a->cluster_id == NULL)
		return cli_usage_err(STORAGE_TOOL, "format needs --cluster-id "
		    "ID (kafka-storage random-uuid makes one)");
	if (!storage_valid_id(a->cluster_id))
		return cli_usage_err(STORAGE_TOOL, "cluster id '%s' must be "
		    "1..63 characters of A-Z a-z 0-9 - _", a->cluster_id);
	if ((cfg = storage_config(a)) == NULL)
		return CLI_FAIL;
	if (cfg->cluster_id[0] != '\0' &&
	    strcmp(cfg->cluster_id, a->cluster_id) != 0) {
		cli_err(STORAGE_TOOL, "--cluster-id %s differs from cluster.id "
		    "%s of the config", a->cluster_id, cfg->cluster_id);
		goto out;
	}
	r = storage_read(cfg->data_dir, &old, err, sizeof(err));
	if (r == 0) {
		if (strcmp(old.cluster_id, a->cluster_id) != 0) {
			cli_err(STORAGE_TOOL, "%s is formatted for cluster %s "
			    "already", cfg->data_dir, old.cluster_id);
			goto out;
		}
		if (!a->ignore_formatted) {
			cli_err(STORAGE_TOOL, "%s is formatted already (use "
			    "--ignore-formatted to accept that)",
			    cfg->data_dir);
			goto out;
		}
		printf("All of the log directories are already formatted.\n");
		rc = CLI_OK;
		goto out;
	}
	if (r != MO_ENOTFOUND) {
		cli_err(STORAGE_TOOL, "%s", err);
		goto out;
	}
	memset(&m, 0, sizeof(m));
	snprintf(m.cluster_id, sizeof(m.cluster_id), "%s", a->cluster_id);
	m.node_id = cfg->node_id;
	if (storage_write(cfg->data_dir, &m, err, sizeof(err)) != 0) {
		cli_err(STORAGE_TOOL, "%s", err);
		goto out;
	}
	printf("Formatting %s with cluster.id %s and node.id %d\n",
	    cfg->data_dir, m.cluster_id, (int)m.node_id);
	rc = CLI_OK;
out:
	config_free(cfg);
	return rc;
}

static int
storage_info(const struct storage_args *a)
{
	struct storage_meta m;
	struct mo_config *cfg;
	char err[512];
	int rc = CLI_FAIL;

	if ((cfg = storage_config(a)) == NULL)
		return CLI_FAIL;
	if (storage_read(cfg->data_dir, &m, err, sizeof(err)) != 0)
		cli_err(STORAGE_TOOL, "%s", err);
	else {
		printf("%s: cluster.id=%s node.id=%d\n", cfg->data_dir,
		    m.cluster_id, (int)m.node_id);
		rc = CLI_OK;
	}
	config_free(cfg);
	return rc;
}

int
tool_storage(int argc, char **argv)
{
	struct storage_args a;
	char id[STORAGE_ID_MAX];
	int rc;

	if (argc < 2 || strcmp(argv[1], "--help") == 0 ||
	    strcmp(argv[1], "-h") == 0) {
		fputs(storage_help, argc < 2 ? stderr : stdout);
		return argc < 2 ? CLI_USAGE : CLI_OK;
	}
	if (strcmp(argv[1], "random-uuid") == 0) {
		if (argc != 2)
			return cli_usage_err(STORAGE_TOOL, "random-uuid takes "
			    "no arguments");
		storage_random_id(id);
		printf("%s\n", id);
		return CLI_OK;
	}
	if (strcmp(argv[1], "format") != 0 && strcmp(argv[1], "info") != 0)
		return cli_usage_err(STORAGE_TOOL, "unknown command '%s'",
		    argv[1]);
	memset(&a, 0, sizeof(a));
	rc = storage_parse(argc - 1, argv + 1, &a);
	if (rc == CLI_OK + 100)
		rc = CLI_OK;
	else if (rc == CLI_OK)
		rc = strcmp(argv[1], "format") == 0 ? storage_format(&a) :
		    storage_info(&a);
	free(a.sets);
	return rc;
}
