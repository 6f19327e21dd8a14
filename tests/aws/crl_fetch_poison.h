/* crl_fetch_poison.h — for the crl_fetch tests: a result filled with a sentinel, to check
 * that a failing jitrd_crl_fetch leaves it untouched (STYLE.md: outputs only on success). */
#ifndef JITRD_TEST_CRL_FETCH_POISON_H
#define JITRD_TEST_CRL_FETCH_POISON_H

#include <string.h>

#include "jitrd/crl_fetch.h"

static inline void poison(struct jitrd_crl_fetch_result *r)
{
	memset(r, 0x5a, sizeof(*r));
}

static inline int untouched(const struct jitrd_crl_fetch_result *r)
{
	const unsigned char *p = (const unsigned char *)r;

	for (size_t i = 0; i < sizeof(*r); i++)
		if (p[i] != 0x5a)
			return 0;
	return 1;
}

#endif
