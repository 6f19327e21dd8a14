/* bench_crl.c — CRL store benchmark: load + verify + index one big CRL (ms), resident memory
 * after loading (VmRSS, VmHWM), and the mean time of random lookups (ns). Not a timed test:
 * it fails only when the store gives a wrong answer. Run by bench-crl.sh.
 *
 * usage: bench_crl CA.pem CRL [INDEX.txt [LOOKUPS]]
 *   INDEX.txt is the `openssl ca` database the CRL was made from: its serials are looked up
 *   (half of the lookups hit a listed serial, half miss). Without it only loading is measured. */
#include <malloc.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/bn.h>

#include "jitrd/crl.h"

/* 2030-06-01T00:00:00Z: bench-crl.sh makes the CRL for 2030-01-01..2031-01-01 */
#define BENCH_NOW      ((time_t)1906502400)
#define BENCH_MAX_FILE (1024L * 1024 * 1024)

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static unsigned char *read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	unsigned char *buf = NULL;
	long size;

	if (!f)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (size = ftell(f)) >= 0 && size <= BENCH_MAX_FILE &&
	    fseek(f, 0, SEEK_SET) == 0 && (buf = malloc((size_t)size + 1)) != NULL) {
		if (fread(buf, 1, (size_t)size, f) == (size_t)size) {
			buf[size] = '\0';
			*len = (size_t)size;
		} else {
			free(buf);
			buf = NULL;
		}
	}
	fclose(f);
	return buf;
}

/* VmRSS and VmHWM of this process in kB (benchmark code: reads /proc). */
static void memory_kb(long *rss, long *hwm)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];

	*rss = *hwm = -1;
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		if (strncmp(line, "VmRSS:", 6) == 0)
			*rss = strtol(line + 6, NULL, 10);
		else if (strncmp(line, "VmHWM:", 6) == 0)
			*hwm = strtol(line + 6, NULL, 10);
	}
	fclose(f);
}

/* xorshift64*: a fixed, fast sequence so every run looks up the same serials */
static uint64_t next_random(uint64_t *state)
{
	*state ^= *state >> 12;
	*state ^= *state << 25;
	*state ^= *state >> 27;
	return *state * 2685821657736338717ULL;
}

struct probe {
	ASN1_INTEGER *serial;
	int listed;
};

/* The serials (4th column) of the R lines of an `openssl ca` index.txt. */
static ASN1_INTEGER **read_index_serials(const char *path, size_t *count)
{
	FILE *f = fopen(path, "r");
	char line[1024];
	ASN1_INTEGER **serials = NULL;
	size_t n = 0, cap = 0;
	BIGNUM *bn = NULL;

	if (!f)
		return NULL;
	while (fgets(line, sizeof(line), f)) {
		char *field = line;
		char *end;

		if (line[0] != 'R')
			continue;
		for (int i = 0; i < 3 && field; i++) {
			field = strchr(field, '\t');
			if (field)
				field++;
		}
		if (!field || !(end = strchr(field, '\t')))
			continue;
		*end = '\0';
		if (n == cap) {
			size_t new_cap = cap ? 2 * cap : 1024;
			ASN1_INTEGER **grown = realloc(serials, new_cap * sizeof(*grown));
			if (!grown)
				break;
			serials = grown;
			cap = new_cap;
		}
		if (!BN_hex2bn(&bn, field) || !(serials[n] = BN_to_ASN1_INTEGER(bn, NULL)))
			break;
		n++;
	}
	BN_free(bn);
	fclose(f);
	*count = n;
	return serials;
}

int main(int argc, char **argv)
{
	struct jitrd_caset *cas = jitrd_caset_new();
	struct jitrd_crl_builder *b = NULL;
	struct jitrd_crl_store *store = NULL;
	struct jitrd_diag diag = {""};
	unsigned char *ca_pem, *crl_bytes;
	size_t ca_len = 0, crl_len = 0;
	long lookups = argc > 4 ? strtol(argv[4], NULL, 10) : 1000000;
	double t0, t1;
	long rss, hwm;
	const struct jitrd_crl_info *info;
	enum jitrd_err err;
	int status = 1;

	if (argc < 3 || lookups <= 0) {
		fprintf(stderr, "usage: bench_crl CA.pem CRL [INDEX.txt [LOOKUPS]]\n");
		return 2;
	}
	ca_pem = read_file(argv[1], &ca_len);
	if (!cas || !ca_pem ||
	    jitrd_caset_add_pem(cas, argv[1], (char *)ca_pem, ca_len, &diag) != JITRD_OK) {
		fprintf(stderr, "bench_crl: %s: cannot load the CA: %s\n", argv[1], diag.text);
		return 1;
	}
	free(ca_pem);

	t0 = now_ms();
	crl_bytes = read_file(argv[2], &crl_len);
	t1 = now_ms();
	if (!crl_bytes) {
		fprintf(stderr, "bench_crl: %s: cannot read\n", argv[2]);
		return 1;
	}
	printf("file_bytes %zu\nread_ms %.1f\n", crl_len, t1 - t0);

	/* load + verify + index: what a reload costs once the file is in memory */
	t0 = now_ms();
	b = jitrd_crl_builder_new(cas, BENCH_NOW);
	/* as the service reads a [crl] dir file: the builder takes the bytes */
	err = b ? jitrd_crl_builder_add_owned(b, argv[2], crl_bytes, crl_len, &diag)
	        : JITRD_ERR_NOMEM;
	if (!b)
		free(crl_bytes);
	crl_bytes = NULL;
	if (err == JITRD_OK)
		err = jitrd_crl_builder_finish(b, &store);
	t1 = now_ms();
	jitrd_crl_builder_free(b);
	if (err != JITRD_OK) {
		fprintf(stderr, "bench_crl: %s\n", diag.text);
		return 1;
	}
	info = jitrd_crl_store_info(store, jitrd_caset_at(cas, 0));
	if (!info) {
		fprintf(stderr, "bench_crl: no CRL for the CA after loading\n");
		return 1;
	}
	memory_kb(&rss, &hwm);
	printf("entries %zu\nload_ms %.1f\nrss_after_load_kb %ld\npeak_rss_kb %ld\n", info->entries,
	       t1 - t0, rss, hwm);
	/* what the snapshot itself keeps, once glibc hands the parser's freed heap back */
	malloc_trim(0);
	memory_kb(&rss, &hwm);
	printf("rss_after_trim_kb %ld\n", rss);
	fflush(stdout);

	if (argc > 3) {
		size_t listed_count = 0;
		ASN1_INTEGER **listed = read_index_serials(argv[3], &listed_count);
		struct probe *probes = calloc((size_t)lookups, sizeof(*probes));
		uint64_t state = 0x9e3779b97f4a7c15ULL;
		long mismatches = 0, found = 0;
		unsigned char random_serial[16];

		if (!listed || listed_count == 0 || !probes) {
			fprintf(stderr, "bench_crl: %s: no serials\n", argv[3]);
			return 1;
		}
		/* half listed serials, half random 16-octet serials (a miss with near certainty;
		 * a random hit would only be counted, not judged) */
		for (long i = 0; i < lookups; i++) {
			uint64_t r = next_random(&state);
			if (i % 2 == 0) {
				probes[i].serial = listed[r % listed_count];
				probes[i].listed = 1;
			} else {
				uint64_t r2 = next_random(&state);
				memcpy(random_serial, &r, 8);
				memcpy(random_serial + 8, &r2, 8);
				random_serial[0] &= 0x7f;
				probes[i].serial = ASN1_INTEGER_new();
				if (!probes[i].serial ||
				    !ASN1_STRING_set(probes[i].serial, random_serial, 16))
					return 1;
			}
		}
		t0 = now_ms();
		for (long i = 0; i < lookups; i++) {
			struct jitrd_crl_answer answer;

			if (jitrd_crl_lookup(store, jitrd_caset_at(cas, 0), probes[i].serial,
			                     BENCH_NOW, &answer) != JITRD_OK)
				mismatches++;
			else if (answer.status != JITRD_CRL_NOT_LISTED)
				found++;
			else if (probes[i].listed)
				mismatches++;
		}
		t1 = now_ms();
		printf("lookups %ld\nlookup_found %ld\nlookup_mean_ns %.1f\n", lookups, found,
		       (t1 - t0) * 1e6 / (double)lookups);
		if (mismatches) {
			fprintf(stderr, "bench_crl: %ld lookups gave a wrong answer\n", mismatches);
			return 1;
		}
		for (long i = 1; i < lookups; i += 2)
			ASN1_INTEGER_free(probes[i].serial);
		for (size_t i = 0; i < listed_count; i++)
			ASN1_INTEGER_free(listed[i]);
		free(listed);
		free(probes);
	}
	status = 0;
	jitrd_crl_store_free(store);
	jitrd_caset_free(cas);
	return status;
}
