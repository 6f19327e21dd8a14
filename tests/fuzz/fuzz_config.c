/* fuzz_config.c — fuzz target: arbitrary bytes as a configuration file, with a small fixed
 * environment, through jitrd_config_parse. Must never crash, leak or read out of bounds. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "jitrd/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const envp[] = {"PATH=/usr/bin", "JITRD_FIXTURES=/fixtures",
	                                   "JITRD_SERVICE_WORKERS=8", "JITRD_CRL_DIR=crl", NULL};
	struct jitrd_config *cfg = NULL;
	struct jitrd_diag diag;

	if (jitrd_config_parse("fuzz.conf", (const char *)data, size, envp, "/base", &cfg, &diag) ==
	    JITRD_OK) {
		/* touch what the parse promised: strings set, list within its bound */
		if (!cfg->mqtt.url || !cfg->aws.endpoint ||
		    cfg->ca.allow_count > JITRD_CONFIG_MAX_LIST ||
		    strncmp(cfg->crl.dir, "/base/", 6) != 0 || cfg->service.workers != 8)
			__builtin_trap();
		for (size_t i = 0; i < cfg->ca.allow_count; i++)
			(void)jitrd_config_ca_allowed(cfg, cfg->ca.allow[i]);
		jitrd_config_free(cfg);
	} else if (cfg != NULL || memchr(diag.text, '\0', sizeof(diag.text)) == NULL) {
		__builtin_trap();
	}
	return 0;
}
