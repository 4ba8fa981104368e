/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * rcu.c - registering threads with liburcu for them.
 *
 * The normal API may be called from any thread, registered with liburcu
 * or not.  The first time a thread needs RCU (a read lock, or a call_rcu
 * from a writer in RCU mode) and is not registered, the library registers
 * it, and unregisters it when the thread exits.  A thread the user
 * registered is left alone.
 */
#include <pthread.h>

#include <libiova/maple_tree.h>

#include "compiler.h"
#include "rcu.h"

static pthread_key_t unregister_key;
static pthread_once_t key_once = PTHREAD_ONCE_INIT;

static void unregister_at_exit(void *arg)
{
	(void)arg;
	urcu_memb_unregister_thread();
}

static void key_create(void)
{
	/* Without a key the thread stays registered until the process ends:
	 * harmless, only slower grace periods. */
	(void)pthread_key_create(&unregister_key, unregister_at_exit);
}

void ma_rcu_register_slow(void)
{
	if (URCU_TLS(urcu_memb_reader).registered)
		return;
	urcu_memb_register_thread();
	pthread_once(&key_once, key_create);
	pthread_setspecific(unregister_key, &unregister_key);
}

LIBIOVA_EXPORT void mt_read_lock(void)
{
	ma_rcu_read_lock();
}

LIBIOVA_EXPORT void mt_read_unlock(void)
{
	ma_rcu_read_unlock();
}
