/* Unit tests for the idempotent producer state (broker/producer_state.c). */
#include <stdarg.h>
#include <setjmp.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "producer_state.h"

static enum pstate_verdict
check(const struct pstate *ps, int64_t pid, int16_t epoch, int32_t first,
    int32_t n, struct pstate_batch *dup)
{
	return pstate_check(ps, pid, epoch, first,
	    pstate_last_seq(first, n - 1), dup);
}

static void
note_at(struct pstate *ps, int64_t pid, int16_t epoch, int32_t first,
    int32_t n, int64_t base, int64_t ts)
{
	pstate_note(ps, pid, epoch, first, pstate_last_seq(first, n - 1), base,
	    base + n - 1, ts);
}

static void
note(struct pstate *ps, int64_t pid, int16_t epoch, int32_t first,
    int32_t n, int64_t base)
{
	note_at(ps, pid, epoch, first, n, base, 0);
}

/* A new producer starts anywhere; then sequences must follow on. */
static void
test_sequence(void **state)
{
	struct pstate ps = { 0 };
	struct pstate_batch d;

	(void)state;
	assert_int_equal(check(&ps, 7, 0, 42, 3, &d), PSTATE_APPEND);
	note(&ps, 7, 0, 42, 3, 100);
	assert_int_equal(check(&ps, 7, 0, 45, 1, &d), PSTATE_APPEND);
	assert_int_equal(check(&ps, 7, 0, 46, 1, &d), PSTATE_OUT_OF_ORDER);
	assert_int_equal(check(&ps, 7, 0, 44, 1, &d), PSTATE_OUT_OF_ORDER);
	assert_int_equal(check(&ps, 7, 0, 42, 3, &d), PSTATE_DUPLICATE);
	assert_int_equal(d.base_offset, 100);
	assert_int_equal(d.last_offset, 102);
	/* same start, other length: not the batch written */
	assert_int_equal(check(&ps, 7, 0, 42, 2, &d), PSTATE_OUT_OF_ORDER);
	pstate_clear(&ps);
}

/* Only the last five batches are remembered. */
static void
test_window(void **state)
{
	struct pstate ps = { 0 };
	struct pstate_batch d;

	(void)state;
	for (int i = 0; i < 7; i++)
		note(&ps, 1, 0, i * 2, 2, 10 * i);
	assert_int_equal(check(&ps, 1, 0, 0, 2, &d), PSTATE_OUT_OF_ORDER);
	assert_int_equal(check(&ps, 1, 0, 2, 2, &d), PSTATE_OUT_OF_ORDER);
	for (int i = 2; i < 7; i++) {
		assert_int_equal(check(&ps, 1, 0, i * 2, 2, &d),
		    PSTATE_DUPLICATE);
		assert_int_equal(d.base_offset, 10 * i);
	}
	assert_int_equal(check(&ps, 1, 0, 14, 1, &d), PSTATE_APPEND);
	pstate_clear(&ps);
}

/* Epochs: older fenced, newer from 0 only, then a fresh history. */
static void
test_epochs(void **state)
{
	struct pstate ps = { 0 };
	struct pstate_batch d;

	(void)state;
	note(&ps, 9, 3, 0, 5, 0);
	assert_int_equal(check(&ps, 9, 2, 5, 1, &d), PSTATE_FENCED);
	assert_int_equal(check(&ps, 9, 4, 5, 1, &d), PSTATE_OUT_OF_ORDER);
	assert_int_equal(check(&ps, 9, 4, 0, 1, &d), PSTATE_APPEND);
	note(&ps, 9, 4, 0, 1, 5);
	assert_int_equal(check(&ps, 9, 4, 0, 5, &d), PSTATE_OUT_OF_ORDER);
	assert_int_equal(check(&ps, 9, 4, 1, 1, &d), PSTATE_APPEND);
	pstate_clear(&ps);
}

/* Sequences wrap from INT32_MAX to 0. */
static void
test_wrap(void **state)
{
	struct pstate ps = { 0 };
	struct pstate_batch d;

	(void)state;
	assert_int_equal(pstate_last_seq(INT32_MAX - 1, 3), 1);
	note(&ps, 3, 0, INT32_MAX - 2, 3, 0);
	assert_int_equal(check(&ps, 3, 0, 0, 4, &d), PSTATE_APPEND);
	note(&ps, 3, 0, INT32_MAX, 2, 3);
	assert_int_equal(check(&ps, 3, 0, 1, 1, &d), PSTATE_APPEND);
	assert_int_equal(check(&ps, 3, 0, INT32_MAX, 2, &d),
	    PSTATE_DUPLICATE);
	assert_int_equal(d.base_offset, 3);
	pstate_clear(&ps);
}

/* Many producers: the table grows and finds each again. */
static void
test_many(void **state)
{
	struct pstate ps = { 0 };
	struct pstate_batch d;

	(void)state;
	for (int64_t pid = 0; pid < 5000; pid++)
		note(&ps, pid * 1000, 0, 0, 1, pid);
	assert_int_equal(ps.n, 5000);
	for (int64_t pid = 0; pid < 5000; pid++) {
		assert_int_equal(check(&ps, pid * 1000, 0, 0, 1, &d),
		    PSTATE_DUPLICATE);
		assert_int_equal(d.base_offset, pid);
		assert_int_equal(check(&ps, pid * 1000, 0, 1, 1, &d),
		    PSTATE_APPEND);
	}
	pstate_clear(&ps);
}

/*
 * Expiry forgets producers whose last batch is old enough, by its
 * timestamp, and keeps the rest findable (the table is rehashed).
 */
static void
test_expire(void **state)
{
	struct pstate ps = { 0 };
	struct pstate_batch d;

	(void)state;
	for (int64_t pid = 0; pid < 1000; pid++)
		note_at(&ps, pid, 0, 0, 1, pid, pid % 2 ? 5000 : 1000);
	/* an old producer that wrote again lately stays */
	note_at(&ps, 0, 0, 1, 1, 2000, 9000);
	assert_int_equal(pstate_expire(&ps, 5999, 5000), 0);
	assert_int_equal(pstate_expire(&ps, 6000, 5000), 499);
	assert_int_equal(ps.n, 501);
	assert_int_equal(ps.checked_ms, 6000);
	for (int64_t pid = 0; pid < 1000; pid++) {
		enum pstate_verdict v = check(&ps, pid, 0, 0, 1, &d);

		if (pid % 2 || pid == 0) {
			assert_int_equal(v, PSTATE_DUPLICATE);
			assert_int_equal(d.base_offset, pid);
		} else
			assert_int_equal(v, PSTATE_APPEND);	/* forgotten */
	}
	assert_int_equal(check(&ps, 0, 0, 2, 1, &d), PSTATE_APPEND);
	assert_int_equal(check(&ps, 0, 0, 3, 1, &d), PSTATE_OUT_OF_ORDER);
	assert_int_equal(pstate_expire(&ps, 10000, 5000), 500);
	assert_int_equal(ps.n, 1);
	assert_int_equal(pstate_expire(&ps, 14000, 5000), 1);
	assert_int_equal(ps.n, 0);
	note(&ps, 7, 0, 0, 1, 1);
	assert_int_equal(check(&ps, 7, 0, 0, 1, &d), PSTATE_DUPLICATE);
	pstate_clear(&ps);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sequence),
		cmocka_unit_test(test_window),
		cmocka_unit_test(test_epochs),
		cmocka_unit_test(test_wrap),
		cmocka_unit_test(test_many),
		cmocka_unit_test(test_expire),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
