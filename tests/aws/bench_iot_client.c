/* bench_iot_client.c — suite 'bench': requests per second one client thread sustains over one
 * kept-alive connection (DescribeCertificate, UpdateCertificate) against the iot-emulator (or,
 * when it is not built, the in-process stand-in), the client thread's CPU time per request
 * (getrusage RUSAGE_THREAD), and the CPU time of signing alone. Target: < 50 us CPU/request.
 * Bounded: a fixed number of requests, loopback only. Fails when the target is missed. */
#define _GNU_SOURCE /* RUSAGE_THREAD */
#include "jitrd/iot_client.h"
#include "jitrd/sigv4.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "stub_server.h"
#include "testsupport.h"

#define KEY_ID   "AKIDEXAMPLE"
#define SECRET   "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
#define REQUESTS 3000
#define SIGNS    20000

/* This thread's CPU time in microseconds; *user_us (when not NULL) gets the user part, so the
 * report can tell jitrd's own work from the kernel's loopback TCP work. */
static double thread_cpu_us_split(double *user_us)
{
	struct rusage ru;

	getrusage(RUSAGE_THREAD, &ru);
	if (user_us)
		*user_us = (double)ru.ru_utime.tv_sec * 1e6 + (double)ru.ru_utime.tv_usec;
	return (double)ru.ru_utime.tv_sec * 1e6 + (double)ru.ru_utime.tv_usec +
	       (double)ru.ru_stime.tv_sec * 1e6 + (double)ru.ru_stime.tv_usec;
}

static double thread_cpu_us(void)
{
	return thread_cpu_us_split(NULL);
}

static double wall_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void stub_handler_fn(void *ctx, const struct stub_request *req, struct stub_response *resp)
{
	(void)ctx;
	if (strcmp(req->method, "GET") == 0)
		resp->body = "{\"certificateDescription\":{\"certificateId\":\"0123456789abcdef0123"
			     "456789abcdef0123456789abcdef0123456789abcdef\",\"status\":\"ACTIVE\","
			     "\"certificatePem\":\"-----BEGIN CERTIFICATE-----\\nMIIB\\n-----END "
			     "CERTIFICATE-----\\n\"}}";
}

static const char *const envp[] = {"AWS_ACCESS_KEY_ID=" KEY_ID, "AWS_SECRET_ACCESS_KEY=" SECRET,
                                   "AWS_EC2_METADATA_DISABLED=true", "HOME=/nonexistent", NULL};

static double cpu_per_request_us = 1e9, sign_us = 1e9;

static void bench_operations(void)
{
	struct emulator *emu = emulator_start(KEY_ID, SECRET);
	struct stub_server *stub = NULL;
	const char *url, *against;
	struct jitrd_credentials_options co;
	struct jitrd_credentials_provider *creds = NULL;
	struct jitrd_iot_client_options opts;
	struct jitrd_iot_client *client = NULL;
	struct jitrd_iot_session *s = NULL;
	struct jitrd_iot_registered reg;
	struct jitrd_iot_result res;
	struct jitrd_diag diag = {{0}};
	char cert_id[65] = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
	char *pem, *ca_pem;
	double total_cpu = 0;
	int total = 0;

	if (emu) {
		url = emulator_url(emu);
		against = "iot-emulator";
	} else {
		stub = stub_start(stub_handler_fn, NULL);
		CU_ASSERT_PTR_NOT_NULL_FATAL(stub);
		url = stub_url(stub);
		against = "in-process stand-in (emulator not built)";
	}
	jitrd_credentials_options_init(&co);
	co.envp = envp;
	CU_ASSERT_EQUAL_FATAL(jitrd_credentials_new(&co, &creds, NULL), JITRD_OK);
	jitrd_iot_client_options_init(&opts, NULL);
	opts.endpoint = url;
	for (int i = 0; i < JITRD_IOT_OP_COUNT; i++)
		opts.rates[i] = 0; /* measure the client, not the limiter */
	CU_ASSERT_EQUAL_FATAL(jitrd_iot_client_new(&opts, creds, &client, &diag), JITRD_OK);
	CU_ASSERT_EQUAL_FATAL(jitrd_iot_session_new(client, &s), JITRD_OK);
	if (emu) {
		pem = tsupport_read_fixture("devices/good.pem", NULL);
		ca_pem = tsupport_read_fixture("cas/ca1.pem", NULL);
		CU_ASSERT_FATAL(pem && ca_pem);
		if (jitrd_iot_register_certificate(s, jitrd_iot_deadline_in(5000), pem, ca_pem,
		                                   JITRD_IOT_ACTIVE, &reg, &res, &diag) == JITRD_OK)
			memcpy(cert_id, reg.certificate_id, sizeof(cert_id));
		else
			printf("RegisterCertificate: %s (describing an unknown id instead)\n",
			       diag.text);
		free(pem);
		free(ca_pem);
	}
	for (int op = 0; op < 2; op++) {
		double w0, c0, w1, c1, u0, u1;
		int ok = 0;

		w0 = wall_s();
		c0 = thread_cpu_us_split(&u0);
		for (int i = 0; i < REQUESTS; i++) {
			enum jitrd_err err;

			if (op == 0) {
				struct jitrd_iot_certificate cert;

				err = jitrd_iot_describe_certificate(s, jitrd_iot_deadline_in(5000),
				                                     cert_id, &cert, &res, NULL);
				if (err == JITRD_OK)
					jitrd_iot_certificate_cleanup(&cert);
			} else {
				err = jitrd_iot_update_certificate(
				    s, jitrd_iot_deadline_in(5000), cert_id,
				    i % 2 ? JITRD_IOT_ACTIVE : JITRD_IOT_INACTIVE, &res, NULL);
			}
			ok += err == JITRD_OK || res.http_status == 404;
		}
		c1 = thread_cpu_us_split(&u1);
		w1 = wall_s();
		CU_ASSERT_EQUAL(ok, REQUESTS);
		printf("%s against %s: %d requests, %.0f requests/s, %.1f us client CPU/request "
		       "(user %.1f, kernel %.1f)\n",
		       op == 0 ? "DescribeCertificate" : "UpdateCertificate", against, REQUESTS,
		       REQUESTS / (w1 - w0), (c1 - c0) / REQUESTS, (u1 - u0) / REQUESTS,
		       ((c1 - c0) - (u1 - u0)) / REQUESTS);
		total_cpu += c1 - c0;
		total += REQUESTS;
	}
	cpu_per_request_us = total_cpu / total;
	jitrd_iot_session_free(s);
	jitrd_iot_client_free(client);
	jitrd_credentials_free(creds);
	stub_stop(stub);
	emulator_stop(emu);
}

static void bench_signing(void)
{
	struct jitrd_sigv4_header headers[] = {{"host", "iot.us-east-1.amazonaws.com"},
	                                       {"content-type", "application/json"}};
	struct jitrd_sigv4_request req = {
	    .method = "PUT",
	    .path =
		"/certificates/0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
	    .query = "newStatus=ACTIVE",
	    .headers = headers,
	    .header_count = 2,
	    .payload = (const unsigned char *)"{}",
	    .payload_len = 2,
	    .normalize_path = 1,
	};
	struct jitrd_sigv4_credentials creds = {KEY_ID, SECRET, NULL};
	struct jitrd_sigv4_scope scope = {"us-east-1", "iot", 1900000000};
	double c0 = thread_cpu_us(), c1;
	int ok = 0;

	for (int i = 0; i < SIGNS; i++) {
		struct jitrd_sigv4_result out = {0};

		ok += jitrd_sigv4_sign(&req, &creds, &scope, &out) == JITRD_OK;
		jitrd_sigv4_result_cleanup(&out);
	}
	c1 = thread_cpu_us();
	sign_us = (c1 - c0) / SIGNS;
	CU_ASSERT_EQUAL(ok, SIGNS);
	printf("SigV4 signing alone: %.1f us CPU per request\n", sign_us);
}

static void check_target(void)
{
	printf("client CPU per signed request: %.1f us (target < 50 us)\n", cpu_per_request_us);
	CU_ASSERT(cpu_per_request_us < 50.0);
	CU_ASSERT(sign_us < 50.0);
}

int main(void)
{
	static const struct tsupport_case cases[] = {
	    {"requests per second over keep-alive", bench_operations},
	    {"signing CPU", bench_signing},
	    {"CPU per request under 50 us", check_target},
	    {NULL, NULL},
	};
	return tsupport_run("bench_iot_client", cases);
}
