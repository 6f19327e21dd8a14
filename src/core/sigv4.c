/* sigv4.c — AWS Signature Version 4 for HTTP requests, in the stages aws-c-auth uses:
 * canonical request -> string to sign -> signature -> Authorization header.
 * Pure: no clock, no environment, no I/O, no logging; the secret key is never copied into
 * any output, and every derived key is wiped with OPENSSL_cleanse. */
#include "jitrd/sigv4.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#define ALGORITHM       "AWS4-HMAC-SHA256"
#define SHA256_LEN      32
#define SECONDS_PER_DAY 86400
/* 9999-12-31T23:59:59Z: the last moment an amz-date's four year digits can hold. */
#define AMZ_DATE_MAX ((time_t)253402300799)
/* "AWS4-HMAC-SHA256\n" amz-date "\n" date "/" region "/" service "/aws4_request\n" hex, NUL */
#define STS_MAX                                                                                    \
	(sizeof(ALGORITHM "\n") - 1 + 16 + 1 + 8 + 1 + JITRD_SIGV4_MAX_SCOPE_LEN + 1 +             \
	 JITRD_SIGV4_MAX_SCOPE_LEN + sizeof("/aws4_request\n") - 1 + 64 + 1)
/* Room for a typical canonical request (IoT's, with a session token) without growing. */
#define CREQ_START_CAP 2048
/* A query this small is canonicalised in stack buffers instead of three allocations. */
#define SMALL_QUERY_PARAMS 8
#define SMALL_QUERY_LEN    128

/* OpenSSL 3's implicit fetches (EVP_sha256(), HMAC()) look the algorithm up in the provider
 * store, under a lock, on every call. Fetched once here and reused. The HMAC context is a
 * template with only its digest set: each signing duplicates it (reading the template, which
 * is safe from any thread) instead of naming the digest again, which would fetch again. They
 * live as long as the process, as OpenSSL's own method store does. */
static pthread_once_t crypto_once = PTHREAD_ONCE_INIT;
static EVP_MD *sha256_md;
static EVP_MAC_CTX *hmac_template;

static void crypto_fetch(void)
{
	EVP_MAC *mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
	OSSL_PARAM params[2];

	sha256_md = EVP_MD_fetch(NULL, "SHA256", NULL);
	if (!mac)
		return;
	hmac_template = EVP_MAC_CTX_new(mac);
	EVP_MAC_free(mac); /* the context holds its own reference */
	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)"SHA256", 0);
	params[1] = OSSL_PARAM_construct_end();
	if (hmac_template && EVP_MAC_CTX_set_params(hmac_template, params) != 1) {
		EVP_MAC_CTX_free(hmac_template);
		hmac_template = NULL;
	}
}

static int crypto_ready(void)
{
	return pthread_once(&crypto_once, crypto_fetch) == 0 && sha256_md && hmac_template;
}

/* A string that grows only up to max bytes (excluding the NUL): past it, INVALID_ARG. */
struct text {
	char *buf;
	size_t len;
	size_t cap;
	size_t max;
};

/* One header as it will appear in the canonical request; points into caller memory. */
struct canon_header {
	const char *name;
	size_t name_len;
	const char *value;
	size_t order; /* position given, so that duplicates keep their order after qsort */
};

struct query_param {
	const char *key; /* encoded, NUL-terminated, inside the query store */
	const char *value;
};

static void text_init(struct text *t, size_t max)
{
	t->buf = NULL;
	t->len = 0;
	t->cap = 0;
	t->max = max;
}

/* Wipes before freeing: a canonical request can hold the session token. */
static void text_wipe(struct text *t)
{
	if (t->buf) {
		OPENSSL_cleanse(t->buf, t->cap);
		free(t->buf);
	}
	text_init(t, t->max);
}

/* For texts that never hold a secret (signed header names). */
static void text_free(struct text *t)
{
	free(t->buf);
	text_init(t, t->max);
}

/* Grows the buffer so that want bytes (and the NUL) fit, capped at the maximum; the caller's
 * appends still check the maximum. Only allocation can fail. */
static enum jitrd_err text_reserve(struct text *t, size_t want)
{
	char *grown;

	if (want > t->max)
		want = t->max;
	if (want + 1 <= t->cap)
		return JITRD_OK;
	grown = malloc(want + 1);
	if (!grown)
		return JITRD_ERR_NOMEM;
	/* Copy and wipe rather than realloc, so no stray copy of a token is left. */
	if (t->buf) {
		memcpy(grown, t->buf, t->len + 1);
		OPENSSL_cleanse(t->buf, t->cap);
		free(t->buf);
	}
	t->buf = grown;
	t->cap = want + 1;
	return JITRD_OK;
}

static enum jitrd_err text_append(struct text *t, const char *s, size_t n)
{
	if (n > t->max - t->len)
		return JITRD_ERR_INVALID_ARG;
	if (t->len + n + 1 > t->cap) {
		size_t cap = t->cap ? t->cap : 256;
		char *grown;

		while (cap < t->len + n + 1)
			cap *= 2;
		if (cap > t->max + 1)
			cap = t->max + 1;
		grown = malloc(cap);
		if (!grown)
			return JITRD_ERR_NOMEM;
		/* Copy and wipe rather than realloc, so no stray copy of a token is left. */
		if (t->buf) {
			memcpy(grown, t->buf, t->len);
			OPENSSL_cleanse(t->buf, t->cap);
			free(t->buf);
		}
		t->buf = grown;
		t->cap = cap;
	}
	memcpy(t->buf + t->len, s, n);
	t->len += n;
	t->buf[t->len] = '\0';
	return JITRD_OK;
}

static enum jitrd_err text_puts(struct text *t, const char *s)
{
	return text_append(t, s, strlen(s));
}

/* Hands the buffer over; an empty text still yields "" so that outputs are never NULL. */
static enum jitrd_err text_take(struct text *t, char **out)
{
	if (!t->buf) {
		enum jitrd_err err = text_append(t, "", 0);
		if (err != JITRD_OK)
			return err;
	}
	*out = t->buf;
	text_init(t, t->max);
	return JITRD_OK;
}

/* Length up to max + 1, so that a huge input is measured only up to its limit. */
static size_t bounded_len(const char *s, size_t max)
{
	return strnlen(s, max + 1);
}

static int is_unreserved(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       c == '-' || c == '_' || c == '.' || c == '~';
}

/* RFC 7230 tchar: what a header name (and a method) may be made of. */
static int is_tchar(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       (c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

/* Region, service and access key id go into the scope and the Authorization header, where
 * '/', ',', '=' or whitespace would change its meaning. */
static int is_scope_char(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       c == '-' || c == '_' || c == '.';
}

static int valid_word(const char *s, size_t max, int (*ok)(unsigned char))
{
	size_t len;

	if (!s)
		return 0;
	len = bounded_len(s, max);
	if (len == 0 || len > max)
		return 0;
	for (size_t i = 0; i < len; i++) {
		if (!ok((unsigned char)s[i]))
			return 0;
	}
	return 1;
}

/* A header value may hold SP, HT and visible or obs-text bytes; CR, LF and other controls
 * would split or smuggle a header, so they are refused rather than signed. */
static int valid_value(const char *s, size_t max)
{
	size_t len;

	if (!s)
		return 0;
	len = bounded_len(s, max);
	if (len > max)
		return 0;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if ((c < 0x20 && c != '\t') || c == 0x7f)
			return 0;
	}
	return 1;
}

static void hex_encode(const unsigned char *in, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 0x0f];
	}
	out[2 * n] = '\0';
}

static enum jitrd_err sha256_hex(const void *data, size_t len, char hex[65])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int md_len = 0;

	if (!crypto_ready() || EVP_Digest(data, len, md, &md_len, sha256_md, NULL) != 1 ||
	    md_len != SHA256_LEN)
		return JITRD_ERR_CRYPTO;
	hex_encode(md, SHA256_LEN, hex);
	return JITRD_OK;
}

/* AWS URI encoding: unreserved bytes kept, '/' kept when keep_slash, the rest %XX with
 * upper-case hex (which is what the vectors and the services compare against). */
static enum jitrd_err append_uri_encoded(struct text *t, const char *s, size_t n, int keep_slash)
{
	static const char digits[] = "0123456789ABCDEF";
	enum jitrd_err err = JITRD_OK;

	for (size_t i = 0; i < n && err == JITRD_OK;) {
		size_t run = i;
		unsigned char c;

		/* Runs of bytes that stay as they are go in with one append. */
		while (run < n &&
		       (is_unreserved((unsigned char)s[run]) || (keep_slash && s[run] == '/')))
			run++;
		if (run > i) {
			err = text_append(t, s + i, run - i);
			i = run;
			continue;
		}
		c = (unsigned char)s[i++];
		char esc[3] = {'%', digits[c >> 4], digits[c & 0x0f]};
		err = text_append(t, esc, 3);
	}
	return err;
}

static int hex_value(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* Decodes %XX from s into out (at most n bytes); -1 on a malformed escape. '+' stays '+':
 * SigV4 follows RFC 3986, not HTML form encoding. */
static long uri_decode(const char *s, size_t n, char *out)
{
	size_t o = 0;

	for (size_t i = 0; i < n; i++) {
		if (s[i] != '%') {
			out[o++] = s[i];
			continue;
		}
		if (n - i < 3)
			return -1;
		int hi = hex_value((unsigned char)s[i + 1]);
		int lo = hex_value((unsigned char)s[i + 2]);
		if (hi < 0 || lo < 0)
			return -1;
		out[o++] = (char)(hi * 16 + lo);
		i += 2;
	}
	return (long)o;
}

/* The SDKs' normalisation (aws-c-auth s_append_normalized_path, botocore's normpath): empty
 * and "." segments dropped, ".." pops one segment (none at the root), a trailing slash kept
 * only when the raw path ends with one. So "/a/b/.." is "/a", not RFC 3986's "/a/". */
static enum jitrd_err normalize_path(const char *path, size_t len, struct text *out)
{
	char norm[JITRD_SIGV4_MAX_PATH_LEN + 2]; /* len is at most the maximum (checked) */
	size_t nlen = 0;

	for (size_t i = 0; i < len;) {
		size_t start = i, seg_len;

		while (i < len && path[i] != '/')
			i++;
		seg_len = i - start;
		if (i < len)
			i++; /* the '/' */
		if (seg_len == 0 || (seg_len == 1 && path[start] == '.'))
			continue;
		if (seg_len == 2 && path[start] == '.' && path[start + 1] == '.') {
			while (nlen > 0 && norm[nlen - 1] != '/')
				nlen--;
			if (nlen > 0)
				nlen--; /* the '/' before the popped segment */
			continue;
		}
		norm[nlen++] = '/';
		memcpy(norm + nlen, path + start, seg_len);
		nlen += seg_len;
	}
	if (nlen == 0 || path[len - 1] == '/')
		norm[nlen++] = '/';
	return append_uri_encoded(out, norm, nlen, 1);
}

static enum jitrd_err append_canonical_uri(struct text *t, const char *path, int normalize)
{
	size_t len = bounded_len(path, JITRD_SIGV4_MAX_PATH_LEN);

	if (len > JITRD_SIGV4_MAX_PATH_LEN)
		return JITRD_ERR_INVALID_ARG;
	/* An empty path is "/" (AWS: "If the absolute path is empty, use a forward slash"). */
	if (len == 0)
		return text_append(t, "/", 1);
	/* origin-form: anything else is not a path we know how to sign. */
	if (path[0] != '/')
		return JITRD_ERR_INVALID_ARG;
	if (normalize)
		return normalize_path(path, len, t);
	return append_uri_encoded(t, path, len, 1);
}

static int compare_params(const void *a, const void *b)
{
	const struct query_param *pa = a, *pb = b;
	int c = strcmp(pa->key, pb->key);

	return c != 0 ? c : strcmp(pa->value, pb->value);
}

/* Decodes raw, encodes it again at *at in the store, NUL-terminated; returns its start. */
static const char *store_encoded(char **at, const char *raw, size_t n, char *scratch)
{
	static const char digits[] = "0123456789ABCDEF";
	long dec = uri_decode(raw, n, scratch);
	char *start = *at, *w = *at;

	if (dec < 0)
		return NULL;
	for (long i = 0; i < dec; i++) {
		unsigned char c = (unsigned char)scratch[i];
		if (is_unreserved(c)) {
			*w++ = (char)c;
		} else {
			*w++ = '%';
			*w++ = digits[c >> 4];
			*w++ = digits[c & 0x0f];
		}
	}
	*w++ = '\0';
	*at = w;
	return start;
}

/* Canonical query: split on '&' (empty pieces skipped), each key and value decoded then
 * encoded again, sorted by encoded key then value, a missing value kept as "key=". */
static enum jitrd_err append_canonical_query(struct text *t, const char *query)
{
	enum jitrd_err result = JITRD_ERR_INVALID_ARG;
	struct query_param small_params[SMALL_QUERY_PARAMS];
	char small_store[3 * SMALL_QUERY_LEN + 2 * SMALL_QUERY_PARAMS + 1];
	char small_scratch[SMALL_QUERY_LEN + 1];
	struct query_param *params = NULL;
	char *store = NULL, *scratch = NULL, *at;
	size_t len, count = 0, n = 0;
	int on_heap = 0;

	if (!query)
		return JITRD_OK;
	len = bounded_len(query, JITRD_SIGV4_MAX_QUERY_LEN);
	if (len > JITRD_SIGV4_MAX_QUERY_LEN)
		goto cleanup;
	if (len == 0) {
		result = JITRD_OK;
		goto cleanup;
	}
	for (size_t i = 0; i <= len; i++) {
		if (i == len || query[i] == '&')
			count++;
	}
	if (count > JITRD_SIGV4_MAX_QUERY_PARAMS)
		goto cleanup;
	result = JITRD_ERR_NOMEM;
	/* Sized for the worst case (every byte becomes %XX, plus two NULs per parameter), so
	 * the store never moves and params can point into it. */
	if (count <= SMALL_QUERY_PARAMS && len <= SMALL_QUERY_LEN) {
		params = small_params;
		store = small_store;
		scratch = small_scratch;
	} else {
		on_heap = 1;
		params = calloc(count, sizeof(*params));
		store = malloc(3 * len + 2 * count + 1);
		scratch = malloc(len + 1);
		if (!params || !store || !scratch)
			goto cleanup;
	}
	at = store;
	result = JITRD_ERR_INVALID_ARG;
	for (size_t i = 0; i < len;) {
		size_t start = i, key_len, piece_len;
		const char *eq;

		while (i < len && query[i] != '&')
			i++;
		piece_len = i - start;
		i++; /* the '&' */
		if (piece_len == 0)
			continue;
		eq = memchr(query + start, '=', piece_len);
		key_len = eq ? (size_t)(eq - (query + start)) : piece_len;
		params[n].key = store_encoded(&at, query + start, key_len, scratch);
		params[n].value =
		    store_encoded(&at, eq ? eq + 1 : "", eq ? piece_len - key_len - 1 : 0, scratch);
		if (!params[n].key || !params[n].value)
			goto cleanup;
		n++;
	}
	qsort(params, n, sizeof(*params), compare_params);
	result = JITRD_OK;
	for (size_t i = 0; i < n && result == JITRD_OK; i++) {
		if (i > 0)
			result = text_append(t, "&", 1);
		if (result == JITRD_OK)
			result = text_puts(t, params[i].key);
		if (result == JITRD_OK)
			result = text_append(t, "=", 1);
		if (result == JITRD_OK)
			result = text_puts(t, params[i].value);
	}

cleanup:
	if (on_heap) {
		free(params);
		free(store);
		free(scratch);
	}
	return result;
}

static int lower(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') ? c - 'A' + 'a' : c;
}

static int compare_name(const char *a, size_t alen, const char *b, size_t blen)
{
	size_t n = alen < blen ? alen : blen;

	for (size_t i = 0; i < n; i++) {
		int d = lower((unsigned char)a[i]) - lower((unsigned char)b[i]);
		if (d != 0)
			return d;
	}
	return alen < blen ? -1 : (alen > blen ? 1 : 0);
}

static int compare_headers(const void *a, const void *b)
{
	const struct canon_header *ha = a, *hb = b;
	int c = compare_name(ha->name, ha->name_len, hb->name, hb->name_len);

	if (c != 0)
		return c;
	return ha->order < hb->order ? -1 : (ha->order > hb->order ? 1 : 0);
}

static int name_is(const struct canon_header *h, const char *lower_name)
{
	return compare_name(h->name, h->name_len, lower_name, strlen(lower_name)) == 0;
}

/* Trimmed, with every inner run of SP/HT folded to one SP (AWS: "Trimall"). Quotes are not
 * special: the vectors fold "a   b   c" to "a b c". */
static enum jitrd_err append_folded_value(struct text *t, const char *v)
{
	enum jitrd_err err = JITRD_OK;
	int pending_space = 0, started = 0;

	while (*v && err == JITRD_OK) {
		size_t run = 0;

		if (*v == ' ' || *v == '\t') {
			pending_space = started;
			v++;
			continue;
		}
		if (pending_space)
			err = text_append(t, " ", 1);
		while (v[run] && v[run] != ' ' && v[run] != '\t')
			run++;
		if (err == JITRD_OK)
			err = text_append(t, v, run);
		v += run;
		pending_space = 0;
		started = 1;
	}
	return err;
}

static enum jitrd_err append_lower(struct text *t, const char *s, size_t n)
{
	char lowered[JITRD_SIGV4_MAX_NAME_LEN];
	enum jitrd_err err = JITRD_OK;

	/* Names are checked against the maximum before they get here; the loop is a fallback. */
	if (n <= sizeof(lowered)) {
		for (size_t i = 0; i < n; i++)
			lowered[i] = (char)lower((unsigned char)s[i]);
		return text_append(t, lowered, n);
	}
	for (size_t i = 0; i < n && err == JITRD_OK; i++) {
		char c = (char)lower((unsigned char)s[i]);
		err = text_append(t, &c, 1);
	}
	return err;
}

static enum jitrd_err add_header(struct canon_header *all, size_t *n,
                                 const struct jitrd_sigv4_header *h)
{
	if (!h->name || !valid_word(h->name, JITRD_SIGV4_MAX_NAME_LEN, is_tchar))
		return JITRD_ERR_INVALID_ARG;
	if (!valid_value(h->value, JITRD_SIGV4_MAX_VALUE_LEN))
		return JITRD_ERR_INVALID_ARG;
	all[*n].name = h->name;
	all[*n].name_len = strlen(h->name);
	all[*n].value = h->value;
	all[*n].order = *n;
	(*n)++;
	return JITRD_OK;
}

/* Canonical headers ("name:v1,v2\n" per name, sorted) into t, signed headers into names. */
static enum jitrd_err append_canonical_headers(struct text *t, struct text *names,
                                               struct canon_header *all, size_t n)
{
	enum jitrd_err err = JITRD_OK;

	qsort(all, n, sizeof(*all), compare_headers);
	for (size_t i = 0; i < n && err == JITRD_OK;) {
		size_t j = i;

		if (names->len > 0)
			err = text_append(names, ";", 1);
		if (err == JITRD_OK)
			err = append_lower(names, all[i].name, all[i].name_len);
		if (err == JITRD_OK)
			err = append_lower(t, all[i].name, all[i].name_len);
		if (err == JITRD_OK)
			err = text_append(t, ":", 1);
		for (;
		     j < n && err == JITRD_OK &&
		     compare_name(all[j].name, all[j].name_len, all[i].name, all[i].name_len) == 0;
		     j++) {
			if (j > i)
				err = text_append(t, ",", 1);
			if (err == JITRD_OK)
				err = append_folded_value(t, all[j].value);
		}
		if (err == JITRD_OK)
			err = text_append(t, "\n", 1);
		i = j;
	}
	return err;
}

/* Stage 1 into caller-owned texts (wiped by the caller: creq can hold the session token).
 * payload_hex gets the payload's hash, which jitrd_sigv4_sign reuses. */
static enum jitrd_err build_canonical_request(const struct jitrd_sigv4_request *req,
                                              const struct jitrd_sigv4_header *extra,
                                              size_t extra_count, char payload_hex[65],
                                              struct text *creq, struct text *names)
{
	enum jitrd_err result = JITRD_ERR_INVALID_ARG;
	struct canon_header all[JITRD_SIGV4_MAX_HEADERS + JITRD_SIGV4_MAX_EXTRA + 1];
	struct jitrd_sigv4_header content_sha;
	size_t n = 0, estimate = CREQ_START_CAP;
	int have_host = 0;

	if (!req || !req->path)
		return result;
	if (!valid_word(req->method, JITRD_SIGV4_MAX_METHOD_LEN, is_tchar))
		return result;
	if (req->header_count > JITRD_SIGV4_MAX_HEADERS || extra_count > JITRD_SIGV4_MAX_EXTRA)
		return result;
	if ((req->header_count > 0 && !req->headers) || (extra_count > 0 && !extra))
		return result;
	if (req->payload_len > 0 && !req->payload)
		return result;

	result = sha256_hex(req->payload ? (const void *)req->payload : "", req->payload_len,
	                    payload_hex);
	if (result != JITRD_OK)
		return result;

	for (size_t i = 0; i < req->header_count && result == JITRD_OK; i++)
		result = add_header(all, &n, &req->headers[i]);
	for (size_t i = 0; i < extra_count && result == JITRD_OK; i++)
		result = add_header(all, &n, &extra[i]);
	if (result != JITRD_OK)
		return result;
	for (size_t i = 0; i < n; i++) {
		have_host |= name_is(&all[i], "host");
		/* One x-amz-content-sha256, ours: a second would be joined into "a,b". */
		if (req->sign_payload_hash && name_is(&all[i], "x-amz-content-sha256"))
			return JITRD_ERR_INVALID_ARG;
		/* Values are bounded (checked above), so this sum cannot wrap. */
		estimate += all[i].name_len + strlen(all[i].value);
	}
	if (!have_host)
		return JITRD_ERR_INVALID_ARG;
	if (req->sign_payload_hash) {
		content_sha.name = "x-amz-content-sha256";
		content_sha.value = payload_hex;
		result = add_header(all, &n, &content_sha);
		if (result != JITRD_OK)
			return result;
	}

	/* One allocation for the usual request (a long token would otherwise grow it twice). */
	result = text_reserve(creq, estimate);
	if (result == JITRD_OK)
		result = text_puts(creq, req->method);
	if (result == JITRD_OK)
		result = text_append(creq, "\n", 1);
	if (result == JITRD_OK)
		result = append_canonical_uri(creq, req->path, req->normalize_path);
	if (result == JITRD_OK)
		result = text_append(creq, "\n", 1);
	if (result == JITRD_OK)
		result = append_canonical_query(creq, req->query);
	if (result == JITRD_OK)
		result = text_append(creq, "\n", 1);
	if (result == JITRD_OK)
		result = append_canonical_headers(creq, names, all, n);
	if (result == JITRD_OK)
		result = text_append(creq, "\n", 1);
	if (result == JITRD_OK)
		result = text_append(creq, names->buf, names->len);
	if (result == JITRD_OK)
		result = text_append(creq, "\n", 1);
	if (result == JITRD_OK)
		result = text_append(creq, payload_hex, 64);
	return result;
}

enum jitrd_err jitrd_sigv4_canonical_request(const struct jitrd_sigv4_request *req,
                                             const struct jitrd_sigv4_header *extra,
                                             size_t extra_count, char **out, char **signed_headers)
{
	enum jitrd_err result = JITRD_ERR_INVALID_ARG;
	struct text creq, names;
	char payload_hex[65];

	text_init(&creq, JITRD_SIGV4_MAX_CANONICAL_LEN);
	text_init(&names, JITRD_SIGV4_MAX_CANONICAL_LEN);
	if (!out || !signed_headers)
		goto cleanup;
	result = build_canonical_request(req, extra, extra_count, payload_hex, &creq, &names);
	if (result != JITRD_OK)
		goto cleanup;
	/* Both allocated already (names holds at least "host"), so handing them over cannot
	 * fail half-way. */
	result = text_take(&creq, out);
	if (result == JITRD_OK)
		result = text_take(&names, signed_headers);

cleanup:
	text_wipe(&creq);
	text_free(&names);
	return result;
}

static int valid_scope(const struct jitrd_sigv4_scope *scope, char amz_date[17])
{
	if (!scope)
		return 0;
	if (!valid_word(scope->region, JITRD_SIGV4_MAX_SCOPE_LEN, is_scope_char) ||
	    !valid_word(scope->service, JITRD_SIGV4_MAX_SCOPE_LEN, is_scope_char))
		return 0;
	return jitrd_sigv4_amz_date(scope->when, amz_date) == JITRD_OK;
}

static char *put(char *at, const char *s, size_t n)
{
	memcpy(at, s, n);
	return at + n;
}

/* Stage 2 into out (STS_MAX bytes) for a scope already checked; returns the length. */
static size_t format_string_to_sign(char out[STS_MAX], const char amz_date[17],
                                    const struct jitrd_sigv4_scope *scope, const char creq_hex[65])
{
	char *at = out;

	at = put(at, ALGORITHM "\n", sizeof(ALGORITHM "\n") - 1);
	at = put(at, amz_date, 16);
	at = put(at, "\n", 1);
	at = put(at, amz_date, 8);
	at = put(at, "/", 1);
	at = put(at, scope->region, strlen(scope->region));
	at = put(at, "/", 1);
	at = put(at, scope->service, strlen(scope->service));
	at = put(at, "/aws4_request\n", sizeof("/aws4_request\n") - 1);
	at = put(at, creq_hex, 64);
	*at = '\0';
	return (size_t)(at - out);
}

enum jitrd_err jitrd_sigv4_string_to_sign(const char *canonical_request,
                                          const struct jitrd_sigv4_scope *scope, char **out)
{
	enum jitrd_err result = JITRD_ERR_INVALID_ARG;
	char amz_date[17], creq_hex[65], sts[STS_MAX], *copy;
	size_t len;

	if (!canonical_request || !out || !valid_scope(scope, amz_date))
		return result;
	result = sha256_hex(canonical_request, strlen(canonical_request), creq_hex);
	if (result != JITRD_OK)
		return result;
	len = format_string_to_sign(sts, amz_date, scope, creq_hex);
	copy = malloc(len + 1);
	if (!copy)
		return JITRD_ERR_NOMEM;
	memcpy(copy, sts, len + 1);
	*out = copy;
	return JITRD_OK;
}

/* One HMAC-SHA256 on ctx (a duplicate of the template), keyed afresh each time. */
static int hmac_step(EVP_MAC_CTX *ctx, const unsigned char *key, size_t key_len, const void *data,
                     size_t data_len, unsigned char out[SHA256_LEN])
{
	size_t out_len = 0;

	return EVP_MAC_init(ctx, key, key_len, NULL) == 1 &&
	       EVP_MAC_update(ctx, (const unsigned char *)data, data_len) == 1 &&
	       EVP_MAC_final(ctx, out, &out_len, SHA256_LEN) == 1 && out_len == SHA256_LEN;
}

/* kSigning = HMAC(HMAC(HMAC(HMAC("AWS4" + secret, date), region), service), "aws4_request").
 * Every intermediate key is wiped; out is the caller's to wipe. */
static int derive_signing_key(EVP_MAC_CTX *ctx, const char *secret, size_t secret_len,
                              const char *date, const struct jitrd_sigv4_scope *scope,
                              unsigned char out[SHA256_LEN])
{
	/* "AWS4" + secret: the only copy of the secret this module makes, wiped below. */
	unsigned char k_secret[4 + JITRD_SIGV4_MAX_KEY_LEN];
	unsigned char k_date[SHA256_LEN], k_region[SHA256_LEN], k_service[SHA256_LEN];
	int ok;

	memcpy(k_secret, "AWS4", 4);
	memcpy(k_secret + 4, secret, secret_len);
	ok = hmac_step(ctx, k_secret, 4 + secret_len, date, 8, k_date) &&
	     hmac_step(ctx, k_date, SHA256_LEN, scope->region, strlen(scope->region), k_region) &&
	     hmac_step(ctx, k_region, SHA256_LEN, scope->service, strlen(scope->service),
	               k_service) &&
	     hmac_step(ctx, k_service, SHA256_LEN, "aws4_request", 12, out);
	OPENSSL_cleanse(k_secret, sizeof(k_secret));
	OPENSSL_cleanse(k_date, sizeof(k_date));
	OPENSSL_cleanse(k_region, sizeof(k_region));
	OPENSSL_cleanse(k_service, sizeof(k_service));
	return ok;
}

static int cache_holds(const struct jitrd_sigv4_key_cache *cache, const char *amz_date,
                       const struct jitrd_sigv4_scope *scope, const char *access_key_id)
{
	return cache->valid && memcmp(cache->date, amz_date, 8) == 0 &&
	       strcmp(cache->region, scope->region) == 0 &&
	       strcmp(cache->service, scope->service) == 0 &&
	       strcmp(cache->access_key_id, access_key_id) == 0;
}

/* Stage 3 for a scope already checked (amz_date is its time): with a cache (and an access key
 * id, which names the key), the key is derived only when the cache does not hold it. */
static enum jitrd_err sign_string(const char *string_to_sign, size_t sts_len,
                                  const struct jitrd_sigv4_credentials *creds,
                                  const struct jitrd_sigv4_scope *scope, const char *amz_date,
                                  struct jitrd_sigv4_key_cache *cache, char hex_out[65])
{
	enum jitrd_err result = JITRD_ERR_INVALID_ARG;
	EVP_MAC_CTX *ctx = NULL;
	unsigned char k_signing[SHA256_LEN], mac[SHA256_LEN];
	size_t secret_len;

	if (!creds->secret_access_key)
		goto cleanup;
	secret_len = bounded_len(creds->secret_access_key, JITRD_SIGV4_MAX_KEY_LEN);
	if (secret_len == 0 || secret_len > JITRD_SIGV4_MAX_KEY_LEN)
		goto cleanup;
	result = JITRD_ERR_CRYPTO;
	if (!crypto_ready() || !(ctx = EVP_MAC_CTX_dup(hmac_template)))
		goto cleanup;
	if (cache && cache_holds(cache, amz_date, scope, creds->access_key_id)) {
		memcpy(k_signing, cache->key, SHA256_LEN);
	} else {
		if (!derive_signing_key(ctx, creds->secret_access_key, secret_len, amz_date, scope,
		                        k_signing))
			goto cleanup;
		if (cache) {
			/* Sizes were checked by the caller (valid_scope, the access key id). */
			jitrd_sigv4_key_cache_cleanup(cache);
			memcpy(cache->date, amz_date, 8);
			cache->date[8] = '\0';
			memcpy(cache->region, scope->region, strlen(scope->region) + 1);
			memcpy(cache->service, scope->service, strlen(scope->service) + 1);
			memcpy(cache->access_key_id, creds->access_key_id,
			       strlen(creds->access_key_id) + 1);
			memcpy(cache->key, k_signing, SHA256_LEN);
			cache->valid = 1;
		}
	}
	if (!hmac_step(ctx, k_signing, SHA256_LEN, string_to_sign, sts_len, mac))
		goto cleanup;
	hex_encode(mac, SHA256_LEN, hex_out);
	result = JITRD_OK;

cleanup:
	EVP_MAC_CTX_free(ctx); /* the provider wipes its keyed state */
	OPENSSL_cleanse(k_signing, sizeof(k_signing));
	OPENSSL_cleanse(mac, sizeof(mac));
	return result;
}

enum jitrd_err jitrd_sigv4_signature(const char *string_to_sign,
                                     const struct jitrd_sigv4_credentials *creds,
                                     const struct jitrd_sigv4_scope *scope, char hex_out[65])
{
	char amz_date[17];

	if (!string_to_sign || !creds || !hex_out || !valid_scope(scope, amz_date))
		return JITRD_ERR_INVALID_ARG;
	return sign_string(string_to_sign, strlen(string_to_sign), creds, scope, amz_date, NULL,
	                   hex_out);
}

void jitrd_sigv4_key_cache_init(struct jitrd_sigv4_key_cache *cache)
{
	if (cache)
		memset(cache, 0, sizeof(*cache));
}

void jitrd_sigv4_key_cache_cleanup(struct jitrd_sigv4_key_cache *cache)
{
	if (cache)
		OPENSSL_cleanse(cache, sizeof(*cache));
}

static int has_header(const struct jitrd_sigv4_request *req, const char *lower_name)
{
	for (size_t i = 0; i < req->header_count; i++) {
		const char *name = req->headers[i].name;
		if (name && compare_name(name, strlen(name), lower_name, strlen(lower_name)) == 0)
			return 1;
	}
	return 0;
}

static char *dup_bytes(const char *s, size_t n)
{
	char *copy = malloc(n + 1);

	if (copy) {
		memcpy(copy, s, n);
		copy[n] = '\0';
	}
	return copy;
}

/* "AWS4-HMAC-SHA256 Credential=<id>/<date>/<region>/<service>/aws4_request,
 * SignedHeaders=<names>, Signature=<hex>" in one allocation of its exact size. */
static enum jitrd_err format_authorization(const char *access_key_id, const char *amz_date,
                                           const struct jitrd_sigv4_scope *scope,
                                           const struct text *names, const char *signature,
                                           char **out)
{
	static const char head[] = ALGORITHM " Credential=";
	static const char middle[] = "/aws4_request, SignedHeaders=";
	static const char tail[] = ", Signature=";
	size_t id_len = strlen(access_key_id), region_len = strlen(scope->region);
	size_t service_len = strlen(scope->service), len;
	char *authz, *at;

	/* Every part is bounded (ids and scope by their maxima, names by the canonical one). */
	len = sizeof(head) - 1 + id_len + 1 + 8 + 1 + region_len + 1 + service_len +
	      sizeof(middle) - 1 + names->len + sizeof(tail) - 1 + 64;
	if (len > JITRD_SIGV4_MAX_CANONICAL_LEN)
		return JITRD_ERR_INVALID_ARG;
	authz = malloc(len + 1);
	if (!authz)
		return JITRD_ERR_NOMEM;
	at = put(authz, head, sizeof(head) - 1);
	at = put(at, access_key_id, id_len);
	at = put(at, "/", 1);
	at = put(at, amz_date, 8);
	at = put(at, "/", 1);
	at = put(at, scope->region, region_len);
	at = put(at, "/", 1);
	at = put(at, scope->service, service_len);
	at = put(at, middle, sizeof(middle) - 1);
	at = put(at, names->buf, names->len);
	at = put(at, tail, sizeof(tail) - 1);
	at = put(at, signature, 64);
	*at = '\0';
	*out = authz;
	return JITRD_OK;
}

enum jitrd_err jitrd_sigv4_sign_cached(const struct jitrd_sigv4_request *req,
                                       const struct jitrd_sigv4_credentials *creds,
                                       const struct jitrd_sigv4_scope *scope,
                                       struct jitrd_sigv4_key_cache *cache,
                                       struct jitrd_sigv4_result *out)
{
	enum jitrd_err result = JITRD_ERR_INVALID_ARG;
	struct jitrd_sigv4_result res = {0};
	struct jitrd_sigv4_header extra[2];
	struct text creq, names;
	char signature[65], payload_hex[65], creq_hex[65], sts[STS_MAX];
	const char *token;
	size_t extra_count = 0, sts_len;
	int have_token;

	text_init(&creq, JITRD_SIGV4_MAX_CANONICAL_LEN);
	text_init(&names, JITRD_SIGV4_MAX_CANONICAL_LEN);
	if (!req || !creds || !scope || !out)
		goto cleanup;
	if (req->header_count > JITRD_SIGV4_MAX_HEADERS || (req->header_count > 0 && !req->headers))
		goto cleanup;
	if (!valid_word(creds->access_key_id, JITRD_SIGV4_MAX_KEY_LEN, is_scope_char))
		goto cleanup;
	if (!valid_scope(scope, res.amz_date))
		goto cleanup;
	token = creds->session_token;
	have_token = token && token[0] != '\0';
	if (have_token && !valid_value(token, JITRD_SIGV4_MAX_VALUE_LEN))
		goto cleanup;
	/* Headers this function adds itself: a caller's copy would be signed twice. */
	if (has_header(req, "x-amz-date") || has_header(req, "authorization") ||
	    (have_token && has_header(req, "x-amz-security-token")))
		goto cleanup;

	extra[extra_count].name = "x-amz-date";
	extra[extra_count++].value = res.amz_date;
	if (have_token && !req->session_token_unsigned) {
		extra[extra_count].name = "x-amz-security-token";
		extra[extra_count++].value = token;
	}
	result = build_canonical_request(req, extra, extra_count, payload_hex, &creq, &names);
	if (result != JITRD_OK)
		goto cleanup;
	result = sha256_hex(creq.buf, creq.len, creq_hex);
	if (result != JITRD_OK)
		goto cleanup;
	sts_len = format_string_to_sign(sts, res.amz_date, scope, creq_hex);
	result = sign_string(sts, sts_len, creds, scope, res.amz_date, cache, signature);
	if (result != JITRD_OK)
		goto cleanup;
	result = format_authorization(creds->access_key_id, res.amz_date, scope, &names, signature,
	                              &res.authorization);
	if (result != JITRD_OK)
		goto cleanup;

	result = JITRD_ERR_NOMEM;
	res.payload_hash = dup_bytes(payload_hex, 64);
	if (!res.payload_hash)
		goto cleanup;
	if (have_token) {
		res.security_token = dup_bytes(token, strlen(token));
		if (!res.security_token)
			goto cleanup;
	}
	*out = res;
	memset(&res, 0, sizeof(res));
	result = JITRD_OK;

cleanup:
	jitrd_sigv4_result_cleanup(&res);
	text_wipe(&creq);
	text_free(&names);
	return result;
}

enum jitrd_err jitrd_sigv4_sign(const struct jitrd_sigv4_request *req,
                                const struct jitrd_sigv4_credentials *creds,
                                const struct jitrd_sigv4_scope *scope,
                                struct jitrd_sigv4_result *out)
{
	return jitrd_sigv4_sign_cached(req, creds, scope, NULL, out);
}

void jitrd_sigv4_result_cleanup(struct jitrd_sigv4_result *res)
{
	if (!res)
		return;
	free(res->authorization);
	free(res->payload_hash);
	if (res->security_token) {
		OPENSSL_cleanse(res->security_token, strlen(res->security_token));
		free(res->security_token);
	}
	memset(res, 0, sizeof(*res));
}

/* Howard Hinnant's days_from_civil / civil_from_days: proleptic Gregorian, day 0 is
 * 1970-01-01. Used instead of gmtime/timegm, which are neither reentrant nor pure. */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
	y -= m <= 2;
	const int64_t era = (y >= 0 ? y : y - 399) / 400;
	const unsigned yoe = (unsigned)(y - era * 400);
	const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;

	return era * 146097 + (int64_t)doe - 719468;
}

static void civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
	z += 719468;
	const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
	const unsigned doe = (unsigned)(z - era * 146097);
	const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	const unsigned mp = (5 * doy + 2) / 153;

	*d = doy - (153 * mp + 2) / 5 + 1;
	*m = mp < 10 ? mp + 3 : mp - 9;
	*y = (int64_t)yoe + era * 400 + (*m <= 2);
}

/* v as exactly n decimal digits (v < 10^n). */
static void put_digits(char *out, unsigned v, int n)
{
	for (int i = n - 1; i >= 0; i--) {
		out[i] = (char)('0' + v % 10);
		v /= 10;
	}
}

enum jitrd_err jitrd_sigv4_amz_date(time_t when, char out[17])
{
	int64_t year;
	unsigned month, day, secs;

	if (!out || when < 0 || when > AMZ_DATE_MAX)
		return JITRD_ERR_INVALID_ARG;
	civil_from_days((int64_t)when / SECONDS_PER_DAY, &year, &month, &day);
	secs = (unsigned)((int64_t)when % SECONDS_PER_DAY);
	/* Formatted by hand: snprintf was a visible share of signing's CPU time. The range
	 * check above keeps the year at four digits. */
	put_digits(out, (unsigned)year, 4);
	put_digits(out + 4, month, 2);
	put_digits(out + 6, day, 2);
	out[8] = 'T';
	put_digits(out + 9, secs / 3600, 2);
	put_digits(out + 11, secs / 60 % 60, 2);
	put_digits(out + 13, secs % 60, 2);
	out[15] = 'Z';
	out[16] = '\0';
	return JITRD_OK;
}

/* Reads n decimal digits; -1 when any is not a digit. */
static int read_digits(const char *s, int n)
{
	int v = 0;

	for (int i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v;
}

enum jitrd_err jitrd_sigv4_parse_amz_date(const char *s, time_t *when)
{
	static const unsigned month_days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	int year, month, day, hour, minute, second;
	unsigned max_day;
	int64_t days;

	if (!s || !when)
		return JITRD_ERR_INVALID_ARG;
	if (bounded_len(s, 16) != 16 || s[8] != 'T' || s[15] != 'Z')
		return JITRD_ERR_MALFORMED;
	year = read_digits(s, 4);
	month = read_digits(s + 4, 2);
	day = read_digits(s + 6, 2);
	hour = read_digits(s + 9, 2);
	minute = read_digits(s + 11, 2);
	second = read_digits(s + 13, 2);
	if (year < 1970 || month < 1 || month > 12 || day < 1 || hour < 0 || hour > 23 ||
	    minute < 0 || minute > 59 || second < 0 || second > 59)
		return JITRD_ERR_MALFORMED;
	max_day = month_days[month - 1];
	if (month == 2 && (year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)))
		max_day = 29;
	if ((unsigned)day > max_day)
		return JITRD_ERR_MALFORMED;
	days = days_from_civil(year, (unsigned)month, (unsigned)day);
	*when = (time_t)(days * SECONDS_PER_DAY + hour * 3600 + minute * 60 + second);
	return JITRD_OK;
}
