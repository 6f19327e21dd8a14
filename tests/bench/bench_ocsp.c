/* bench_ocsp.c — what [ocsp] adds to one event's decision: jitrd_pipeline_decide for a device
 * of the OCSP test PKI (bench-ocsp.sh makes it and runs the responder), first with [ocsp]
 * mode = off (the CRL alone), then mode = require with the answer taken from the cache, then
 * with every answer asked of the responder (a cache of one entry, two devices taken in turn).
 * Prints p50, p99 and mean in microseconds for each, and the added latency against off.
 * Usage: bench_ocsp CONFIG_OFF CONFIG_REQUIRE GOOD.pem GOOD2.pem [ROUNDS]. Fails when a
 * decision is not activate (an answer the responder should have given as good). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "jitrd/clock.h"
#include "jitrd/files.h"
#include "jitrd/pipeline.h"
#include "jitrd/runtime.h"

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int by_value(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return x < y ? -1 : x > y;
}

static struct jitrd_cert *load_cert(const char *path)
{
	struct jitrd_cert *cert = NULL;
	char *pem = NULL;
	size_t len = 0;

	if (jitrd_file_read(path, JITRD_CERT_MAX_PEM, &pem, &len, NULL) != JITRD_OK ||
	    jitrd_cert_from_pem(pem, len, &cert, NULL) != JITRD_OK) {
		fprintf(stderr, "bench_ocsp: cannot read %s\n", path);
		exit(2);
	}
	free(pem);
	return cert;
}

struct series {
	const char *name;
	int64_t *ns;
	double mean_us;
	double p50_us;
	double p99_us;
};

/* rounds decisions, alternating between the devices when alternate; returns -1 when one is
 * not activate. */
static int run(struct jitrd_pipeline *p, const struct jitrd_runtime *rt,
               struct jitrd_cert *const devices[2], int alternate, int rounds, struct series *out)
{
	struct jitrd_decision_context ctx;
	int64_t total = 0;

	jitrd_runtime_context(rt, &ctx);
	for (int i = 0; i < rounds; i++) {
		struct jitrd_decision d;
		const struct jitrd_cert *cert = devices[alternate ? i % 2 : 0];
		int64_t start = now_ns();
		enum jitrd_err err = jitrd_pipeline_decide(p, &ctx, cert, NULL, time(NULL),
		                                           jitrd_clock_mono_ms() + 10000, &d);

		out->ns[i] = now_ns() - start;
		total += out->ns[i];
		if (err != JITRD_OK || d.kind != JITRD_DECISION_ACTIVATE) {
			fprintf(stderr, "bench_ocsp: %s: round %d: %s (%s)\n", out->name, i,
			        jitrd_decision_name(d.kind), d.reason);
			jitrd_decision_cleanup(&d);
			return -1;
		}
		jitrd_decision_cleanup(&d);
	}
	qsort(out->ns, (size_t)rounds, sizeof(out->ns[0]), by_value);
	out->mean_us = (double)total / rounds / 1000.0;
	out->p50_us = (double)out->ns[rounds / 2] / 1000.0;
	out->p99_us = (double)out->ns[(rounds * 99) / 100] / 1000.0;
	return 0;
}

static struct jitrd_runtime *load(const char *path)
{
	struct jitrd_diag diag = {{0}};
	struct jitrd_runtime *rt = jitrd_runtime_new(path, time(NULL), &diag);

	if (!rt) {
		fprintf(stderr, "bench_ocsp: %s\n", diag.text);
		exit(2);
	}
	return rt;
}

int main(int argc, char **argv)
{
	struct jitrd_runtime *off, *require;
	struct jitrd_pipeline *p = NULL, *p_small = NULL;
	struct jitrd_cert *devices[2];
	struct series s[3] = {{"off (CRL only)", NULL, 0, 0, 0},
	                      {"require, cached answer", NULL, 0, 0, 0},
	                      {"require, uncached answer", NULL, 0, 0, 0}};
	int rounds = argc > 5 ? (int)strtol(argv[5], NULL, 10) : 500;
	struct jitrd_pipeline_options one = {NULL, NULL, NULL, 1, NULL, NULL};
	int status = 1;

	if (argc < 5 || rounds < 10 || rounds > 1000000) {
		fprintf(stderr, "usage: bench_ocsp CONFIG_OFF CONFIG_REQUIRE GOOD.pem GOOD2.pem "
		                "[ROUNDS 10..1000000]\n");
		return 2;
	}
	off = load(argv[1]);
	require = load(argv[2]);
	devices[0] = load_cert(argv[3]);
	devices[1] = load_cert(argv[4]);
	for (int i = 0; i < 3; i++)
		if (!(s[i].ns = calloc((size_t)rounds, sizeof(int64_t))))
			return 2;
	/* the uncached series: a pipeline whose checker keeps one answer, two devices in turn */
	if (jitrd_pipeline_new(NULL, &p) != JITRD_OK ||
	    jitrd_pipeline_new(&one, &p_small) != JITRD_OK)
		return 2;
	if (run(p, off, devices, 0, rounds, &s[0]) != 0 ||
	    run(p, require, devices, 0, 1, &s[1]) != 0 || /* fills the cache */
	    run(p, require, devices, 0, rounds, &s[1]) != 0 ||
	    run(p_small, require, devices, 1, rounds, &s[2]) != 0)
		goto cleanup;
	printf("bench_ocsp: %d decisions each (jitrd_pipeline_decide, one device, loopback "
	       "openssl ocsp responder)\n",
	       rounds);
	for (int i = 0; i < 3; i++)
		printf("  %-26s p50 %9.1f us  p99 %9.1f us  mean %9.1f us\n", s[i].name,
		       s[i].p50_us, s[i].p99_us, s[i].mean_us);
	printf("  added by OCSP per event (mean): cached %.1f us, uncached %.1f us\n",
	       s[1].mean_us - s[0].mean_us, s[2].mean_us - s[0].mean_us);
	status = 0;
cleanup:
	for (int i = 0; i < 3; i++)
		free(s[i].ns);
	jitrd_pipeline_free(p);
	jitrd_pipeline_free(p_small);
	jitrd_cert_free(devices[0]);
	jitrd_cert_free(devices[1]);
	jitrd_runtime_unref(off);
	jitrd_runtime_unref(require);
	return status;
}
