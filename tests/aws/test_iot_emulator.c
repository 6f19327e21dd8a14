/* test_iot_emulator.c — integration: every operation of the IoT client against the real
 * iot-emulator (started on 127.0.0.1, port 0): the bring-your-own-CA workflow with a
 * verification certificate made by the OpenSSL CLI, device registration and activation,
 * policy, Thing, paging, and AWS's errors (not found, duplicate, state rules, bad signature). */
#include "jitrd/iot_client.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "stub_server.h"
#include "testsupport.h"

#define KEY_ID "AKIDEXAMPLE"
#define SECRET "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"

static struct emulator *emu;

struct session {
	struct jitrd_credentials_provider *creds;
	struct jitrd_iot_client *client;
	struct jitrd_iot_session *s;
};

static int open_session(struct session *ss, const char *secret, const char *signing)
{
	char key_env[64], secret_env[160];
	const char *envp[] = {key_env, secret_env, "AWS_EC2_METADATA_DISABLED=true",
			      "HOME=/nonexistent", NULL};
	struct jitrd_credentials_options co;
	struct jitrd_iot_client_options opts;

	snprintf(key_env, sizeof(key_env), "AWS_ACCESS_KEY_ID=%s", KEY_ID);
	snprintf(secret_env, sizeof(secret_env), "AWS_SECRET_ACCESS_KEY=%s", secret);
	memset(ss, 0, sizeof(*ss));
	jitrd_credentials_options_init(&co);
	co.envp = envp;
	jitrd_iot_client_options_init(&opts, NULL);
	opts.endpoint = emulator_url(emu);
	opts.signing_name = signing;
	opts.backoff.base_ms = 5;
	return jitrd_credentials_new(&co, &ss->creds, NULL) == JITRD_OK &&
			       jitrd_iot_client_new(&opts, ss->creds, &ss->client, NULL) ==
				   JITRD_OK &&
			       jitrd_iot_session_new(ss->client, &ss->s) == JITRD_OK
		   ? 0
		   : -1;
}

static void close_session(struct session *ss)
{
	jitrd_iot_session_free(ss->s);
	jitrd_iot_client_free(ss->client);
	jitrd_credentials_free(ss->creds);
}

static int64_t dl(void)
{
	return jitrd_iot_deadline_in(5000);
}

/* The verification certificate: CN = registration code, signed by ca1's key. */
static char *verification_pem(const char *code)
{
	char dir[] = "/tmp/jitrd-verif-XXXXXX", cmd[4096], path[1100], ca[1024], key[1024];
	char *pem;

	/* tsupport_fixture returns a static buffer: copy each path before the next call. */
	snprintf(ca, sizeof(ca), "%s", tsupport_fixture("cas/ca1.pem"));
	snprintf(key, sizeof(key), "%s", tsupport_fixture("keys/ca1.key"));
	if (!mkdtemp(dir))
		return NULL;
	snprintf(cmd, sizeof(cmd),
		 "cd %s && openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes "
		 "-keyout v.key -subj /CN=%s -out v.csr 2>/dev/null && openssl x509 -req -in v.csr "
		 "-CA '%s' -CAkey '%s' -set_serial 4242 -days 30 -out v.pem 2>/dev/null",
		 dir, code, ca, key);
	if (strlen(cmd) > 4000 || system(cmd) != 0)
		return NULL;
	snprintf(path, sizeof(path), "%s/v.pem", dir);
	pem = tsupport_read(path, NULL);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", dir);
	return pem;
}

static int count_cert(void *ctx, const struct jitrd_iot_cert_summary *c)
{
	(void)c;
	(*(int *)ctx)++;
	return 0;
}

static int find_policy(void *ctx, const char *name, const char *arn)
{
	(void)arn;
	if (strcmp(name, "jitrd-device") == 0)
		(*(int *)ctx)++;
	return 0;
}

static void test_workflow(void)
{
	struct session ss;
	struct jitrd_iot_result res;
	struct jitrd_diag diag = {{0}};
	struct jitrd_iot_registered ca_reg, dev, dev2;
	struct jitrd_iot_ca_certificate ca;
	struct jitrd_iot_certificate cert;
	struct jitrd_iot_policy pol;
	struct jitrd_iot_thing thing;
	char code[65];
	char *ca_pem = tsupport_read_fixture("cas/ca1.pem", NULL);
	char *good = tsupport_read_fixture("devices/good.pem", NULL);
	char *good2 = tsupport_read_fixture("devices/unheld.pem", NULL);
	char *verif;
	int n = 0;

	CU_ASSERT_FATAL(ca_pem && good && good2);
	CU_ASSERT_FATAL(open_session(&ss, SECRET, "iot") == 0);
	CU_ASSERT_EQUAL_FATAL(jitrd_iot_get_registration_code(ss.s, dl(), code, &res, &diag),
			      JITRD_OK);
	verif = verification_pem(code);
	CU_ASSERT_PTR_NOT_NULL_FATAL(verif);
	CU_ASSERT_EQUAL_FATAL(jitrd_iot_register_ca_certificate(ss.s, dl(), ca_pem, verif, 1, 1,
								&ca_reg, &res, &diag),
			      JITRD_OK);
	CU_ASSERT_EQUAL(jitrd_iot_describe_ca_certificate(ss.s, dl(), ca_reg.certificate_id, &ca,
							  &res, &diag),
			JITRD_OK);
	CU_ASSERT_EQUAL(ca.status, JITRD_IOT_ACTIVE);
	CU_ASSERT_EQUAL(ca.auto_registration, 1);
	CU_ASSERT_STRING_EQUAL(ca.certificate_id, ca_reg.certificate_id);
	jitrd_iot_ca_certificate_cleanup(&ca);
	CU_ASSERT_EQUAL(jitrd_iot_update_ca_certificate(ss.s, dl(), ca_reg.certificate_id,
							JITRD_IOT_INACTIVE, 0, &res, &diag),
			JITRD_OK);
	CU_ASSERT_EQUAL(jitrd_iot_describe_ca_certificate(ss.s, dl(), ca_reg.certificate_id, &ca,
							  &res, &diag),
			JITRD_OK);
	CU_ASSERT_EQUAL(ca.status, JITRD_IOT_INACTIVE);
	CU_ASSERT_EQUAL(ca.auto_registration, 0);
	jitrd_iot_ca_certificate_cleanup(&ca);
	CU_ASSERT_EQUAL(jitrd_iot_update_ca_certificate(ss.s, dl(), ca_reg.certificate_id,
							JITRD_IOT_ACTIVE, 1, &res, &diag),
			JITRD_OK);

	/* Devices. */
	CU_ASSERT_EQUAL_FATAL(jitrd_iot_register_certificate(ss.s, dl(), good, ca_pem,
							     JITRD_IOT_STATUS_NONE, &dev, &res,
							     &diag),
			      JITRD_OK);
	CU_ASSERT_EQUAL(jitrd_iot_register_certificate(ss.s, dl(), good2, ca_pem,
						       JITRD_IOT_INACTIVE, &dev2, &res,
						       &diag),
			JITRD_OK);
	if (res.http_status != 200)
		fprintf(stderr, "RegisterCertificate good2: %s\n", diag.text);
	CU_ASSERT_EQUAL(jitrd_iot_update_certificate(ss.s, dl(), dev.certificate_id,
						     JITRD_IOT_ACTIVE, &res, &diag),
			JITRD_OK);
	CU_ASSERT_EQUAL_FATAL(jitrd_iot_describe_certificate(ss.s, dl(), dev.certificate_id, &cert,
							     &res, &diag),
			      JITRD_OK);
	CU_ASSERT_EQUAL(cert.status, JITRD_IOT_ACTIVE);
	CU_ASSERT_STRING_EQUAL(cert.ca_certificate_id, ca_reg.certificate_id);
	CU_ASSERT_STRING_EQUAL(cert.certificate_arn, dev.certificate_arn);
	jitrd_iot_certificate_cleanup(&cert);
	CU_ASSERT_EQUAL(jitrd_iot_list_certificates_by_ca(ss.s, dl(), ca_reg.certificate_id, 1, 0,
							  count_cert, &n, &res, &diag),
			JITRD_OK);
	CU_ASSERT_EQUAL(n, 2);
	CU_ASSERT(res.attempts >= 2); /* one page per certificate */

	/* Policy and Thing. */
	CU_ASSERT_EQUAL(jitrd_iot_create_policy(ss.s, dl(), "jitrd-device",
						"{\"Version\":\"2012-10-17\",\"Statement\":[{"
						"\"Effect\":\"Allow\",\"Action\":\"iot:Connect\","
						"\"Resource\":\"*\"}]}",
						&pol, &res, &diag),
			JITRD_OK);
	jitrd_iot_policy_cleanup(&pol);
	CU_ASSERT_EQUAL(jitrd_iot_create_policy(ss.s, dl(), "jitrd-device", "{}", NULL, &res,
						&diag),
			JITRD_ERR_API);
	CU_ASSERT_STRING_EQUAL(res.code, "ResourceAlreadyExistsException");
	CU_ASSERT_EQUAL(jitrd_iot_get_policy(ss.s, dl(), "jitrd-device", &pol, &res, &diag),
			JITRD_OK);
	CU_ASSERT(pol.policy_document && strstr(pol.policy_document, "iot:Connect"));
	jitrd_iot_policy_cleanup(&pol);
	CU_ASSERT_EQUAL(jitrd_iot_attach_policy(ss.s, dl(), "jitrd-device", dev.certificate_arn,
						&res, &diag),
			JITRD_OK);
	n = 0;
	CU_ASSERT_EQUAL(jitrd_iot_list_attached_policies(ss.s, dl(), dev.certificate_arn,
							 find_policy, &n, &res, &diag),
			JITRD_OK);
	CU_ASSERT_EQUAL(n, 1);
	CU_ASSERT_EQUAL(jitrd_iot_create_thing(ss.s, dl(), "device-1", &thing, &res, &diag),
			JITRD_OK);
	CU_ASSERT_STRING_EQUAL(thing.thing_name, "device-1");
	CU_ASSERT_EQUAL(jitrd_iot_describe_thing(ss.s, dl(), "device-1", &thing, &res, &diag),
			JITRD_OK);
	CU_ASSERT_EQUAL(jitrd_iot_attach_thing_principal(ss.s, dl(), "device-1", dev.certificate_arn,
							 &res, &diag),
			JITRD_OK);

	/* AWS's errors. */
	CU_ASSERT_EQUAL(jitrd_iot_attach_thing_principal(ss.s, dl(), "no-such-thing",
							 dev.certificate_arn, &res, &diag),
			JITRD_ERR_API);
	CU_ASSERT_STRING_EQUAL(res.code, "ResourceNotFoundException");
	CU_ASSERT_EQUAL(jitrd_iot_update_certificate(ss.s, dl(), dev.certificate_id,
						     JITRD_IOT_REVOKED, &res, &diag),
			JITRD_OK);
	CU_ASSERT_EQUAL(jitrd_iot_update_certificate(ss.s, dl(), dev.certificate_id,
						     JITRD_IOT_ACTIVE, &res, &diag),
			JITRD_ERR_API);
	CU_ASSERT_STRING_EQUAL(res.code, "CertificateStateException");
	CU_ASSERT_EQUAL(res.attempts, 1);
	CU_ASSERT_EQUAL(jitrd_iot_describe_certificate(ss.s, dl(),
						       "00000000000000000000000000000000000000000000"
						       "00000000000000000000",
						       &cert, &res, &diag),
			JITRD_ERR_API);
	CU_ASSERT_EQUAL(res.http_status, 404);
	CU_ASSERT_STRING_EQUAL(res.code, "ResourceNotFoundException");
	close_session(&ss);
	free(verif);
	free(ca_pem);
	free(good);
	free(good2);
}

static void test_signing_names_and_bad_secret(void)
{
	struct session ss;
	struct jitrd_iot_result res;
	struct jitrd_diag diag = {{0}};
	char code[65];

	CU_ASSERT_FATAL(open_session(&ss, SECRET, "execute-api") == 0);
	CU_ASSERT_EQUAL(jitrd_iot_get_registration_code(ss.s, dl(), code, &res, &diag), JITRD_OK);
	close_session(&ss);
	CU_ASSERT_FATAL(open_session(&ss, "not-the-secret", "iot") == 0);
	CU_ASSERT_EQUAL(jitrd_iot_get_registration_code(ss.s, dl(), code, &res, &diag),
			JITRD_ERR_API);
	CU_ASSERT_EQUAL(res.http_status, 403);
	CU_ASSERT_EQUAL(res.attempts, 1);
	CU_ASSERT(strstr(diag.text, "not-the-secret") == NULL);
	close_session(&ss);
}

int main(void)
{
	static const struct tsupport_case cases[] = {
	    {"bring-your-own-CA workflow, every operation", test_workflow},
	    {"signing names and a wrong secret", test_signing_names_and_bad_secret},
	    {NULL, NULL},
	};
	int status;

	emu = emulator_start(KEY_ID, SECRET);
	if (!emu) {
		fprintf(stderr, "test_iot_emulator: iot-emulator did not start\n");
		return 1;
	}
	status = tsupport_run("iot_emulator_client", cases);
	emulator_stop(emu);
	return status;
}
