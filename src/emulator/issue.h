/* issue.h — the emulator's stand-in for the CA with which AWS IoT signs the certificates of
 * CreateKeysAndCertificate: a key pair made on request and a certificate for it. No I/O: the
 * issuer comes as PEM text (or is made in memory), the time is passed in. */
#ifndef JITRD_EMU_ISSUE_H
#define JITRD_EMU_ISSUE_H

#include <stdint.h>

#include "jitrd/error.h"

struct emu_issuer;

/* The issuer from cert_pem and key_pem (both NULL: a fresh self-signed one, made in memory).
 * The key must be the certificate's. *out owned by the caller (emu_issuer_free).
 * Errors: JITRD_ERR_INVALID_ARG (one of the two missing, unreadable, or not a pair),
 * JITRD_ERR_CRYPTO, JITRD_ERR_NOMEM. */
enum jitrd_err emu_issuer_new(const char *cert_pem, const char *key_pem,
                              struct emu_issuer **out) JITRD_WUR;
void emu_issuer_free(struct emu_issuer *issuer); /* NULL is fine */

/* A new RSA 2048 key pair and a certificate for it signed by the issuer, valid from now_ms to
 * 2049-12-31T23:59:59Z, as AWS IoT makes them. The three PEM strings (the certificate, the
 * private key in PKCS#1 form, the public key) are owned by the caller (free; the private key
 * is cleansed first by emu_issue_pem_free). Written only on success.
 * Errors: JITRD_ERR_CRYPTO, JITRD_ERR_NOMEM. */
enum jitrd_err emu_issue_keys_and_certificate(const struct emu_issuer *issuer, int64_t now_ms,
                                              char **cert_pem, char **private_pem,
                                              char **public_pem) JITRD_WUR;

/* Wipes and frees a PEM string of emu_issue_keys_and_certificate. NULL is fine. */
void emu_issue_pem_free(char *pem);

#endif
