/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The tree's locks: the normal API drops its internal lock to allocate and
 * redoes the write; an external lock is never taken or dropped by the
 * library, and a debug build catches a write without it; RCU mode on and
 * off.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>
#include <urcu/urcu-memb.h>

#include <libiova/maple_tree.h>

#define V(n) xa_mk_value(n)

/*
 * A user allocator that records, for every blocking request, whether the
 * tree's internal lock was held at that moment (trylock succeeds: free).
 */
struct spy {
	struct maple_tree *mt;
	struct mt_allocator *inner;
	unsigned int blocking, blocking_locked, nonblocking;
	bool fail_nonblocking;
};

static void *spy_alloc(void *priv, gfp_t gfp)
{
	struct spy *s = priv;

	if (gfpflags_allow_blocking(gfp)) {
		s->blocking++;
		if (pthread_mutex_trylock(&s->mt->ma_lock) == 0)
			pthread_mutex_unlock(&s->mt->ma_lock);
		else
			s->blocking_locked++;
	} else {
		s->nonblocking++;
		if (s->fail_nonblocking)
			return NULL;
	}
	return mt_node_alloc(s->inner, gfp);
}

static void spy_free(void *priv, void *node)
{
	struct spy *s = priv;

	mt_node_free(s->inner, node);
}

static const struct mt_allocator_ops spy_ops = {
	.alloc = spy_alloc,
	.free = spy_free,
};

static void check_values(struct maple_tree *mt, unsigned long n)
{
	for (unsigned long i = 0; i < n; i++)
		assert_ptr_equal(mtree_load(mt, 10 * i + 2), V(i));
	assert_int_equal(mt_validate(mt), 0);
}

static void finish(struct maple_tree *mt, struct mt_allocator *a,
		   struct mt_allocator *cache)
{
	struct mt_alloc_stats st;

	mtree_destroy(mt);
	urcu_memb_barrier();
	mt_allocator_stats(cache, &st);
	assert_int_equal(st.live, 0);
	assert_int_equal(mt_allocator_destroy(a), 0);
	assert_int_equal(mt_allocator_destroy(cache), 0);
}

/* Every write path of the normal API allocates blocking with the lock
 * dropped, after a failed non-blocking attempt under it. */
static void test_blocking_alloc_drops_internal_lock(void **state)
{
	struct mt_allocator *cache = mt_node_cache_create(NULL);
	struct spy s = { 0 };
	struct mt_allocator *a;
	struct maple_tree mt;
	unsigned long start, next = 0;

	(void)state;
	mt_init_flags(&mt, MT_FLAGS_ALLOC_RANGE | MT_FLAGS_USE_RCU);
	s.mt = &mt;
	s.inner = cache;
	s.fail_nonblocking = true;
	a = mt_allocator_create(&spy_ops, &s);
	assert_non_null(a);
	assert_int_equal(mt_set_allocator(&mt, a), 0);

	for (unsigned long i = 0; i < 2000; i++)
		assert_int_equal(mtree_store_range(&mt, 10 * i, 10 * i + 5,
						   V(i), GFP_KERNEL), 0);
	check_values(&mt, 2000);
	assert_int_equal(mtree_insert_range(&mt, 100000, 100005, V(7),
					    GFP_KERNEL), 0);
	assert_int_equal(mtree_alloc_range(&mt, &start, V(8), 3, 0, ULONG_MAX,
					   GFP_KERNEL), 0);
	assert_int_equal(mtree_alloc_rrange(&mt, &start, V(9), 3, 0, 1000000,
					    GFP_KERNEL), 0);
	assert_int_equal(start, 1000000 - 2);
	assert_true(mtree_alloc_cyclic(&mt, &start, V(10), 50000, 60000, &next,
				       GFP_KERNEL) >= 0);
	assert_int_equal(start, 50000);
	/* RCU mode: erases copy nodes, so they need the allocator too */
	for (unsigned long i = 0; i < 2000; i += 2)
		assert_ptr_equal(mtree_erase(&mt, 10 * i), V(i));
	assert_int_equal(mt_validate(&mt), 0);

	assert_true(s.nonblocking > 0);
	assert_true(s.blocking > 0);
	assert_int_equal(s.blocking_locked, 0);
	finish(&mt, a, cache);
}

/* The case: the fault allocator fails the first non-blocking
 * attempt; the blocking write still succeeds and the tree is valid. */
static void test_blocking_write_survives_nonblocking_failure(void **state)
{
	struct mt_allocator *cache = mt_node_cache_create(NULL);
	struct mt_allocator *fault = mt_fault_allocator_create(cache);
	struct mt_fault_config first = {
		.mode = MT_FAULT_NTH, .n = 1,
		.flags = MT_FAULT_ONLY_NONBLOCKING,
	};
	struct maple_tree mt;

	(void)state;
	mt_init(&mt);
	mt_set_allocator(&mt, fault);
	for (unsigned long i = 0; i < 100; i++) {
		assert_int_equal(mt_fault_allocator_set(fault, &first), 0);
		assert_int_equal(mtree_store_range(&mt, 10 * i, 10 * i + 5,
						   V(i), GFP_KERNEL), 0);
	}
	check_values(&mt, 100);
	/* the same with GFP_NOWAIT fails and changes nothing */
	assert_int_equal(mt_fault_allocator_set(fault, &first), 0);
	assert_int_equal(mtree_store_range(&mt, 3, 1503, V(999), GFP_NOWAIT),
			 -ENOMEM);
	check_values(&mt, 100);
	finish(&mt, fault, cache);
}

/* With an external lock the normal API never takes the internal lock, and
 * a blocking allocation happens with the user's lock still held. */
static void test_external_lock_held_through_writes(void **state)
{
	struct mt_allocator *cache = mt_node_cache_create(NULL);
	pthread_mutex_t user = PTHREAD_MUTEX_INITIALIZER;
	struct spy s = { 0 };
	struct mt_allocator *a;
	struct maple_tree mt = MTREE_INIT_EXT(mt, MT_FLAGS_ALLOC_RANGE, &user);
	unsigned long start;

	(void)state;
	assert_true(mt_external_lock(&mt));
	s.mt = &mt;
	s.inner = cache;
	s.fail_nonblocking = true;
	a = mt_allocator_create(&spy_ops, &s);
	mt_set_allocator(&mt, a);

	/* the internal lock held by "someone else": writes must not wait */
	mtree_lock(&mt);
	pthread_mutex_lock(&user);
	for (unsigned long i = 0; i < 500; i++)
		assert_int_equal(mtree_store_range(&mt, 10 * i, 10 * i + 5,
						   V(i), GFP_KERNEL), 0);
	assert_int_equal(mtree_alloc_range(&mt, &start, V(1), 2, 0, ULONG_MAX,
					   GFP_KERNEL), 0);
	assert_ptr_equal(mtree_erase(&mt, start), V(1));
	assert_true(mt_lock_is_held(&mt));
	mt_set_in_rcu(&mt);
	assert_true(mt_in_rcu(&mt));
	mt_clear_in_rcu(&mt);
	assert_false(mt_in_rcu(&mt));
	check_values(&mt, 500);
	mtree_unlock(&mt);
	/* blocking allocations ran with the tree's internal lock "held" by
	 * the test: the library used the gfp as given, never dropping */
	assert_int_equal(s.nonblocking, 0);
	assert_true(s.blocking > 0);
	mtree_destroy(&mt);
	pthread_mutex_unlock(&user);
	urcu_memb_barrier();
	assert_int_equal(mt_allocator_destroy(a), 0);
	assert_int_equal(mt_allocator_destroy(cache), 0);
}

static int violations;
static char violation_what[64];

static void on_violation(struct maple_tree *mt, const char *what)
{
	(void)mt;
	violations++;
	snprintf(violation_what, sizeof(violation_what), "%s", what);
}

/*
 * The lock checks exist only in debug builds: without them (NDEBUG) the
 * two tests below are not registered at all, as a cmocka skip reads as a
 * failure to Meson's TAP parser; a release build checks instead that the
 * handler is never called.
 */
#ifndef NDEBUG
/* Debug builds catch a write without the external lock held. */
static void test_external_lock_assertion(void **state)
{
	pthread_mutex_t user = PTHREAD_MUTEX_INITIALIZER;
	struct maple_tree mt;
	MA_STATE(mas, &mt, 5, 9);

	(void)state;
	mt_init(&mt);
	mt_set_external_lock(&mt, &user);
	assert_true(mt_external_lock(&mt));
	mt_set_lock_violation_handler(on_violation);
	violations = 0;

	pthread_mutex_lock(&user);
	assert_int_equal(mtree_store(&mt, 1, V(1), GFP_KERNEL), 0);
	mas_store_gfp(&mas, V(2), GFP_KERNEL);
	pthread_mutex_unlock(&user);
	assert_int_equal(violations, 0);

	/* unlocked: the normal API and the advanced API are both caught */
	assert_int_equal(mtree_store(&mt, 20, V(3), GFP_KERNEL), 0);
	assert_int_equal(violations, 2);  /* the lock, then the write */
	mas_set_range(&mas, 30, 40);
	mas_store_gfp(&mas, V(4), GFP_KERNEL);
	assert_int_equal(violations, 3);
	assert_string_equal(violation_what, "a write");
	mtree_erase(&mt, 1);
	assert_true(violations > 3);

	pthread_mutex_lock(&user);
	assert_true(mt_lock_is_held(&mt));
	mtree_destroy(&mt);
	pthread_mutex_unlock(&user);
	mt_set_lock_violation_handler(NULL);
}

static bool spin_held(void *lock)
{
	pthread_spinlock_t *spin = lock;

	if (pthread_spin_trylock(spin) != 0)
		return true;
	pthread_spin_unlock(spin);
	return false;
}

/* Any lock through a held check: a spinlock here. */
static void test_external_spinlock_check(void **state)
{
	pthread_spinlock_t spin;
	struct maple_tree mt;

	(void)state;
	pthread_spin_init(&spin, PTHREAD_PROCESS_PRIVATE);
	mt_init(&mt);
	mt_set_external_lock_check(&mt, (void *)&spin, spin_held);
	mt_set_lock_violation_handler(on_violation);
	violations = 0;
	pthread_spin_lock(&spin);
	/* no blocking allocation under a spinlock */
	assert_int_equal(mtree_store_range(&mt, 0, 99, V(5), GFP_ATOMIC), 0);
	assert_true(mt_lock_is_held(&mt));
	pthread_spin_unlock(&spin);
	assert_false(mt_lock_is_held(&mt));
	assert_int_equal(violations, 0);
	mtree_store(&mt, 200, V(6), GFP_ATOMIC);
	assert_true(violations > 0);
	pthread_spin_lock(&spin);
	mtree_destroy(&mt);
	pthread_spin_unlock(&spin);
	mt_set_lock_violation_handler(NULL);
	pthread_spin_destroy(&spin);
}
#else
/* Release builds make no lock check: the handler is never called. */
static void test_no_lock_check_in_release(void **state)
{
	pthread_mutex_t user = PTHREAD_MUTEX_INITIALIZER;
	struct maple_tree mt;

	(void)state;
	mt_init(&mt);
	mt_set_external_lock(&mt, &user);
	mt_set_lock_violation_handler(on_violation);
	violations = 0;
	/* single-threaded, so writing without the lock is harmless here */
	assert_int_equal(mtree_store(&mt, 20, V(3), GFP_KERNEL), 0);
	assert_ptr_equal(mtree_load(&mt, 20), V(3));
	mtree_erase(&mt, 20);
	assert_int_equal(violations, 0);
	mtree_destroy(&mt);
	mt_set_lock_violation_handler(NULL);
}
#endif

static void test_rcu_flag(void **state)
{
	DEFINE_MTREE(mt);

	(void)state;
	assert_false(mt_in_rcu(&mt));
	mt_set_in_rcu(&mt);
	assert_true(mt_in_rcu(&mt));
	for (unsigned long i = 0; i < 300; i++)
		mtree_store_range(&mt, 10 * i, 10 * i + 5, V(i), GFP_KERNEL);
	mt_clear_in_rcu(&mt);
	assert_false(mt_in_rcu(&mt));
	mt_clear_in_rcu(&mt);
	assert_false(mt_in_rcu(&mt));
	check_values(&mt, 300);
	assert_false(mt_lock_is_held(&mt));
	mtree_lock(&mt);
	assert_true(mt_lock_is_held(&mt));
	mtree_unlock(&mt);
	mtree_destroy(&mt);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_blocking_alloc_drops_internal_lock),
		cmocka_unit_test(test_blocking_write_survives_nonblocking_failure),
		cmocka_unit_test(test_external_lock_held_through_writes),
#ifndef NDEBUG
		cmocka_unit_test(test_external_lock_assertion),
		cmocka_unit_test(test_external_spinlock_check),
#else
		cmocka_unit_test(test_no_lock_check_in_release),
#endif
		cmocka_unit_test(test_rcu_flag),
	};

	return cmocka_run_group_tests_name("locks", tests, NULL, NULL);
}
