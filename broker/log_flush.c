/*
 * The flusher: one thread doing fdatasync(2) for the event loop.  Requests
 * queue segments; the thread takes everything queued so far as one
 * generation, syncs each file once, and reports the generation through a
 * pipe.  Every batch appended while a sync runs is covered by the next
 * one: group commit across partitions and connections.
 *
 * The dropper: a second thread doing the page-cache drop-behind steps
 * (sync_file_range, posix_fadvise) that appends make due, so neither a
 * full disk queue nor the wait for write-back stalls the event loop.  It
 * reports nothing.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "err.h"
#include "log.h"
#include "log_segment.h"
#include "log_service.h"
#include "xmalloc.h"

struct flusher {
	pthread_t		 thr;
	pthread_mutex_t		 mu;
	pthread_cond_t		 cv;
	struct seg		**pending;
	size_t			 npending, cap;
	uint64_t		 next_gen;	/* taken by the next pass */
	uint64_t		 done_gen;	/* last finished pass */
	int			 done_err;
	uint64_t		 reported;	/* loop side */
	uint64_t		 syncs;
	bool			 stop;
	int			 pipe[2];
	struct event		*ev;
	flusher_done_fn		*done;
	void			*arg;
};

static void *
flusher_main(void *arg)
{
	struct flusher *f = arg;
	struct seg **work = NULL;
	size_t n, cap = 0;

	pthread_mutex_lock(&f->mu);
	for (;;) {
		uint64_t gen;
		int err = 0;

		while (!f->stop && f->npending == 0)
			pthread_cond_wait(&f->cv, &f->mu);
		if (f->npending == 0)
			break;
		if (cap < f->npending) {
			cap = f->cap;
			work = xreallocarray(work, cap, sizeof(*work));
		}
		n = f->npending;
		memcpy(work, f->pending, n * sizeof(*work));
		f->npending = 0;
		gen = f->next_gen++;
		pthread_mutex_unlock(&f->mu);
		for (size_t i = 0; i < n; i++) {
			if (fdatasync(work[i]->fd) != 0) {
				log_warn("broker: flush %s.log", work[i]->path);
				err = MO_EIO;
			}
			seg_unref(work[i]);
		}
		pthread_mutex_lock(&f->mu);
		f->done_gen = gen;
		if (err != 0)
			f->done_err = err;
		f->syncs += n;
		pthread_mutex_unlock(&f->mu);
		while (write(f->pipe[1], "", 1) < 0 && errno == EINTR)
			continue;
		pthread_mutex_lock(&f->mu);
	}
	pthread_mutex_unlock(&f->mu);
	free(work);
	return NULL;
}

static void
flusher_report(struct flusher *f)
{
	uint64_t gen;
	int err;

	pthread_mutex_lock(&f->mu);
	gen = f->done_gen;
	err = f->done_err;
	f->done_err = 0;
	pthread_mutex_unlock(&f->mu);
	if (gen != f->reported) {
		f->reported = gen;
		f->done(f->arg, gen, err);
	}
}

static void
flusher_pipe_cb(evutil_socket_t fd, short what, void *arg)
{
	char buf[256];

	(void)what;
	while (read(fd, buf, sizeof(buf)) > 0)
		continue;
	flusher_report(arg);
}

struct flusher *
flusher_new(struct event_base *base, flusher_done_fn *done, void *arg)
{
	struct flusher *f = xcalloc(1, sizeof(*f));

	f->done = done;
	f->arg = arg;
	f->next_gen = 1;
	if (pipe2(f->pipe, O_CLOEXEC | O_NONBLOCK) != 0)
		fatal("pipe2");
	pthread_mutex_init(&f->mu, NULL);
	pthread_cond_init(&f->cv, NULL);
	f->ev = event_new(base, f->pipe[0], EV_READ | EV_PERSIST,
	    flusher_pipe_cb, f);
	event_add(f->ev, NULL);
	if (pthread_create(&f->thr, NULL, flusher_main, f) != 0)
		fatalx("broker: cannot start the flusher thread");
	return f;
}

void
flusher_free(struct flusher *f)
{
	if (f == NULL)
		return;
	pthread_mutex_lock(&f->mu);
	f->stop = true;
	pthread_cond_signal(&f->cv);
	pthread_mutex_unlock(&f->mu);
	pthread_join(f->thr, NULL);
	flusher_report(f);
	event_free(f->ev);
	close(f->pipe[0]);
	close(f->pipe[1]);
	pthread_mutex_destroy(&f->mu);
	pthread_cond_destroy(&f->cv);
	free(f->pending);
	free(f);
}

uint64_t
flusher_request(struct flusher *f, struct seg *s)
{
	uint64_t gen;
	size_t i;

	pthread_mutex_lock(&f->mu);
	for (i = 0; i < f->npending; i++)
		if (f->pending[i] == s)
			break;
	if (i == f->npending) {
		if (f->npending == f->cap) {
			f->cap = f->cap == 0 ? 16 : f->cap * 2;
			f->pending = xreallocarray(f->pending, f->cap,
			    sizeof(*f->pending));
		}
		f->pending[f->npending++] = seg_ref(s);
		pthread_cond_signal(&f->cv);
	}
	gen = f->next_gen;
	pthread_mutex_unlock(&f->mu);
	return gen;
}

uint64_t
flusher_syncs(const struct flusher *f)
{
	return f->syncs;
}

/* A drop-behind step for seg, or (seg NULL) an fsync of path. */
struct drop_job {
	struct seg	*seg;
	struct seg_drop	 d;
	char		*path;
};

struct dropper {
	pthread_t		 thr;
	pthread_mutex_t		 mu;
	pthread_cond_t		 cv;
	struct drop_job		*q;
	size_t			 n, cap;
	uint64_t		 steps;
	bool			 stop;
};

static void *
dropper_main(void *arg)
{
	struct dropper *d = arg;
	struct drop_job *work = NULL;
	size_t n, cap = 0;

	pthread_mutex_lock(&d->mu);
	for (;;) {
		while (!d->stop && d->n == 0)
			pthread_cond_wait(&d->cv, &d->mu);
		if (d->n == 0)
			break;
		if (cap < d->n) {
			cap = d->cap;
			work = xreallocarray(work, cap, sizeof(*work));
		}
		n = d->n;
		memcpy(work, d->q, n * sizeof(*work));
		d->n = 0;
		pthread_mutex_unlock(&d->mu);
		for (size_t i = 0; i < n; i++) {
			if (work[i].seg == NULL) {
				file_sync(NULL, work[i].path);
				free(work[i].path);
				continue;
			}
			seg_drop_run(work[i].seg, &work[i].d);
			seg_unref(work[i].seg);
		}
		pthread_mutex_lock(&d->mu);
		d->steps += n;
	}
	pthread_mutex_unlock(&d->mu);
	free(work);
	return NULL;
}

struct dropper *
dropper_new(void)
{
	struct dropper *d = xcalloc(1, sizeof(*d));

	pthread_mutex_init(&d->mu, NULL);
	pthread_cond_init(&d->cv, NULL);
	if (pthread_create(&d->thr, NULL, dropper_main, d) != 0)
		fatalx("broker: cannot start the drop-behind thread");
	return d;
}

void
dropper_free(struct dropper *d)
{
	if (d == NULL)
		return;
	pthread_mutex_lock(&d->mu);
	d->stop = true;
	pthread_cond_signal(&d->cv);
	pthread_mutex_unlock(&d->mu);
	pthread_join(d->thr, NULL);
	pthread_mutex_destroy(&d->mu);
	pthread_cond_destroy(&d->cv);
	free(d->q);
	free(d);
}

static void
dropper_push(struct dropper *d, const struct drop_job *j)
{
	pthread_mutex_lock(&d->mu);
	if (d->n == d->cap) {
		d->cap = d->cap == 0 ? 64 : d->cap * 2;
		d->q = xreallocarray(d->q, d->cap, sizeof(*d->q));
	}
	d->q[d->n++] = *j;
	pthread_cond_signal(&d->cv);
	pthread_mutex_unlock(&d->mu);
}

static void
dropper_queue(struct dropper *d, struct seg *s, const struct seg_drop *sd)
{
	struct drop_job j = { .seg = seg_ref(s), .d = *sd };

	dropper_push(d, &j);
}

/* fsync(2) what path names; ENOENT (removed meanwhile) is no error. */
static void
fsync_path(const char *path, int flags)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | flags);

	if (fd < 0) {
		if (errno != ENOENT)
			log_warn("broker: open %s", path);
		return;
	}
	if (fsync(fd) != 0)
		log_warn("broker: fsync %s", path);
	close(fd);
}

void
file_sync(struct dropper *d, const char *path)
{
	struct drop_job j = { .seg = NULL };
	char *dir, *slash;

	if (d != NULL) {
		j.path = xstrdup(path);
		dropper_push(d, &j);
		return;
	}
	fsync_path(path, 0);
	/* The directory too: the file was renamed into place. */
	dir = xstrdup(path);
	if ((slash = strrchr(dir, '/')) != NULL && slash != dir) {
		*slash = '\0';
		fsync_path(dir, O_DIRECTORY);
	}
	free(dir);
}

void
dropper_note(struct dropper *d, struct seg *s, uint64_t window)
{
	struct seg_drop sd;

	if (seg_drop_due(s, window, &sd))
		dropper_queue(d, s, &sd);
}

void
dropper_idle(struct dropper *d, struct seg *s)
{
	struct seg_drop sd;

	if (seg_drop_idle(s, &sd))
		dropper_queue(d, s, &sd);
}

void
dropper_all(struct dropper *d, struct seg *s)
{
	struct seg_drop sd;

	if (seg_drop_all(s, &sd))
		dropper_queue(d, s, &sd);
}
