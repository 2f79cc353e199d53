/*
 * Log segments: files, sparse indexes, recovery scan, look-ups.
 */
#include <sys/stat.h>
#include <linux/falloc.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "crc32c.h"
#include "err.h"
#include "log.h"
#include "log_segment.h"
#include "xmalloc.h"

char *
seg_file(const char *dir, int64_t base, const char *ext)
{
	char *p;

	xasprintf(&p, "%s/%020" PRId64 "%s", dir, base, ext);
	return p;
}

static void
put_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static uint32_t
get_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	    (uint32_t)p[2] << 8 | p[3];
}

static int
full_pread(int fd, void *buf, size_t len, uint64_t pos)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n = pread(fd, (uint8_t *)buf + done, len - done,
		    (off_t)(pos + done));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return MO_EIO;
		done += (size_t)n;
	}
	return 0;
}

static int
full_pwrite(int fd, const void *buf, size_t len, uint64_t pos)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n = pwrite(fd, (const uint8_t *)buf + done, len - done,
		    (off_t)(pos + done));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return MO_EIO;
		done += (size_t)n;
	}
	return 0;
}

static void
seg_ent_push(struct seg *s, int64_t offset, uint64_t pos, int64_t ts_before)
{
	if (s->nents == s->capents) {
		s->capents = s->capents == 0 ? 16 : s->capents * 2;
		s->ents = xreallocarray(s->ents, s->capents, sizeof(*s->ents));
	}
	s->ents[s->nents].offset = offset;
	s->ents[s->nents].pos = pos;
	s->ents[s->nents].ts_before = ts_before;
	s->nents++;
}

static void
seg_ent_encode(const struct seg *s, const struct seg_ent *e, uint8_t *ib,
    uint8_t *tb)
{
	uint32_t rel = (uint32_t)(e->offset - s->base);

	put_be32(ib, rel);
	put_be32(ib + 4, (uint32_t)e->pos);
	put_be32(tb, (uint32_t)((uint64_t)e->ts_before >> 32));
	put_be32(tb + 4, (uint32_t)e->ts_before);
	put_be32(tb + 8, rel);
}

/*
 * Appends add an index entry per interval.bytes of log; writing each as it
 * comes cost two pwrite(2)s per produce request.  They are written this
 * many at a time (and at a roll, a close and each log-service tick).
 */
#define SEG_INDEX_PENDING	64

int
seg_ent_flush(struct seg *s)
{
	uint8_t ib[SEG_INDEX_PENDING * SEG_INDEX_ENTRY];
	uint8_t tb[SEG_INDEX_PENDING * SEG_TIMEINDEX_ENTRY];

	while (s->nents_written < s->nents) {
		size_t from = s->nents_written, n = s->nents - from;

		if (n > SEG_INDEX_PENDING)
			n = SEG_INDEX_PENDING;
		for (size_t i = 0; i < n; i++)
			seg_ent_encode(s, &s->ents[from + i],
			    ib + i * SEG_INDEX_ENTRY,
			    tb + i * SEG_TIMEINDEX_ENTRY);
		if (full_pwrite(s->ifd, ib, n * SEG_INDEX_ENTRY,
		    from * SEG_INDEX_ENTRY) != 0 ||
		    full_pwrite(s->tfd, tb, n * SEG_TIMEINDEX_ENTRY,
		    from * SEG_TIMEINDEX_ENTRY) != 0) {
			log_warn("broker: segment %s: write index", s->path);
			return MO_EIO;
		}
		s->nents_written = from + n;
	}
	return 0;
}

int
seg_write_indexes(struct seg *s)
{
	if (ftruncate(s->ifd, 0) != 0 || ftruncate(s->tfd, 0) != 0) {
		log_warn("broker: segment %s: truncate index", s->path);
		return MO_EIO;
	}
	s->nents_written = 0;
	return seg_ent_flush(s);
}

int
seg_header(const struct seg *s, uint64_t pos, struct batch_info *info)
{
	uint8_t hdr[BATCH_HEADER_SIZE];

	if (s->size < pos || s->size - pos < BATCH_HEADER_SIZE)
		return MO_ESHORT;
	if (full_pread(s->fd, hdr, sizeof(hdr), pos) != 0)
		return MO_EIO;
	if (batch_header_parse(hdr, SIZE_MAX, info) != 0)
		return MO_EMALFORMED;
	if (s->size - pos < batch_size(info))
		return MO_ESHORT;
	return 0;
}

/* Check the CRC of the batch at pos (its header already parsed). */
static int
seg_check_crc(const struct seg *s, uint64_t pos, const struct batch_info *bi,
    uint8_t **buf, size_t *cap)
{
	size_t total = batch_size(bi);

	if (total > *cap) {
		*cap = total;
		*buf = xrealloc(*buf, *cap);
	}
	if (full_pread(s->fd, *buf, total, pos) != 0)
		return MO_EIO;
	if (crc32c(0, *buf + BATCH_OFF_ATTRIBUTES,
	    total - BATCH_OFF_ATTRIBUTES) != bi->crc)
		return MO_ECRC;
	return 0;
}

/*
 * Scan batches from pos (the start of a batch at offset next) to the end,
 * adding index entries (when rebuild) and checking CRCs (when crc).  A torn
 * or corrupt tail is truncated and logged.
 */
static int
seg_scan(struct seg *s, uint64_t pos, bool crc, bool rebuild)
{
	struct batch_info bi;
	uint8_t *buf = NULL;
	size_t cap = 0;
	int rc = 0;

	while (pos < s->size) {
		rc = seg_header(s, pos, &bi);
		if (rc == 0 && crc)
			rc = seg_check_crc(s, pos, &bi, &buf, &cap);
		if (rc == 0 && (bi.base_offset < s->next_offset ||
		    bi.last_offset_delta < 0 ||
		    batch_last_offset(&bi) - s->base > INT32_MAX))
			rc = MO_EMALFORMED;
		if (rc != 0)
			break;
		if (rebuild && pos > 0 &&
		    s->since_index >= SEG_DEFAULT_INTERVAL) {
			seg_ent_push(s, bi.base_offset, pos, s->max_ts);
			s->since_index = 0;
		}
		if (bi.max_timestamp > s->max_ts)
			s->max_ts = bi.max_timestamp;
		s->next_offset = batch_last_offset(&bi) + 1;
		pos += batch_size(&bi);
		s->since_index += batch_size(&bi);
	}
	free(buf);
	if (rc == MO_EIO) {
		log_warn("broker: segment %s.log: read failed", s->path);
		return rc;
	}
	if (pos < s->size) {
		log_warnx("broker: segment %s.log: truncating %" PRIu64
		    " bytes of torn or corrupt tail at byte %" PRIu64 " (%s)",
		    s->path, s->size - pos, pos, mo_strerror(rc));
		if (ftruncate(s->fd, (off_t)pos) != 0) {
			log_warn("broker: segment %s.log: truncate", s->path);
			return MO_EIO;
		}
		s->size = pos;
	}
	return 0;
}

/* Load the index files; keep the longest consistent prefix of entries. */
static void
seg_load_indexes(struct seg *s)
{
	struct stat ist, tst;
	uint8_t *ib = NULL, *tb = NULL;
	size_t n;

	if (fstat(s->ifd, &ist) != 0 || fstat(s->tfd, &tst) != 0)
		return;
	n = (size_t)ist.st_size / SEG_INDEX_ENTRY;
	if ((size_t)tst.st_size / SEG_TIMEINDEX_ENTRY < n)
		n = (size_t)tst.st_size / SEG_TIMEINDEX_ENTRY;
	if (n == 0)
		return;
	ib = xmalloc(n * SEG_INDEX_ENTRY);
	tb = xmalloc(n * SEG_TIMEINDEX_ENTRY);
	if (full_pread(s->ifd, ib, n * SEG_INDEX_ENTRY, 0) != 0 ||
	    full_pread(s->tfd, tb, n * SEG_TIMEINDEX_ENTRY, 0) != 0)
		n = 0;
	for (size_t i = 0; i < n; i++) {
		const uint8_t *ie = ib + i * SEG_INDEX_ENTRY;
		const uint8_t *te = tb + i * SEG_TIMEINDEX_ENTRY;
		uint32_t rel = get_be32(ie), pos = get_be32(ie + 4);
		int64_t ts = (int64_t)((uint64_t)get_be32(te) << 32 |
		    get_be32(te + 4));

		if (get_be32(te + 8) != rel || rel > INT32_MAX ||
		    pos == 0 || pos >= s->size || (s->nents > 0 &&
		    (s->base + rel <= s->ents[s->nents - 1].offset ||
		    pos <= s->ents[s->nents - 1].pos ||
		    ts < s->ents[s->nents - 1].ts_before)))
			break;
		seg_ent_push(s, s->base + rel, pos, ts);
	}
	free(ib);
	free(tb);
}

static int
seg_open_files(struct seg *s, const char *dir, bool create)
{
	static const char *const ext[3] = { ".log", ".index", ".timeindex" };
	int *fds[3] = { &s->fd, &s->ifd, &s->tfd };
	int flags = O_RDWR | O_CLOEXEC | O_CREAT;

	for (int i = 0; i < 3; i++) {
		char *p = seg_file(dir, s->base, ext[i]);

		*fds[i] = open(p, flags | (i == 0 ? O_APPEND : 0) |
		    (create ? O_TRUNC : 0), 0644);
		if (*fds[i] == -1) {
			log_warn("broker: open %s", p);
			free(p);
			return MO_EIO;
		}
		free(p);
	}
	return 0;
}

int
seg_open(const char *dir, int64_t base, enum seg_mode mode, struct seg **out)
{
	struct seg *s = xcalloc(1, sizeof(*s));
	struct stat st;
	int rc;

	*out = NULL;
	atomic_init(&s->refs, 1);
	s->fd = s->ifd = s->tfd = -1;
	s->base = base;
	s->next_offset = base;
	s->max_ts = -1;
	s->first_append_ms = -1;
	xasprintf(&s->path, "%s/%020" PRId64, dir, base);
	if ((rc = seg_open_files(s, dir, mode == SEG_CREATE)) != 0)
		goto fail;
	if (fstat(s->fd, &st) != 0) {
		rc = MO_EIO;
		goto fail;
	}
	s->size = (uint64_t)st.st_size;
	if (mode == SEG_TRUST)
		seg_load_indexes(s);
	s->nents_written = s->nents;
	if (mode == SEG_TRUST && s->nents > 0) {
		const struct seg_ent *e = &s->ents[s->nents - 1];

		s->next_offset = e->offset;
		s->max_ts = e->ts_before;
		rc = seg_scan(s, e->pos, false, false);
		if (rc == 0)
			s->since_index = s->size - e->pos;
	} else if (s->size > 0) {
		s->nents = 0;
		rc = seg_scan(s, 0, mode == SEG_RECOVER, true);
		if (rc == 0)
			rc = seg_write_indexes(s);
	}
	if (rc != 0)
		goto fail;
	*out = s;
	return 0;
fail:
	seg_unref(s);
	return rc;
}

struct seg *
seg_ref(struct seg *s)
{
	atomic_fetch_add(&s->refs, 1);
	return s;
}

void
seg_unref(struct seg *s)
{
	static const char *const ext[3] = { ".log", ".index", ".timeindex" };

	if (s == NULL || atomic_fetch_sub(&s->refs, 1) != 1)
		return;
	if (s->unlink_on_free) {
		for (int i = 0; i < 3; i++) {
			char *p;

			xasprintf(&p, "%s%s", s->path, ext[i]);
			if (unlink(p) != 0 && errno != ENOENT)
				log_warn("broker: unlink %s", p);
			free(p);
		}
	}
	if (s->fd != -1)
		close(s->fd);
	if (s->ifd != -1)
		close(s->ifd);
	if (s->tfd != -1)
		close(s->tfd);
	free(s->ents);
	free(s->path);
	free(s);
}

/*
 * Appends reserve blocks ahead of the data (FALLOC_FL_KEEP_SIZE: the file
 * size and so recovery see only what was written).  Writing into reserved
 * blocks skips ext4's per-block delayed-allocation bookkeeping, a tenth of
 * the broker's produce CPU.  The reservation grows with the segment (as
 * much again as it holds, between these bounds), so a quiet partition
 * holds little, and seg_seal() gives back what a rolled segment did not
 * use.
 */
#define SEG_PREALLOC_MIN	(64u << 10)
#define SEG_PREALLOC_MAX	(4u << 20)

static void
seg_prealloc(struct seg *s, size_t len)
{
	uint64_t chunk, from, to;

	if (s->no_prealloc || s->size + len <= s->alloc_end)
		return;
	chunk = s->size < SEG_PREALLOC_MIN ? SEG_PREALLOC_MIN :
	    s->size > SEG_PREALLOC_MAX ? SEG_PREALLOC_MAX : s->size;
	from = s->alloc_end > s->size ? s->alloc_end : s->size;
	to = s->size + len + chunk;
	if (fallocate(s->fd, FALLOC_FL_KEEP_SIZE, (off_t)from,
	    (off_t)(to - from)) != 0) {
		/* ENOSPC and the like show up in the write itself. */
		if (errno == EOPNOTSUPP || errno == ENOSYS)
			s->no_prealloc = true;
		return;
	}
	s->alloc_end = to;
}

void
seg_seal(struct seg *s)
{
	(void)seg_ent_flush(s);
	if (s->alloc_end <= s->size)
		return;
	/* A truncate to the same size frees the blocks past it. */
	if (ftruncate(s->fd, (off_t)s->size) != 0)
		log_warn("broker: segment %s.log: release reserved blocks",
		    s->path);
	s->alloc_end = s->size;
}

int
seg_append(struct seg *s, const uint8_t *p, size_t len, const int64_t *base,
    const int64_t *last, const int64_t *max_ts, const uint32_t *sizes,
    size_t nb, uint32_t interval)
{
	size_t done = 0;
	uint64_t pos = s->size;

	seg_prealloc(s, len);
	while (done < len) {
		ssize_t n = write(s->fd, p + done, len - done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			log_warn("broker: segment %s.log: append", s->path);
			if (ftruncate(s->fd, (off_t)s->size) != 0)
				log_warn("broker: segment %s.log: undo",
				    s->path);
			return MO_EIO;
		}
		done += (size_t)n;
	}
	for (size_t i = 0; i < nb; i++) {
		if (pos > 0 && s->since_index >= interval) {
			seg_ent_push(s, base[i], pos, s->max_ts);
			s->since_index = 0;
		}
		if (max_ts[i] > s->max_ts)
			s->max_ts = max_ts[i];
		s->since_index += sizes[i];
		pos += sizes[i];
	}
	s->size += len;
	s->next_offset = last[nb - 1] + 1;
	if (s->nents - s->nents_written >= SEG_INDEX_PENDING)
		(void)seg_ent_flush(s);
	return 0;
}

/*
 * Drop-behind works in steps of a quarter window of new data per segment
 * (1 to 4 MiB): each step wakes the dropper thread, so fewer and larger
 * steps cost less.
 */
static uint64_t
seg_drop_step(uint64_t window)
{
	uint64_t step = window / 4;

	return step < (1u << 20) ? (1u << 20) : step > (4u << 20) ?
	    (4u << 20) : step;
}

bool
seg_drop_due(struct seg *s, uint64_t window, struct seg_drop *d)
{
	uint64_t step = seg_drop_step(window);

	memset(d, 0, sizeof(*d));
	if (window == 0 || s->size < window / 2)
		return false;
	if (s->size - window / 2 >= s->wb_from + step) {
		d->wb_from = s->wb_from;
		d->wb_to = s->wb_from = s->size - window / 2;
	}
	if (s->size >= window && s->size - window >= s->drop_from + step) {
		d->drop_from = s->drop_from;
		d->drop_to = s->drop_from = s->size - window;
	}
	return d->wb_to > d->wb_from || d->drop_to > d->drop_from;
}

uint64_t
seg_drop_cached(const struct seg *s)
{
	return s->size - s->drop_from;
}

bool
seg_drop_all(struct seg *s, struct seg_drop *d)
{
	memset(d, 0, sizeof(*d));
	if (s->drop_from >= s->size)
		return false;
	d->drop_from = s->drop_from;
	d->drop_to = s->drop_from = s->size;
	if (s->wb_from < s->size)
		s->wb_from = s->size;
	return true;
}

bool
seg_drop_idle(struct seg *s, struct seg_drop *d)
{
	bool idle = s->size == s->tick_size;

	memset(d, 0, sizeof(*d));
	s->tick_size = s->size;
	if (!idle || s->wb_from >= s->size)
		return false;
	d->wb_from = s->wb_from;
	d->wb_to = s->wb_from = s->size;
	return true;
}

void
seg_drop_run(const struct seg *s, const struct seg_drop *d)
{
	if (d->wb_to > d->wb_from)
		(void)sync_file_range(s->fd, (off_t)d->wb_from,
		    (off_t)(d->wb_to - d->wb_from), SYNC_FILE_RANGE_WRITE);
	if (d->drop_to > d->drop_from) {
		/* Dirty or in-flight pages would stay: write them out first. */
		(void)sync_file_range(s->fd, (off_t)d->drop_from,
		    (off_t)(d->drop_to - d->drop_from),
		    SYNC_FILE_RANGE_WAIT_BEFORE | SYNC_FILE_RANGE_WRITE |
		    SYNC_FILE_RANGE_WAIT_AFTER);
		/*
		 * From 0: a large folio across the last step's end stayed
		 * (only folios wholly inside the range go).
		 */
		(void)posix_fadvise(s->fd, 0, (off_t)d->drop_to,
		    POSIX_FADV_DONTNEED);
	}
}

/* Index of the last entry whose key is <= v (by offset or by ts), or -1. */
static ssize_t
seg_ent_floor(const struct seg *s, int64_t v, bool by_ts)
{
	size_t lo = 0, hi = s->nents;

	/* first entry with key > v (ts: key >= v) */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		bool le = by_ts ? s->ents[mid].ts_before < v :
		    s->ents[mid].offset <= v;
		if (le)
			lo = mid + 1;
		else
			hi = mid;
	}
	return (ssize_t)lo - 1;
}

int
seg_locate(const struct seg *s, int64_t offset, uint64_t *pos,
    struct batch_info *bi)
{
	ssize_t e = seg_ent_floor(s, offset, false);
	uint64_t p = e < 0 ? 0 : s->ents[e].pos;
	int rc;

	while (p < s->size) {
		if ((rc = seg_header(s, p, bi)) != 0)
			return rc;
		if (batch_last_offset(bi) >= offset) {
			*pos = p;
			return 0;
		}
		p += batch_size(bi);
	}
	return MO_ENOTFOUND;
}

int
seg_locate_time(const struct seg *s, int64_t ts, uint64_t *pos,
    struct batch_info *bi)
{
	ssize_t e;
	uint64_t p;
	int rc;

	if (s->max_ts < ts)
		return MO_ENOTFOUND;
	e = seg_ent_floor(s, ts, true);
	p = e < 0 ? 0 : s->ents[e].pos;
	while (p < s->size) {
		if ((rc = seg_header(s, p, bi)) != 0)
			return rc;
		if (bi->max_timestamp >= ts) {
			*pos = p;
			return 0;
		}
		p += batch_size(bi);
	}
	return MO_ENOTFOUND;
}

int
seg_span(const struct seg *s, uint64_t pos, size_t max_bytes, bool first,
    size_t *len)
{
	struct batch_info bi;
	uint64_t end = pos, limit = pos + max_bytes, p;
	size_t lo = 0, hi = s->nents;
	int rc;

	*len = 0;
	if (limit >= s->size) {
		*len = (size_t)(s->size - pos);
		return 0;
	}
	/* Jump to the last indexed batch that starts at or before limit. */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (s->ents[mid].pos <= limit)
			lo = mid + 1;
		else
			hi = mid;
	}
	p = pos;
	if (lo > 0 && s->ents[lo - 1].pos > pos)
		p = end = s->ents[lo - 1].pos;
	while (p < s->size) {
		if ((rc = seg_header(s, p, &bi)) != 0)
			return rc;
		if (p + batch_size(&bi) > limit && !(first && p == pos))
			break;
		p += batch_size(&bi);
		end = p;
	}
	*len = (size_t)(end - pos);
	return 0;
}

int
seg_pread(const struct seg *s, uint64_t pos, void *buf, size_t len)
{
	if (full_pread(s->fd, buf, len, pos) != 0) {
		log_warn("broker: segment %s.log: read", s->path);
		return MO_EIO;
	}
	return 0;
}
