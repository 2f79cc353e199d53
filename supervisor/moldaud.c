/*
 * moldaud: the node supervisor (see supervisor.h).
 *
 *   moldaud [--config FILE] [--set section.key=value]... [--check]
 */
#include <sys/stat.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "log.h"
#include "storage.h"
#include "supervisor.h"
#include "xmalloc.h"

static void
usage(void)
{
	fprintf(stderr, "usage: moldaud [--config FILE] "
	    "[--set section.key=value]... [--check]\n");
	exit(2);
}

int64_t
sup_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t
sup_since_ms(const struct timespec *t)
{
	return sup_now_ms() - ((int64_t)t->tv_sec * 1000 +
	    t->tv_nsec / 1000000);
}

/* Print loader errors, one log line each. */
static void
print_errors(const char *errs, bool as_log)
{
	const char *p = errs, *nl;

	while (*p != '\0') {
		nl = strchr(p, '\n');
		if (nl == NULL)
			nl = p + strlen(p);
		if (as_log)
			log_warnx("moldaud: %.*s", (int)(nl - p), p);
		else
			fprintf(stderr, "%.*s\n", (int)(nl - p), p);
		p = *nl == '\0' ? nl : nl + 1;
	}
}

int
sup_write_effective(struct sup *sup)
{
	char *tmp;
	FILE *f;
	int rc = -1;

	xasprintf(&tmp, "%s.tmp", sup->effective);
	if ((f = fopen(tmp, "w")) == NULL) {
		log_warn("moldaud: %s", tmp);
		goto out;
	}
	if (config_write(sup->cfg, f) != 0) {
		log_warn("moldaud: write %s", tmp);
		fclose(f);
		goto out;
	}
	if (fclose(f) != 0 || rename(tmp, sup->effective) != 0) {
		log_warn("moldaud: write %s", sup->effective);
		goto out;
	}
	rc = 0;
out:
	free(tmp);
	return rc;
}

static void
apply_log_level(const char *level)
{
	enum log_level lvl;

	if (log_level_parse(level, &lvl) == 0)
		log_set_level(lvl);
}

/* ---- stopping ---- */

/* Stop the next child in dependency order; exit the loop when none. */
static void
sup_stop_next(struct sup *sup)
{
	for (size_t i = SUP_NROLES; i-- > 0;) {
		struct child *c = &sup->children[i];

		if (c->state == CHILD_STOPPING)
			return;		/* wait for it */
		if (child_stop(c))
			return;
	}
	log_info("moldaud: all children stopped");
	event_base_loopexit(sup->base, NULL);
}

void
sup_child_stopped(struct sup *sup, struct child *c)
{
	(void)c;
	if (sup->stopping)
		sup_stop_next(sup);
}

/* ---- reload ---- */

/* The lines of a config's YAML form (for a key-by-key diff). */
static char *
config_text(const struct mo_config *cfg)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	if (f == NULL)
		fatal("open_memstream");
	config_write(cfg, f);
	if (fclose(f) != 0)
		fatal("open_memstream");
	return buf;
}

/* Log every key whose value differs; returns how many. */
static int
log_changes(const struct mo_config *old, const struct mo_config *new)
{
	char *a = config_text(old), *b = config_text(new);
	char *sa, *sb, *la, *lb, sec[32] = "";
	int n = 0;

	la = strtok_r(a, "\n", &sa);
	lb = strtok_r(b, "\n", &sb);
	for (; la != NULL && lb != NULL; la = strtok_r(NULL, "\n", &sa),
	    lb = strtok_r(NULL, "\n", &sb)) {
		if (la[0] != ' ' && la[0] != '#')
			snprintf(sec, sizeof(sec), "%.*s",
			    (int)strcspn(la, ":"), la);
		if (strcmp(la, lb) != 0) {
			log_info("moldaud: reload: %s.%s", sec, lb + 2);
			n++;
		}
	}
	free(a);
	free(b);
	return n;
}

static void
sup_reload(struct sup *sup)
{
	struct mo_config *cfg, *old = sup->cfg;
	char *errs = NULL;
	bool listeners_changed;

	log_info("moldaud: SIGHUP: reloading %s", sup->config_path != NULL ?
	    sup->config_path : "(defaults)");
	if (config_load_tree(sup->config_path, sup->sets, sup->nsets, &cfg,
	    &errs) != 0) {
		log_warnx("moldaud: reload refused, the node keeps its "
		    "running configuration:");
		print_errors(errs, true);
		free(errs);
		return;
	}
	if (log_changes(old, cfg) == 0) {
		log_info("moldaud: reload: no change");
		config_free(cfg);
		return;
	}
	listeners_changed = old->listeners.n != cfg->listeners.n;
	for (size_t i = 0; !listeners_changed && i < cfg->listeners.n; i++)
		listeners_changed = strcmp(old->listeners.v[i],
		    cfg->listeners.v[i]) != 0;
	sup->cfg = cfg;
	if (sup_write_effective(sup) != 0) {
		log_warnx("moldaud: reload refused: cannot write %s",
		    sup->effective);
		sup->cfg = old;
		config_free(cfg);
		return;
	}
	if (logfile_configure(cfg) != 0)
		log_warnx("moldaud: reload: log files stay off");
	/* Live: log levels.  Roles: start new ones, stop dropped ones.
	 * Everything else takes effect when a child restarts. */
	if (strcmp(old->log_level, cfg->log_level) != 0) {
		apply_log_level(cfg->log_level);
		for (size_t i = 0; i < SUP_NROLES; i++)
			child_send_log_level(&sup->children[i],
			    cfg->log_level);
	}
	/* The broker reloads its (rewritten) file on SIGHUP: topic
	 * defaults change live. */
	for (size_t i = 0; i < SUP_NROLES; i++) {
		struct child *c = &sup->children[i];

		/* only once READY: its handler is installed by then */
		if (strcmp(c->def->role, "broker") == 0 &&
		    c->state == CHILD_RUNNING && c->pid > 0)
			kill(c->pid, SIGHUP);
	}
	for (size_t i = 0; i < SUP_NROLES; i++) {
		struct child *c = &sup->children[i];

		if (listeners_changed) {
			free(c->pinned);
			c->pinned = NULL;
		}
		if (c->state == CHILD_UNAVAILABLE)
			continue;
		if (child_wanted(c) && (c->state == CHILD_DISABLED ||
		    c->state == CHILD_STOPPED))
			child_start(c);
		else if (!child_wanted(c)) {
			if (!child_stop(c))
				c->state = CHILD_DISABLED;
		}
	}
	config_free(old);
	log_info("moldaud: reload done; other changes apply when a child "
	    "restarts");
}

/* ---- signals ---- */

static void
signal_cb(evutil_socket_t sig, short what, void *arg)
{
	struct sup *sup = arg;

	(void)what;
	switch (sig) {
	case SIGCHLD:
		child_reap_all(sup);
		break;
	case SIGHUP:
		if (!sup->stopping)
			sup_reload(sup);
		break;
	default:
		if (sup->stopping)
			break;
		log_info("moldaud: signal %d, stopping the node",
		    (int)sig);
		sup->stopping = true;
		sup_stop_next(sup);
		break;
	}
}

static char *
exe_dir(const char *argv0)
{
	char buf[PATH_MAX], *slash;
	ssize_t n = readlink("/proc/self/exe", buf, sizeof(buf) - 1);

	if (n <= 0) {
		if (realpath(argv0, buf) == NULL)
			snprintf(buf, sizeof(buf), "%s", argv0);
	} else
		buf[n] = '\0';
	if ((slash = strrchr(buf, '/')) != NULL)
		*slash = '\0';
	else
		snprintf(buf, sizeof(buf), ".");
	return xstrdup(buf);
}

static int
sup_run(struct sup *sup)
{
	static const int sigs[] = { SIGTERM, SIGINT, SIGHUP, SIGCHLD };
	size_t i;

	if (mkdir_p(sup->cfg->run_dir, 0750) != 0) {
		log_warn("moldaud: cannot create run dir %s",
		    sup->cfg->run_dir);
		return 1;
	}
	xasprintf(&sup->effective, "%s/moldaud.yaml", sup->cfg->run_dir);
	xasprintf(&sup->sock_path, "%s/moldaud.sock", sup->cfg->run_dir);
	if ((sup->base = event_base_new()) == NULL) {
		log_warnx("moldaud: cannot create event base");
		return 1;
	}
	for (i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++) {
		sup->sig[i] = evsignal_new(sup->base, sigs[i], signal_cb, sup);
		if (sup->sig[i] == NULL || evsignal_add(sup->sig[i], NULL) != 0)
			fatalx("moldaud: cannot watch signal %d", sigs[i]);
	}
	if (logfile_configure(sup->cfg) != 0 ||
	    sup_write_effective(sup) != 0 || control_open(sup) != 0)
		return 1;
	for (i = 0; i < SUP_NROLES; i++) {
		struct child *c = &sup->children[i];

		child_init(c, sup, &sup_roles[i]);
		if (!child_wanted(c)) {
			if (c->state != CHILD_UNAVAILABLE)
				c->state = CHILD_DISABLED;
		} else if (c->state == CHILD_UNAVAILABLE)
			log_warnx("moldaud: role %s not available: no %s "
			    "binary", c->def->role, c->def->binary);
	}
	clock_gettime(CLOCK_MONOTONIC, &sup->started);
	sup->pid = getpid();
	log_info("moldaud: node %d starting (config %s, control %s)",
	    sup->cfg->node_id, sup->config_path != NULL ? sup->config_path :
	    "(defaults)", sup->sock_path);
	for (i = 0; i < SUP_NROLES; i++)
		if (sup->children[i].state == CHILD_STOPPED)
			child_start(&sup->children[i]);
	event_base_dispatch(sup->base);
	log_info("moldaud: stopped");
	return 0;
}

static void
sup_clear(struct sup *sup)
{
	control_close(sup);
	logpipe_free_all(sup);
	for (size_t i = 0; i < SUP_NROLES; i++)
		if (sup->children[i].def != NULL)
			child_clear(&sup->children[i]);
	for (size_t i = 0; i < sizeof(sup->sig) / sizeof(sup->sig[0]); i++)
		if (sup->sig[i] != NULL)
			event_free(sup->sig[i]);
	if (sup->effective != NULL)
		unlink(sup->effective);
	free(sup->effective);
	free(sup->sock_path);
	free(sup->exe_dir);
	if (sup->base != NULL)
		event_base_free(sup->base);
	config_free(sup->cfg);
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "set", required_argument, NULL, 's' },
		{ "check", no_argument, NULL, 'n' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	struct sup sup;
	char **sets = NULL, *errs = NULL;
	size_t nsets = 0;
	bool check = false;
	int ch, rc;

	log_init("moldaud", LOG_LVL_INFO);
	memset(&sup, 0, sizeof(sup));
	while ((ch = getopt_long(argc, argv, "c:s:nh", opts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			sup.config_path = optarg;
			break;
		case 's':
			sets = xreallocarray(sets, nsets + 1, sizeof(*sets));
			sets[nsets++] = optarg;
			break;
		case 'n':
			check = true;
			break;
		default:
			usage();
		}
	}
	if (optind != argc)
		usage();
	sup.sets = sets;
	sup.nsets = nsets;
	if (config_load_tree(sup.config_path, sets, nsets, &sup.cfg,
	    &errs) != 0) {
		print_errors(errs, false);
		free(errs);
		free(sets);
		return 1;
	}
	if (check) {
		printf("%s: configuration OK\n", sup.config_path != NULL ?
		    sup.config_path : "(defaults)");
		config_free(sup.cfg);
		free(sets);
		return 0;
	}
	apply_log_level(sup.cfg->log_level);
	signal(SIGPIPE, SIG_IGN);
	sup.exe_dir = exe_dir(argv[0]);
	rc = sup_run(&sup);
	sup_clear(&sup);
	logfile_close();
	free(sets);
	return rc;
}
