/* Unit tests of the controller's partition decisions (ctl_partition.c):
   placement, elections on fencing, AlterPartition checks, reassignment,
   and the image applying what they write. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "kerr.h"
#include "kproto_gen.h"
#include "ctl_partition.h"
#include "meta_image.h"

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

/* ---- placement ---- */

static void
check_spread(const int32_t *out, int32_t np, int32_t rf,
    const struct cp_broker *b, size_t nb, bool racks)
{
	int32_t p, i, j, leads[16] = { 0 };
	size_t k;

	for (p = 0; p < np; p++) {
		const int32_t *r = &out[p * rf];

		for (i = 0; i < rf; i++)
			for (j = 0; j < i; j++) {
				assert_int_not_equal(r[i], r[j]);
				if (racks) {
					const char *ri = NULL, *rj = NULL;

					for (k = 0; k < nb; k++) {
						if (b[k].id == r[i])
							ri = b[k].rack;
						if (b[k].id == r[j])
							rj = b[k].rack;
					}
					assert_string_not_equal(ri, rj);
				}
			}
		for (k = 0; k < nb; k++)
			if (b[k].id == r[0])
				leads[k]++;
	}
	/* np a multiple of nb: every broker leads the same number. */
	for (k = 0; k < nb; k++)
		assert_int_equal(leads[k], np / (int32_t)nb);
}

static void
test_assign_kafka(void **state)
{
	/* Kafka's AdminUtils test: 5 brokers, 10 partitions, rf 3, start 0. */
	static const int32_t want[10][3] = {
		{ 0, 1, 2 }, { 1, 2, 3 }, { 2, 3, 4 }, { 3, 4, 0 }, { 4, 0, 1 },
		{ 0, 2, 3 }, { 1, 3, 4 }, { 2, 4, 0 }, { 3, 0, 1 }, { 4, 1, 2 },
	};
	struct cp_broker b[5];
	int32_t out[30], i;

	(void)state;
	for (i = 0; i < 5; i++) {
		b[i].id = i;
		b[i].rack = NULL;
	}
	assert_int_equal(cp_assign(b, 5, 10, 3, 0, 0, 0, out), 0);
	assert_memory_equal(out, want, sizeof(out));
	assert_int_equal(cp_assign(b, 5, 1, 6, 0, 0, 0, out), -1);
	assert_int_equal(cp_assign(b, 5, 1, 0, 0, 0, 0, out), -1);
}

static void
test_assign_spread(void **state)
{
	struct cp_broker b[6];
	int32_t out[12 * 3];
	size_t s, t;
	int32_t i;

	(void)state;
	for (i = 0; i < 6; i++) {
		b[i].id = 101 + i;
		b[i].rack = NULL;
	}
	for (s = 0; s < 6; s++)
		for (t = 0; t < 6; t++) {
			assert_int_equal(cp_assign(b, 6, 12, 3, 0, s, t, out),
			    0);
			check_spread(out, 12, 3, b, 6, false);
		}
}

static void
test_assign_racks(void **state)
{
	static const char *racks[6] = { "a", "a", "b", "b", "c", "c" };
	struct cp_broker b[6];
	int32_t out[12 * 3];
	size_t s, t;
	int32_t i;

	(void)state;
	for (i = 0; i < 6; i++) {
		b[i].id = 101 + i;
		b[i].rack = racks[i];
	}
	for (s = 0; s < 7; s++)
		for (t = 0; t < 7; t++) {
			assert_int_equal(cp_assign(b, 6, 12, 3, 0, s, t, out),
			    0);
			check_spread(out, 12, 3, b, 6, true);
			/* rf 2 on 3 racks: still two racks per partition. */
			assert_int_equal(cp_assign(b, 6, 6, 2, 3, s, t, out),
			    0);
			check_spread(out, 6, 2, b, 6, true);
		}
	/* Two racks, rf 3: both racks used, no broker twice. */
	for (i = 0; i < 6; i++)
		b[i].rack = i < 3 ? "x" : "y";
	assert_int_equal(cp_assign(b, 6, 6, 3, 0, 1, 2, out), 0);
	for (i = 0; i < 6; i++) {
		int32_t *r = &out[i * 3];
		int nx = (r[0] <= 103) + (r[1] <= 103) + (r[2] <= 103);

		assert_true(nx == 1 || nx == 2);
		assert_true(r[0] != r[1] && r[1] != r[2] && r[0] != r[2]);
	}
}

/* ---- an image ---- */

static void
put_broker(struct wbuf *w, int32_t id, bool fenced)
{
	struct kp_register_broker_record r;
	struct kp_unfence_broker_record u = { id, 10 + id };

	kp_init(&kp_register_broker_record_desc, &r);
	r.broker_id = id;
	r.broker_epoch = 10 + id;
	r.incarnation_id = uid((uint8_t)id);
	r.end_points.n = 0;
	r.rack = ks(NULL);
	r.fenced = true;
	assert_int_equal(meta_record_put(w, MI_REC_REGISTER_BROKER, 1,
	    &kp_register_broker_record_desc, &r), 0);
	if (!fenced)
		assert_int_equal(meta_record_put(w, MI_REC_UNFENCE_BROKER, 0,
		    &kp_unfence_broker_record_desc, &u), 0);
}

static void
put_partition(struct wbuf *w, int32_t part, const int32_t *reps, int32_t n,
    const int32_t *isr, int32_t ni)
{
	struct kp_partition_record pr;

	kp_init(&kp_partition_record_desc, &pr);
	pr.partition_id = part;
	pr.topic_id = uid(7);
	pr.replicas.v = (int32_t *)(uintptr_t)reps;
	pr.replicas.n = n;
	pr.isr.v = (int32_t *)(uintptr_t)isr;
	pr.isr.n = ni;
	pr.removing_replicas.n = 0;
	pr.adding_replicas.n = 0;
	pr.leader = isr[0];
	pr.leader_epoch = 0;
	pr.partition_epoch = 0;
	assert_int_equal(meta_record_put(w, MI_REC_PARTITION, 0,
	    &kp_partition_record_desc, &pr), 0);
}

/* Brokers 1-3 unfenced, 4 fenced; topic t: p0 [1,2,3] isr all, p1 [1,2]
   isr [1], p2 [2,3,1] isr all. */
static struct meta_image *
build(void)
{
	static const int32_t r0[] = { 1, 2, 3 }, r1[] = { 1, 2 },
	    i1[] = { 1 }, r2[] = { 2, 3, 1 };
	struct meta_image *img = meta_image_new();
	struct kp_topic_record tr;
	struct wbuf w = { 0 };

	put_broker(&w, 1, false);
	put_broker(&w, 2, false);
	put_broker(&w, 3, false);
	put_broker(&w, 4, true);
	kp_init(&kp_topic_record_desc, &tr);
	tr.name = ks("t");
	tr.topic_id = uid(7);
	assert_int_equal(meta_record_put(&w, MI_REC_TOPIC, 0,
	    &kp_topic_record_desc, &tr), 0);
	put_partition(&w, 0, r0, 3, r0, 3);
	put_partition(&w, 1, r1, 2, i1, 1);
	put_partition(&w, 2, r2, 3, r2, 3);
	assert_int_equal(meta_image_apply(img, w.data, w.len), 0);
	wbuf_clear(&w);
	return img;
}

static const struct mi_partition *
part(const struct meta_image *img, int32_t id)
{
	return &img->topics[0].parts[id];
}

static void
apply(struct meta_image *img, int32_t p, const struct cp_change *ch)
{
	struct wbuf w = { 0 };
	struct kuuid t = uid(7);

	assert_int_equal(cp_change_put(&w, &t, p, ch), 0);
	assert_int_equal(meta_image_apply(img, w.data, w.len), 0);
	wbuf_clear(&w);
}

static void
assert_ints(const struct mi_ints *m, const int32_t *v, size_t n)
{
	assert_int_equal(m->n, n);
	if (n > 0)
		assert_memory_equal(m->v, v, n * sizeof(*v));
}

static void
test_fence(void **state)
{
	struct meta_image *img = build();
	struct cp_view v = { img, 1, -1 };
	struct cp_change ch;
	static const int32_t i23[] = { 2, 3 }, i1[] = { 1 }, i2[] = { 2 };
	struct mi_partition after;

	(void)state;
	/* p0: 1 leaves the ISR, 2 leads, epochs bumped. */
	assert_true(cp_remove_broker(&v, part(img, 0), 1, false, &ch));
	assert_int_equal(ch.leader, 2);
	cp_change_result(part(img, 0), &ch, &after);
	assert_int_equal(after.leader_epoch, 1);
	assert_int_equal(after.partition_epoch, 1);
	apply(img, 0, &ch);
	assert_int_equal(part(img, 0)->leader, 2);
	assert_int_equal(part(img, 0)->leader_epoch, 1);
	assert_int_equal(part(img, 0)->partition_epoch, 1);
	assert_ints(&part(img, 0)->isr, i23, 2);
	/* p1: 1 is the last ISR member: it stays, no leader. */
	assert_true(cp_remove_broker(&v, part(img, 1), 1, false, &ch));
	assert_int_equal(ch.leader, CP_NO_LEADER);
	assert_int_equal(ch.isr.n, -1);
	/* ... unless unclean election is allowed: 2 leads, alone. */
	assert_true(cp_remove_broker(&v, part(img, 1), 1, true, &ch));
	assert_int_equal(ch.leader, 2);
	assert_int_equal(ch.recovery, 1);
	apply(img, 1, &ch);
	assert_ints(&part(img, 1)->isr, i2, 1);
	assert_int_equal(part(img, 1)->recovery, 1);
	/* p2: 1 only leaves the ISR. */
	assert_true(cp_remove_broker(&v, part(img, 2), 1, false, &ch));
	assert_int_equal(ch.leader, CP_LEADER_SAME);
	assert_int_equal(ch.isr.n, 2);
	/* 4 is nowhere: nothing. */
	assert_false(cp_remove_broker(&v, part(img, 2), 4, false, &ch));
	(void)i1;
	meta_image_free(img);
}

static void
test_back_and_preferred(void **state)
{
	struct meta_image *img = build();
	struct cp_view gone = { img, 1, -1 }, v = { img, -1, -1 };
	struct cp_change ch;

	(void)state;
	/* p1 loses its only ISR member; it comes back and leads again. */
	assert_true(cp_remove_broker(&gone, part(img, 1), 1, false, &ch));
	apply(img, 1, &ch);
	assert_int_equal(part(img, 1)->leader, -1);
	assert_int_equal(part(img, 1)->leader_epoch, 1);
	assert_true(cp_elect(&v, part(img, 1), false, &ch));
	assert_int_equal(ch.leader, 1);
	apply(img, 1, &ch);
	assert_int_equal(part(img, 1)->leader_epoch, 2);
	assert_false(cp_elect(&v, part(img, 1), false, &ch));

	/* Preferred: p0 moved to 2, back to 1. */
	assert_true(cp_remove_broker(&gone, part(img, 0), 1, false, &ch));
	apply(img, 0, &ch);
	assert_int_equal(cp_elect_preferred(&v, part(img, 0), &ch),
	    KERR_PREFERRED_LEADER_NOT_AVAILABLE);	/* 1 not in the ISR */
	{
		static const int32_t isr[] = { 2, 3, 1 };

		assert_int_equal(cp_alter_isr(&v, part(img, 0), 2, 1, 1, isr,
		    NULL, 3, 0, 2, &ch), 0);
		apply(img, 0, &ch);
	}
	assert_int_equal(cp_elect_preferred(&v, part(img, 0), &ch), 0);
	assert_int_equal(ch.leader, 1);
	apply(img, 0, &ch);
	assert_int_equal(cp_elect_preferred(&v, part(img, 0), &ch),
	    KERR_ELECTION_NOT_NEEDED);
	assert_int_equal(cp_elect_unclean(&v, part(img, 0), &ch),
	    KERR_ELECTION_NOT_NEEDED);
	meta_image_free(img);
}

static void
test_alter_isr(void **state)
{
	struct meta_image *img = build();
	struct cp_view v = { img, -1, -1 };
	struct cp_change ch;
	static const int32_t i12[] = { 1, 2 }, i124[] = { 1, 2, 4 },
	    i23[] = { 2, 3 }, i11[] = { 1, 1 }, i15[] = { 1, 5 };
	static const int64_t e12bad[] = { 11, 99 };
	const struct mi_partition *p = part(img, 0);

	(void)state;
	assert_int_equal(cp_alter_isr(&v, p, 1, 1, 0, i12, NULL, 2, 0, 2, &ch),
	    KERR_FENCED_LEADER_EPOCH);
	assert_int_equal(cp_alter_isr(&v, p, 2, 0, 0, i12, NULL, 2, 0, 2, &ch),
	    KERR_INVALID_REQUEST);			/* not the leader */
	assert_int_equal(cp_alter_isr(&v, p, 1, 0, 5, i12, NULL, 2, 0, 2, &ch),
	    KERR_INVALID_UPDATE_VERSION);
	assert_int_equal(cp_alter_isr(&v, p, 1, 0, 0, i23, NULL, 2, 0, 2, &ch),
	    KERR_INVALID_REQUEST);			/* no leader */
	assert_int_equal(cp_alter_isr(&v, p, 1, 0, 0, i11, NULL, 2, 0, 2, &ch),
	    KERR_INVALID_REQUEST);
	assert_int_equal(cp_alter_isr(&v, p, 1, 0, 0, i15, NULL, 2, 0, 2, &ch),
	    KERR_INVALID_REQUEST);			/* not a replica */
	assert_int_equal(cp_alter_isr(&v, p, 1, 0, 0, i12, e12bad, 2, 0, 3,
	    &ch), KERR_INELIGIBLE_REPLICA);		/* broker epoch */
	assert_int_equal(cp_alter_isr(&v, p, 1, 0, 0, i12, NULL, 2, 0, 2, &ch),
	    0);
	apply(img, 0, &ch);
	assert_ints(&p->isr, i12, 2);
	assert_int_equal(p->partition_epoch, 1);
	assert_int_equal(p->leader_epoch, 0);
	/* Broker 4 is fenced: not eligible (v0: OPERATION_NOT_ATTEMPTED). */
	{
		static const int32_t r[] = { 1, 2, 4 };
		struct kp_partition_change_record pc;
		struct wbuf w = { 0 };

		kp_init(&kp_partition_change_record_desc, &pc);
		pc.topic_id = uid(7);
		pc.partition_id = 0;
		pc.replicas.v = (int32_t *)(uintptr_t)r;
		pc.replicas.n = 3;
		assert_int_equal(meta_record_put(&w, MI_REC_PARTITION_CHANGE,
		    0, &kp_partition_change_record_desc, &pc), 0);
		assert_int_equal(meta_image_apply(img, w.data, w.len), 0);
		wbuf_clear(&w);
	}
	assert_int_equal(cp_alter_isr(&v, p, 1, 0, 2, i124, NULL, 3, 0, 2,
	    &ch), KERR_INELIGIBLE_REPLICA);
	assert_int_equal(cp_alter_isr(&v, p, 1, 0, 2, i124, NULL, 3, 0, 0,
	    &ch), KERR_OPERATION_NOT_ATTEMPTED);
	meta_image_free(img);
}

static void
test_reassign(void **state)
{
	struct meta_image *img = build();
	struct cp_view v = { img, -1, -1 };
	struct cp_change ch;
	static const int32_t tgt[] = { 2, 3, 4 }, merged[] = { 2, 3, 4, 1 },
	    add[] = { 4 }, rem[] = { 1 }, isr[] = { 1, 2, 3, 4 },
	    final_isr[] = { 2, 3, 4 }, bad[] = { 2, 2 }, unknown[] = { 9 };
	struct wbuf w = { 0 };
	struct kp_unfence_broker_record u = { 4, 14 };
	const struct mi_partition *p = part(img, 0);

	(void)state;
	assert_int_equal(cp_reassign(&v, p, NULL, -1, &ch),
	    KERR_NO_REASSIGNMENT_IN_PROGRESS);
	assert_int_equal(cp_reassign(&v, p, bad, 2, &ch),
	    KERR_INVALID_REPLICA_ASSIGNMENT);
	assert_int_equal(cp_reassign(&v, p, unknown, 1, &ch),
	    KERR_INVALID_REPLICA_ASSIGNMENT);
	assert_int_equal(cp_reassign(&v, p, tgt, 3, &ch), 0);
	apply(img, 0, &ch);
	assert_ints(&p->replicas, merged, 4);
	assert_ints(&p->adding, add, 1);
	assert_ints(&p->removing, rem, 1);
	assert_int_equal(p->leader, 1);
	/* 4 comes up and joins the ISR: done, 1 hands over to 2. */
	assert_int_equal(meta_record_put(&w, MI_REC_UNFENCE_BROKER, 0,
	    &kp_unfence_broker_record_desc, &u), 0);
	assert_int_equal(meta_image_apply(img, w.data, w.len), 0);
	wbuf_clear(&w);
	assert_int_equal(cp_alter_isr(&v, p, 1, 0, 1, isr, NULL, 4, 0, 2, &ch),
	    0);
	apply(img, 0, &ch);
	assert_ints(&p->replicas, tgt, 3);
	assert_ints(&p->isr, final_isr, 3);
	assert_int_equal(p->adding.n, 0);
	assert_int_equal(p->removing.n, 0);
	assert_int_equal(p->leader, 2);
	assert_int_equal(p->leader_epoch, 1);
	/* Shrinking needs no copy: at once. */
	assert_int_equal(cp_reassign(&v, p, tgt, 2, &ch), 0);
	assert_int_equal(ch.replicas.n, 2);
	assert_int_equal(ch.adding.n, -1);
	meta_image_free(img);
}

static void
test_dup_keeps_reassignment(void **state)
{
	struct meta_image *img = build(), *d;
	struct cp_view v = { img, -1, -1 };
	struct cp_change ch;
	static const int32_t tgt[] = { 2, 3, 4 };

	(void)state;
	assert_int_equal(cp_reassign(&v, part(img, 0), tgt, 3, &ch), 0);
	apply(img, 0, &ch);
	d = meta_image_dup(img);
	assert_int_equal(part(d, 0)->adding.n, 1);
	assert_int_equal(part(d, 0)->removing.n, 1);
	assert_true(part(d, 0)->adding.v != part(img, 0)->adding.v);
	meta_image_free(d);
	meta_image_free(img);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_assign_kafka),
		cmocka_unit_test(test_assign_spread),
		cmocka_unit_test(test_assign_racks),
		cmocka_unit_test(test_fence),
		cmocka_unit_test(test_back_and_preferred),
		cmocka_unit_test(test_alter_isr),
		cmocka_unit_test(test_reassign),
		cmocka_unit_test(test_dup_keeps_reassignment),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
