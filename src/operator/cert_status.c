/* cert_status.c — `jitrd cert revoke|activate` (DESIGN §4.6): UpdateCertificate for each id
 * given, in order, one line each. The operator's override: no CRL is checked, no policy
 * attached. */
#include "operator_internal.h"

#include <stdio.h>

#include "jitrd/text.h"

enum jitrd_exit jitrd_command_cert_status(const struct jitrd_command_options *o,
                                          char *const *certificate_ids, size_t count,
                                          enum jitrd_iot_status new_status)
{
	struct jitrd_online online;
	enum jitrd_exit status;

	for (size_t i = 0; i < count; i++) {
		if (!jitrd_is_hex_id(certificate_ids[i])) {
			fprintf(stderr,
			        "jitrd: CERT_ID %.80s: not a certificate id (64 hex "
			        "digits)\n",
			        certificate_ids[i]);
			return JITRD_EXIT_USAGE;
		}
	}
	if (operator_online_open(&online, o, false, false) != JITRD_OK) {
		jitrd_online_close(&online);
		return JITRD_EXIT_USAGE;
	}
	status = JITRD_EXIT_OK;
	for (size_t i = 0; i < count; i++) {
		struct jitrd_iot_result res = {0};
		struct jitrd_diag diag = {{0}};
		enum jitrd_err err = jitrd_iot_update_certificate(
		    online.session, jitrd_iot_deadline_in(operator_request_timeout_ms(&online)),
		    certificate_ids[i], new_status, &res, &diag);
		if (err != JITRD_OK) {
			operator_print_failure(certificate_ids[i], err, &res, &diag);
			status = JITRD_EXIT_WORK_FAILED;
			continue;
		}
		printf("%s: %s\n", certificate_ids[i], jitrd_iot_status_name(new_status));
	}
	jitrd_online_close(&online);
	return status;
}
