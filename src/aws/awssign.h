/* awssign.h — private to src/aws: one AWS request signed with the credentials chain's current
 * credentials, its header lines handed to the caller's list (the IoT client's header block, a
 * curl_slist for a CRL from S3). The one place that turns credentials into header lines; no
 * credential ever reaches a message. */
#ifndef JITRD_AWSSIGN_H
#define JITRD_AWSSIGN_H

#include <time.h>

#include "jitrd/credentials.h"
#include "jitrd/error.h"
#include "jitrd/sigv4.h"

/* Appends the header line "name: value" to the caller's list (ctx). */
typedef enum jitrd_err (*jitrd_awssign_add_fn)(void *ctx, const char *name, const char *value);

struct jitrd_awssign {
	struct jitrd_credentials_provider *provider; /* borrowed */
	const char *region;
	const char *service;
	struct jitrd_credentials *scratch;   /* the caller's storage; wiped before return */
	struct jitrd_sigv4_key_cache *cache; /* NULL: derive the key for this request */
};

/* Gets credentials for now (UTC), signs req, then adds through add: req's headers as given,
 * X-Amz-Date, Authorization, X-Amz-Security-Token when the credentials carry a session token,
 * and X-Amz-Content-Sha256 when req->sign_payload_hash is 1. The signer's copies of the
 * secrets are wiped whatever happens. Errors: those of jitrd_credentials_get (diag: the
 * provider's message), of jitrd_sigv4_sign (diag: "cannot sign the request: ..."), and
 * whatever add returns (diag: "cannot add the request headers: ..."). */
enum jitrd_err jitrd_awssign_headers(const struct jitrd_awssign *signer, time_t now,
                                     const struct jitrd_sigv4_request *req,
                                     jitrd_awssign_add_fn add, void *ctx,
                                     struct jitrd_diag *diag) JITRD_WUR;

#endif
