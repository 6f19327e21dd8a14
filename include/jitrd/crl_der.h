/* crl_der.h — one pass over a DER CertificateList (RFC 5280 §5.1) that builds no object per
 * revoked entry: the small fields are decoded with OpenSSL's d2i functions, the entries are
 * walked in place, and the signature is checked over the exact tbsCertList bytes. Also the
 * PEM reader that decodes "X509 CRL" blocks without a second copy of the file.
 * Pure: bytes in, no I/O, no clock, no logging. The CRL store (crl.c) applies the rules. */
#ifndef JITRD_CRL_DER_H
#define JITRD_CRL_DER_H

#include <stdbool.h>
#include <stddef.h>

#include <openssl/asn1.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "jitrd/error.h"

/* serial_octets[] counts non-negative serials by magnitude length; longer ones share the last */
#define JITRD_CRL_DER_SERIAL_BUCKETS 22

/* One parsed CertificateList. The pointers into the DER are borrowed from the caller's
 * buffer (which must outlive this); the OpenSSL objects are owned and freed by
 * jitrd_crl_der_cleanup. */
struct jitrd_crl_der {
	const unsigned char *tbs; /* tbsCertList with its header: what the signature covers */
	size_t tbs_len;
	ASN1_INTEGER *version; /* NULL when absent (v1) */
	X509_ALGOR *tbs_alg;   /* tbsCertList.signature */
	X509_NAME *issuer;
	ASN1_TIME *this_update;
	ASN1_TIME *next_update;       /* NULL when absent */
	const unsigned char *entries; /* contents of revokedCertificates; NULL when absent */
	size_t entries_len;
	size_t entry_count;
	size_t negative_serials; /* entries whose serial is negative */
	size_t serial_octets[JITRD_CRL_DER_SERIAL_BUCKETS];
	STACK_OF(X509_EXTENSION) * extensions; /* crlExtensions; NULL when absent */
	X509_ALGOR *alg;                       /* signatureAlgorithm */
	ASN1_BIT_STRING *signature;
};

/* Parses the CertificateList at the start of der (len bytes; what follows it is the caller's
 * business: *used says where it ends). Every entry and every extension is checked for form
 * (DER tags and lengths, INTEGER and time encodings as d2i_X509_CRL checks them), so that a
 * later walk cannot fail. Indefinite lengths and constructed OCTET STRINGs are refused: RFC
 * 5280 §5.1 requires DER. *out is cleaned up first and filled only on success.
 * JITRD_ERR_MALFORMED, JITRD_ERR_NOMEM, JITRD_ERR_INVALID_ARG. */
enum jitrd_err jitrd_crl_der_parse(const unsigned char *der, size_t len, struct jitrd_crl_der *out,
                                   size_t *used) JITRD_WUR;
void jitrd_crl_der_cleanup(struct jitrd_crl_der *crl); /* NULL is fine; zeroes it */

/* Verifies the signature with key: signatureAlgorithm must equal tbsCertList.signature
 * (RFC 5280 §5.1.1.2), the algorithm is mapped as OpenSSL's ASN1_item_verify maps it
 * (PKCS#1 v1.5 and ECDSA with their digest, RSA-PSS with its parameters, Ed25519, Ed448),
 * then EVP_DigestVerify over tbs. Does not judge digest strength, except that RSA-PSS over
 * MD5 or SHA-1 is refused. JITRD_OK when it verifies, JITRD_ERR_CRL_SIGNATURE when it does
 * not or the algorithm is not one of those, JITRD_ERR_NOMEM. */
enum jitrd_err jitrd_crl_der_verify(const struct jitrd_crl_der *crl, EVP_PKEY *key) JITRD_WUR;

/* Walks the entries of a parsed CRL. */
struct jitrd_crl_der_cursor {
	const unsigned char *p, *end;
	ASN1_INTEGER *serial; /* reused from entry to entry */
	ASN1_TIME *date;
};

/* One entry: serial borrowed from the cursor until the next call; extensions points at the
 * contents of its crlEntryExtensions (NULL, 0 when it has none). */
struct jitrd_crl_der_entry {
	const ASN1_INTEGER *serial;
	const unsigned char *extensions;
	size_t extensions_len;
};

void jitrd_crl_der_cursor_init(struct jitrd_crl_der_cursor *c, const struct jitrd_crl_der *crl);
void jitrd_crl_der_cursor_cleanup(struct jitrd_crl_der_cursor *c);

/* JITRD_OK with *entry filled, or *done set at the end (then *entry untouched);
 * JITRD_ERR_MALFORMED (not after a successful jitrd_crl_der_parse), JITRD_ERR_NOMEM. */
enum jitrd_err jitrd_crl_der_next_entry(struct jitrd_crl_der_cursor *c,
                                        struct jitrd_crl_der_entry *entry, bool *done) JITRD_WUR;

/* One Extension (RFC 5280 §4.1): value points at the contents of extnValue. nid is
 * NID_undef for an OID OpenSSL does not know; oid/oid_len is the OID's full DER (for a
 * message, d2i_ASN1_OBJECT). */
struct jitrd_crl_der_ext {
	int nid;
	bool critical;
	const unsigned char *oid;
	size_t oid_len;
	const unsigned char *value;
	size_t value_len;
};

/* Reads the next Extension of a list at *p (before end), advancing *p; *done at the end.
 * JITRD_ERR_MALFORMED, JITRD_ERR_NOMEM. */
enum jitrd_err jitrd_crl_der_next_ext(const unsigned char **p, const unsigned char *end,
                                      struct jitrd_crl_der_ext *ext, bool *done) JITRD_WUR;

/* Finds the next "-----BEGIN X509 CRL-----" block in text[*pos, len) and decodes its base64
 * into out (which may be text itself: decoding writes behind what it reads, so a file can be
 * decoded in place; else out must hold (len - *pos) * 3 / 4 + 3 bytes). Other PEM blocks and
 * the text between blocks are skipped, as OpenSSL's PEM reader does. On return *pos is past
 * what was read. JITRD_OK with *der_len, *done when no further block, JITRD_ERR_MALFORMED for
 * a block without its END line, with headers (encrypted), or with bad base64. */
enum jitrd_err jitrd_crl_pem_next(const unsigned char *text, size_t len, size_t *pos,
                                  unsigned char *out, size_t *der_len, bool *done) JITRD_WUR;

#endif
