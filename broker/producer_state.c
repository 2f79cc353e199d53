/*
 * Idempotent producer state of a partition log (producer_state.h).
 */
#include <stdlib.h>
#include <string.h>

#include "producer_state.h"
#include "xmalloc.h"

static size_t
pstate_slot(const struct pstate *ps, int64_t pid)
{
	uint64_t h = (uint64_t)pid * 0x9E3779B97F4A7C15ull;

	return (size_t)(h >> 32) & (ps->cap - 1);
}

static struct pstate_entry *
pstate_find(const struct pstate *ps, int64_t pid)
{
	size_t i;

	if (ps->cap == 0)
		return NULL;
	for (i = pstate_slot(ps, pid); ps->v[i].pid != -1;
	    i = (i + 1) & (ps->cap - 1))
		if (ps->v[i].pid == pid)
			return &ps->v[i];
	return NULL;
}

/* A table of cap slots (a power of two) holding old's live entries. */
static void
pstate_rehash(struct pstate *ps, size_t cap)
{
	struct pstate_entry *old = ps->v;
	size_t ocap = ps->cap;

	ps->cap = cap;
	ps->v = xreallocarray(NULL, ps->cap, sizeof(*ps->v));
	for (size_t i = 0; i < ps->cap; i++)
		ps->v[i].pid = -1;
	for (size_t i = 0; i < ocap; i++) {
		size_t j;

		if (old[i].pid == -1)
			continue;
		for (j = pstate_slot(ps, old[i].pid); ps->v[j].pid != -1;
		    j = (j + 1) & (ps->cap - 1))
			continue;
		ps->v[j] = old[i];
	}
	free(old);
}

static void
pstate_grow(struct pstate *ps)
{
	pstate_rehash(ps, ps->cap == 0 ? 16 : ps->cap * 2);
}

size_t
pstate_expire(struct pstate *ps, int64_t now_ms, int64_t expiration_ms)
{
	size_t gone = 0, cap = 16;

	ps->checked_ms = now_ms;
	for (size_t i = 0; i < ps->cap; i++)
		if (ps->v[i].pid != -1 &&
		    now_ms - ps->v[i].last_ts >= expiration_ms) {
			ps->v[i].pid = -1;
			gone++;
		}
	if (gone == 0)
		return 0;
	/* Freed slots break probe chains: rehash what is left. */
	ps->n -= gone;
	while (cap < ps->n * 2)
		cap *= 2;
	pstate_rehash(ps, cap);
	return gone;
}

void
pstate_clear(struct pstate *ps)
{
	free(ps->v);
	memset(ps, 0, sizeof(*ps));
}

int32_t
pstate_last_seq(int32_t base_seq, int32_t last_offset_delta)
{
	int64_t s = (int64_t)base_seq + last_offset_delta;

	return (int32_t)(s > INT32_MAX ? s - INT32_MAX - 1 : s);
}

static const struct pstate_batch *
pstate_newest(const struct pstate_entry *e)
{
	if (e->n == 0)
		return NULL;
	return &e->b[(e->head + PSTATE_BATCHES - 1) % PSTATE_BATCHES];
}

enum pstate_verdict
pstate_check(const struct pstate *ps, int64_t pid, int16_t epoch,
    int32_t first_seq, int32_t last_seq, struct pstate_batch *dup)
{
	const struct pstate_entry *e = pstate_find(ps, pid);
	const struct pstate_batch *nb;

	if (e == NULL)
		return PSTATE_APPEND;		/* a producer new here */
	if (epoch < e->epoch)
		return PSTATE_FENCED;
	if (epoch > e->epoch)
		return first_seq == 0 ? PSTATE_APPEND : PSTATE_OUT_OF_ORDER;
	for (uint8_t i = 0; i < e->n; i++)
		if (e->b[i].first_seq == first_seq &&
		    e->b[i].last_seq == last_seq) {
			*dup = e->b[i];
			return PSTATE_DUPLICATE;
		}
	if ((nb = pstate_newest(e)) == NULL)
		return PSTATE_APPEND;
	if (first_seq != (nb->last_seq == INT32_MAX ? 0 : nb->last_seq + 1))
		return PSTATE_OUT_OF_ORDER;
	return PSTATE_APPEND;
}

void
pstate_note(struct pstate *ps, int64_t pid, int16_t epoch,
    int32_t first_seq, int32_t last_seq, int64_t base_offset,
    int64_t last_offset, int64_t max_ts)
{
	struct pstate_entry *e = pstate_find(ps, pid);
	struct pstate_batch *b;

	if (e == NULL) {
		size_t i;

		if ((ps->n + 1) * 2 > ps->cap)
			pstate_grow(ps);
		for (i = pstate_slot(ps, pid); ps->v[i].pid != -1;
		    i = (i + 1) & (ps->cap - 1))
			continue;
		e = &ps->v[i];
		memset(e, 0, sizeof(*e));
		e->pid = pid;
		e->epoch = epoch;
		ps->n++;
	}
	if (epoch != e->epoch) {
		e->epoch = epoch;
		e->n = 0;
		e->head = 0;
	}
	e->last_ts = max_ts;
	b = &e->b[e->head];
	b->first_seq = first_seq;
	b->last_seq = last_seq;
	b->base_offset = base_offset;
	b->last_offset = last_offset;
	e->head = (uint8_t)((e->head + 1) % PSTATE_BATCHES);
	if (e->n < PSTATE_BATCHES)
		e->n++;
}
