/* ca_register.c — `jitrd ca register` (DESIGN §4.6): GetRegistrationCode, a verification
 * certificate made in memory and signed by the CA key, RegisterCACertificate. Everything local
 * (the CA certificate, its key and their match) is checked before anything is asked of AWS;
 * key bytes are never printed. */
#include "operator_internal.h"

#include <stdio.h>
#include <stdlib.h>

#include "jitrd/files.h"
#include "jitrd/operator.h"

enum jitrd_err jitrd_operator_ca_register(struct jitrd_iot_session *s, int64_t deadline,
                                          const char *ca_pem, size_t ca_pem_len, EVP_PKEY *ca_key,
                                          bool set_active, bool auto_registration, time_t now,
                                          struct jitrd_iot_registered *out,
                                          struct jitrd_iot_result *res, struct jitrd_diag *diag)
{
	enum jitrd_err result;
	struct jitrd_cert *ca = NULL;
	struct jitrd_iot_result scratch = {0};
	struct jitrd_iot_registered registered;
	char code[65] = "";
	char *verification_pem = NULL;
	char *ca_single_pem = NULL;

	if (!res)
		res = &scratch;
	result = jitrd_cert_from_pem(ca_pem, ca_pem_len, &ca, diag);
	if (result != JITRD_OK)
		goto cleanup;
	result = jitrd_operator_check_ca_key(ca, ca_key, diag);
	if (result != JITRD_OK)
		goto cleanup;
	/* Exactly the certificate checked, whatever else the file holds. */
	result = operator_x509_to_pem(jitrd_cert_x509(ca), &ca_single_pem);
	if (result != JITRD_OK)
		goto cleanup;
	result = jitrd_iot_get_registration_code(s, deadline, code, res, diag);
	if (result != JITRD_OK)
		goto cleanup;
	result = jitrd_operator_make_verification(ca, ca_key, code, now, &verification_pem, diag);
	if (result != JITRD_OK)
		goto cleanup;
	result = jitrd_iot_register_ca_certificate(s, deadline, ca_single_pem, verification_pem,
	                                           set_active, auto_registration, &registered, res,
	                                           diag);
	if (result != JITRD_OK)
		goto cleanup;
	*out = registered;
cleanup:
	free(verification_pem);
	free(ca_single_pem);
	jitrd_cert_free(ca);
	return result;
}

enum jitrd_exit jitrd_command_ca_register(const struct jitrd_command_options *o,
                                          const struct jitrd_ca_register_args *a)
{
	struct jitrd_online online = {0};
	struct jitrd_diag diag = {{0}};
	struct jitrd_iot_result res = {0};
	struct jitrd_iot_registered registered;
	struct jitrd_cert *ca = NULL;
	EVP_PKEY *key = NULL;
	char *ca_pem = NULL;
	size_t ca_len = 0;
	enum jitrd_err err;
	enum jitrd_exit status = JITRD_EXIT_USAGE;

	/* Everything local is checked before anything is asked of AWS. */
	err = jitrd_file_read(a->ca_cert, JITRD_CERT_MAX_PEM, &ca_pem, &ca_len, &diag);
	if (err == JITRD_OK)
		err = jitrd_cert_from_pem(ca_pem, ca_len, &ca, &diag);
	if (err != JITRD_OK) {
		fprintf(stderr, "jitrd: --ca-cert %s: %s\n", a->ca_cert, diag.text);
		goto cleanup;
	}
	err = jitrd_operator_load_ca_key(a->ca_key, a->allow_insecure_key, &key, &diag);
	if (err != JITRD_OK) {
		fprintf(stderr, "jitrd: --ca-key %s\n", diag.text);
		goto cleanup;
	}
	if (a->allow_insecure_key)
		fprintf(stderr,
		        "jitrd: warning: --allow-insecure-key: %s is used whatever its "
		        "permissions\n",
		        a->ca_key);
	err = jitrd_operator_check_ca_key(ca, key, &diag);
	if (err != JITRD_OK) {
		fprintf(stderr, "jitrd: --ca-key %s, --ca-cert %s: %s\n", a->ca_key, a->ca_cert,
		        diag.text);
		goto cleanup;
	}
	if (operator_online_open(&online, o, false, false) != JITRD_OK)
		goto cleanup;
	err = jitrd_operator_ca_register(
	    online.session, jitrd_iot_deadline_in(operator_request_timeout_ms(&online)), ca_pem,
	    ca_len, key, a->activate, a->auto_registration, time(NULL), &registered, &res, &diag);
	if (err != JITRD_OK) {
		operator_print_failure("ca register", err, &res, &diag);
		status = err == JITRD_ERR_CRYPTO || err == JITRD_ERR_NOMEM ? JITRD_EXIT_USAGE
		                                                           : JITRD_EXIT_WORK_FAILED;
		goto cleanup;
	}
	printf("%s\n", registered.certificate_id);
	fprintf(stderr, "jitrd: CA registered: %s (%s, auto-registration %s)\n",
	        registered.certificate_arn, a->activate ? "ACTIVE" : "INACTIVE",
	        a->auto_registration ? "enabled" : "disabled");
	status = JITRD_EXIT_OK;
cleanup:
	jitrd_online_close(&online);
	EVP_PKEY_free(key); /* OpenSSL wipes the private key as it frees it */
	jitrd_cert_free(ca);
	free(ca_pem);
	return status;
}
