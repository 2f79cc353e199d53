/*
 * The controller's metadata log and quorum state on disk (see meta_log.h).
 */
#include <sys/stat.h>

#include <dirent.h>
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

#define META_SUFFIX	".log"
#define META_MAX_BATCH	(64u << 20)
#define META_CONTROL_LEADER_CHANGE 2	/* control record type */

struct meta_log {
	char			*dir;
	char			*path;		/* the segment */
	int			 fd;
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
	void			(*free_fn)(struct meta_job *);
};

static int	meta_log_truncate(struct meta_log *, int64_t);
static int	meta_log_append(struct meta_log *, const struct raft_entry *,
		    size_t);

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
		if (e.offset != ml->start + (int64_t)cnt) {
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
		log_warnx("controller: %s: cutting a torn or corrupt tail "
		    "at byte %zu of %lld", ml->path, off,
		    (long long)st.st_size);
		if (ftruncate(ml->fd, (off_t)off) != 0 || fsync(ml->fd) != 0) {
			log_warn("controller: truncate %s", ml->path);
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

static int
meta_fsync_dir(const char *dir)
{
	int fd, rc;

	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return -1;
	rc = fsync(fd);
	close(fd);
	return rc;
}

/*
 * Move the log to a new file starting at start: with keep, the entries from
 * start on are copied; otherwise the new log is empty.  Blocking: on the
 * worker or before the loop runs.
 */
static int
meta_rewrite(struct meta_log *ml, int64_t start, bool keep)
{
	char path[4096], tmp[4200];
	size_t idx = 0, i;
	off_t from = ml->size, len;
	uint8_t *buf = NULL;
	int fd = -1;

	if (keep && start >= ml->start &&
	    start < ml->start + (int64_t)ml->npos) {
		idx = (size_t)(start - ml->start);
		from = (off_t)ml->pos[idx];
	} else
		keep = false;
	len = keep ? ml->size - from : 0;
	snprintf(path, sizeof(path), "%s/%020lld%s", ml->dir, (long long)start,
	    META_SUFFIX);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	if ((fd = open(tmp, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC,
	    0644)) < 0)
		goto fail;
	if (len > 0) {
		buf = xmalloc((size_t)len);
		if (pread(ml->fd, buf, (size_t)len, from) != len ||
		    write(fd, buf, (size_t)len) != len)
			goto fail;
		free(buf);
		buf = NULL;
	}
	if (fsync(fd) != 0 || rename(tmp, path) != 0 ||
	    meta_fsync_dir(ml->dir) != 0)
		goto fail;
	if (strcmp(path, ml->path) != 0 && unlink(ml->path) != 0)
		log_warn("controller: unlink %s", ml->path);
	close(ml->fd);
	ml->fd = fd;
	free(ml->path);
	ml->path = xstrdup(path);
	if (keep) {
		for (i = idx; i < ml->npos; i++)
			ml->pos[i - idx] = ml->pos[i] - (int64_t)from;
		ml->npos -= idx;
	} else
		ml->npos = 0;
	ml->size = len;
	ml->start = start;
	return 0;
fail:
	log_warn("controller: rewrite the metadata log as %s", path);
	free(buf);
	if (fd >= 0) {
		close(fd);
		unlink(tmp);
	}
	return -1;
}

/* The segment with the highest base offset; older ones are removed. */
static int
meta_pick_segment(struct meta_log *ml, int64_t *base)
{
	DIR *d = opendir(ml->dir);
	struct dirent *de;
	char best[64] = "", path[4096];
	size_t l;

	if (d == NULL)
		return -1;
	while ((de = readdir(d)) != NULL) {
		l = strlen(de->d_name);
		if (l != 20 + strlen(META_SUFFIX) ||
		    strspn(de->d_name, "0123456789") != 20 ||
		    strcmp(de->d_name + 20, META_SUFFIX) != 0)
			continue;
		if (best[0] != '\0' && strcmp(de->d_name, best) < 0) {
			snprintf(path, sizeof(path), "%s/%s", ml->dir,
			    de->d_name);
			unlink(path);
			continue;
		}
		if (best[0] != '\0') {
			snprintf(path, sizeof(path), "%s/%s", ml->dir, best);
			unlink(path);
		}
		if (strlen(de->d_name) < sizeof(best))
			memcpy(best, de->d_name, strlen(de->d_name) + 1);
	}
	closedir(d);
	if (best[0] == '\0')
		snprintf(best, sizeof(best), "%020d%s", 0, META_SUFFIX);
	*base = strtoll(best, NULL, 10);
	snprintf(path, sizeof(path), "%s/%s", ml->dir, best);
	ml->path = xstrdup(path);
	return 0;
}

struct meta_log *
meta_log_open(const char *dir, int64_t snap_offset, struct raft_boot *boot,
    char *err, size_t errlen)
{
	struct meta_log *ml;
	struct raft_entry *v;
	size_t skip, i;

	memset(boot, 0, sizeof(*boot));
	if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
		snprintf(err, errlen, "%s: %s", dir, strerror(errno));
		return NULL;
	}
	ml = xcalloc(1, sizeof(*ml));
	ml->dir = xstrdup(dir);
	ml->pipe[0] = ml->pipe[1] = -1;
	ml->fd = -1;
	if (meta_pick_segment(ml, &ml->start) != 0) {
		snprintf(err, errlen, "%s: %s", dir, strerror(errno));
		goto fail;
	}
	ml->fd = open(ml->path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (ml->fd < 0) {
		snprintf(err, errlen, "%s: %s", ml->path, strerror(errno));
		goto fail;
	}
	if (meta_read_hard(dir, &boot->hard) != 0) {
		snprintf(err, errlen, "%s/quorum-state: unreadable or corrupt",
		    dir);
		goto fail;
	}
	if (meta_load_segment(ml, boot) != 0) {
		snprintf(err, errlen, "%s: cannot read the log", ml->path);
		goto fail;
	}
	if (ml->start > snap_offset && ml->npos > 0) {
		snprintf(err, errlen, "%s: the log starts at offset %lld, after "
		    "the newest usable snapshot (%lld); wipe %s to rebuild "
		    "this controller from the quorum", ml->path,
		    (long long)ml->start, (long long)snap_offset, dir);
		goto fail;
	}
	/* A log that covers the snapshot keeps its older entries on disk (a
	   fallback to an older snapshot replays them); the core gets the
	   entries from the snapshot on. */
	if (ml->start < snap_offset &&
	    snap_offset <= ml->start + (int64_t)ml->npos) {
		v = (struct raft_entry *)(uintptr_t)boot->entries;
		skip = (size_t)(snap_offset - ml->start);
		for (i = 0; i < skip; i++)
			raft_entry_clear(&v[i]);
		for (i = skip; i < boot->nentries; i++)
			v[i - skip] = v[i];
		boot->nentries -= skip;
	} else if (ml->start != snap_offset) {
		if (meta_rewrite(ml, snap_offset, true) != 0) {
			snprintf(err, errlen, "%s: cannot drop the log before "
			    "offset %lld", dir, (long long)snap_offset);
			goto fail;
		}
		v = (struct raft_entry *)(uintptr_t)boot->entries;
		skip = 0;
		while (skip < boot->nentries && v[skip].offset < snap_offset)
			raft_entry_clear(&v[skip++]);
		if (skip < boot->nentries && v[skip].offset != snap_offset)
			skip = boot->nentries;	/* cannot happen */
		for (i = skip; i < boot->nentries; i++)
			v[i - skip] = v[i];
		boot->nentries -= skip;
		if (ml->npos != boot->nentries) {
			for (i = 0; i < boot->nentries; i++)
				raft_entry_clear(&v[i]);
			boot->nentries = 0;
		}
	}
	return ml;
fail:
	meta_log_boot_clear(boot);
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

static int
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

static int
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

void
meta_job_init(struct meta_job *j)
{
	memset(j, 0, sizeof(*j));
	j->reset_to = -1;
	j->truncate_to = -1;
	j->compact_to = -1;
}

static void
meta_run_job(struct meta_log *ml, struct meta_job *j)
{
	j->err = 0;
	if (j->pre != NULL) {
		j->pre(j);
		if (j->err != 0)
			return;
	}
	if (j->reset_to >= 0 && meta_rewrite(ml, j->reset_to, false) != 0) {
		j->err = MO_EIO;
		return;
	}
	if (j->truncate_to >= 0 && meta_log_truncate(ml, j->truncate_to) != 0)
		j->err = MO_EIO;
	if (j->err == 0 && j->nentries > 0 &&
	    meta_log_append(ml, j->entries, j->nentries) != 0)
		j->err = MO_EIO;
	if (j->write_hard && meta_write_hard(ml->dir, &j->hard) != 0)
		j->err = MO_EIO;
	if (j->sync_log && fdatasync(ml->fd) != 0)
		j->err = MO_EIO;
	/* Losing the compaction costs disk space only: keep going. */
	if (j->err == 0 && j->compact_to > ml->start &&
	    meta_rewrite(ml, j->compact_to, true) == 0)
		log_info("controller: metadata log now starts at offset %lld",
		    (long long)ml->start);
}

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
		meta_run_job(ml, j);
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
			ml->free_fn != NULL ? ml->free_fn(j) : free(j);
		}
		while ((j = ml->done) != NULL) {
			ml->done = j->next;
			ml->free_fn != NULL ? ml->free_fn(j) : free(j);
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
	free(ml->path);
	free(ml);
}

void
meta_log_set_free(struct meta_log *ml, void (*fn)(struct meta_job *))
{
	ml->free_fn = fn;
}
