/* Unit tests of the Raft core: specific cases the simulator covers only
   statistically. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "log.h"
#include "raft.h"

struct out {
	struct raft_msg	m[32];
	size_t		n;
	struct raft_hard hard;
	int64_t		hw;
};

static struct raft *
mk(int32_t id, size_t nvoters, const struct raft_boot *b)
{
	struct raft_cfg c;
	size_t i;

	raft_cfg_defaults(&c);
	c.id = id;
	for (i = 0; i < nvoters; i++)
		c.voters[i] = (int32_t)i + 1;
	c.nvoters = nvoters;
	c.election_timeout_ms = 100;
	c.fetch_timeout_ms = 200;
	return raft_new(&c, b, 0);
}

/* Drain the ready: make appends durable at once, keep the messages. */
static void
drain(struct raft *r, struct out *o, int64_t now)
{
	struct raft_ready rd;
	size_t i;

	while (raft_has_ready(r)) {
		raft_ready(r, &rd);
		if (rd.hard_changed)
			o->hard = rd.hard;
		if (rd.hw_changed)
			o->hw = rd.hw;
		for (i = 0; i < rd.nmsgs && o->n < 32; i++) {
			o->m[o->n++] = rd.msgs[i];
			memset(&rd.msgs[i], 0, sizeof(rd.msgs[i]));
		}
		raft_advance(r, &rd);
		raft_persisted(r, raft_log_end(r), raft_last_epoch(r), now);
	}
}

static void
out_clear(struct out *o)
{
	size_t i;

	for (i = 0; i < o->n; i++)
		raft_msg_clear(&o->m[i]);
	o->n = 0;
}

static const struct raft_msg *
find(const struct out *o, int type, int32_t to)
{
	size_t i;

	for (i = 0; i < o->n; i++)
		if (o->m[i].type == type && o->m[i].to == to)
			return &o->m[i];
	return NULL;
}

static void
test_single_voter_leads(void **state)
{
	struct raft *r = mk(1, 1, NULL);
	struct out o = { 0 };

	(void)state;
	assert_int_equal(raft_role(r), RAFT_LEADER);
	assert_int_equal(raft_epoch(r), 1);
	drain(r, &o, 0);
	/* The leader-change marker commits once durable. */
	assert_int_equal(raft_hw(r), 1);
	assert_int_equal(raft_propose(r, "x", 1, 0), 1);
	drain(r, &o, 0);
	assert_int_equal(raft_hw(r), 2);
	out_clear(&o);
	raft_free(r);
}

static void
test_election(void **state)
{
	struct raft *a = mk(1, 3, NULL), *b = mk(2, 3, NULL);
	struct out oa = { 0 }, ob = { 0 };
	const struct raft_msg *v;

	(void)state;
	raft_tick(a, 1000);
	assert_int_equal(raft_role(a), RAFT_CANDIDATE);
	drain(a, &oa, 1000);
	assert_int_equal(oa.hard.voted_id, 1);
	v = find(&oa, RAFT_VOTE_REQ, 2);
	assert_non_null(v);
	raft_recv(b, v, 1000);
	drain(b, &ob, 1000);
	assert_int_equal(ob.hard.epoch, raft_epoch(a));
	assert_int_equal(ob.hard.voted_id, 1);
	v = find(&ob, RAFT_VOTE_RESP, 1);
	assert_non_null(v);
	assert_true(v->granted);
	raft_recv(a, v, 1001);
	assert_int_equal(raft_role(a), RAFT_LEADER);
	out_clear(&oa);
	drain(a, &oa, 1001);
	assert_non_null(find(&oa, RAFT_BEGIN_EPOCH_REQ, 2));
	assert_non_null(find(&oa, RAFT_BEGIN_EPOCH_REQ, 3));
	/* A second candidate in the same epoch gets no vote from b. */
	out_clear(&ob);
	{
		struct raft_msg m = { 0 };

		m.type = RAFT_VOTE_REQ;
		m.from = 3;
		m.to = 2;
		m.epoch = raft_epoch(a);
		m.last_epoch = 9;
		m.last_offset = 100;
		raft_recv(b, &m, 1002);
	}
	drain(b, &ob, 1002);
	v = find(&ob, RAFT_VOTE_RESP, 3);
	assert_non_null(v);
	assert_false(v->granted);
	out_clear(&oa);
	out_clear(&ob);
	raft_free(a);
	raft_free(b);
}

static void
test_stale_epoch_rejected(void **state)
{
	struct raft_hard h = { 5, -1, -1 };
	struct raft_boot boot = { 0 };
	struct raft *r;
	struct out o = { 0 };
	struct raft_msg m = { 0 };
	const struct raft_msg *resp;

	(void)state;
	boot.hard = h;
	r = mk(2, 3, &boot);
	m.type = RAFT_FETCH_REQ;
	m.from = 1;
	m.to = 2;
	m.epoch = 4;
	m.req_id = 77;
	raft_recv(r, &m, 10);
	drain(r, &o, 10);
	resp = find(&o, RAFT_FETCH_RESP, 1);
	assert_non_null(resp);
	assert_int_equal(resp->error, RAFT_ERR_FENCED_EPOCH);
	assert_int_equal(resp->epoch, 5);
	assert_int_equal(resp->req_id, 77);
	/* A stale BeginQuorumEpoch does not make us follow. */
	memset(&m, 0, sizeof(m));
	m.type = RAFT_BEGIN_EPOCH_REQ;
	m.from = 1;
	m.to = 2;
	m.epoch = 3;
	raft_recv(r, &m, 11);
	assert_int_equal(raft_role(r), RAFT_UNATTACHED);
	assert_int_equal(raft_epoch(r), 5);
	out_clear(&o);
	raft_free(r);
}

/* What no voter sends is not trusted: quorum requests from a non-voter or
   with the last possible epoch are dropped, a fetch in an unknown newer
   epoch is answered UNKNOWN_LEADER_EPOCH without taking that epoch. */
static void
test_bogus_messages_ignored(void **state)
{
	struct raft_hard h = { 5, -1, -1 };
	struct raft_boot boot = { 0 };
	struct raft *r;
	struct out o = { 0 };
	struct raft_msg m = { 0 };
	const struct raft_msg *resp;

	(void)state;
	boot.hard = h;
	r = mk(2, 3, &boot);
	m.type = RAFT_BEGIN_EPOCH_REQ;
	m.from = 77;
	m.to = 2;
	m.epoch = 9;
	raft_recv(r, &m, 10);
	m.type = RAFT_VOTE_REQ;
	raft_recv(r, &m, 10);
	m.type = RAFT_END_EPOCH_REQ;
	raft_recv(r, &m, 10);
	m.type = RAFT_VOTE_REQ;
	m.from = 1;
	m.epoch = INT32_MAX;
	raft_recv(r, &m, 10);
	m.type = RAFT_BEGIN_EPOCH_REQ;
	m.epoch = -3;
	raft_recv(r, &m, 10);
	drain(r, &o, 10);
	assert_int_equal(o.n, 0);
	assert_int_equal(raft_epoch(r), 5);
	assert_int_equal(raft_role(r), RAFT_UNATTACHED);
	memset(&m, 0, sizeof(m));
	m.type = RAFT_FETCH_REQ;
	m.from = 101;		/* an observer */
	m.to = 2;
	m.epoch = 1000;
	m.req_id = 5;
	raft_recv(r, &m, 11);
	drain(r, &o, 11);
	resp = find(&o, RAFT_FETCH_RESP, 101);
	assert_non_null(resp);
	assert_int_equal(resp->error, RAFT_ERR_UNKNOWN_EPOCH);
	assert_int_equal(resp->req_id, 5);
	assert_int_equal(raft_epoch(r), 5);
	out_clear(&o);
	raft_free(r);
}

static void
test_truncation_on_divergence(void **state)
{
	/* Follower log: epochs 1,1,2,2 ; leader log: 1,1,3 (epoch 3). */
	struct raft_entry fe[4] = {
		{ 0, 1, false, NULL, 0 }, { 1, 1, false, NULL, 0 },
		{ 2, 2, false, NULL, 0 }, { 3, 2, false, NULL, 0 },
	};
	struct raft_entry le[3] = {
		{ 0, 1, false, NULL, 0 }, { 1, 1, false, NULL, 0 },
		{ 2, 3, true, NULL, 0 },
	};
	struct raft_boot fb = { 0 }, lb = { 0 };
	struct raft *f, *l;
	struct out of = { 0 }, ol = { 0 };
	const struct raft_msg *m;
	int i;

	(void)state;
	fb.hard.epoch = 3;
	fb.hard.voted_id = -1;
	fb.hard.leader_id = 1;
	fb.entries = fe;
	fb.nentries = 4;
	lb.hard.epoch = 2;
	lb.hard.voted_id = -1;
	lb.hard.leader_id = -1;
	lb.entries = le;
	lb.nentries = 2;
	l = mk(1, 1, &lb);	/* leads epoch 3 alone, marker at 2 */
	assert_int_equal(raft_role(l), RAFT_LEADER);
	assert_int_equal(raft_epoch(l), 3);
	drain(l, &ol, 0);
	f = mk(2, 1, &fb);	/* voters {1}: f is an observer following l */
	raft_tick(f, 1);
	drain(f, &of, 1);
	for (i = 0; i < 6; i++) {
		m = find(&of, RAFT_FETCH_REQ, 1);
		assert_non_null(m);
		raft_recv(l, m, 2 + i);
		out_clear(&of);
		drain(l, &ol, 2 + i);
		m = find(&ol, RAFT_FETCH_RESP, 2);
		assert_non_null(m);
		raft_recv(f, m, 2 + i);
		out_clear(&ol);
		drain(f, &of, 2 + i);
		if (raft_log_end(f) == 3 && raft_last_epoch(f) == 3)
			break;
	}
	assert_int_equal(raft_log_end(f), 3);
	assert_int_equal(raft_last_epoch(f), 3);
	assert_int_equal(raft_entry_at(f, 1)->epoch, 1);
	out_clear(&of);
	out_clear(&ol);
	raft_free(f);
	raft_free(l);
}

static void
test_fetch_below_log_start_gets_snapshot(void **state)
{
	struct raft *l = mk(1, 1, NULL);
	struct out o = { 0 };
	struct raft_msg m = { 0 };
	const struct raft_msg *resp;
	int i;

	(void)state;
	drain(l, &o, 0);
	for (i = 0; i < 5; i++)
		raft_propose(l, "abc", 3, 0);
	drain(l, &o, 0);
	assert_int_equal(raft_hw(l), 6);
	assert_int_equal(raft_snapshot_taken(l, 4, 1, "SNAP", 4), 0);
	assert_int_equal(raft_log_start(l), 4);
	m.type = RAFT_FETCH_REQ;
	m.from = 2;
	m.to = 1;
	m.epoch = 1;
	m.fetch_offset = 1;
	m.last_fetched_epoch = 1;
	raft_recv(l, &m, 1);
	drain(l, &o, 1);
	resp = find(&o, RAFT_FETCH_RESP, 2);
	assert_non_null(resp);
	assert_int_equal(resp->snap_offset, 4);
	assert_int_equal(resp->snap_epoch, 1);
	m.type = RAFT_FETCH_SNAP_REQ;
	m.snap_offset = 4;
	m.snap_epoch = 1;
	m.position = 0;
	raft_recv(l, &m, 2);
	drain(l, &o, 2);
	resp = find(&o, RAFT_FETCH_SNAP_RESP, 2);
	assert_non_null(resp);
	assert_int_equal(resp->error, 0);
	assert_int_equal(resp->snap_size, 4);
	assert_memory_equal(resp->bytes, "SNAP", 4);
	out_clear(&o);
	raft_free(l);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_single_voter_leads),
		cmocka_unit_test(test_election),
		cmocka_unit_test(test_stale_epoch_rejected),
		cmocka_unit_test(test_bogus_messages_ignored),
		cmocka_unit_test(test_truncation_on_divergence),
		cmocka_unit_test(test_fetch_below_log_start_gets_snapshot),
	};

	log_init("test_raft", LOG_LVL_ERROR);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
