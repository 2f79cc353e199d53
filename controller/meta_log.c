/*
 * The controller's metadata log and quorum state on disk (see meta_log.h).
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "batch.h"
#include "err.h"
#include "log.h"
#include "xmalloc.h"
#include "meta_log.h"

#define META_SEGMENT	"00000000000000000000.log"
#define META_MAX_BATCH	(64u << 20)
#define META_CONTROL_LEADER_CHANGE 2	/* control record type */

struct meta_log {
	char			*dir;
	int			 fd;		/* the segment */
	int64_t			 start;		/* first offset in the file */
	int64_t			*pos;		/* file position per entry */
	size_t			 npos, cappos;
	off_t			 size;
	/* worker */
	pthread_t		 thread;
	bool			 running;
	pthread_mutex_t		 mu;
	pthread_cond_t		 cv;
	struct meta_job		*todo, **todo_tail;
	struct meta_job		*done, **done_tail;
	bool			 stop;
	int			 pipe[2];
	struct event		*ev;
	meta_job_done_fn	 done_fn;
	void			*done_arg;
};

int
meta_entry_encode(struct wbuf *w, const struct raft_entry *e)
{
	struct batch_builder b;
	uint8_t key[4] = { 0, 0, 0, META_CONTROL_LEADER_CHANGE };
	int rc;

	batch_builder_init(&b, MO_CODEC_NONE, e->offset, 0);
	batch_builder_set_leader_epoch(&b, e->epoch);
	if (e->control) {
		batch_builder_set_control(&b);
		batch_builder_add(&b, 0, key, sizeof(key), NULL, -1, NULL, 0);
	} else
		batch_builder_add(&b, 0, NULL, -1, e->data, (int32_t)e->len,
		    NULL, 0);
	rc = batch_builder_finish(&b, w);
	batch_builder_clear(&b);
	return rc;
}

/* Decode one batch at p into e; returns its size or 0 when bad. */
static size_t
meta_entry_decode(const uint8_t *p, size_t len, struct raft_entry *e)
{
	struct batch_info bi;
	struct wbuf tmp = { 0 };
	struct record rec;
	struct rd r;

	memset(e, 0, sizeof(*e));
	if (batch_validate(p, len, META_MAX_BATCH, &bi) != 0 ||
	    bi.record_count != 1 || batch_codec(&bi) != MO_CODEC_NONE)
		return 0;
	if (batch_records(p, &bi, META_MAX_BATCH, &tmp, &r) != 0 ||
	    batch_records_next(&r, &rec) != 0) {
		wbuf_clear(&tmp);
		return 0;
	}
	e->offset = bi.base_offset;
	e->epoch = bi.leader_epoch;
	e->control = (bi.attributes & BATCH_ATTR_CONTROL) != 0;
	if (!e->control && rec.value.len > 0) {
		e->data = xmalloc((size_t)rec.value.len);
		memcpy(e->data, rec.value.p, (size_t)rec.value.len);
		e->len = (size_t)rec.value.len;
	}
	wbuf_clear(&tmp);
	return batch_size(&bi);
}

int
meta_entries_decode(const uint8_t *p, size_t len, struct raft_entry **out,
    size_t *n)
{
	struct raft_entry e, *v = NULL;
	size_t used, cnt = 0, cap = 0;

	while (len > 0 && (used = meta_entry_decode(p, len, &e)) > 0) {
		if (cnt == cap) {
			cap = cap ? cap * 2 : 16;
			v = xreallocarray(v, cap, sizeof(*v));
		}
		v[cnt++] = e;
		p += used;
		len -= used;
	}
	*out = v;
	*n = cnt;
	return len == 0 ? 0 : MO_EMALFORMED;
}

static int
meta_read_hard(const char *dir, struct raft_hard *h)
{
	char path[4096], buf[256];
	FILE *f;
	int n;

	h->epoch = 0;
	h->voted_id = RAFT_NO_ID;
	h->leader_id = RAFT_NO_ID;
	snprintf(path, sizeof(path), "%s/quorum-state", dir);
	if ((f = fopen(path, "r")) == NULL)
		return errno == ENOENT ? 0 : -1;
	n = 0;
	if (fgets(buf, sizeof(buf), f) != NULL)
		n = sscanf(buf, "epoch=%" SCNd32 " voted=%" SCNd32
		    " leader=%" SCNd32, &h->epoch, &h->voted_id,
		    &h->leader_id);
	fclose(f);
	return n == 3 ? 0 : -1;
}

/* Blocking: only on the worker thread (or before the loop runs). */
static int
meta_write_hard(const char *dir, const struct raft_hard *h)
{
	char path[4096], tmp[4096], buf[128];
	int fd, len, rc = -1;

	snprintf(path, sizeof(path), "%s/quorum-state", dir);
	snprintf(tmp, sizeof(tmp), "%s/quorum-state.tmp", dir);
	len = snprintf(buf, sizeof(buf), "epoch=%d voted=%d leader=%d\n",
	    h->epoch, h->voted_id, h->leader_id);
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
	    0644)) < 0)
		return -1;
	if (write(fd, buf, (size_t)len) == len && fsync(fd) == 0)
		rc = 0;
	close(fd);
	if (rc == 0 && rename(tmp, path) != 0)
		rc = -1;
	if (rc == 0 && (fd = open(dir, O_RDONLY | O_DIRECTORY)) >= 0) {
		if (fsync(fd) != 0)
			rc = -1;
		close(fd);
	}
	return rc;
}

static void
meta_pos_push(struct meta_log *ml, int64_t pos)
{
	if (ml->npos == ml->cappos) {
		ml->cappos = ml->cappos ? ml->cappos * 2 : 256;
		ml->pos = xreallocarray(ml->pos, ml->cappos, sizeof(*ml->pos));
	}
	ml->pos[ml->npos++] = pos;
}

static int
meta_load_segment(struct meta_log *ml, struct raft_boot *boot)
{
	struct stat st;
	uint8_t *buf = NULL;
	struct raft_entry *v = NULL, e;
	size_t cnt = 0, cap = 0, off = 0, used;
	ssize_t n;

	if (fstat(ml->fd, &st) != 0)
		return -1;
	if (st.st_size > 0) {
		buf = xmalloc((size_t)st.st_size);
		n = pread(ml->fd, buf, (size_t)st.st_size, 0);
		if (n != st.st_size) {
			free(buf);
			return -1;
		}
	}
	while (off < (size_t)st.st_size &&
	    (used = meta_entry_decode(buf + off, (size_t)st.st_size - off,
	    &e)) > 0) {
		if (e.offset != (cnt == 0 ? e.offset : v[cnt - 1].offset + 1) ||
		    (cnt == 0 && e.offset != 0)) {
			raft_entry_clear(&e);
			break;
		}
		if (cnt == cap) {
			cap = cap ? cap * 2 : 256;
			v = xreallocarray(v, cap, sizeof(*v));
		}
		v[cnt++] = e;
		meta_pos_push(ml, (int64_t)off);
		off += used;
	}
	free(buf);
	if (off < (size_t)st.st_size) {
		log_warnx("controller: %s/%s: cutting a torn or corrupt tail "
		    "at byte %zu of %lld", ml->dir, META_SEGMENT, off,
		    (long long)st.st_size);
		if (ftruncate(ml->fd, (off_t)off) != 0 || fsync(ml->fd) != 0) {
			log_warn("controller: truncate %s", META_SEGMENT);
			while (cnt > 0)
				raft_entry_clear(&v[--cnt]);
			free(v);
			return -1;
		}
	}
	ml->size = (off_t)off;
	boot->entries = v;
	boot->nentries = cnt;
	return 0;
}

struct meta_log *
meta_log_open(const char *dir, struct raft_boot *boot, char *err,
    size_t errlen)
{
	struct meta_log *ml;
	char path[4096];

	memset(boot, 0, sizeof(*boot));
	if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
		snprintf(err, errlen, "%s: %s", dir, strerror(errno));
		return NULL;
	}
	ml = xcalloc(1, sizeof(*ml));
	ml->dir = xstrdup(dir);
	ml->pipe[0] = ml->pipe[1] = -1;
	snprintf(path, sizeof(path), "%s/%s", dir, META_SEGMENT);
	ml->fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (ml->fd < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		goto fail;
	}
	if (meta_read_hard(dir, &boot->hard) != 0) {
		snprintf(err, errlen, "%s/quorum-state: unreadable or corrupt",
		    dir);
		goto fail;
	}
	if (meta_load_segment(ml, boot) != 0) {
		snprintf(err, errlen, "%s: cannot read the log", path);
		goto fail;
	}
	return ml;
fail:
	meta_log_close(ml);
	return NULL;
}

void
meta_log_boot_clear(struct raft_boot *boot)
{
	struct raft_entry *v = (struct raft_entry *)(uintptr_t)boot->entries;
	size_t i;

	for (i = 0; i < boot->nentries; i++)
		raft_entry_clear(&v[i]);
	free(v);
	memset(boot, 0, sizeof(*boot));
}

int
meta_log_truncate(struct meta_log *ml, int64_t offset)
{
	size_t idx;

	if (offset < ml->start)
		offset = ml->start;
	idx = (size_t)(offset - ml->start);
	if (idx >= ml->npos)
		return 0;
	if (ftruncate(ml->fd, (off_t)ml->pos[idx]) != 0) {
		log_warn("controller: truncate the metadata log");
		return -1;
	}
	ml->size = (off_t)ml->pos[idx];
	ml->npos = idx;
	return 0;
}

int
meta_log_append(struct meta_log *ml, const struct raft_entry *v, size_t n)
{
	struct wbuf w = { 0 };
	size_t i, done = 0;
	ssize_t k;
	int rc = 0;

	for (i = 0; i < n; i++) {
		MO_ASSERT(v[i].offset == ml->start + (int64_t)ml->npos);
		meta_pos_push(ml, (int64_t)ml->size + (int64_t)w.len);
		if (meta_entry_encode(&w, &v[i]) != 0)
			rc = -1;
	}
	while (rc == 0 && done < w.len) {
		k = pwrite(ml->fd, w.data + done, w.len - done,
		    ml->size + (off_t)done);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0) {
			log_warn("controller: write the metadata log");
			rc = -1;
			break;
		}
		done += (size_t)k;
	}
	ml->size += (off_t)done;
	wbuf_clear(&w);
	return rc;
}

/* ---- worker ---- */

static void *
meta_worker(void *arg)
{
	struct meta_log *ml = arg;
	struct meta_job *j;
	char c = 1;

	pthread_mutex_lock(&ml->mu);
	for (;;) {
		while (ml->todo == NULL && !ml->stop)
			pthread_cond_wait(&ml->cv, &ml->mu);
		if (ml->todo == NULL)
			break;
		j = ml->todo;
		ml->todo = j->next;
		if (ml->todo == NULL)
			ml->todo_tail = &ml->todo;
		pthread_mutex_unlock(&ml->mu);
		j->err = 0;
		if (j->write_hard && meta_write_hard(ml->dir, &j->hard) != 0)
			j->err = MO_EIO;
		if (j->sync_log && fdatasync(ml->fd) != 0)
			j->err = MO_EIO;
		pthread_mutex_lock(&ml->mu);
		j->next = NULL;
		*ml->done_tail = j;
		ml->done_tail = &j->next;
		if (write(ml->pipe[1], &c, 1) < 0 && errno != EAGAIN)
			log_warn("controller: worker pipe");
	}
	pthread_mutex_unlock(&ml->mu);
	return NULL;
}

static void
meta_done_cb(evutil_socket_t fd, short what, void *arg)
{
	struct meta_log *ml = arg;
	struct meta_job *list, *j;
	char buf[256];

	(void)what;
	while (read(fd, buf, sizeof(buf)) > 0)
		;
	pthread_mutex_lock(&ml->mu);
	list = ml->done;
	ml->done = NULL;
	ml->done_tail = &ml->done;
	pthread_mutex_unlock(&ml->mu);
	while ((j = list) != NULL) {
		list = j->next;
		ml->done_fn(j, ml->done_arg);
	}
}

int
meta_log_start(struct meta_log *ml, struct event_base *base,
    meta_job_done_fn fn, void *arg)
{
	if (pipe(ml->pipe) != 0)
		return -1;
	fcntl(ml->pipe[0], F_SETFL, O_NONBLOCK);
	fcntl(ml->pipe[1], F_SETFL, O_NONBLOCK);
	ml->done_fn = fn;
	ml->done_arg = arg;
	ml->todo_tail = &ml->todo;
	ml->done_tail = &ml->done;
	pthread_mutex_init(&ml->mu, NULL);
	pthread_cond_init(&ml->cv, NULL);
	ml->ev = event_new(base, ml->pipe[0], EV_READ | EV_PERSIST,
	    meta_done_cb, ml);
	if (ml->ev == NULL || event_add(ml->ev, NULL) != 0)
		return -1;
	if (pthread_create(&ml->thread, NULL, meta_worker, ml) != 0)
		return -1;
	ml->running = true;
	return 0;
}

void
meta_log_submit(struct meta_log *ml, struct meta_job *j)
{
	j->next = NULL;
	pthread_mutex_lock(&ml->mu);
	*ml->todo_tail = j;
	ml->todo_tail = &j->next;
	pthread_cond_signal(&ml->cv);
	pthread_mutex_unlock(&ml->mu);
}

void
meta_log_close(struct meta_log *ml)
{
	struct meta_job *j;

	if (ml == NULL)
		return;
	if (ml->running) {
		pthread_mutex_lock(&ml->mu);
		ml->stop = true;
		pthread_cond_signal(&ml->cv);
		pthread_mutex_unlock(&ml->mu);
		pthread_join(ml->thread, NULL);
		while ((j = ml->todo) != NULL) {
			ml->todo = j->next;
			free(j);
		}
		while ((j = ml->done) != NULL) {
			ml->done = j->next;
			free(j);
		}
		pthread_mutex_destroy(&ml->mu);
		pthread_cond_destroy(&ml->cv);
	}
	if (ml->ev != NULL)
		event_free(ml->ev);
	if (ml->pipe[0] >= 0)
		close(ml->pipe[0]);
	if (ml->pipe[1] >= 0)
		close(ml->pipe[1]);
	if (ml->fd >= 0)
		close(ml->fd);
	free(ml->pos);
	free(ml->dir);
	free(ml);
}
