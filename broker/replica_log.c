/*
 * A partition log's leader epoch history and truncation (replica.h).
 *
 * The history is a list of (epoch, start offset), appended when a broker
 * becomes leader in a new epoch or a follower appends a batch stamped with
 * a newer epoch, and kept in <partition dir>/leader-epoch-checkpoint in
 * Kafka's text layout (a version line "0", a count, then "epoch offset"
 * lines), rewritten atomically on each change.
 */
#include <errno.h>
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
#include "replica.h"
#include "xmalloc.h"

#define LEP_FILE	"leader-epoch-checkpoint"
#define LEP_MAX		100000

struct lep {
	int32_t	*epochs;
	int64_t	*starts;
	size_t	 n, cap;
};

static void
lep_push(struct lep *l, int32_t epoch, int64_t start)
{
	if (l->n == l->cap) {
		l->cap = l->cap == 0 ? 4 : l->cap * 2;
		l->epochs = xreallocarray(l->epochs, l->cap,
		    sizeof(*l->epochs));
		l->starts = xreallocarray(l->starts, l->cap,
		    sizeof(*l->starts));
	}
	l->epochs[l->n] = epoch;
	l->starts[l->n++] = start;
}

static struct lep *
lep_get(struct partition *p)
{
	struct lep *l;
	char *path, line[128];
	FILE *f;
	unsigned long count = 0;
	unsigned lineno = 0;

	if (p->lep != NULL)
		return p->lep;
	l = p->lep = xcalloc(1, sizeof(*l));
	xasprintf(&path, "%s/%s", p->log->dir, LEP_FILE);
	if ((f = fopen(path, "r")) == NULL) {
		if (errno != ENOENT)
			log_warn("broker: open %s", path);
		free(path);
		return l;
	}
	while (fgets(line, sizeof(line), f) != NULL) {
		long long e, o;

		lineno++;
		if (lineno == 1) {
			if (strcmp(line, "0\n") != 0)
				break;
			continue;
		}
		if (lineno == 2) {
			char *end;

			count = strtoul(line, &end, 10);
			if (*end != '\n' || count > LEP_MAX)
				break;
			continue;
		}
		if (sscanf(line, "%lld %lld", &e, &o) != 2 || e < 0 ||
		    e > INT32_MAX || o < 0 || (l->n > 0 &&
		    (e <= l->epochs[l->n - 1] || o < l->starts[l->n - 1])))
			break;
		lep_push(l, (int32_t)e, (int64_t)o);
	}
	fclose(f);
	if (lineno < 2 || l->n != count) {
		log_warnx("broker: %s:%u: damaged; keeping the %zu entries "
		    "before it", path, lineno, l->n);
	}
	free(path);
	return l;
}

/* Written and renamed on the loop; fsynced on the dropper thread. */
static void
lep_save(struct broker *b, struct partition *p)
{
	struct lep *l = p->lep;
	char *path, *tmp;
	FILE *f;
	bool ok;

	xasprintf(&path, "%s/%s", p->log->dir, LEP_FILE);
	xasprintf(&tmp, "%s.tmp", path);
	if ((f = fopen(tmp, "w")) == NULL) {
		log_warn("broker: open %s", tmp);
		goto out;
	}
	ok = fprintf(f, "0\n%zu\n", l->n) > 0;
	for (size_t i = 0; ok && i < l->n; i++)
		ok = fprintf(f, "%" PRId32 " %" PRId64 "\n", l->epochs[i],
		    l->starts[i]) > 0;
	ok = fflush(f) == 0 && ok;
	if (fclose(f) != 0 || !ok || rename(tmp, path) != 0) {
		log_warn("broker: write %s", path);
		unlink(tmp);
	} else
		file_sync(b->topics.syncer, path);
out:
	free(tmp);
	free(path);
}

void
lep_assign(struct broker *b, struct partition *p, int32_t epoch,
    int64_t offset)
{
	struct lep *l = lep_get(p);

	if (epoch < 0 || (l->n > 0 && epoch <= l->epochs[l->n - 1]))
		return;
	/* A start below the last one means that tail was truncated. */
	while (l->n > 0 && l->starts[l->n - 1] > offset)
		l->n--;
	lep_push(l, epoch, offset);
	lep_save(b, p);
}

int32_t
lep_last_epoch(struct partition *p)
{
	struct lep *l = lep_get(p);

	return l->n > 0 ? l->epochs[l->n - 1] : -1;
}

int64_t
lep_end_offset(struct partition *p, int32_t want, int32_t *epoch)
{
	struct lep *l = lep_get(p);
	size_t i;

	for (i = l->n; i > 0; i--)
		if (l->epochs[i - 1] <= want)
			break;
	if (i == 0) {
		*epoch = -1;
		return l->n > 0 ? l->starts[0] : p->log->log_end;
	}
	*epoch = l->epochs[i - 1];
	return i < l->n ? l->starts[i] : p->log->log_end;
}

void
lep_truncate(struct broker *b, struct partition *p, int64_t end)
{
	struct lep *l = lep_get(p);
	size_t n = l->n;

	while (l->n > 0 && l->starts[l->n - 1] >= end &&
	    !(l->n == 1 && end == l->starts[0]))
		l->n--;
	if (l->n != n)
		lep_save(b, p);
}

void
lep_free(struct partition *p)
{
	if (p->lep == NULL)
		return;
	free(p->lep->epochs);
	free(p->lep->starts);
	free(p->lep);
	p->lep = NULL;
}

/* ---- truncation ---- */

/* Close segment i and delete its files once no send holds it. */
static void
plog_unlink_seg(struct plog *pl, size_t i)
{
	struct seg *s = pl->segs[i];

	s->unlink_on_free = true;
	seg_unref(s);
	memmove(&pl->segs[i], &pl->segs[i + 1],
	    (pl->nsegs - i - 1) * sizeof(pl->segs[0]));
	pl->nsegs--;
}

static int
plog_push_new(struct plog *pl, int64_t base)
{
	struct seg *s;
	int rc;

	if ((rc = seg_open(pl->dir, base, SEG_CREATE, &s)) != 0)
		return rc;
	if (pl->nsegs > 0)
		seg_seal(pl->segs[pl->nsegs - 1]);
	if (pl->nsegs == pl->capsegs) {
		pl->capsegs = pl->capsegs == 0 ? 8 : pl->capsegs * 2;
		pl->segs = xreallocarray(pl->segs, pl->capsegs,
		    sizeof(*pl->segs));
	}
	pl->segs[pl->nsegs++] = s;
	return 0;
}

int
plog_truncate(struct plog *pl, int64_t offset)
{
	struct batch_info bi;
	struct seg *s, *ns;
	uint64_t pos;
	int64_t base;
	int rc;

	if (offset >= pl->log_end)
		return 0;
	if (offset <= pl->log_start)
		return plog_reset(pl, offset < pl->log_start ? pl->log_start :
		    offset);
	log_info("broker: log %s: truncating from offset %" PRId64 " (log "
	    "end %" PRId64 ")", pl->dir, offset, pl->log_end);
	pstate_clear(&pl->ps);	/* rebuilt from what is left when needed */
	while (pl->nsegs > 1 && pl->segs[pl->nsegs - 1]->base >= offset)
		plog_unlink_seg(pl, pl->nsegs - 1);
	s = pl->segs[pl->nsegs - 1];
	rc = seg_locate(s, offset, &pos, &bi);
	if (rc == MO_ENOTFOUND) {
		pl->log_end = s->next_offset;
		return 0;
	}
	if (rc != 0)
		return rc;
	if (ftruncate(s->fd, (off_t)pos) != 0) {
		log_warn("broker: log %s: truncate", pl->dir);
		return MO_EIO;
	}
	/* Reopen it: the scan rebuilds its indexes and end. */
	base = s->base;
	pl->nsegs--;
	seg_unref(s);
	if ((rc = seg_open(pl->dir, base, SEG_RECOVER, &ns)) != 0)
		return rc;
	pl->segs[pl->nsegs++] = ns;
	pl->log_end = ns->next_offset > base ? ns->next_offset : base;
	if (pl->clean_end > pl->log_end)
		pl->clean_end = pl->log_end;
	return 0;
}

int
plog_reset(struct plog *pl, int64_t offset)
{
	log_info("broker: log %s: emptied, restarting at offset %" PRId64,
	    pl->dir, offset);
	pstate_clear(&pl->ps);
	while (pl->nsegs > 0)
		plog_unlink_seg(pl, pl->nsegs - 1);
	if (plog_push_new(pl, offset) != 0)
		return MO_EIO;
	pl->log_end = offset;
	pl->clean_end = offset;
	if (pl->log_start != offset)
		return plog_set_log_start(pl, offset);
	return 0;
}
