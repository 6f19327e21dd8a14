/* iot_client.h — the AWS IoT control-plane client (REST-JSON over libcurl, SigV4-signed): one
 * client shared by all workers (credentials, rate limits, DNS/TLS session cache) and one session
 * per worker (its keep-alive connection). Transient errors are retried with full-jitter backoff
 * inside the caller's deadline; other errors are returned at once with AWS's code and message. */
#ifndef JITRD_IOT_CLIENT_H
#define JITRD_IOT_CLIENT_H

#include <stddef.h>
#include <stdint.h>

#include "jitrd/backoff.h"
#include "jitrd/config.h"
#include "jitrd/credentials.h"
#include "jitrd/error.h"

#define JITRD_IOT_MAX_RESPONSE  (1024 * 1024) /* larger bodies: JITRD_ERR_BAD_RESPONSE */
#define JITRD_IOT_MAX_ARN       2048
#define JITRD_IOT_MAX_NAME      128 /* policy and thing names */
#define JITRD_IOT_MAX_PEM       65536
#define JITRD_IOT_MAX_POLICY    20480 /* policy document as sent */
#define JITRD_IOT_MAX_PRINCIPAL 2048

/* Every operation; the index of its rate limit. */
enum jitrd_iot_op {
	JITRD_IOT_DESCRIBE_CERTIFICATE,
	JITRD_IOT_UPDATE_CERTIFICATE,
	JITRD_IOT_CREATE_POLICY,
	JITRD_IOT_GET_POLICY,
	JITRD_IOT_ATTACH_POLICY,
	JITRD_IOT_LIST_ATTACHED_POLICIES,
	JITRD_IOT_CREATE_THING,
	JITRD_IOT_DESCRIBE_THING,
	JITRD_IOT_ATTACH_THING_PRINCIPAL,
	JITRD_IOT_LIST_CERTIFICATES_BY_CA,
	JITRD_IOT_GET_REGISTRATION_CODE,
	JITRD_IOT_REGISTER_CA_CERTIFICATE,
	JITRD_IOT_DESCRIBE_CA_CERTIFICATE,
	JITRD_IOT_UPDATE_CA_CERTIFICATE,
	JITRD_IOT_REGISTER_CERTIFICATE,
	JITRD_IOT_LIST_THING_PRINCIPALS,
	JITRD_IOT_CREATE_POLICY_VERSION,
	JITRD_IOT_LIST_POLICY_VERSIONS,
	JITRD_IOT_DELETE_POLICY_VERSION,
	JITRD_IOT_LIST_PRINCIPAL_THINGS,
	JITRD_IOT_UPDATE_THING,
	JITRD_IOT_OP_COUNT
};

const char *jitrd_iot_op_name(enum jitrd_iot_op op); /* "DescribeCertificate", ... */

/* Certificate and CA certificate statuses as the API spells them. */
enum jitrd_iot_status {
	JITRD_IOT_STATUS_NONE = 0, /* absent / "leave unchanged" in inputs */
	JITRD_IOT_ACTIVE,
	JITRD_IOT_INACTIVE,
	JITRD_IOT_REVOKED,
	JITRD_IOT_PENDING_TRANSFER,
	JITRD_IOT_REGISTER_INACTIVE,
	JITRD_IOT_PENDING_ACTIVATION,
};
const char *jitrd_iot_status_name(enum jitrd_iot_status status); /* "ACTIVE", ..., "" */

struct jitrd_iot_client_options {
	const char *region;   /* "us-east-1" */
	const char *endpoint; /* "" = https://iot.<region>.amazonaws.com; http:// loopback only */
	const char *signing_name;         /* "iot" or "execute-api" */
	double rates[JITRD_IOT_OP_COUNT]; /* requests per second per operation; 0 = unlimited */
	long connect_timeout_ms;          /* default 3000 */
	long request_timeout_ms;   /* one attempt, default 10000 (shortened to the deadline) */
	size_t max_response_bytes; /* default and upper bound JITRD_IOT_MAX_RESPONSE */
	struct jitrd_backoff_policy backoff; /* default jitrd_backoff_policy_default */
	/* Called after every HTTP attempt, retries included, on the calling thread (for the
	 * jitrd_api_requests_total metric): http_status 0 when no answer came. NULL = none. */
	void (*on_request)(void *ctx, enum jitrd_iot_op op, long http_status, double seconds);
	void *on_request_ctx;
};

/* Fills opts from cfg ([aws] region, endpoint, signing_name; [limits]); strings are borrowed
 * from cfg. Operations without a [limits] key get 10 per second (AWS's default quota for the
 * IoT control-plane APIs used here). cfg may be NULL: region us-east-1, AWS's default rates. */
void jitrd_iot_client_options_init(struct jitrd_iot_client_options *opts,
                                   const struct jitrd_config *cfg);

struct jitrd_iot_client;
struct jitrd_iot_session;

/* creds is borrowed and must outlive the client. Checks the endpoint (https, or http to a
 * loopback host; no path, query or credentials in it) and the signing name. *out written
 * only on success. Errors: JITRD_ERR_CONFIG (diag says which setting), JITRD_ERR_NOMEM,
 * JITRD_ERR_INVALID_ARG. */
enum jitrd_err jitrd_iot_client_new(const struct jitrd_iot_client_options *opts,
                                    struct jitrd_credentials_provider *creds,
                                    struct jitrd_iot_client **out,
                                    struct jitrd_diag *diag) JITRD_WUR;
/* NULL is fine; every session must have been freed first. */
void jitrd_iot_client_free(struct jitrd_iot_client *client);

/* A worker's connection (one libcurl easy handle, kept alive between calls). Not shared
 * between threads. Errors: JITRD_ERR_NOMEM, JITRD_ERR_INVALID_ARG. */
enum jitrd_err jitrd_iot_session_new(struct jitrd_iot_client *client,
                                     struct jitrd_iot_session **out) JITRD_WUR;
void jitrd_iot_session_free(struct jitrd_iot_session *session); /* NULL is fine */

/* Deadlines are CLOCK_MONOTONIC milliseconds: now + ms. */
int64_t jitrd_iot_deadline_in(int64_t ms);

/* What the last exchange of a call said; filled by every operation (when not NULL), success or
 * not. code and message come from AWS (x-amzn-ErrorType / the JSON body), made printable and
 * cut to size; they never hold a secret. */
struct jitrd_iot_result {
	long http_status; /* 0 when no HTTP answer */
	char code[64];    /* "ResourceNotFoundException", "" on success */
	char message[256];
	unsigned attempts; /* HTTP attempts made (all pages for list calls) */
};

/* Return values of every operation: JITRD_OK; JITRD_ERR_API (a final error from AWS: see
 * res->code), JITRD_ERR_THROTTLED (throttled past the attempts or the deadline),
 * JITRD_ERR_TIMEOUT, JITRD_ERR_NETWORK (after the retries the deadline allowed),
 * JITRD_ERR_DEADLINE (no attempt could be made in time), JITRD_ERR_BAD_RESPONSE (truncated,
 * over the cap, not JSON, a member of the wrong type or size), JITRD_ERR_CREDENTIALS,
 * JITRD_ERR_INVALID_ARG (an input outside AWS's pattern: nothing was sent), JITRD_ERR_NOMEM.
 * Outputs are written only on JITRD_OK. A 5xx that persists is returned as JITRD_ERR_API. */

struct jitrd_iot_certificate {
	char certificate_id[65];
	char ca_certificate_id[65]; /* "" when not signed by a registered CA */
	enum jitrd_iot_status status;
	char certificate_arn[JITRD_IOT_MAX_ARN + 1];
	char owned_by[13];
	double creation_date;  /* seconds since the epoch; 0 when absent */
	char *certificate_pem; /* owned: jitrd_iot_certificate_cleanup */
};
void jitrd_iot_certificate_cleanup(struct jitrd_iot_certificate *cert);

struct jitrd_iot_ca_certificate {
	char certificate_id[65];
	enum jitrd_iot_status status; /* ACTIVE or INACTIVE */
	int auto_registration;        /* 1 ENABLE, 0 DISABLE */
	char certificate_arn[JITRD_IOT_MAX_ARN + 1];
	char owned_by[13];
	double creation_date;
	char *certificate_pem; /* owned: jitrd_iot_ca_certificate_cleanup */
};
void jitrd_iot_ca_certificate_cleanup(struct jitrd_iot_ca_certificate *ca);

struct jitrd_iot_policy {
	char policy_name[JITRD_IOT_MAX_NAME + 1];
	char policy_arn[JITRD_IOT_MAX_ARN + 1];
	char version_id[64];   /* policyVersionId / defaultVersionId */
	char *policy_document; /* owned: jitrd_iot_policy_cleanup */
};
void jitrd_iot_policy_cleanup(struct jitrd_iot_policy *policy);

struct jitrd_iot_thing {
	char thing_name[JITRD_IOT_MAX_NAME + 1];
	char thing_arn[JITRD_IOT_MAX_ARN + 1];
	char thing_id[128];
	char thing_type_name[JITRD_IOT_MAX_NAME + 1]; /* "" when none */
	long long version;                            /* DescribeThing only */
};

struct jitrd_iot_registered {
	char certificate_id[65];
	char certificate_arn[JITRD_IOT_MAX_ARN + 1];
};

struct jitrd_iot_cert_summary {
	char certificate_id[65];
	char certificate_arn[JITRD_IOT_MAX_ARN + 1];
	enum jitrd_iot_status status;
	double creation_date;
};

/* List callbacks: borrowed data, valid during the call; return 0 to go on, non-zero to stop
 * (the operation then returns JITRD_OK). */
typedef int (*jitrd_iot_cert_fn)(void *ctx, const struct jitrd_iot_cert_summary *cert);
typedef int (*jitrd_iot_policy_fn)(void *ctx, const char *policy_name, const char *policy_arn);

/* GET /certificates/{certificateId}. certificate_id: 64 hex. */
enum jitrd_err jitrd_iot_describe_certificate(struct jitrd_iot_session *s, int64_t deadline,
                                              const char *certificate_id,
                                              struct jitrd_iot_certificate *out,
                                              struct jitrd_iot_result *res,
                                              struct jitrd_diag *diag) JITRD_WUR;

/* PUT /certificates/{certificateId}?newStatus=STATUS. */
enum jitrd_err jitrd_iot_update_certificate(struct jitrd_iot_session *s, int64_t deadline,
                                            const char *certificate_id,
                                            enum jitrd_iot_status new_status,
                                            struct jitrd_iot_result *res,
                                            struct jitrd_diag *diag) JITRD_WUR;

/* POST /policies/{policyName} {"policyDocument": ...}. out may be NULL. */
enum jitrd_err jitrd_iot_create_policy(struct jitrd_iot_session *s, int64_t deadline,
                                       const char *policy_name, const char *policy_document,
                                       struct jitrd_iot_policy *out, struct jitrd_iot_result *res,
                                       struct jitrd_diag *diag) JITRD_WUR;

/* GET /policies/{policyName}. */
enum jitrd_err jitrd_iot_get_policy(struct jitrd_iot_session *s, int64_t deadline,
                                    const char *policy_name, struct jitrd_iot_policy *out,
                                    struct jitrd_iot_result *res,
                                    struct jitrd_diag *diag) JITRD_WUR;

/* POST /policies/{policyName}/version?setAsDefault= {"policyDocument": ...}: a new version of
 * the policy (AWS keeps at most five: VersionsLimitExceededException, 409, past them). out
 * (may be NULL) receives policyArn, policyDocument and policyVersionId; policy_name is not in
 * the answer and is copied from the input. */
enum jitrd_err jitrd_iot_create_policy_version(struct jitrd_iot_session *s, int64_t deadline,
                                               const char *policy_name, const char *policy_document,
                                               int set_as_default, struct jitrd_iot_policy *out,
                                               struct jitrd_iot_result *res,
                                               struct jitrd_diag *diag) JITRD_WUR;

/* ListPolicyVersions' answer (one page: the operation has no paginator). AWS keeps five
 * versions; an answer with more than JITRD_IOT_MAX_POLICY_VERSIONS is JITRD_ERR_BAD_RESPONSE. */
#define JITRD_IOT_MAX_POLICY_VERSIONS 16
struct jitrd_iot_policy_version {
	char version_id[16]; /* botocore PolicyVersionId [0-9]+ */
	int is_default;
	double create_date; /* seconds since the epoch; 0 when absent */
};
struct jitrd_iot_policy_versions {
	struct jitrd_iot_policy_version versions[JITRD_IOT_MAX_POLICY_VERSIONS];
	size_t count;
};

/* GET /policies/{policyName}/version. */
enum jitrd_err jitrd_iot_list_policy_versions(struct jitrd_iot_session *s, int64_t deadline,
                                              const char *policy_name,
                                              struct jitrd_iot_policy_versions *out,
                                              struct jitrd_iot_result *res,
                                              struct jitrd_diag *diag) JITRD_WUR;

/* DELETE /policies/{policyName}/version/{policyVersionId} (version_id: [0-9]{1,15}). AWS
 * refuses the default version with DeleteConflictException (409). */
enum jitrd_err jitrd_iot_delete_policy_version(struct jitrd_iot_session *s, int64_t deadline,
                                               const char *policy_name, const char *version_id,
                                               struct jitrd_iot_result *res,
                                               struct jitrd_diag *diag) JITRD_WUR;

/* PUT /target-policies/{policyName} {"target": ...} (target: a certificate ARN, ...). */
enum jitrd_err jitrd_iot_attach_policy(struct jitrd_iot_session *s, int64_t deadline,
                                       const char *policy_name, const char *target,
                                       struct jitrd_iot_result *res,
                                       struct jitrd_diag *diag) JITRD_WUR;

/* POST /attached-policies/{target}?marker=&pageSize=, every page, each policy to fn. */
enum jitrd_err jitrd_iot_list_attached_policies(struct jitrd_iot_session *s, int64_t deadline,
                                                const char *target, jitrd_iot_policy_fn fn,
                                                void *ctx, struct jitrd_iot_result *res,
                                                struct jitrd_diag *diag) JITRD_WUR;

/* POST /things/{thingName} {}. out may be NULL. */
enum jitrd_err jitrd_iot_create_thing(struct jitrd_iot_session *s, int64_t deadline,
                                      const char *thing_name, struct jitrd_iot_thing *out,
                                      struct jitrd_iot_result *res,
                                      struct jitrd_diag *diag) JITRD_WUR;

/* A Thing attribute (botocore AttributeName [a-zA-Z0-9_.,@/:#-]{1,128}, AttributeValue
 * [a-zA-Z0-9_.,@/:#=\[\]-]{0,800}). */
struct jitrd_iot_attribute {
	const char *name;
	const char *value;
};
#define JITRD_IOT_MAX_ATTRIBUTE_VALUE 800

/* POST /things/{thingName} {"attributePayload":{"attributes":{name:value,...}}}: CreateThing
 * with attributes (at most 3, AWS's limit for a Thing without a type; n 0 sends "{}"). AWS
 * answers success when a Thing of that name exists with the same attributes, and
 * ResourceAlreadyExistsException when it exists with other ones. out may be NULL. */
enum jitrd_err jitrd_iot_create_thing_with_attributes(struct jitrd_iot_session *s, int64_t deadline,
                                                      const char *thing_name,
                                                      const struct jitrd_iot_attribute *attributes,
                                                      size_t n, struct jitrd_iot_thing *out,
                                                      struct jitrd_iot_result *res,
                                                      struct jitrd_diag *diag) JITRD_WUR;

/* GET /things/{thingName}, and one of its attributes: *present 1 and value (NUL-terminated,
 * size >= JITRD_IOT_MAX_ATTRIBUTE_VALUE + 1) when the Thing has attribute `name`, else
 * *present 0 and value "". A value of the wrong type or over the maximum is
 * JITRD_ERR_BAD_RESPONSE. */
enum jitrd_err jitrd_iot_describe_thing_attribute(struct jitrd_iot_session *s, int64_t deadline,
                                                  const char *thing_name, const char *name,
                                                  char *value, size_t size, int *present,
                                                  struct jitrd_iot_result *res,
                                                  struct jitrd_diag *diag) JITRD_WUR;

/* One attribute asked of DescribeThing: name in; value ("" when absent) and present out. */
struct jitrd_iot_attribute_value {
	const char *name;
	char value[JITRD_IOT_MAX_ATTRIBUTE_VALUE + 1];
	int present;
};

/* GET /things/{thingName}: the Thing (its version included) into out (may be NULL) and the n
 * attributes values[0..n-1] asked by name (n at most 3, AWS's limit for a Thing without a
 * type). A value of the wrong type or over the maximum is JITRD_ERR_BAD_RESPONSE. values and
 * out are written only on JITRD_OK. */
enum jitrd_err jitrd_iot_describe_thing_attributes(struct jitrd_iot_session *s, int64_t deadline,
                                                   const char *thing_name,
                                                   struct jitrd_iot_attribute_value *values,
                                                   size_t n, struct jitrd_iot_thing *out,
                                                   struct jitrd_iot_result *res,
                                                   struct jitrd_diag *diag) JITRD_WUR;

/* PATCH /things/{thingName} {"attributePayload":{"attributes":{...},"merge":false},
 * "expectedVersion":N}: replaces the Thing's attributes (at most 3) if its version is still
 * expected_version (>= 1; AWS adds one to it on success). A Thing changed since is JITRD_ERR_API
 * with res->code "VersionConflictException" (409): another writer came first. */
enum jitrd_err jitrd_iot_update_thing_attributes(struct jitrd_iot_session *s, int64_t deadline,
                                                 const char *thing_name,
                                                 const struct jitrd_iot_attribute *attributes,
                                                 size_t n, long long expected_version,
                                                 struct jitrd_iot_result *res,
                                                 struct jitrd_diag *diag) JITRD_WUR;

/* GET /things/{thingName}/principals?nextToken=&maxResults=, every page, each principal (an
 * ARN, borrowed for the call) to fn; return non-zero from fn to stop. At most 10000
 * principals are delivered, more is JITRD_ERR_TOO_LARGE; a page that repeats its token is
 * JITRD_ERR_BAD_RESPONSE. */
typedef int (*jitrd_iot_principal_fn)(void *ctx, const char *principal);
enum jitrd_err jitrd_iot_list_thing_principals(struct jitrd_iot_session *s, int64_t deadline,
                                               const char *thing_name, jitrd_iot_principal_fn fn,
                                               void *ctx, struct jitrd_iot_result *res,
                                               struct jitrd_diag *diag) JITRD_WUR;

/* GET /principals/things (x-amzn-principal: the principal, e.g. a certificate ARN), every
 * page: each Thing attached to the principal (its name, borrowed for the call) to fn; return
 * non-zero from fn to stop. At most 10000 Things are delivered, more is
 * JITRD_ERR_TOO_LARGE. */
typedef int (*jitrd_iot_thing_name_fn)(void *ctx, const char *thing_name);
enum jitrd_err jitrd_iot_list_principal_things(struct jitrd_iot_session *s, int64_t deadline,
                                               const char *principal, jitrd_iot_thing_name_fn fn,
                                               void *ctx, struct jitrd_iot_result *res,
                                               struct jitrd_diag *diag) JITRD_WUR;

/* GET /things/{thingName}. */
enum jitrd_err jitrd_iot_describe_thing(struct jitrd_iot_session *s, int64_t deadline,
                                        const char *thing_name, struct jitrd_iot_thing *out,
                                        struct jitrd_iot_result *res,
                                        struct jitrd_diag *diag) JITRD_WUR;

/* PUT /things/{thingName}/principals with header x-amzn-principal: principal. */
enum jitrd_err jitrd_iot_attach_thing_principal(struct jitrd_iot_session *s, int64_t deadline,
                                                const char *thing_name, const char *principal,
                                                struct jitrd_iot_result *res,
                                                struct jitrd_diag *diag) JITRD_WUR;

/* GET /certificates-by-ca/{caCertificateId}?marker=&pageSize=, every page (page_size 0: the
 * service's default, else 1..250), each certificate to fn; at most max_items (0 = 1000000)
 * certificates are delivered, more is JITRD_ERR_TOO_LARGE. A page that repeats its marker is
 * JITRD_ERR_BAD_RESPONSE (a loop). */
enum jitrd_err jitrd_iot_list_certificates_by_ca(struct jitrd_iot_session *s, int64_t deadline,
                                                 const char *ca_certificate_id, int page_size,
                                                 size_t max_items, jitrd_iot_cert_fn fn, void *ctx,
                                                 struct jitrd_iot_result *res,
                                                 struct jitrd_diag *diag) JITRD_WUR;

/* GET /registrationcode. code_out: at least 65 bytes (AWS's code is 64 hex). */
enum jitrd_err jitrd_iot_get_registration_code(struct jitrd_iot_session *s, int64_t deadline,
                                               char code_out[65], struct jitrd_iot_result *res,
                                               struct jitrd_diag *diag) JITRD_WUR;

/* POST /cacertificate?setAsActive=&allowAutoRegistration= {"caCertificate",
 * "verificationCertificate"}. verification_pem may be NULL (SNI_ONLY is not supported). */
enum jitrd_err jitrd_iot_register_ca_certificate(struct jitrd_iot_session *s, int64_t deadline,
                                                 const char *ca_pem, const char *verification_pem,
                                                 int set_as_active, int allow_auto_registration,
                                                 struct jitrd_iot_registered *out,
                                                 struct jitrd_iot_result *res,
                                                 struct jitrd_diag *diag) JITRD_WUR;

/* GET /cacertificate/{caCertificateId}. */
enum jitrd_err jitrd_iot_describe_ca_certificate(struct jitrd_iot_session *s, int64_t deadline,
                                                 const char *ca_certificate_id,
                                                 struct jitrd_iot_ca_certificate *out,
                                                 struct jitrd_iot_result *res,
                                                 struct jitrd_diag *diag) JITRD_WUR;

/* PUT /cacertificate/{caCertificateId}?newStatus=&newAutoRegistrationStatus=. new_status
 * ACTIVE, INACTIVE or NONE (unchanged); auto_registration 1 ENABLE, 0 DISABLE, -1 unchanged. */
enum jitrd_err jitrd_iot_update_ca_certificate(struct jitrd_iot_session *s, int64_t deadline,
                                               const char *ca_certificate_id,
                                               enum jitrd_iot_status new_status,
                                               int auto_registration, struct jitrd_iot_result *res,
                                               struct jitrd_diag *diag) JITRD_WUR;

/* POST /certificate/register {"certificatePem", "caCertificatePem", "status"}. ca_pem may be
 * NULL; status NONE leaves it to AWS (INACTIVE). */
enum jitrd_err jitrd_iot_register_certificate(struct jitrd_iot_session *s, int64_t deadline,
                                              const char *certificate_pem, const char *ca_pem,
                                              enum jitrd_iot_status status,
                                              struct jitrd_iot_registered *out,
                                              struct jitrd_iot_result *res,
                                              struct jitrd_diag *diag) JITRD_WUR;

#endif
