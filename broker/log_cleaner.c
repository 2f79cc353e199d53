/*
 * The log cleaner (compaction): one worker thread, one job at a time.
 *
 * The maintenance timer offers every partition of a compacted topic
 * (cleaner_consider).  A partition is due when the dirty part of its
 * cleanable segments (closed, and whose newest record is older than
 * min.compaction.lag.ms) is at least min.cleanable.dirty.ratio of them, or
 * when a tombstone kept by an earlier pass has outlived
 * delete.retention.ms.  The loop hands the thread references to those
 * segments; the thread
 *
 *  1. builds an offset map, key -> last offset, over the dirty segments
 *     (at or after the cleaner position, "cleaner-offset");
 *  2. rewrites every cleanable segment into <base>.log.cleaned, keeping a
 *     record only when no later record has its key, with its original
 *     offset (gaps), timestamp and headers; a batch keeps its codec,
 *     producer fields and attributes; an untouched batch (and every
 *     control batch) is copied as it is, a batch left empty is dropped
 *     (but for the log's last batch, kept without records so consumers
 *     reach the log end);
 *  3. drops a tombstone (null value) once the segment holding it was
 *     cleaned before and that was delete.retention.ms ago (the cleaned
 *     file's mtime records when it was first cleaned);
 *  4. swaps each changed segment in: fsync, remove the old indexes, rename
 *     over the .log, open it (rebuilding the indexes).
 *
 * The loop then replaces the segments in the partition log.  In-flight
 * reads keep the old segment (its open descriptors hold the old file) until
 * their references drop.  A crash at any point leaves either the old or
 * the cleaned file, both valid; .cleaned leftovers are removed at start.
 * Retention is paused while a job is out (plog_retain).
 */
#include <sys/stat.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "batch.h"
#include "broker.h"
#include "err.h"
#include "log.h"
#include "log_segment.h"
#include "log_service.h"
#include "xmalloc.h"

#define CLEANER_MAX_DECOMPRESSED	((size_t)256 << 20)
#define CLEANER_WRITE_CHUNK		((size_t)1 << 20)
#define CLEANER_MAP_MAX_SLOTS		((size_t)1 << 23)	/* 192 MiB */

/* ---- offset map: 128-bit key hash -> last offset ---- */

struct omap_ent {
	uint64_t	h1, h2;
	int64_t		offset;		/* -1: free slot */
};

struct omap {
	struct omap_ent	*v;
	size_t		 cap, n;
};

static uint64_t
omap_mix(uint64_t x)
{
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ULL;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebULL;
	x ^= x >> 31;
	return x;
}

static void
omap_hash(const uint8_t *p, size_t len, uint64_t *h1, uint64_t *h2)
{
	uint64_t a = 0xcbf29ce484222325ULL, b = 0x9e3779b97f4a7c15ULL ^ len;

	for (size_t i = 0; i < len; i++) {
		a = (a ^ p[i]) * 0x100000001b3ULL;
		b = omap_mix(b + p[i] + (uint64_t)i * 0x632be59bd9b4e019ULL);
	}
	*h1 = omap_mix(a ^ len);
	*h2 = b;
}

static void
omap_init(struct omap *m, size_t cap)
{
	m->cap = cap;
	m->n = 0;
	m->v = xreallocarray(NULL, cap, sizeof(*m->v));
	for (size_t i = 0; i < cap; i++)
		m->v[i].offset = -1;
}

static struct omap_ent *
omap_slot(const struct omap *m, uint64_t h1, uint64_t h2)
{
	size_t i = (size_t)h1 & (m->cap - 1);

	for (;;) {
		struct omap_ent *e = &m->v[i];

		if (e->offset < 0 || (e->h1 == h1 && e->h2 == h2))
			return e;
		i = (i + 1) & (m->cap - 1);
	}
}

static void
omap_put(struct omap *m, uint64_t h1, uint64_t h2, int64_t offset)
{
	struct omap_ent *e;

	if ((m->n + 1) * 2 > m->cap) {
		struct omap old = *m;

		omap_init(m, old.cap * 2);
		for (size_t i = 0; i < old.cap; i++)
			if (old.v[i].offset >= 0)
				omap_put(m, old.v[i].h1, old.v[i].h2,
				    old.v[i].offset);
		free(old.v);
	}
	e = omap_slot(m, h1, h2);
	if (e->offset < 0) {
		e->h1 = h1;
		e->h2 = h2;
		m->n++;
	}
	if (offset > e->offset)
		e->offset = offset;
}

/* The last offset of the key, -1 when the map does not hold it. */
static int64_t
omap_get(const struct omap *m, uint64_t h1, uint64_t h2)
{
	return omap_slot(m, h1, h2)->offset;
}

/* ---- jobs ---- */

struct clean_job {
	struct plog	 *pl;		/* loop side; NULL once abandoned */
	pthread_mutex_t	 *mu;		/* the cleaner's, held around swaps */
	atomic_bool	  cancel;
	char		 *dir;
	struct seg	**segs;		/* cleanable segments, referenced */
	size_t		  nsegs;
	int64_t		  clean_end;	/* cleaner position before */
	int64_t		  dirty_end;	/* base after the last cleanable */
	int64_t		  log_end;
	int64_t		  now;
	int64_t		  delete_retention_ms;
	/* results */
	struct seg	**out;		/* cleaned segment or NULL */
	int64_t		  new_clean_end;
	int64_t		  tomb_due;
	int		  err;
	uint64_t	  bytes_in, bytes_out;
	int64_t		  removed, tombs_removed;
	double		  secs;
};

struct cleaner {
	struct broker		*b;
	pthread_t		 thr;
	pthread_mutex_t		 mu;
	pthread_cond_t		 cv;
	struct clean_job	*todo, *done, *busy;	/* busy: loop side */
	bool			 stop;
	int			 pipe[2];
	struct event		*ev;
	uint64_t		 passes;
};

static void
job_free(struct clean_job *j)
{
	for (size_t i = 0; i < j->nsegs; i++) {
		seg_unref(j->segs[i]);
		if (j->out != NULL)
			seg_unref(j->out[i]);
	}
	free(j->segs);
	free(j->out);
	free(j->dir);
	free(j);
}

/* Read the batch at pos of s into *buf (grown as needed). */
static int
cleaner_read_batch(const struct seg *s, uint64_t pos, struct batch_info *bi,
    uint8_t **buf, size_t *cap)
{
	int rc;

	if ((rc = seg_header(s, pos, bi)) != 0)
		return rc;
	if (batch_size(bi) > *cap) {
		*cap = batch_size(bi);
		*buf = xrealloc(*buf, *cap);
	}
	return seg_pread(s, pos, *buf, batch_size(bi));
}

/* Add the keys of segment s to the map. */
static int
cleaner_map_segment(struct clean_job *j, const struct seg *s, struct omap *m)
{
	struct wbuf tmp = { 0 };
	struct batch_info bi;
	uint8_t *buf = NULL;
	size_t cap = 0;
	uint64_t pos = 0;
	int rc = 0;

	while (rc == 0 && pos < s->size && !atomic_load(&j->cancel)) {
		struct record rec;
		struct rd r;

		if ((rc = cleaner_read_batch(s, pos, &bi, &buf, &cap)) != 0)
			break;
		pos += batch_size(&bi);
		if (bi.attributes & BATCH_ATTR_CONTROL)
			continue;
		wbuf_reset(&tmp);
		if ((rc = batch_records(buf, &bi, CLEANER_MAX_DECOMPRESSED,
		    &tmp, &r)) != 0)
			break;
		for (int32_t i = 0; i < bi.record_count; i++) {
			uint64_t h1, h2;

			if ((rc = batch_records_next(&r, &rec)) != 0)
				break;
			if (rec.key.len < 0)
				continue;
			omap_hash(rec.key.p, (size_t)rec.key.len, &h1, &h2);
			omap_put(m, h1, h2, bi.base_offset + rec.offset_delta);
		}
	}
	free(buf);
	wbuf_clear(&tmp);
	return atomic_load(&j->cancel) ? MO_EINVAL : rc;
}

static int
cleaner_write(int fd, struct wbuf *w)
{
	size_t done = 0;

	while (done < w->len) {
		ssize_t n = write(fd, w->data + done, w->len - done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return MO_EIO;
		done += (size_t)n;
	}
	wbuf_reset(w);
	return 0;
}

/* Per-segment state of a rewrite. */
struct clean_seg {
	struct clean_job	*j;
	const struct omap	*m;
	bool			 drop_tombs;	/* past delete.retention.ms */
	bool			 changed;
	bool			 kept_tomb;
	struct wbuf		 out;
	struct record_header	*hdrs;
	int32_t			 caphdrs;
};

/* Whether the record at offset is kept. */
static bool
cleaner_keep(struct clean_seg *cs, const struct record *rec, int64_t offset)
{
	uint64_t h1, h2;
	int64_t last;

	if (rec->key.len < 0)
		return true;	/* keyless: from before the policy; keep */
	omap_hash(rec->key.p, (size_t)rec->key.len, &h1, &h2);
	last = omap_get(cs->m, h1, h2);
	if (last > offset)
		return false;
	if (rec->value.len < 0) {
		if (cs->drop_tombs) {
			cs->j->tombs_removed++;
			return false;
		}
		cs->kept_tomb = true;
	}
	return true;
}

/* Rebuild a batch with the records kept (keep[i]); appends to cs->out. */
static int
cleaner_rebuild(struct clean_seg *cs, const uint8_t *p,
    const struct batch_info *bi, const bool *keep, struct wbuf *tmp)
{
	struct batch_builder bb;
	struct record rec;
	struct rd r;
	int rc;

	wbuf_reset(tmp);
	if ((rc = batch_records(p, bi, CLEANER_MAX_DECOMPRESSED, tmp, &r))
	    != 0)
		return rc;
	batch_builder_init(&bb, batch_codec(bi), bi->base_offset,
	    bi->base_timestamp);
	bb.attributes = (int16_t)(bi->attributes & ~BATCH_ATTR_CODEC_MASK);
	batch_builder_set_producer(&bb, bi->producer_id, bi->producer_epoch,
	    bi->base_sequence);
	batch_builder_set_leader_epoch(&bb, bi->leader_epoch);
	for (int32_t i = 0; i < bi->record_count; i++) {
		struct rd hr;
		int32_t nh = 0;

		if ((rc = batch_records_next(&r, &rec)) != 0)
			break;
		if (!keep[i])
			continue;
		if (rec.header_count > cs->caphdrs) {
			cs->caphdrs = rec.header_count;
			cs->hdrs = xreallocarray(cs->hdrs,
			    (size_t)cs->caphdrs, sizeof(*cs->hdrs));
		}
		rd_init(&hr, rec.headers, rec.headers_len);
		while (nh < rec.header_count &&
		    record_headers_next(&hr, &cs->hdrs[nh]) == 0)
			nh++;
		batch_builder_add_at(&bb, rec.offset_delta,
		    bi->base_timestamp + rec.timestamp_delta,
		    rec.key.p, rec.key.len, rec.value.p, rec.value.len,
		    cs->hdrs, nh);
	}
	if (rc == 0 && (bi->attributes & BATCH_ATTR_LOG_APPEND_TIME))
		bb.max_timestamp = bi->max_timestamp;
	/*
	 * Keep the batch's last offset even when its last records went: the
	 * log's end must stay reachable (a consumer at an offset past the
	 * last kept record must find a batch covering it, or it never
	 * reaches the high watermark).
	 */
	if (rc == 0 && bb.last_delta < bi->last_offset_delta)
		bb.last_delta = bi->last_offset_delta;
	if (rc == 0)
		rc = batch_builder_finish(&bb, &cs->out);
	batch_builder_clear(&bb);
	return rc;
}

/* Filter one batch into cs->out. */
static int
cleaner_batch(struct clean_seg *cs, const uint8_t *p,
    const struct batch_info *bi, struct wbuf *tmp, bool **keep,
    size_t *capkeep)
{
	struct record rec;
	struct rd r;
	int32_t nkeep = 0;
	int rc;

	if (bi->attributes & BATCH_ATTR_CONTROL) {
		wbuf_put(&cs->out, p, batch_size(bi));
		return 0;
	}
	wbuf_reset(tmp);
	if ((rc = batch_records(p, bi, CLEANER_MAX_DECOMPRESSED, tmp, &r)) != 0)
		return rc;
	if ((size_t)bi->record_count > *capkeep) {
		*capkeep = (size_t)bi->record_count;
		*keep = xreallocarray(*keep, *capkeep, sizeof(**keep));
	}
	for (int32_t i = 0; i < bi->record_count; i++) {
		if ((rc = batch_records_next(&r, &rec)) != 0)
			return rc;
		(*keep)[i] = cleaner_keep(cs, &rec, bi->base_offset +
		    rec.offset_delta);
		nkeep += (*keep)[i];
	}
	cs->j->removed += bi->record_count - nkeep;
	if (nkeep == bi->record_count) {
		wbuf_put(&cs->out, p, batch_size(bi));
		return 0;
	}
	cs->changed = true;
	if (nkeep == 0 && batch_last_offset(bi) + 1 == cs->j->log_end) {
		uint8_t hdr[BATCH_HEADER_SIZE];

		/* The log's last records: leave their offsets behind. */
		memcpy(hdr, p, sizeof(hdr));
		batch_make_empty(hdr);
		wbuf_put(&cs->out, hdr, sizeof(hdr));
		return 0;
	}
	if (nkeep == 0)
		return 0;
	return cleaner_rebuild(cs, p, bi, *keep, tmp);
}

/*
 * Rename the cleaned file over the segment's .log (old indexes removed
 * first, so a crash between leaves a log whose indexes get rebuilt) and
 * open it.
 */
static int
cleaner_swap_files(struct clean_job *j, const struct seg *s, const char *tmp,
    struct seg **out)
{
	static const char *const idx[2] = { ".index", ".timeindex" };
	char *logp = seg_file(j->dir, s->base, ".log");
	int rc = 0;

	for (int i = 0; i < 2; i++) {
		char *p = seg_file(j->dir, s->base, idx[i]);

		if (unlink(p) != 0 && errno != ENOENT) {
			log_warn("broker: cleaner: unlink %s", p);
			rc = MO_EIO;
		}
		free(p);
	}
	if (rc == 0 && rename(tmp, logp) != 0) {
		log_warn("broker: cleaner: rename %s", tmp);
		rc = MO_EIO;
	}
	free(logp);
	if (rc == 0)
		rc = seg_open(j->dir, s->base, SEG_TRUST, out);
	return rc;
}

/* Clean segment i of the job; sets j->out[i] when it changed. */
static int
cleaner_segment(struct clean_job *j, size_t i, const struct omap *m)
{
	struct seg *s = j->segs[i];
	struct clean_seg cs = { .j = j, .m = m };
	struct batch_info bi;
	struct wbuf tmp = { 0 };
	struct stat st;
	struct timespec first;
	bool *keep = NULL, cleaned_before = s->base < j->clean_end;
	size_t capkeep = 0, cap = 0;
	uint8_t *buf = NULL;
	uint64_t pos = 0;
	char *tpath;
	int fd, rc = 0;

	if (fstat(s->fd, &st) != 0)
		return MO_EIO;
	/* When this segment was first cleaned (now, if this is the first). */
	first = st.st_mtim;
	if (!cleaned_before)
		clock_gettime(CLOCK_REALTIME, &first);
	cs.drop_tombs = cleaned_before && j->now - ((int64_t)first.tv_sec *
	    1000 + first.tv_nsec / 1000000) >= j->delete_retention_ms;
	tpath = seg_file(j->dir, s->base, ".log.cleaned");
	fd = open(tpath, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd == -1) {
		log_warn("broker: cleaner: open %s", tpath);
		free(tpath);
		return MO_EIO;
	}
	while (rc == 0 && pos < s->size) {
		if (atomic_load(&j->cancel)) {
			rc = MO_EINVAL;
			break;
		}
		if ((rc = cleaner_read_batch(s, pos, &bi, &buf, &cap)) != 0)
			break;
		pos += batch_size(&bi);
		rc = cleaner_batch(&cs, buf, &bi, &tmp, &keep, &capkeep);
		if (rc == 0 && cs.out.len >= CLEANER_WRITE_CHUNK)
			rc = cleaner_write(fd, &cs.out);
	}
	if (rc == 0 && cs.changed)
		rc = cleaner_write(fd, &cs.out);
	j->bytes_in += s->size;
	if (rc == 0 && cs.kept_tomb) {
		int64_t due = (int64_t)first.tv_sec * 1000 +
		    first.tv_nsec / 1000000 + j->delete_retention_ms;

		if (due < j->tomb_due)
			j->tomb_due = due;
	}
	if (rc == 0 && cs.changed) {
		struct timespec ts[2] = { first, first };

		if (fdatasync(fd) != 0 || futimens(fd, ts) != 0)
			rc = MO_EIO;
	} else if (rc == 0 && !cleaned_before) {
		/* Unchanged: mark when it was first cleaned. */
		(void)futimens(s->fd, NULL);
	}
	close(fd);
	if (rc == 0 && cs.changed) {
		pthread_mutex_lock(j->mu);
		if (atomic_load(&j->cancel))
			rc = MO_EINVAL;
		else
			rc = cleaner_swap_files(j, s, tpath, &j->out[i]);
		pthread_mutex_unlock(j->mu);
		if (rc == 0)
			j->bytes_out += j->out[i]->size;
		else
			(void)unlink(tpath);
	} else {
		if (unlink(tpath) != 0)
			log_warn("broker: cleaner: unlink %s", tpath);
		if (rc == 0)
			j->bytes_out += s->size;
	}
	free(tpath);
	free(buf);
	free(keep);
	free(cs.hdrs);
	wbuf_clear(&tmp);
	wbuf_clear(&cs.out);
	return rc;
}

static void
cleaner_sync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd == -1)
		return;
	if (fsync(fd) != 0)
		log_warn("broker: cleaner: fsync %s", dir);
	close(fd);
}

/* The whole job, on the worker thread. */
static void
cleaner_run(struct clean_job *j)
{
	struct omap m;
	size_t first_dirty = j->nsegs, stop = j->nsegs;
	struct timespec t0, t1;
	int rc = 0;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	j->out = xcalloc(j->nsegs, sizeof(*j->out));
	j->tomb_due = INT64_MAX;
	omap_init(&m, 1024);
	for (size_t i = 0; i < j->nsegs && rc == 0; i++) {
		const struct seg *s = j->segs[i];
		uint64_t most = (uint64_t)(s->next_offset - s->base);

		if (s->base < j->clean_end)
			continue;
		if (first_dirty == j->nsegs)
			first_dirty = i;
		/* Keep the map bounded: stop at a segment boundary. */
		if (i > first_dirty &&
		    (m.n + most) * 2 > CLEANER_MAP_MAX_SLOTS) {
			stop = i;
			break;
		}
		rc = cleaner_map_segment(j, s, &m);
	}
	j->new_clean_end = stop < j->nsegs ? j->segs[stop]->base :
	    j->dirty_end;
	for (size_t i = 0; i < stop && rc == 0; i++)
		rc = cleaner_segment(j, i, &m);
	free(m.v);
	if (rc == 0)
		cleaner_sync_dir(j->dir);
	j->err = rc;
	clock_gettime(CLOCK_MONOTONIC, &t1);
	j->secs = (double)(t1.tv_sec - t0.tv_sec) +
	    (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
}

static void *
cleaner_main(void *arg)
{
	struct cleaner *c = arg;

	pthread_mutex_lock(&c->mu);
	for (;;) {
		struct clean_job *j;

		while (!c->stop && c->todo == NULL)
			pthread_cond_wait(&c->cv, &c->mu);
		if (c->stop)
			break;
		j = c->todo;
		c->todo = NULL;
		pthread_mutex_unlock(&c->mu);
		cleaner_run(j);
		pthread_mutex_lock(&c->mu);
		c->done = j;
		while (write(c->pipe[1], "", 1) < 0 && errno == EINTR)
			continue;
	}
	pthread_mutex_unlock(&c->mu);
	return NULL;
}

/* ---- loop side ---- */

static void
cleaner_apply(struct cleaner *c, struct clean_job *j)
{
	struct plog *pl = j->pl;
	size_t swapped = 0;

	c->busy = NULL;
	c->passes++;
	if (pl == NULL) {
		job_free(j);
		return;
	}
	pl->cleaning = false;
	pl->clean_job = NULL;
	for (size_t i = 0; i < j->nsegs; i++) {
		if (j->out[i] == NULL)
			continue;
		if (i < pl->nsegs && pl->segs[i] == j->segs[i]) {
			plog_swap_segment(pl, i, j->out[i]);
			swapped++;
		} else
			seg_unref(j->out[i]);
		j->out[i] = NULL;
	}
	if (j->err != 0) {
		log_warnx("broker: log %s: cleaning failed (%s); %zu segments "
		    "swapped", pl->dir, mo_strerror(j->err), swapped);
		pl->clean_retry_ms = j->now + 30000;
	} else {
		(void)plog_set_clean_end(pl, j->new_clean_end);
		pl->tomb_due = j->tomb_due;
		log_info("broker: log %s: cleaned %zu segments below offset "
		    "%" PRId64 " in %.3f s: %" PRIu64 " -> %" PRIu64 " bytes, "
		    "%" PRId64 " records removed (%" PRId64 " tombstones)",
		    pl->dir, j->nsegs, j->new_clean_end, j->secs, j->bytes_in,
		    j->bytes_out, j->removed, j->tombs_removed);
	}
	job_free(j);
}

static void
cleaner_pipe_cb(evutil_socket_t fd, short what, void *arg)
{
	struct cleaner *c = arg;
	struct clean_job *j;
	char buf[64];

	(void)what;
	while (read(fd, buf, sizeof(buf)) > 0)
		continue;
	pthread_mutex_lock(&c->mu);
	j = c->done;
	c->done = NULL;
	pthread_mutex_unlock(&c->mu);
	if (j != NULL)
		cleaner_apply(c, j);
}

struct cleaner *
cleaner_new(struct event_base *base)
{
	struct cleaner *c = xcalloc(1, sizeof(*c));

	if (pipe2(c->pipe, O_CLOEXEC | O_NONBLOCK) != 0)
		fatal("pipe2");
	pthread_mutex_init(&c->mu, NULL);
	pthread_cond_init(&c->cv, NULL);
	c->ev = event_new(base, c->pipe[0], EV_READ | EV_PERSIST,
	    cleaner_pipe_cb, c);
	event_add(c->ev, NULL);
	if (pthread_create(&c->thr, NULL, cleaner_main, c) != 0)
		fatalx("broker: cannot start the log cleaner thread");
	return c;
}

void
cleaner_free(struct cleaner *c)
{
	if (c == NULL)
		return;
	pthread_mutex_lock(&c->mu);
	c->stop = true;
	if (c->busy != NULL)
		atomic_store(&c->busy->cancel, true);
	pthread_cond_signal(&c->cv);
	pthread_mutex_unlock(&c->mu);
	pthread_join(c->thr, NULL);
	if (c->busy != NULL) {
		struct clean_job *j = c->busy;

		/* Whatever was swapped on disk is opened again at start. */
		if (j->pl != NULL) {
			j->pl->cleaning = false;
			j->pl->clean_job = NULL;
		}
		job_free(j);
	}
	event_free(c->ev);
	close(c->pipe[0]);
	close(c->pipe[1]);
	pthread_mutex_destroy(&c->mu);
	pthread_cond_destroy(&c->cv);
	free(c);
}

uint64_t
cleaner_passes(const struct cleaner *c)
{
	return c->passes;
}

void
cleaner_consider(struct cleaner *c, struct plog *pl, int64_t now)
{
	const struct plog_conf *cf = &pl->conf;
	struct clean_job *j;
	uint64_t total = 0, dirty = 0;
	size_t k = 0;

	if (c->busy != NULL || pl->cleaning || pl->nsegs < 2 ||
	    now < pl->clean_retry_ms)
		return;
	for (size_t i = 0; i + 1 < pl->nsegs; i++) {
		const struct seg *s = pl->segs[i];

		if (cf->min_compaction_lag_ms > 0 && s->max_ts >= 0 &&
		    now - s->max_ts < cf->min_compaction_lag_ms)
			break;
		total += s->size;
		if (s->base >= pl->clean_end)
			dirty += s->size;
		k = i + 1;
	}
	if (k == 0 || total == 0)
		return;
	if (!(dirty > 0 && (double)dirty / (double)total >=
	    cf->min_dirty_ratio) && now < pl->tomb_due)
		return;
	j = xcalloc(1, sizeof(*j));
	j->pl = pl;
	j->mu = &c->mu;
	atomic_init(&j->cancel, false);
	j->dir = xstrdup(pl->dir);
	j->nsegs = k;
	j->segs = xreallocarray(NULL, k, sizeof(*j->segs));
	for (size_t i = 0; i < k; i++)
		j->segs[i] = seg_ref(pl->segs[i]);
	j->clean_end = pl->clean_end;
	j->dirty_end = pl->segs[k]->base;
	j->log_end = pl->log_end;
	j->now = now;
	j->delete_retention_ms = cf->delete_retention_ms;
	pl->cleaning = true;
	pl->clean_job = j;
	/* Until the job reports, do not run again for old tombstones. */
	pl->tomb_due = INT64_MAX;
	log_debug("broker: log %s: cleaning %zu segments (dirty %" PRIu64
	    " of %" PRIu64 " bytes)", pl->dir, k, dirty, total);
	c->busy = j;
	pthread_mutex_lock(&c->mu);
	c->todo = j;
	pthread_cond_signal(&c->cv);
	pthread_mutex_unlock(&c->mu);
}

void
cleaner_abandon(struct clean_job *j)
{
	/*
	 * The partition log goes away (topic deleted, broker stopping): no
	 * more renames into its directory after this returns.  The worker
	 * holds the mutex across each check-and-rename; taking it waits.
	 */
	pthread_mutex_lock(j->mu);
	atomic_store(&j->cancel, true);
	pthread_mutex_unlock(j->mu);
	j->pl = NULL;
}
