/* sigv4.c — AWS Signature Version 4 for HTTP requests, in the stages aws-c-auth uses:
 * canonical request -> string to sign -> signature -> Authorization header.
 * Pure: no clock, no environment, no I/O, no logging; the secret key is never copied into
 * any output, and every derived key is wiped with OPENSSL_cleanse. */
#include "jitrd/sigv4.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#define ALGORITHM       "AWS4-HMAC-SHA256"
#define SHA256_LEN      32
#define SECONDS_PER_DAY 86400
/* 9999-12-31T23:59:59Z: the last moment an amz-date's four year digits can hold. */
#define AMZ_DATE_MAX ((time_t)253402300799)

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

	if (EVP_Digest(data, len, md, &md_len, EVP_sha256(), NULL) != 1 || md_len != SHA256_LEN)
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

	for (size_t i = 0; i < n && err == JITRD_OK; i++) {
		unsigned char c = (unsigned char)s[i];
		if (is_unreserved(c) || (keep_slash && c == '/')) {
			err = text_append(t, (const char *)&c, 1);
		} else {
			char esc[3] = {'%', digits[c >> 4], digits[c & 0x0f]};
			err = text_append(t, esc, 3);
		}
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
	char *norm = malloc(len + 2);
	size_t nlen = 0;
	enum jitrd_err result = JITRD_ERR_NOMEM;

	if (!norm)
		goto cleanup;
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
	result = append_uri_encoded(out, norm, nlen, 1);

cleanup:
	free(norm);
	return result;
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
	struct query_param *params = NULL;
	char *store = NULL, *scratch = NULL, *at;
	size_t len, count = 0, n = 0;

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
	params = calloc(count, sizeof(*params));
	/* Sized for the worst case (every byte becomes %XX, plus two NULs per parameter), so
	 * the store never moves and params can point into it. */
	store = malloc(3 * len + 2 * count + 1);
	scratch = malloc(len + 1);
	if (!params || !store || !scratch)
		goto cleanup;
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
	free(params);
	free(store);
	free(scratch);
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

	for (; *v && err == JITRD_OK; v++) {
		if (*v == ' ' || *v == '\t') {
			pending_space = started;
			continue;
		}
		if (pending_space)
			err = text_append(t, " ", 1);
		if (err == JITRD_OK)
			err = text_append(t, v, 1);
		pending_space = 0;
		started = 1;
	}
	return err;
}

static enum jitrd_err append_lower(struct text *t, const char *s, size_t n)
{
	enum jitrd_err err = JITRD_OK;

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

enum jitrd_err jitrd_sigv4_canonical_request(const struct jitrd_sigv4_request *req,
                                             const struct jitrd_sigv4_header *extra,
                                             size_t extra_count, char **out, char **signed_headers)
{
	enum jitrd_err result = JITRD_ERR_INVALID_ARG;
	struct canon_header *all = NULL;
	struct jitrd_sigv4_header content_sha;
	struct text creq, names;
	char payload_hex[65];
	size_t n = 0;
	int have_host = 0;

	text_init(&creq, JITRD_SIGV4_MAX_CANONICAL_LEN);
	text_init(&names, JITRD_SIGV4_MAX_CANONICAL_LEN);
	if (!req || !out || !signed_headers || !req->path)
		goto cleanup;
	if (!valid_word(req->method, JITRD_SIGV4_MAX_METHOD_LEN, is_tchar))
		goto cleanup;
	if (req->header_count > JITRD_SIGV4_MAX_HEADERS || extra_count > JITRD_SIGV4_MAX_EXTRA)
		goto cleanup;
	if ((req->header_count > 0 && !req->headers) || (extra_count > 0 && !extra))
		goto cleanup;
	if (req->payload_len > 0 && !req->payload)
		goto cleanup;

	result = sha256_hex(req->payload ? (const void *)req->payload : "", req->payload_len,
	                    payload_hex);
	if (result != JITRD_OK)
		goto cleanup;

	result = JITRD_ERR_NOMEM;
	all = calloc(req->header_count + extra_count + 1, sizeof(*all));
	if (!all)
		goto cleanup;
	result = JITRD_OK;
	for (size_t i = 0; i < req->header_count && result == JITRD_OK; i++)
		result = add_header(all, &n, &req->headers[i]);
	for (size_t i = 0; i < extra_count && result == JITRD_OK; i++)
		result = add_header(all, &n, &extra[i]);
	if (result != JITRD_OK)
		goto cleanup;
	for (size_t i = 0; i < n; i++) {
		have_host |= name_is(&all[i], "host");
		/* One x-amz-content-sha256, ours: a second would be joined into "a,b". */
		if (req->sign_payload_hash && name_is(&all[i], "x-amz-content-sha256")) {
			result = JITRD_ERR_INVALID_ARG;
			goto cleanup;
		}
	}
	if (!have_host) {
		result = JITRD_ERR_INVALID_ARG;
		goto cleanup;
	}
	if (req->sign_payload_hash) {
		content_sha.name = "x-amz-content-sha256";
		content_sha.value = payload_hex;
		result = add_header(all, &n, &content_sha);
		if (result != JITRD_OK)
			goto cleanup;
	}

	result = text_puts(&creq, req->method);
	if (result == JITRD_OK)
		result = text_append(&creq, "\n", 1);
	if (result == JITRD_OK)
		result = append_canonical_uri(&creq, req->path, req->normalize_path);
	if (result == JITRD_OK)
		result = text_append(&creq, "\n", 1);
	if (result == JITRD_OK)
		result = append_canonical_query(&creq, req->query);
	if (result == JITRD_OK)
		result = text_append(&creq, "\n", 1);
	if (result == JITRD_OK)
		result = append_canonical_headers(&creq, &names, all, n);
	if (result == JITRD_OK)
		result = text_append(&creq, "\n", 1);
	if (result == JITRD_OK)
		result = text_append(&creq, names.buf, names.len);
	if (result == JITRD_OK)
		result = text_append(&creq, "\n", 1);
	if (result == JITRD_OK)
		result = text_append(&creq, payload_hex, 64);
	if (result != JITRD_OK)
		goto cleanup;

	/* Both allocated already, so handing them over cannot fail half-way. */
	result = text_take(&creq, out);
	if (result == JITRD_OK)
		result = text_take(&names, signed_headers);

cleanup:
	free(all);
	text_wipe(&creq);
	text_wipe(&names);
	return result;
}

static int valid_scope(const struct jitrd_sigv4_scope *scope, char amz_date[17])
{
	if (!scope)
		return 0;
	if (!valid_word(scope->region, JITRD_SIGV4_MAX_SCOPE_LEN, is_scope_char) ||
	    !valid_word(scope->service, JITRD_SIGV4_MAX_SCOPE_LEN, is_scope_char))
		return 0;
	return jitrd_sigv4_amz_date(scope->when, amz_date) == 0;
}

enum jitrd_err jitrd_sigv4_string_to_sign(const char *canonical_request,
                                          const struct jitrd_sigv4_scope *scope, char **out)
{
	enum jitrd_err result = JITRD_ERR_INVALID_ARG;
	struct text sts;
	char amz_date[17], creq_hex[65];

	text_init(&sts, JITRD_SIGV4_MAX_CANONICAL_LEN);
	if (!canonical_request || !out || !valid_scope(scope, amz_date))
		goto cleanup;
	result = sha256_hex(canonical_request, strlen(canonical_request), creq_hex);
	if (result != JITRD_OK)
		goto cleanup;

	result = text_puts(&sts, ALGORITHM "\n");
	if (result == JITRD_OK)
		result = text_puts(&sts, amz_date);
	if (result == JITRD_OK)
		result = text_append(&sts, "\n", 1);
	if (result == JITRD_OK)
		result = text_append(&sts, amz_date, 8);
	if (result == JITRD_OK)
		result = text_append(&sts, "/", 1);
	if (result == JITRD_OK)
		result = text_puts(&sts, scope->region);
	if (result == JITRD_OK)
		result = text_append(&sts, "/", 1);
	if (result == JITRD_OK)
		result = text_puts(&sts, scope->service);
	if (result == JITRD_OK)
		result = text_puts(&sts, "/aws4_request\n");
	if (result == JITRD_OK)
		result = text_append(&sts, creq_hex, 64);
	if (result == JITRD_OK)
		result = text_take(&sts, out);

cleanup:
	text_wipe(&sts);
	return result;
}

static int hmac_step(const unsigned char *key, size_t key_len, const void *data, size_t data_len,
                     unsigned char out[SHA256_LEN])
{
	unsigned int out_len = 0;

	if (key_len > INT32_MAX)
		return 0;
	if (!HMAC(EVP_sha256(), key, (int)key_len, (const unsigned char *)data, data_len, out,
	          &out_len))
		return 0;
	return out_len == SHA256_LEN;
}

enum jitrd_err jitrd_sigv4_signature(const char *string_to_sign,
                                     const struct jitrd_sigv4_credentials *creds,
                                     const struct jitrd_sigv4_scope *scope, char hex_out[65])
{
	enum jitrd_err result = JITRD_ERR_INVALID_ARG;
	/* "AWS4" + secret: the only copy of the secret this module makes, wiped below. */
	unsigned char k_secret[4 + JITRD_SIGV4_MAX_KEY_LEN];
	unsigned char k_date[SHA256_LEN], k_region[SHA256_LEN], k_service[SHA256_LEN];
	unsigned char k_signing[SHA256_LEN], mac[SHA256_LEN];
	char amz_date[17];
	size_t secret_len;

	if (!string_to_sign || !creds || !hex_out || !creds->secret_access_key ||
	    !valid_scope(scope, amz_date))
		goto cleanup;
	secret_len = bounded_len(creds->secret_access_key, JITRD_SIGV4_MAX_KEY_LEN);
	if (secret_len == 0 || secret_len > JITRD_SIGV4_MAX_KEY_LEN)
		goto cleanup;
	memcpy(k_secret, "AWS4", 4);
	memcpy(k_secret + 4, creds->secret_access_key, secret_len);

	result = JITRD_ERR_CRYPTO;
	if (!hmac_step(k_secret, 4 + secret_len, amz_date, 8, k_date) ||
	    !hmac_step(k_date, SHA256_LEN, scope->region, strlen(scope->region), k_region) ||
	    !hmac_step(k_region, SHA256_LEN, scope->service, strlen(scope->service), k_service) ||
	    !hmac_step(k_service, SHA256_LEN, "aws4_request", 12, k_signing) ||
	    !hmac_step(k_signing, SHA256_LEN, string_to_sign, strlen(string_to_sign), mac))
		goto cleanup;
	hex_encode(mac, SHA256_LEN, hex_out);
	result = JITRD_OK;

cleanup:
	OPENSSL_cleanse(k_secret, sizeof(k_secret));
	OPENSSL_cleanse(k_date, sizeof(k_date));
	OPENSSL_cleanse(k_region, sizeof(k_region));
	OPENSSL_cleanse(k_service, sizeof(k_service));
	OPENSSL_cleanse(k_signing, sizeof(k_signing));
	OPENSSL_cleanse(mac, sizeof(mac));
	return result;
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

static char *dup_string(const char *s)
{
	size_t n = strlen(s) + 1;
	char *copy = malloc(n);

	if (copy)
		memcpy(copy, s, n);
	return copy;
}

enum jitrd_err jitrd_sigv4_sign(const struct jitrd_sigv4_request *req,
                                const struct jitrd_sigv4_credentials *creds,
                                const struct jitrd_sigv4_scope *scope,
                                struct jitrd_sigv4_result *out)
{
	enum jitrd_err result = JITRD_ERR_INVALID_ARG;
	struct jitrd_sigv4_result res = {0};
	struct jitrd_sigv4_header extra[2];
	struct text authz;
	char *creq = NULL, *signed_headers = NULL, *sts = NULL;
	char signature[65], payload_hex[65], scope_date[9];
	const char *token;
	size_t extra_count = 0;
	int have_token;

	text_init(&authz, JITRD_SIGV4_MAX_CANONICAL_LEN);
	if (!req || !creds || !scope || !out)
		goto cleanup;
	if (req->header_count > JITRD_SIGV4_MAX_HEADERS || (req->header_count > 0 && !req->headers))
		goto cleanup;
	if (!valid_word(creds->access_key_id, JITRD_SIGV4_MAX_KEY_LEN, is_scope_char))
		goto cleanup;
	if (jitrd_sigv4_amz_date(scope->when, res.amz_date) != 0)
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
	result = jitrd_sigv4_canonical_request(req, extra, extra_count, &creq, &signed_headers);
	if (result != JITRD_OK)
		goto cleanup;
	result = jitrd_sigv4_string_to_sign(creq, scope, &sts);
	if (result != JITRD_OK)
		goto cleanup;
	result = jitrd_sigv4_signature(sts, creds, scope, signature);
	if (result != JITRD_OK)
		goto cleanup;
	result = sha256_hex(req->payload ? (const void *)req->payload : "", req->payload_len,
	                    payload_hex);
	if (result != JITRD_OK)
		goto cleanup;

	memcpy(scope_date, res.amz_date, 8);
	scope_date[8] = '\0';
	result = text_puts(&authz, ALGORITHM " Credential=");
	if (result == JITRD_OK)
		result = text_puts(&authz, creds->access_key_id);
	if (result == JITRD_OK)
		result = text_append(&authz, "/", 1);
	if (result == JITRD_OK)
		result = text_puts(&authz, scope_date);
	if (result == JITRD_OK)
		result = text_append(&authz, "/", 1);
	if (result == JITRD_OK)
		result = text_puts(&authz, scope->region);
	if (result == JITRD_OK)
		result = text_append(&authz, "/", 1);
	if (result == JITRD_OK)
		result = text_puts(&authz, scope->service);
	if (result == JITRD_OK)
		result = text_puts(&authz, "/aws4_request, SignedHeaders=");
	if (result == JITRD_OK)
		result = text_puts(&authz, signed_headers);
	if (result == JITRD_OK)
		result = text_puts(&authz, ", Signature=");
	if (result == JITRD_OK)
		result = text_append(&authz, signature, 64);
	if (result == JITRD_OK)
		result = text_take(&authz, &res.authorization);
	if (result != JITRD_OK)
		goto cleanup;

	result = JITRD_ERR_NOMEM;
	res.payload_hash = dup_string(payload_hex);
	if (!res.payload_hash)
		goto cleanup;
	if (have_token) {
		res.security_token = dup_string(token);
		if (!res.security_token)
			goto cleanup;
	}
	*out = res;
	memset(&res, 0, sizeof(res));
	result = JITRD_OK;

cleanup:
	jitrd_sigv4_result_cleanup(&res);
	if (creq) {
		OPENSSL_cleanse(creq, strlen(creq));
		free(creq);
	}
	free(signed_headers);
	free(sts);
	text_wipe(&authz);
	return result;
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

int jitrd_sigv4_amz_date(time_t when, char out[17])
{
	char buf[32];
	int64_t year;
	unsigned month, day, secs;
	int n;

	if (!out || when < 0 || when > AMZ_DATE_MAX)
		return -1;
	civil_from_days((int64_t)when / SECONDS_PER_DAY, &year, &month, &day);
	secs = (unsigned)((int64_t)when % SECONDS_PER_DAY);
	n = snprintf(buf, sizeof(buf), "%04d%02u%02uT%02u%02u%02uZ", (int)year, month, day,
	             secs / 3600, secs / 60 % 60, secs % 60);
	if (n != 16)
		return -1;
	memcpy(out, buf, 17);
	return 0;
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

int jitrd_sigv4_parse_amz_date(const char *s, time_t *when)
{
	static const unsigned month_days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	int year, month, day, hour, minute, second;
	unsigned max_day;
	int64_t days;

	if (!s || !when || bounded_len(s, 16) != 16 || s[8] != 'T' || s[15] != 'Z')
		return -1;
	year = read_digits(s, 4);
	month = read_digits(s + 4, 2);
	day = read_digits(s + 6, 2);
	hour = read_digits(s + 9, 2);
	minute = read_digits(s + 11, 2);
	second = read_digits(s + 13, 2);
	if (year < 1970 || month < 1 || month > 12 || day < 1 || hour < 0 || hour > 23 ||
	    minute < 0 || minute > 59 || second < 0 || second > 59)
		return -1;
	max_day = month_days[month - 1];
	if (month == 2 && (year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)))
		max_day = 29;
	if ((unsigned)day > max_day)
		return -1;
	days = days_from_civil(year, (unsigned)month, (unsigned)day);
	*when = (time_t)(days * SECONDS_PER_DAY + hour * 3600 + minute * 60 + second);
	return 0;
}
