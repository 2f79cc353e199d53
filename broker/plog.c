/*
 * Partition log: ordered segments named by base offset (log_segment.c).
 *
 * Opening a log lists its segment files.  After a clean stop (the
 * clean-shutdown file, removed on open) every segment's indexes are
 * trusted; otherwise the active segment is CRC-scanned batch by batch, a
 * torn or garbage tail truncated and its indexes rebuilt.  The log start
 * offset is the first segment's base, or higher when DeleteRecords moved
 * it (the log-start-offset file).
 */
#include <sys/stat.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
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
#include "tconfig.h"
#include "xmalloc.h"

#define PLOG_START_NAME		"log-start-offset"
#define PLOG_CLEAN_NAME		"clean-shutdown"
#define PLOG_CLEANER_NAME	"cleaner-offset"

static void
plog_push_seg(struct plog *pl, struct seg *s)
{
	if (pl->nsegs > 0)
		seg_seal(pl->segs[pl->nsegs - 1]);
	if (pl->nsegs == pl->capsegs) {
		pl->capsegs = pl->capsegs == 0 ? 8 : pl->capsegs * 2;
		pl->segs = xreallocarray(pl->segs, pl->capsegs,
		    sizeof(*pl->segs));
	}
	pl->segs[pl->nsegs++] = s;
}

struct seg *
plog_active(const struct plog *pl)
{
	return pl->segs[pl->nsegs - 1];
}

static int64_t
plog_read_number(const char *dir, const char *name, int64_t dflt)
{
	char *path;
	FILE *f;
	int64_t v;

	xasprintf(&path, "%s/%s", dir, name);
	f = fopen(path, "r");
	free(path);
	if (f == NULL)
		return dflt;
	if (fscanf(f, "%" SCNd64, &v) != 1)
		v = dflt;
	fclose(f);
	return v;
}

static int
plog_write_number(const char *dir, const char *name, int64_t v, bool sync)
{
	char *path, *tmp;
	FILE *f;
	int rc = 0;

	xasprintf(&path, "%s/%s", dir, name);
	xasprintf(&tmp, "%s.tmp", path);
	f = fopen(tmp, "w");
	if (f == NULL || fprintf(f, "%" PRId64 "\n", v) < 0 ||
	    fflush(f) != 0 || (sync && fsync(fileno(f)) != 0))
		rc = MO_EIO;
	if (f != NULL && fclose(f) != 0)
		rc = MO_EIO;
	if (rc == 0 && rename(tmp, path) != 0)
		rc = MO_EIO;
	if (rc != 0)
		log_warn("broker: log %s: write %s", dir, name);
	free(path);
	free(tmp);
	return rc;
}

int
plog_set_log_start(struct plog *pl, int64_t offset)
{
	int rc;

	if (offset <= pl->log_start)
		return 0;
	if (offset > pl->log_end)
		return MO_EINVAL;
	rc = plog_write_number(pl->dir, PLOG_START_NAME, offset, true);
	if (rc == 0)
		pl->log_start = offset;
	return rc;
}

static int
cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return x < y ? -1 : x > y;
}

/* Parse "<20 digits><ext>"; 0 when name is such a file. */
static int
parse_seg_name(const char *name, const char *ext, int64_t *base)
{
	size_t n = strlen(name), el = strlen(ext);
	char *end;

	if (n != 20 + el || strcmp(name + 20, ext) != 0)
		return -1;
	*base = strtoll(name, &end, 10);
	return end == name + 20 && *base >= 0 ? 0 : -1;
}

/*
 * Base offsets of the segment files in dir, sorted; leftovers of an
 * interrupted cleaning (".cleaned") are removed.
 */
static int
plog_list(const char *dir, int64_t **bases, size_t *n)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	size_t cap = 0;

	*bases = NULL;
	*n = 0;
	if (d == NULL) {
		log_warn("broker: opendir %s", dir);
		return MO_EIO;
	}
	while ((de = readdir(d)) != NULL) {
		int64_t base;

		if (strstr(de->d_name, ".cleaned") != NULL) {
			char *p;

			xasprintf(&p, "%s/%s", dir, de->d_name);
			log_warnx("broker: log %s: removing unfinished "
			    "cleaner output %s", dir, de->d_name);
			if (unlink(p) != 0)
				log_warn("broker: unlink %s", p);
			free(p);
			continue;
		}
		if (parse_seg_name(de->d_name, ".log", &base) != 0)
			continue;
		if (*n == cap) {
			cap = cap == 0 ? 8 : cap * 2;
			*bases = xreallocarray(*bases, cap, sizeof(**bases));
		}
		(*bases)[(*n)++] = base;
	}
	closedir(d);
	if (*n > 1)
		qsort(*bases, *n, sizeof(**bases), cmp_i64);
	return 0;
}

static int
plog_load_segments(struct plog *pl, bool clean)
{
	int64_t *bases;
	size_t n;
	int rc;

	if ((rc = plog_list(pl->dir, &bases, &n)) != 0)
		return rc;
	for (size_t i = 0; i < n; i++) {
		struct seg *s;
		enum seg_mode mode = clean || i + 1 < n ? SEG_TRUST :
		    SEG_RECOVER;

		if (mode == SEG_RECOVER)
			log_info("broker: log %s: unclean shutdown, "
			    "recovering segment %020" PRId64, pl->dir,
			    bases[i]);
		if ((rc = seg_open(pl->dir, bases[i], mode, &s)) != 0)
			break;
		if (pl->nsegs > 0 && s->base < plog_active(pl)->next_offset) {
			log_warnx("broker: log %s: segment %020" PRId64
			    " overlaps the one before it", pl->dir, s->base);
			seg_unref(s);
			rc = MO_EMALFORMED;
			break;
		}
		plog_push_seg(pl, s);
	}
	free(bases);
	return rc;
}

int
plog_open(const char *dir, struct plog **out)
{
	struct plog *pl;
	char *marker;
	bool clean;
	int64_t start;

	*out = NULL;
	if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
		log_warn("broker: mkdir %s", dir);
		return MO_EIO;
	}
	pl = xcalloc(1, sizeof(*pl));
	pl->dir = xstrdup(dir);
	pl->last_flush_ms = now_ms();
	xasprintf(&marker, "%s/%s", dir, PLOG_CLEAN_NAME);
	clean = access(marker, F_OK) == 0;
	if (clean && unlink(marker) != 0)
		log_warn("broker: unlink %s", marker);
	free(marker);
	start = plog_read_number(dir, PLOG_START_NAME, 0);
	if (plog_load_segments(pl, clean) != 0)
		goto fail;
	if (pl->nsegs == 0) {
		struct seg *s;

		if (seg_open(dir, start > 0 ? start : 0, SEG_CREATE, &s) != 0)
			goto fail;
		plog_push_seg(pl, s);
	}
	pl->log_start = pl->segs[0]->base;
	pl->log_end = plog_active(pl)->next_offset;
	if (start > pl->log_start && start <= pl->log_end)
		pl->log_start = start;
	pl->clean_end = plog_read_number(dir, PLOG_CLEANER_NAME, 0);
	if (pl->clean_end > pl->log_end)
		pl->clean_end = 0;
	pl->tomb_due = 0;	/* one pass after start finds old tombstones */
	pl->ok = true;
	*out = pl;
	return 0;
fail:
	plog_free(pl);
	return MO_EIO;
}

void
plog_free(struct plog *pl)
{
	if (pl == NULL)
		return;
	if (pl->clean_job != NULL)
		cleaner_abandon(pl->clean_job);
	if (pl->ok && pl->nsegs > 0) {
		struct seg *s = plog_active(pl);

		if (seg_ent_flush(s) == 0 && fdatasync(s->fd) == 0 &&
		    fdatasync(s->ifd) == 0 &&
		    fdatasync(s->tfd) == 0)
			(void)plog_write_number(pl->dir, PLOG_CLEAN_NAME, 1,
			    false);
		else
			log_warn("broker: log %s: flush at close", pl->dir);
	}
	pstate_clear(&pl->ps);
	for (size_t i = 0; i < pl->nsegs; i++)
		seg_unref(pl->segs[i]);
	free(pl->segs);
	free(pl->dir);
	free(pl);
}

static bool
policy_has(const char *list, const char *word)
{
	size_t n = strlen(word);

	for (const char *p = list; p != NULL && *p != '\0';) {
		while (*p == ' ' || *p == ',')
			p++;
		if (strncmp(p, word, n) == 0 &&
		    (p[n] == '\0' || p[n] == ',' || p[n] == ' '))
			return true;
		p = strchr(p, ',');
	}
	return false;
}

void
plog_configure(struct plog *pl, const struct topic *t)
{
	struct plog_conf *c = &pl->conf;
	const char *policy = tconfig_get(t, "cleanup.policy");

	c->segment_bytes = (uint64_t)tconfig_get_i64(t, "segment.bytes");
	c->segment_ms = tconfig_get_i64(t, "segment.ms");
	c->index_interval = (uint32_t)tconfig_get_i64(t,
	    "index.interval.bytes");
	c->index_bytes = (uint64_t)tconfig_get_i64(t, "segment.index.bytes");
	c->retention_ms = tconfig_get_i64(t, "retention.ms");
	c->retention_bytes = tconfig_get_i64(t, "retention.bytes");
	c->delete_policy = policy == NULL || policy_has(policy, "delete");
	c->compact = policy != NULL && policy_has(policy, "compact");
	c->flush_messages = tconfig_get_i64(t, "flush.messages");
	c->flush_ms = tconfig_get_i64(t, "flush.ms");
	c->delete_retention_ms = tconfig_get_i64(t, "delete.retention.ms");
	c->min_compaction_lag_ms = tconfig_get_i64(t, "min.compaction.lag.ms");
	c->min_dirty_ratio = tconfig_get_double(t, "min.cleanable.dirty.ratio");
	if (c->segment_bytes < 1024)
		c->segment_bytes = 1024;
	if (c->index_bytes < 4 * SEG_INDEX_ENTRY)
		c->index_bytes = 4 * SEG_INDEX_ENTRY;
	pl->configured = true;
}

static int
plog_roll(struct plog *pl, int64_t now)
{
	struct seg *s, *old = plog_active(pl);

	if (old->size == 0)
		return 0;
	if (seg_open(pl->dir, pl->log_end, SEG_CREATE, &s) != 0)
		return MO_EIO;
	log_debug("broker: log %s: rolled to segment %020" PRId64, pl->dir,
	    s->base);
	s->first_append_ms = now;
	plog_push_seg(pl, s);
	return 0;
}

void
plog_maybe_roll(struct plog *pl, int64_t now)
{
	struct seg *s = plog_active(pl);

	if (pl->configured && s->size > 0 && s->first_append_ms >= 0 &&
	    now - s->first_append_ms >= pl->conf.segment_ms)
		(void)plog_roll(pl, now);
}

static bool
plog_needs_roll(const struct plog *pl, size_t len, int64_t last, int64_t now)
{
	const struct seg *s = plog_active(pl);
	const struct plog_conf *c = &pl->conf;

	if (s->size == 0)
		return false;
	if (last - s->base > INT32_MAX || s->size + len > UINT32_MAX)
		return true;
	if (!pl->configured)
		return false;
	return s->size + len > c->segment_bytes ||
	    (s->nents + 1) * SEG_INDEX_ENTRY > c->index_bytes ||
	    (s->first_append_ms >= 0 &&
	    now - s->first_append_ms >= c->segment_ms);
}

/* Append batches [0, nb) that all go to the active segment. */
static int
plog_append_chunk(struct plog *pl, const uint8_t *p, size_t len,
    const int64_t *base, const int64_t *last, const int64_t *max_ts,
    const uint32_t *sizes, size_t nb, int64_t now)
{
	struct seg *s;
	int rc;

	if (plog_needs_roll(pl, len, last[nb - 1], now) &&
	    plog_roll(pl, now) != 0)
		return MO_EIO;
	s = plog_active(pl);
	rc = seg_append(s, p, len, base, last, max_ts, sizes, nb,
	    pl->configured ? pl->conf.index_interval : SEG_DEFAULT_INTERVAL);
	if (rc != 0)
		return rc;
	if (s->first_append_ms < 0)
		s->first_append_ms = now;
	pl->log_end = s->next_offset;
	pl->unflushed += last[nb - 1] + 1 - base[0];
	pl->last_append_ms = now;
	return 0;
}

/* Idempotent batches among nb appended at p: into pl's producer state. */
static void
plog_pstate_note(struct plog *pl, const uint8_t *p, size_t nb,
    const uint32_t *sizes, const int64_t *base, const int64_t *last)
{
	struct batch_info bi;
	size_t off = 0;

	for (size_t i = 0; i < nb; off += sizes[i], i++) {
		if (batch_header_parse(p + off, sizes[i], &bi) != 0 ||
		    bi.producer_id < 0 || bi.base_sequence < 0)
			continue;
		pstate_note(&pl->ps, bi.producer_id, bi.producer_epoch,
		    bi.base_sequence, pstate_last_seq(bi.base_sequence,
		    bi.last_offset_delta), base[i], last[i],
		    bi.max_timestamp);
	}
}

/* Position of a batch start at or before pos in s (0 if none indexed). */
static uint64_t
plog_batch_before(const struct seg *s, uint64_t pos)
{
	uint64_t at = 0;

	for (size_t i = 0; i < s->nents && s->ents[i].pos <= pos; i++)
		at = s->ents[i].pos;
	return at;
}

struct pstate *
plog_pstate(struct plog *pl)
{
	uint64_t need = PSTATE_SCAN_BYTES;
	size_t first = pl->nsegs;

	if (pl->ps.loaded)
		return &pl->ps;
	pstate_clear(&pl->ps);
	pl->ps.loaded = true;
	/* The segments holding the last PSTATE_SCAN_BYTES: need of first. */
	while (first > 0) {
		const struct seg *s = pl->segs[--first];

		if (s->size >= need)
			break;
		need -= s->size;
	}
	for (size_t k = first; k < pl->nsegs; k++) {
		const struct seg *s = pl->segs[k];
		uint64_t pos = 0;
		struct batch_info bi;

		if (k == first && s->size > need)
			pos = plog_batch_before(s, s->size - need);
		while (pos < s->size && seg_header(s, pos, &bi) == 0) {
			if (bi.producer_id >= 0 && bi.base_sequence >= 0)
				pstate_note(&pl->ps, bi.producer_id,
				    bi.producer_epoch, bi.base_sequence,
				    pstate_last_seq(bi.base_sequence,
				    bi.last_offset_delta), bi.base_offset,
				    bi.base_offset + bi.last_offset_delta,
				    bi.max_timestamp);
			pos += batch_size(&bi);
		}
	}
	return &pl->ps;
}

int
plog_append(struct plog *pl, const uint8_t *p, size_t len,
    const int64_t *base, const int64_t *last, const int64_t *max_ts,
    const uint32_t *sizes, size_t nbatch)
{
	int64_t now = now_ms();
	size_t i = 0, off = 0;
	int rc;

	(void)len;
	/* Split where a segment fills up, so segments keep their size. */
	while (i < nbatch) {
		uint64_t room = pl->conf.segment_bytes;
		size_t j = i, clen = 0;
		const struct seg *s = plog_active(pl);

		if (pl->configured && s->size < room)
			room -= s->size;
		else if (pl->configured)
			room = 0;
		else
			room = UINT64_MAX;
		if (room == 0 || (s->size > 0 && sizes[i] > room))
			room = pl->conf.segment_bytes;	/* after the roll */
		do {
			clen += sizes[j++];
		} while (j < nbatch && clen + sizes[j] <= room);
		rc = plog_append_chunk(pl, p + off, clen, base + i, last + i,
		    max_ts + i, sizes + i, j - i, now);
		if (rc != 0)
			return rc;
		off += clen;
		i = j;
	}
	if (pl->ps.loaded)
		plog_pstate_note(pl, p, nbatch, sizes, base, last);
	return 0;
}

/* Append one batch built by the broker itself: assign its offsets here. */
int
plog_append_batch(struct plog *pl, uint8_t *p, size_t len)
{
	struct batch_info info;
	int64_t base = pl->log_end, last, maxts;
	uint32_t size = (uint32_t)len;

	if (batch_header_parse(p, len, &info) != 0 || batch_size(&info) != len)
		return MO_EMALFORMED;
	batch_set_base_offset(p, base);
	last = base + info.last_offset_delta;
	maxts = info.max_timestamp;
	return plog_append(pl, p, len, &base, &last, &maxts, &size, 1);
}

/* Index of the segment that may hold offset (last with base <= offset). */
static size_t
plog_seg_for(const struct plog *pl, int64_t offset)
{
	size_t lo = 0, hi = pl->nsegs;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (pl->segs[mid]->base <= offset)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo == 0 ? 0 : lo - 1;
}

/* The batch holding offset or the first after it, across segments. */
static int
plog_locate(const struct plog *pl, int64_t offset, size_t *si, uint64_t *pos,
    struct batch_info *bi)
{
	int rc = MO_ENOTFOUND;

	if (offset < pl->log_start)
		offset = pl->log_start;
	for (size_t i = plog_seg_for(pl, offset); i < pl->nsegs; i++) {
		rc = seg_locate(pl->segs[i], offset, pos, bi);
		if (rc != MO_ENOTFOUND) {
			*si = i;
			return rc;
		}
	}
	return rc;
}

int
plog_span(const struct plog *pl, int64_t offset, size_t max_bytes, bool first,
    struct plog_span *sp)
{
	struct batch_info bi;
	size_t si;
	int rc;

	memset(sp, 0, sizeof(*sp));
	if (offset >= pl->log_end)
		return 0;
	rc = plog_locate(pl, offset, &si, &sp->pos, &bi);
	if (rc == MO_ENOTFOUND)
		return 0;
	if (rc == 0)
		rc = seg_span(pl->segs[si], sp->pos, max_bytes, first, &sp->len);
	if (rc == 0)
		sp->seg = pl->segs[si];
	return rc;
}

int
plog_find_time(const struct plog *pl, int64_t ts, struct plog_span *sp)
{
	struct batch_info bi;
	int rc;

	memset(sp, 0, sizeof(*sp));
	/* Segments are few: pass over their maxima, then the index. */
	for (size_t i = 0; i < pl->nsegs; i++) {
		struct seg *s = pl->segs[i];

		if (s->max_ts < ts)
			continue;
		rc = seg_locate_time(s, ts, &sp->pos, &bi);
		if (rc == MO_ENOTFOUND)
			continue;
		if (rc != 0)
			return rc;
		if (batch_last_offset(&bi) < pl->log_start)
			continue;	/* below the start: look further */
		sp->seg = s;
		sp->len = batch_size(&bi);
		return 0;
	}
	return 0;
}

int64_t
plog_max_timestamp(const struct plog *pl)
{
	int64_t m = -1;

	for (size_t i = 0; i < pl->nsegs; i++)
		if (pl->segs[i]->max_ts > m)
			m = pl->segs[i]->max_ts;
	return m;
}

int
plog_pread(const struct plog_span *sp, void *buf)
{
	return seg_pread(sp->seg, sp->pos, buf, sp->len);
}

int
plog_read_batch(const struct plog *pl, int64_t offset, uint8_t **buf,
    size_t *len, int64_t *next)
{
	struct batch_info bi;
	uint64_t pos;
	size_t si;
	int rc;

	*buf = NULL;
	*len = 0;
	if (offset >= pl->log_end)
		return MO_ENOTFOUND;
	if ((rc = plog_locate(pl, offset, &si, &pos, &bi)) != 0)
		return rc;
	*len = batch_size(&bi);
	*buf = xmalloc(*len);
	if ((rc = seg_pread(pl->segs[si], pos, *buf, *len)) != 0) {
		free(*buf);
		*buf = NULL;
		return rc;
	}
	*next = batch_last_offset(&bi) + 1;
	return 0;
}

uint64_t
plog_bytes_after(const struct plog *pl, int64_t offset)
{
	struct batch_info bi;
	uint64_t pos, total;
	size_t si;

	if (offset >= pl->log_end ||
	    plog_locate(pl, offset, &si, &pos, &bi) != 0)
		return 0;
	total = pl->segs[si]->size - pos;
	for (size_t i = si + 1; i < pl->nsegs; i++)
		total += pl->segs[i]->size;
	return total;
}

static void
plog_drop_first(struct plog *pl, const char *why)
{
	struct seg *s = pl->segs[0];

	log_info("broker: log %s: deleting segment %020" PRId64 " (%s)",
	    pl->dir, s->base, why);
	s->unlink_on_free = true;
	memmove(pl->segs, pl->segs + 1, (pl->nsegs - 1) * sizeof(*pl->segs));
	pl->nsegs--;
	seg_unref(s);	/* files go when queued sends let go */
	if (pl->segs[0]->base > pl->log_start)
		pl->log_start = pl->segs[0]->base;
}

size_t
plog_retain(struct plog *pl, int64_t now)
{
	const struct plog_conf *c = &pl->conf;
	uint64_t total = 0;
	size_t n = 0;

	if (pl->cleaning)
		return 0;	/* the cleaner holds segment positions */
	for (size_t i = 0; i < pl->nsegs; i++)
		total += pl->segs[i]->size;
	while (pl->nsegs > 1) {
		struct seg *s = pl->segs[0];
		const char *why = NULL;

		if (pl->segs[1]->base <= pl->log_start)
			why = "below the log start offset";
		else if (!pl->configured || !c->delete_policy)
			break;
		else if (c->retention_ms >= 0 && s->max_ts >= 0 &&
		    now - s->max_ts > c->retention_ms)
			why = "retention.ms";
		else if (c->retention_bytes >= 0 &&
		    total - s->size >= (uint64_t)c->retention_bytes)
			why = "retention.bytes";
		if (why == NULL)
			break;
		total -= s->size;
		plog_drop_first(pl, why);
		n++;
	}
	return n;
}

void
plog_swap_segment(struct plog *pl, size_t i, struct seg *s)
{
	struct seg *old = pl->segs[i];

	pl->segs[i] = s;
	seg_unref(old);
}

int
plog_set_clean_end(struct plog *pl, int64_t offset)
{
	if (offset == pl->clean_end)
		return 0;
	pl->clean_end = offset;
	return plog_write_number(pl->dir, PLOG_CLEANER_NAME, offset, false);
}
