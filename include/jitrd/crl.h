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
struct jitrd_crl_floors;  /* highest CRL number accepted per issuer and partition */

/*
 * How CRLs are bound and chosen (RFC 5280 §5.2.3, §5.2.4, §5.2.5, §6.3.3):
 * - A CRL belongs to an issuer identity, the CA's subject name and public key, so every CA
 *   certificate of that name and key (a renewal: new certificate, same key) shares its CRLs.
 * - Within an issuer, each issuingDistributionPoint name is a partition (no name: the complete
 *   scope). Per partition the authority is the complete CRL with the highest cRLNumber
 *   (thisUpdate breaks ties; one without a number ranks below every numbered one, by
 *   thisUpdate), whether or not it is past its nextUpdate: an older CRL never answers for a
 *   newer one. A delta CRL applies to the authority when BaseCRLNumber <= its number < the
 *   delta's number.
 * - A serial revoked (any reason but certificateHold and removeFromCRL) in any verified CRL of
 *   the issuer, complete or delta, current or stale, stays revoked. Holds are not sticky:
 *   only the authority (and its applicable delta, whose removeFromCRL lifts a hold) says hold.
 * - Rollback: with floors set, a partition whose best complete CRL has a number below the
 *   floor (or none) has no authority: that CRL is reported refused (JITRD_ERR_CRL_ROLLBACK),
 *   and the partition's devices get JITRD_ERR_NO_CRL (its revocations still count).
 */

/* cas is borrowed and must outlive the builder and every store made from it.
 * now is the time CRL validity (thisUpdate/nextUpdate) is judged at. NULL on ENOMEM. */
struct jitrd_crl_builder *jitrd_crl_builder_new(const struct jitrd_caset *cas, time_t now);
void jitrd_crl_builder_free(struct jitrd_crl_builder *b); /* NULL is fine */

/* Sets the rollback floors (borrowed until finish; NULL: none). Call before the first add.
 * JITRD_ERR_INVALID_ARG for a NULL builder or after a CRL was added. */
enum jitrd_err jitrd_crl_builder_set_floors(struct jitrd_crl_builder *b,
                                            const struct jitrd_crl_floors *floors) JITRD_WUR;

/* Adds every CRL in one file's bytes: PEM (one or several "X509 CRL" blocks) or DER.
 * Each CRL is accepted only if its issuer is one of cas (name and, when present, key id; when
 * several CAs share the name, the one whose key verifies the CRL), its signature verifies
 * with that key (jitrd_crl_der_verify: DER only, both signature algorithms equal) with neither
 * MD5 nor SHA-1, thisUpdate <= now, no unknown critical extension, an
 * issuingDistributionPoint that is at most a partition by distribution point name (or
 * onlyContainsUserCerts), and, for a delta CRL, a cRLNumber and a BaseCRLNumber.
 * A CRL that passes all that but is past its nextUpdate at `now` (or has none) is reported as
 * JITRD_ERR_CRL_EXPIRED and yet KEPT, marked stale (see the rules above).
 * A refused CRL does not affect other CRLs or files; its reason is kept for the report.
 * Returns JITRD_OK when every CRL in the file was accepted; otherwise the error of the first
 * refused (or stale) one, with `origin: reason` in diag (the accepted ones stay added).
 * Errors: JITRD_ERR_MALFORMED, JITRD_ERR_TOO_LARGE, JITRD_ERR_UNKNOWN_CA,
 * JITRD_ERR_CRL_SIGNATURE, JITRD_ERR_CRL_EXPIRED, JITRD_ERR_CRL_NOT_YET_VALID,
 * JITRD_ERR_CRL_CRITICAL_EXT, JITRD_ERR_CRL_DELTA, JITRD_ERR_NOMEM, JITRD_ERR_INVALID_ARG. */
enum jitrd_err jitrd_crl_builder_add(struct jitrd_crl_builder *b, const char *origin,
                                     const unsigned char *bytes, size_t len,
                                     struct jitrd_diag *diag) JITRD_WUR;

/* The same for a file read into memory from malloc (jitrd_file_read), which the call takes
 * and frees, also on error (bytes is invalid afterwards; NULL with len 0 is fine). A PEM file
 * is decoded in place and the text after the DER given back before the index is built, so a
 * large CRL is never held twice. */
enum jitrd_err jitrd_crl_builder_add_owned(struct jitrd_crl_builder *b, const char *origin,
                                           unsigned char *bytes, size_t len,
                                           struct jitrd_diag *diag) JITRD_WUR;

/* Records a file the caller could not even read (missing, unreadable, oversized, not a regular
 * file) in the per-file report, with crls_accepted 0, so that config-check counts it like a
 * refused one. err is the caller's error (not JITRD_OK); reason (may be NULL: then
 * jitrd_strerror(err)) is copied. Returns JITRD_OK, JITRD_ERR_INVALID_ARG (NULL b or origin,
 * err == JITRD_OK, builder finished) or JITRD_ERR_NOMEM (then nothing is recorded). */
enum jitrd_err jitrd_crl_builder_note_failure(struct jitrd_crl_builder *b, const char *origin,
                                              enum jitrd_err err, const char *reason) JITRD_WUR;

/* Makes the snapshot (the rules above); applies the floors and marks rollbacks in the file
 * report. The builder may be freed afterwards. *out owned by the caller. */
enum jitrd_err jitrd_crl_builder_finish(struct jitrd_crl_builder *b,
                                        struct jitrd_crl_store **out) JITRD_WUR;

void jitrd_crl_store_free(struct jitrd_crl_store *store); /* NULL is fine */

/* Report of one file passed to the builder, in the order added (for config-check). */
struct jitrd_crl_file_report {
	const char *origin;
	enum jitrd_err result; /* JITRD_OK when all its CRLs were accepted */
	const char *reason;    /* "" when OK */
	size_t crls_accepted;  /* CRLs that passed every check; a stale one kept for its
	                        * revocations is not counted (the file says CRL_EXPIRED) */
};
size_t jitrd_crl_builder_file_count(const struct jitrd_crl_builder *b);
const struct jitrd_crl_file_report *jitrd_crl_builder_file_at(const struct jitrd_crl_builder *b,
                                                              size_t i);

/* Per CA in the snapshot (shared by every CA certificate of the same issuer identity): NULL
 * when no partition of the CA has an authority. Borrowed from the store. With several
 * partitions the values summarise them: the first partition's origin, the highest number, the
 * earliest thisUpdate and nextUpdate, stale when any is. */
struct jitrd_crl_info {
	const char *origin; /* file the authority CRL came from */
	size_t entries;     /* serials revoked in any CRL of the CA, plus its holds */
	time_t this_update;
	time_t next_update; /* 0 when the CRL has no nextUpdate (then always stale) */
	int64_t crl_number; /* -1 if absent (or over 63 bits) */
	bool stale;         /* past nextUpdate (or none) at the builder's `now` */
	size_t partitions;  /* partitions with an authority (1 for a complete CRL) */
	bool delta;         /* a delta CRL applies to an authority */
};
const struct jitrd_crl_info *jitrd_crl_store_info(const struct jitrd_crl_store *store,
                                                  const struct jitrd_cert *ca);

/* What the CRLs of a CA say of one serial. */
struct jitrd_crl_answer {
	enum jitrd_crl_status status;
	int reason; /* RFC 5280 code, or JITRD_CRL_REASON_NONE */
	bool stale; /* now is past the authority's nextUpdate (or it has none, or an applicable
	             * delta's): a revocation still stands, but "not listed" is no longer current */
};

/* The answer for a device certificate issued by ca, judged at now: revoked when any CRL of the
 * issuer revokes its serial; otherwise what the authority (and applicable delta) of each
 * partition its CRL Distribution Points name says, plus the complete scope (RFC 5280 §6.3.3
 * (b)(2)(i)); stale when any of those is. JITRD_ERR_NO_CRL when the serial is not revoked and
 * none of those partitions has an authority (a device naming no distribution point while the CA's
 * CRLs are all partitioned, or whose partition has no CRL or was rolled back). JITRD_ERR_MALFORMED
 * when the device's CRL Distribution Points cannot be read. JITRD_ERR_INVALID_ARG for a NULL
 * argument. *out untouched on error. Thread-safe; allocates only to decode the extension. */
enum jitrd_err jitrd_crl_lookup_cert(const struct jitrd_crl_store *store,
                                     const struct jitrd_cert *ca, const struct jitrd_cert *cert,
                                     time_t now, struct jitrd_crl_answer *out) JITRD_WUR;

/* The same for a bare serial (the operator's sweep has no certificate): every partition of
 * the CA counts, as if the certificate named them all. JITRD_ERR_NO_CRL when the CA has no
 * authority at all and no CRL of it revokes the serial. Thread-safe, no allocation. */
enum jitrd_err jitrd_crl_lookup(const struct jitrd_crl_store *store, const struct jitrd_cert *ca,
                                const ASN1_INTEGER *serial, time_t now,
                                struct jitrd_crl_answer *out) JITRD_WUR;

/* A partition whose CRLs were all below the floor, for the log and the metric. Borrowed. */
struct jitrd_crl_rollback {
	const char *ca_id;     /* the first CA certificate of the issuer */
	const char *origin;    /* file of the best CRL refused */
	const char *partition; /* distribution point (text), "" for the complete scope */
	char number[48];       /* its cRLNumber (decimal), "none" when it has none */
	char floor[48];        /* the highest accepted before (decimal) */
};
size_t jitrd_crl_store_rollback_count(const struct jitrd_crl_store *store);
const struct jitrd_crl_rollback *jitrd_crl_store_rollback_at(const struct jitrd_crl_store *store,
                                                             size_t i);

/* ---- rollback floors: a text file the service keeps in its state directory --------------
 * "jitrd-crl-numbers 1\n", then one line per issuer and partition:
 * "<issuer: 64 hex> <partition: 64 hex or -> <cRLNumber: lowercase hex, no leading zeros>\n",
 * then "end <count>\n". issuer = SHA-256(subject DER || public key bits) of the CA,
 * partition = SHA-256 of the DER of the distribution point name, - for the complete scope. */
#define JITRD_CRL_FLOORS_MAX_BYTES   (4u * 1024 * 1024)
#define JITRD_CRL_FLOORS_MAX_ENTRIES 20000u

/* An empty set; NULL on ENOMEM. */
struct jitrd_crl_floors *jitrd_crl_floors_new(void);
void jitrd_crl_floors_free(struct jitrd_crl_floors *floors); /* NULL is fine */
size_t jitrd_crl_floors_count(const struct jitrd_crl_floors *floors);

/* Parses text (len bytes, need not be NUL-terminated) strictly: any deviation from the format
 * above (a truncated file, a bad or repeated key, a number over 20 octets, a count that
 * disagrees) is JITRD_ERR_MALFORMED with "origin:line: why" in diag; over the limits
 * JITRD_ERR_TOO_LARGE. *out owned by the caller, written only on success. */
enum jitrd_err jitrd_crl_floors_parse(const char *origin, const char *text, size_t len,
                                      struct jitrd_crl_floors **out,
                                      struct jitrd_diag *diag) JITRD_WUR;

/* The text of floors (NUL-terminated, *len without it), sorted; *out freed with
 * OPENSSL_free. JITRD_ERR_INVALID_ARG, JITRD_ERR_NOMEM. */
enum jitrd_err jitrd_crl_floors_format(const struct jitrd_crl_floors *floors, char **out,
                                       size_t *len) JITRD_WUR;

/* The floors after this snapshot: previous (may be NULL) raised to the number of each
 * partition's authority. Entries of issuers not in the store are kept. *out owned by the
 * caller. JITRD_ERR_INVALID_ARG, JITRD_ERR_NOMEM. */
enum jitrd_err jitrd_crl_store_floors(const struct jitrd_crl_store *store,
                                      const struct jitrd_crl_floors *previous,
                                      struct jitrd_crl_floors **out) JITRD_WUR;

/* floors raised to every number of other (NULL: nothing). JITRD_ERR_INVALID_ARG,
 * JITRD_ERR_NOMEM, JITRD_ERR_TOO_LARGE (past JITRD_CRL_FLOORS_MAX_ENTRIES). */
enum jitrd_err jitrd_crl_floors_raise(struct jitrd_crl_floors *floors,
                                      const struct jitrd_crl_floors *other) JITRD_WUR;

/* The issuer key of ca as it appears in the floors file (64 hex and a NUL); false when ca is
 * not one of the store's CAs. */
bool jitrd_crl_store_issuer_key(const struct jitrd_crl_store *store, const struct jitrd_cert *ca,
                                char out[65]);

/* "keyCompromise", "certificateHold", ... ; "unspecified" for JITRD_CRL_REASON_NONE. */
const char *jitrd_crl_reason_name(int reason);

#endif
