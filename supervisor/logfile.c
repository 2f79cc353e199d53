/*
 * Logs of the node: every child's stderr comes in through a pipe and goes
 * out, line by line and unchanged, to moldaud's own stderr (the journal)
 * and, when node.log_dir is set, to log_dir/moldau.log with moldaud's own
 * lines.  At node.log_max_bytes the file is rotated to moldau.log.1, the
 * older ones move up to .node.log_keep and the oldest is dropped.
 */
#include <sys/stat.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "log.h"
#include "supervisor.h"
#include "xmalloc.h"

#define LOGPIPE_BUF	8192

struct logpipe {
	struct sup	*sup;
	int		 fd;
	struct event	*ev;
	size_t		 len;
	struct logpipe	*next;
	char		 buf[LOGPIPE_BUF];
};

/* The one log file of moldaud (the log tee has no argument). */
static struct {
	char		*dir;
	char		*path;		/* dir/moldau.log */
	int		 fd;		/* -1: off */
	int64_t		 size;
	int64_t		 max;
	int		 keep;
} logfile = { NULL, NULL, -1, 0, 0, 0 };

static void
logfile_reopen(void)
{
	struct stat st;

	logfile.fd = open(logfile.path, O_WRONLY | O_CREAT | O_APPEND |
	    O_CLOEXEC, 0640);
	if (logfile.fd == -1) {
		/* Not log_warn: that would come back here. */
		fprintf(stderr, "moldaud: %s: %s\n", logfile.path,
		    strerror(errno));
		return;
	}
	logfile.size = fstat(logfile.fd, &st) == 0 ? (int64_t)st.st_size : 0;
}

static void
logfile_rotate(void)
{
	char from[4200], to[4200];

	close(logfile.fd);
	logfile.fd = -1;
	for (int i = logfile.keep; i >= 1; i--) {
		if (i == 1)
			snprintf(from, sizeof(from), "%s", logfile.path);
		else
			snprintf(from, sizeof(from), "%s.%d", logfile.path,
			    i - 1);
		snprintf(to, sizeof(to), "%s.%d", logfile.path, i);
		if (rename(from, to) != 0 && errno != ENOENT)
			fprintf(stderr, "moldaud: rename %s: %s\n", from,
			    strerror(errno));
	}
	logfile_reopen();
}

static void
logfile_write(const char *line, size_t len)
{
	ssize_t n;

	if (logfile.fd == -1)
		return;
	if (logfile.size > 0 && logfile.size + (int64_t)len > logfile.max)
		logfile_rotate();
	while (logfile.fd != -1 && len > 0) {
		if ((n = write(logfile.fd, line, len)) < 0) {
			if (errno == EINTR)
				continue;
			fprintf(stderr, "moldaud: write %s: %s; no more log "
			    "file\n", logfile.path, strerror(errno));
			close(logfile.fd);
			logfile.fd = -1;
			return;
		}
		logfile.size += n;
		line += n;
		len -= (size_t)n;
	}
}

int
logfile_configure(const struct mo_config *cfg)
{
	logfile.max = cfg->log_max_bytes;
	logfile.keep = cfg->log_keep;
	if (logfile.dir != NULL && strcmp(logfile.dir, cfg->log_dir) == 0 &&
	    logfile.fd != -1)
		return 0;
	logfile_close();
	if (cfg->log_dir[0] == '\0')
		return 0;
	if (mkdir(cfg->log_dir, 0750) != 0 && errno != EEXIST) {
		log_warn("moldaud: cannot create log dir %s", cfg->log_dir);
		return -1;
	}
	logfile.dir = xstrdup(cfg->log_dir);
	xasprintf(&logfile.path, "%s/moldau.log", cfg->log_dir);
	logfile_reopen();
	if (logfile.fd == -1)
		return -1;
	log_set_tee(logfile_write);
	return 0;
}

void
logfile_close(void)
{
	log_set_tee(NULL);
	if (logfile.fd != -1)
		close(logfile.fd);
	logfile.fd = -1;
	free(logfile.dir);
	free(logfile.path);
	logfile.dir = logfile.path = NULL;
}

/* ---- children's stderr ---- */

static void
logpipe_emit(const char *p, size_t len)
{
	fwrite(p, 1, len, stderr);
	fflush(stderr);
	logfile_write(p, len);
}

/* Pass on the complete lines, or everything (at EOF, or a full buffer). */
static void
logpipe_flush(struct logpipe *lp, bool all)
{
	size_t off = 0;
	char *nl;

	while (off < lp->len && (nl = memchr(lp->buf + off, '\n',
	    lp->len - off)) != NULL) {
		logpipe_emit(lp->buf + off, (size_t)(nl - (lp->buf + off)) + 1);
		off = (size_t)(nl - lp->buf) + 1;
	}
	if (all || (off == 0 && lp->len == sizeof(lp->buf))) {
		if (lp->len > off) {
			logpipe_emit(lp->buf + off, lp->len - off);
			if (all)
				logpipe_emit("\n", 1);
		}
		off = lp->len;
	}
	memmove(lp->buf, lp->buf + off, lp->len - off);
	lp->len -= off;
}

/* Read what is there; false at EOF or on an error. */
static bool
logpipe_read(struct logpipe *lp)
{
	ssize_t n;

	for (;;) {
		n = read(lp->fd, lp->buf + lp->len, sizeof(lp->buf) - lp->len);
		if (n > 0) {
			lp->len += (size_t)n;
			logpipe_flush(lp, false);
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
	}
}

static void
logpipe_free(struct logpipe *lp)
{
	struct logpipe **pp;

	for (pp = &lp->sup->logpipes; *pp != NULL; pp = &(*pp)->next)
		if (*pp == lp) {
			*pp = lp->next;
			break;
		}
	logpipe_flush(lp, true);
	event_free(lp->ev);
	close(lp->fd);
	free(lp);
}

static void
logpipe_cb(evutil_socket_t fd, short what, void *arg)
{
	struct logpipe *lp = arg;

	(void)fd;
	(void)what;
	if (!logpipe_read(lp))
		logpipe_free(lp);
}

int
logpipe_new(struct sup *sup)
{
	struct logpipe *lp;
	int fds[2];

	if (pipe2(fds, O_CLOEXEC) != 0)
		return -1;
	if (fcntl(fds[0], F_SETFL, O_NONBLOCK) != 0) {
		close(fds[0]);
		close(fds[1]);
		return -1;
	}
	lp = xcalloc(1, sizeof(*lp));
	lp->sup = sup;
	lp->fd = fds[0];
	lp->ev = event_new(sup->base, fds[0], EV_READ | EV_PERSIST,
	    logpipe_cb, lp);
	if (lp->ev == NULL || event_add(lp->ev, NULL) != 0)
		fatalx("moldaud: cannot watch a log pipe");
	lp->next = sup->logpipes;
	sup->logpipes = lp;
	return fds[1];
}

void
logpipe_free_all(struct sup *sup)
{
	while (sup->logpipes != NULL) {
		logpipe_read(sup->logpipes);
		logpipe_free(sup->logpipes);
	}
}
