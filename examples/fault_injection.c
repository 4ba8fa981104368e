/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * fault_injection.c - test your own code against allocation failure.
 *
 * `build_ring` below stands for any code of yours that takes several nodes
 * and must leave nothing behind when one allocation fails.  The loop in
 * main() runs it with the 1st, 2nd, 3rd ... allocation failing, until a run
 * completes with no failure, and checks after every run that no node
 * leaked.  That is the SQLite way of testing allocation failure, with the
 * fault-injecting allocator of <libiova/mt_alloc.h>.
 */
#include <stdio.h>
#include <stdlib.h>

#include <libiova/mt_alloc.h>
#include <libiova/version.h>

#define RING_NODES 8

/* Take RING_NODES nodes one by one; on failure give back what was taken. */
static int build_ring(struct mt_allocator *a, void **ring)
{
	for (int i = 0; i < RING_NODES; i++) {
		ring[i] = mt_node_alloc(a, GFP_ATOMIC);
		if (!ring[i]) {
			while (i--)
				mt_node_free(a, ring[i]);
			return -1;
		}
	}
	return 0;
}

int main(void)
{
	struct mt_allocator *cache = mt_node_cache_create(NULL);
	struct mt_allocator *fault = mt_fault_allocator_create(cache);
	struct mt_alloc_stats st;
	void *ring[RING_NODES];
	uint64_t n;

	if (!cache || !fault) {
		perror("allocator");
		return 1;
	}
	printf("libiova %s: failing allocation 1, 2, 3 ... of build_ring\n",
	       libiova_version());
	for (n = 1;; n++) {
		struct mt_fault_config cfg = { .mode = MT_FAULT_NTH, .n = n };
		int ret;

		mt_fault_allocator_set(fault, &cfg);
		ret = build_ring(fault, ring);
		mt_allocator_stats(fault, &st);
		if (ret == 0) {
			/* no failure left to inject: the sweep is complete */
			if (st.injected != 0 || st.live != RING_NODES) {
				fprintf(stderr, "unexpected state at n=%llu\n",
					(unsigned long long)n);
				return 1;
			}
			for (int i = 0; i < RING_NODES; i++)
				mt_node_free(fault, ring[i]);
			break;
		}
		if (st.live != 0) {
			fprintf(stderr, "leak: %llu nodes after failing #%llu\n",
				(unsigned long long)st.live,
				(unsigned long long)n);
			return 1;
		}
	}
	printf("swept %llu failure points, no leak\n",
	       (unsigned long long)(n - 1));
	if (mt_allocator_destroy(fault) || mt_allocator_destroy(cache)) {
		fprintf(stderr, "allocator still busy\n");
		return 1;
	}
	return 0;
}
