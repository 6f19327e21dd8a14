/* fuzz_crl_meta.c — libFuzzer target for the CRL cache metadata parser
 * (jitrd_crl_cache_meta_parse, src/pipeline/crl_refresh.c): the bytes of a state_dir/crl-cache
 * *.json file. Invariants: the parser never crashes; a refusal leaves the output untouched and
 * says why; an accepted document has every string NUL-terminated, printable, a non-empty url
 * and formats back into a document that parses to the same values. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "jitrd/crl_refresh.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_string(const char *s, size_t size)
{
	size_t n = strnlen(s, size);

	if (n == size)
		abort();
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] > 0x7e)
			abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct jitrd_crl_cache_meta m, back;
	struct jitrd_diag diag = {{0}};
	char *text = NULL;
	size_t len = 0;

	memset(&m, 0x5a, sizeof(m));
	if (jitrd_crl_cache_meta_parse("fuzz", (const char *)data, size, &m, &diag) != JITRD_OK) {
		if (((unsigned char *)&m)[0] != 0x5a || !diag.text[0])
			abort();
		return 0;
	}
	check_string(m.url, sizeof(m.url));
	check_string(m.final_url, sizeof(m.final_url));
	check_string(m.etag, sizeof(m.etag));
	check_string(m.last_modified, sizeof(m.last_modified));
	check_string(m.ca, sizeof(m.ca));
	if (!m.url[0] || m.crl_number < -1 || m.fetched_at < 0 || m.this_update < 0 ||
	    m.next_update < 0)
		abort();
	if (jitrd_crl_cache_meta_format(&m, &text, &len) != JITRD_OK)
		abort();
	if (jitrd_crl_cache_meta_parse("again", text, len, &back, &diag) != JITRD_OK ||
	    memcmp(&m, &back, sizeof(m)) != 0)
		abort();
	free(text);
	return 0;
}
