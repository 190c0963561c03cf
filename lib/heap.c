/* heap.c - the run's one timer heap; see heap.h. */
#include <stdint.h>
#include <stdlib.h>

#include "heap.h"
#include "internal.h"

static bool before(const struct heap_ent *a, const struct heap_ent *b)
{
	if (a->at != b->at)
		return a->at < b->at;
	if (a->n->seq != b->n->seq)
		return a->n->seq < b->n->seq;
	return a->which < b->which;
}

static void place(struct heap *h, size_t i, struct heap_ent e)
{
	h->v[i] = e;
	e.n->slot[e.which] = (int32_t)i;
}

static void sift_up(struct heap *h, size_t i)
{
	struct heap_ent e = h->v[i];

	while (i > 0) {
		size_t p = (i - 1) / 2;
		if (!before(&e, &h->v[p]))
			break;
		place(h, i, h->v[p]);
		i = p;
	}
	place(h, i, e);
}

static void sift_down(struct heap *h, size_t i)
{
	struct heap_ent e = h->v[i];

	for (;;) {
		size_t c = 2 * i + 1;
		if (c >= h->n)
			break;
		if (c + 1 < h->n && before(&h->v[c + 1], &h->v[c]))
			c++;
		if (!before(&h->v[c], &e))
			break;
		place(h, i, h->v[c]);
		i = c;
	}
	place(h, i, e);
}

int heap_reserve(struct heap *h, size_t n)
{
	struct heap_ent *v;

	if (n <= h->cap)
		return 0;
	if (n > SIZE_MAX / sizeof *v || !(v = realloc(h->v, n * sizeof *v)))
		return -1;
	h->v = v;
	h->cap = n;
	return 0;
}

int heap_push(struct heap *h, struct grpx_node *n, int which, int64_t at)
{
	if (n->slot[which] >= 0)
		heap_remove(h, n, which);
	if (h->n == h->cap && heap_reserve(h, h->cap ? h->cap * 2 : 64) < 0)
		return -1;
	h->v[h->n] = (struct heap_ent){ at, n, which };
	sift_up(h, h->n++);
	return 0;
}

void heap_remove(struct heap *h, struct grpx_node *n, int which)
{
	int32_t slot = n->slot[which];

	if (slot < 0)
		return;
	n->slot[which] = -1;
	if ((size_t)slot == --h->n)
		return;
	struct heap_ent moved = h->v[h->n];
	place(h, (size_t)slot, moved);
	sift_down(h, (size_t)slot);
	sift_up(h, (size_t)moved.n->slot[moved.which]);
}

const struct heap_ent *heap_top(const struct heap *h)
{
	return h->n ? &h->v[0] : NULL;
}

void heap_free(struct heap *h)
{
	free(h->v);
	*h = (struct heap){ 0 };
}
