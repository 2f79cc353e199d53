/* Unit tests of the metadata image: records in, image out; a snapshot
   written and loaded again equals the image replayed from records. */
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

static struct kstr
ks(const char *s)
{
	struct kstr k = { s, s ? (int32_t)strlen(s) : -1 };

	return k;
}

static struct kuuid
uid(uint8_t n)
{
	struct kuuid u;

	memset(&u, n, sizeof(u));
	return u;
}

static void
put_broker(struct wbuf *w, int32_t id, int64_t epoch, const char *host,
    const char *rack)
{
	struct kp_register_broker_record r;
	struct kp_register_broker_record_broker_endpoint ep;

	kp_init(&kp_register_broker_record_desc, &r);
	memset(&ep, 0, sizeof(ep));
	ep.name = ks("PLAINTEXT");
	ep.host = ks(host);
	ep.port = (uint16_t)(9090 + id);
	r.broker_id = id;
	r.broker_epoch = epoch;
	r.incarnation_id = uid((uint8_t)id);
	r.end_points.v = &ep;
	r.end_points.n = 1;
	r.rack = ks(rack);
	r.fenced = true;
	assert_int_equal(meta_record_put(w, MI_REC_REGISTER_BROKER, 1,
	    &kp_register_broker_record_desc, &r), 0);
}

static void
put_topic(struct wbuf *w, const char *name, uint8_t id, int32_t nparts)
{
	struct kp_topic_record t;
	struct kp_partition_record p;
	int32_t reps[2] = { 1, 2 }, i;

	kp_init(&kp_topic_record_desc, &t);
	t.name = ks(name);
	t.topic_id = uid(id);
	assert_int_equal(meta_record_put(w, MI_REC_TOPIC, 0,
	    &kp_topic_record_desc, &t), 0);
	for (i = nparts - 1; i >= 0; i--) {	/* out of order on purpose */
		kp_init(&kp_partition_record_desc, &p);
		p.partition_id = i;
		p.topic_id = uid(id);
		p.replicas.v = reps;
		p.replicas.n = 2;
		p.isr.v = reps;
		p.isr.n = 2;
		p.removing_replicas.n = 0;
		p.adding_replicas.n = 0;
		p.leader = 1;
		p.leader_epoch = 0;
		p.partition_epoch = 0;
		assert_int_equal(meta_record_put(w, MI_REC_PARTITION, 0,
		    &kp_partition_record_desc, &p), 0);
	}
}

static void
apply(struct meta_image *img, struct wbuf *w)
{
	assert_int_equal(w->err, 0);
	assert_int_equal(meta_image_apply(img, w->data, w->len), 0);
	img->end_offset++;
	img->last_epoch = 3;
	wbuf_clear(w);
}

/* A history of records, entry by entry. */
static struct meta_image *
build(void)
{
	struct meta_image *img = meta_image_new();
	struct wbuf w = { 0 };
	struct kp_unfence_broker_record u = { 2, 11 };
	struct kp_fence_broker_record f = { 1, 10 };
	struct kp_config_record cr;
	struct kp_partition_change_record pc;
	struct kp_remove_topic_record rt;
	struct kp_producer_ids_record pid = { 1, 10, 5000 };
	int32_t isr[1] = { 2 };

	put_broker(&w, 2, 11, "h2", NULL);
	put_broker(&w, 1, 10, "h1", "rack-a");
	apply(img, &w);
	assert_int_equal(meta_record_put(&w, MI_REC_UNFENCE_BROKER, 0,
	    &kp_unfence_broker_record_desc, &u), 0);
	apply(img, &w);
	put_topic(&w, "zeta", 7, 3);
	put_topic(&w, "alpha", 8, 2);
	put_topic(&w, "gone", 9, 1);
	apply(img, &w);
	kp_init(&kp_config_record_desc, &cr);
	cr.resource_type = 2;
	cr.resource_name = ks("zeta");
	cr.name = ks("retention.ms");
	cr.value = ks("1000");
	meta_record_put(&w, MI_REC_CONFIG, 0, &kp_config_record_desc, &cr);
	cr.resource_name = ks("gone");
	meta_record_put(&w, MI_REC_CONFIG, 0, &kp_config_record_desc, &cr);
	apply(img, &w);
	kp_init(&kp_partition_change_record_desc, &pc);
	pc.topic_id = uid(7);
	pc.partition_id = 1;
	pc.isr.v = isr;
	pc.isr.n = 1;
	pc.leader = 2;
	meta_record_put(&w, MI_REC_PARTITION_CHANGE, 0,
	    &kp_partition_change_record_desc, &pc);
	rt.topic_id = uid(9);
	meta_record_put(&w, MI_REC_REMOVE_TOPIC, 0,
	    &kp_remove_topic_record_desc, &rt);
	meta_record_put(&w, MI_REC_FENCE_BROKER, 0,
	    &kp_fence_broker_record_desc, &f);
	meta_record_put(&w, MI_REC_PRODUCER_IDS, 0,
	    &kp_producer_ids_record_desc, &pid);
	apply(img, &w);
	return img;
}

static void
test_apply(void **state)
{
	struct meta_image *img = build();
	const struct mi_broker *b;
	const struct mi_topic *t;

	(void)state;
	assert_int_equal(img->nbrokers, 2);
	assert_int_equal(img->brokers[0].id, 1);	/* sorted */
	b = meta_image_broker(img, 1);
	assert_non_null(b);
	assert_true(b->fenced);
	assert_string_equal(b->rack, "rack-a");
	assert_int_equal(b->neps, 1);
	assert_string_equal(b->eps[0].host, "h1");
	assert_int_equal(b->eps[0].port, 9091);
	b = meta_image_broker(img, 2);
	assert_false(b->fenced);
	assert_null(b->rack);
	assert_int_equal(meta_image_fenced(img), 1);
	assert_int_equal(img->ntopics, 2);
	assert_string_equal(img->topics[0].name, "alpha");
	assert_null(meta_image_topic(img, "gone", 4));
	t = meta_image_topic(img, "zeta", 4);
	assert_non_null(t);
	assert_int_equal(t->nparts, 3);
	assert_int_equal(t->parts[0].id, 0);
	assert_int_equal(t->parts[1].leader, 2);
	assert_int_equal(t->parts[1].leader_epoch, 1);
	assert_int_equal(t->parts[1].partition_epoch, 1);
	assert_int_equal(t->parts[1].isr.n, 1);
	assert_int_equal(t->parts[1].replicas.n, 2);
	assert_int_equal(img->nconfigs, 1);	/* gone's went with it */
	assert_string_equal(img->configs[0].value, "1000");
	assert_true(img->next_producer_id == 5000);
	meta_image_free(img);
}

static void
test_dup_equal(void **state)
{
	struct meta_image *a = build(), *b = meta_image_dup(a);
	struct wbuf w = { 0 };

	(void)state;
	assert_true(meta_image_equal(a, b));
	assert_true(meta_image_digest(a) == meta_image_digest(b));
	put_topic(&w, "more", 3, 1);
	apply(b, &w);
	assert_false(meta_image_equal(a, b));
	assert_false(meta_image_digest(a) == meta_image_digest(b));
	meta_image_free(a);
	meta_image_free(b);
}

static void
test_bad_records(void **state)
{
	struct meta_image *img = meta_image_new();
	uint8_t unknown[] = { 0, 99, 0, 0 };
	uint8_t badframe[] = { 1, 2, 0, 0 };
	uint8_t shortrec[] = { 0, 2, 0, 5, 'a' };

	(void)state;
	assert_int_not_equal(meta_image_apply(img, unknown, sizeof(unknown)),
	    0);
	assert_int_not_equal(meta_image_apply(img, badframe,
	    sizeof(badframe)), 0);
	assert_int_not_equal(meta_image_apply(img, shortrec,
	    sizeof(shortrec)), 0);
	assert_int_equal(meta_image_apply(img, NULL, 0), 0);
	assert_int_equal(img->ntopics, 0);
	meta_image_free(img);
}

/* Replaying the records equals loading the snapshot of the same state. */
static void
test_replay_equals_snapshot(void **state)
{
	char dir[] = "/tmp/test_meta_image.XXXXXX", path[4096], err[512];
	struct meta_image *img = build(), *loaded;

	(void)state;
	assert_non_null(mkdtemp(dir));
	assert_int_equal(snapshot_write(dir, img, path, sizeof(path), err,
	    sizeof(err)), 0);
	loaded = snapshot_load(path, err, sizeof(err));
	assert_non_null(loaded);
	assert_true(meta_image_equal(img, loaded));
	assert_true(loaded->end_offset == img->end_offset);
	assert_int_equal(loaded->last_epoch, img->last_epoch);
	meta_image_free(loaded);
	meta_image_free(img);
	unlink(path);
	rmdir(dir);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_apply),
		cmocka_unit_test(test_dup_equal),
		cmocka_unit_test(test_bad_records),
		cmocka_unit_test(test_replay_equals_snapshot),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
