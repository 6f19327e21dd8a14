/* cert.c — one X.509 certificate parsed once into an immutable struct: AWS id, serial, subject
 * fields, key ids; plus what DESIGN §3.5 asks of a device beyond RFC 5280 path validation (not
 * a CA, fit for a TLS client), which OpenSSL's verifier does not check (caset.c runs it).
 * Pure: bytes in; no I/O, no clock, no logging; leaves no OpenSSL error queued. */
#include "jitrd/cert.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "jitrd/text.h"
#include "x509_util.h"

/* One subject field, decided in the constructor so the accessor is const and thread-safe. */
struct subject_value {
	enum jitrd_err status; /* JITRD_OK, FIELD_ABSENT, FIELD_AMBIGUOUS or BAD_FIELD */
	char *utf8;            /* NUL-terminated, only when status == JITRD_OK */
};

struct jitrd_cert {
	X509 *x509;
	char id[65];
	char *serial_hex;
	const unsigned char *skid; /* borrowed from x509's cached extensions */
	size_t skid_len;
	const unsigned char *akid;
	size_t akid_len;
	bool is_ca;             /* basicConstraints CA:TRUE */
	bool may_sign_certs;    /* X509_check_ca != 0: CA:TRUE, keyCertSign, v1 self-signed... */
	uint32_t key_usage;     /* X509_get_key_usage: UINT32_MAX when there is no keyUsage */
	uint32_t ext_key_usage; /* X509_get_extended_key_usage: UINT32_MAX when no EKU */
	struct subject_value fields[JITRD_SUBJECT_FIELD_COUNT];
};

static const struct {
	const char *name; /* as in templates: subject.CN (DESIGN §4.4) */
	int nid;
} field_table[JITRD_SUBJECT_FIELD_COUNT] = {
    [JITRD_SUBJECT_CN] = {"CN", NID_commonName},
    [JITRD_SUBJECT_O] = {"O", NID_organizationName},
    [JITRD_SUBJECT_OU] = {"OU", NID_organizationalUnitName},
    [JITRD_SUBJECT_C] = {"C", NID_countryName},
    [JITRD_SUBJECT_ST] = {"ST", NID_stateOrProvinceName},
    [JITRD_SUBJECT_L] = {"L", NID_localityName},
    [JITRD_SUBJECT_SERIAL_NUMBER] = {"serialNumber", NID_serialNumber},
};

enum jitrd_err jitrd_openssl_failure(enum jitrd_err otherwise)
{
	unsigned long first = ERR_peek_error();
	unsigned long last = ERR_peek_last_error();

	if ((first != 0 && ERR_GET_REASON(first) == ERR_R_MALLOC_FAILURE) ||
	    (last != 0 && ERR_GET_REASON(last) == ERR_R_MALLOC_FAILURE))
		return JITRD_ERR_NOMEM;
	return otherwise;
}

int jitrd_pem_no_password(char *buf, int size, int rwflag, void *userdata)
{
	(void)buf;
	(void)size;
	(void)rwflag;
	(void)userdata;
	return -1;
}

void jitrd_name_for_message(const X509_NAME *name, char *out, size_t out_size)
{
	char oneline[256];

	if (!name || !X509_NAME_oneline(name, oneline, (int)sizeof(oneline)))
		snprintf(oneline, sizeof(oneline), "(unprintable name)");
	/* oneline already escapes bytes outside ASCII; quoting again keeps the diag clean. */
	jitrd_quote(out, out_size, oneline, strlen(oneline));
}

bool jitrd_asn1_time_to_time_t(const ASN1_TIME *t, time_t *out)
{
	struct tm tm;
	time_t v;

	memset(&tm, 0, sizeof(tm));
	if (!t || ASN1_TIME_to_tm(t, &tm) != 1)
		return false;
	v = timegm(&tm);
	if (v == (time_t)-1)
		return false;
	*out = v;
	return true;
}

const char *jitrd_weak_signature_digest(int sig_nid)
{
	int md = NID_undef, pk = NID_undef;

	if (!OBJ_find_sigid_algs(sig_nid, &md, &pk))
		return NULL;
	if (md == NID_md5 || md == NID_md4 || md == NID_md2 || md == NID_sha1 || md == NID_md5_sha1)
		return OBJ_nid2sn(md);
	return NULL;
}

static enum jitrd_err decide_field(const X509_NAME *name, int nid, struct subject_value *out)
{
	int first = X509_NAME_get_index_by_NID(name, nid, -1);
	unsigned char *utf8 = NULL;
	int len;

	out->utf8 = NULL;
	if (first < 0) {
		out->status = JITRD_ERR_FIELD_ABSENT;
		return JITRD_OK;
	}
	if (X509_NAME_get_index_by_NID(name, nid, first) >= 0) {
		out->status = JITRD_ERR_FIELD_AMBIGUOUS;
		return JITRD_OK;
	}
	len =
	    ASN1_STRING_to_UTF8(&utf8, X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, first)));
	if (len < 0) {
		if (jitrd_openssl_failure(JITRD_ERR_BAD_FIELD) == JITRD_ERR_NOMEM)
			return JITRD_ERR_NOMEM;
		/* A string type OpenSSL cannot convert (or bytes invalid for it). */
		out->status = JITRD_ERR_BAD_FIELD;
		return JITRD_OK;
	}
	/* A NUL would cut the value short in every C consumer; invalid UTF-8 would reach JSON. */
	if (memchr(utf8, '\0', (size_t)len) ||
	    jitrd_utf8_invalid_at((const char *)utf8, (size_t)len) != (size_t)len) {
		OPENSSL_free(utf8);
		out->status = JITRD_ERR_BAD_FIELD;
		return JITRD_OK;
	}
	/* ASN1_STRING_to_UTF8 NUL-terminates its output. */
	out->utf8 = (char *)utf8;
	out->status = JITRD_OK;
	return JITRD_OK;
}

/* Lowercase hex without leading zeros ("0" for zero). Negative serials are forbidden by
 * RFC 5280 §4.1.2.2 and would make "-" appear in names: refused as malformed. */
static enum jitrd_err serial_to_hex(const ASN1_INTEGER *serial, char **out)
{
	enum jitrd_err result = JITRD_ERR_MALFORMED;
	BIGNUM *bn = ASN1_INTEGER_to_BN(serial, NULL);
	char *hex = NULL;
	char *lower = NULL;
	const char *digits;
	size_t n;

	if (!bn) {
		result = jitrd_openssl_failure(JITRD_ERR_MALFORMED);
		goto cleanup;
	}
	if (BN_is_negative(bn))
		goto cleanup;
	hex = BN_bn2hex(bn);
	if (!hex) {
		result = JITRD_ERR_NOMEM;
		goto cleanup;
	}
	/* BN_bn2hex prints whole bytes ("03E8"); drop the leading zero nibble but keep "0". */
	digits = hex;
	while (digits[0] == '0' && digits[1] != '\0')
		digits++;
	n = strlen(digits);
	lower = malloc(n + 1);
	if (!lower) {
		result = JITRD_ERR_NOMEM;
		goto cleanup;
	}
	if (!jitrd_hex_lower_copy(digits, n, lower)) /* BN_bn2hex prints hex digits only */
		goto cleanup;
	*out = lower;
	lower = NULL;
	result = JITRD_OK;
cleanup:
	free(lower);
	OPENSSL_free(hex);
	BN_free(bn);
	return result;
}

/* AWS's certificateId / caCertificateId: SHA-256 of the DER, lowercase hex. */
static enum jitrd_err der_sha256_hex(X509 *x, char out[65])
{
	enum jitrd_err result = JITRD_ERR_CRYPTO;
	unsigned char *der = NULL;
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int md_len = 0;
	int der_len;

	/* For a parsed certificate i2d_X509 returns the bytes as received (cached encoding). */
	der_len = i2d_X509(x, &der);
	if (der_len <= 0) {
		result = jitrd_openssl_failure(JITRD_ERR_MALFORMED);
		goto cleanup;
	}
	if (EVP_Digest(der, (size_t)der_len, md, &md_len, EVP_sha256(), NULL) != 1 ||
	    md_len != 32) {
		result = jitrd_openssl_failure(JITRD_ERR_CRYPTO);
		goto cleanup;
	}
	jitrd_hex_encode(md, md_len, out, 65);
	result = JITRD_OK;
cleanup:
	OPENSSL_free(der);
	return result;
}

void jitrd_cert_free(struct jitrd_cert *cert)
{
	if (!cert)
		return;
	for (size_t i = 0; i < JITRD_SUBJECT_FIELD_COUNT; i++)
		OPENSSL_free(cert->fields[i].utf8);
	free(cert->serial_hex);
	X509_free(cert->x509);
	free(cert);
}

enum jitrd_err jitrd_cert_from_x509(X509 *x, struct jitrd_cert **out, struct jitrd_diag *diag)
{
	enum jitrd_err result = JITRD_ERR_INVALID_ARG;
	struct jitrd_cert *cert = NULL;
	const ASN1_OCTET_STRING *kid;
	const X509_NAME *subject;
	uint32_t flags;

	ERR_set_mark();
	if (!x || !out) {
		jitrd_diag_set(diag, "certificate: no certificate given");
		goto cleanup;
	}
	cert = calloc(1, sizeof(*cert));
	if (!cert) {
		result = JITRD_ERR_NOMEM;
		goto cleanup;
	}
	if (X509_up_ref(x) != 1) {
		result = JITRD_ERR_CRYPTO;
		jitrd_diag_set(diag, "certificate: cannot take a reference (OpenSSL failure)");
		goto cleanup;
	}
	cert->x509 = x;

	/* Everything OpenSSL computes lazily and caches inside the X509 (extension flags, key
	 * ids, canonical name encodings, the public key) is forced here, once, so that later
	 * const accessors and checks never write into a certificate shared between threads. */
	flags = X509_get_extension_flags(x);
	if (flags & EXFLAG_INVALID) {
		/* Also set when OpenSSL ran out of memory decoding an extension. */
		result = jitrd_openssl_failure(JITRD_ERR_MALFORMED);
		jitrd_diag_set(diag, "certificate: invalid or duplicate extensions");
		goto cleanup;
	}
	cert->is_ca = (flags & EXFLAG_CA) != 0;
	cert->may_sign_certs = X509_check_ca(x) != 0;
	cert->key_usage = X509_get_key_usage(x);
	cert->ext_key_usage = X509_get_extended_key_usage(x);
	kid = X509_get0_subject_key_id(x);
	if (kid) {
		cert->skid = ASN1_STRING_get0_data(kid);
		cert->skid_len = (size_t)ASN1_STRING_length(kid);
	}
	kid = X509_get0_authority_key_id(x);
	if (kid) {
		cert->akid = ASN1_STRING_get0_data(kid);
		cert->akid_len = (size_t)ASN1_STRING_length(kid);
	}
	if (i2d_X509_NAME(X509_get_subject_name(x), NULL) <= 0 ||
	    i2d_X509_NAME(X509_get_issuer_name(x), NULL) <= 0) {
		result = jitrd_openssl_failure(JITRD_ERR_MALFORMED);
		jitrd_diag_set(diag, "certificate: cannot encode its names");
		goto cleanup;
	}
	(void)X509_get0_pubkey(x); /* NULL for an unknown key type: then nothing verifies */

	result = der_sha256_hex(x, cert->id);
	if (result != JITRD_OK) {
		jitrd_diag_set(diag, "certificate: cannot hash its DER encoding");
		goto cleanup;
	}
	result = serial_to_hex(X509_get0_serialNumber(x), &cert->serial_hex);
	if (result != JITRD_OK) {
		jitrd_diag_set(diag, "certificate: %s serial number",
		               result == JITRD_ERR_NOMEM ? "no memory for the" : "negative or bad");
		goto cleanup;
	}
	subject = X509_get_subject_name(x);
	for (size_t i = 0; i < JITRD_SUBJECT_FIELD_COUNT; i++) {
		result = decide_field(subject, field_table[i].nid, &cert->fields[i]);
		if (result != JITRD_OK)
			goto cleanup;
	}
	*out = cert;
	cert = NULL;
	result = JITRD_OK;
cleanup:
	if (result == JITRD_ERR_NOMEM)
		jitrd_diag_set(diag, "certificate: out of memory");
	jitrd_cert_free(cert);
	ERR_pop_to_mark();
	return result;
}

enum jitrd_err jitrd_cert_from_der(const unsigned char *der, size_t len, struct jitrd_cert **out,
                                   struct jitrd_diag *diag)
{
	enum jitrd_err result = JITRD_ERR_MALFORMED;
	const unsigned char *p = der;
	X509 *x = NULL;

	ERR_set_mark();
	if (!der || !out) {
		result = JITRD_ERR_INVALID_ARG;
		jitrd_diag_set(diag, "certificate: no input");
		goto cleanup;
	}
	/* The same bound as for PEM: a device certificate is a few hundred bytes. */
	if (len > JITRD_CERT_MAX_PEM) {
		result = JITRD_ERR_TOO_LARGE;
		jitrd_diag_set(diag, "certificate: %zu bytes of DER, more than %d", len,
		               JITRD_CERT_MAX_PEM);
		goto cleanup;
	}
	if (len == 0) {
		jitrd_diag_set(diag, "certificate: empty DER");
		goto cleanup;
	}
	x = d2i_X509(NULL, &p, (long)len);
	if (!x) {
		result = jitrd_openssl_failure(JITRD_ERR_MALFORMED);
		jitrd_diag_set(diag, "certificate: not a DER X.509 certificate");
		goto cleanup;
	}
	/* Bytes after the certificate would not be covered by the id AWS computes. */
	if (p != der + len) {
		jitrd_diag_set(diag, "certificate: %zu bytes after the DER certificate",
		               (size_t)(der + len - p));
		goto cleanup;
	}
	result = jitrd_cert_from_x509(x, out, diag);
cleanup:
	X509_free(x);
	ERR_pop_to_mark();
	return result;
}

enum jitrd_err jitrd_cert_from_pem(const char *pem, size_t len, struct jitrd_cert **out,
                                   struct jitrd_diag *diag)
{
	enum jitrd_err result = JITRD_ERR_MALFORMED;
	BIO *bio = NULL;
	unsigned char *der = NULL;
	long der_len = 0;
	char *name = NULL;

	ERR_set_mark();
	if (!pem || !out) {
		result = JITRD_ERR_INVALID_ARG;
		jitrd_diag_set(diag, "certificate: no input");
		goto cleanup;
	}
	if (len > JITRD_CERT_MAX_PEM) {
		result = JITRD_ERR_TOO_LARGE;
		jitrd_diag_set(diag, "certificate: %zu bytes of PEM, more than %d", len,
		               JITRD_CERT_MAX_PEM);
		goto cleanup;
	}
	bio = BIO_new_mem_buf(pem, (int)len);
	if (!bio) {
		result = JITRD_ERR_NOMEM;
		jitrd_diag_set(diag, "certificate: out of memory");
		goto cleanup;
	}
	/* The first CERTIFICATE block (other blocks before it are skipped), decoded here rather
	 * than through PEM_read_bio_X509 so that the DER is held to from_der's rules: one
	 * certificate, no bytes after it. */
	if (PEM_bytes_read_bio(&der, &der_len, &name, PEM_STRING_X509, bio, jitrd_pem_no_password,
	                       NULL) != 1) {
		result = jitrd_openssl_failure(JITRD_ERR_MALFORMED);
		jitrd_diag_set(diag, "certificate: no readable PEM CERTIFICATE block");
		goto cleanup;
	}
	if (der_len <= 0) {
		jitrd_diag_set(diag, "certificate: empty PEM CERTIFICATE block");
		goto cleanup;
	}
	result = jitrd_cert_from_der(der, (size_t)der_len, out, diag);
cleanup:
	OPENSSL_free(der);
	OPENSSL_free(name);
	BIO_free(bio);
	ERR_pop_to_mark();
	return result;
}

X509 *jitrd_cert_x509(const struct jitrd_cert *cert)
{
	return cert->x509;
}

const char *jitrd_cert_id(const struct jitrd_cert *cert)
{
	return cert->id;
}

const char *jitrd_cert_serial_hex(const struct jitrd_cert *cert)
{
	return cert->serial_hex;
}

const ASN1_INTEGER *jitrd_cert_serial(const struct jitrd_cert *cert)
{
	return X509_get0_serialNumber(cert->x509);
}

const X509_NAME *jitrd_cert_issuer(const struct jitrd_cert *cert)
{
	return X509_get_issuer_name(cert->x509);
}

const X509_NAME *jitrd_cert_subject(const struct jitrd_cert *cert)
{
	return X509_get_subject_name(cert->x509);
}

const unsigned char *jitrd_cert_subject_key_id(const struct jitrd_cert *cert, size_t *len)
{
	*len = cert->skid_len;
	return cert->skid;
}

const unsigned char *jitrd_cert_authority_key_id(const struct jitrd_cert *cert, size_t *len)
{
	*len = cert->akid_len;
	return cert->akid;
}

bool jitrd_cert_is_ca(const struct jitrd_cert *cert)
{
	return cert->is_ca;
}

enum jitrd_err jitrd_cert_subject_field(const struct jitrd_cert *cert,
                                        enum jitrd_subject_field field, const char **value)
{
	const struct subject_value *v;

	if ((unsigned)field >= JITRD_SUBJECT_FIELD_COUNT)
		return JITRD_ERR_INVALID_ARG;
	v = &cert->fields[field];
	if (v->status == JITRD_OK)
		*value = v->utf8;
	return v->status;
}

const char *jitrd_subject_field_name(enum jitrd_subject_field field)
{
	if ((unsigned)field >= JITRD_SUBJECT_FIELD_COUNT)
		return "?";
	return field_table[field].name;
}

enum jitrd_err jitrd_cert_verify_signed_by(const struct jitrd_cert *cert,
                                           const struct jitrd_cert *ca)
{
	enum jitrd_err result = JITRD_ERR_CERT_SIGNATURE;
	EVP_PKEY *key;

	ERR_set_mark();
	if (X509_NAME_cmp(X509_get_issuer_name(cert->x509), X509_get_subject_name(ca->x509)) != 0)
		goto cleanup;
	key = X509_get0_pubkey(ca->x509);
	if (!key)
		goto cleanup;
	if (X509_verify(cert->x509, key) != 1)
		goto cleanup;
	result = JITRD_OK;
cleanup:
	ERR_pop_to_mark();
	return result;
}

bool jitrd_cert_may_sign_certificates(const struct jitrd_cert *cert)
{
	return cert->may_sign_certs;
}

/* Why cert cannot be a device's client certificate, or NULL. RFC 5280 §4.2.1.3 and
 * §4.2.1.12: when keyUsage / extendedKeyUsage are present they bound what the key may do, and
 * a TLS client certificate signs (digitalSignature) for client authentication (clientAuth, or
 * anyExtendedKeyUsage). Absent extensions do not restrict. OpenSSL's "sslclient" purpose is
 * not used instead: it refuses anyExtendedKeyUsage (which §4.2.1.12 leaves to the
 * application) and accepts a keyUsage of keyAgreement alone. */
static const char *usage_problem(const struct jitrd_cert *cert)
{
	if (cert->key_usage != UINT32_MAX && !(cert->key_usage & KU_DIGITAL_SIGNATURE))
		return "its keyUsage lacks digitalSignature";
	if (cert->ext_key_usage != UINT32_MAX &&
	    !(cert->ext_key_usage & (XKU_SSL_CLIENT | XKU_ANYEKU)))
		return "its extendedKeyUsage lacks clientAuth";
	return NULL;
}

enum jitrd_err jitrd_cert_check_device_profile(const struct jitrd_cert *cert,
                                               struct jitrd_diag *diag)
{
	const char *problem;

	if (!cert) {
		jitrd_diag_set(diag, "device check: no certificate given");
		return JITRD_ERR_INVALID_ARG;
	}
	/* A device certificate that could sign certificates is refused whatever way it could
	 * (basicConstraints CA:TRUE, keyCertSign, or a v1 self-signed certificate): path
	 * validation alone would accept a CA certificate as the end of a path. */
	if (cert->may_sign_certs) {
		jitrd_diag_set(diag, "certificate is a CA certificate (%s)",
		               cert->is_ca ? "basicConstraints CA:TRUE"
		                           : "keyCertSign or v1 self-signed");
		return JITRD_ERR_CERT_IS_CA;
	}
	problem = usage_problem(cert);
	if (problem) {
		jitrd_diag_set(diag, "certificate is not a device (client) certificate: %s",
		               problem);
		return JITRD_ERR_BAD_FIELD;
	}
	return JITRD_OK;
}

/* ---- every value of a name attribute or an alternative name (policy variables) ---- */

static const X509_NAME *party_name(const struct jitrd_cert *cert, enum jitrd_cert_party party)
{
	return party == JITRD_CERT_ISSUER ? X509_get_issuer_name(cert->x509)
	                                  : X509_get_subject_name(cert->x509);
}

/* One ASN.1 string as UTF-8 to fn. -1 when it cannot be converted, 1 when fn stopped. */
static int deliver_string(const ASN1_STRING *value, jitrd_cert_value_fn fn, void *ctx,
                          enum jitrd_err *err)
{
	unsigned char *utf8 = NULL;
	int len = ASN1_STRING_to_UTF8(&utf8, value);
	int stop;

	if (len < 0) {
		*err = jitrd_openssl_failure(JITRD_ERR_BAD_FIELD);
		return -1;
	}
	stop = fn(ctx, (const char *)utf8, (size_t)len) != 0;
	OPENSSL_free(utf8);
	return stop;
}

enum jitrd_err jitrd_cert_name_values(const struct jitrd_cert *cert, enum jitrd_cert_party party,
                                      int nid, jitrd_cert_value_fn fn, void *ctx, size_t *count)
{
	enum jitrd_err result = JITRD_OK;
	const X509_NAME *name;
	size_t n = 0;

	if (!cert || !fn)
		return JITRD_ERR_INVALID_ARG;
	name = party_name(cert, party);
	ERR_set_mark();
	for (int i = X509_NAME_get_index_by_NID(name, nid, -1); i >= 0;
	     i = X509_NAME_get_index_by_NID(name, nid, i)) {
		int rc = deliver_string(X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, i)), fn,
		                        ctx, &result);
		if (rc < 0)
			break;
		n++;
		if (rc > 0)
			break;
	}
	ERR_pop_to_mark();
	if (count)
		*count = n;
	return result;
}

/* A directoryName's attribute values joined by ','; NULL with *err set on failure. */
static char *directory_values(const X509_NAME *name, size_t *len, enum jitrd_err *err)
{
	size_t used = 0, cap = 0;
	char *text = NULL;

	for (int i = 0; i < X509_NAME_entry_count(name); i++) {
		unsigned char *utf8 = NULL;
		int n = ASN1_STRING_to_UTF8(&utf8,
		                            X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, i)));
		char *grown;

		if (n < 0) {
			*err = jitrd_openssl_failure(JITRD_ERR_BAD_FIELD);
			free(text);
			return NULL;
		}
		if (used + (size_t)n + 2 > cap) {
			cap = used + (size_t)n + 64;
			grown = realloc(text, cap);
			if (!grown) {
				OPENSSL_free(utf8);
				free(text);
				*err = JITRD_ERR_NOMEM;
				return NULL;
			}
			text = grown;
		}
		if (i > 0)
			text[used++] = ',';
		memcpy(text + used, utf8, (size_t)n);
		used += (size_t)n;
		OPENSSL_free(utf8);
	}
	if (!text && !(text = malloc(1))) {
		*err = JITRD_ERR_NOMEM;
		return NULL;
	}
	*len = used;
	return text;
}

/* An iPAddress's octets as text (RFC 5280 §4.2.1.6: 4 octets IPv4, 16 IPv6); "" for any other
 * length. */
static void ip_text(const ASN1_OCTET_STRING *ip, char *out, size_t size)
{
	const unsigned char *b = ASN1_STRING_get0_data(ip);
	int len = ASN1_STRING_length(ip);

	out[0] = '\0';
	if (len == 4) {
		snprintf(out, size, "%u.%u.%u.%u", b[0], b[1], b[2], b[3]);
	} else if (len == 16) {
		size_t at = 0;
		for (int i = 0; i < 16 && at < size; i += 2)
			at += (size_t)snprintf(out + at, size - at, "%s%x", i ? ":" : "",
			                       (unsigned)(b[i] << 8 | b[i + 1]));
	}
}

enum jitrd_err jitrd_cert_alt_name_values(const struct jitrd_cert *cert,
                                          enum jitrd_cert_party party,
                                          enum jitrd_alt_name_type type, jitrd_cert_value_fn fn,
                                          void *ctx, size_t *count)
{
	static const int gen_types[] = {
	    [JITRD_ALT_RFC822_NAME] = GEN_EMAIL,      [JITRD_ALT_DNS_NAME] = GEN_DNS,
	    [JITRD_ALT_DIRECTORY_NAME] = GEN_DIRNAME, [JITRD_ALT_URI] = GEN_URI,
	    [JITRD_ALT_IP_ADDRESS] = GEN_IPADD,
	};
	enum jitrd_err result = JITRD_OK;
	GENERAL_NAMES *names;
	int crit = 0;
	size_t n = 0;

	if (!cert || !fn || (unsigned)type >= sizeof(gen_types) / sizeof(gen_types[0]))
		return JITRD_ERR_INVALID_ARG;
	ERR_set_mark();
	names = X509_get_ext_d2i(
	    cert->x509, party == JITRD_CERT_ISSUER ? NID_issuer_alt_name : NID_subject_alt_name,
	    &crit, NULL);
	/* crit -1: absent; -2: present more than once (RFC 5280 §4.2: at most once), which is
	 * as unreadable as one that does not decode. */
	if (!names) {
		if (crit != -1)
			result = jitrd_openssl_failure(JITRD_ERR_BAD_FIELD);
		goto cleanup;
	}
	for (int i = 0; i < sk_GENERAL_NAME_num(names); i++) {
		const GENERAL_NAME *g = sk_GENERAL_NAME_value(names, i);
		int rc;

		if (g->type != gen_types[type])
			continue;
		if (type == JITRD_ALT_DIRECTORY_NAME) {
			size_t len = 0;
			char *text = directory_values(g->d.directoryName, &len, &result);
			if (!text)
				break;
			rc = fn(ctx, text, len) != 0;
			free(text);
		} else if (type == JITRD_ALT_IP_ADDRESS) {
			char text[64];
			ip_text(g->d.iPAddress, text, sizeof(text));
			if (!text[0]) {
				result = JITRD_ERR_BAD_FIELD; /* neither 4 nor 16 octets */
				break;
			}
			rc = fn(ctx, text, strlen(text)) != 0;
		} else {
			/* rfc822Name, dNSName, URI: IA5String */
			rc = deliver_string(g->d.ia5, fn, ctx, &result);
			if (rc < 0)
				break;
		}
		n++;
		if (rc > 0)
			break;
	}
	GENERAL_NAMES_free(names);
cleanup:
	ERR_pop_to_mark();
	if (count)
		*count = n;
	return result;
}

enum jitrd_err jitrd_cert_crl_distribution_points(const struct jitrd_cert *cert,
                                                  CRL_DIST_POINTS **out)
{
	int crit = 0;
	CRL_DIST_POINTS *cdp;

	if (!cert || !out)
		return JITRD_ERR_INVALID_ARG;
	cdp = X509_get_ext_d2i(jitrd_cert_x509(cert), NID_crl_distribution_points, &crit, NULL);
	if (!cdp && crit != -1) {
		/* present but unreadable, or repeated (RFC 5280 §4.2: at most once) */
		enum jitrd_err err = jitrd_openssl_failure(JITRD_ERR_MALFORMED);

		ERR_clear_error();
		return err;
	}
	*out = cdp;
	return JITRD_OK;
}
