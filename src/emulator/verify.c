/* verify.c — SigV4 verification for the emulator: parse the Authorization header, rebuild the
 * canonical request from the request as received with the sigv4 module, compare signatures in
 * constant time. Pure; never puts the secret or a derived key into a message. */
#include "verify.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>

#include "jitrd/text.h"

#define AUTH_MAX 2048

static enum jitrd_err refuse(struct emu_api_error *err, const char *code, const char *message)
{
	emu_api_error_set(err, 403, code, "%s", message);
	return JITRD_ERR_SIGNATURE;
}

static const char *header_value(const struct emu_http_request *req, const char *name)
{
	for (size_t i = 0; i < req->header_count; i++)
		if (strcasecmp(req->headers[i].name, name) == 0)
			return req->headers[i].value != NULL ? req->headers[i].value : "";
	return NULL;
}

/* The parts of "AWS4-HMAC-SHA256 Credential=..., SignedHeaders=..., Signature=...", pointing
 * into a copy of the header. */
struct authorization {
	char text[AUTH_MAX];
	char *credential;
	char *signed_headers;
	char *signature;
};

static int parse_authorization(const char *header, struct authorization *auth)
{
	static const char algorithm[] = "AWS4-HMAC-SHA256 ";
	char *at, *next;

	if (strlen(header) >= sizeof auth->text ||
	    strncmp(header, algorithm, sizeof algorithm - 1) != 0)
		return -1;
	snprintf(auth->text, sizeof auth->text, "%s", header + sizeof algorithm - 1);
	auth->credential = auth->signed_headers = auth->signature = NULL;
	for (at = auth->text; at != NULL; at = next) {
		char *eq;

		next = strchr(at, ',');
		if (next != NULL)
			*next++ = '\0';
		while (*at == ' ')
			at++;
		eq = strchr(at, '=');
		if (eq == NULL)
			return -1;
		*eq = '\0';
		if (strcmp(at, "Credential") == 0 && auth->credential == NULL)
			auth->credential = eq + 1;
		else if (strcmp(at, "SignedHeaders") == 0 && auth->signed_headers == NULL)
			auth->signed_headers = eq + 1;
		else if (strcmp(at, "Signature") == 0 && auth->signature == NULL)
			auth->signature = eq + 1;
		else
			return -1;
	}
	if (auth->credential == NULL || auth->signed_headers == NULL || auth->signature == NULL)
		return -1;
	return 0;
}

/* Splits "ID/YYYYMMDD/REGION/SERVICE/aws4_request" in place. */
static int split_credential(char *credential, char *parts[5])
{
	char *at = credential;

	for (int i = 0; i < 5; i++) {
		char *slash = strchr(at, '/');

		parts[i] = at;
		if (i < 4) {
			if (slash == NULL)
				return -1;
			*slash = '\0';
			at = slash + 1;
		} else if (slash != NULL) {
			return -1;
		}
	}
	return strcmp(parts[4], "aws4_request") == 0 ? 0 : -1;
}

/* A SigV4 signature: 64 hex digits (the one check of core/text) and lowercase, as signers
 * write it (lowercasing it changes nothing). */
static bool is_signature_hex(const char *s)
{
	char lower[JITRD_ID_HEX_LEN + 1];

	return jitrd_is_hex_id(s) && jitrd_hex_lower_copy(s, JITRD_ID_HEX_LEN, lower) &&
	       strcmp(lower, s) == 0;
}

/* Collects the signed headers' values from the request: each listed name must be present;
 * repeated headers are joined with ',' (as the signer saw them). joined[] holds what was
 * allocated for that. */
static enum jitrd_err collect_signed(const struct emu_http_request *req, char *names,
                                     struct jitrd_sigv4_header *out, char **joined, size_t *count,
                                     int *has_host)
{
	size_t n = 0;

	*has_host = 0;
	for (char *name = names, *next; name != NULL; name = next) {
		size_t found = 0, len = 0;
		const char *first = NULL;

		next = strchr(name, ';');
		if (next != NULL)
			*next++ = '\0';
		if (name[0] == '\0' || n == JITRD_SIGV4_MAX_HEADERS)
			return JITRD_ERR_INVALID_ARG;
		for (size_t i = 0; i < req->header_count; i++) {
			if (strcasecmp(req->headers[i].name, name) != 0)
				continue;
			if (found++ == 0)
				first = req->headers[i].value != NULL ? req->headers[i].value : "";
			len +=
			    strlen(req->headers[i].value != NULL ? req->headers[i].value : "") + 1;
		}
		if (found == 0)
			return JITRD_ERR_INVALID_ARG;
		if (strcmp(name, "host") == 0)
			*has_host = 1;
		out[n].name = name;
		out[n].value = first;
		if (found > 1) {
			char *all = malloc(len), *w = all;

			if (all == NULL)
				return JITRD_ERR_NOMEM;
			for (size_t i = 0; i < req->header_count; i++) {
				const char *v = req->headers[i].value;
				size_t vl;

				if (strcasecmp(req->headers[i].name, name) != 0)
					continue;
				v = v != NULL ? v : "";
				vl = strlen(v);
				if (w != all)
					*w++ = ',';
				memcpy(w, v, vl);
				w += vl;
			}
			*w = '\0';
			joined[n] = all;
			out[n].value = all;
		}
		n++;
	}
	*count = n;
	return JITRD_OK;
}

static void skew_message(char *out, size_t size, const char *amz_date, time_t when, time_t now)
{
	char now_text[17] = "", edge[17] = "";
	int late = when < now;

	if (jitrd_sigv4_amz_date(now, now_text) != 0 ||
	    jitrd_sigv4_amz_date(late ? now - EMU_SIGV4_MAX_SKEW : now + EMU_SIGV4_MAX_SKEW,
	                         edge) != 0) {
		snprintf(out, size, "Signature expired");
		return;
	}
	/* The wording AWS uses, which botocore's clock-skew handling recognises. */
	if (late)
		snprintf(out, size, "Signature expired: %s is now earlier than %s (%s - 5 min.)",
		         amz_date, edge, now_text);
	else
		snprintf(out, size,
		         "Signature not yet current: %s is still later than %s (%s + 5 min.)",
		         amz_date, edge, now_text);
}

enum jitrd_err emu_sigv4_verify(const struct emu_sigv4_key *key, const struct emu_http_request *req,
                                time_t now, struct emu_api_error *err)
{
	enum jitrd_err result;
	struct authorization auth;
	struct jitrd_sigv4_header signed_headers[JITRD_SIGV4_MAX_HEADERS];
	char *joined[JITRD_SIGV4_MAX_HEADERS] = {NULL};
	char *parts[5];
	char *canonical = NULL, *names = NULL, *string_to_sign = NULL;
	char expected[65], message[160];
	const char *header, *amz_date;
	size_t count = 0;
	time_t when;
	int has_host;

	header = header_value(req, "authorization");
	if (header == NULL)
		return refuse(err, "MissingAuthenticationTokenException",
		              "Missing Authentication Token");
	if (parse_authorization(header, &auth) != 0)
		return refuse(err, "IncompleteSignatureException",
		              "Authorization header requires 'Credential', 'Signature' and "
		              "'SignedHeaders' parameters of AWS4-HMAC-SHA256");
	if (split_credential(auth.credential, parts) != 0)
		return refuse(err, "IncompleteSignatureException",
		              "Credential must have the form ID/DATE/REGION/SERVICE/aws4_request");
	if (strcmp(parts[0], key->access_key_id) != 0)
		return refuse(err, "UnrecognizedClientException",
		              "The security token included in the request is invalid.");
	amz_date = header_value(req, "x-amz-date");
	if (amz_date == NULL || jitrd_sigv4_parse_amz_date(amz_date, &when) != 0)
		return refuse(err, "IncompleteSignatureException",
		              "The request must carry a valid X-Amz-Date header");
	if (strlen(parts[1]) != 8 || strncmp(parts[1], amz_date, 8) != 0)
		return refuse(err, "InvalidSignatureException",
		              "Date in Credential scope does not match YYYYMMDD from ISO-8601 "
		              "version of date from HTTP");
	if (when < now - EMU_SIGV4_MAX_SKEW || when > now + EMU_SIGV4_MAX_SKEW) {
		skew_message(message, sizeof message, amz_date, when, now);
		return refuse(err, "InvalidSignatureException", message);
	}
	if (strcmp(parts[2], key->region) != 0)
		return refuse(err, "InvalidSignatureException",
		              "Credential should be scoped to a valid region.");
	/* The v1 CLI signs as "iot", the v2 CLI and the service model as "execute-api". */
	if (strcmp(parts[3], "iot") != 0 && strcmp(parts[3], "execute-api") != 0)
		return refuse(err, "InvalidSignatureException",
		              "Credential should be scoped to correct service: 'execute-api'.");
	if (!is_signature_hex(auth.signature))
		return refuse(err, "IncompleteSignatureException",
		              "Signature must be 64 lowercase hex digits");

	result =
	    collect_signed(req, auth.signed_headers, signed_headers, joined, &count, &has_host);
	if (result == JITRD_ERR_NOMEM)
		goto cleanup;
	if (result != JITRD_OK || !has_host) {
		result = refuse(err, "InvalidSignatureException",
		                "SignedHeaders must name host and only headers the request "
		                "carries");
		goto cleanup;
	}
	{
		struct jitrd_sigv4_request creq = {
		    .method = req->method,
		    .path = req->path,
		    .query = req->query,
		    .headers = signed_headers,
		    .header_count = count,
		    .payload = req->body,
		    .payload_len = req->body_len,
		    .normalize_path = 1,
		};
		struct jitrd_sigv4_credentials creds = {key->access_key_id, key->secret_access_key,
		                                        NULL};
		struct jitrd_sigv4_scope scope = {parts[2], parts[3], when};

		result = jitrd_sigv4_canonical_request(&creq, NULL, 0, &canonical, &names);
		if (result == JITRD_OK)
			result = jitrd_sigv4_string_to_sign(canonical, &scope, &string_to_sign);
		if (result == JITRD_OK)
			result = jitrd_sigv4_signature(string_to_sign, &creds, &scope, expected);
	}
	if (result == JITRD_ERR_NOMEM)
		goto cleanup;
	if (result != JITRD_OK || CRYPTO_memcmp(expected, auth.signature, 64) != 0) {
		result =
		    refuse(err, "InvalidSignatureException",
		           "The request signature we calculated does not match the signature "
		           "you provided. Check your AWS Secret Access Key and signing method. "
		           "Consult the service documentation for details.");
		goto cleanup;
	}
	result = JITRD_OK;
cleanup:
	OPENSSL_cleanse(expected, sizeof expected);
	for (size_t i = 0; i < JITRD_SIGV4_MAX_HEADERS; i++)
		free(joined[i]);
	free(canonical);
	free(names);
	free(string_to_sign);
	return result;
}
