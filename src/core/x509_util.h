/* x509_util.h — private to src/core: the OpenSSL helpers cert.c, caset.c and crl.c share
 * (implemented in cert.c), so that they agree on out-of-memory, passwords, names and times.
 * Pure: no I/O; they read OpenSSL's error queue but leave it as they found it. */
#ifndef JITRD_X509_UTIL_H
#define JITRD_X509_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include <openssl/asn1.h>
#include <openssl/x509.h>

#include "jitrd/error.h"

/* After an OpenSSL call failed: JITRD_ERR_NOMEM when OpenSSL queued an allocation failure
 * (first or last entry: it is usually first, with "nested asn1 error" after it), else
 * `otherwise` (decoding outside bytes: the bytes' fault). */
enum jitrd_err jitrd_openssl_failure(enum jitrd_err otherwise);

/* pem_password_cb that refuses: an encrypted PEM block must never make OpenSSL prompt on a
 * terminal (its default callback does when no password is given). */
int jitrd_pem_no_password(char *buf, int size, int rwflag, void *userdata);

/* An X.509 name for a message, "/C=US/O=Example Corp/CN=...", quoted with jitrd_quote (it
 * comes from outside); "(unprintable name)" when OpenSSL cannot print it. */
void jitrd_name_for_message(const X509_NAME *name, char *out, size_t out_size);

/* An ASN.1 time as time_t (UTC). False when it cannot be read or represented. */
bool jitrd_asn1_time_to_time_t(const ASN1_TIME *t, time_t *out);

/* The digest's short name when sig_nid (a signature algorithm) uses MD2, MD4, MD5 or SHA-1:
 * such signatures can be forged or collided (RFC 6151, RFC 9155), so what they sign proves
 * nothing about its signer. NULL for any other (or an unknown) algorithm. */
const char *jitrd_weak_signature_digest(int sig_nid);

#endif
