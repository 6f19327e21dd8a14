/* cert.h — an X.509 certificate as jitrd sees it: AWS id, serial, subject fields, key ids;
 * "signed by" and the device profile ("not a CA", fit for a TLS client). Path validation
 * (RFC 5280 §6.1) is caset.h's. Pure: bytes in, no I/O. */
#ifndef JITRD_CERT_H
#define JITRD_CERT_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "jitrd/error.h"

#define JITRD_CERT_MAX_PEM (64 * 1024)

struct jitrd_cert; /* opaque, immutable once made */

enum jitrd_subject_field {
	JITRD_SUBJECT_CN,
	JITRD_SUBJECT_O,
	JITRD_SUBJECT_OU,
	JITRD_SUBJECT_C,
	JITRD_SUBJECT_ST,
	JITRD_SUBJECT_L,
	JITRD_SUBJECT_SERIAL_NUMBER,
	JITRD_SUBJECT_FIELD_COUNT
};

/* Parses the first certificate of a PEM buffer (len bytes; need not be NUL-terminated).
 * Errors: JITRD_ERR_TOO_LARGE (> JITRD_CERT_MAX_PEM), JITRD_ERR_MALFORMED (no certificate,
 * bad base64/DER, trailing garbage inside the PEM block), JITRD_ERR_NOMEM.
 * On success *out is owned by the caller; free with jitrd_cert_free. */
enum jitrd_err jitrd_cert_from_pem(const char *pem, size_t len, struct jitrd_cert **out,
                                   struct jitrd_diag *diag) JITRD_WUR;

/* Same from DER bytes. */
enum jitrd_err jitrd_cert_from_der(const unsigned char *der, size_t len, struct jitrd_cert **out,
                                   struct jitrd_diag *diag) JITRD_WUR;

/* Takes a reference on x (X509_up_ref); x stays the caller's too. */
enum jitrd_err jitrd_cert_from_x509(X509 *x, struct jitrd_cert **out,
                                    struct jitrd_diag *diag) JITRD_WUR;

void jitrd_cert_free(struct jitrd_cert *cert); /* NULL is fine */

/* Borrowed views, valid while cert lives. */
X509 *jitrd_cert_x509(const struct jitrd_cert *cert);
const char *jitrd_cert_id(const struct jitrd_cert *cert); /* 64 lowercase hex: SHA-256 of DER */
const char *
jitrd_cert_serial_hex(const struct jitrd_cert *cert); /* lowercase hex, no leading zeros but "0" */
const ASN1_INTEGER *jitrd_cert_serial(const struct jitrd_cert *cert);
const X509_NAME *jitrd_cert_issuer(const struct jitrd_cert *cert);
const X509_NAME *jitrd_cert_subject(const struct jitrd_cert *cert);
/* Key identifiers: NULL and *len = 0 when the extension is absent. */
const unsigned char *jitrd_cert_subject_key_id(const struct jitrd_cert *cert, size_t *len);
const unsigned char *jitrd_cert_authority_key_id(const struct jitrd_cert *cert, size_t *len);
bool jitrd_cert_is_ca(const struct jitrd_cert *cert); /* basicConstraints CA:TRUE */

/* One subject field as UTF-8 (borrowed). JITRD_ERR_FIELD_ABSENT if missing,
 * JITRD_ERR_FIELD_AMBIGUOUS if present more than once, JITRD_ERR_BAD_FIELD if it holds an
 * embedded NUL or is not valid UTF-8. *value written only on success. */
enum jitrd_err jitrd_cert_subject_field(const struct jitrd_cert *cert,
                                        enum jitrd_subject_field field,
                                        const char **value) JITRD_WUR;

/* "CN", "O", ... as used in template names subject.CN etc. */
const char *jitrd_subject_field_name(enum jitrd_subject_field field);

/* Which name of a certificate: its subject, or its issuer. */
enum jitrd_cert_party { JITRD_CERT_SUBJECT, JITRD_CERT_ISSUER };

/* The GeneralName forms AWS IoT exposes as policy variables (RFC 5280 §4.2.1.6). */
enum jitrd_alt_name_type {
	JITRD_ALT_RFC822_NAME,
	JITRD_ALT_DNS_NAME,
	JITRD_ALT_DIRECTORY_NAME,
	JITRD_ALT_URI,
	JITRD_ALT_IP_ADDRESS,
};

/* Receives one value: len bytes of UTF-8 (not NUL-terminated; may hold a NUL or invalid
 * UTF-8 when the certificate does), borrowed for the call. Non-zero stops the walk. */
typedef int (*jitrd_cert_value_fn)(void *ctx, const char *value, size_t len);

/* Every value of the attribute nid (an OpenSSL NID: NID_commonName, NID_title, ...) in the
 * subject or issuer name, in the certificate's order, converted to UTF-8. *count (may be
 * NULL) is the number of values delivered. Errors: JITRD_ERR_BAD_FIELD when a value cannot be
 * converted (no more are delivered), JITRD_ERR_NOMEM, JITRD_ERR_INVALID_ARG. */
enum jitrd_err jitrd_cert_name_values(const struct jitrd_cert *cert, enum jitrd_cert_party party,
                                      int nid, jitrd_cert_value_fn fn, void *ctx,
                                      size_t *count) JITRD_WUR;

/* Every entry of one form in the subjectAltName (party SUBJECT) or issuerAltName (ISSUER)
 * extension, in order: rfc822Name, dNSName and URI as their IA5String bytes, an iPAddress as
 * text (dotted IPv4, or eight colon-separated hex groups for IPv6), a directoryName as its
 * attribute values joined by ',' (each value as in jitrd_cert_name_values). No extension is
 * zero values. Errors: JITRD_ERR_BAD_FIELD (an extension that does not decode, or a value
 * that cannot be converted), JITRD_ERR_NOMEM, JITRD_ERR_INVALID_ARG. */
enum jitrd_err jitrd_cert_alt_name_values(const struct jitrd_cert *cert,
                                          enum jitrd_cert_party party,
                                          enum jitrd_alt_name_type type, jitrd_cert_value_fn fn,
                                          void *ctx, size_t *count) JITRD_WUR;

/* The signature of cert verifies with ca's public key (X509_verify == 1) and cert's issuer
 * name equals ca's subject. JITRD_ERR_CERT_SIGNATURE otherwise. */
enum jitrd_err jitrd_cert_verify_signed_by(const struct jitrd_cert *cert,
                                           const struct jitrd_cert *ca) JITRD_WUR;

/* X509_check_ca != 0: the certificate may sign certificates (CA:TRUE with keyCertSign when
 * keyUsage is present, or a v1 self-signed certificate). */
bool jitrd_cert_may_sign_certificates(const struct jitrd_cert *cert);

/* What DESIGN §3.5 asks of a device beyond path validation, in this order: not a CA
 * (JITRD_ERR_CERT_IS_CA: basicConstraints CA:TRUE, keyCertSign, v1 self-signed); fit for a
 * TLS client (JITRD_ERR_BAD_FIELD: a keyUsage without digitalSignature, an extendedKeyUsage
 * without clientAuth or anyExtendedKeyUsage). JITRD_ERR_INVALID_ARG for a NULL cert. The
 * reason goes to diag (may be NULL). */
enum jitrd_err jitrd_cert_check_device_profile(const struct jitrd_cert *cert,
                                               struct jitrd_diag *diag) JITRD_WUR;

/* The certificate's CRL Distribution Points (RFC 5280 §4.2.1.13), decoded: *out NULL when the
 * extension is absent, else owned by the caller (CRL_DIST_POINTS_free). JITRD_ERR_MALFORMED
 * when it is unreadable or repeated, JITRD_ERR_NOMEM, JITRD_ERR_INVALID_ARG. *out written
 * only on success. */
enum jitrd_err jitrd_cert_crl_distribution_points(const struct jitrd_cert *cert,
                                                  CRL_DIST_POINTS **out) JITRD_WUR;

#endif
