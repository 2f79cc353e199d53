/*
 * Partition log: the batches of one partition in a segment file named by
 * its base offset, with an in-memory index of batch positions rebuilt by a
 * CRC-checked scan when the log is opened (a torn tail is truncated).
 */
#include <sys/stat.h>
#include <sys/uio.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "batch.h"
#include "broker.h"
#include "crc32c.h"
#include "err.h"
#include "log.h"
#include "xmalloc.h"

#define PLOG_SEGMENT_NAME	"00000000000000000000.log"
#define PLOG_START_NAME		"log-start-offset"

static void
plog_index_add(struct plog *pl, int64_t base, int64_t last, int64_t max_ts,
    uint64_t pos, uint32_t size)
{
	struct plog_batch *b;

	if (pl->nbatches == pl->capbatches) {
		pl->capbatches = pl->capbatches == 0 ? 64 : pl->capbatches * 2;
		pl->batches = xreallocarray(pl->batches, pl->capbatches,
		    sizeof(*pl->batches));
	}
	b = &pl->batches[pl->nbatches++];
	b->base_offset = base;
	b->last_offset = last;
	b->max_timestamp = max_ts;
	b->pos = pos;
	b->size = size;
}

/* Check one batch at pos; 0 and *info filled when it is whole and intact. */
static int
plog_check_at(struct plog *pl, uint64_t pos, uint8_t **buf, size_t *bufcap,
    struct batch_info *info)
{
	uint8_t hdr[BATCH_HEADER_SIZE];
	ssize_t n;
	size_t total;

	if (pl->size - pos < BATCH_HEADER_SIZE)
		return MO_ESHORT;
	n = pread(pl->fd, hdr, sizeof(hdr), (off_t)pos);
	if (n != (ssize_t)sizeof(hdr))
		return MO_EIO;
	if (batch_header_parse(hdr, SIZE_MAX, info) != 0)
		return MO_EMALFORMED;
	total = (size_t)info->length + 12;
	if (pl->size - pos < total)
		return MO_ESHORT;
	if (total > *bufcap) {
		*bufcap = total;
		*buf = xrealloc(*buf, *bufcap);
	}
	n = pread(pl->fd, *buf, total, (off_t)pos);
	if (n != (ssize_t)total)
		return MO_EIO;
	if (crc32c(0, *buf + 21, total - 21) != info->crc)
		return MO_ECRC;
	return 0;
}

static int
plog_scan(struct plog *pl)
{
	struct batch_info info;
	uint8_t *buf = NULL;
	size_t bufcap = 0;
	uint64_t pos = 0;
	int rc = 0;

	while (pos < pl->size) {
		rc = plog_check_at(pl, pos, &buf, &bufcap, &info);
		if (rc != 0)
			break;
		if (info.base_offset < pl->log_end) {
			rc = MO_EMALFORMED;
			break;
		}
		plog_index_add(pl, info.base_offset,
		    info.base_offset + info.last_offset_delta,
		    info.max_timestamp, pos, (uint32_t)(info.length + 12));
		pl->log_end = info.base_offset + info.last_offset_delta + 1;
		pos += (uint64_t)info.length + 12;
	}
	free(buf);
	if (rc == MO_EIO) {
		log_warn("broker: log %s: read failed", pl->dir);
		return rc;
	}
	if (pos < pl->size) {
		log_warnx("broker: log %s: truncating %" PRIu64 " bytes of "
		    "torn or corrupt tail at byte %" PRIu64 " (%s)", pl->dir,
		    pl->size - pos, pos, mo_strerror(rc));
		if (ftruncate(pl->fd, (off_t)pos) != 0) {
			log_warn("broker: log %s: truncate", pl->dir);
			return MO_EIO;
		}
		pl->size = pos;
	}
	if (pl->nbatches > 0)
		pl->log_start = pl->batches[0].base_offset;
	return 0;
}

/* The log start offset saved by plog_set_log_start, if above the scan's. */
static void
plog_load_start(struct plog *pl)
{
	char *path;
	FILE *f;
	int64_t v;

	xasprintf(&path, "%s/%s", pl->dir, PLOG_START_NAME);
	f = fopen(path, "r");
	free(path);
	if (f == NULL)
		return;
	if (fscanf(f, "%" SCNd64, &v) == 1 && v > pl->log_start &&
	    v <= pl->log_end)
		pl->log_start = v;
	fclose(f);
}

int
plog_set_log_start(struct plog *pl, int64_t offset)
{
	char *path, *tmp;
	FILE *f;
	int rc = 0;

	if (offset <= pl->log_start)
		return 0;
	if (offset > pl->log_end)
		return MO_EINVAL;
	xasprintf(&path, "%s/%s", pl->dir, PLOG_START_NAME);
	xasprintf(&tmp, "%s.tmp", path);
	f = fopen(tmp, "w");
	if (f == NULL || fprintf(f, "%" PRId64 "\n", offset) < 0 ||
	    fflush(f) != 0 || fsync(fileno(f)) != 0)
		rc = MO_EIO;
	if (f != NULL && fclose(f) != 0)
		rc = MO_EIO;
	if (rc == 0 && rename(tmp, path) != 0)
		rc = MO_EIO;
	if (rc != 0)
		log_warn("broker: log %s: save log start offset", pl->dir);
	else
		pl->log_start = offset;
	free(path);
	free(tmp);
	return rc;
}

int
plog_open(const char *dir, struct plog **out)
{
	struct plog *pl;
	struct stat st;
	char *path;

	*out = NULL;
	if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
		log_warn("broker: mkdir %s", dir);
		return MO_EIO;
	}
	pl = xcalloc(1, sizeof(*pl));
	pl->dir = xstrdup(dir);
	xasprintf(&path, "%s/%s", dir, PLOG_SEGMENT_NAME);
	pl->fd = open(path, O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	if (pl->fd == -1 || fstat(pl->fd, &st) != 0) {
		log_warn("broker: open %s", path);
		free(path);
		plog_free(pl);
		return MO_EIO;
	}
	free(path);
	pl->size = (uint64_t)st.st_size;
	if (plog_scan(pl) != 0) {
		plog_free(pl);
		return MO_EIO;
	}
	plog_load_start(pl);
	*out = pl;
	return 0;
}

void
plog_free(struct plog *pl)
{
	if (pl == NULL)
		return;
	if (pl->fd != -1)
		close(pl->fd);
	free(pl->batches);
	free(pl->dir);
	free(pl);
}

int
plog_append(struct plog *pl, const uint8_t *p, size_t len,
    const int64_t *base, const int64_t *last, const int64_t *max_ts,
    const uint32_t *sizes, size_t nbatch)
{
	size_t done = 0;
	uint64_t pos = pl->size;

	while (done < len) {
		ssize_t n = write(pl->fd, p + done, len - done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			log_warn("broker: log %s: append", pl->dir);
			if (ftruncate(pl->fd, (off_t)pl->size) != 0)
				log_warn("broker: log %s: undo", pl->dir);
			return MO_EIO;
		}
		done += (size_t)n;
	}
	for (size_t i = 0; i < nbatch; i++) {
		plog_index_add(pl, base[i], last[i], max_ts[i], pos, sizes[i]);
		pos += sizes[i];
	}
	pl->size += len;
	pl->log_end = last[nbatch - 1] + 1;
	return 0;
}

size_t
plog_find(const struct plog *pl, int64_t offset)
{
	size_t lo = 0, hi = pl->nbatches;

	/* first batch with last_offset >= offset */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (pl->batches[mid].last_offset < offset)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

size_t
plog_find_time(const struct plog *pl, int64_t ts)
{
	/* Batches are not ordered by time: a linear pass (refined later). */
	for (size_t i = 0; i < pl->nbatches; i++)
		if (pl->batches[i].max_timestamp >= ts)
			return i;
	return pl->nbatches;
}

uint64_t
plog_bytes_after(const struct plog *pl, int64_t offset)
{
	size_t i = plog_find(pl, offset);

	if (i >= pl->nbatches)
		return 0;
	return pl->size - pl->batches[i].pos;
}

int
plog_span(const struct plog *pl, int64_t offset, size_t max_bytes, bool first,
    uint64_t *pos, size_t *len)
{
	size_t i = plog_find(pl, offset), j;
	uint64_t start, end;

	*pos = 0;
	*len = 0;
	if (i >= pl->nbatches)
		return 0;
	start = pl->batches[i].pos;
	end = start;
	for (j = i; j < pl->nbatches; j++) {
		uint64_t next = pl->batches[j].pos + pl->batches[j].size;
		if (next - start > max_bytes && !(first && j == i))
			break;
		end = next;
	}
	*pos = start;
	*len = (size_t)(end - start);
	return 0;
}

int
plog_pread(const struct plog *pl, uint64_t pos, void *buf, size_t len)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n = pread(pl->fd, (uint8_t *)buf + done, len - done,
		    (off_t)(pos + done));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			log_warn("broker: log %s: read", pl->dir);
			return MO_EIO;
		}
		done += (size_t)n;
	}
	return 0;
}

/* Append one batch built by the broker itself: assign its offsets here. */
int
plog_append_batch(struct plog *pl, uint8_t *p, size_t len)
{
	struct batch_info info;
	int64_t base = pl->log_end, last, maxts;
	uint32_t size = (uint32_t)len;

	if (batch_header_parse(p, len, &info) != 0 ||
	    (size_t)info.length + 12 != len)
		return MO_EMALFORMED;
	batch_set_base_offset(p, base);
	last = base + info.last_offset_delta;
	maxts = info.max_timestamp;
	return plog_append(pl, p, len, &base, &last, &maxts, &size, 1);
}
