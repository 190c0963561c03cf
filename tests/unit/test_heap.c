/* The run's timer heap: order by time, ties by preorder, O(log n) removal. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include "heap.h"
#include "internal.h"

static struct grpx_node *mk(int n)
{
	struct grpx_node *v = calloc((size_t)n, sizeof *v);
	for (int i = 0; i < n; i++) {
		v[i].seq = (uint32_t)i;
		v[i].slot[0] = v[i].slot[1] = -1;
	}
	return v;
}

static void pops_in_order(void **state)
{
	(void)state;
	enum { N = 1000 };
	struct grpx_node *v = mk(N);
	struct heap h = { 0 };
	srand(7);
	for (int i = 0; i < N; i++)
		assert_int_equal(heap_push(&h, &v[i], i % 2, rand() % 100), 0);
	int64_t last = -1;
	uint32_t last_seq = 0;
	for (int i = 0; i < N; i++) {
		const struct heap_ent *e = heap_top(&h);
		assert_non_null(e);
		assert_true(e->at >= last);
		if (e->at == last)
			assert_true(e->n->seq > last_seq); /* ties in input order */
		last = e->at;
		last_seq = e->n->seq;
		heap_remove(&h, e->n, e->which);
	}
	assert_null(heap_top(&h));
	heap_free(&h);
	free(v);
}

static void remove_from_middle(void **state)
{
	(void)state;
	enum { N = 500 };
	struct grpx_node *v = mk(N);
	struct heap h = { 0 };
	for (int i = 0; i < N; i++)
		heap_push(&h, &v[i], 0, (i * 7919) % N);
	for (int i = 0; i < N; i += 3) {
		heap_remove(&h, &v[i], 0);
		assert_int_equal(v[i].slot[0], -1);
	}
	heap_remove(&h, &v[0], 0); /* removing twice is harmless */
	int64_t last = -1;
	size_t left = 0;
	while (heap_top(&h)) {
		const struct heap_ent *e = heap_top(&h);
		assert_true(e->n->seq % 3 != 0);
		assert_true(e->at >= last);
		last = e->at;
		heap_remove(&h, e->n, e->which);
		left++;
	}
	assert_int_equal(left, N - (N + 2) / 3);
	heap_free(&h);
	free(v);
}

static void rearm_moves_entry(void **state)
{
	(void)state;
	struct grpx_node *v = mk(3);
	struct heap h = { 0 };
	heap_push(&h, &v[0], 0, 10);
	heap_push(&h, &v[1], 0, 20);
	heap_push(&h, &v[2], 1, 30);
	heap_push(&h, &v[0], 0, 40); /* re-arming replaces the old deadline */
	assert_int_equal(h.n, 3);
	assert_ptr_equal(heap_top(&h)->n, &v[1]);
	heap_remove(&h, &v[1], 0);
	assert_ptr_equal(heap_top(&h)->n, &v[2]);
	assert_int_equal(heap_top(&h)->which, 1);
	heap_free(&h);
	free(v);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(pops_in_order),
		cmocka_unit_test(remove_from_middle),
		cmocka_unit_test(rearm_moves_entry),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
