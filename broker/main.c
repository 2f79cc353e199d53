/*
 * moldau-broker: the Kafka protocol broker process.
 */
#include <sys/socket.h>
#include <sys/stat.h>
#include <netinet/in.h>
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/listener.h>

#include "broker.h"
#include "ipc.h"
#include "ipc_child.h"
#include "log.h"
#include "log_service.h"
#include "meta_client.h"
#include "replica.h"
#include "storage.h"
#include "tconfig.h"
#include "xmalloc.h"

static void
usage(void)
{
	fprintf(stderr, "usage: moldau-broker [--config FILE] "
	    "[--set section.key=value]... [--check] [--supervised]\n");
	exit(2);
}

/*
 * SIGHUP (moldaud sends it after a reload): load the configuration again
 * and apply what can change live: topic defaults and the log level.  The
 * old struct stays allocated until exit, since views into it may live on.
 */
static void
reload_cb(evutil_socket_t sig, short what, void *arg)
{
	struct broker *b = arg;
	struct mo_config *cfg;
	struct topic *t;
	enum log_level lvl;
	char *errs = NULL;

	(void)sig;
	(void)what;
	if ((b->cfg_single ? config_load : config_load_tree)(b->cfg_path,
	    b->cfg_sets, b->cfg_nsets, &cfg, &errs) != 0) {
		log_warnx("broker: reload refused, keeping the running "
		    "configuration: %s", errs);
		free(errs);
		return;
	}
	b->old_cfgs = xreallocarray(b->old_cfgs, b->nold_cfgs + 1,
	    sizeof(*b->old_cfgs));
	b->old_cfgs[b->nold_cfgs++] = b->cfg;
	b->cfg = cfg;
	b->topics.cfg = cfg;
	TAILQ_FOREACH(t, &b->topics.list, entry)
		if (t->config != NULL)
			tconfig_rebase(t->config, cfg);
	if (log_level_parse(cfg->log_level, &lvl) == 0)
		log_set_level(lvl);
	log_info("broker: configuration reloaded (topic defaults, log level)");
}

static void
shutdown_done(struct broker *b)
{
	event_base_loopbreak(b->base);
}

/*
 * The first stop request is a controlled shutdown: the controller moves
 * leadership away first (meta_client.c); a second one stops at once.
 */
static void
broker_stop(struct broker *b, const char *why)
{
	if (b->stopping) {
		log_info("broker: %s again, stopping now", why);
		event_base_loopbreak(b->base);
		return;
	}
	b->stopping = true;
	log_info("broker: %s, shutting down", why);
	meta_client_shutdown(b->mc, shutdown_done);
}

static void
signal_cb(evutil_socket_t sig, short what, void *arg)
{
	struct broker *b = arg;

	(void)what;
	broker_stop(b, sig == SIGINT ? "SIGINT" : "SIGTERM");
}

static void
ipc_stop_cb(void *arg, const char *why)
{
	struct broker *b = arg;

	(void)why;
	broker_stop(b, "stop asked by moldaud");
}

/* Tell moldaud the broker serves, with the ports it bound. */
static void
broker_ready(struct broker *b, struct ipc_child *ic)
{
	const struct mo_strlist *l = &b->cfg->listeners;
	char *v[IPC_MAX_LISTENERS] = { NULL };
	size_t n = 0;

	for (size_t i = 0; i < b->nlisteners && n < IPC_MAX_LISTENERS &&
	    i < l->n; i++) {
		struct sockaddr_storage ss;
		socklen_t sl = sizeof(ss);
		const char *colon = strrchr(l->v[i], ':');
		int port;

		if (colon == NULL || getsockname(evconnlistener_get_fd(
		    b->listeners[i].l), (struct sockaddr *)&ss, &sl) != 0)
			continue;
		port = ntohs(ss.ss_family == AF_INET ?
		    ((struct sockaddr_in *)&ss)->sin_port :
		    ((struct sockaddr_in6 *)&ss)->sin6_port);
		xasprintf(&v[n++], "%.*s:%d", (int)(colon - l->v[i]), l->v[i],
		    port);
	}
	ipc_child_ready(ic, (const char *const *)v, n);
	for (size_t i = 0; i < n; i++)
		free(v[i]);
}

void
broker_serving(struct broker *b)
{
	if (b->serving)
		return;
	b->serving = true;
	for (size_t i = 0; i < b->nlisteners; i++)
		evconnlistener_enable(b->listeners[i].l);
	log_info("broker %d ready: %s://%s:%d", b->cfg->node_id,
	    b->listeners[0].name, b->adv_host, b->adv_port);
	if (b->ipc != NULL)
		broker_ready(b, b->ipc);
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "set", required_argument, NULL, 's' },
		{ "check", no_argument, NULL, 'n' },
		{ "supervised", no_argument, NULL, 'S' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	struct broker b;
	const char *path = NULL;
	char **sets = NULL, *errs = NULL;
	size_t nsets = 0;
	bool check = false, supervised = false;
	struct ipc_child *ic = NULL;
	struct storage_meta meta;
	char serr[512];
	int formatted;
	enum log_level lvl;
	int ch, rc = 1;

	log_init("moldau-broker", LOG_LVL_INFO);
	while ((ch = getopt_long(argc, argv, "c:s:nh", opts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			path = optarg;
			break;
		case 's':
			sets = xreallocarray(sets, nsets + 1, sizeof(*sets));
			sets[nsets++] = optarg;
			break;
		case 'n':
			check = true;
			break;
		case 'S':
			supervised = true;
			break;
		default:
			usage();
		}
	}
	if (optind != argc)
		usage();
	memset(&b, 0, sizeof(b));
	TAILQ_INIT(&b.groups.list);
	/* Under moldaud the config is the tree it validated, in one file. */
	if ((supervised ? config_load : config_load_tree)(path, sets, nsets,
	    &b.cfg, &errs) != 0) {
		fprintf(stderr, "%s", errs);
		if (errs[0] != '\0' && errs[strlen(errs) - 1] != '\n')
			fputc('\n', stderr);
		free(errs);
		free(sets);
		return 1;
	}
	b.cfg_path = path;
	b.cfg_sets = sets;
	b.cfg_nsets = nsets;
	b.cfg_single = supervised;
	if (check) {
		config_free(b.cfg);
		free(sets);
		return 0;
	}
	if (log_level_parse(b.cfg->log_level, &lvl) == 0)
		log_set_level(lvl);
	signal(SIGPIPE, SIG_IGN);
	TAILQ_INIT(&b.waiting);
	TAILQ_INIT(&b.conns);
	if (mkdir_p(b.cfg->data_dir, 0755) != 0) {
		log_warn("broker: cannot create data dir %s", b.cfg->data_dir);
		goto out;
	}
	if (dir_lock(b.cfg->data_dir, serr, sizeof(serr)) == -1) {
		log_warnx("broker: %s", serr);
		goto out;
	}
	if (storage_open(b.cfg, &meta, serr, sizeof(serr), &formatted) != 0) {
		log_warnx("broker: %s", serr);
		goto out;
	}
	if (formatted)
		log_info("broker: formatted data dir %s for cluster %s "
		    "(node.auto_format)", b.cfg->data_dir, meta.cluster_id);
	b.cluster_id = xstrdup(meta.cluster_id);
	b.topics.cfg = b.cfg;
	if (topics_load(&b.topics, b.cfg->data_dir) != 0)
		goto out;
	b.base = event_base_new();
	if (b.base == NULL) {
		log_warnx("broker: cannot create event base");
		goto out;
	}
	if (supervised &&
	    (ic = ipc_child_open(b.base, IPC_CHILD_FD, "broker", ipc_stop_cb,
	    &b)) == NULL)
		goto out;
	b.ipc = ic;
	/* Groups load as this broker gains leadership of their partitions
	   of __consumer_offsets (replica.c). */
	groups_init(&b.groups, &b);
	if (net_listen(&b) != 0)
		goto out;
	/* Clients wait in the backlog until broker_serving(). */
	for (size_t i = 0; i < b.nlisteners; i++)
		evconnlistener_disable(b.listeners[i].l);
	logsvc_start(&b);	/* retention, flushing, config refresh */
	/* Topics, configs and partitions come only from the controllers. */
	if ((b.mc = meta_client_start(&b)) == NULL ||
	    replica_start(&b) != 0)
		goto out;
	b.sigterm = evsignal_new(b.base, SIGTERM, signal_cb, &b);
	b.sigint = evsignal_new(b.base, SIGINT, signal_cb, &b);
	b.sighup = evsignal_new(b.base, SIGHUP, reload_cb, &b);
	evsignal_add(b.sigterm, NULL);
	evsignal_add(b.sigint, NULL);
	evsignal_add(b.sighup, NULL);
	log_info("broker %d: waiting for the controllers (%s)",
	    b.cfg->node_id, b.cfg->controllers.n > 0 ?
	    b.cfg->controllers.v[0] : "none");
	event_base_dispatch(b.base);
	rc = 0;
out:
	ipc_child_free(ic);
	replica_stop(&b);
	net_close_all(&b);
	meta_client_free(b.mc);
	logsvc_stop(&b);
	groups_clear(&b.groups);
	if (b.wake != NULL)
		event_free(b.wake);
	if (b.sigterm != NULL)
		event_free(b.sigterm);
	if (b.sigint != NULL)
		event_free(b.sigint);
	if (b.sighup != NULL)
		event_free(b.sighup);
	for (size_t i = 0; i < b.nold_cfgs; i++)
		config_free(b.old_cfgs[i]);
	free(b.old_cfgs);
	free(sets);
	topics_clear(&b.topics);
	if (b.base != NULL)
		event_base_free(b.base);
	free(b.cluster_id);
	free(b.adv_host);
	config_free(b.cfg);
	if (rc == 0)
		log_info("broker: stopped");
	return rc;
}
