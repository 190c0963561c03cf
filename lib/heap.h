/*
 * heap.h - the run's one timer heap (heap.c).
 *
 * Every deadline of a run is an entry here, ordered by time and, for equal
 * times, by the node's preorder number so that ties fire in input order.
 * Each entry knows its node, and each node knows its entries' slots
 * (node->slot[which]), so removal is O(log n) with no search.
 */
#ifndef GRPX_HEAP_H
#define GRPX_HEAP_H

#include <stddef.h>
#include <stdint.h>

struct grpx_node;

struct heap {
	struct heap_ent {
		int64_t at;
		struct grpx_node *n;
		int which;
	} *v;
	size_t n, cap;
};

/* Room for n entries: pushes up to n cannot fail.  Pages not yet used
 * cost no memory. */
int heap_reserve(struct heap *h, size_t n);
int heap_push(struct heap *h, struct grpx_node *n, int which, int64_t at);
void heap_remove(struct heap *h, struct grpx_node *n, int which);
/* The earliest entry, or NULL. */
const struct heap_ent *heap_top(const struct heap *h);
void heap_free(struct heap *h);

#endif
