/* fuzz_credentials.c — libFuzzer target for the credential documents jitrd reads
 * (src/aws/credentials.c through credentials_parse.h): the same bytes as an STS
 * AssumeRoleWithWebIdentity JSON answer, a container endpoint answer, an IMDS role document,
 * IMDS's role listing, and a shared credentials/config file for three sections. Invariants:
 * accepted credentials are within their bounds, NUL-terminated, [A-Za-z0-9._-] key ids and
 * printable secrets equal to what the document holds; no message ever quotes the secret.
 * An input starting "#values\n" gives three lines (key id, secret, token) that are written
 * into a credentials file: what the parser returns must be those values. */
#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "credentials_parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_credentials(const struct jitrd_credentials *c)
{
	size_t n = strnlen(c->access_key_id, sizeof(c->access_key_id));

	if (n == 0 || n == sizeof(c->access_key_id))
		abort();
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)c->access_key_id[i]) &&
		    !strchr("._-", c->access_key_id[i]))
			abort();
	n = strnlen(c->secret_access_key, sizeof(c->secret_access_key));
	if (n == 0 || n == sizeof(c->secret_access_key))
		abort();
	for (size_t i = 0; i < n; i++)
		if (c->secret_access_key[i] < 0x21 || c->secret_access_key[i] > 0x7e)
			abort();
	n = strnlen(c->session_token, sizeof(c->session_token));
	if (n == sizeof(c->session_token))
		abort();
	for (size_t i = 0; i < n; i++)
		if (c->session_token[i] < 0x21 || c->session_token[i] > 0x7e)
			abort();
}

/* The message of a refusal is NUL-terminated and never holds the secret (when it is long
 * enough to be recognised). */
static void check_diag(const struct jitrd_diag *diag, const char *secret)
{
	if (strnlen(diag->text, sizeof(diag->text)) == sizeof(diag->text))
		abort();
	if (secret && strlen(secret) >= 8 && strstr(diag->text, secret))
		abort();
}

static const char *member(struct json_object *obj, const char *key)
{
	struct json_object *v;

	if (!obj || !json_object_object_get_ex(obj, key, &v) ||
	    !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

static void check_document(enum jitrd_credentials_source source, const char *text, size_t len)
{
	struct jitrd_credentials c;
	struct jitrd_diag diag = {{0}};
	struct json_object *root = json_tokener_parse(text), *creds = root;
	const char *secret;

	if (source == JITRD_CREDENTIALS_WEB_IDENTITY) {
		creds = json_object_object_get(root, "AssumeRoleWithWebIdentityResponse");
		creds = json_object_object_get(creds, "AssumeRoleWithWebIdentityResult");
		creds = json_object_object_get(creds, "Credentials");
	}
	secret = member(creds, "SecretAccessKey");
	memset(&c, 0x5a, sizeof(c));
	if (jitrd_credentials_from_document(source, text, len, &c, &diag) == JITRD_OK) {
		check_credentials(&c);
		/* what was read is what the document says */
		if (!secret || strcmp(secret, c.secret_access_key) != 0 ||
		    !member(creds, "AccessKeyId") ||
		    strcmp(member(creds, "AccessKeyId"), c.access_key_id) != 0)
			abort();
	} else {
		check_diag(&diag, secret);
	}
	jitrd_credentials_cleanse(&c);
	json_object_put(root);
}

static void check_profiles(const char *text, size_t len)
{
	static const char *const sections[] = {"default", "dev", "profile dev"};

	for (size_t i = 0; i < sizeof(sections) / sizeof(sections[0]); i++) {
		struct jitrd_credentials c;
		struct jitrd_diag diag = {{0}};
		int found = -1;

		if (jitrd_credentials_from_profile_text(text, len, sections[i], &c, &found,
		                                        &diag) == JITRD_OK) {
			if (found != 1)
				abort();
			check_credentials(&c);
			jitrd_credentials_cleanse(&c);
		} else {
			check_diag(&diag, NULL);
		}
	}
}

/* "#values\nKEY\nSECRET\nTOKEN": those values written into a file must be read back. */
static void check_values(const char *text)
{
	char key[300], secret[300], token[9000];
	const char *at = text + 8;
	char *values[3] = {key, secret, token};
	size_t sizes[3] = {sizeof(key), sizeof(secret), sizeof(token)};
	char *file;
	struct jitrd_credentials c;
	struct jitrd_diag diag = {{0}};
	int found = 0;
	size_t need;

	for (int i = 0; i < 3; i++) {
		size_t n = strcspn(at, "\n");

		if (n >= sizes[i])
			return;
		memcpy(values[i], at, n);
		values[i][n] = '\0';
		at += n + (at[n] == '\n');
		/* only values that a credentials file can hold verbatim: printable, no comment
		 * characters or brackets, no surrounding space (the parser trims it) */
		for (size_t k = 0; k < n; k++)
			if (values[i][k] < 0x21 || values[i][k] > 0x7e ||
			    strchr(";#[]=", values[i][k]))
				return;
	}
	need = strlen(key) + strlen(secret) + strlen(token) + 128;
	file = malloc(need);
	if (!file)
		return;
	snprintf(file, need,
	         "[default]\naws_access_key_id = %s\naws_secret_access_key = %s\n"
	         "aws_session_token = %s\n",
	         key, secret, token);
	if (jitrd_credentials_from_profile_text(file, strlen(file), "default", &c, &found, &diag) ==
	    JITRD_OK) {
		if (strcmp(c.access_key_id, key) || strcmp(c.secret_access_key, secret) ||
		    strcmp(c.session_token, token))
			abort();
		jitrd_credentials_cleanse(&c);
	} else {
		/* refused: only for values outside the bounds or character sets */
		int key_ok = key[0] && strlen(key) <= JITRD_CREDENTIALS_MAX_KEY;

		for (size_t k = 0; key[k]; k++)
			if (!isalnum((unsigned char)key[k]) && !strchr("._-", key[k]))
				key_ok = 0;
		if (key_ok && secret[0] && strlen(secret) <= JITRD_CREDENTIALS_MAX_KEY &&
		    strlen(token) <= JITRD_CREDENTIALS_MAX_TOKEN)
			abort();
		check_diag(&diag, secret);
	}
	free(file);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1);
	char role[256];
	struct jitrd_diag diag = {{0}};

	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	if (size >= 8 && memcmp(text, "#values\n", 8) == 0) {
		check_values(text);
	} else {
		check_document(JITRD_CREDENTIALS_WEB_IDENTITY, text, size);
		check_document(JITRD_CREDENTIALS_CONTAINER, text, size);
		check_document(JITRD_CREDENTIALS_IMDS, text, size);
		if (jitrd_credentials_imds_role(text, role, sizeof(role), &diag) == JITRD_OK &&
		    (strlen(role) == 0 || strncmp(role, text, strlen(role)) != 0))
			abort();
		check_profiles(text, size);
	}
	free(text);
	return 0;
}
