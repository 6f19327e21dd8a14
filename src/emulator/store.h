/* store.h — the emulator's in-memory AWS IoT account: CAs, certificates, policies, things, and
 * the operations over them with AWS's state rules. Pure: no sockets, no clock (now is passed),
 * no locking (the caller serialises every call on one store). */
#ifndef JITRD_EMU_STORE_H
#define JITRD_EMU_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

#include "jitrd/error.h"

/* Bounds: past them an operation answers LimitExceededException, never grows further. */
#define EMU_MAX_CAS             64
#define EMU_MAX_CERTS           (1u << 20)
#define EMU_MAX_POLICIES        100000
#define EMU_MAX_ATTACHMENTS     (1u << 21)
#define EMU_MAX_THINGS          (1u << 20)
#define EMU_MAX_PRINCIPALS      10 /* per thing */
#define EMU_MAX_POLICY_DOC      2048
#define EMU_MAX_POLICY_VERSIONS 5    /* AWS's limit per policy */
#define EMU_MAX_RULES           1000 /* AWS's topic rules per account and region */
#define EMU_DEFAULT_PAGE        25
#define EMU_MAX_PAGE            250

/* An error as AWS answers it: HTTP status, x-amzn-ErrorType code, JSON body message. */
struct emu_api_error {
	int http_status;
	char code[48];
	char message[256];
};

/* Fills err (NULL is fine). The message is truncated to fit. */
void emu_api_error_set(struct emu_api_error *err, int http_status, const char *code,
                       const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* One decoded query parameter. */
struct emu_param {
	const char *name;
	const char *value;
};

/* The parsed inputs of one API call, borrowed for the call. */
struct emu_call {
	const char *label;              /* the decoded {id}/{name}/{target} path label, or NULL */
	const char *label2;             /* a second one ({policyVersionId}), or NULL */
	const struct emu_param *params; /* decoded query parameters */
	size_t param_count;
	const char *principal;    /* x-amzn-principal header, or NULL */
	struct json_object *body; /* the JSON body (an object), or NULL when empty */
	int64_t now_ms;           /* wall clock, ms since the epoch */
};

/* The value of the first query parameter called name, or NULL. */
const char *emu_call_param(const struct emu_call *call, const char *name);

struct emu_store;

struct emu_store_config {
	const char *region;            /* "us-east-1" */
	const char *account_id;        /* 12 digits */
	const char *registration_code; /* 64 hex: what GetRegistrationCode answers */
	const char *data_endpoint;   /* DescribeEndpoint's iot:Data-ATS answer; NULL = AWS's form */
	const char *issuer_cert_pem; /* CreateKeysAndCertificate's issuer; NULL = one made up */
	const char *issuer_key_pem;  /* its private key (PEM); NULL with issuer_cert_pem */
};

/* Copies what it needs from config. *out owned by the caller (emu_store_free).
 * Errors: JITRD_ERR_INVALID_ARG (a missing or malformed field, an issuer certificate and key
 * that are not a pair), JITRD_ERR_CRYPTO, JITRD_ERR_NOMEM. */
enum jitrd_err emu_store_new(const struct emu_store_config *config,
                             struct emu_store **out) JITRD_WUR;
void emu_store_free(struct emu_store *store); /* NULL is fine */

/* Forgets every CA, certificate, policy and thing; keeps the account and registration code. */
void emu_store_reset(struct emu_store *store);

/* An API operation: on JITRD_OK, *out (a JSON object owned by the caller, json_object_put) is
 * the response body. On JITRD_ERR_API, err holds what AWS would answer; JITRD_ERR_NOMEM when
 * memory ran out. *out is written only on success. */
typedef enum jitrd_err (*emu_op_fn)(struct emu_store *store, const struct emu_call *call,
                                    struct json_object **out, struct emu_api_error *err);

enum jitrd_err emu_op_get_registration_code(struct emu_store *, const struct emu_call *,
                                            struct json_object **,
                                            struct emu_api_error *) JITRD_WUR;
enum jitrd_err emu_op_register_ca_certificate(struct emu_store *, const struct emu_call *,
                                              struct json_object **,
                                              struct emu_api_error *) JITRD_WUR;
enum jitrd_err emu_op_describe_ca_certificate(struct emu_store *, const struct emu_call *,
                                              struct json_object **,
                                              struct emu_api_error *) JITRD_WUR;
enum jitrd_err emu_op_update_ca_certificate(struct emu_store *, const struct emu_call *,
                                            struct json_object **,
                                            struct emu_api_error *) JITRD_WUR;
enum jitrd_err emu_op_list_ca_certificates(struct emu_store *, const struct emu_call *,
                                           struct json_object **, struct emu_api_error *) JITRD_WUR;
enum jitrd_err emu_op_register_certificate(struct emu_store *, const struct emu_call *,
                                           struct json_object **, struct emu_api_error *) JITRD_WUR;
enum jitrd_err emu_op_describe_certificate(struct emu_store *, const struct emu_call *,
                                           struct json_object **, struct emu_api_error *) JITRD_WUR;
enum jitrd_err emu_op_update_certificate(struct emu_store *, const struct emu_call *,
                                         struct json_object **, struct emu_api_error *) JITRD_WUR;
enum jitrd_err emu_op_list_certificates_by_ca(struct emu_store *, const struct emu_call *,
                                              struct json_object **,
                                              struct emu_api_error *) JITRD_WUR;
enum jitrd_err emu_op_create_policy(struct emu_store *, const struct emu_call *,
                                    struct json_object **, struct emu_api_error *) JITRD_WUR;
enum jitrd_err emu_op_get_policy(struct emu_store *, const struct emu_call *, struct json_object **,
                                 struct emu_api_error *) JITRD_WUR;
enum jitrd_err emu_op_delete_policy(struct emu_store *, const struct emu_call *,
                                    struct json_object **, struct emu_api_error *) JITRD_WUR;
enum jitrd_err emu_op_create_policy_version(struct emu_store *, const struct emu_call *,
                                            struct json_object **,
                                            struct emu_api_error *) JITRD_WUR;
enum jitrd_err emu_op_list_policy_versions(struct emu_store *, const struct emu_call *,
                                           struct json_object **, struct emu_api_error *) JITRD_WUR;
enum jitrd_err emu_op_get_policy_version(struct emu_store *, const struct emu_call *,
                                         struct json_object **, struct emu_api_error *) JITRD_WUR;
enum jitrd_err emu_op_delete_policy_version(struct emu_store *, const struct emu_call *,
                                            struct json_object **,
                                            struct emu_api_error *) JITRD_WUR;
enum jitrd_err emu_op_attach_policy(struct emu_store *, const struct emu_call *,
                                    struct json_object **, struct emu_api_error *) JITRD_WUR;
enum jitrd_err emu_op_detach_policy(struct emu_store *, const struct emu_call *,
                                    struct json_object **, struct emu_api_error *) JITRD_WUR;
enum jitrd_err emu_op_list_attached_policies(struct emu_store *, const struct emu_call *,
                                             struct json_object **,
                                             struct emu_api_error *) JITRD_WUR;
enum jitrd_err emu_op_create_thing(struct emu_store *, const struct emu_call *,
                                   struct json_object **, struct emu_api_error *) JITRD_WUR;
enum jitrd_err emu_op_describe_thing(struct emu_store *, const struct emu_call *,
                                     struct json_object **, struct emu_api_error *) JITRD_WUR;
enum jitrd_err emu_op_update_thing(struct emu_store *, const struct emu_call *,
                                   struct json_object **, struct emu_api_error *) JITRD_WUR;
enum jitrd_err emu_op_attach_thing_principal(struct emu_store *, const struct emu_call *,
                                             struct json_object **,
                                             struct emu_api_error *) JITRD_WUR;
enum jitrd_err emu_op_list_thing_principals(struct emu_store *, const struct emu_call *,
                                            struct json_object **,
                                            struct emu_api_error *) JITRD_WUR;
enum jitrd_err emu_op_list_principal_things(struct emu_store *, const struct emu_call *,
                                            struct json_object **,
                                            struct emu_api_error *) JITRD_WUR;
enum jitrd_err emu_op_create_keys_and_certificate(struct emu_store *, const struct emu_call *,
                                                  struct json_object **,
                                                  struct emu_api_error *) JITRD_WUR;
enum jitrd_err emu_op_create_topic_rule(struct emu_store *, const struct emu_call *,
                                        struct json_object **, struct emu_api_error *) JITRD_WUR;
enum jitrd_err emu_op_get_topic_rule(struct emu_store *, const struct emu_call *,
                                     struct json_object **, struct emu_api_error *) JITRD_WUR;
enum jitrd_err emu_op_describe_endpoint(struct emu_store *, const struct emu_call *,
                                        struct json_object **, struct emu_api_error *) JITRD_WUR;

/* A registration event to publish (DESIGN §1): topic and JSON payload, owned (free()). */
struct emu_event {
	char *topic;
	char *payload;
};
void emu_event_cleanup(struct emu_event *event); /* frees and zeroes; NULL is fine */

/* JITR: the device with this PEM certificate connects (as AWS IoT does on a TLS handshake).
 * A certificate of a registered ACTIVE CA with auto-registration on is registered
 * PENDING_ACTIVATION the first time; while it is pending, *event receives the registration
 * event to publish (topic and payload). *answer: {certificateId, status, connected, reason}.
 * Errors: JITRD_ERR_API (not a certificate: 400 InvalidRequestException), JITRD_ERR_NOMEM.
 * *answer and *event are written only on success (event zeroed when there is none). */
enum jitrd_err emu_store_connect(struct emu_store *store, const char *pem, size_t pem_len,
                                 int64_t now_ms, struct json_object **answer,
                                 struct emu_event *event, struct emu_api_error *err) JITRD_WUR;

/* Everything, for GET /_emulator/state: {registrationCode, caCertificates, certificates,
 * policies, things}. NULL when memory ran out; the caller owns it. */
struct json_object *emu_store_state(const struct emu_store *store);

/* Counts, for tests and the benchmark. */
size_t emu_store_certificate_count(const struct emu_store *store);

#endif
