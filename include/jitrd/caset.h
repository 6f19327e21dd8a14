/* caset.h — our CA certificates, indexed by AWS id (SHA-256 of DER) and by subject + key id.
 * Pure: the caller reads the files and hands in their bytes. */
#ifndef JITRD_CASET_H
#define JITRD_CASET_H

#include <stddef.h>

#include "jitrd/cert.h"
#include "jitrd/error.h"

struct jitrd_caset;

struct jitrd_caset *jitrd_caset_new(void); /* NULL on allocation failure */
void jitrd_caset_free(struct jitrd_caset *set); /* NULL is fine */

/* Adds every certificate of a PEM buffer (len bytes) read from file `origin` (for messages).
 * Each must be a CA certificate (basicConstraints CA:TRUE); duplicates (same id) are skipped.
 * On any error nothing of this buffer is added and diag says `origin: reason`.
 * Errors: JITRD_ERR_MALFORMED (no certificate, bad PEM), JITRD_ERR_TOO_LARGE (> 1 MiB),
 * JITRD_ERR_BAD_FIELD (a certificate that is not a CA), JITRD_ERR_NOMEM. */
enum jitrd_err jitrd_caset_add_pem(struct jitrd_caset *set, const char *origin, const char *pem,
				   size_t len, struct jitrd_diag *diag) JITRD_WUR;

size_t jitrd_caset_count(const struct jitrd_caset *set);
const struct jitrd_cert *jitrd_caset_at(const struct jitrd_caset *set, size_t i); /* borrowed */
const char *jitrd_caset_origin_at(const struct jitrd_caset *set, size_t i);       /* file it came from */

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
						  const X509_NAME *name,
						  const unsigned char *akid, size_t akid_len);

/* The next such match after `after` (a CA of set returned by one of these two; NULL starts
 * from the first), in the order the CAs were added; NULL when there is no further one. For
 * callers that must try every CA of a name, e.g. the one whose key verifies a CRL. */
const struct jitrd_cert *jitrd_caset_find_by_name_next(const struct jitrd_caset *set,
						       const X509_NAME *name,
						       const unsigned char *akid,
						       size_t akid_len,
						       const struct jitrd_cert *after);

#endif
