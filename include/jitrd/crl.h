/* crl.h — the CRL store (DESIGN §5.4): CRLs verified against our CAs, then indexed once into
 * an immutable snapshot; lookups by issuing CA + serial never touch OpenSSL's CRL objects.
 * Pure: the caller reads the files and passes bytes and `now`. */
#ifndef JITRD_CRL_H
#define JITRD_CRL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "jitrd/caset.h"
#include "jitrd/cert.h"
#include "jitrd/error.h"

#define JITRD_CRL_MAX_FILE (512u * 1024 * 1024)

/* What a CRL says of one serial. */
enum jitrd_crl_status {
	JITRD_CRL_NOT_LISTED = 0,
	JITRD_CRL_REVOKED,        /* any reason but certificateHold / removeFromCRL */
	JITRD_CRL_HOLD,           /* certificateHold */
	JITRD_CRL_REMOVE_FROM_CRL /* removeFromCRL: treated as not listed */
};

/* RFC 5280 CRLReason values; JITRD_CRL_REASON_NONE when the entry has no reason extension. */
#define JITRD_CRL_REASON_NONE (-1)

struct jitrd_crl_builder; /* collects files, then makes a snapshot */
struct jitrd_crl_store;   /* immutable snapshot; safe to read from many threads */

/* cas is borrowed and must outlive the builder and every store made from it.
 * now is the time CRL validity (thisUpdate/nextUpdate) is judged at. NULL on ENOMEM. */
struct jitrd_crl_builder *jitrd_crl_builder_new(const struct jitrd_caset *cas, time_t now);
void jitrd_crl_builder_free(struct jitrd_crl_builder *b); /* NULL is fine */

/* Adds every CRL in one file's bytes: PEM (one or several "X509 CRL" blocks) or DER.
 * Each CRL is accepted only if its issuer is one of cas (name and, when present, key id; when
 * several CAs share the name, the one whose key verifies the CRL), X509_CRL_verify(crl, ca
 * key) == 1, thisUpdate <= now, no unknown critical extension, and it is not a delta CRL.
 * A CRL that passes all that but is past its nextUpdate at `now` (or has none) is reported as
 * JITRD_ERR_CRL_EXPIRED and yet KEPT, marked stale, and takes part in newest-wins (any
 * newer CRL, and any current one, replaces it): what it lists can still be revoked, and
 * lookups say it is stale (callers defer the rest).
 * A refused CRL does not affect other CRLs or files; its reason is kept for the report.
 * Returns JITRD_OK when every CRL in the file was accepted; otherwise the error of the first
 * refused (or stale) one, with `origin: reason` in diag (the accepted ones stay added).
 * Errors: JITRD_ERR_MALFORMED, JITRD_ERR_TOO_LARGE, JITRD_ERR_UNKNOWN_CA,
 * JITRD_ERR_CRL_SIGNATURE, JITRD_ERR_CRL_EXPIRED, JITRD_ERR_CRL_NOT_YET_VALID,
 * JITRD_ERR_CRL_CRITICAL_EXT, JITRD_ERR_CRL_DELTA, JITRD_ERR_NOMEM, JITRD_ERR_INVALID_ARG. */
enum jitrd_err jitrd_crl_builder_add(struct jitrd_crl_builder *b, const char *origin,
				     const unsigned char *bytes, size_t len,
				     struct jitrd_diag *diag) JITRD_WUR;

/* Records a file the caller could not even read (missing, unreadable, oversized, not a regular
 * file) in the per-file report, with crls_accepted 0, so that config-check counts it like a
 * refused one. err is the caller's error (not JITRD_OK); reason (may be NULL: then
 * jitrd_strerror(err)) is copied. Returns JITRD_OK, JITRD_ERR_INVALID_ARG (NULL b or origin,
 * err == JITRD_OK, builder finished) or JITRD_ERR_NOMEM (then nothing is recorded). */
enum jitrd_err jitrd_crl_builder_note_failure(struct jitrd_crl_builder *b, const char *origin,
					      enum jitrd_err err, const char *reason) JITRD_WUR;

/* Makes the snapshot: for each CA the newest kept CRL (a current one before a stale one, then
 * highest CRL number, then latest thisUpdate) is indexed. The builder may be freed
 * afterwards. *out owned by the caller. */
enum jitrd_err jitrd_crl_builder_finish(struct jitrd_crl_builder *b,
					struct jitrd_crl_store **out) JITRD_WUR;

void jitrd_crl_store_free(struct jitrd_crl_store *store); /* NULL is fine */

/* Report of one file passed to the builder, in the order added (for config-check). */
struct jitrd_crl_file_report {
	const char *origin;
	enum jitrd_err result;  /* JITRD_OK when all its CRLs were accepted */
	const char *reason;     /* "" when OK */
	size_t crls_accepted;   /* CRLs that passed every check; a stale one kept for its
				 * revocations is not counted (the file says CRL_EXPIRED) */
};
size_t jitrd_crl_builder_file_count(const struct jitrd_crl_builder *b);
const struct jitrd_crl_file_report *jitrd_crl_builder_file_at(const struct jitrd_crl_builder *b,
								size_t i);

/* Per CA in the snapshot: NULL when the CA has no valid CRL. Borrowed from the store. */
struct jitrd_crl_info {
	const char *origin;    /* file the chosen CRL came from */
	size_t entries;
	time_t this_update;
	time_t next_update;    /* 0 when the CRL has no nextUpdate (then always stale) */
	int64_t crl_number;    /* -1 if absent */
	bool stale;            /* past nextUpdate (or none) at the builder's `now` */
};
const struct jitrd_crl_info *jitrd_crl_store_info(const struct jitrd_crl_store *store,
						  const struct jitrd_cert *ca);

/* What the chosen CRL of a CA says of one serial. */
struct jitrd_crl_answer {
	enum jitrd_crl_status status;
	int reason;  /* RFC 5280 code, or JITRD_CRL_REASON_NONE */
	bool stale;  /* now is past the CRL's nextUpdate (or it has none): the answer for a
		      * listed serial still stands, but "not listed" is no longer current */
};

/* Looks serial up in the CRL of ca, judged at now. JITRD_OK fills *out (a snapshot outlives
 * the moment it was loaded, so staleness is judged at now, not at load time); callers decide
 * defer vs fail_open for a stale answer. JITRD_ERR_NO_CRL if the store has no verified CRL
 * for ca at all; JITRD_ERR_INVALID_ARG for a NULL argument. *out untouched on error.
 * Thread-safe, no allocation. */
enum jitrd_err jitrd_crl_lookup(const struct jitrd_crl_store *store, const struct jitrd_cert *ca,
				const ASN1_INTEGER *serial, time_t now,
				struct jitrd_crl_answer *out) JITRD_WUR;

/* "keyCompromise", "certificateHold", ... ; "unspecified" for JITRD_CRL_REASON_NONE. */
const char *jitrd_crl_reason_name(int reason);

#endif
