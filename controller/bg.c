/*
 * Background jobs on one thread (see bg.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <unistd.h>

#include <event2/event.h>

#include "log.h"
#include "xmalloc.h"
#include "bg.h"

struct bg {
	pthread_t	 thread;
	pthread_mutex_t	 mu;
	pthread_cond_t	 cv;
	struct bg_job	*todo, *done;
	bool		 stop;
	int		 pipe[2];
	struct event	*ev;
};

static void
bg_push(struct bg_job **list, struct bg_job *j)
{
	struct bg_job **pp = list;

	while (*pp != NULL)
		pp = &(*pp)->next;
	j->next = NULL;
	*pp = j;
}

static void *
bg_main(void *arg)
{
	struct bg *b = arg;
	struct bg_job *j;
	char c = 1;

	pthread_mutex_lock(&b->mu);
	for (;;) {
		while (b->todo == NULL && !b->stop)
			pthread_cond_wait(&b->cv, &b->mu);
		if (b->stop)
			break;
		j = b->todo;
		b->todo = j->next;
		pthread_mutex_unlock(&b->mu);
		j->run(j);
		pthread_mutex_lock(&b->mu);
		bg_push(&b->done, j);
		if (write(b->pipe[1], &c, 1) < 0 && errno != EAGAIN)
			log_warn("controller: background pipe");
	}
	pthread_mutex_unlock(&b->mu);
	return NULL;
}

static void
bg_done_cb(evutil_socket_t fd, short what, void *arg)
{
	struct bg *b = arg;
	struct bg_job *list, *j;
	char buf[64];

	(void)what;
	while (read(fd, buf, sizeof(buf)) > 0)
		;
	pthread_mutex_lock(&b->mu);
	list = b->done;
	b->done = NULL;
	pthread_mutex_unlock(&b->mu);
	while ((j = list) != NULL) {
		list = j->next;
		j->done(j);
	}
}

struct bg *
bg_new(struct event_base *base)
{
	struct bg *b = xcalloc(1, sizeof(*b));

	if (pipe(b->pipe) != 0)
		fatal("controller: pipe");
	fcntl(b->pipe[0], F_SETFL, O_NONBLOCK);
	fcntl(b->pipe[1], F_SETFL, O_NONBLOCK);
	pthread_mutex_init(&b->mu, NULL);
	pthread_cond_init(&b->cv, NULL);
	b->ev = event_new(base, b->pipe[0], EV_READ | EV_PERSIST, bg_done_cb,
	    b);
	if (b->ev == NULL || event_add(b->ev, NULL) != 0)
		fatalx("controller: background event");
	if (pthread_create(&b->thread, NULL, bg_main, b) != 0)
		fatalx("controller: background thread");
	return b;
}

void
bg_submit(struct bg *b, struct bg_job *j)
{
	pthread_mutex_lock(&b->mu);
	bg_push(&b->todo, j);
	pthread_cond_signal(&b->cv);
	pthread_mutex_unlock(&b->mu);
}

void
bg_free(struct bg *b)
{
	struct bg_job *j;

	if (b == NULL)
		return;
	pthread_mutex_lock(&b->mu);
	b->stop = true;
	pthread_cond_signal(&b->cv);
	pthread_mutex_unlock(&b->mu);
	pthread_join(b->thread, NULL);
	while ((j = b->todo) != NULL) {
		b->todo = j->next;
		j->release(j);
	}
	while ((j = b->done) != NULL) {
		b->done = j->next;
		j->release(j);
	}
	event_free(b->ev);
	close(b->pipe[0]);
	close(b->pipe[1]);
	pthread_mutex_destroy(&b->mu);
	pthread_cond_destroy(&b->cv);
	free(b);
}
