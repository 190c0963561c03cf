/* pidmap.c - pid -> task, open addressing with backward-shift deletion. */
#include <stdlib.h>

#include "run.h"

static size_t pid_slot(const struct pidmap *m, pid_t pid)
{
	return ((size_t)pid * 2654435761u) & (m->cap - 1);
}

int pid_put(struct pidmap *m, pid_t pid, struct grpx_node *t)
{
	if ((m->n + 1) * 2 > m->cap) {
		struct pidmap nm = { 0 };
		nm.cap = m->cap ? m->cap * 2 : 64;
		nm.k = calloc(nm.cap, sizeof *nm.k);
		nm.v = calloc(nm.cap, sizeof *nm.v);
		if (!nm.k || !nm.v) {
			free(nm.k);
			free(nm.v);
			return -1;
		}
		for (size_t i = 0; i < m->cap; i++)
			if (m->k[i] > 0)
				pid_put(&nm, m->k[i], m->v[i]);
		free(m->k);
		free(m->v);
		*m = nm;
	}
	size_t i = pid_slot(m, pid);
	while (m->k[i] > 0)
		i = (i + 1) & (m->cap - 1);
	m->k[i] = pid;
	m->v[i] = t;
	m->n++;
	return 0;
}

struct grpx_node *pid_get(const struct pidmap *m, pid_t pid)
{
	if (!m->cap)
		return NULL;
	for (size_t i = pid_slot(m, pid); m->k[i]; i = (i + 1) & (m->cap - 1))
		if (m->k[i] == pid)
			return m->v[i];
	return NULL;
}

struct grpx_node *pid_take(struct pidmap *m, pid_t pid)
{
	if (!m->cap)
		return NULL;
	size_t i = pid_slot(m, pid);
	while (m->k[i] != pid) {
		if (m->k[i] == 0)
			return NULL;
		i = (i + 1) & (m->cap - 1);
	}
	struct grpx_node *t = m->v[i];
	for (size_t j = i;;) {
		m->k[i] = 0;
		for (;;) {
			j = (j + 1) & (m->cap - 1);
			if (m->k[j] == 0) {
				m->n--;
				return t;
			}
			size_t h = pid_slot(m, m->k[j]);
			if ((j > i && (h <= i || h > j)) || (j < i && h <= i && h > j))
				break;
		}
		m->k[i] = m->k[j];
		m->v[i] = m->v[j];
		i = j;
	}
}

void pidmap_free(struct pidmap *m)
{
	free(m->k);
	free(m->v);
	*m = (struct pidmap){ 0 };
}
