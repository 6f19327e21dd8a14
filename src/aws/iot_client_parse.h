/* iot_client_parse.h — private to src/aws and its tests: the IoT client's readers of AWS's
 * answers (bodies of REST-JSON responses and error responses), so that unit tests and fuzz
 * targets feed them bytes without HTTP. The operations in iot_client.h use exactly these. */
#ifndef JITRD_IOT_CLIENT_PARSE_H
#define JITRD_IOT_CLIENT_PARSE_H

#include <stddef.h>

#include <json-c/json.h>

#include "awshttp.h"
#include "jitrd/iot_client.h"

/* One whole JSON document of len bytes (tok is reset first); NULL for an empty body and for
 * anything but exactly one document. The object is the caller's (json_object_put). */
struct json_object *jitrd_iot_parse_json(struct json_tokener *tok, const char *body, size_t len);

/* 1 when body is "{}" with optional whitespace (an answer without members). */
int jitrd_iot_is_empty_object(const char *body, size_t len);

/* The error code and message of a non-2xx answer into r->code and r->message (printable, cut
 * to size): x-amzn-ErrorType ("Code:detail"), else the body's __type ("ns#Code"), code or
 * Code; message or Message. */
void jitrd_iot_error_details(struct json_tokener *tok, const struct jitrd_awshttp_response *resp,
                             struct jitrd_iot_result *r);

/* 1 when status and code mean throttling (429, ThrottlingException, ...): retried. */
int jitrd_iot_is_throttling(long status, const char *code);

/* Readers of a parsed 2xx answer (json may be NULL: an empty body). Output written only on
 * JITRD_OK; JITRD_ERR_BAD_RESPONSE (diag names the member) or JITRD_ERR_NOMEM otherwise. */
enum jitrd_err jitrd_iot_read_certificate(struct json_object *json,
                                          struct jitrd_iot_certificate *out,
                                          struct jitrd_diag *diag) JITRD_WUR;
enum jitrd_err jitrd_iot_read_policy(struct json_object *json, struct jitrd_iot_policy *out,
                                     struct jitrd_diag *diag) JITRD_WUR;
/* ListPolicyVersions' answer: at most JITRD_IOT_MAX_POLICY_VERSIONS well-formed entries, one
 * default at most. */
enum jitrd_err jitrd_iot_read_policy_versions(struct json_object *json,
                                              struct jitrd_iot_policy_versions *out,
                                              struct jitrd_diag *diag) JITRD_WUR;
enum jitrd_err jitrd_iot_read_thing(struct json_object *json, struct jitrd_iot_thing *out,
                                    struct jitrd_diag *diag) JITRD_WUR;
enum jitrd_err jitrd_iot_read_registered(struct json_object *json, struct jitrd_iot_registered *out,
                                         struct jitrd_diag *diag) JITRD_WUR;
/* Attribute name of DescribeThing's answer json (not NULL) into value
 * (JITRD_IOT_MAX_ATTRIBUTE_VALUE + 1 bytes, "" when absent); *present 0 when the Thing has no
 * such attribute (*present written only on JITRD_OK). JITRD_ERR_BAD_RESPONSE when
 * attributes is not a map of strings within bounds. */
enum jitrd_err jitrd_iot_read_thing_attribute(struct json_object *json, const char *name,
                                              char *value, int *present,
                                              struct jitrd_diag *diag) JITRD_WUR;
/* 1 when an entry of ListThingPrincipals' principals[] is a string fit for a header. */
int jitrd_iot_principal_ok(struct json_object *entry);
/* One entry of ListCertificatesByCA's certificates[]: JITRD_OK, or JITRD_ERR_BAD_RESPONSE when
 * malformed (out may then be written in part). */
enum jitrd_err jitrd_iot_read_cert_summary(struct json_object *entry,
                                           struct jitrd_iot_cert_summary *out) JITRD_WUR;
/* A list answer's nextMarker: *more 0 at the end; marker (size bytes) holds the previous
 * marker and receives the next one. The same marker twice is JITRD_ERR_BAD_RESPONSE. */
enum jitrd_err jitrd_iot_read_next_marker(struct json_object *json, char *marker, size_t size,
                                          int *more, struct jitrd_diag *diag) JITRD_WUR;

#endif
