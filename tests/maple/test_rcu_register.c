/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Threads need not register with liburcu to use the normal API: the
 * library registers them on first use and unregisters them at exit,
 * leaving alone the threads the user registered.
 */
#define _LGPL_SOURCE
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>

#include <cmocka.h>
#include <urcu/urcu-memb.h>

#include <libiova/maple_tree.h>

#define V(n) xa_mk_value(n)

static struct mt_allocator *cache;

static bool registered(void)
{
	return URCU_TLS(urcu_memb_reader).registered;
}

struct work {
	bool registered_before, registered_after;
	bool ok;
};

/* RCU-mode writes (call_rcu), reads, destroy; exits at once after. */
static void *unregistered_user(void *p)
{
	struct work *w = p;
	struct maple_tree mt;
	unsigned long index = 0, n = 0;
	void *entry;

	w->registered_before = registered();
	mt_init_flags(&mt, MT_FLAGS_USE_RCU);
	mt_set_allocator(&mt, cache);
	for (unsigned long i = 0; i < 5000; i++)
		mtree_store_range(&mt, 4 * i, 4 * i + 1, V(i), GFP_KERNEL);
	for (unsigned long i = 0; i < 5000; i += 2)
		mtree_erase(&mt, 4 * i);
	mt_for_each(&mt, entry, index, ULONG_MAX)
		n++;
	w->ok = n == 2500 && mtree_load(&mt, 4 * 7) == V(7) &&
		mtree_load(&mt, 4 * 8) == NULL;
	w->registered_after = registered();
	/* leave with grace periods pending */
	mtree_destroy(&mt);
	return NULL;
}

static void test_unregistered_thread(void **state)
{
	struct mt_alloc_stats st;
	struct work w = { 0 };
	pthread_t t;

	(void)state;
	assert_int_equal(pthread_create(&t, NULL, unregistered_user, &w), 0);
	assert_int_equal(pthread_join(t, NULL), 0);
	assert_false(w.registered_before);
	assert_true(w.registered_after);
	assert_true(w.ok);
	/* every node comes back once the grace periods are over */
	urcu_memb_barrier();
	mt_allocator_stats(cache, &st);
	assert_int_equal(st.live, 0);
}

static void *self_registered_user(void *p)
{
	struct work *w = p;

	urcu_memb_register_thread();
	unregistered_user(p);
	/* still ours: the library did not register it again */
	w->registered_after = registered();
	urcu_memb_unregister_thread();
	return NULL;
}

static void test_user_registered_thread(void **state)
{
	struct work w = { 0 };
	pthread_t t;

	(void)state;
	assert_int_equal(pthread_create(&t, NULL, self_registered_user, &w),
			 0);
	assert_int_equal(pthread_join(t, NULL), 0);
	assert_true(w.ok);
	assert_true(w.registered_after);
	urcu_memb_barrier();
}

/* Many short-lived threads: each registered once, unregistered at exit. */
static void test_many_threads(void **state)
{
	struct mt_alloc_stats st;

	(void)state;
	for (int round = 0; round < 20; round++) {
		struct work w[4] = { 0 };
		pthread_t t[4];

		for (int i = 0; i < 4; i++)
			assert_int_equal(pthread_create(&t[i], NULL,
							unregistered_user,
							&w[i]), 0);
		for (int i = 0; i < 4; i++) {
			assert_int_equal(pthread_join(t[i], NULL), 0);
			assert_true(w[i].ok);
		}
	}
	urcu_memb_barrier();
	mt_allocator_stats(cache, &st);
	assert_int_equal(st.live, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_unregistered_thread),
		cmocka_unit_test(test_user_registered_thread),
		cmocka_unit_test(test_many_threads),
	};
	int ret;

	cache = mt_node_cache_create(NULL);
	ret = cmocka_run_group_tests_name("rcu_register", tests, NULL, NULL);
	if (mt_allocator_destroy(cache))
		ret = 1;
	return ret;
}
