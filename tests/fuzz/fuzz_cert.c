/* fuzz_cert.c — libFuzzer target for cert.c: the bytes as PEM and as DER; on success every
 * accessor and check runs (the certificate against itself as CA). Must not crash, leak, or
 * leave an OpenSSL error queued. Seeds: tests/fuzz/corpus/cert (fixture certificates). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>

#include "jitrd/cert.h"

static void exercise(const struct jitrd_cert *cert)
{
	struct jitrd_diag diag;
	size_t len;
	const unsigned char *kid;
	volatile size_t sink = 0;

	sink += strlen(jitrd_cert_id(cert));
	sink += strlen(jitrd_cert_serial_hex(cert));
	sink += jitrd_cert_serial(cert) != NULL;
	sink += jitrd_cert_issuer(cert) != NULL;
	sink += jitrd_cert_subject(cert) != NULL;
	sink += jitrd_cert_x509(cert) != NULL;
	kid = jitrd_cert_subject_key_id(cert, &len);
	for (size_t i = 0; kid && i < len; i++)
		sink += kid[i];
	kid = jitrd_cert_authority_key_id(cert, &len);
	for (size_t i = 0; kid && i < len; i++)
		sink += kid[i];
	sink += jitrd_cert_is_ca(cert);
	for (int f = 0; f <= JITRD_SUBJECT_FIELD_COUNT; f++) {
		const char *value = NULL;
		if (jitrd_cert_subject_field(cert, (enum jitrd_subject_field)f, &value) == JITRD_OK)
			sink += strlen(value);
		sink += strlen(jitrd_subject_field_name((enum jitrd_subject_field)f));
	}
	sink += jitrd_cert_may_sign_certificates(cert);
	sink += (size_t)jitrd_cert_verify_signed_by(cert, cert);
	sink += (size_t)jitrd_cert_check_device_profile(cert, &diag);
	(void)sink;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct jitrd_cert *cert = NULL;
	struct jitrd_diag diag;

	if (jitrd_cert_from_pem((const char *)data, size, &cert, &diag) == JITRD_OK) {
		exercise(cert);
		jitrd_cert_free(cert);
		cert = NULL;
	}
	if (jitrd_cert_from_der(data, size, &cert, &diag) == JITRD_OK) {
		exercise(cert);
		jitrd_cert_free(cert);
	}
	/* The module promises to leave nothing on the queue. */
	if (ERR_peek_error() != 0)
		abort();
	return 0;
}
