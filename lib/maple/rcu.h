/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * rcu.h - the liburcu flavor lib/maple uses (memb), behind short names.
 *
 * _LGPL_SOURCE inlines liburcu's read-side fast paths into this library,
 * which its licence allows for LGPL code such as ours.
 */
#ifndef LIBIOVA_MAPLE_RCU_H
#define LIBIOVA_MAPLE_RCU_H

#ifndef _LGPL_SOURCE
#define _LGPL_SOURCE
#endif
#include <urcu/urcu-memb.h>

#include "compiler.h"

/* rcu.c: register the calling thread if nobody has (see there). */
void ma_rcu_register_slow(void);

static inline void ma_rcu_ensure_thread(void)
{
	if (unlikely(!URCU_TLS(urcu_memb_reader).registered))
		ma_rcu_register_slow();
}

static inline void ma_rcu_read_lock(void)
{
	ma_rcu_ensure_thread();
	urcu_memb_read_lock();
}

#define ma_rcu_read_unlock() urcu_memb_read_unlock()

static inline void ma_call_rcu(struct rcu_head *head,
			       void (*func)(struct rcu_head *head))
{
	/* liburcu wants call_rcu from a registered thread */
	ma_rcu_ensure_thread();
	urcu_memb_call_rcu(head, func);
}

#endif /* LIBIOVA_MAPLE_RCU_H */
