/*
 * Deterministic simulation of the Raft core (controller/raft.c).
 *
 * N nodes run on an in-memory network that drops, delays (reorders) and
 * duplicates messages and partitions the nodes; nodes crash and restart
 * from what they made durable (pending disk writes are lost or kept at
 * random); disk writes complete asynchronously.  After every step:
 *   - at most one leader per epoch;
 *   - committed entries (below any node's high watermark) never change:
 *     they must agree with the global committed sequence, and every
 *     snapshot installed or taken must agree with it too;
 *   - every current leader holds every committed entry;
 *   - every committed entry is durable on a majority (log or snapshot).
 * Then the network heals and the quorum must commit a new entry on every
 * node (liveness).  Everything comes from the seed; a failure prints it:
 *   sim_raft --seed S --nodes N
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "xmalloc.h"
#include "raft.h"

#define MAXN		5
#define FAULT_STEPS	3000
#define HEAL_MS		30000

struct sim_op {
	int64_t			 truncate_to;	/* -1: append */
	struct raft_entry	 e;
};

struct sim_node {
	int32_t			 id;
	struct raft		*r;		/* NULL while down */
	int64_t			 restart_at;
	/* durable state */
	struct raft_hard	 hard;
	struct raft_entry	*dlog;
	size_t			 ndlog, capdlog;
	int64_t			 dstart;
	int32_t			 dsnap_epoch;
	uint8_t			*dsnap;
	size_t			 dsnap_len;
	/* disk writes not yet durable */
	struct sim_op		*ops;
	size_t			 nops, capops;
	int64_t			 checked;	/* committed prefix verified */
};

struct sim_pkt {
	struct raft_msg	m;
	int64_t		at;
};

struct sim_committed {
	int32_t		epoch;
	int32_t		seen_epoch;	/* epoch of the node that saw it */
	bool		control;
	uint64_t	value;
};

struct sim {
	uint64_t		 seed, rng;
	int			 n;
	int64_t			 now;
	struct sim_node		 nodes[MAXN];
	int			 group[MAXN];
	struct sim_pkt		*net;
	size_t			 nnet, capnet;
	struct sim_committed	*com;
	size_t			 ncom, capcom;
	int32_t			*leaders;	/* by epoch */
	size_t			 nleaders;
	uint64_t		 next_value;
	int			 drop_pct, dup_pct;
	bool			 faults;
	long			 step;
};

static int sim_failed;

static void __attribute__((format(printf, 2, 3)))
sim_fail(struct sim *s, const char *fmt, ...)
{
	va_list ap;

	if (sim_failed)
		return;
	sim_failed = 1;
	fprintf(stderr, "sim_raft: FAIL seed %" PRIu64 " nodes %d step %ld "
	    "t=%" PRId64 ": ", s->seed, s->n, s->step, s->now);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n  reproduce: sim_raft --seed %" PRIu64
	    " --nodes %d\n", s->seed, s->n);
}

static uint64_t
sim_rand(struct sim *s)
{
	s->rng ^= s->rng >> 12;
	s->rng ^= s->rng << 25;
	s->rng ^= s->rng >> 27;
	return s->rng * 2685821657736338717ULL;
}

static int
sim_pct(struct sim *s, int pct)
{
	return (int)(sim_rand(s) % 1000) < pct * 10;
}

static uint64_t
entry_value(const struct raft_entry *e)
{
	uint64_t v = 0;

	if (e->len == sizeof(v))
		memcpy(&v, e->data, sizeof(v));
	return v;
}

static void
entry_copy(struct raft_entry *dst, const struct raft_entry *src)
{
	*dst = *src;
	dst->data = NULL;
	if (src->len > 0) {
		dst->data = xmalloc(src->len);
		memcpy(dst->data, src->data, src->len);
	}
}

/* ---- durable state ---- */

static void
dlog_truncate(struct sim_node *nd, int64_t off)
{
	while (nd->ndlog > 0 && nd->dstart + (int64_t)nd->ndlog > off)
		raft_entry_clear(&nd->dlog[--nd->ndlog]);
}

static void
dlog_append(struct sim_node *nd, const struct raft_entry *e)
{
	if (e->offset < nd->dstart + (int64_t)nd->ndlog)
		return;	/* covered by a newer snapshot */
	MO_ASSERT(e->offset == nd->dstart + (int64_t)nd->ndlog);
	if (nd->ndlog == nd->capdlog) {
		nd->capdlog = nd->capdlog ? nd->capdlog * 2 : 64;
		nd->dlog = xreallocarray(nd->dlog, nd->capdlog,
		    sizeof(*nd->dlog));
	}
	entry_copy(&nd->dlog[nd->ndlog++], e);
}

static void
dlog_drop_prefix(struct sim_node *nd, int64_t off)
{
	size_t n = 0, i;

	while (n < nd->ndlog && nd->dlog[n].offset < off)
		n++;
	for (i = 0; i < n; i++)
		raft_entry_clear(&nd->dlog[i]);
	memmove(nd->dlog, nd->dlog + n, (nd->ndlog - n) * sizeof(*nd->dlog));
	nd->ndlog -= n;
	nd->dstart = off;
}

static void
node_push_op(struct sim_node *nd, int64_t trunc, const struct raft_entry *e)
{
	struct sim_op *op;

	if (nd->nops == nd->capops) {
		nd->capops = nd->capops ? nd->capops * 2 : 64;
		nd->ops = xreallocarray(nd->ops, nd->capops, sizeof(*nd->ops));
	}
	op = &nd->ops[nd->nops++];
	memset(op, 0, sizeof(*op));
	op->truncate_to = trunc;
	if (e != NULL)
		entry_copy(&op->e, e);
}

static void
node_drop_ops(struct sim_node *nd)
{
	size_t i;

	for (i = 0; i < nd->nops; i++)
		raft_entry_clear(&nd->ops[i].e);
	nd->nops = 0;
}

/* Make the first n pending writes durable and tell the core. */
static void
node_flush(struct sim *s, struct sim_node *nd, size_t n)
{
	size_t i;
	int32_t last;

	if (n > nd->nops)
		n = nd->nops;
	if (n == 0)
		return;
	for (i = 0; i < n; i++) {
		if (nd->ops[i].truncate_to >= 0)
			dlog_truncate(nd, nd->ops[i].truncate_to);
		else
			dlog_append(nd, &nd->ops[i].e);
		raft_entry_clear(&nd->ops[i].e);
	}
	memmove(nd->ops, nd->ops + n, (nd->nops - n) * sizeof(*nd->ops));
	nd->nops -= n;
	if (nd->r == NULL)
		return;
	last = nd->ndlog > 0 ? nd->dlog[nd->ndlog - 1].epoch :
	    nd->dsnap_epoch;
	raft_persisted(nd->r, nd->dstart + (int64_t)nd->ndlog, last, s->now);
}

static void check_node(struct sim *, struct sim_node *, bool);

/* ---- snapshots: (epoch u32, control u8, value u64) per entry ---- */

static void
snap_put(uint8_t **buf, size_t *len, const struct raft_entry *e)
{
	uint32_t ep = (uint32_t)e->epoch;
	uint64_t v = entry_value(e);

	*buf = xrealloc(*buf, *len + 13);
	memcpy(*buf + *len, &ep, 4);
	(*buf)[*len + 4] = e->control ? 1 : 0;
	memcpy(*buf + *len + 5, &v, 8);
	*len += 13;
}

static void
snap_check(struct sim *s, int32_t id, const uint8_t *buf, size_t len,
    int64_t off)
{
	size_t i;
	uint32_t ep;
	uint64_t v;

	if (len != (size_t)off * 13) {
		sim_fail(s, "node %d: snapshot at %" PRId64 " has %zu bytes",
		    id, off, len);
		return;
	}
	for (i = 0; i < (size_t)off; i++) {
		memcpy(&ep, buf + i * 13, 4);
		memcpy(&v, buf + i * 13 + 5, 8);
		if (i >= s->ncom) {
			sim_fail(s, "node %d: snapshot at %" PRId64 " beyond "
			    "the committed %zu", id, off, s->ncom);
			return;
		}
		if ((int32_t)ep != s->com[i].epoch || v != s->com[i].value ||
		    (buf[i * 13 + 4] != 0) != s->com[i].control) {
			sim_fail(s, "node %d: snapshot entry %zu differs from "
			    "the committed one", id, i);
			return;
		}
	}
}

static void
node_take_snapshot(struct sim *s, struct sim_node *nd)
{
	int64_t off = raft_hw(nd->r), start = raft_log_start(nd->r), o;
	uint8_t *buf = NULL;
	size_t len = 0;
	int32_t epoch;

	if (off <= start)
		return;
	check_node(s, nd, false);	/* records its committed entries */
	if (nd->dsnap_len > 0) {
		buf = xmalloc(nd->dsnap_len);
		memcpy(buf, nd->dsnap, nd->dsnap_len);
		len = nd->dsnap_len;
	}
	if (len != (size_t)start * 13) {
		free(buf);
		sim_fail(s, "node %d: durable snapshot does not match start",
		    nd->id);
		return;
	}
	for (o = start; o < off; o++)
		snap_put(&buf, &len, raft_entry_at(nd->r, o));
	epoch = raft_epoch_before(nd->r, off);
	snap_check(s, nd->id, buf, len, off);
	if (raft_snapshot_taken(nd->r, off, epoch, buf, len) != 0) {
		free(buf);
		sim_fail(s, "node %d: snapshot at %" PRId64 " refused",
		    nd->id, off);
		return;
	}
	free(nd->dsnap);
	nd->dsnap = buf;
	nd->dsnap_len = len;
	nd->dsnap_epoch = epoch;
	dlog_drop_prefix(nd, off);
}

/* ---- node lifecycle ---- */

static void
node_start(struct sim *s, struct sim_node *nd)
{
	struct raft_cfg cfg;
	struct raft_boot b;
	int i;

	raft_cfg_defaults(&cfg);
	cfg.id = nd->id;
	for (i = 0; i < s->n; i++)
		cfg.voters[i] = s->nodes[i].id;
	cfg.nvoters = (size_t)s->n;
	cfg.election_timeout_ms = 150;
	cfg.fetch_timeout_ms = 300;
	cfg.request_timeout_ms = 100;
	cfg.fetch_backoff_ms = 20;
	cfg.max_fetch_entries = 8;
	cfg.snapshot_chunk = 600;
	cfg.seed = sim_rand(s);
	memset(&b, 0, sizeof(b));
	b.hard = nd->hard;
	b.snap_offset = nd->dstart;
	b.snap_epoch = nd->dsnap_epoch;
	b.snapshot = nd->dsnap;
	b.snapshot_len = nd->dsnap_len;
	b.entries = nd->dlog;
	b.nentries = nd->ndlog;
	nd->r = raft_new(&cfg, &b, s->now);
	nd->checked = nd->dstart;
}

static void
node_crash(struct sim *s, struct sim_node *nd)
{
	if (sim_pct(s, 50))
		node_drop_ops(nd);	/* unsynced writes are lost */
	else
		node_flush(s, nd, nd->nops);
	raft_free(nd->r);
	nd->r = NULL;
	nd->restart_at = s->now + 50 + (int64_t)(sim_rand(s) % 1000);
}

static void
net_send(struct sim *s, struct raft_msg *m)
{
	struct sim_pkt *p;

	if (s->nnet == s->capnet) {
		s->capnet = s->capnet ? s->capnet * 2 : 256;
		s->net = xreallocarray(s->net, s->capnet, sizeof(*s->net));
	}
	p = &s->net[s->nnet++];
	MO_ASSERT(m->to >= 1 && m->to <= s->n);
	p->m = *m;	/* takes the entries and bytes */
	memset(m, 0, sizeof(*m));
	p->at = s->now + 1 + (int64_t)(sim_rand(s) % (s->faults ? 40 : 5));
}

static void
node_ready(struct sim *s, struct sim_node *nd)
{
	struct raft_ready rd;
	size_t i;

	while (nd->r != NULL && raft_has_ready(nd->r)) {
		raft_ready(nd->r, &rd);
		if (rd.hard_changed)
			nd->hard = rd.hard;
		if (rd.reset_offset >= 0) {
			snap_check(s, nd->id, rd.snapshot, rd.snapshot_len,
			    rd.reset_offset);
			node_drop_ops(nd);
			dlog_truncate(nd, nd->dstart);
			nd->dstart = rd.reset_offset;
			nd->dsnap_epoch = rd.reset_epoch;
			free(nd->dsnap);
			nd->dsnap = xmalloc(rd.snapshot_len + 1);
			memcpy(nd->dsnap, rd.snapshot, rd.snapshot_len);
			nd->dsnap_len = rd.snapshot_len;
			nd->checked = rd.reset_offset;
		}
		if (rd.truncate_to >= 0)
			node_push_op(nd, rd.truncate_to, NULL);
		for (i = 0; i < rd.nappend; i++)
			node_push_op(nd, -1, &rd.append[i]);
		for (i = 0; i < rd.nmsgs; i++)
			net_send(s, &rd.msgs[i]);
		raft_advance(nd->r, &rd);
	}
}

/* ---- invariants ---- */

static bool
entry_is(const struct raft_entry *e, const struct sim_committed *c)
{
	return e != NULL && e->epoch == c->epoch && e->control == c->control &&
	    entry_value(e) == c->value;
}

static void
check_node(struct sim *s, struct sim_node *nd, bool full)
{
	struct raft *r = nd->r;
	int64_t o, hw = raft_hw(r), from;
	const struct raft_entry *e;
	int32_t ep = raft_epoch(r);

	if (raft_role(r) == RAFT_LEADER) {
		while (s->nleaders <= (size_t)ep) {
			s->leaders = xreallocarray(s->leaders,
			    s->nleaders + 64, sizeof(*s->leaders));
			memset(s->leaders + s->nleaders, 0xff,
			    64 * sizeof(*s->leaders));
			s->nleaders += 64;
		}
		if (s->leaders[ep] == -1)
			s->leaders[ep] = nd->id;
		else if (s->leaders[ep] != nd->id)
			sim_fail(s, "two leaders in epoch %d: %d and %d", ep,
			    s->leaders[ep], nd->id);
		/* Leader completeness: entries committed before its epoch. */
		for (o = raft_log_start(r); o < (int64_t)s->ncom; o++)
			if (s->com[o].seen_epoch < ep &&
			    !entry_is(raft_entry_at(r, o), &s->com[o]))
				sim_fail(s, "leader %d of epoch %d lacks "
				    "committed entry %" PRId64, nd->id, ep, o);
	}
	if (hw > raft_log_end(r))
		sim_fail(s, "node %d: hw %" PRId64 " past log end", nd->id, hw);
	from = full ? raft_log_start(r) : nd->checked;
	if (from < raft_log_start(r))
		from = raft_log_start(r);
	for (o = from; o < hw && !sim_failed; o++) {
		e = raft_entry_at(r, o);
		if (o < (int64_t)s->ncom) {
			if (!entry_is(e, &s->com[o]))
				sim_fail(s, "node %d: committed entry %" PRId64
				    " changed", nd->id, o);
			continue;
		}
		if (o != (int64_t)s->ncom) {
			sim_fail(s, "node %d: committed gap at %" PRId64,
			    nd->id, o);
			break;
		}
		if (s->ncom == s->capcom) {
			s->capcom = s->capcom ? s->capcom * 2 : 256;
			s->com = xreallocarray(s->com, s->capcom,
			    sizeof(*s->com));
		}
		s->com[s->ncom].epoch = e->epoch;
		s->com[s->ncom].seen_epoch = ep;
		s->com[s->ncom].control = e->control;
		s->com[s->ncom].value = entry_value(e);
		s->ncom++;
	}
	if (hw > nd->checked)
		nd->checked = hw;
}

/* Every committed entry is durable on a majority. */
static void
check_durable(struct sim *s)
{
	size_t o;
	int i, n;
	struct sim_node *nd;

	for (o = 0; o < s->ncom && !sim_failed; o++) {
		n = 0;
		for (i = 0; i < s->n; i++) {
			nd = &s->nodes[i];
			if ((int64_t)o < nd->dstart)
				n++;
			else if ((int64_t)o < nd->dstart + (int64_t)nd->ndlog &&
			    entry_is(&nd->dlog[(int64_t)o - nd->dstart],
			    &s->com[o]))
				n++;
		}
		if (n < s->n / 2 + 1)
			sim_fail(s, "committed entry %zu durable on %d of %d",
			    o, n, s->n);
	}
}

static void
check_all(struct sim *s, bool full)
{
	int i;

	for (i = 0; i < s->n && !sim_failed; i++)
		if (s->nodes[i].r != NULL)
			check_node(s, &s->nodes[i], full);
	if (full && !sim_failed)
		check_durable(s);
}

/* ---- the run ---- */

static struct sim_node *
sim_leader(struct sim *s)
{
	int i;

	for (i = 0; i < s->n; i++)
		if (s->nodes[i].r != NULL &&
		    raft_role(s->nodes[i].r) == RAFT_LEADER)
			return &s->nodes[i];
	return NULL;
}

static void
sim_propose(struct sim *s)
{
	struct sim_node *ld = sim_leader(s);
	uint64_t v;

	if (ld == NULL)
		return;
	v = ++s->next_value;
	raft_propose(ld->r, &v, sizeof(v), s->now);
}

static void
sim_deliver(struct sim *s)
{
	size_t i = 0;
	struct sim_pkt p;
	struct sim_node *to;
	struct raft_msg copy;

	while (i < s->nnet) {
		if (s->net[i].at > s->now) {
			i++;
			continue;
		}
		p = s->net[i];
		s->net[i] = s->net[--s->nnet];
		to = &s->nodes[p.m.to - 1];
		if (to->r != NULL && s->group[p.m.from - 1] ==
		    s->group[p.m.to - 1] && !sim_pct(s, s->drop_pct)) {
			if (sim_pct(s, s->dup_pct)) {
				raft_msg_copy(&copy, &p.m);
				net_send(s, &copy);
			}
			raft_recv(to->r, &p.m, s->now);
			node_ready(s, to);
		}
		raft_msg_clear(&p.m);
	}
}

static void
sim_step(struct sim *s)
{
	struct sim_node *nd;
	int i, j;

	s->step++;
	s->now += 1 + (int64_t)(sim_rand(s) % 10);
	if (s->faults) {
		if (sim_pct(s, 1)) {
			for (i = 0; i < s->n; i++)
				s->group[i] = (int)(sim_rand(s) % 2);
		} else if (sim_pct(s, 1))
			memset(s->group, 0, sizeof(s->group));
		if (sim_pct(s, 1)) {
			nd = &s->nodes[sim_rand(s) % (uint64_t)s->n];
			if (nd->r != NULL)
				node_crash(s, nd);
		}
		if (sim_pct(s, 1)) {
			nd = sim_leader(s);
			if (nd != NULL)
				raft_resign(nd->r, s->now);
		}
	}
	for (i = 0; i < s->n; i++) {
		nd = &s->nodes[i];
		if (nd->r == NULL && s->now >= nd->restart_at)
			node_start(s, nd);
	}
	sim_deliver(s);
	for (i = 0; i < s->n; i++) {
		nd = &s->nodes[i];
		if (nd->r == NULL)
			continue;
		j = (int)(sim_rand(s) % 3);
		node_flush(s, nd, j == 0 ? 0 : j == 1 ? 1 : nd->nops);
		raft_tick(nd->r, s->now);
		if (sim_pct(s, 1) && raft_hw(nd->r) > raft_log_start(nd->r) + 50)
			node_take_snapshot(s, nd);
		node_ready(s, nd);
	}
	if (sim_pct(s, 20)) {
		sim_propose(s);
		if ((nd = sim_leader(s)) != NULL)
			node_ready(s, nd);
	}
	check_all(s, s->step % 64 == 0);
}

static void
sim_free(struct sim *s)
{
	int i;
	size_t k;
	struct sim_node *nd;

	for (i = 0; i < s->n; i++) {
		nd = &s->nodes[i];
		raft_free(nd->r);
		node_drop_ops(nd);
		free(nd->ops);
		dlog_truncate(nd, nd->dstart);
		free(nd->dlog);
		free(nd->dsnap);
	}
	for (k = 0; k < s->nnet; k++)
		raft_msg_clear(&s->net[k].m);
	free(s->net);
	free(s->com);
	free(s->leaders);
}

static int
sim_run(uint64_t seed, int n, int verbose)
{
	struct sim s;
	struct sim_node *ld;
	int64_t deadline, target;
	int i;
	bool done;

	memset(&s, 0, sizeof(s));
	s.seed = seed;
	s.rng = seed * 0x9E3779B97F4A7C15ULL + 7;
	s.n = n;
	s.faults = true;
	s.drop_pct = 1 + (int)(sim_rand(&s) % 20);
	s.dup_pct = (int)(sim_rand(&s) % 10);
	for (i = 0; i < n; i++) {
		s.nodes[i].id = i + 1;
		s.nodes[i].hard.voted_id = RAFT_NO_ID;
		s.nodes[i].hard.leader_id = RAFT_NO_ID;
	}
	for (i = 0; i < n; i++)
		node_start(&s, &s.nodes[i]);
	while (s.step < FAULT_STEPS && !sim_failed)
		sim_step(&s);
	/* Heal: no faults, everyone up; a new entry must commit everywhere. */
	s.faults = false;
	s.drop_pct = 0;
	s.dup_pct = 0;
	memset(s.group, 0, sizeof(s.group));
	for (i = 0; i < n; i++)
		s.nodes[i].restart_at = s.now;
	deadline = s.now + HEAL_MS;
	target = -1;
	done = false;
	while (!sim_failed && !done && s.now < deadline) {
		sim_step(&s);
		ld = sim_leader(&s);
		if (ld == NULL)
			continue;
		if (target < 0 || raft_epoch_before(ld->r, target + 1) < 0) {
			uint64_t v = ++s.next_value;

			target = raft_propose(ld->r, &v, sizeof(v), s.now);
			node_ready(&s, ld);
			continue;
		}
		done = true;
		for (i = 0; i < n; i++)
			if (s.nodes[i].r == NULL ||
			    raft_hw(s.nodes[i].r) <= target)
				done = false;
	}
	if (!sim_failed)
		check_all(&s, true);
	if (!sim_failed && !done) {
		sim_fail(&s, "no progress after healing (target %" PRId64 ")",
		    target);
		for (i = 0; i < n; i++) {
			struct raft *r = s.nodes[i].r;

			if (r == NULL)
				continue;
			fprintf(stderr, "  node %d: %s epoch %d leader %d "
			    "start %" PRId64 " end %" PRId64 " durable %"
			    PRId64 " hw %" PRId64 "\n", i + 1,
			    raft_role_name(raft_role(r)), raft_epoch(r),
			    raft_leader(r), raft_log_start(r), raft_log_end(r),
			    raft_persisted_end(r), raft_hw(r));
		}
	}
	if (verbose && !sim_failed)
		printf("seed %" PRIu64 " nodes %d: ok, %zu committed\n", seed,
		    n, s.ncom);
	sim_free(&s);
	return sim_failed ? 1 : 0;
}

int
main(int argc, char **argv)
{
	uint64_t seed = 0, first = 1;
	long nseeds = 500;
	int n = 0, i, verbose = 0, rc = 0;
	long k;

	log_init("sim_raft", getenv("SIM_DEBUG") ? LOG_LVL_DEBUG : LOG_LVL_ERROR);
	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--seed") == 0 && i + 1 < argc)
			seed = strtoull(argv[++i], NULL, 10);
		else if (strcmp(argv[i], "--seeds") == 0 && i + 1 < argc)
			nseeds = strtol(argv[++i], NULL, 10);
		else if (strcmp(argv[i], "--first") == 0 && i + 1 < argc)
			first = strtoull(argv[++i], NULL, 10);
		else if (strcmp(argv[i], "--nodes") == 0 && i + 1 < argc)
			n = atoi(argv[++i]);
		else if (strcmp(argv[i], "-v") == 0)
			verbose = 1;
		else {
			fprintf(stderr, "usage: sim_raft [--seed S | --seeds N "
			    "[--first S]] [--nodes 3|5] [-v]\n");
			return 2;
		}
	}
	if (n != 0 && (n < 1 || n > MAXN)) {
		fprintf(stderr, "sim_raft: --nodes must be 1..%d\n", MAXN);
		return 2;
	}
	if (seed != 0)
		return sim_run(seed, n ? n : 3, 1);
	for (k = 0; k < nseeds && rc == 0; k++) {
		if (n == 0 || n == 3)
			rc |= sim_run(first + (uint64_t)k, 3, verbose);
		if (rc == 0 && (n == 0 || n == 5))
			rc |= sim_run(first + (uint64_t)k, 5, verbose);
	}
	if (rc == 0)
		printf("sim_raft: %ld seeds ok\n", nseeds);
	return rc;
}
