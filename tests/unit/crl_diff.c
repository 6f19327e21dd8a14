/* crl_diff.c — see crl_diff.h. Both readers describe a CRL in the same words; where OpenSSL
 * offers a getter the oracle uses it, the streaming side uses what crl_der.h exposes.
 * Test code. */
#include "crl_diff.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "jitrd/crl_der.h"

/* A growing text; on allocation failure it stays NULL and the reading is marked so. */
struct text {
	char *s;
	size_t len, cap;
	bool failed;
};

static void add(struct text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void add(struct text *t, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (t->failed)
		return;
	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0) {
		t->failed = true;
		return;
	}
	if (t->len + (size_t)n + 1 > t->cap) {
		size_t cap = (t->len + (size_t)n + 1) * 2;
		char *grown = realloc(t->s, cap);

		if (!grown) {
			t->failed = true;
			return;
		}
		t->s = grown;
		t->cap = cap;
	}
	va_start(ap, fmt);
	vsnprintf(t->s + t->len, t->cap - t->len, fmt, ap);
	va_end(ap);
	t->len += (size_t)n;
}

static void add_hex(struct text *t, const unsigned char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		add(t, "%02x", p[i]);
}

static void add_integer(struct text *t, const ASN1_INTEGER *n)
{
	BIGNUM *bn = ASN1_INTEGER_to_BN(n, NULL);
	char *hex = bn ? BN_bn2hex(bn) : NULL;

	add(t, "%s", hex ? hex : "?");
	OPENSSL_free(hex);
	BN_free(bn);
}

static void add_time(struct text *t, const char *what, const ASN1_TIME *time)
{
	add(t, "%s=", what);
	if (!time) {
		add(t, "none\n");
		return;
	}
	add(t, "%d:", ASN1_STRING_type(time));
	add_hex(t, ASN1_STRING_get0_data(time), (size_t)ASN1_STRING_length(time));
	add(t, "\n");
}

/* What X509V3_get_d2i makes of an INTEGER extension: none, bad (unreadable or repeated), or
 * its value. */
static void add_number_ext(struct text *t, const char *what, const STACK_OF(X509_EXTENSION) * exts,
                           int nid)
{
	int crit = 0;
	ASN1_INTEGER *n = X509V3_get_d2i(exts, nid, &crit, NULL);

	add(t, "%s=", what);
	if (n)
		add_integer(t, n);
	else
		add(t, "%s", crit == -1 ? "none" : "bad");
	add(t, "\n");
	ASN1_INTEGER_free(n);
}

static void add_header(struct text *t, const X509_NAME *issuer, long version,
                       const ASN1_TIME *this_update, const ASN1_TIME *next_update,
                       const STACK_OF(X509_EXTENSION) * exts)
{
	const unsigned char *der = NULL;
	size_t der_len = 0;

	add(t, "issuer=");
	if (X509_NAME_get0_der((X509_NAME *)issuer, &der, &der_len) == 1)
		add_hex(t, der, der_len);
	add(t, "\nversion=%ld\n", version);
	add_time(t, "thisUpdate", this_update);
	add_time(t, "nextUpdate", next_update);
	add(t, "extensions=%d\n", sk_X509_EXTENSION_num(exts));
	for (int i = 0; i < sk_X509_EXTENSION_num(exts); i++) {
		X509_EXTENSION *e = sk_X509_EXTENSION_value(exts, i);
		char oid[80] = "";

		OBJ_obj2txt(oid, sizeof(oid), X509_EXTENSION_get_object(e), 1);
		add(t, " %s%s", oid, X509_EXTENSION_get_critical(e) ? "!" : "");
	}
	add(t, "\n");
	add_number_ext(t, "cRLNumber", exts, NID_crl_number);
	add_number_ext(t, "BaseCRLNumber", exts, NID_delta_crl);
}

static bool verify_with_pool(STACK_OF(X509) * pool, const X509_NAME *issuer,
                             bool (*verify)(const void *crl, EVP_PKEY *key), const void *crl)
{
	for (int i = 0; i < sk_X509_num(pool); i++) {
		X509 *ca = sk_X509_value(pool, i);
		EVP_PKEY *key = X509_get0_pubkey(ca);

		if (key && X509_NAME_cmp(X509_get_subject_name(ca), issuer) == 0 &&
		    verify(crl, key))
			return true;
	}
	return false;
}

static bool oracle_verify(const void *crl, EVP_PKEY *key)
{
	return X509_CRL_verify((X509_CRL *)crl, key) == 1;
}

static bool stream_verify(const void *crl, EVP_PKEY *key)
{
	return jitrd_crl_der_verify(crl, key) == JITRD_OK;
}

void crl_reading_cleanup(struct crl_reading *r)
{
	free(r->facts);
	memset(r, 0, sizeof(*r));
}

static void finish(struct text *t, struct crl_reading *out)
{
	if (t->failed) {
		free(t->s);
		out->facts = NULL;
		out->parsed = false;
		return;
	}
	out->facts = t->s;
}

void crl_read_oracle(const unsigned char *der, size_t len, STACK_OF(X509) * pool,
                     struct crl_reading *out)
{
	const unsigned char *p = der;
	X509_CRL *crl = len < 0x7fffffff ? d2i_X509_CRL(NULL, &p, (long)len) : NULL;
	STACK_OF(X509_REVOKED) * revoked;
	struct text t = {NULL, 0, 0, false};

	memset(out, 0, sizeof(*out));
	if (!crl || p != der + len) {
		X509_CRL_free(crl);
		ERR_clear_error();
		return;
	}
	out->parsed = true;
	out->verified = verify_with_pool(pool, X509_CRL_get_issuer(crl), oracle_verify, crl);
	add_header(&t, X509_CRL_get_issuer(crl), X509_CRL_get_version(crl),
	           X509_CRL_get0_lastUpdate(crl), X509_CRL_get0_nextUpdate(crl),
	           X509_CRL_get0_extensions(crl));
	revoked = X509_CRL_get_REVOKED(crl);
	add(&t, "entries=%d\n", revoked ? sk_X509_REVOKED_num(revoked) : 0);
	for (int i = 0; i < sk_X509_REVOKED_num(revoked); i++) {
		X509_REVOKED *rev = sk_X509_REVOKED_value(revoked, i);
		int crit = 0;
		ASN1_ENUMERATED *reason =
		    X509_REVOKED_get_ext_d2i(rev, NID_crl_reason, &crit, NULL);

		add_integer(&t, X509_REVOKED_get0_serialNumber(rev));
		if (reason)
			add(&t, " reason=%ld", ASN1_ENUMERATED_get(reason));
		else
			add(&t, " reason=%s", crit == -1 ? "none" : "bad");
		add(&t, " exts=%d ", X509_REVOKED_get_ext_count(rev));
		add_time(&t, "date", X509_REVOKED_get0_revocationDate(rev));
		ASN1_ENUMERATED_free(reason);
	}
	finish(&t, out);
	X509_CRL_free(crl);
	ERR_clear_error();
}

void crl_read_stream(const unsigned char *der, size_t len, STACK_OF(X509) * pool,
                     struct crl_reading *out)
{
	struct jitrd_crl_der crl;
	struct jitrd_crl_der_cursor cur;
	struct jitrd_crl_der_entry entry;
	ASN1_ENUMERATED *reason = NULL;
	struct text t = {NULL, 0, 0, false};
	size_t used = 0;
	bool done = false;

	memset(out, 0, sizeof(*out));
	memset(&crl, 0, sizeof(crl));
	if (jitrd_crl_der_parse(der, len, &crl, &used) != JITRD_OK || used != len) {
		jitrd_crl_der_cleanup(&crl);
		return;
	}
	out->parsed = true;
	out->verified = verify_with_pool(pool, crl.issuer, stream_verify, &crl);
	add_header(&t, crl.issuer, crl.version ? ASN1_INTEGER_get(crl.version) : 0, crl.this_update,
	           crl.next_update, crl.extensions);
	add(&t, "entries=%zu\n", crl.entry_count);
	jitrd_crl_der_cursor_init(&cur, &crl);
	while (jitrd_crl_der_next_entry(&cur, &entry, &done) == JITRD_OK && !done) {
		const unsigned char *p = entry.extensions;
		const unsigned char *end = p ? p + entry.extensions_len : NULL;
		const unsigned char *value = NULL;
		size_t value_len = 0;
		int count = 0, reasons = 0;
		struct jitrd_crl_der_ext ext;
		bool last = false;

		while (p && jitrd_crl_der_next_ext(&p, end, &ext, &last) == JITRD_OK && !last) {
			count++;
			if (ext.nid == NID_crl_reason) {
				reasons++;
				value = ext.value;
				value_len = ext.value_len;
			}
		}
		add_integer(&t, entry.serial);
		if (reasons == 0)
			add(&t, " reason=none");
		else if (reasons > 1 || !d2i_ASN1_ENUMERATED(&reason, &value, (long)value_len))
			add(&t, " reason=bad");
		else
			add(&t, " reason=%ld", ASN1_ENUMERATED_get(reason));
		add(&t, " exts=%d ", count);
		add_time(&t, "date", cur.date);
	}
	jitrd_crl_der_cursor_cleanup(&cur);
	ASN1_ENUMERATED_free(reason);
	jitrd_crl_der_cleanup(&crl);
	finish(&t, out);
	ERR_clear_error();
}

bool crl_readings_agree(const struct crl_reading *oracle, const struct crl_reading *stream,
                        char *why, size_t size)
{
	if (oracle->parsed != stream->parsed) {
		snprintf(why, size, "OpenSSL %s it, the stream parser %s it",
		         oracle->parsed ? "parses" : "refuses",
		         stream->parsed ? "parses" : "refuses");
		return false;
	}
	if (oracle->verified != stream->verified) {
		snprintf(why, size, "signature: OpenSSL %s, the stream parser %s",
		         oracle->verified ? "verifies" : "refuses",
		         stream->verified ? "verifies" : "refuses");
		return false;
	}
	if (oracle->parsed && (!oracle->facts || !stream->facts)) {
		snprintf(why, size, "out of memory describing the CRL");
		return false;
	}
	if (oracle->parsed && strcmp(oracle->facts, stream->facts) != 0) {
		size_t i = 0;

		while (oracle->facts[i] && oracle->facts[i] == stream->facts[i])
			i++;
		snprintf(why, size,
		         "read differently from byte %zu: OpenSSL \"%.60s\", stream \"%.60s\"", i,
		         oracle->facts + i, stream->facts + i);
		return false;
	}
	return true;
}
