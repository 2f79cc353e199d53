/*
 * Unit tests for the protocol codec (kproto.c over kproto_gen.c).
 *
 * Every message and version: random fill -> encode -> decode -> encode,
 * byte-identical, and every prefix of the encoding fails with MO_ESHORT.
 * Hand-checked byte vectors from the wire-format facts, huge counts.
 *
 * `test_kproto --corpus DIR` writes fuzz seeds (valid request frames) to DIR.
 */
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "err.h"
#include "kerr.h"
#include "kproto.h"
#include "kproto_gen.h"
#include "rd.h"
#include "wbuf.h"

#define ITERATIONS	8

/*
 * Seeded pseudo-random fill driven by the descriptors.
 */

struct fill {
	uint64_t		 rng;
	int16_t			 ver;
	bool			 flex;
	struct kp_arena		*arena;
};

static const char pool[] = "abcdefghijklmnopqrstuvwxyz0123456789\0\377\200";

static uint64_t
rnd(struct fill *f)
{
	f->rng ^= f->rng << 13;
	f->rng ^= f->rng >> 7;
	f->rng ^= f->rng << 17;
	return f->rng;
}

static bool
ver_in(int16_t v, int16_t lo, int16_t hi)
{
	return lo >= 0 && v >= lo && v <= hi;
}

static void	fill_struct(struct fill *, const struct kp_struct *, void *);

static void
fill_blob(struct fill *f, bool nullable, size_t max, void *p)
{
	struct kbytes b = { NULL, -1 };

	if (!nullable || rnd(f) % 4 != 0) {
		b.len = (int32_t)(rnd(f) % (max + 1));
		b.p = (const uint8_t *)pool + rnd(f) % (sizeof(pool) - max);
	}
	memcpy(p, &b, sizeof(b));
}

static void
fill_sub(struct fill *f, const struct kp_struct *sub, bool nullable, void *p)
{
	void *obj = NULL;

	if (rnd(f) % (nullable ? 3 : 5) != 0) {
		obj = kp_arena_alloc(f->arena, sub->size);
		fill_struct(f, sub, obj);
	}
	memcpy(p, &obj, sizeof(obj));
}

static void
fill_value(struct fill *f, uint8_t type, const struct kp_struct *sub,
    bool nullable, void *p)
{
	uint64_t x = rnd(f);

	switch (type) {
	case KP_T_BOOL:
		*(bool *)p = x & 1;
		break;
	case KP_T_INT8:
		*(int8_t *)p = (int8_t)x;
		break;
	case KP_T_INT16:
		*(int16_t *)p = (int16_t)x;
		break;
	case KP_T_UINT16:
		*(uint16_t *)p = (uint16_t)x;
		break;
	case KP_T_INT32:
		*(int32_t *)p = (int32_t)x;
		break;
	case KP_T_INT64:
		*(int64_t *)p = (int64_t)x;
		break;
	case KP_T_FLOAT64:
		*(double *)p = (double)(int32_t)x / 8;
		break;
	case KP_T_UUID:
		memcpy(p, &x, 8);
		x = rnd(f);
		memcpy((uint8_t *)p + 8, &x, 8);
		break;
	case KP_T_STRING:
		fill_blob(f, nullable, 8, p);
		break;
	case KP_T_BYTES:
	case KP_T_RECORDS:
		fill_blob(f, nullable || type == KP_T_RECORDS, 16, p);
		break;
	case KP_T_STRUCT:
		fill_sub(f, sub, nullable, p);
		break;
	}
}

static size_t
elem_size(uint8_t type, const struct kp_struct *sub)
{
	switch (type) {
	case KP_T_BOOL:
		return sizeof(bool);
	case KP_T_INT8:
		return 1;
	case KP_T_INT16:
	case KP_T_UINT16:
		return 2;
	case KP_T_INT32:
		return 4;
	case KP_T_INT64:
	case KP_T_FLOAT64:
		return 8;
	case KP_T_UUID:
		return 16;
	case KP_T_STRING:
		return sizeof(struct kstr);
	case KP_T_STRUCT:
		return sub->size;
	default:
		return sizeof(struct kbytes);
	}
}

static void
fill_array(struct fill *f, const struct kp_field *fd, bool nullable, void *p)
{
	size_t esz = elem_size(fd->elem, fd->sub);
	struct karr a = { NULL, -1 };

	if (!nullable || rnd(f) % 4 != 0) {
		a.n = (int32_t)(rnd(f) % 4);
		if (a.n > 0)
			a.v = kp_arena_alloc(f->arena, (size_t)a.n * esz);
		for (int32_t i = 0; i < a.n; i++) {
			uint8_t *e = (uint8_t *)a.v + (size_t)i * esz;

			if (fd->elem == KP_T_STRUCT)
				fill_struct(f, fd->sub, e);
			else
				fill_value(f, fd->elem, fd->sub, false, e);
		}
	}
	memcpy(p, &a, sizeof(a));
}

static void
fill_struct(struct fill *f, const struct kp_struct *s, void *obj)
{
	kp_init(s, obj);
	for (size_t i = 0; i < s->nfields; i++) {
		const struct kp_field *fd = &s->fields[i];
		uint8_t *p = (uint8_t *)obj + fd->off;
		bool tagged = ver_in(f->ver, fd->tvmin, fd->tvmax);
		bool nullable = ver_in(f->ver, fd->nvmin, fd->nvmax);

		if (tagged && (!f->flex || rnd(f) % 3 == 0))
			continue;	/* keep the default */
		if (!tagged && !ver_in(f->ver, fd->vmin, fd->vmax))
			continue;
		if (fd->type == KP_T_ARRAY)
			fill_array(f, fd, nullable, p);
		else
			fill_value(f, fd->type, fd->sub, nullable, p);
	}
}

/*
 * Round trip and truncation.
 */

struct target {
	const char		*name;
	const struct kp_struct	*desc;
	int16_t			 vmin, vmax, flex_min;
};

static bool
target_flex(const struct target *t, int16_t v)
{
	return t->flex_min >= 0 && v >= t->flex_min;
}

static void
check_prefixes(const struct target *t, int16_t v, uint64_t seed,
    const struct wbuf *w)
{
	struct kp_arena a = { 0 };
	void *obj = kp_arena_alloc(&a, t->desc->size);

	for (size_t n = 0; n < w->len; n++) {
		/* Exactly n bytes, so that ASan sees any overread. */
		uint8_t *copy = malloc(n != 0 ? n : 1);
		struct rd r;
		int e;

		assert_non_null(copy);
		memcpy(copy, w->data, n);
		rd_init(&r, copy, n);
		e = kp_decode(&r, t->desc, v, target_flex(t, v), obj, &a);
		if (e != MO_ESHORT || r.err != MO_ESHORT)
			fail_msg("%s v%d seed %" PRIu64 ": prefix %zu/%zu: %d",
			    t->name, v, seed, n, w->len, e);
		free(copy);
	}
	kp_arena_clear(&a);
}

static void
roundtrip(const struct target *t, int16_t v, uint64_t seed, bool prefixes)
{
	struct kp_arena a = { 0 };
	struct fill f = { seed, v, target_flex(t, v), &a };
	struct wbuf w1 = { 0 }, w2 = { 0 };
	void *obj1 = kp_arena_alloc(&a, t->desc->size);
	void *obj2 = kp_arena_alloc(&a, t->desc->size);
	struct rd r;
	int e;

	fill_struct(&f, t->desc, obj1);
	if ((e = kp_encode(&w1, t->desc, v, f.flex, obj1)) != 0)
		fail_msg("%s v%d seed %" PRIu64 ": encode %d", t->name, v,
		    seed, e);
	/* An empty encoding leaves data NULL; rd_init needs a pointer. */
	rd_init(&r, w1.data != NULL ? w1.data : (const uint8_t *)pool, w1.len);
	e = kp_decode(&r, t->desc, v, f.flex, obj2, &a);
	if (e != 0 || rd_done(&r) != 0)
		fail_msg("%s v%d seed %" PRIu64 ": decode %d, %zu left",
		    t->name, v, seed, e, rd_left(&r));
	assert_int_equal(kp_encode(&w2, t->desc, v, f.flex, obj2), 0);
	if (w1.len != w2.len ||
	    (w1.len > 0 && memcmp(w1.data, w2.data, w1.len) != 0))
		fail_msg("%s v%d seed %" PRIu64 ": re-encoding differs "
		    "(%zu vs %zu bytes)", t->name, v, seed, w1.len, w2.len);
	if (prefixes)
		check_prefixes(t, v, seed, &w1);
	wbuf_clear(&w1);
	wbuf_clear(&w2);
	kp_arena_clear(&a);
}

static void
roundtrip_target(const struct target *t, uint64_t base)
{
	for (int16_t v = t->vmin; v <= t->vmax; v++)
		for (int i = 0; i < ITERATIONS; i++)
			roundtrip(t, v, base + (uint64_t)v * 1000 + (uint64_t)i,
			    i < 2);
}

/* cmocka state: the API key. */
static void
test_roundtrip_api(void **state)
{
	const struct kp_msg *m = kp_msg_get((int16_t)(intptr_t)*state);
	struct target req = { m->name, m->req, m->vmin, m->vmax, m->flex_min };
	struct target resp = { m->name, m->resp, m->vmin, m->vmax,
		m->flex_min };

	assert_non_null(m);
	roundtrip_target(&req, 0x9e3779b97f4a7c15ULL ^ (uint64_t)m->api_key);
	roundtrip_target(&resp, 0xc2b2ae3d27d4eb4fULL ^ (uint64_t)m->api_key);
}

static const struct target data_targets[] = {
	{ "ConsumerProtocolSubscription",
	    &kp_consumer_protocol_subscription_desc, 0, 3, -1 },
	{ "ConsumerProtocolAssignment",
	    &kp_consumer_protocol_assignment_desc, 0, 3, -1 },
	{ "DefaultPrincipalData", &kp_default_principal_data_desc, 0, 0, 0 },
	{ "LeaderChangeMessage", &kp_leader_change_message_desc, 0, 0, 0 },
	{ "SnapshotHeaderRecord", &kp_snapshot_header_record_desc, 0, 0, 0 },
	{ "SnapshotFooterRecord", &kp_snapshot_footer_record_desc, 0, 0, 0 },
};

static void
test_roundtrip_data(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(data_targets) / sizeof(data_targets[0]);
	    i++)
		roundtrip_target(&data_targets[i], 77 + i);
}

/*
 * Hand-checked vectors: full request/response frames (without the size).
 */

static void
encode_req(struct wbuf *w, int16_t key, int16_t ver, int32_t corr,
    const void *body)
{
	const struct kp_msg *m = kp_msg_get(key);
	struct kp_req_hdr h = { key, ver, corr, { "cli", 3 } };

	kp_req_hdr_encode(w, &h);
	assert_int_equal(kp_encode(w, m->req, ver, kp_flexible(m, ver), body),
	    0);
}

static void
encode_resp(struct wbuf *w, int16_t key, int16_t ver, int32_t corr,
    const void *body)
{
	const struct kp_msg *m = kp_msg_get(key);

	kp_resp_hdr_encode(w, kp_resp_hdr_version(key, ver), corr);
	assert_int_equal(kp_encode(w, m->resp, ver, kp_flexible(m, ver), body),
	    0);
}

/* Decode a request frame, re-encode it and compare with the bytes. */
static void *
decode_req(const uint8_t *b, size_t len, struct kp_arena *a,
    struct kp_req_hdr *h)
{
	const struct kp_msg *m;
	struct wbuf w = { 0 };
	struct rd r;
	void *obj;

	rd_init(&r, b, len);
	assert_int_equal(kp_req_hdr_decode(&r, h), 0);
	assert_int_equal(h->correlation_id, 7);
	assert_int_equal(h->client_id.len, 3);
	assert_memory_equal(h->client_id.p, "cli", 3);
	m = kp_msg_get(h->api_key);
	assert_non_null(m);
	obj = kp_arena_alloc(a, m->req->size);
	assert_int_equal(kp_decode(&r, m->req, h->api_version,
	    kp_flexible(m, h->api_version), obj, a), 0);
	assert_int_equal(rd_done(&r), 0);
	encode_req(&w, h->api_key, h->api_version, 7, obj);
	assert_int_equal(w.len, len);
	assert_memory_equal(w.data, b, len);
	wbuf_clear(&w);
	return obj;
}

static void
test_vec_api_versions_req(void **state)
{
	static const uint8_t v0[] = {
		0x00, 0x12, 0x00, 0x00, 0x00, 0x00, 0x00, 0x07, /* 18 v0 */
		0x00, 0x03, 'c', 'l', 'i',			/* client */
	};
	static const uint8_t v3[] = {
		0x00, 0x12, 0x00, 0x03, 0x00, 0x00, 0x00, 0x07,
		0x00, 0x03, 'c', 'l', 'i', 0x00,		/* + tags */
		0x07, 'm', 'o', 'l', 'd', 'a', 'u',		/* compact */
		0x04, '1', '.', '0',
		0x00,						/* tags */
	};
	struct kp_api_versions_request q, *d;
	struct kp_arena a = { 0 };
	struct kp_req_hdr h;
	struct wbuf w = { 0 };

	(void)state;
	kp_init(&kp_api_versions_request_desc, &q);
	encode_req(&w, KP_API_API_VERSIONS, 0, 7, &q);
	assert_int_equal(w.len, sizeof(v0));
	assert_memory_equal(w.data, v0, sizeof(v0));
	wbuf_reset(&w);
	q.client_software_name = (struct kstr){ "moldau", 6 };
	q.client_software_version = (struct kstr){ "1.0", 3 };
	encode_req(&w, KP_API_API_VERSIONS, 3, 7, &q);
	assert_int_equal(w.len, sizeof(v3));
	assert_memory_equal(w.data, v3, sizeof(v3));
	wbuf_clear(&w);

	d = decode_req(v0, sizeof(v0), &a, &h);
	assert_int_equal(h.api_version, 0);
	assert_int_equal(d->client_software_name.len, 0);
	d = decode_req(v3, sizeof(v3), &a, &h);
	assert_int_equal(h.api_version, 3);
	assert_int_equal(d->client_software_name.len, 6);
	assert_memory_equal(d->client_software_name.p, "moldau", 6);
	kp_arena_clear(&a);
}

static void
check_resp(const uint8_t *b, size_t len, int16_t key, int16_t ver,
    const void *obj)
{
	const struct kp_msg *m = kp_msg_get(key);
	struct kp_arena a = { 0 };
	struct wbuf w = { 0 };
	struct rd r;
	int32_t corr;
	void *d;

	encode_resp(&w, key, ver, 7, obj);
	assert_int_equal(w.len, len);
	assert_memory_equal(w.data, b, len);
	rd_init(&r, b, len);
	assert_int_equal(rd_i32(&r, &corr), 0);
	assert_int_equal(corr, 7);
	d = kp_arena_alloc(&a, m->resp->size);
	assert_int_equal(kp_decode(&r, m->resp, ver, kp_flexible(m, ver), d,
	    &a), 0);
	assert_int_equal(rd_done(&r), 0);
	wbuf_reset(&w);
	encode_resp(&w, key, ver, 7, d);
	assert_memory_equal(w.data, b, len);
	wbuf_clear(&w);
	kp_arena_clear(&a);
}

static void
test_vec_api_versions_resp(void **state)
{
	static const uint8_t v0[] = {
		0x00, 0x00, 0x00, 0x07,		/* corr id, header v0 */
		0x00, 0x00,			/* error */
		0x00, 0x00, 0x00, 0x02,		/* 2 api keys */
		0x00, 0x00, 0x00, 0x03, 0x00, 0x0a,
		0x00, 0x12, 0x00, 0x00, 0x00, 0x03,
	};
	static const uint8_t v3[] = {
		0x00, 0x00, 0x00, 0x07,		/* header v0, flexible */
		0x00, 0x00,
		0x03,				/* compact: 2 api keys */
		0x00, 0x00, 0x00, 0x03, 0x00, 0x0a, 0x00,
		0x00, 0x12, 0x00, 0x00, 0x00, 0x03, 0x00,
		0x00, 0x00, 0x00, 0x64,		/* throttle 100 */
		0x02,				/* 2 tagged fields */
		0x01, 0x08, 0, 0, 0, 0, 0, 0, 0, 0x05,	/* epoch 5 */
		0x03, 0x01, 0x01,		/* zk migration ready */
	};
	struct kp_api_versions_response_api_version keys[2] = {
		{ KP_API_PRODUCE, 3, 10 }, { KP_API_API_VERSIONS, 0, 3 } };
	struct kp_api_versions_response p;

	(void)state;
	assert_int_equal(kp_resp_hdr_version(KP_API_API_VERSIONS, 3), 0);
	kp_init(&kp_api_versions_response_desc, &p);
	assert_true(p.finalized_features_epoch == -1);
	p.api_keys.v = keys;
	p.api_keys.n = 2;
	p.throttle_time_ms = 100;
	check_resp(v0, sizeof(v0), KP_API_API_VERSIONS, 0, &p);
	p.finalized_features_epoch = 5;
	p.zk_migration_ready = true;
	check_resp(v3, sizeof(v3), KP_API_API_VERSIONS, 3, &p);
}

static void
test_vec_metadata_req(void **state)
{
	static const uint8_t v12[] = {
		0x00, 0x03, 0x00, 0x0c, 0x00, 0x00, 0x00, 0x07,
		0x00, 0x03, 'c', 'l', 'i', 0x00,
		0x03,				/* 2 topics */
		1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16,
		0x04, 'f', 'o', 'o', 0x00,
		0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
		0x00, 0x00,			/* null name, tags */
		0x01,				/* auto create */
		0x00,				/* topic ops */
		0x00,
	};
	struct kp_metadata_request_metadata_request_topic t[2];
	struct kp_metadata_request q, *d;
	struct kp_arena a = { 0 };
	struct kp_req_hdr h;
	struct wbuf w = { 0 };

	(void)state;
	kp_init(&kp_metadata_request_desc, &q);
	assert_true(q.allow_auto_topic_creation);
	for (int i = 0; i < 2; i++)
		kp_init(&kp_metadata_request_metadata_request_topic_desc,
		    &t[i]);
	for (int i = 0; i < 16; i++)
		t[0].topic_id.b[i] = (uint8_t)(i + 1);
	t[0].name = (struct kstr){ "foo", 3 };
	t[1].name.len = -1;
	q.topics.v = t;
	q.topics.n = 2;
	encode_req(&w, KP_API_METADATA, 12, 7, &q);
	assert_int_equal(w.len, sizeof(v12));
	assert_memory_equal(w.data, v12, sizeof(v12));
	wbuf_clear(&w);
	d = decode_req(v12, sizeof(v12), &a, &h);
	assert_int_equal(d->topics.n, 2);
	assert_int_equal(d->topics.v[1].name.len, -1);
	assert_int_equal(d->topics.v[0].topic_id.b[15], 16);
	kp_arena_clear(&a);
}

static void
test_vec_produce_req(void **state)
{
	static const uint8_t v9[] = {
		0x00, 0x00, 0x00, 0x09, 0x00, 0x00, 0x00, 0x07,
		0x00, 0x03, 'c', 'l', 'i', 0x00,
		0x00,				/* null transactional id */
		0xff, 0xff,			/* acks -1 */
		0x00, 0x00, 0x75, 0x30,		/* timeout 30000 */
		0x02,				/* 1 topic */
		0x06, 't', 'o', 'p', 'i', 'c',
		0x02,				/* 1 partition */
		0x00, 0x00, 0x00, 0x02,		/* index 2 */
		0x04, 0xaa, 0xbb, 0xcc,		/* records */
		0x00, 0x00, 0x00,
	};
	static const uint8_t rec[] = { 0xaa, 0xbb, 0xcc };
	struct kp_produce_request_partition_produce_data pd;
	struct kp_produce_request_topic_produce_data td;
	struct kp_produce_request q, *d;
	struct kp_arena a = { 0 };
	struct kp_req_hdr h;
	struct wbuf w = { 0 };

	(void)state;
	kp_init(&kp_produce_request_desc, &q);
	kp_init(&kp_produce_request_topic_produce_data_desc, &td);
	kp_init(&kp_produce_request_partition_produce_data_desc, &pd);
	assert_int_equal(q.transactional_id.len, -1);
	q.acks = -1;
	q.timeout_ms = 30000;
	td.name = (struct kstr){ "topic", 5 };
	pd.index = 2;
	pd.records = (struct kbytes){ rec, 3 };
	td.partition_data.v = &pd;
	td.partition_data.n = 1;
	q.topic_data.v = &td;
	q.topic_data.n = 1;
	encode_req(&w, KP_API_PRODUCE, 9, 7, &q);
	assert_int_equal(w.len, sizeof(v9));
	assert_memory_equal(w.data, v9, sizeof(v9));
	wbuf_clear(&w);
	d = decode_req(v9, sizeof(v9), &a, &h);
	assert_int_equal(d->acks, -1);
	assert_int_equal(d->topic_data.v[0].partition_data.v[0].records.len, 3);
	assert_ptr_equal(d->topic_data.v[0].partition_data.v[0].records.p,
	    v9 + sizeof(v9) - 6);
	kp_arena_clear(&a);
}

static void
test_vec_fetch_req(void **state)
{
	static const uint8_t v12[] = {
		0x00, 0x01, 0x00, 0x0c, 0x00, 0x00, 0x00, 0x07,
		0x00, 0x03, 'c', 'l', 'i', 0x00,
		0xff, 0xff, 0xff, 0xff,		/* replica -1 */
		0x00, 0x00, 0x01, 0xf4,		/* max wait 500 */
		0x00, 0x00, 0x00, 0x01,		/* min bytes */
		0x7f, 0xff, 0xff, 0xff,		/* max bytes (default) */
		0x01,				/* read_committed */
		0x00, 0x00, 0x00, 0x00,		/* session id */
		0xff, 0xff, 0xff, 0xff,		/* session epoch */
		0x02, 0x02, 't',		/* 1 topic "t" */
		0x02,				/* 1 partition */
		0x00, 0x00, 0x00, 0x00,		/* partition 0 */
		0x00, 0x00, 0x00, 0x05,		/* leader epoch */
		0, 0, 0, 0, 0, 0, 0, 0x64,	/* fetch offset 100 */
		0xff, 0xff, 0xff, 0xff,		/* last fetched epoch */
		0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
		0x00, 0x10, 0x00, 0x00,		/* 1 MiB */
		0x00, 0x00,			/* partition, topic tags */
		0x01,				/* no forgotten topics */
		0x01,				/* rack "" */
		0x01, 0x00, 0x03, 0x03, 'c', '1',	/* cluster id tag */
	};
	struct kp_fetch_request_fetch_partition fp;
	struct kp_fetch_request_fetch_topic ft;
	struct kp_fetch_request q, *d;
	struct kp_arena a = { 0 };
	struct kp_req_hdr h;
	struct wbuf w = { 0 };

	(void)state;
	kp_init(&kp_fetch_request_desc, &q);
	kp_init(&kp_fetch_request_fetch_topic_desc, &ft);
	kp_init(&kp_fetch_request_fetch_partition_desc, &fp);
	assert_int_equal(q.max_bytes, 0x7fffffff);
	assert_int_equal(q.replica_id, -1);
	assert_int_equal(q.cluster_id.len, -1);
	q.max_wait_ms = 500;
	q.min_bytes = 1;
	q.isolation_level = 1;
	q.cluster_id = (struct kstr){ "c1", 2 };
	ft.topic = (struct kstr){ "t", 1 };
	fp.current_leader_epoch = 5;
	fp.fetch_offset = 100;
	fp.partition_max_bytes = 1 << 20;
	ft.partitions.v = &fp;
	ft.partitions.n = 1;
	q.topics.v = &ft;
	q.topics.n = 1;
	encode_req(&w, KP_API_FETCH, 12, 7, &q);
	assert_int_equal(w.len, sizeof(v12));
	assert_memory_equal(w.data, v12, sizeof(v12));
	wbuf_clear(&w);
	d = decode_req(v12, sizeof(v12), &a, &h);
	assert_int_equal(d->cluster_id.len, 2);
	assert_true(d->topics.v[0].partitions.v[0].log_start_offset == -1);
	assert_null(d->replica_state);
	kp_arena_clear(&a);
}

/*
 * Malformed input.
 */

static int
decode_body(int16_t key, int16_t ver, const void *b, size_t len)
{
	const struct kp_msg *m = kp_msg_get(key);
	struct kp_arena a = { 0 };
	void *obj = kp_arena_alloc(&a, m->req->size);
	struct rd r;
	int e;

	rd_init(&r, b, len);
	e = kp_decode(&r, m->req, ver, kp_flexible(m, ver), obj, &a);
	kp_arena_clear(&a);
	return e;
}

static void
test_huge_counts(void **state)
{
	(void)state;
	/* Metadata topics: int32 count far above the bytes left. */
	assert_int_equal(decode_body(KP_API_METADATA, 4,
	    "\x7f\xff\xff\xff\x00\x00\x00\x00", 8), MO_ESHORT);
	/* -1 is only allowed where nullable (v1+), -2 never. */
	assert_int_equal(decode_body(KP_API_METADATA, 0, "\xff\xff\xff\xff",
	    4), MO_EMALFORMED);
	assert_int_equal(decode_body(KP_API_METADATA, 1, "\xff\xff\xff\xff",
	    4), 0);
	assert_int_equal(decode_body(KP_API_METADATA, 1, "\xff\xff\xff\xfe",
	    4), MO_EMALFORMED);
	/* Compact: count+1 = 2^31 fits int32 but not the input. */
	assert_int_equal(decode_body(KP_API_METADATA, 12,
	    "\x80\x80\x80\x80\x08\x00\x00\x00", 8), MO_ESHORT);
	/* Compact: count+1 = 2^32-1 is beyond int32. */
	assert_int_equal(decode_body(KP_API_METADATA, 12,
	    "\xff\xff\xff\xff\x0f\x00\x00\x00", 8), MO_EMALFORMED);
	/* Overlong varint. */
	assert_int_equal(decode_body(KP_API_METADATA, 12,
	    "\xff\xff\xff\xff\xff\x01\x00\x00", 8), MO_EMALFORMED);
	/* Produce v3: 16M topics of at least 6 bytes in 12 bytes. */
	assert_int_equal(decode_body(KP_API_PRODUCE, 3,
	    "\xff\xff\x00\x01\x00\x00\x00\x00\x00\xff\xff\xff\x00\x00", 14),
	    MO_ESHORT);
	/* ElectLeaders v0: one topic "a" with []int32 of 3 in 8 bytes. */
	assert_int_equal(decode_body(KP_API_ELECT_LEADERS, 0,
	    "\x00\x00\x00\x01\x00\x01" "a" "\x00\x00\x00\x03"
	    "\x00\x00\x00\x01\x00\x00\x00\x02", 19), MO_ESHORT);
	assert_int_equal(decode_body(KP_API_ELECT_LEADERS, 0,
	    "\x00\x00\x00\x01\x00\x01" "a" "\x00\x00\x00\x02"
	    "\x00\x00\x00\x01\x00\x00\x00\x02\x00\x00\x00\x00",
	    23), 0);
	/* Tagged fields: huge count, then huge size. */
	assert_int_equal(decode_body(KP_API_API_VERSIONS, 3,
	    "\x01\x01\xff\xff\xff\xff\x0f", 7), MO_ESHORT);
	assert_int_equal(decode_body(KP_API_API_VERSIONS, 3,
	    "\x01\x01\x01\x00\xff\xff\xff\xff\x0f", 9), MO_ESHORT);
	/* Known tag 0 (ClusterId) whose content overruns its size. */
	assert_int_equal(decode_body(KP_API_FETCH, 12,
	    "\xff\xff\xff\xff\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0"
	    "\x01\x01\x01"		/* no topics, no forgotten, rack "" */
	    "\x01\x00\x02\x05" "a", 33), MO_EMALFORMED);
	/* Unknown tags are skipped. */
	assert_int_equal(decode_body(KP_API_API_VERSIONS, 3,
	    "\x01\x01\x01\x63\x02zz", 7), 0);
	/* String lengths: beyond the input, and negative. */
	assert_int_equal(decode_body(KP_API_FIND_COORDINATOR, 0,
	    "\x7f\xff" "abc", 5), MO_ESHORT);
	assert_int_equal(decode_body(KP_API_FIND_COORDINATOR, 0,
	    "\xff\xff", 2), MO_EMALFORMED);
	assert_int_equal(decode_body(KP_API_FIND_COORDINATOR, 0,
	    "\xff\xfe", 2), MO_EMALFORMED);
}

static void
test_headers(void **state)
{
	static const uint8_t unknown[] = { 0x03, 0xe7, 0x00, 0x05, 0x00, 0x00,
		0x00, 0x09, 0x00, 0x01, 'x', 0xaa };
	static const uint8_t cs0[] = { 0x00, 0x07, 0x00, 0x00, 0x00, 0x00,
		0x00, 0x09, 0xaa };
	static const uint8_t tags[] = { 0x00, 0x12, 0x00, 0x03, 0x00, 0x00,
		0x00, 0x09, 0xff, 0xff, 0x01, 0x05, 0x01, 0x00 };
	struct kp_req_hdr h;
	struct wbuf w = { 0 };
	struct rd r;

	(void)state;
	assert_null(kp_msg_get(-1));
	assert_null(kp_msg_get(KP_API_MAX));
	assert_null(kp_msg_get(INT16_MAX));
	assert_string_equal(kp_msg_get(KP_API_FETCH)->name, "Fetch");
	assert_int_equal(kp_msg_get(KP_API_FETCH)->flex_min, 12);
	assert_int_equal(kp_msg_get(KP_API_PRODUCE)->vmax, 10);

	assert_int_equal(kp_req_hdr_version(KP_API_CONTROLLED_SHUTDOWN, 0), 0);
	assert_int_equal(kp_req_hdr_version(KP_API_CONTROLLED_SHUTDOWN, 1), 1);
	assert_int_equal(kp_req_hdr_version(KP_API_FETCH, 11), 1);
	assert_int_equal(kp_req_hdr_version(KP_API_FETCH, 12), 2);
	assert_int_equal(kp_req_hdr_version(999, 0), 1);
	assert_int_equal(kp_resp_hdr_version(KP_API_FETCH, 12), 1);
	assert_int_equal(kp_resp_hdr_version(KP_API_FETCH, 11), 0);
	assert_int_equal(kp_resp_hdr_version(KP_API_API_VERSIONS, 3), 0);

	/* Unknown API key 999: read as header v1. */
	rd_init(&r, unknown, sizeof(unknown));
	assert_int_equal(kp_req_hdr_decode(&r, &h), 0);
	assert_int_equal(h.api_key, 999);
	assert_int_equal(h.api_version, 5);
	assert_int_equal(h.correlation_id, 9);
	assert_int_equal(h.client_id.len, 1);
	assert_int_equal(rd_left(&r), 1);

	/* ControlledShutdown v0: header v0, no client id. */
	rd_init(&r, cs0, sizeof(cs0));
	assert_int_equal(kp_req_hdr_decode(&r, &h), 0);
	assert_int_equal(h.client_id.len, -1);
	assert_int_equal(rd_left(&r), 1);
	kp_req_hdr_encode(&w, &h);
	assert_int_equal(w.len, 8);
	assert_memory_equal(w.data, cs0, 8);

	/* Header v2 with a null client id and an unknown tag. */
	rd_init(&r, tags, sizeof(tags));
	assert_int_equal(kp_req_hdr_decode(&r, &h), 0);
	assert_int_equal(h.client_id.len, -1);
	assert_int_equal(rd_done(&r), 0);
	for (size_t n = 0; n < sizeof(tags); n++) {
		rd_init(&r, tags, n);
		assert_int_equal(kp_req_hdr_decode(&r, &h), MO_ESHORT);
	}

	wbuf_reset(&w);
	kp_resp_hdr_encode(&w, 1, 0x01020304);
	assert_int_equal(w.len, 5);
	assert_memory_equal(w.data, "\x01\x02\x03\x04\x00", 5);
	wbuf_clear(&w);
}

static void
test_arena(void **state)
{
	struct kp_arena a = { 0 };
	uint8_t *p;

	(void)state;
	for (size_t n = 0; n < 40000; n += 97) {
		p = kp_arena_alloc(&a, n);
		assert_non_null(p);
		assert_true((uintptr_t)p % _Alignof(max_align_t) == 0);
		for (size_t i = 0; i < n; i++)
			assert_int_equal(p[i], 0);
		memset(p, 0xa5, n);
	}
	kp_arena_clear(&a);
	assert_null(a.head);
	kp_arena_clear(&a);
}

static void
test_kerr(void **state)
{
	(void)state;
	assert_int_equal(KERR_UNSUPPORTED_VERSION, 35);
	assert_int_equal(KERR_UNKNOWN_SERVER_ERROR, -1);
	assert_int_equal(KERR_INVALID_REGISTRATION, 119);
	assert_string_equal(kerr_name(KERR_NONE), "NONE");
	assert_string_equal(kerr_name(3), "UNKNOWN_TOPIC_OR_PARTITION");
	assert_string_equal(kerr_name(-1), "UNKNOWN_SERVER_ERROR");
	assert_string_equal(kerr_name(30000), "UNKNOWN");
}

/*
 * Fuzz seeds: random valid request frames of a few common APIs.
 */

static const struct {
	int16_t	key;
	int16_t	ver;
} seeds[] = {
	{ KP_API_API_VERSIONS, 0 }, { KP_API_API_VERSIONS, 3 },
	{ KP_API_METADATA, 1 }, { KP_API_METADATA, 4 },
	{ KP_API_METADATA, 9 }, { KP_API_METADATA, 12 },
	{ KP_API_PRODUCE, 3 }, { KP_API_PRODUCE, 7 }, { KP_API_PRODUCE, 9 },
	{ KP_API_FETCH, 4 }, { KP_API_FETCH, 11 }, { KP_API_FETCH, 12 },
	{ KP_API_FETCH, 15 }, { KP_API_LIST_OFFSETS, 1 },
	{ KP_API_LIST_OFFSETS, 7 }, { KP_API_FIND_COORDINATOR, 4 },
	{ KP_API_JOIN_GROUP, 7 }, { KP_API_SYNC_GROUP, 5 },
	{ KP_API_OFFSET_COMMIT, 8 }, { KP_API_CREATE_TOPICS, 7 },
	{ KP_API_CONTROLLED_SHUTDOWN, 0 }, { KP_API_SASL_HANDSHAKE, 1 },
};

static int
write_corpus(const char *dir)
{
	for (size_t i = 0; i < sizeof(seeds) / sizeof(seeds[0]); i++) {
		const struct kp_msg *m = kp_msg_get(seeds[i].key);
		int16_t v = seeds[i].ver;
		struct kp_arena a = { 0 };
		struct fill f = { 0x5eed0000 + i, v, kp_flexible(m, v), &a };
		struct wbuf w = { 0 };
		void *obj = kp_arena_alloc(&a, m->req->size);
		char path[4096];
		FILE *fp;

		fill_struct(&f, m->req, obj);
		encode_req(&w, m->api_key, v, 7, obj);
		snprintf(path, sizeof(path), "%s/%s-v%d", dir, m->name, v);
		if ((fp = fopen(path, "wb")) == NULL ||
		    fwrite(w.data, 1, w.len, fp) != w.len || fclose(fp) != 0) {
			perror(path);
			return 1;
		}
		wbuf_clear(&w);
		kp_arena_clear(&a);
	}
	return 0;
}

int
main(int argc, char **argv)
{
	static const struct CMUnitTest fixed[] = {
		cmocka_unit_test(test_roundtrip_data),
		cmocka_unit_test(test_vec_api_versions_req),
		cmocka_unit_test(test_vec_api_versions_resp),
		cmocka_unit_test(test_vec_metadata_req),
		cmocka_unit_test(test_vec_produce_req),
		cmocka_unit_test(test_vec_fetch_req),
		cmocka_unit_test(test_huge_counts),
		cmocka_unit_test(test_headers),
		cmocka_unit_test(test_arena),
		cmocka_unit_test(test_kerr),
	};
	static struct CMUnitTest tests[KP_API_MAX + sizeof(fixed) /
	    sizeof(fixed[0])];
	static char names[KP_API_MAX][64];
	size_t n = 0;

	if (argc == 3 && strcmp(argv[1], "--corpus") == 0)
		return write_corpus(argv[2]);
	for (int16_t k = 0; k < KP_API_MAX; k++) {
		const struct kp_msg *m = kp_msg_get(k);

		if (m == NULL)
			continue;
		snprintf(names[k], sizeof(names[k]), "roundtrip %s", m->name);
		tests[n] = (struct CMUnitTest)cmocka_unit_test_prestate(
		    test_roundtrip_api, (void *)(intptr_t)k);
		tests[n++].name = names[k];
	}
	for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++)
		tests[n++] = fixed[i];
	return _cmocka_run_group_tests("kproto", tests, n, NULL, NULL);
}
