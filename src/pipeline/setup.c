/* aws_setup.c — credentials chain and IoT client from the configuration (see aws_setup.h). */
#include "jitrd/aws_setup.h"

#include <string.h>

enum jitrd_err jitrd_aws_open(const struct jitrd_config *cfg, const char *const *envp,
                              struct jitrd_aws *aws, struct jitrd_diag *diag)
{
	struct jitrd_credentials_options copts;
	struct jitrd_iot_client_options iopts;
	enum jitrd_err err;

	memset(aws, 0, sizeof(*aws));
	jitrd_credentials_options_init(&copts);
	copts.envp = envp;
	copts.profile = cfg->aws.profile;
	copts.region = cfg->aws.region;
	err = jitrd_credentials_new(&copts, &aws->credentials, diag);
	if (err != JITRD_OK)
		return err;
	jitrd_iot_client_options_init(&iopts, cfg);
	err = jitrd_iot_client_new(&iopts, aws->credentials, &aws->client, diag);
	if (err != JITRD_OK) {
		jitrd_credentials_free(aws->credentials);
		aws->credentials = NULL;
	}
	return err;
}

void jitrd_aws_close(struct jitrd_aws *aws)
{
	jitrd_iot_client_free(aws->client);
	jitrd_credentials_free(aws->credentials);
	memset(aws, 0, sizeof(*aws));
}
