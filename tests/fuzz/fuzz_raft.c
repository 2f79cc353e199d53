/*
 * Fuzz target: what a controller decodes from its peers, down the same
 * path as raft_io_tcp.c, and what the Raft core and the metadata image do
 * with it.  The first byte picks the form of the rest:
 *
 *   even: a request frame body (header, then body) as an accepted
 *         connection reads it; a Raft API at our version is decoded into a
 *         raft_msg and handed to two cores (a follower of three voters and
 *         a leader of one) that then produce their ready;
 *   odd:  byte 1 picks the Raft API (Vote, BeginQuorumEpoch,
 *         EndQuorumEpoch, Fetch, FetchSnapshot); the rest is the body of
 *         its response, decoded as an answer to our request and handed to
 *         the cores; the entries of a Fetch answer are applied to an
 *         image.
 *
 * Nothing may crash, leak or read out of bounds.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "kproto.h"
#include "kproto_gen.h"
#include "rd.h"
#include "meta_image.h"
#include "raft.h"
#include "raft_io_tcp.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static const int16_t fuzz_apis[] = { KP_API_VOTE, KP_API_BEGIN_QUORUM_EPOCH,
	KP_API_END_QUORUM_EPOCH, KP_API_FETCH, KP_API_FETCH_SNAPSHOT };

/* A core with a few entries of epochs 1 and 2; nvoters 1 leads soon. */
static struct raft *
fuzz_core(size_t nvoters, int64_t now)
{
	static uint8_t payload[] = { 0, 20, 0, 0 };
	struct raft_entry e[3];
	struct raft_cfg cfg;
	struct raft_boot boot;
	struct raft *r;
	size_t i;

	raft_cfg_defaults(&cfg);
	cfg.id = 1;
	cfg.seed = 7;
	for (i = 0; i < nvoters; i++)
		cfg.voters[cfg.nvoters++] = (int32_t)i + 1;
	memset(&boot, 0, sizeof(boot));
	boot.hard.epoch = 2;
	boot.hard.voted_id = RAFT_NO_ID;
	boot.hard.leader_id = nvoters > 1 ? 2 : RAFT_NO_ID;
	for (i = 0; i < 3; i++) {
		e[i].offset = (int64_t)i;
		e[i].epoch = i < 2 ? 1 : 2;
		e[i].control = i == 2;
		e[i].data = i == 2 ? NULL : payload;
		e[i].len = i == 2 ? 0 : sizeof(payload);
	}
	boot.entries = e;
	boot.nentries = 3;
	r = raft_new(&cfg, &boot, now);
	if (nvoters == 1) {
		raft_tick(r, now + 100000);
		raft_persisted(r, raft_log_end(r), raft_last_epoch(r),
		    now + 100000);
	}
	return r;
}

static void
fuzz_drain(struct raft *r, int64_t now)
{
	struct raft_ready rd;
	int i;

	for (i = 0; i < 4 && raft_has_ready(r); i++) {
		raft_ready(r, &rd);
		raft_advance(r, &rd);
		raft_persisted(r, raft_log_end(r), raft_last_epoch(r), now);
	}
}

static void
fuzz_feed(struct raft_msg *m)
{
	int64_t now = 1000000;
	struct raft *rs[2];
	size_t k;

	rs[0] = fuzz_core(3, now);
	rs[1] = fuzz_core(1, now);
	for (k = 0; k < 2; k++) {
		fuzz_drain(rs[k], now);
		m->to = 1;
		raft_recv(rs[k], m, now + 1);
		raft_tick(rs[k], now + 2);
		fuzz_drain(rs[k], now + 3);
		raft_free(rs[k]);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct kp_arena a = { 0 };
	struct kp_req_hdr h;
	struct meta_image *img;
	struct raft_msg m;
	struct rd r;
	size_t i;
	int rc;

	if (size < 2)
		return 0;
	memset(&m, 0, sizeof(m));
	if (data[0] % 2 == 0) {
		rd_init(&r, data + 1, size - 1);
		if (kp_req_hdr_decode(&r, &h) != 0)
			goto out;
		rc = rio_decode_request(&r, h.api_key, h.api_version, &m, &a);
		if (rc == 0)
			fuzz_feed(&m);
		goto out;
	}
	rd_init(&r, data + 2, size - 2);
	if (rio_decode_response(&r, fuzz_apis[data[1] % 5], &m, &a) != 0)
		goto out;
	m.from = 2;
	img = meta_image_new();
	for (i = 0; i < m.nentries; i++)
		if (!m.entries[i].control && m.entries[i].len > 0 &&
		    meta_image_apply(img, m.entries[i].data,
		    m.entries[i].len) != 0)
			break;
	meta_image_free(img);
	fuzz_feed(&m);
out:
	raft_msg_clear(&m);
	kp_arena_clear(&a);
	return 0;
}
