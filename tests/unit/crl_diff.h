/* crl_diff.h — the differential check of the streaming CRL parser (crl_der.c) against
 * OpenSSL's full parse: d2i_X509_CRL + X509_CRL_verify are the oracle. Each side reads one
 * CRL's DER and writes what it saw as text (issuer, dates, numbers, every serial with its
 * reason), so two readings compare with strcmp. Shared by test_crl_stream and the fuzz target.
 * Test code. */
#ifndef JITRD_TEST_CRL_DIFF_H
#define JITRD_TEST_CRL_DIFF_H

#include <stdbool.h>
#include <stddef.h>

#include <openssl/x509.h>

struct crl_reading {
	bool parsed;   /* one whole CertificateList, nothing after it */
	bool verified; /* and a CA of pool with the issuer's name verifies it */
	char *facts;   /* what was read (when parsed); free with crl_reading_cleanup */
};

void crl_reading_cleanup(struct crl_reading *r);

/* d2i_X509_CRL, then X509_CRL_verify with each CA of pool whose subject is the issuer. */
void crl_read_oracle(const unsigned char *der, size_t len, STACK_OF(X509) * pool,
                     struct crl_reading *out);

/* jitrd_crl_der_parse, then jitrd_crl_der_verify the same way. */
void crl_read_stream(const unsigned char *der, size_t len, STACK_OF(X509) * pool,
                     struct crl_reading *out);

/* true when both readings agree; else why (truncated to size) says how they differ. */
bool crl_readings_agree(const struct crl_reading *oracle, const struct crl_reading *stream,
                        char *why, size_t size);

#endif
