/* fuzz_iot_response.c — libFuzzer target for the IoT client's reading of AWS's answers
 * (src/aws/iot_operations.c and iot_transport.c through iot_client_parse.h): an HTTP response
 * as received ("HTTP/1.1 NNN ...", header lines, a blank line, the body) or a bare body (then
 * read as a 200 and as a 400). A 2xx body goes through every reader (DescribeCertificate,
 * GetPolicy, ListPolicyVersions, DescribeThing, RegisterCertificate, ListCertificatesByCA's entries
 * and nextMarker); an error answer through the error code and message reading. Invariants: outputs
 * bounded and NUL-terminated, ids 64 hex, statuses known, a read value equal to the member it
 * came from, error text printable. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "awshttp.h"
#include "iot_client_parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_text(const char *s, size_t size)
{
	if (strnlen(s, size) == size)
		abort();
}

static void check_printable(const char *s, size_t size)
{
	size_t n = strnlen(s, size);

	if (n == size)
		abort();
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			abort();
}

static void check_hex64(const char *s, int empty_ok)
{
	size_t n = strnlen(s, 65);

	if (n == 0 && empty_ok)
		return;
	if (n != 64)
		abort();
	for (size_t i = 0; i < 64; i++)
		if (!strchr("0123456789abcdefABCDEF", s[i]))
			abort();
}

/* A read string equals the JSON member it came from ("" when absent or null). */
static void check_member(struct json_object *obj, const char *key, const char *read)
{
	struct json_object *v;

	if (!json_object_object_get_ex(obj, key, &v) || json_object_is_type(v, json_type_null)) {
		if (read[0])
			abort();
		return;
	}
	if (!json_object_is_type(v, json_type_string) || strcmp(json_object_get_string(v), read))
		abort();
}

static void check_status(enum jitrd_iot_status status)
{
	if (status == JITRD_IOT_STATUS_NONE || !jitrd_iot_status_name(status)[0])
		abort();
}

/* DescribeThing's attributes: jitrd's marker and the first attribute the answer names. A
 * present value is the member's string, within its bound; an absent one is "". */
static void check_attributes(struct json_object *json)
{
	struct json_object *attributes = json_object_object_get(json, "attributes");
	const char *names[2] = {"jitrd_ca", NULL};

	if (json_object_is_type(attributes, json_type_object)) {
		struct json_object_iterator it = json_object_iter_begin(attributes);
		struct json_object_iterator end = json_object_iter_end(attributes);

		if (!json_object_iter_equal(&it, &end))
			names[1] = json_object_iter_peek_name(&it);
	}
	for (int i = 0; i < 2 && names[i]; i++) {
		char value[JITRD_IOT_MAX_ATTRIBUTE_VALUE + 1];
		struct jitrd_diag diag = {{0}};
		int present = -1;

		if (jitrd_iot_read_thing_attribute(json, names[i], value, &present, &diag) !=
		    JITRD_OK) {
			if (present != -1)
				abort(); /* written on failure */
			continue;
		}
		check_text(value, sizeof(value));
		if (present)
			check_member(attributes, names[i], value);
		else if (value[0] || present != 0)
			abort();
	}
}

static void read_success(struct json_tokener *tok, const char *body, size_t len)
{
	struct json_object *json = jitrd_iot_parse_json(tok, body, len);
	struct jitrd_diag diag = {{0}};
	struct jitrd_iot_certificate cert;
	struct jitrd_iot_policy policy;
	struct jitrd_iot_thing thing;
	struct jitrd_iot_registered reg;
	struct json_object *list, *d;
	char marker[1024] = "";
	int more = 0;

	/* "{}" is read as an object without members */
	if (jitrd_iot_is_empty_object(body, len) &&
	    (!json || !json_object_is_type(json, json_type_object) ||
	     json_object_object_length(json) != 0))
		abort();
	memset(&cert, 0, sizeof(cert));
	if (jitrd_iot_read_certificate(json, &cert, &diag) == JITRD_OK) {
		d = json_object_object_get(json, "certificateDescription");
		check_hex64(cert.certificate_id, 0);
		check_hex64(cert.ca_certificate_id, 1);
		check_status(cert.status);
		check_text(cert.certificate_arn, sizeof(cert.certificate_arn));
		check_text(cert.owned_by, sizeof(cert.owned_by));
		check_member(d, "certificateId", cert.certificate_id);
		check_member(d, "certificateArn", cert.certificate_arn);
		if (!cert.certificate_pem || strlen(cert.certificate_pem) > JITRD_IOT_MAX_PEM)
			abort();
		check_member(d, "certificatePem", cert.certificate_pem);
		jitrd_iot_certificate_cleanup(&cert);
	} else if (cert.certificate_pem || cert.certificate_id[0]) {
		abort(); /* written on failure */
	}
	check_text(diag.text, sizeof(diag.text));
	memset(&policy, 0, sizeof(policy));
	if (jitrd_iot_read_policy(json, &policy, &diag) == JITRD_OK) {
		check_text(policy.policy_name, sizeof(policy.policy_name));
		check_member(json, "policyName", policy.policy_name);
		if (!policy.policy_name[0] || !policy.policy_document ||
		    strlen(policy.policy_document) > JITRD_IOT_MAX_POLICY)
			abort();
		jitrd_iot_policy_cleanup(&policy);
	} else if (policy.policy_document) {
		abort();
	}
	{
		/* ListPolicyVersions: within the bound, ids [0-9]+, one default at most */
		struct jitrd_iot_policy_versions list;
		int defaults = 0;

		if (jitrd_iot_read_policy_versions(json, &list, &diag) == JITRD_OK) {
			if (list.count > JITRD_IOT_MAX_POLICY_VERSIONS)
				abort();
			for (size_t i = 0; i < list.count; i++) {
				const char *id = list.versions[i].version_id;
				if (!id[0] || strspn(id, "0123456789") != strlen(id))
					abort();
				defaults += list.versions[i].is_default;
			}
			if (defaults > 1)
				abort();
		}
		check_text(diag.text, sizeof(diag.text));
	}
	if (jitrd_iot_read_thing(json, &thing, &diag) == JITRD_OK) {
		check_text(thing.thing_name, sizeof(thing.thing_name));
		check_text(thing.thing_arn, sizeof(thing.thing_arn));
		check_text(thing.thing_id, sizeof(thing.thing_id));
		check_member(json, "thingName", thing.thing_name);
		/* AWS's ThingName: [a-zA-Z0-9:_-]{1,128} */
		if (!thing.thing_name[0] || thing.version < 0 ||
		    strspn(thing.thing_name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
		                             "0123456789:_-") != strlen(thing.thing_name))
			abort();
		check_attributes(json);
	}
	if (json && json_object_object_get_ex(json, "principals", &list) &&
	    json_object_is_type(list, json_type_array)) {
		for (size_t i = 0; i < json_object_array_length(list); i++) {
			struct json_object *e = json_object_array_get_idx(list, i);

			if (jitrd_iot_principal_ok(e))
				check_printable(json_object_get_string(e),
				                JITRD_IOT_MAX_PRINCIPAL + 1);
		}
	}
	if (jitrd_iot_read_registered(json, &reg, &diag) == JITRD_OK) {
		check_hex64(reg.certificate_id, 0);
		check_text(reg.certificate_arn, sizeof(reg.certificate_arn));
	}
	if (json && json_object_object_get_ex(json, "certificates", &list) &&
	    json_object_is_type(list, json_type_array)) {
		for (size_t i = 0; i < json_object_array_length(list); i++) {
			struct jitrd_iot_cert_summary sum;
			struct json_object *e = json_object_array_get_idx(list, i);

			memset(&sum, 0, sizeof(sum));
			if (jitrd_iot_read_cert_summary(e, &sum) == JITRD_OK) {
				check_hex64(sum.certificate_id, 0);
				check_status(sum.status);
				check_member(e, "certificateArn", sum.certificate_arn);
			}
		}
	}
	/* nextMarker twice: the second time it is the same marker, which is refused */
	if (jitrd_iot_read_next_marker(json, marker, sizeof(marker), &more, &diag) == JITRD_OK) {
		check_text(marker, sizeof(marker));
		if (more && jitrd_iot_read_next_marker(json, marker, sizeof(marker), &more,
		                                       &diag) != JITRD_ERR_BAD_RESPONSE)
			abort();
	}
	json_object_put(json);
}

static void read_error(struct json_tokener *tok, long status, const char *error_type,
                       const char *body, size_t len)
{
	struct jitrd_awshttp_response resp = {0};
	struct jitrd_iot_result r;

	memset(&r, 0, sizeof(r));
	resp.status = status;
	resp.body = (char *)body;
	resp.body_len = len;
	memcpy(resp.error_type, error_type, sizeof(resp.error_type));
	jitrd_iot_error_details(tok, &resp, &r);
	check_printable(r.code, sizeof(r.code));
	check_printable(r.message, sizeof(r.message));
	if (status == 429 && !jitrd_iot_is_throttling(status, r.code))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct json_tokener *tok = json_tokener_new_ex(32);
	char error_type[JITRD_AWSHTTP_ERROR_TYPE_MAX] = "";
	char *copy;
	size_t at = 0;
	long status = 0;

	if (!tok)
		return 0;
	/* A response as received: status line, headers up to a blank line, then the body. */
	if (size >= 12 && memcmp(data, "HTTP/", 5) == 0) {
		const uint8_t *sp = memchr(data, ' ', size);

		if (sp && (size_t)(sp - data) + 4 <= size) {
			for (int i = 1; i <= 3; i++)
				if (sp[i] >= '0' && sp[i] <= '9')
					status = status * 10 + (sp[i] - '0');
		}
		while (at < size) {
			size_t n = 0;

			while (at + n < size && data[at + n] != '\n')
				n++;
			if (at + n < size)
				n++;
			jitrd_awshttp_header_line((const char *)data + at, n, error_type);
			at += n;
			if (n <= 2 && (n == 1 || data[at - 2] == '\r'))
				break; /* the blank line */
		}
	}
	/* as awshttp hands a body over: NUL-terminated, body_len without the NUL */
	copy = malloc(size - at + 1);
	if (copy) {
		memcpy(copy, data + at, size - at);
		copy[size - at] = '\0';
		if (status == 0 || (status >= 200 && status <= 299))
			read_success(tok, copy, size - at);
		if (status == 0 || status < 200 || status > 299)
			read_error(tok, status ? status : 400, error_type, copy, size - at);
		free(copy);
	}
	json_tokener_free(tok);
	return 0;
}
