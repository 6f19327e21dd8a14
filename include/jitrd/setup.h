/* aws_setup.h — the AWS side every online mode needs, made from the configuration: the
 * credentials chain (DESIGN §4.2) and the IoT client (rates from [limits]). */
#ifndef JITRD_AWS_SETUP_H
#define JITRD_AWS_SETUP_H

#include "jitrd/config.h"
#include "jitrd/credentials.h"
#include "jitrd/error.h"
#include "jitrd/iot_client.h"

struct jitrd_aws {
	struct jitrd_credentials_provider *credentials;
	struct jitrd_iot_client *client;
};

/* envp: the process environment (NULL-terminated "NAME=value"), read during the call only.
 * On failure nothing is left open and diag says why (never a secret). Close with
 * jitrd_aws_close. Errors: those of jitrd_credentials_new and jitrd_iot_client_new. */
enum jitrd_err jitrd_aws_open(const struct jitrd_config *cfg, const char *const *envp,
                              struct jitrd_aws *aws, struct jitrd_diag *diag) JITRD_WUR;
void jitrd_aws_close(struct jitrd_aws *aws);

#endif
