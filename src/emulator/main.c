/* main.c — iot-emulator: parses the command line, starts the MQTT publisher and the HTTP
 * server, prints where it listens, and stops cleanly on SIGTERM/SIGINT. The only place that
 * decides to exit; the signal handler only sets a flag. */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "publish.h"
#include "routes.h"
#include "server.h"

#define MAX_RATE_LIMITS 32

static volatile sig_atomic_t stop_requested;

static void on_stop(int sig)
{
	(void)sig;
	stop_requested = 1;
}

static void usage(FILE *out)
{
	fprintf(
	    out,
	    "usage: iot-emulator --listen HOST:PORT --region REGION --account-id ID\n"
	    "                    --access-key-id ID --secret-access-key SECRET\n"
	    "                    [--mqtt-url tcp://HOST:PORT] [--latency-ms N]\n"
	    "                    [--error-rate 0.0-1.0] [--rate-limit Operation=N]...\n"
	    "                    [--data-endpoint HOST] [--issuer-cert PEM --issuer-key PEM]\n"
	    "\n"
	    "A local stand-in for AWS IoT's control plane (REST-JSON, SigV4-verified), for\n"
	    "tests, benchmarks and trying jitrd without an AWS account. Point the AWS CLI at\n"
	    "it with --endpoint-url http://HOST:PORT. PORT 0 picks a free port; the first line\n"
	    "printed says which.\n"
	    "\n"
	    "--data-endpoint HOST is what DescribeEndpoint answers for iot:Data-ATS (a local\n"
	    "broker's name instead of AWS's <prefix>-ats.iot.<region>.amazonaws.com).\n"
	    "--issuer-cert/--issuer-key: the CA that signs CreateKeysAndCertificate's\n"
	    "certificates in AWS's place (default: one made up at start), e.g. the CA a local\n"
	    "broker trusts for client certificates.\n"
	    "\n"
	    "Test control plane (NOT SigV4-checked; bind to loopback only):\n"
	    "  POST /_emulator/connect   body: a device certificate (PEM); acts as AWS IoT on\n"
	    "                            that device's TLS connect (JITR, registration event)\n"
	    "  GET  /_emulator/state     everything as JSON, with faults and counters\n"
	    "  POST /_emulator/reset     empty account, command-line faults\n"
	    "  GET|POST /_emulator/faults  {\"latency_ms\":N, \"error_rate\":R,\n"
	    "                            \"rate_limits\":{\"Operation\":N},\n"
	    "                            \"operation_latency_ms\":{\"Operation\":MS}}\n"
	    "                            (0 removes a limit or an operation's latency)\n");
}

/* A decimal in [min, max]; -1 otherwise. */
static int parse_long(const char *s, long min, long max, long *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

/* "HOST:PORT" into host (bounded) and port. */
static int parse_listen(const char *s, char *host, size_t host_size, uint16_t *port)
{
	const char *colon = strrchr(s, ':');
	long v;

	if (colon == NULL || (size_t)(colon - s) >= host_size || colon == s ||
	    parse_long(colon + 1, 0, 65535, &v) != 0)
		return -1;
	memcpy(host, s, (size_t)(colon - s));
	host[colon - s] = '\0';
	*port = (uint16_t)v;
	return 0;
}

/* A PEM file of at most 64 KiB into *out (malloc'd, NUL-terminated); -1, said, otherwise. */
static int read_pem_file(const char *path, char **out)
{
	enum { MAX_PEM = 65536 };
	FILE *f = fopen(path, "rb");
	char *text = NULL;
	size_t n;

	if (f == NULL || (text = malloc(MAX_PEM + 1)) == NULL) {
		fprintf(stderr, "iot-emulator: %s: %s\n", path,
		        f ? "out of memory" : strerror(errno));
		goto fail;
	}
	n = fread(text, 1, MAX_PEM + 1, f);
	if (ferror(f) || n > MAX_PEM) {
		fprintf(stderr, "iot-emulator: %s: unreadable or over 64 KiB\n", path);
		goto fail;
	}
	text[n] = '\0';
	fclose(f);
	*out = text;
	return 0;
fail:
	if (f != NULL)
		fclose(f);
	free(text);
	return -1;
}

static int random_hex(char *out, size_t hex_len)
{
	unsigned char bytes[64];

	if (hex_len / 2 > sizeof bytes || RAND_bytes(bytes, (int)(hex_len / 2)) != 1)
		return -1;
	for (size_t i = 0; i < hex_len / 2; i++) {
		out[2 * i] = "0123456789abcdef"[bytes[i] >> 4];
		out[2 * i + 1] = "0123456789abcdef"[bytes[i] & 15];
	}
	out[hex_len] = '\0';
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option options[] = {
	    {"listen", required_argument, NULL, 'l'},
	    {"region", required_argument, NULL, 'r'},
	    {"account-id", required_argument, NULL, 'a'},
	    {"access-key-id", required_argument, NULL, 'k'},
	    {"secret-access-key", required_argument, NULL, 's'},
	    {"mqtt-url", required_argument, NULL, 'm'},
	    {"latency-ms", required_argument, NULL, 'L'},
	    {"error-rate", required_argument, NULL, 'e'},
	    {"rate-limit", required_argument, NULL, 'R'},
	    {"data-endpoint", required_argument, NULL, 'D'},
	    {"issuer-cert", required_argument, NULL, 'C'},
	    {"issuer-key", required_argument, NULL, 'K'},
	    {"help", no_argument, NULL, 'h'},
	    {"version", no_argument, NULL, 'V'},
	    {NULL, 0, NULL, 0},
	};
	struct emu_config config;
	const char *listen = NULL, *mqtt_url = NULL, *rate_limits[MAX_RATE_LIMITS];
	const char *issuer_cert_file = NULL, *issuer_key_file = NULL;
	char *issuer_cert = NULL, *issuer_key = NULL;
	size_t rate_limit_count = 0;
	char host[64], code[65];
	uint16_t port = 0, bound = 0;
	struct emu *emu = NULL;
	struct emu_publisher *publisher = NULL;
	struct emu_server *server = NULL;
	struct jitrd_diag diag = {""};
	struct sigaction sa;
	sigset_t block, old;
	unsigned char seed[8];
	int status = 2, c;
	long v;
	char *end;

	memset(&config, 0, sizeof config);
	while ((c = getopt_long(argc, argv, "", options, NULL)) != -1) {
		switch (c) {
		case 'l':
			listen = optarg;
			break;
		case 'r':
			config.region = optarg;
			break;
		case 'a':
			config.account_id = optarg;
			break;
		case 'k':
			config.access_key_id = optarg;
			break;
		case 's':
			config.secret_access_key = optarg;
			break;
		case 'm':
			mqtt_url = optarg;
			break;
		case 'L':
			if (parse_long(optarg, 0, EMU_MAX_LATENCY_MS, &v) != 0) {
				fprintf(stderr, "iot-emulator: --latency-ms must be 0..%d\n",
				        EMU_MAX_LATENCY_MS);
				return 2;
			}
			config.latency_ms = (unsigned)v;
			break;
		case 'e':
			errno = 0;
			config.error_rate = strtod(optarg, &end);
			if (errno != 0 || end == optarg || *end != '\0' ||
			    !(config.error_rate >= 0.0 && config.error_rate <= 1.0)) {
				fprintf(stderr, "iot-emulator: --error-rate must be 0.0..1.0\n");
				return 2;
			}
			break;
		case 'R':
			if (rate_limit_count == MAX_RATE_LIMITS) {
				fprintf(stderr, "iot-emulator: too many --rate-limit options\n");
				return 2;
			}
			rate_limits[rate_limit_count++] = optarg;
			break;
		case 'D':
			config.data_endpoint = optarg;
			break;
		case 'C':
			issuer_cert_file = optarg;
			break;
		case 'K':
			issuer_key_file = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			printf("iot-emulator %s\n", JITRD_VERSION);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc || listen == NULL || config.region == NULL ||
	    config.account_id == NULL || config.access_key_id == NULL ||
	    config.secret_access_key == NULL) {
		usage(stderr);
		return 2;
	}
	if (parse_listen(listen, host, sizeof host, &port) != 0) {
		fprintf(stderr, "iot-emulator: --listen must be HOST:PORT\n");
		return 2;
	}
	if (random_hex(code, 64) != 0 || RAND_bytes(seed, sizeof seed) != 1) {
		fprintf(stderr, "iot-emulator: no randomness\n");
		return 1;
	}
	if ((issuer_cert_file == NULL) != (issuer_key_file == NULL)) {
		fprintf(stderr, "iot-emulator: --issuer-cert and --issuer-key go together\n");
		return 2;
	}
	if (issuer_cert_file != NULL && (read_pem_file(issuer_cert_file, &issuer_cert) != 0 ||
	                                 read_pem_file(issuer_key_file, &issuer_key) != 0)) {
		status = 2;
		goto cleanup;
	}
	config.issuer_cert_pem = issuer_cert;
	config.issuer_key_pem = issuer_key;
	config.registration_code = code;
	memcpy(&config.seed, seed, sizeof seed);
	switch (emu_new(&config, &emu)) {
	case JITRD_OK:
		break;
	case JITRD_ERR_INVALID_ARG:
		fprintf(stderr, "iot-emulator: bad --region, --account-id (12 digits), "
		                "--access-key-id, --secret-access-key, --data-endpoint, or an "
		                "--issuer-cert and --issuer-key that are not a pair\n");
		goto cleanup;
	default:
		fprintf(stderr, "iot-emulator: could not start (out of memory or OpenSSL)\n");
		status = 1;
		goto cleanup;
	}
	for (size_t i = 0; i < rate_limit_count; i++) {
		if (emu_set_rate_limit(emu, rate_limits[i], &diag) != JITRD_OK) {
			fprintf(stderr, "iot-emulator: --rate-limit %s: %s\n", rate_limits[i],
			        diag.text);
			goto cleanup;
		}
	}

	/* Signals go to this thread only: block them before any thread starts, then wait. */
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_stop;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&block);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGINT);
	pthread_sigmask(SIG_BLOCK, &block, &old);

	status = 1;
	if (mqtt_url != NULL) {
		diag.text[0] = '\0';
		if (emu_publisher_new(mqtt_url, 3000, &publisher, &diag) != JITRD_OK) {
			fprintf(stderr, "iot-emulator: %s\n", diag.text);
			goto cleanup;
		}
		if (diag.text[0] != '\0')
			fprintf(stderr, "iot-emulator: %s\n", diag.text);
	}
	if (emu_server_start(host, port, emu, publisher, &server, &bound, &diag) != JITRD_OK) {
		fprintf(stderr, "iot-emulator: %s\n", diag.text);
		goto cleanup;
	}
	printf("iot-emulator listening on http://%s:%u\n", host, (unsigned)bound);
	fflush(stdout);
	while (!stop_requested)
		sigsuspend(&old);
	fprintf(stderr, "iot-emulator: stopping\n");
	status = 0;
cleanup:
	emu_server_stop(server);
	emu_publisher_free(publisher);
	emu_free(emu);
	free(issuer_cert);
	if (issuer_key != NULL)
		OPENSSL_cleanse(issuer_key, strlen(issuer_key));
	free(issuer_key);
	OPENSSL_cleanse(code, sizeof code);
	return status;
}
