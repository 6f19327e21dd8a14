/* awssign.c — credentials chain -> SigV4 signature -> header lines, for every signed AWS request
 * jitrd sends (IoT control plane, CRLs from S3). Must not log or put a secret into a message. */
#include "awssign.h"

#include <stddef.h>

enum jitrd_err jitrd_awssign_headers(const struct jitrd_awssign *signer, time_t now,
                                     const struct jitrd_sigv4_request *req,
                                     jitrd_awssign_add_fn add, void *ctx, struct jitrd_diag *diag)
{
	enum jitrd_err result = JITRD_ERR_INVALID_ARG;
	struct jitrd_sigv4_scope scope;
	struct jitrd_sigv4_credentials sc;
	struct jitrd_sigv4_result signed_req = {0};
	struct jitrd_diag cdiag = {{0}};

	if (!signer || !signer->provider || !signer->scratch || !req || !add) {
		jitrd_diag_set(diag, "cannot sign the request: missing argument");
		goto cleanup;
	}
	scope = (struct jitrd_sigv4_scope){signer->region, signer->service, now};
	result = jitrd_credentials_get(signer->provider, now, signer->scratch, &cdiag);
	if (result != JITRD_OK) {
		jitrd_diag_set(diag, "%s", cdiag.text);
		goto cleanup;
	}
	sc.access_key_id = signer->scratch->access_key_id;
	sc.secret_access_key = signer->scratch->secret_access_key;
	sc.session_token = signer->scratch->session_token;
	result = jitrd_sigv4_sign_cached(req, &sc, &scope, signer->cache, &signed_req);
	if (result != JITRD_OK) {
		jitrd_diag_set(diag, "cannot sign the request: %s", jitrd_strerror(result));
		goto cleanup;
	}
	for (size_t i = 0; i < req->header_count && result == JITRD_OK; i++)
		result = add(ctx, req->headers[i].name, req->headers[i].value);
	if (result == JITRD_OK)
		result = add(ctx, "X-Amz-Date", signed_req.amz_date);
	if (result == JITRD_OK)
		result = add(ctx, "Authorization", signed_req.authorization);
	if (result == JITRD_OK && signed_req.security_token)
		result = add(ctx, "X-Amz-Security-Token", signed_req.security_token);
	/* The hash was signed (sigv4.h): the service compares it with the header. */
	if (result == JITRD_OK && req->sign_payload_hash)
		result = add(ctx, "X-Amz-Content-Sha256", signed_req.payload_hash);
	if (result != JITRD_OK)
		jitrd_diag_set(diag, "cannot add the request headers: %s", jitrd_strerror(result));
cleanup:
	if (signer && signer->scratch)
		jitrd_credentials_cleanse(signer->scratch);
	jitrd_sigv4_result_cleanup(&signed_req);
	return result;
}
