/* Unit tests of SQLite snapshots: round trip, torn temp files, damaged
   files, fallback, install from bytes, pruning. */
#include <sys/stat.h>

#include <dirent.h>
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

#include "kproto_gen.h"
#include "meta_image.h"
#include "snapshot.h"

static char dir[64];

static int
setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/test_snapshot.XXXXXX");
	return mkdtemp(dir) == NULL ? -1 : 0;
}

static int
teardown(void **state)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	char p[4096];

	(void)state;
	while (d != NULL && (de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(p, sizeof(p), "%s/%s", dir, de->d_name);
		unlink(p);
	}
	if (d != NULL)
		closedir(d);
	return rmdir(dir);
}

/* An image with n topics at offset off. */
static struct meta_image *
image(int n, int64_t off, int32_t epoch)
{
	struct meta_image *img = meta_image_new();
	struct wbuf w = { 0 };
	char name[32];
	int i;

	for (i = 0; i < n; i++) {
		struct kp_topic_record t;
		struct kp_partition_record p;
		int32_t reps[1] = { 1 };

		snprintf(name, sizeof(name), "t%d", i);
		kp_init(&kp_topic_record_desc, &t);
		t.name.p = name;
		t.name.len = (int32_t)strlen(name);
		memset(t.topic_id.b, i + 1, 16);
		meta_record_put(&w, MI_REC_TOPIC, 0, &kp_topic_record_desc, &t);
		kp_init(&kp_partition_record_desc, &p);
		p.topic_id = t.topic_id;
		p.replicas.v = reps;
		p.replicas.n = 1;
		p.isr.v = reps;
		p.isr.n = 1;
		p.removing_replicas.n = 0;
		p.adding_replicas.n = 0;
		p.leader = 1;
		meta_record_put(&w, MI_REC_PARTITION, 0,
		    &kp_partition_record_desc, &p);
		assert_int_equal(meta_image_apply(img, w.data, w.len), 0);
		wbuf_clear(&w);
	}
	img->end_offset = off;
	img->last_epoch = epoch;
	return img;
}

static void
write_file(const char *path, const void *p, size_t n)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, p, n), (ssize_t)n);
	close(fd);
}

static void
test_round_trip(void **state)
{
	struct meta_image *img = image(5, 100, 2), *got;
	char path[4096], err[512];
	uint8_t *bytes;
	size_t len;

	(void)state;
	assert_int_equal(snapshot_write(dir, img, path, sizeof(path), err,
	    sizeof(err)), 0);
	assert_non_null(strstr(path, "00000000000000000100-0000000002.sqlite"));
	assert_int_equal(snapshot_load_newest(dir, &got, &bytes, &len, err,
	    sizeof(err)), 0);
	assert_non_null(got);
	assert_true(len > 0);
	assert_true(meta_image_equal(img, got));
	assert_true(got->end_offset == 100);
	meta_image_free(got);
	free(bytes);
	meta_image_free(img);
}

static void
scram_put(struct meta_image *img, const char *user, int8_t mech,
    int32_t iters, uint8_t fill)
{
	struct kp_user_scram_credential_record r;
	struct wbuf w = { 0 };
	uint8_t salt[5] = { 1, 2, 3, 4, fill }, key[64];
	size_t kl = mi_scram_key_len(mech);

	memset(key, fill, sizeof(key));
	kp_init(&kp_user_scram_credential_record_desc, &r);
	r.name.p = user;
	r.name.len = (int32_t)strlen(user);
	r.mechanism = mech;
	r.salt.p = salt;
	r.salt.len = sizeof(salt);
	r.stored_key.p = key;
	r.stored_key.len = (int32_t)kl;
	r.server_key.p = key;
	r.server_key.len = (int32_t)kl;
	r.iterations = iters;
	meta_record_put(&w, MI_REC_SCRAM, 0,
	    &kp_user_scram_credential_record_desc, &r);
	assert_int_equal(meta_image_apply(img, w.data, w.len), 0);
	wbuf_clear(&w);
}

/* SCRAM credentials: records in, sorted by user and mechanism, replaced,
   removed, bad key sizes ignored; a snapshot keeps them. */
static void
test_scram(void **state)
{
	struct meta_image *img = image(1, 50, 1), *got, *dup;
	struct kp_remove_user_scram_credential_record rr;
	const struct mi_scram *c;
	struct wbuf w = { 0 };
	uint64_t before = meta_image_digest(img);
	char path[4096], err[512];
	uint8_t *bytes;
	size_t len;

	(void)state;
	scram_put(img, "bob", MI_SCRAM_SHA_512, 4096, 7);
	scram_put(img, "alice", MI_SCRAM_SHA_512, 8192, 8);
	scram_put(img, "alice", MI_SCRAM_SHA_256, 4096, 9);
	scram_put(img, "alice", MI_SCRAM_SHA_256, 10000, 10);	/* replaces */
	scram_put(img, "carol", 3, 4096, 1);		/* no such mechanism */
	assert_int_equal(img->nscram, 3);
	assert_string_equal(img->scram[0].user, "alice");
	assert_int_equal(img->scram[0].mechanism, MI_SCRAM_SHA_256);
	assert_int_equal(img->scram[0].iterations, 10000);
	assert_int_equal(img->scram[0].key_len, 32);
	assert_int_equal(img->scram[1].mechanism, MI_SCRAM_SHA_512);
	assert_string_equal(img->scram[2].user, "bob");
	assert_true(meta_image_digest(img) != before);
	c = meta_image_scram(img, "bob", 3, MI_SCRAM_SHA_512);
	assert_non_null(c);
	assert_int_equal(c->stored_key[63], 7);
	assert_int_equal(c->salt_len, 5);
	assert_null(meta_image_scram(img, "bob", 3, MI_SCRAM_SHA_256));
	assert_null(meta_image_scram(img, "bo", 2, MI_SCRAM_SHA_512));

	dup = meta_image_dup(img);
	assert_true(meta_image_equal(img, dup));
	meta_image_free(dup);
	assert_int_equal(snapshot_write(dir, img, path, sizeof(path), err,
	    sizeof(err)), 0);
	assert_int_equal(snapshot_load_newest(dir, &got, &bytes, &len, err,
	    sizeof(err)), 0);
	assert_true(meta_image_equal(img, got));
	assert_true(meta_image_digest(img) == meta_image_digest(got));
	meta_image_free(got);
	free(bytes);

	kp_init(&kp_remove_user_scram_credential_record_desc, &rr);
	rr.name.p = "alice";
	rr.name.len = 5;
	rr.mechanism = MI_SCRAM_SHA_512;
	meta_record_put(&w, MI_REC_REMOVE_SCRAM, 0,
	    &kp_remove_user_scram_credential_record_desc, &rr);
	assert_int_equal(meta_image_apply(img, w.data, w.len), 0);
	wbuf_clear(&w);
	assert_int_equal(img->nscram, 2);
	assert_null(meta_image_scram(img, "alice", 5, MI_SCRAM_SHA_512));
	assert_non_null(meta_image_scram(img, "alice", 5, MI_SCRAM_SHA_256));
	meta_image_free(img);
}

static void
test_none(void **state)
{
	struct meta_image *got;
	uint8_t *bytes;
	size_t len;
	char err[512];

	(void)state;
	assert_int_equal(snapshot_load_newest(dir, &got, &bytes, &len, err,
	    sizeof(err)), 0);
	assert_null(got);
}

/* A torn temp file of a newer snapshot is ignored and removed. */
static void
test_torn_temp(void **state)
{
	struct meta_image *img = image(3, 50, 1), *got;
	char path[4096], err[512];
	uint8_t *bytes;
	size_t len;

	(void)state;
	assert_int_equal(snapshot_write(dir, img, NULL, 0, err, sizeof(err)),
	    0);
	snprintf(path, sizeof(path),
	    "%s/00000000000000000900-0000000004.sqlite.tmp", dir);
	write_file(path, "SQLite format 3\0garbage", 24);
	assert_int_equal(snapshot_load_newest(dir, &got, &bytes, &len, err,
	    sizeof(err)), 0);
	assert_non_null(got);
	assert_true(got->end_offset == 50);
	meta_image_free(got);
	free(bytes);
	snapshot_remove_temps(dir);
	assert_int_not_equal(access(path, F_OK), 0);
	meta_image_free(img);
}

/* A damaged newest snapshot: fall back to the previous one; when none
   loads, refuse. */
static void
test_damaged(void **state)
{
	struct meta_image *a = image(2, 10, 1), *b = image(4, 20, 1), *got;
	char pa[4096], pb[4096], pdam[4200], err[8192];
	uint8_t *bytes;
	size_t len;

	(void)state;
	assert_int_equal(snapshot_write(dir, a, pa, sizeof(pa), err,
	    sizeof(err)), 0);
	assert_int_equal(snapshot_write(dir, b, pb, sizeof(pb), err,
	    sizeof(err)), 0);
	assert_int_equal(truncate(pb, 1000), 0);
	assert_int_equal(snapshot_load_newest(dir, &got, &bytes, &len, err,
	    sizeof(err)), 0);
	assert_non_null(got);
	assert_true(got->end_offset == 10);
	assert_true(meta_image_equal(a, got));
	meta_image_free(got);
	free(bytes);
	/* The damaged one is kept aside, out of the next start's way. */
	assert_int_not_equal(access(pb, F_OK), 0);
	snprintf(pdam, sizeof(pdam), "%s.damaged", pb);
	assert_int_equal(access(pdam, F_OK), 0);
	write_file(pa, "not a database at all, not at all", 33);
	assert_int_equal(snapshot_load_newest(dir, &got, &bytes, &len, err,
	    sizeof(err)), -1);
	assert_null(got);
	/* The refusal names the file and why. */
	assert_non_null(strstr(err, "1 damaged"));
	assert_non_null(strstr(err, pa));
	assert_non_null(strstr(err, "not a metadata snapshot"));
	assert_int_equal(access(pa, F_OK), 0);
	meta_image_free(a);
	meta_image_free(b);
}

/* The bytes of a snapshot file, installed elsewhere, give the same image;
   bytes with another id or damaged bytes are refused. */
static void
test_install(void **state)
{
	struct meta_image *img = image(3, 77, 5), *got;
	char path[4096], err[512], other[128];
	uint8_t *bytes;
	size_t len;

	(void)state;
	assert_int_equal(snapshot_write(dir, img, path, sizeof(path), err,
	    sizeof(err)), 0);
	assert_int_equal(snapshot_read_file(path, &bytes, &len), 0);
	snprintf(other, sizeof(other), "%s/other", dir);
	assert_int_equal(mkdir(other, 0755), 0);
	got = snapshot_install(other, 77, 5, bytes, len, err, sizeof(err));
	assert_non_null(got);
	assert_true(meta_image_equal(img, got));
	meta_image_free(got);
	assert_null(snapshot_install(other, 78, 5, bytes, len, err,
	    sizeof(err)));
	assert_null(snapshot_install(other, 77, 5, bytes, len / 2, err,
	    sizeof(err)));
	free(bytes);
	snprintf(path, sizeof(path), "%s/%020d-%010d.sqlite", other, 77, 5);
	assert_int_equal(unlink(path), 0);
	assert_int_equal(rmdir(other), 0);
	meta_image_free(img);
}

static void
test_prune(void **state)
{
	char err[512], path[4096];
	int i;

	(void)state;
	for (i = 1; i <= 4; i++) {
		struct meta_image *img = image(1, i * 10, 1);

		assert_int_equal(snapshot_write(dir, img, NULL, 0, err,
		    sizeof(err)), 0);
		meta_image_free(img);
	}
	snapshot_prune(dir, 2);
	for (i = 1; i <= 4; i++) {
		snprintf(path, sizeof(path), "%s/%020d-%010d.sqlite", dir,
		    i * 10, 1);
		assert_int_equal(access(path, F_OK) == 0, i >= 3);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_round_trip, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_none, setup, teardown),
		cmocka_unit_test_setup_teardown(test_scram, setup, teardown),
		cmocka_unit_test_setup_teardown(test_torn_temp, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_damaged, setup, teardown),
		cmocka_unit_test_setup_teardown(test_install, setup, teardown),
		cmocka_unit_test_setup_teardown(test_prune, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
