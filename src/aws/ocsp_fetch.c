/* ocsp_fetch.c — one OCSP request over HTTP POST (RFC 6960 Appendix A.1) through awshttp's
 * single exchange: timeout, size cap, no redirects, TLS verification on. Must not judge the
 * response (core does) nor put a URL's userinfo or query into a message. */
#include "jitrd/ocsp_fetch.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>

#include "awshttp.h"
#include "crl_fetch_parse.h"
#include "jitrd/ocsp.h"

enum jitrd_err jitrd_ocsp_fetch(const struct jitrd_ocsp_fetch_options *opts,
                                const unsigned char *request, size_t request_len,
                                unsigned char **response, size_t *response_len,
                                struct jitrd_diag *diag)
{
	enum jitrd_err result = JITRD_ERR_INVALID_ARG;
	struct jitrd_awshttp_request req = {0};
	struct jitrd_awshttp_response resp = {0};
	struct curl_slist *headers = NULL, *grown;
	char shown[JITRD_OCSP_URL_MAX];
	char scheme[16];
	CURL *easy = NULL;

	if (!opts || !opts->url || !request || request_len == 0 || !response || !response_len ||
	    opts->timeout_ms <= 0) {
		jitrd_diag_set(diag, "OCSP: missing URL, request or timeout");
		goto cleanup;
	}
	jitrd_crl_fetch_redact_url(opts->url, shown, sizeof(shown));
	if (jitrd_awshttp_url_parts(opts->url, scheme, sizeof(scheme), NULL, 0, NULL, NULL, 0) !=
	        JITRD_OK ||
	    (strcasecmp(scheme, "http") != 0 && strcasecmp(scheme, "https") != 0)) {
		jitrd_diag_set(diag, "%s: only http:// and https:// OCSP responders", shown);
		goto cleanup;
	}
	result = JITRD_ERR_NOMEM;
	/* RFC 6960 Appendix A.1: the request's media type; the response's is checked by what
	 * the bytes are, not by the label. */
	if (!(grown = curl_slist_append(headers, "Content-Type: application/ocsp-request")))
		goto cleanup;
	headers = grown;
	if (!(grown = curl_slist_append(headers, "Accept: application/ocsp-response")))
		goto cleanup;
	headers = grown;
	if (!(easy = curl_easy_init())) {
		jitrd_diag_set(diag, "POST %s: curl_easy_init failed", shown);
		goto cleanup;
	}
	req.method = "POST";
	req.url = opts->url;
	req.headers = headers;
	req.body = request;
	req.body_len = request_len;
	req.connect_timeout_ms = opts->timeout_ms;
	req.timeout_ms = opts->timeout_ms;
	req.max_body = opts->max_size ? opts->max_size : JITRD_OCSP_RESPONSE_MAX;
	req.ca_file = opts->ca_file;
	result = jitrd_awshttp_perform(easy, &req, &resp, diag);
	if (result != JITRD_OK) {
		jitrd_diag_prefix(diag, shown);
		goto cleanup;
	}
	if (resp.status != 200) {
		result = JITRD_ERR_BAD_RESPONSE;
		jitrd_diag_set(diag, "POST %s: HTTP status %ld", shown, resp.status);
		goto cleanup;
	}
	*response = (unsigned char *)resp.body;
	*response_len = resp.body_len;
	resp.body = NULL;
	result = JITRD_OK;
cleanup:
	jitrd_awshttp_response_cleanup(&resp);
	curl_slist_free_all(headers);
	curl_easy_cleanup(easy);
	return result;
}

void jitrd_ocsp_fetch_redact_url(const char *url, char *out, size_t out_size)
{
	jitrd_crl_fetch_redact_url(url, out, out_size);
}
