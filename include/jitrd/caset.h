/* caset.h — our CA certificates, indexed by AWS id (SHA-256 of DER) and by subject + key id,
 * and path validation of devices under them (OpenSSL's verifier, RFC 5280 §6.1).
 * Pure: the caller reads the files and hands in their bytes and the time. */
#ifndef JITRD_CASET_H
#define JITRD_CASET_H

#include <stddef.h>
#include <time.h>

#include "jitrd/cert.h"
#include "jitrd/error.h"

struct jitrd_caset;

struct jitrd_caset *jitrd_caset_new(void);      /* NULL on allocation failure */
void jitrd_caset_free(struct jitrd_caset *set); /* NULL is fine */

/* Adds every certificate of a PEM buffer (len bytes) read from file `origin` (for messages).
 * Each must be a CA certificate (basicConstraints CA:TRUE); duplicates (same id) are skipped.
 * Each CA's verifier store is made here, once. On any error nothing of this buffer is added
 * and diag says `origin: reason`.
 * Errors: JITRD_ERR_MALFORMED (no certificate, bad PEM, undecodable policy extensions),
 * JITRD_ERR_TOO_LARGE (> 1 MiB), JITRD_ERR_BAD_FIELD (a certificate that is not a CA),
 * JITRD_ERR_NOMEM. The set must not change while other threads use it. */
enum jitrd_err jitrd_caset_add_pem(struct jitrd_caset *set, const char *origin, const char *pem,
                                   size_t len, struct jitrd_diag *diag) JITRD_WUR;

size_t jitrd_caset_count(const struct jitrd_caset *set);
const struct jitrd_cert *jitrd_caset_at(const struct jitrd_caset *set, size_t i); /* borrowed */
const char *jitrd_caset_origin_at(const struct jitrd_caset *set, size_t i); /* file it came from */

/* By AWS CA id (64 hex, either case). NULL if not ours. Borrowed. */
const struct jitrd_cert *jitrd_caset_find_id(const struct jitrd_caset *set, const char *ca_id);

/* The CA that issued cert: subject == cert's issuer and, when both carry key ids, the CA's
 * subject key id == cert's authority key id (so a same-name impostor does not match).
 * Several CAs may match (a key rollover keeps the name; a certificate without key ids matches
 * every CA of that name): then the one whose key verifies cert's signature; if none does, the
 * first match, so that the caller's own signature check reports the failure. NULL if no CA
 * matches by name (and key id). Borrowed. */
const struct jitrd_cert *jitrd_caset_find_issuer(const struct jitrd_caset *set,
                                                 const struct jitrd_cert *cert);

/* The first CA with subject == name and, when both carry key ids, subject key id == akid
 * (akid NULL/0 if absent, e.g. a CRL without authorityKeyIdentifier). NULL if none. Borrowed.
 * Signature NOT checked: several CAs may match; see jitrd_caset_find_by_name_next. */
const struct jitrd_cert *jitrd_caset_find_by_name(const struct jitrd_caset *set,
                                                  const X509_NAME *name, const unsigned char *akid,
                                                  size_t akid_len);

/* The next such match after `after` (a CA of set returned by one of these two; NULL starts
 * from the first), in the order the CAs were added; NULL when there is no further one. For
 * callers that must try every CA of a name, e.g. the one whose key verifies a CRL. */
const struct jitrd_cert *jitrd_caset_find_by_name_next(const struct jitrd_caset *set,
                                                       const X509_NAME *name,
                                                       const unsigned char *akid, size_t akid_len,
                                                       const struct jitrd_cert *after);

/* DESIGN §3.5 for a device under ca (a CA of set): jitrd_cert_check_device_profile, then
 * OpenSSL's path validation (X509_verify_cert, RFC 5280 §6.1) at `now` with ca as the trust
 * anchor: the device's signature and validity, the CA's validity and keyUsage, the CA's name
 * constraints and policy constraints, strict RFC 5280 profile checks, unknown critical
 * extensions; MD5 and SHA-1 signatures refused, the CA's own included. No CRL is consulted.
 * Errors, the first failure with its reason in diag (may be NULL): JITRD_ERR_CERT_IS_CA,
 * JITRD_ERR_BAD_FIELD (usages, unknown critical extension), JITRD_ERR_CERT_SIGNATURE (not
 * issued by ca), JITRD_ERR_CERT_EXPIRED, JITRD_ERR_CERT_NOT_YET_VALID, JITRD_ERR_MALFORMED
 * (unreadable dates), JITRD_ERR_CA_UNUSABLE, JITRD_ERR_NAME_CONSTRAINTS,
 * JITRD_ERR_CERT_POLICY, JITRD_ERR_WEAK_SIGNATURE, JITRD_ERR_CERT_PATH (any other),
 * JITRD_ERR_INVALID_ARG (NULL cert, ca not in set), JITRD_ERR_NOMEM, JITRD_ERR_CRYPTO.
 * Safe to call from several threads at once on the same set. */
enum jitrd_err jitrd_caset_verify_device(const struct jitrd_caset *set, const struct jitrd_cert *ca,
                                         const struct jitrd_cert *cert, time_t now,
                                         struct jitrd_diag *diag) JITRD_WUR;

/* Whether the i-th CA can anchor a device's path at `now`: within its validity, allowed to
 * sign certificates (keyCertSign when keyUsage is present), not signed with MD5 or SHA-1.
 * JITRD_OK, or JITRD_ERR_CA_UNUSABLE / JITRD_ERR_WEAK_SIGNATURE with the reason in diag;
 * JITRD_ERR_INVALID_ARG for a bad index. For config-check: such a CA activates nothing. */
enum jitrd_err jitrd_caset_check_ca(const struct jitrd_caset *set, size_t i, time_t now,
                                    struct jitrd_diag *diag) JITRD_WUR;

/* Makes anchors (another set, borrowed: it must outlive set) the trust anchors of every path
 * instead of each CA itself (RFC 5280 §6.1.1(d)): each CA of set then must chain to one of them
 * and is validated as an intermediate (its validity, keyUsage, constraints, the signature its
 * issuer made). Call once, after the last jitrd_caset_add_pem (CAs added later are anchored
 * too). On error set is unchanged. JITRD_ERR_INVALID_ARG (NULL, empty, set itself, already
 * set), JITRD_ERR_NOMEM. */
enum jitrd_err jitrd_caset_set_anchors(struct jitrd_caset *set,
                                       const struct jitrd_caset *anchors) JITRD_WUR;

/* The anchors of set, or NULL when each CA is its own anchor. Borrowed. */
const struct jitrd_caset *jitrd_caset_anchors(const struct jitrd_caset *set);

/* A remark on the i-th CA that is not a problem (static text), or NULL. */
const char *jitrd_caset_ca_note(const struct jitrd_caset *set, size_t i);

#endif
