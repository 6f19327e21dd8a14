/* config.h — jitrd's configuration (DESIGN §4.2): an INI text parsed with inih, then every key
 * overridable by JITRD_<SECTION>_<KEY> from an environment array. Parse into a fresh struct;
 * the caller swaps it in only on success. Pure: text and environment are passed in. */
#ifndef JITRD_CONFIG_H
#define JITRD_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

#include "jitrd/error.h"

#define JITRD_CONFIG_MAX_BYTES (256 * 1024)
#define JITRD_CONFIG_MAX_LIST  64

enum jitrd_log_format { JITRD_LOG_TEXT, JITRD_LOG_JSON };
enum jitrd_log_level { JITRD_LOG_ERROR, JITRD_LOG_WARN, JITRD_LOG_INFO, JITRD_LOG_DEBUG };
enum jitrd_on_reject { JITRD_ON_REJECT_LEAVE, JITRD_ON_REJECT_REVOKE };
/* A policy that exists with another document: a new default version, or the event fails. */
enum jitrd_policy_update { JITRD_POLICY_UPDATE_VERSION, JITRD_POLICY_UPDATE_REFUSE };
/* How s3:// CRL URLs name the bucket on AWS's endpoint: BUCKET.s3.REGION.amazonaws.com, or
 * s3.REGION.amazonaws.com/BUCKET. */
enum jitrd_s3_addressing { JITRD_S3_ADDRESSING_VIRTUAL, JITRD_S3_ADDRESSING_PATH };
/* off: CRLs alone; fallback: OCSP answers for a device whose CA has no current CRL;
 * require: a device must also be good by OCSP (and OCSP answers where no CRL does). */
enum jitrd_ocsp_mode { JITRD_OCSP_MODE_OFF, JITRD_OCSP_MODE_FALLBACK, JITRD_OCSP_MODE_REQUIRE };
/* [service] reconcile_lease: auto is on when [sqs] queue_url is set (several hosts may share
 * the queue), off otherwise. */
enum jitrd_reconcile_lease {
	JITRD_RECONCILE_LEASE_AUTO,
	JITRD_RECONCILE_LEASE_ON,
	JITRD_RECONCILE_LEASE_OFF
};
/* Which CRL Distribution Points (RFC 5280 §4.2.1.13) become CRL sources besides [crl] url. */
enum jitrd_crl_distribution_points {
	JITRD_CRL_DP_OFF, /* none */
	JITRD_CRL_DP_CA,  /* those of our CA certificates */
	JITRD_CRL_DP_ALL  /* also those of device certificates verified under our CAs */
};

/* Every string is owned by the struct (never NULL; "" when unset). */
struct jitrd_config {
	struct {
		char *url;       /* "" = no MQTT source */
		char *client_id; /* default "jitrd" */
		char *topic;     /* default "$aws/events/certificates/registered/+" */
		char *ca_file;
		char *cert_file;
		char *key_file;
		char *alpn;
		bool clean_session;          /* default false */
		int keepalive;               /* seconds, default 60, 5..3600 */
		int qos;                     /* default 1, 0..1 */
		int subscribe_grace_seconds; /* default 120, 1..86400: without a subscription
		                              * this long, the watchdog pings stop */
	} mqtt;
	struct {
		char *region;       /* default "us-east-1" */
		char *endpoint;     /* default "https://iot.<region>.amazonaws.com" */
		char *signing_name; /* default "iot"; "iot" or "execute-api" */
		char *profile;      /* default "" (AWS_PROFILE / "default" chosen by the client) */
		char *account_id;   /* "" or 12 digits */
	} aws;
	struct {
		char *dir;                          /* default "/etc/jitrd/ca" */
		size_t allow_count;                 /* 0 = every CA in dir */
		char *allow[JITRD_CONFIG_MAX_LIST]; /* 64-hex CA ids, lower case */
		char *anchors; /* default "": a directory of the registered CAs' issuers
		                * (roots); "" = each registered CA is its own anchor */
	} ca;
	struct {
		char *dir;          /* default "/etc/jitrd/crl" */
		bool fail_open;     /* default false */
		int reload_seconds; /* default 300, 0 = only on SIGHUP */
		char *s3_region;    /* s3:// URLs' region; when not set, [aws] region
		                     * (filled in by the parser, never "") */
		char *s3_endpoint;  /* default "" = AWS; else https://host[:port] (http only to
		                     * loopback) of an S3-compatible store, path-style */
		enum jitrd_s3_addressing s3_addressing; /* default virtual */
		size_t url_count; /* CRL sources fetched by the service: http://, https://, s3:// */
		char *url[JITRD_CONFIG_MAX_LIST]; /* without duplicates, in the order given */
		enum jitrd_crl_distribution_points distribution_points; /* default off */
		int refresh_seconds;       /* default 3600, 1..604800: most between two fetches of
		                            * one source (nextUpdate may bring it forward) */
		int fetch_timeout_seconds; /* default 60, 1..3600: one fetch, whole transfer */
		int fetch_max_bytes;       /* default 256 MiB, 1024..512 MiB: larger CRLs refused */
	} crl;
	struct {
		enum jitrd_ocsp_mode mode; /* default off */
		char *responder; /* "" (default): each device certificate's Authority Information
		                  * Access; else this http(s) URL for every CA without its own */
		size_t ca_responder_count;
		char *ca_responder_id[JITRD_CONFIG_MAX_LIST];  /* 64-hex CA ids, lower case */
		char *ca_responder_url[JITRD_CONFIG_MAX_LIST]; /* "responder = <CA id>=<URL>" */
		int timeout_seconds;  /* default 5, 1..60: one request, connection included */
		int max_skew_seconds; /* default 300, 0..3600: clock tolerance on the answers */
		bool nonce;           /* default true: send a nonce (RFC 6960 §4.4.1) */
	} ocsp;
	struct {
		char *policy_template;          /* default "/etc/jitrd/policies/default.json" */
		char *policy_name;              /* default "jitrd-device" */
		char *thing_name;               /* default "" = no Thing */
		enum jitrd_on_reject on_reject; /* default leave */
		enum jitrd_policy_update policy_update; /* default version */
	} provision;
	struct {
		int workers;                      /* default 4, 1..256 */
		int event_deadline_seconds;       /* default 30, 1..900 */
		int reconcile_seconds;            /* default 3600, 0 = off */
		char *state_dir;                  /* default "/var/lib/jitrd" */
		char *listen;                     /* default "" = off; "host:port" */
		enum jitrd_log_format log_format; /* default text */
		enum jitrd_log_level log_level;   /* default info */
		int remember_seconds; /* default 3600, 0 = off: a final reject/ignore of a
		                       * certificate answers its repeats this long */
		int journal_max_rows; /* default 100000: finished events kept at most */
		/* default auto; the lease's Thing, default "jitrd-reconcile-lease" */
		enum jitrd_reconcile_lease reconcile_lease;
		char *reconcile_lease_thing;
	} service;
	struct {                                /* requests per second per operation; > 0 */
		double update_certificate;      /* 10 */
		double describe_certificate;    /* 10 */
		double create_policy;           /* 10 */
		double attach_policy;           /* 15 */
		double create_thing;            /* 15 */
		double attach_thing_principal;  /* 15 */
		double list_certificates_by_ca; /* 10 */
		double register_certificate;    /* 10 */
	} limits;
	struct {
		/* default 10, 1..64: records of one SQS batch run at once, each on its own
		 * client session; [limits] still bounds the calls per second */
		int batch_concurrency;
	} lambda;
	struct {
		char *queue_url; /* "" = no SQS source; else `jitrd run` consumes this queue
		                  * (never together with [mqtt] url) */
		char *region;    /* default [aws] region (filled in by the parser, never "") */
		char *endpoint;  /* default "" = scheme://host of queue_url; https, http only
		                  * to loopback */
		int wait_time_seconds;          /* default 20, 0..20: ReceiveMessage long poll */
		int max_messages;               /* default 10, 1..10 per ReceiveMessage */
		int pollers;                    /* default 2, 1..16 threads receiving */
		int visibility_timeout_seconds; /* default 60, 0..43200: asked per receive */
	} sqs;
};

/* Parses an INI text (len bytes, may be NULL/0 for "no file": defaults + environment only),
 * then applies JITRD_<SECTION>_<KEY>=value entries of envp (NULL-terminated "NAME=value"
 * array, may be NULL). origin names the file in messages ("jitrd.conf:12: ...", or
 * "environment JITRD_CRL_FAIL_OPEN: ..."). Relative paths (ca.dir, crl.dir, state_dir,
 * policy_template, mqtt files) are resolved against base_dir when base_dir is not NULL.
 * Unknown sections or keys, bad numbers (strict: whole string, in range), bad booleans
 * (true/false/yes/no/on/off/1/0), lines over the INI line limit: JITRD_ERR_CONFIG with
 * "origin:line: reason" in diag. *out written only on success; free with
 * jitrd_config_free. Errors: JITRD_ERR_CONFIG, JITRD_ERR_TOO_LARGE, JITRD_ERR_NOMEM. */
enum jitrd_err jitrd_config_parse(const char *origin, const char *text, size_t len,
                                  const char *const *envp, const char *base_dir,
                                  struct jitrd_config **out, struct jitrd_diag *diag) JITRD_WUR;

void jitrd_config_free(struct jitrd_config *cfg); /* NULL is fine */

/* The longest [crl] url accepted, NUL included (as JITRD_CRL_FETCH_URL_MAX). */
#define JITRD_CONFIG_URL_MAX 2048

/* True if this host sweeps only while it holds the reconcile lease (reconcile_lease on, or
 * auto with an SQS queue). */
bool jitrd_config_reconcile_lease(const struct jitrd_config *cfg);

/* True if ca_id (64 hex) is allowed by ca.allow (always true when the list is empty). */
bool jitrd_config_ca_allowed(const struct jitrd_config *cfg, const char *ca_id);

/* The OCSP responder configured for the CA ca_id (64 hex): its own `responder = <id>=<URL>`,
 * else the default `responder = <URL>`; "" when neither is set (the device certificate's
 * Authority Information Access is used). Borrowed from cfg. */
const char *jitrd_config_ocsp_responder(const struct jitrd_config *cfg, const char *ca_id);

#endif
