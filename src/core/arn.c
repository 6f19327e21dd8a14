/* arn.c — AWS IoT certificate ARNs parsed strictly (see arn.h). Pure: no I/O, no clock. */
#include "jitrd/arn.h"

#include <string.h>

#include "jitrd/text.h"

#define ACCOUNT_LEN 12

static bool in_range(char c, char lo, char hi)
{
	return c >= lo && c <= hi;
}

/* Lowercase letters, digits and dashes; empty allowed only when may_be_empty. */
static bool is_word(struct jitrd_arn_field f, bool may_be_empty)
{
	if (f.len == 0)
		return may_be_empty;
	for (size_t i = 0; i < f.len; i++) {
		char c = f.at[i];
		if (!in_range(c, 'a', 'z') && !in_range(c, '0', '9') && c != '-')
			return false;
	}
	return true;
}

static bool is_digits(struct jitrd_arn_field f, size_t len)
{
	if (f.len != len)
		return false;
	for (size_t i = 0; i < f.len; i++) {
		if (!in_range(f.at[i], '0', '9'))
			return false;
	}
	return true;
}

static bool equals(struct jitrd_arn_field f, const char *text)
{
	size_t n = strlen(text);

	return f.len == n && memcmp(f.at, text, n) == 0;
}

/* "aws", or "aws-" and lowercase letters and dashes: aws-cn, aws-us-gov, aws-iso-b. */
static bool is_partition(struct jitrd_arn_field f)
{
	if (f.len < 3 || memcmp(f.at, "aws", 3) != 0)
		return false;
	if (f.len == 3)
		return true;
	if (f.at[3] != '-' || f.len == 4)
		return false;
	for (size_t i = 4; i < f.len; i++) {
		if (!in_range(f.at[i], 'a', 'z') && f.at[i] != '-')
			return false;
	}
	return true;
}

enum jitrd_err jitrd_arn_parse(const char *text, size_t len, struct jitrd_arn *out)
{
	struct jitrd_arn_field fields[6];
	size_t start = 0, n = 0;

	if (!text || !out)
		return JITRD_ERR_INVALID_ARG;
	if (len > JITRD_ARN_MAX)
		return JITRD_ERR_TOO_LARGE;
	for (size_t i = 0; i < len; i++) {
		/* printable ASCII only: no NUL, no control byte, no UTF-8 look-alike */
		if (!in_range(text[i], 0x20, 0x7e))
			return JITRD_ERR_MALFORMED;
	}
	/* The first five colons end the first five fields; the resource keeps any later ones. */
	for (size_t i = 0; i < len && n < 5; i++) {
		if (text[i] != ':')
			continue;
		fields[n].at = text + start;
		fields[n].len = i - start;
		n++;
		start = i + 1;
	}
	if (n != 5)
		return JITRD_ERR_MALFORMED;
	fields[5].at = text + start;
	fields[5].len = len - start;
	if (!equals(fields[0], "arn") || !is_partition(fields[1]) || !is_word(fields[2], false) ||
	    !is_word(fields[3], true) ||
	    (fields[4].len != 0 && !is_digits(fields[4], ACCOUNT_LEN)) || fields[5].len == 0)
		return JITRD_ERR_MALFORMED;
	out->partition = fields[1];
	out->service = fields[2];
	out->region = fields[3];
	out->account = fields[4];
	out->resource = fields[5];
	return JITRD_OK;
}

bool jitrd_arn_certificate_id(const char *arn, char out[65])
{
	static const char prefix[] = "cert/";
	const size_t prefix_len = sizeof(prefix) - 1;
	struct jitrd_arn parsed;
	const char *id;

	if (!arn || jitrd_arn_parse(arn, strlen(arn), &parsed) != JITRD_OK)
		return false;
	if (!equals(parsed.service, "iot") || parsed.region.len == 0 ||
	    !is_digits(parsed.account, ACCOUNT_LEN) ||
	    parsed.resource.len != prefix_len + JITRD_ID_HEX_LEN ||
	    memcmp(parsed.resource.at, prefix, prefix_len) != 0)
		return false;
	id = parsed.resource.at + prefix_len;
	/* the resource ends the text: the id is NUL-terminated right after its 64 digits */
	if (!jitrd_is_hex_id(id))
		return false;
	if (out) {
		memcpy(out, id, JITRD_ID_HEX_LEN);
		out[JITRD_ID_HEX_LEN] = '\0';
	}
	return true;
}

bool jitrd_arn_names_certificate(const char *arn, const char *certificate_id)
{
	char id[JITRD_ID_HEX_LEN + 1];

	return certificate_id && jitrd_arn_certificate_id(arn, id) &&
	       strcmp(id, certificate_id) == 0;
}

void jitrd_arn_account(const char *arn, const char *fallback, char out[13])
{
	struct jitrd_arn parsed;

	if (arn && jitrd_arn_parse(arn, strlen(arn), &parsed) == JITRD_OK &&
	    is_digits(parsed.account, ACCOUNT_LEN)) {
		memcpy(out, parsed.account.at, ACCOUNT_LEN);
		out[ACCOUNT_LEN] = '\0';
		return;
	}
	jitrd_text_copy(out, 13, fallback ? fallback : "");
}
