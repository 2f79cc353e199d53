/*
 * Log segments: appends, sparse indexes, offset and timestamp look-ups
 * checked against a linear model, reopening (trusted and recovered) and
 * torn/garbage tails.
 */
#include <sys/stat.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "batch.h"
#include "err.h"
#include "log_segment.h"
#include "xmalloc.h"

#define NB	400
#define BASE	1000

struct model {
	int64_t		base[NB], last[NB], maxts[NB];
	uint64_t	pos[NB];
	uint32_t	size[NB];
};

static char dir[] = "/tmp/moldau-test-seg-XXXXXX";

/* Append NB batches of 1..5 records with disordered timestamps. */
static struct seg *
build(struct model *m, uint32_t interval)
{
	struct seg *s;
	int64_t off = BASE;
	uint64_t pos = 0;

	assert_int_equal(seg_open(dir, BASE, SEG_CREATE, &s), 0);
	for (int i = 0; i < NB; i++) {
		struct batch_builder bb;
		struct wbuf out = { 0 };
		int n = 1 + i % 5;
		int64_t ts = 100000 + i * 10 + ((i * 7919) % 50) - 25;

		batch_builder_init(&bb, MO_CODEC_NONE, off, ts);
		for (int k = 0; k < n; k++)
			batch_builder_add(&bb, ts + k, "key", 3, "value", 5,
			    NULL, 0);
		assert_int_equal(batch_builder_finish(&bb, &out), 0);
		m->base[i] = off;
		m->last[i] = off + n - 1;
		m->maxts[i] = bb.max_timestamp;
		m->size[i] = (uint32_t)out.len;
		m->pos[i] = pos;
		assert_int_equal(seg_append(s, out.data, out.len, &m->base[i],
		    &m->last[i], &m->maxts[i], &m->size[i], 1, interval), 0);
		pos += out.len;
		off += n;
		batch_builder_clear(&bb);
		wbuf_clear(&out);
	}
	return s;
}

static void
check_lookups(const struct seg *s, const struct model *m, int nb)
{
	struct batch_info bi;
	uint64_t pos;

	for (int64_t o = BASE; o <= m->last[nb - 1]; o++) {
		int i = 0;

		while (m->last[i] < o)
			i++;
		assert_int_equal(seg_locate(s, o, &pos, &bi), 0);
		assert_int_equal(pos, m->pos[i]);
		assert_int_equal(bi.base_offset, m->base[i]);
	}
	assert_int_equal(seg_locate(s, m->last[nb - 1] + 1, &pos, &bi),
	    MO_ENOTFOUND);
	for (int64_t ts = 99000; ts < 100000 + NB * 10 + 100; ts += 3) {
		int i = 0;

		while (i < nb && m->maxts[i] < ts)
			i++;
		if (i == nb) {
			assert_int_equal(seg_locate_time(s, ts, &pos, &bi),
			    MO_ENOTFOUND);
			continue;
		}
		assert_int_equal(seg_locate_time(s, ts, &pos, &bi), 0);
		assert_int_equal(pos, m->pos[i]);
	}
}

static void
test_lookups(void **state)
{
	struct model m;
	struct seg *s;

	(void)state;
	s = build(&m, 256);
	assert_true(s->nents > 10);
	check_lookups(s, &m, NB);
	/* Entries reach the files in groups; a roll or close writes the
	   rest (as plog does), which the trusted reopen below reads. */
	assert_true(s->nents_written <= s->nents);
	assert_int_equal(s->nents_written % 64, 0);
	assert_int_equal(seg_ent_flush(s), 0);
	assert_int_equal(s->nents_written, s->nents);
	{
		char *ip = seg_file(dir, BASE, ".index");
		char *tp = seg_file(dir, BASE, ".timeindex");
		struct stat ist, tst;

		assert_int_equal(stat(ip, &ist), 0);
		assert_int_equal(stat(tp, &tst), 0);
		assert_int_equal(ist.st_size, (off_t)(s->nents * 8));
		assert_int_equal(tst.st_size, (off_t)(s->nents * 12));
		free(ip);
		free(tp);
	}
	seg_unref(s);
	/* Trusted reopen reads the index files; recovery rebuilds them. */
	assert_int_equal(seg_open(dir, BASE, SEG_TRUST, &s), 0);
	assert_int_equal(s->next_offset, m.last[NB - 1] + 1);
	check_lookups(s, &m, NB);
	seg_unref(s);
	assert_int_equal(seg_open(dir, BASE, SEG_RECOVER, &s), 0);
	assert_int_equal(s->next_offset, m.last[NB - 1] + 1);
	check_lookups(s, &m, NB);
	seg_unref(s);
}

static void
test_span(void **state)
{
	struct model m;
	struct seg *s;
	size_t len;

	(void)state;
	s = build(&m, 128);
	/* Whole batches only, at least one when first. */
	assert_int_equal(seg_span(s, m.pos[3], 1, true, &len), 0);
	assert_int_equal(len, m.size[3]);
	assert_int_equal(seg_span(s, m.pos[3], 1, false, &len), 0);
	assert_int_equal(len, 0);
	assert_int_equal(seg_span(s, m.pos[3], m.pos[50] - m.pos[3] + 1,
	    false, &len), 0);
	assert_int_equal(len, m.pos[50] - m.pos[3]);
	assert_int_equal(seg_span(s, m.pos[10], SIZE_MAX / 2, false, &len), 0);
	assert_int_equal(len, s->size - m.pos[10]);
	seg_unref(s);
}

static void
damage_and_recover(const struct model *m, bool garbage)
{
	char *path = seg_file(dir, BASE, ".log");
	struct seg *s;
	int fd = open(path, O_WRONLY | O_APPEND);

	assert_true(fd >= 0);
	if (garbage) {
		uint8_t junk[777];

		for (size_t i = 0; i < sizeof(junk); i++)
			junk[i] = (uint8_t)(i * 31 + 7);
		assert_int_equal(write(fd, junk, sizeof(junk)),
		    (ssize_t)sizeof(junk));
	} else
		assert_int_equal(ftruncate(fd, (off_t)(m->pos[NB - 1] +
		    m->size[NB - 1] - 5)), 0);
	close(fd);
	free(path);
	assert_int_equal(seg_open(dir, BASE, SEG_RECOVER, &s), 0);
	if (garbage) {
		assert_int_equal(s->next_offset, m->last[NB - 1] + 1);
		check_lookups(s, m, NB);
	} else {
		assert_int_equal(s->size, m->pos[NB - 1]);
		assert_int_equal(s->next_offset, m->last[NB - 2] + 1);
		check_lookups(s, m, NB - 1);
	}
	seg_unref(s);
}

static void
test_recovery(void **state)
{
	struct model m;

	(void)state;
	seg_unref(build(&m, 512));
	damage_and_recover(&m, true);
	seg_unref(build(&m, 512));
	damage_and_recover(&m, false);
}

static void
test_bad_index(void **state)
{
	struct model m;
	struct seg *s;
	char *path;
	int fd;

	(void)state;
	seg_unref(build(&m, 200));
	/* A torn index entry is dropped, the rest still answers. */
	path = seg_file(dir, BASE, ".index");
	fd = open(path, O_WRONLY | O_APPEND);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "\xff\xff\xff", 3), 3);
	close(fd);
	free(path);
	assert_int_equal(seg_open(dir, BASE, SEG_TRUST, &s), 0);
	check_lookups(s, &m, NB);
	seg_unref(s);
}

/*
 * Appends reserve blocks past the end without moving the file size;
 * seg_seal gives them back; a reopened segment reads the same.
 */
static void
test_reserve(void **state)
{
	struct model m;
	struct seg *s;
	struct stat st;

	(void)state;
	s = build(&m, 256);
	assert_int_equal(fstat(s->fd, &st), 0);
	assert_int_equal((uint64_t)st.st_size, s->size);
	if (!s->no_prealloc) {
		assert_true(s->alloc_end > s->size);
		assert_true((uint64_t)st.st_blocks * 512 >= s->alloc_end -
		    4096);
	}
	seg_seal(s);
	assert_int_equal(s->alloc_end, s->size);
	assert_int_equal(fstat(s->fd, &st), 0);
	assert_int_equal((uint64_t)st.st_size, s->size);
	assert_true((uint64_t)st.st_blocks * 512 < s->size + 8192);
	seg_unref(s);
	assert_int_equal(seg_open(dir, BASE, SEG_RECOVER, &s), 0);
	assert_int_equal(s->next_offset, m.last[NB - 1] + 1);
	check_lookups(s, &m, NB);
	seg_unref(s);
}

/* seg_drop_idle: write-back of everything once a tick saw no append. */
static void
test_drop_idle(void **state)
{
	struct model m;
	struct seg_drop d;
	struct seg *s;
	uint64_t size;

	(void)state;
	s = build(&m, 256);
	size = s->size;
	assert_false(seg_drop_idle(s, &d));	/* appended since */
	assert_true(seg_drop_idle(s, &d));	/* idle a tick */
	assert_int_equal(d.wb_from, 0);
	assert_int_equal(d.wb_to, size);
	assert_int_equal(d.drop_to, d.drop_from);
	seg_drop_run(s, &d);
	assert_false(seg_drop_idle(s, &d));	/* nothing new */
	/* one more batch (a copy of the first, at the next offsets) */
	{
		uint8_t buf[4096];
		uint32_t sz = m.size[0];
		int64_t b = m.last[NB - 1] + 1;
		int64_t l = b + m.last[0] - m.base[0], ts = m.maxts[0];

		assert_true(sz <= sizeof(buf));
		assert_int_equal(seg_pread(s, m.pos[0], buf, sz), 0);
		assert_int_equal(seg_append(s, buf, sz, &b, &l, &ts, &sz, 1,
		    256), 0);
	}
	assert_false(seg_drop_idle(s, &d));	/* appended since */
	assert_true(seg_drop_idle(s, &d));
	assert_int_equal(d.wb_from, size);
	assert_int_equal(d.wb_to, s->size);
	seg_unref(s);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lookups),
		cmocka_unit_test(test_span),
		cmocka_unit_test(test_recovery),
		cmocka_unit_test(test_bad_index),
		cmocka_unit_test(test_reserve),
		cmocka_unit_test(test_drop_idle),
	};
	char cmd[128];
	int rc;

	if (mkdtemp(dir) == NULL)
		return 1;
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		rc = 1;
	return rc;
}
