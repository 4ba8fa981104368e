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

#define mt_rcu_read_lock() urcu_memb_read_lock()
#define mt_rcu_read_unlock() urcu_memb_read_unlock()
#define mt_call_rcu(head, func) urcu_memb_call_rcu(head, func)

#endif /* LIBIOVA_MAPLE_RCU_H */
