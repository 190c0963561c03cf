/*
 * smap.c - a string-keyed hash table with open addressing (FNV-1a): the
 * loader's anchors and its duplicate checks.  The keys are not copied.
 */
#include <stdlib.h>
#include <string.h>

#include "load_int.h"

static size_t str_hash(const char *s)
{
	size_t h = 14695981039346656037u;

	while (*s)
		h = (h ^ (unsigned char)*s++) * 1099511628211u;
	return h;
}

struct sment *smap_slot(struct smap *m, const char *k)
{
	size_t j;

	if ((m->n + 1) * 2 > m->cap) {
		size_t cap = m->cap ? m->cap * 2 : 16;
		struct sment *e = calloc(cap, sizeof *e);
		if (!e)
			return NULL;
		for (size_t i = 0; i < m->cap; i++) {
			if (!m->e[i].k)
				continue;
			for (j = str_hash(m->e[i].k) & (cap - 1); e[j].k;)
				j = (j + 1) & (cap - 1);
			e[j] = m->e[i];
		}
		free(m->e);
		m->e = e;
		m->cap = cap;
	}
	for (j = str_hash(k) & (m->cap - 1); m->e[j].k; j = (j + 1) & (m->cap - 1))
		if (strcmp(m->e[j].k, k) == 0)
			break;
	return &m->e[j];
}
