/* operator.h — the operator commands' work (DESIGN §4.6): register a CA with a verification
 * certificate made in memory, deactivate a CA and revoke its certificates (rate-limited,
 * concurrent, resumable through the journal), and sweep our CAs' certificates against the
 * current CRLs. Prints nothing: results go to callbacks and summaries, and the commands
 * (commands.h) word them. */
#ifndef JITRD_OPERATOR_H
#define JITRD_OPERATOR_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <openssl/evp.h>

#include "jitrd/cert.h"
#include "jitrd/config.h"
#include "jitrd/error.h"
#include "jitrd/iot_client.h"
#include "jitrd/journal.h"
#include "jitrd/pipeline.h"
#include "jitrd/runtime.h"

#define JITRD_OPERATOR_MAX_KEY_FILE (64 * 1024)
#define JITRD_OPERATOR_MAX_WORKERS  32

/* Reads a CA private key (PEM) from path, only reading it: the file must be a regular file of
 * at most JITRD_OPERATOR_MAX_KEY_FILE bytes, and not readable or writable by group or others
 * (mode & 077) unless allow_insecure; whoever owns it (root included) — a key the group can
 * read is exposed whoever owns it. The bytes read are wiped before return. An encrypted key
 * asks its passphrase on the terminal only when standard input is one. *out (owned: free with
 * EVP_PKEY_free) written only on success. diag names the path, never key material.
 * Errors: JITRD_ERR_IO, JITRD_ERR_TOO_LARGE, JITRD_ERR_CONFIG (permissions),
 * JITRD_ERR_MALFORMED (not a PEM private key, or the passphrase was not given). */
enum jitrd_err jitrd_operator_load_ca_key(const char *path, bool allow_insecure, EVP_PKEY **out,
                                          struct jitrd_diag *diag) JITRD_WUR;

/* The verification certificate of AWS's bring-your-own-CA flow: a fresh EC P-256 key (kept in
 * memory only and freed here), subject CN = code, issued by ca (its subject as issuer) and
 * signed with ca_key, valid from now - 5 minutes (clock skew) for one day. ca_key must be
 * ca's key. *pem_out (NUL-terminated, owned: free()) written only on success.
 * Errors: JITRD_ERR_INVALID_ARG (empty code, a key that is not ca's: JITRD_ERR_CERT_SIGNATURE),
 * JITRD_ERR_CRYPTO, JITRD_ERR_NOMEM. */
enum jitrd_err jitrd_operator_make_verification(const struct jitrd_cert *ca, EVP_PKEY *ca_key,
                                                const char *code, time_t now, char **pem_out,
                                                struct jitrd_diag *diag) JITRD_WUR;

/* Checks ca (a CA certificate, basicConstraints CA:TRUE) against ca_key (public halves
 * equal). Errors: JITRD_ERR_BAD_FIELD (not a CA), JITRD_ERR_CERT_SIGNATURE (not its key). */
enum jitrd_err jitrd_operator_check_ca_key(const struct jitrd_cert *ca, EVP_PKEY *ca_key,
                                           struct jitrd_diag *diag) JITRD_WUR;

/* GetRegistrationCode, the verification certificate, RegisterCACertificate. ca_pem is the CA
 * certificate as registered (its first certificate is used); ca_key is borrowed. *out written
 * only on success; res (may be NULL) holds AWS's answer of the last call made.
 * Errors: those of the checks above and of the client. */
enum jitrd_err jitrd_operator_ca_register(struct jitrd_iot_session *s, int64_t deadline,
                                          const char *ca_pem, size_t ca_pem_len, EVP_PKEY *ca_key,
                                          bool set_active, bool auto_registration, time_t now,
                                          struct jitrd_iot_registered *out,
                                          struct jitrd_iot_result *res,
                                          struct jitrd_diag *diag) JITRD_WUR;

/* Counters of a deactivation, read by the progress callback while workers run. */
struct jitrd_deactivate_summary {
	size_t total;           /* certificates the CA has (listing) */
	size_t revoked;         /* revoked by this run */
	size_t revoked_earlier; /* revoked by an earlier, interrupted run of the same job */
	size_t already_revoked; /* REVOKED before the job touched them */
	size_t failed;
	bool resumed;     /* an unfinished job of this CA was found in the journal */
	bool interrupted; /* *stop was set: not every certificate was tried */
};

struct jitrd_deactivate_options {
	struct jitrd_iot_client *client; /* each worker opens its own session on it */
	struct jitrd_journal *journal;   /* job progress; required with revoke_certificates */
	const char *ca_id;               /* 64 hex */
	bool revoke_certificates;
	unsigned workers;           /* 1..JITRD_OPERATOR_MAX_WORKERS */
	int64_t request_timeout_ms; /* deadline of each call, retries included */
	/* Set (e.g. by a SIGTERM handler) to stop taking new certificates; the ones in flight
	 * finish and are recorded. May be NULL. */
	volatile sig_atomic_t *stop;
	/* Called every progress_ms from the calling thread while workers run, and once at the
	 * end (may be NULL). */
	void (*progress)(void *ctx, const struct jitrd_deactivate_summary *s);
	/* Called for each certificate that could not be revoked, from a worker but never from
	 * two at once (may be NULL). text is printable. */
	void (*failure)(void *ctx, const char *certificate_id, const char *text);
	void *ctx;
	unsigned progress_ms; /* default 250 */
};

/* UpdateCACertificate INACTIVE; then, with revoke_certificates, every certificate of the CA
 * (ListCertificatesByCA, all pages) set REVOKED by `workers` threads within the client's rate
 * limits. Progress is the journal job "deactivate:<ca_id>": each certificate is marked done as
 * soon as its UpdateCertificate succeeded, so a run after an interruption or a crash skips it
 * and redoes at most the calls that were in flight. The job is finished (forgotten) only when
 * every certificate is revoked. *summary is always filled (as far as the run got).
 * Returns JITRD_OK when the CA was deactivated and the job ran (failures of single
 * certificates are counted, not returned); otherwise the error of the CA update, the listing
 * or the journal, with diag and res (may be NULL) saying why. */
enum jitrd_err jitrd_operator_ca_deactivate(const struct jitrd_deactivate_options *o,
                                            struct jitrd_deactivate_summary *summary,
                                            struct jitrd_iot_result *res,
                                            struct jitrd_diag *diag) JITRD_WUR;

/* What a sweep did (or, in a dry run, would do). */
struct jitrd_sweep_summary {
	size_t cas_swept;
	size_t cas_no_crl;       /* skipped: no valid, current CRL (never acted on) */
	size_t cas_unregistered; /* skipped: AWS IoT does not know the CA */
	size_t checked;          /* certificates looked up in a CRL */
	size_t described;        /* serials not in the inventory, described once */
	size_t revoked, held, reactivated;
	size_t not_reactivated; /* hold lifted but the decision is no longer activate */
	size_t failed;
};

enum jitrd_sweep_line {
	JITRD_SWEEP_CHANGE,  /* one change made, or that would be made (dry run) */
	JITRD_SWEEP_NOTICE,  /* a CA skipped, a hold lifted but not re-activated, ... */
	JITRD_SWEEP_FAILURE, /* a change or a lookup that failed */
};

struct jitrd_sweep_options {
	struct jitrd_iot_session *session;
	const struct jitrd_runtime *rt; /* our CAs ([ca] allow), the CRL snapshot, templates */
	struct jitrd_journal *journal;  /* the inventory */
	time_t now;                     /* CRLs and certificates judged at now */
	bool dry_run;                   /* describe and look up, change nothing (not even the
	                                 * inventory), say what would change */
	int64_t request_timeout_ms;
	volatile sig_atomic_t *stop; /* may be NULL */
	void (*line)(void *ctx, enum jitrd_sweep_line kind, const char *text);
	void *ctx;
};

/* For every CA of rt (allowed by [ca] allow) with a current CRL: its ACTIVE certificates and
 * the INACTIVE ones the inventory says jitrd held (last_decision "hold") are looked up in the
 * CRL by serial (the inventory's, else DescribeCertificate once, then inventoried). Listed
 * revoked: REVOKED. certificateHold: an ACTIVE one INACTIVE (inventoried as held). Held by
 * jitrd and no longer listed (or removeFromCRL): the decision of DESIGN §3 is made again and,
 * when it is activate, the policy (and Thing) are ensured and the certificate set ACTIVE.
 * A CA without a current CRL is skipped and said so; an INACTIVE certificate jitrd did not
 * hold is never touched. One line per change. *summary always filled.
 * Returns JITRD_OK when the sweep ran (single failures are counted); JITRD_ERR_NOMEM. */
enum jitrd_err jitrd_operator_crl_sweep(const struct jitrd_sweep_options *o,
                                        struct jitrd_sweep_summary *summary,
                                        struct jitrd_diag *diag) JITRD_WUR;

/* What became of one certificate of `cert register`. */
enum jitrd_register_result {
	JITRD_REGISTER_REGISTERED,         /* registered, provisioned and ACTIVE by this run */
	JITRD_REGISTER_REGISTERED_EARLIER, /* done by an earlier, interrupted run of the job */
	JITRD_REGISTER_ALREADY,            /* AWS had it: ACTIVE, or finished from INACTIVE */
	JITRD_REGISTER_REFUSED, /* jitrd would not activate it, or AWS holds it REVOKED */
	JITRD_REGISTER_FAILED,  /* unreadable input, or a call that failed */
};

/* "registered", "registered_earlier", "already_registered", "refused", "failed". */
const char *jitrd_register_result_name(enum jitrd_register_result result);

/* One certificate's line: borrowed for the callback. */
struct jitrd_register_line {
	const char *path;
	const char *certificate_id; /* "" when the file did not parse */
	enum jitrd_register_result result;
	const char *decision; /* the decision's name ("activate", "revoke", ...), "" when none */
	const char *status;   /* the status in AWS IoT afterwards, "" when unknown */
	const char *reason;   /* why (refused, failed), or what was done; printable */
};

struct jitrd_register_summary {
	size_t total;
	size_t registered, registered_earlier, already, refused, failed;
	size_t register_calls; /* RegisterCertificate requests this run sent */
	bool resumed;          /* an unfinished job of these inputs was found in the journal */
	bool interrupted;      /* *stop was set: not every certificate was tried */
};

struct jitrd_register_options {
	struct jitrd_iot_client *client; /* each worker opens its own session on it */
	struct jitrd_pipeline *pipeline; /* the decision (OCSP per [ocsp] mode) and step 7 */
	const struct jitrd_runtime *rt;  /* our CAs, CRLs, templates */
	struct jitrd_journal *journal;   /* job progress and the inventory */
	char *const *paths;              /* device certificates, one PEM certificate a file */
	size_t count;
	time_t now; /* certificates and CRLs judged at now */
	unsigned workers;
	int64_t request_timeout_ms;  /* deadline of one certificate's calls, retries included */
	volatile sig_atomic_t *stop; /* may be NULL: set to stop taking new certificates */
	/* Called every progress_ms from the calling thread while workers run (may be NULL). */
	void (*progress)(void *ctx, const struct jitrd_register_summary *s);
	/* Called for each certificate, from a worker but never from two at once (may be NULL). */
	void (*line)(void *ctx, const struct jitrd_register_line *line);
	void *ctx;
	unsigned progress_ms; /* default 250 */
};

/* Registers each device certificate of o->paths ahead of its first connection. Each gets the
 * decision of a registration event (jitrd_pipeline_decide: our CA, signature, validity, CRL,
 * OCSP per [ocsp] mode, templates); one jitrd would not activate is not registered. The
 * others: RegisterCertificate with its CA's certificate, status INACTIVE, then the Thing and
 * policy (jitrd_pipeline_provision), then UpdateCertificate ACTIVE last. One AWS already has
 * (ResourceAlreadyExistsException; its id is the SHA-256 of its DER) is taken from
 * DescribeCertificate: REVOKED is refused, never re-activated; INACTIVE or
 * PENDING_ACTIVATION is provisioned and activated; ACTIVE gets its policy and Thing ensured.
 * Progress is the journal job "register:<SHA-256 of the sorted input paths>": a certificate
 * is marked done once ACTIVE, so a run after an interruption or a crash skips it, and one
 * whose RegisterCertificate answer was lost is found by its id. *summary is always filled.
 * Returns JITRD_OK when the job ran (single certificates' failures are counted); otherwise
 * the journal's error or JITRD_ERR_NOMEM with diag saying why. */
enum jitrd_err jitrd_operator_cert_register(const struct jitrd_register_options *o,
                                            struct jitrd_register_summary *summary,
                                            struct jitrd_diag *diag) JITRD_WUR;

#endif
