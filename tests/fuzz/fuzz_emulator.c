/* fuzz_emulator.c — libFuzzer target for iot-emulator's request handling (src/emulator,
 * emu_handle: the function the HTTP server calls with each request). The input is a sequence
 * of HTTP/1.1 requests as on the wire (request line, header lines, a blank line, a body of
 * Content-Length bytes), run in order against one fresh emulator, so a register, connect,
 * describe sequence reaches deep states. A request without an Authorization header is signed
 * here with the emulator's own key (so paths, queries and bodies reach the operations); one
 * with it is passed as is (so the Authorization parser and verifier meet hostile headers).
 * Invariants: every answer is an HTTP status with a JSON object body, an error carries its
 * error type, a published event is JSON. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <json-c/json.h>

#include "jitrd/sigv4.h"
#include "routes.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_REQUESTS 16
#define MAX_HEADERS  40
#define NOW          ((time_t)1906502400) /* the fixtures' judging time */
#define KEY_ID       "AKIDFUZZ"
#define SECRET       "fuzz/secret+key"

struct wire_request {
	char method[17];
	char *target; /* path?query, NUL-terminated, owned */
	struct jitrd_sigv4_header headers[MAX_HEADERS + 3];
	char *header_text[MAX_HEADERS]; /* owned "name\0value" */
	size_t header_count;
	unsigned char *body; /* NUL-terminated copy, owned */
	size_t body_len;
	int has_authorization;
	int has_host;
};

static void wire_free(struct wire_request *w)
{
	free(w->target);
	for (size_t i = 0; i < MAX_HEADERS; i++)
		free(w->header_text[i]);
	free(w->body);
	memset(w, 0, sizeof(*w));
}

/* One line of at most max bytes (without CR LF) from *at; NULL at the end of the input. */
static char *take_line(const uint8_t **at, const uint8_t *end)
{
	const uint8_t *start = *at, *nl = memchr(start, '\n', (size_t)(end - start));
	size_t n = nl ? (size_t)(nl - start) : (size_t)(end - start);
	char *line;

	if (start >= end)
		return NULL;
	*at = nl ? nl + 1 : end;
	if (n > 0 && start[n - 1] == '\r')
		n--;
	line = malloc(n + 1);
	if (line) {
		memcpy(line, start, n);
		line[n] = '\0';
	}
	return line;
}

/* 0 with *w filled; -1 at the end of the input or when memory ran out. */
static int read_request(const uint8_t **at, const uint8_t *end, struct wire_request *w)
{
	char *line = take_line(at, end), *sp, *sp2;
	size_t content_length = 0;

	memset(w, 0, sizeof(*w));
	if (!line)
		return -1;
	sp = strchr(line, ' ');
	if (!sp || (size_t)(sp - line) >= sizeof(w->method)) {
		free(line);
		return -1;
	}
	memcpy(w->method, line, (size_t)(sp - line));
	sp2 = strchr(sp + 1, ' '); /* " HTTP/1.1" */
	if (sp2)
		*sp2 = '\0';
	w->target = strdup(sp + 1);
	free(line);
	if (!w->target)
		return -1;
	while ((line = take_line(at, end)) != NULL && line[0] != '\0') {
		char *colon = strchr(line, ':'), *value;

		if (!colon || w->header_count == MAX_HEADERS) {
			free(line);
			continue;
		}
		*colon = '\0';
		value = colon + 1;
		while (*value == ' ' || *value == '\t')
			value++;
		if (strcasecmp(line, "content-length") == 0)
			content_length = strtoul(value, NULL, 10);
		if (strcasecmp(line, "authorization") == 0)
			w->has_authorization = 1;
		if (strcasecmp(line, "host") == 0)
			w->has_host = 1;
		w->headers[w->header_count].name = line;
		w->headers[w->header_count].value = value;
		w->header_text[w->header_count++] = line;
	}
	free(line);
	if (content_length > (size_t)(end - *at))
		content_length = (size_t)(end - *at);
	w->body = malloc(content_length + 1);
	if (!w->body)
		return -1;
	memcpy(w->body, *at, content_length);
	w->body[content_length] = '\0';
	w->body_len = content_length;
	*at += content_length;
	return 0;
}

static void check_response(const struct emu_response *res)
{
	const char *text;

	if (res->status < 200 || res->status > 599 || !res->body ||
	    !json_object_is_type(res->body, json_type_object))
		abort();
	if (strnlen(res->error_type, sizeof(res->error_type)) == sizeof(res->error_type))
		abort();
	if ((res->status >= 400) != (res->error_type[0] != '\0'))
		abort(); /* an error answer names its type, a success none */
	text = json_object_to_json_string_ext(res->body, JSON_C_TO_STRING_PLAIN);
	if (!text)
		abort();
	if (res->event.topic) {
		struct json_object *event = json_tokener_parse(res->event.payload);

		if (!event || !json_object_is_type(event, json_type_object))
			abort();
		json_object_put(event);
	}
}

static void run(struct emu *emu, struct wire_request *w)
{
	struct jitrd_sigv4_result signed_req = {0};
	struct emu_http_request req = {0};
	struct emu_response res;
	char *query = strchr(w->target, '?');
	size_t n = w->header_count;

	if (query)
		*query++ = '\0';
	if (!w->has_host)
		w->headers[n++] =
		    (struct jitrd_sigv4_header){"host", "iot.us-east-1.amazonaws.com"};
	if (!w->has_authorization) {
		struct jitrd_sigv4_request sreq = {
		    .method = w->method,
		    .path = w->target,
		    .query = query,
		    .headers = w->headers,
		    .header_count = n,
		    .payload = w->body,
		    .payload_len = w->body_len,
		    .normalize_path = 1,
		};
		struct jitrd_sigv4_credentials creds = {KEY_ID, SECRET, NULL};
		struct jitrd_sigv4_scope scope = {"us-east-1", "iot", NOW};

		/* unsignable (a header the signer refuses): sent unsigned */
		if (jitrd_sigv4_sign(&sreq, &creds, &scope, &signed_req) == JITRD_OK) {
			w->headers[n++] =
			    (struct jitrd_sigv4_header){"X-Amz-Date", signed_req.amz_date};
			w->headers[n++] =
			    (struct jitrd_sigv4_header){"Authorization", signed_req.authorization};
		}
	}
	req.method = w->method;
	req.path = w->target;
	req.query = query;
	req.headers = w->headers;
	req.header_count = n;
	req.body = w->body;
	req.body_len = w->body_len;
	memset(&res, 0, sizeof(res));
	if (emu_handle(emu, &req, (int64_t)NOW * 1000, &res) == JITRD_OK) {
		check_response(&res);
		/* JITRD_FUZZ_VERBOSE=1: what each request got, to see how deep a seed reaches */
		if (getenv("JITRD_FUZZ_VERBOSE"))
			fprintf(stderr, "%s %s -> %d %s\n", w->method, w->target, res.status,
			        res.error_type);
		emu_response_cleanup(&res);
	}
	jitrd_sigv4_result_cleanup(&signed_req);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct emu_config config = {
	    .region = "us-east-1",
	    .account_id = "123456789012",
	    .access_key_id = KEY_ID,
	    .secret_access_key = SECRET,
	    .registration_code = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff",
	    .seed = 1,
	};
	struct emu *emu = NULL;
	const uint8_t *at = data, *end = data + size;

	if (emu_new(&config, &emu) != JITRD_OK)
		return 0;
	for (int i = 0; i < MAX_REQUESTS; i++) {
		struct wire_request w;

		if (read_request(&at, end, &w) != 0) {
			wire_free(&w);
			break;
		}
		run(emu, &w);
		wire_free(&w);
	}
	emu_free(emu);
	return 0;
}
