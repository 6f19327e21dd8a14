/* test_crl_stream.c — the streaming CRL parser (crl_der.c) against OpenSSL's full parse
 * (d2i_X509_CRL + X509_CRL_verify, the oracle): a corpus of the fixture CRLs, CRLs made here
 * with every extension and reason and each key type (RSA, RSA-PSS, ECDSA, Ed25519), and broken
 * and hostile ones (truncations, lying and indefinite lengths, trailing bytes, wrong inner
 * algorithm, repeated extensions, huge and negative serials, bad times), each read both ways:
 * issuer, dates, numbers, serials, reasons and the verdict must agree, except for the cases
 * listed in `differences` with the rule that makes them differ. Also the PEM reader, and the
 * store's in-place reading. Test code. */
#include <dirent.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509v3.h>

#include "crl_diff.h"
#include "jitrd/caset.h"
#include "jitrd/crl.h"
#include "jitrd/crl_der.h"
#include "testsupport.h"

/* ---- bytes ------------------------------------------------------------------------------ */

struct bytes {
	unsigned char *p;
	size_t n;
};

static void put(struct bytes *b, const void *data, size_t n)
{
	unsigned char *grown = realloc(b->p, b->n + n + 1);

	if (!grown)
		abort(); /* test harness: nothing to recover */
	memcpy(grown + b->n, data, n);
	b->p = grown;
	b->n += n;
}

static void put_byte(struct bytes *b, unsigned char c)
{
	put(b, &c, 1);
}

static void put_len(struct bytes *b, size_t n)
{
	if (n < 0x80) {
		put_byte(b, (unsigned char)n);
	} else if (n < 0x100) {
		put_byte(b, 0x81);
		put_byte(b, (unsigned char)n);
	} else if (n < 0x10000) {
		put_byte(b, 0x82);
		put_byte(b, (unsigned char)(n >> 8));
		put_byte(b, (unsigned char)n);
	} else {
		put_byte(b, 0x83);
		put_byte(b, (unsigned char)(n >> 16));
		put_byte(b, (unsigned char)(n >> 8));
		put_byte(b, (unsigned char)n);
	}
}

/* tag, DER length, content; content is consumed */
static struct bytes tlv(unsigned char tag, struct bytes content)
{
	struct bytes b = {NULL, 0};

	put_byte(&b, tag);
	put_len(&b, content.n);
	if (content.n)
		put(&b, content.p, content.n);
	free(content.p);
	return b;
}

static struct bytes raw(const void *data, size_t n)
{
	struct bytes b = {NULL, 0};

	put(&b, data, n);
	return b;
}

static struct bytes cat(struct bytes a, struct bytes b)
{
	put(&a, b.p, b.n);
	free(b.p);
	return a;
}

#define RAW(...)                                                                                   \
	raw((const unsigned char[]){__VA_ARGS__}, sizeof((const unsigned char[]){__VA_ARGS__}))

/* ---- keys and CAs -------------------------------------------------------------------------- */

static STACK_OF(X509) * pool; /* every CA a CRL of the corpus may name */
static EVP_PKEY *ec_key, *ec384_key, *rsa_key, *ed_key;
static X509 *ec_ca, *ec384_ca, *rsa_ca, *ed_ca;

static EVP_PKEY *make_key(const char *type, const char *curve, unsigned int bits)
{
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, type, NULL);
	EVP_PKEY *key = NULL;

	if (!ctx || EVP_PKEY_keygen_init(ctx) <= 0 ||
	    (curve && EVP_PKEY_CTX_set_group_name(ctx, curve) <= 0) ||
	    (bits && EVP_PKEY_CTX_set_rsa_keygen_bits(ctx, (int)bits) <= 0) ||
	    EVP_PKEY_keygen(ctx, &key) <= 0)
		key = NULL;
	EVP_PKEY_CTX_free(ctx);
	return key;
}

static X509 *make_ca(EVP_PKEY *key, const char *cn, const EVP_MD *md)
{
	static const struct {
		int nid;
		const char *value;
	} exts[] = {
	    {NID_basic_constraints, "critical,CA:TRUE"},
	    {NID_key_usage, "critical,keyCertSign,cRLSign"},
	    {NID_subject_key_identifier, "hash"},
	};
	X509 *ca = X509_new();
	X509_NAME *name = X509_get_subject_name(ca);

	if (!ca || X509_set_version(ca, 2) != 1 ||
	    X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC, (const unsigned char *)"jitrd test",
	                               -1, -1, 0) != 1 ||
	    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1,
	                               0) != 1 ||
	    X509_set_issuer_name(ca, name) != 1 ||
	    ASN1_INTEGER_set(X509_get_serialNumber(ca), 1) != 1 ||
	    !ASN1_TIME_set(X509_getm_notBefore(ca), 1700000000) ||
	    !ASN1_TIME_set(X509_getm_notAfter(ca), 2500000000) || X509_set_pubkey(ca, key) != 1) {
		X509_free(ca);
		return NULL;
	}
	for (size_t i = 0; i < sizeof(exts) / sizeof(exts[0]); i++) {
		X509V3_CTX ctx;
		X509_EXTENSION *ext;

		X509V3_set_ctx(&ctx, ca, ca, NULL, NULL, 0);
		ext = X509V3_EXT_conf_nid(NULL, &ctx, exts[i].nid, exts[i].value);
		if (!ext || X509_add_ext(ca, ext, -1) != 1) {
			X509_EXTENSION_free(ext);
			X509_free(ca);
			return NULL;
		}
		X509_EXTENSION_free(ext);
	}
	if (X509_sign(ca, key, md) <= 0) {
		X509_free(ca);
		return NULL;
	}
	return ca;
}

/* ---- CRLs made with OpenSSL's API ------------------------------------------------------- */

enum made_kind { MADE_FULL, MADE_DELTA, MADE_EMPTY_V1, MADE_PARTITION };

static void add_entry(X509_CRL *crl, const char *serial_hex, int reason, bool hold, bool invalidity)
{
	X509_REVOKED *rev = X509_REVOKED_new();
	BIGNUM *bn = NULL;
	ASN1_INTEGER *serial = NULL;
	ASN1_TIME *date = ASN1_TIME_set(NULL, 1880000000);

	CU_ASSERT_FATAL(rev && date && BN_hex2bn(&bn, serial_hex) > 0);
	serial = BN_to_ASN1_INTEGER(bn, NULL);
	CU_ASSERT_FATAL(serial && X509_REVOKED_set_serialNumber(rev, serial) == 1 &&
	                X509_REVOKED_set_revocationDate(rev, date) == 1);
	if (reason >= 0) {
		ASN1_ENUMERATED *e = ASN1_ENUMERATED_new();

		CU_ASSERT_FATAL(e && ASN1_ENUMERATED_set(e, reason) == 1 &&
		                X509_REVOKED_add1_ext_i2d(rev, NID_crl_reason, e, 0, 0) == 1);
		ASN1_ENUMERATED_free(e);
	}
	if (hold)
		CU_ASSERT_FATAL(X509_REVOKED_add1_ext_i2d(rev, NID_hold_instruction_code,
		                                          OBJ_nid2obj(NID_hold_instruction_reject),
		                                          0, 0) == 1);
	if (invalidity) {
		ASN1_GENERALIZEDTIME *g = ASN1_GENERALIZEDTIME_set(NULL, 1870000000);

		CU_ASSERT_FATAL(g &&
		                X509_REVOKED_add1_ext_i2d(rev, NID_invalidity_date, g, 0, 0) == 1);
		ASN1_GENERALIZEDTIME_free(g);
	}
	CU_ASSERT_FATAL(X509_CRL_add0_revoked(crl, rev) == 1);
	BN_free(bn);
	ASN1_INTEGER_free(serial);
	ASN1_TIME_free(date);
}

static void add_number(X509_CRL *crl, int nid, long n, int critical)
{
	ASN1_INTEGER *i = ASN1_INTEGER_new();

	CU_ASSERT_FATAL(i && ASN1_INTEGER_set(i, n) == 1 &&
	                X509_CRL_add1_ext_i2d(crl, nid, i, critical, 0) == 1);
	ASN1_INTEGER_free(i);
}

/* The DER of a CRL by ca, signed with key and md (pss: RSA-PSS with salt 32). */
static struct bytes make_crl(X509 *ca, EVP_PKEY *key, const EVP_MD *md, bool pss,
                             enum made_kind kind)
{
	X509_CRL *crl = X509_CRL_new();
	ASN1_TIME *t = ASN1_TIME_set(NULL, 1893456000); /* 2030-01-01 */
	struct bytes out = {NULL, 0};
	unsigned char *der = NULL;
	int len;

	CU_ASSERT_FATAL(crl && t && X509_CRL_set_issuer_name(crl, X509_get_subject_name(ca)) == 1 &&
	                X509_CRL_set1_lastUpdate(crl, t) == 1);
	if (kind != MADE_EMPTY_V1) {
		X509V3_CTX ctx;
		X509_EXTENSION *akid;

		CU_ASSERT_FATAL(X509_CRL_set_version(crl, 1) == 1);
		CU_ASSERT_FATAL(ASN1_TIME_set(t, 1924992000) &&
		                X509_CRL_set1_nextUpdate(crl, t) == 1);
		/* every reason code of RFC 5280 §5.3.1 and none, serials of 1 to 20 octets */
		for (int r = -1; r <= 10; r++) {
			char serial[48];

			snprintf(serial, sizeof(serial), "%X", 0x10 + r);
			add_entry(crl, serial, r, r == 6, r == 1);
		}
		add_entry(crl, "0102030405060708", 1, false, true);
		add_entry(crl, "7F0102030405060708090A0B0C0D0E0F10111213", -1, false, false);
		add_entry(crl, "0", 4, false, false);
		X509V3_set_ctx(&ctx, ca, NULL, NULL, crl, 0);
		akid =
		    X509V3_EXT_conf_nid(NULL, &ctx, NID_authority_key_identifier, "keyid:always");
		if (!akid) /* a CA made here has no subject key identifier: the issuer's name then
		            */
			akid = X509V3_EXT_conf_nid(NULL, &ctx, NID_authority_key_identifier,
			                           "issuer:always");
		CU_ASSERT_FATAL(akid && X509_CRL_add_ext(crl, akid, -1) == 1);
		X509_EXTENSION_free(akid);
		ERR_clear_error();
		add_number(crl, NID_crl_number, kind == MADE_DELTA ? 12 : 11, 0);
		if (kind == MADE_DELTA)
			add_number(crl, NID_delta_crl, 11, 1);
		if (kind == MADE_PARTITION) {
			X509_EXTENSION *idp = X509V3_EXT_conf_nid(
			    NULL, NULL, NID_issuing_distribution_point,
			    "critical,fullname:URI:http://crl.example/p1.crl,onlyuser:TRUE");

			CU_ASSERT_FATAL(idp && X509_CRL_add_ext(crl, idp, -1) == 1);
			X509_EXTENSION_free(idp);
		}
	}
	if (pss) {
		EVP_MD_CTX *mctx = EVP_MD_CTX_new();
		EVP_PKEY_CTX *pctx = NULL;

		CU_ASSERT_FATAL(mctx && EVP_DigestSignInit(mctx, &pctx, md, NULL, key) == 1 &&
		                EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) > 0 &&
		                EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, 32) > 0 &&
		                X509_CRL_sign_ctx(crl, mctx) > 0);
		EVP_MD_CTX_free(mctx);
	} else {
		CU_ASSERT_FATAL(X509_CRL_sign(crl, key, md) > 0);
	}
	len = i2d_X509_CRL(crl, &der);
	CU_ASSERT_FATAL(len > 0);
	out = raw(der, (size_t)len);
	OPENSSL_free(der);
	ASN1_TIME_free(t);
	X509_CRL_free(crl);
	return out;
}

/* ---- CRLs written byte by byte, signed with the P-256 CA -------------------------------- */

#define ALG_ECDSA_SHA256 0x30, 0x0a, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02
#define ALG_ECDSA_SHA384 0x30, 0x0a, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x03

/* CertificateList of tbs (its whole TLV) signed with the P-256 key; tweak 1: signature BIT
 * STRING with one unused bit, tweak 2: one byte of tbs changed after signing. */
static struct bytes sign_tbs(struct bytes tbs, int tweak)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	unsigned char sig[160];
	size_t sig_len = sizeof(sig);
	struct bytes bits = {NULL, 0}, signed_tbs;

	CU_ASSERT_FATAL(ctx && EVP_DigestSignInit(ctx, NULL, EVP_sha256(), NULL, ec_key) == 1 &&
	                EVP_DigestSign(ctx, sig, &sig_len, tbs.p, tbs.n) == 1);
	EVP_MD_CTX_free(ctx);
	put_byte(&bits, tweak == 1 ? 1 : 0);
	put(&bits, sig, sig_len);
	if (tweak == 2)
		tbs.p[tbs.n - 1] ^= 1;
	signed_tbs = cat(cat(tbs, RAW(ALG_ECDSA_SHA256)), tlv(0x03, bits));
	return tlv(0x30, signed_tbs);
}

static struct bytes issuer_der(X509 *ca)
{
	unsigned char *der = NULL;
	int len = i2d_X509_NAME(X509_get_subject_name(ca), &der);
	struct bytes b;

	CU_ASSERT_FATAL(len > 0);
	b = raw(der, (size_t)len);
	OPENSSL_free(der);
	return b;
}

static struct bytes utc(const char *s)
{
	return tlv(0x17, raw(s, strlen(s)));
}

static struct bytes reason_ext(int code)
{
	return tlv(0x30, cat(RAW(0x06, 0x03, 0x55, 0x1d, 0x15),
	                     tlv(0x04, RAW(0x0a, 0x01, (unsigned char)code))));
}

static struct bytes entry(struct bytes serial_tlv, struct bytes exts)
{
	struct bytes e = cat(serial_tlv, utc("291231000000Z"));

	if (exts.n)
		e = cat(e, tlv(0x30, exts));
	else
		free(exts.p);
	return tlv(0x30, e);
}

/* An entry with a small serial and one extension: head is extnID (and critical), value
 * the extnValue's contents. */
static struct bytes entry_with_ext(unsigned char serial, struct bytes head, struct bytes value)
{
	return entry(RAW(0x02, 0x01, serial), tlv(0x30, cat(head, tlv(0x04, value))));
}

static struct bytes none(void)
{
	struct bytes b = {NULL, 0};

	return b;
}

static struct bytes number_ext(unsigned char n)
{
	return tlv(0x30, cat(RAW(0x06, 0x03, 0x55, 0x1d, 0x14), tlv(0x04, RAW(0x02, 0x01, n))));
}

/* What a hostile case changes in the otherwise valid tbsCertList below. */
enum hostile {
	H_VALID,
	H_ENTRY_LEN_LONGER,
	H_ENTRY_LEN_SHORTER,
	H_LIST_LEN_LONGER,
	H_INDEFINITE_TBS,
	H_INDEFINITE_ENTRY,
	H_JUNK_IN_TBS,
	H_JUNK_IN_ENTRY,
	H_WRONG_INNER_ALG,
	H_DUP_NUMBER,
	H_DUP_REASON,
	H_SERIAL_21,
	H_SERIAL_100,
	H_SERIAL_NEGATIVE,
	H_SERIAL_ZERO,
	H_SERIAL_PADDED,
	H_SERIAL_EMPTY,
	H_TIME_GARBAGE,
	H_TIME_SHORT,
	H_TIME_WRONG_TAG,
	H_TIME_GENERALIZED,
	H_VERSION_5,
	H_EMPTY_LIST,
	H_EMPTY_EXTENSIONS,
	H_CRITICAL_UNKNOWN,
	H_EXPLICIT_FALSE,
	H_BOOLEAN_LONG,
	H_CONSTRUCTED_OCTETS,
	H_BAD_OID,
	H_TWO_EXT_LISTS,
	H_LONG_FORM_LENGTH,
	H_REASON_HUGE,
	H_REASON_NOT_ENUM,
	H_NO_NEXT_UPDATE,
	H_UNUSED_BITS,
	H_TAMPERED,
	H_COUNT
};

static const char *const hostile_names[H_COUNT] = {
    "valid, written by hand",
    "entry length one too long",
    "entry length one too short",
    "revoked list length one too long",
    "indefinite-length tbsCertList",
    "indefinite-length entry",
    "bytes after the extensions in tbsCertList",
    "bytes after an entry's extensions",
    "inner algorithm differs from the outer",
    "cRLNumber twice",
    "reasonCode twice in one entry",
    "serial of 21 octets",
    "serial of 100 octets",
    "negative serial",
    "serial zero",
    "serial with a padding octet",
    "serial of no octets",
    "thisUpdate not a time",
    "thisUpdate too short",
    "thisUpdate as PrintableString",
    "thisUpdate as GeneralizedTime",
    "version 5",
    "empty revoked list",
    "empty crlExtensions",
    "critical unknown entry extension",
    "critical FALSE written out",
    "critical BOOLEAN of two octets",
    "constructed OCTET STRING extnValue",
    "malformed extension OID",
    "two lists in crlExtensions",
    "long-form length of a short entry",
    "reasonCode 300",
    "reasonCode an INTEGER",
    "no nextUpdate",
    "signature with an unused bit",
    "tbsCertList changed after signing",
};

/* Where the two readers may legitimately differ, and why. Each must differ as stated: if a
 * case starts to agree, the list is out of date. */
static const struct {
	enum hostile h;
	bool oracle_parses, stream_parses;
	bool oracle_verifies, stream_verifies;
	const char *why;
} differences[] = {
    {H_INDEFINITE_TBS, true, false, true, false,
     "RFC 5280 §5.1 and X.690 §10.1: a CRL is DER, definite lengths only; OpenSSL reads BER"},
    {H_INDEFINITE_ENTRY, true, false, true, false, "RFC 5280 §5.1 and X.690 §10.1, as above"},
    {H_CONSTRUCTED_OCTETS, true, false, true, false,
     "RFC 5280 §4.1 and X.690 §10.2: extnValue is a primitive OCTET STRING in DER"},
    {H_WRONG_INNER_ALG, true, true, true, false,
     "RFC 5280 §5.1.1.2: signatureAlgorithm MUST equal tbsCertList.signature; OpenSSL 3.0's "
     "X509_CRL_verify does not compare them (X509_verify does, for certificates)"},
};

static struct bytes hostile_crl(enum hostile h)
{
	struct bytes tbs = {NULL, 0}, entries = {NULL, 0}, exts, list;
	unsigned char entry_tag = 0x30;

	(void)entry_tag;
	if (h == H_VERSION_5)
		tbs = RAW(0x02, 0x01, 0x05);
	else
		tbs = RAW(0x02, 0x01, 0x01);
	tbs = cat(tbs, h == H_WRONG_INNER_ALG ? RAW(ALG_ECDSA_SHA384) : RAW(ALG_ECDSA_SHA256));
	tbs = cat(tbs, issuer_der(ec_ca));
	switch (h) {
	case H_TIME_GARBAGE:
		tbs = cat(tbs, utc("30A101000000Z"));
		break;
	case H_TIME_SHORT:
		tbs = cat(tbs, utc("3001"));
		break;
	case H_TIME_WRONG_TAG:
		tbs = cat(tbs, tlv(0x13, raw("300101000000Z", 13)));
		break;
	case H_TIME_GENERALIZED:
		tbs = cat(tbs, tlv(0x18, raw("20300101000000Z", 15)));
		break;
	default:
		tbs = cat(tbs, utc("300101000000Z"));
	}
	if (h != H_NO_NEXT_UPDATE)
		tbs = cat(tbs, utc("310101000000Z"));

	/* the entries */
	entries = cat(entries, entry(RAW(0x02, 0x01, 0x05), reason_ext(1)));
	entries = cat(entries, entry(RAW(0x02, 0x02, 0x01, 0x00), none()));
	switch (h) {
	case H_DUP_REASON:
		entries =
		    cat(entries, entry(RAW(0x02, 0x01, 0x07), cat(reason_ext(1), reason_ext(6))));
		break;
	case H_SERIAL_21: {
		unsigned char s[21];

		memset(s, 0x42, sizeof(s));
		entries = cat(entries, entry(tlv(0x02, raw(s, sizeof(s))), none()));
		break;
	}
	case H_SERIAL_100: {
		unsigned char s[100];

		memset(s, 0x17, sizeof(s));
		entries = cat(entries, entry(tlv(0x02, raw(s, sizeof(s))), reason_ext(4)));
		break;
	}
	case H_SERIAL_NEGATIVE:
		entries = cat(entries, entry(RAW(0x02, 0x02, 0xff, 0x01), reason_ext(1)));
		break;
	case H_SERIAL_ZERO:
		entries = cat(entries, entry(RAW(0x02, 0x01, 0x00), none()));
		break;
	case H_SERIAL_PADDED:
		entries = cat(entries, entry(RAW(0x02, 0x02, 0x00, 0x01), none()));
		break;
	case H_SERIAL_EMPTY:
		entries = cat(entries, entry(RAW(0x02, 0x00), none()));
		break;
	case H_CRITICAL_UNKNOWN:
		entries =
		    cat(entries,
		        entry_with_ext(0x08, RAW(0x06, 0x03, 0x2a, 0x03, 0x04, 0x01, 0x01, 0xff),
		                       RAW(0x05, 0x00)));
		break;
	case H_EXPLICIT_FALSE:
		entries =
		    cat(entries,
		        entry_with_ext(0x08, RAW(0x06, 0x03, 0x55, 0x1d, 0x15, 0x01, 0x01, 0x00),
		                       RAW(0x0a, 0x01, 0x03)));
		break;
	case H_BOOLEAN_LONG:
		entries = cat(
		    entries,
		    entry_with_ext(0x08, RAW(0x06, 0x03, 0x55, 0x1d, 0x15, 0x01, 0x02, 0xff, 0xff),
		                   RAW(0x0a, 0x01, 0x03)));
		break;
	case H_CONSTRUCTED_OCTETS:
		entries = cat(entries,
		              entry(RAW(0x02, 0x01, 0x08),
		                    tlv(0x30, cat(RAW(0x06, 0x03, 0x55, 0x1d, 0x15),
		                                  tlv(0x24, tlv(0x04, RAW(0x0a, 0x01, 0x03)))))));
		break;
	case H_BAD_OID:
		entries = cat(entries,
		              entry_with_ext(0x08, RAW(0x06, 0x02, 0x80, 0x01), RAW(0x05, 0x00)));
		break;
	case H_REASON_HUGE:
		entries = cat(entries, entry_with_ext(0x09, RAW(0x06, 0x03, 0x55, 0x1d, 0x15),
		                                      RAW(0x0a, 0x02, 0x01, 0x2c)));
		break;
	case H_REASON_NOT_ENUM:
		entries = cat(entries, entry_with_ext(0x09, RAW(0x06, 0x03, 0x55, 0x1d, 0x15),
		                                      RAW(0x02, 0x01, 0x01)));
		break;
	case H_LONG_FORM_LENGTH:
		/* SEQUENCE, length 0x81 0x12: the serial, the date, no extensions */
		entries = cat(entries,
		              cat(RAW(0x30, 0x81, 0x12, 0x02, 0x01, 0x0a), utc("291231000000Z")));
		break;
	case H_JUNK_IN_ENTRY:
		entries =
		    cat(entries, tlv(0x30, cat(cat(RAW(0x02, 0x01, 0x0b), utc("291231000000Z")),
		                               cat(tlv(0x30, reason_ext(1)), RAW(0x05, 0x00)))));
		break;
	case H_ENTRY_LEN_LONGER:
	case H_ENTRY_LEN_SHORTER: {
		struct bytes e = entry(RAW(0x02, 0x01, 0x0c), reason_ext(5));

		e.p[1] = (unsigned char)(e.p[1] + (h == H_ENTRY_LEN_LONGER ? 1 : -1));
		entries = cat(entries, e);
		break;
	}
	case H_INDEFINITE_ENTRY: {
		struct bytes e = entry(RAW(0x02, 0x01, 0x0c), reason_ext(5));

		e.p[1] = 0x80;
		entries = cat(cat(entries, e), RAW(0x00, 0x00));
		break;
	}
	default:
		break;
	}
	if (h == H_EMPTY_LIST) {
		free(entries.p);
		tbs = cat(tbs, RAW(0x30, 0x00));
	} else {
		list = tlv(0x30, entries);
		if (h == H_LIST_LEN_LONGER)
			list.p[1]++; /* short form: the list is under 128 octets */
		tbs = cat(tbs, list);
	}

	/* crlExtensions [0] */
	exts = number_ext(5);
	if (h == H_DUP_NUMBER)
		exts = cat(exts, number_ext(6));
	if (h == H_EMPTY_EXTENSIONS) {
		free(exts.p);
		tbs = cat(tbs, RAW(0xa0, 0x02, 0x30, 0x00));
	} else if (h == H_TWO_EXT_LISTS)
		tbs = cat(tbs, tlv(0xa0, cat(tlv(0x30, exts), tlv(0x30, number_ext(7)))));
	else
		tbs = cat(tbs, tlv(0xa0, tlv(0x30, exts)));
	if (h == H_JUNK_IN_TBS)
		tbs = cat(tbs, RAW(0x05, 0x00));
	if (h == H_INDEFINITE_TBS) {
		struct bytes inf = RAW(0x30, 0x80);

		inf = cat(cat(inf, tbs), RAW(0x00, 0x00));
		return sign_tbs(inf, 0);
	}
	return sign_tbs(tlv(0x30, tbs), h == H_UNUSED_BITS ? 1 : h == H_TAMPERED ? 2 : 0);
}

/* ---- the comparison ------------------------------------------------------------------------ */

static size_t compared;

/* Both readings of der; true when they agree (or differ exactly as listed for h). */
static bool check_one(const char *name, const unsigned char *der, size_t len, int h)
{
	struct crl_reading o, s;
	char why[256];
	bool ok = true;

	crl_read_oracle(der, len, pool, &o);
	crl_read_stream(der, len, pool, &s);
	compared++;
	for (size_t i = 0; h >= 0 && i < sizeof(differences) / sizeof(differences[0]); i++) {
		if (differences[i].h != (enum hostile)h)
			continue;
		ok = o.parsed == differences[i].oracle_parses &&
		     s.parsed == differences[i].stream_parses &&
		     o.verified == differences[i].oracle_verifies &&
		     s.verified == differences[i].stream_verifies;
		if (!ok)
			fprintf(stderr, "%s: listed difference no longer as stated (%s)\n", name,
			        differences[i].why);
		crl_reading_cleanup(&o);
		crl_reading_cleanup(&s);
		return ok;
	}
	if (!crl_readings_agree(&o, &s, why, sizeof(why))) {
		fprintf(stderr, "%s: %s\n", name, why);
		ok = false;
	}
	crl_reading_cleanup(&o);
	crl_reading_cleanup(&s);
	return ok;
}

/* Every 7th truncation must be refused by both. */
static bool check_truncations(const char *name, const unsigned char *der, size_t len)
{
	bool ok = true;

	for (size_t cut = 0; cut < len; cut += 7) {
		struct crl_reading o, s;

		crl_read_oracle(der, cut, pool, &o);
		crl_read_stream(der, cut, pool, &s);
		if (o.parsed || s.parsed) {
			fprintf(stderr, "%s cut at %zu: OpenSSL %d, stream %d\n", name, cut,
			        o.parsed, s.parsed);
			ok = false;
		}
		crl_reading_cleanup(&o);
		crl_reading_cleanup(&s);
	}
	return ok;
}

static void test_made_crls(void)
{
	static const struct {
		const char *name;
		int key; /* 0 P-256, 1 P-384, 2 RSA, 3 Ed25519 */
		const char *md;
		bool pss;
		enum made_kind kind;
	} made[] = {
	    {"ECDSA P-256 SHA-256 full", 0, "SHA256", false, MADE_FULL},
	    {"ECDSA P-256 SHA-384 delta", 0, "SHA384", false, MADE_DELTA},
	    {"ECDSA P-384 SHA-384 partition", 1, "SHA384", false, MADE_PARTITION},
	    {"ECDSA P-384 SHA-512 v1 empty", 1, "SHA512", false, MADE_EMPTY_V1},
	    {"RSA SHA-256 full", 2, "SHA256", false, MADE_FULL},
	    {"RSA SHA-384 delta", 2, "SHA384", false, MADE_DELTA},
	    {"RSA SHA-512 partition", 2, "SHA512", false, MADE_PARTITION},
	    {"RSA SHA-1 full", 2, "SHA1", false, MADE_FULL},
	    {"RSA-PSS SHA-256 full", 2, "SHA256", true, MADE_FULL},
	    {"RSA-PSS SHA-384 delta", 2, "SHA384", true, MADE_DELTA},
	    {"RSA-PSS SHA-512 v1 empty", 2, "SHA512", true, MADE_EMPTY_V1},
	    {"Ed25519 full", 3, NULL, false, MADE_FULL},
	    {"Ed25519 partition", 3, NULL, false, MADE_PARTITION},
	};
	X509 *cas[] = {ec_ca, ec384_ca, rsa_ca, ed_ca};
	EVP_PKEY *keys[] = {ec_key, ec384_key, rsa_key, ed_key};

	for (size_t i = 0; i < sizeof(made) / sizeof(made[0]); i++) {
		const EVP_MD *md = made[i].md ? EVP_get_digestbyname(made[i].md) : NULL;
		struct bytes crl =
		    make_crl(cas[made[i].key], keys[made[i].key], md, made[i].pss, made[i].kind);
		struct crl_reading s;

		CU_ASSERT(check_one(made[i].name, crl.p, crl.n, -1));
		CU_ASSERT(check_truncations(made[i].name, crl.p, crl.n));
		/* and they are good CRLs: the stream parser verifies each */
		crl_read_stream(crl.p, crl.n, pool, &s);
		CU_ASSERT(s.parsed && s.verified);
		if (!s.verified)
			fprintf(stderr, "%s: not verified\n", made[i].name);
		crl_reading_cleanup(&s);
		/* a flipped signature byte verifies neither way */
		crl.p[crl.n - 3] ^= 0x40;
		crl_read_stream(crl.p, crl.n, pool, &s);
		CU_ASSERT(s.parsed && !s.verified);
		crl_reading_cleanup(&s);
		CU_ASSERT(check_one(made[i].name, crl.p, crl.n, -1));
		free(crl.p);
	}
}

static void test_hostile_crls(void)
{
	for (int h = 0; h < H_COUNT; h++) {
		struct bytes crl = hostile_crl((enum hostile)h);
		unsigned char *longer;

		CU_ASSERT(check_one(hostile_names[h], crl.p, crl.n, h));
		CU_ASSERT(check_truncations(hostile_names[h], crl.p, crl.n));
		/* trailing junk after the CRL: neither reads it as one CRL */
		longer = malloc(crl.n + 1);
		CU_ASSERT_FATAL(longer != NULL);
		memcpy(longer, crl.p, crl.n);
		longer[crl.n] = 0;
		CU_ASSERT(check_one(hostile_names[h], longer, crl.n + 1, -1));
		free(longer);
		free(crl.p);
	}
}

/* The verdicts that matter, asserted outright (the oracle alone could be wrong too). */
static void test_hostile_verdicts(void)
{
	static const struct {
		enum hostile h;
		bool parses, verifies;
	} want[] = {
	    {H_VALID, true, true},
	    {H_ENTRY_LEN_LONGER, false, false},
	    {H_ENTRY_LEN_SHORTER, false, false},
	    {H_LIST_LEN_LONGER, false, false},
	    {H_INDEFINITE_TBS, false, false},
	    {H_JUNK_IN_TBS, false, false},
	    {H_JUNK_IN_ENTRY, false, false},
	    {H_WRONG_INNER_ALG, true, false},
	    {H_SERIAL_PADDED, false, false},
	    {H_SERIAL_EMPTY, false, false},
	    {H_TIME_WRONG_TAG, false, false},
	    {H_BOOLEAN_LONG, false, false},
	    {H_BAD_OID, false, false},
	    {H_TWO_EXT_LISTS, false, false},
	    {H_UNUSED_BITS, true, false},
	    {H_TAMPERED, true, false},
	    {H_DUP_REASON, true, true},
	    {H_SERIAL_100, true, true},
	    {H_NO_NEXT_UPDATE, true, true},
	};

	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		struct bytes crl = hostile_crl(want[i].h);
		struct crl_reading s;

		crl_read_stream(crl.p, crl.n, pool, &s);
		if (s.parsed != want[i].parses || s.verified != want[i].verifies)
			fprintf(stderr, "%s: parsed %d verified %d\n", hostile_names[want[i].h],
			        s.parsed, s.verified);
		CU_ASSERT_EQUAL(s.parsed, want[i].parses);
		CU_ASSERT_EQUAL(s.verified, want[i].verifies);
		crl_reading_cleanup(&s);
		free(crl.p);
	}
}

/* RSA-PSS over SHA-1 is refused by the stream parser (the store's weak digests), while
 * X509_CRL_verify accepts it: the store refused SHA-1 signatures before, this closes the PSS
 * way around that (RFC 9155 deprecates SHA-1 signatures). */
static void test_pss_sha1_refused(void)
{
	struct bytes crl = make_crl(rsa_ca, rsa_key, EVP_sha1(), true, MADE_FULL);
	struct crl_reading o, s;

	crl_read_oracle(crl.p, crl.n, pool, &o);
	crl_read_stream(crl.p, crl.n, pool, &s);
	CU_ASSERT(o.parsed && o.verified);
	CU_ASSERT(s.parsed && !s.verified);
	crl_reading_cleanup(&o);
	crl_reading_cleanup(&s);
	free(crl.p);
}

/* ---- the fixtures ------------------------------------------------------------------------- */

static void each_file(const char *dir, void (*fn)(const char *path))
{
	DIR *d = opendir(dir);
	struct dirent *e;

	if (!d)
		return;
	while ((e = readdir(d)) != NULL) {
		char path[4096];
		struct stat st;

		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		if (stat(path, &st) != 0)
			continue;
		if (S_ISDIR(st.st_mode))
			each_file(path, fn);
		else if (S_ISREG(st.st_mode) && st.st_size < 4 * 1024 * 1024)
			fn(path);
	}
	closedir(d);
}

static void load_certs(const char *path)
{
	size_t len = 0;
	char *text = tsupport_read(path, &len);
	BIO *bio = text ? BIO_new_mem_buf(text, (int)len) : NULL;
	X509 *x;

	while (bio && (x = PEM_read_bio_X509(bio, NULL, NULL, NULL)) != NULL) {
		if (!sk_X509_push(pool, x))
			X509_free(x);
	}
	ERR_clear_error();
	BIO_free(bio);
	free(text);
}

static size_t fixture_crls, fixture_failures;

/* Every CRL of a fixture file: DER as it is; PEM block by block, the oracle reading each
 * block with PEM_read_bio_X509_CRL's decoder and the stream side with jitrd_crl_pem_next. */
static void check_fixture(const char *path)
{
	size_t len = 0, pos = 0;
	char *text = tsupport_read(path, &len);
	unsigned char *der;

	if (!text || len == 0) {
		free(text);
		return;
	}
	if ((unsigned char)text[0] == 0x30) {
		fixture_crls++;
		if (!check_one(path, (unsigned char *)text, len, -1) ||
		    !check_truncations(path, (unsigned char *)text, len))
			fixture_failures++;
		free(text);
		return;
	}
	der = malloc(len);
	CU_ASSERT_FATAL(der != NULL);
	for (;;) {
		char *name = NULL, *header = NULL;
		unsigned char *data = NULL;
		long data_len = 0;
		size_t der_len = 0, before = pos;
		bool done = false;
		enum jitrd_err err =
		    jitrd_crl_pem_next((unsigned char *)text, len, &pos, der, &der_len, &done);
		BIO *bio;

		if (err != JITRD_OK || done)
			break;
		/* the oracle's decoding of the same block */
		bio = BIO_new_mem_buf(text + before, (int)(pos - before));
		while (bio && PEM_read_bio(bio, &name, &header, &data, &data_len) == 1 &&
		       strcmp(name, "X509 CRL") != 0) {
			OPENSSL_free(name);
			OPENSSL_free(header);
			OPENSSL_free(data);
			name = header = NULL;
			data = NULL;
		}
		BIO_free(bio);
		ERR_clear_error();
		fixture_crls++;
		if (!data || (size_t)data_len != der_len || memcmp(data, der, der_len) != 0) {
			fprintf(stderr, "%s: PEM block decoded differently\n", path);
			fixture_failures++;
		} else if (!check_one(path, der, der_len, -1)) {
			fixture_failures++;
		}
		OPENSSL_free(name);
		OPENSSL_free(header);
		OPENSSL_free(data);
	}
	free(der);
	free(text);
}

static void test_fixtures(void)
{
	const char *root = tsupport_fixture(".");

	each_file(root, check_fixture);
	/* every CRL fixture of make-fixtures.sh, and then some */
	CU_ASSERT(fixture_crls >= 20);
	CU_ASSERT_EQUAL(fixture_failures, 0);
	fprintf(stderr, "fixtures: %zu CRLs compared\n", fixture_crls);
}

/* ---- PEM --------------------------------------------------------------------------------- */

static char *pem_of(const struct bytes *der)
{
	BIO *bio = BIO_new(BIO_s_mem());
	char *mem = NULL, *out;
	long n;

	CU_ASSERT_FATAL(bio && PEM_write_bio(bio, "X509 CRL", "", der->p, (long)der->n) > 0);
	n = BIO_get_mem_data(bio, &mem);
	out = malloc((size_t)n + 1);
	CU_ASSERT_FATAL(out != NULL);
	memcpy(out, mem, (size_t)n);
	out[n] = '\0';
	BIO_free(bio);
	return out;
}

static void test_pem_reader(void)
{
	struct bytes crl = make_crl(ec_ca, ec_key, EVP_sha256(), false, MADE_FULL);
	char *pem = pem_of(&crl);
	size_t plen = strlen(pem), pos = 0, der_len = 0;
	char *text = malloc(4 * plen + 200);
	unsigned char *out = malloc(4 * plen + 200);
	bool done = false;
	int n;

	CU_ASSERT_FATAL(text && out);
	/* text, another PEM block, two CRL blocks, one with CRLF line ends */
	n = snprintf(
	    text, 4 * plen + 200,
	    "junk before\n-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n%s", pem);
	memcpy(text + n, pem, plen);
	n += (int)plen;
	CU_ASSERT_EQUAL(
	    jitrd_crl_pem_next((unsigned char *)text, (size_t)n, &pos, out, &der_len, &done),
	    JITRD_OK);
	CU_ASSERT(!done && der_len == crl.n && memcmp(out, crl.p, crl.n) == 0);
	CU_ASSERT_EQUAL(
	    jitrd_crl_pem_next((unsigned char *)text, (size_t)n, &pos, out, &der_len, &done),
	    JITRD_OK);
	CU_ASSERT(!done && der_len == crl.n && memcmp(out, crl.p, crl.n) == 0);
	CU_ASSERT_EQUAL(
	    jitrd_crl_pem_next((unsigned char *)text, (size_t)n, &pos, out, &der_len, &done),
	    JITRD_OK);
	CU_ASSERT(done);

	/* in place: out is the text itself */
	memcpy(text, pem, plen);
	pos = 0;
	done = false;
	CU_ASSERT_EQUAL(jitrd_crl_pem_next((unsigned char *)text, plen, &pos, (unsigned char *)text,
	                                   &der_len, &done),
	                JITRD_OK);
	CU_ASSERT(!done && der_len == crl.n && memcmp(text, crl.p, crl.n) == 0);

	/* broken blocks: no END, another END, headers (encrypted), bad base64 */
	{
		static const char *const broken[] = {
		    "-----BEGIN X509 CRL-----\nMIIB\n",
		    "-----BEGIN X509 CRL-----\nMIIB\n-----END CERTIFICATE-----\n",
		    "-----BEGIN X509 CRL-----\nProc-Type: 4,X\n\nMIIB\n-----END X509 CRL-----\n",
		    "-----BEGIN X509 CRL-----\nMI*B\n-----END X509 CRL-----\n",
		    "-----BEGIN X509 CRL-----\nMIIB=A==\n-----END X509 CRL-----\n",
		};

		for (size_t i = 0; i < sizeof(broken) / sizeof(broken[0]); i++) {
			pos = 0;
			done = false;
			CU_ASSERT_EQUAL(jitrd_crl_pem_next((const unsigned char *)broken[i],
			                                   strlen(broken[i]), &pos, out, &der_len,
			                                   &done),
			                JITRD_ERR_MALFORMED);
			CU_ASSERT(!done && pos <= strlen(broken[i]));
		}
	}
	free(out);
	free(text);
	free(pem);
	free(crl.p);
}

/* The store reads a PEM file it owns in place as it reads a copy: same verdict, same index,
 * with two blocks (the first decoded in place, the text kept for the second) or one (the text
 * after the DER given back at once). A PEM
 * block with bytes after its CRL is refused (OpenSSL's PEM reader ignores them; RFC 7468
 * §5.1: the block holds one CertificateList). */
static void test_store_in_place(void)
{
	struct jitrd_caset *cas = jitrd_caset_new();
	struct bytes crl = make_crl(ec_ca, ec_key, EVP_sha256(), false, MADE_FULL);
	char *pem = pem_of(&crl), *ca_pem = NULL;
	BIO *bio = BIO_new(BIO_s_mem());
	long ca_len;
	struct jitrd_diag diag = {""};
	struct jitrd_crl_builder *b1, *b2, *b3;
	struct jitrd_crl_store *s1 = NULL, *s2 = NULL, *s3 = NULL;
	size_t plen = strlen(pem);
	unsigned char *two = malloc(2 * plen), *one = malloc(plen);
	ASN1_INTEGER *serial = ASN1_INTEGER_new();
	struct jitrd_crl_answer a1, a2;
	struct bytes junk;
	char *junk_pem;

	CU_ASSERT_FATAL(cas && bio && serial && PEM_write_bio_X509(bio, ec_ca) == 1);
	ca_len = BIO_get_mem_data(bio, &ca_pem);
	if (jitrd_caset_add_pem(cas, "ec-ca", ca_pem, (size_t)ca_len, &diag) != JITRD_OK)
		fprintf(stderr, "%s\n", diag.text);
	CU_ASSERT_FATAL(jitrd_caset_count(cas) == 1);
	b1 = jitrd_crl_builder_new(cas, JITRD_TEST_NOW);
	b2 = jitrd_crl_builder_new(cas, JITRD_TEST_NOW);
	b3 = jitrd_crl_builder_new(cas, JITRD_TEST_NOW);
	CU_ASSERT_FATAL(b1 && b2 && b3 && two && one);
	memcpy(two, pem, plen);
	memcpy(two + plen, pem, plen);
	memcpy(one, pem, plen);
	CU_ASSERT_EQUAL(jitrd_crl_builder_add(b1, "copy", (unsigned char *)pem, strlen(pem), &diag),
	                JITRD_OK);
	CU_ASSERT_EQUAL(jitrd_crl_builder_add_owned(b2, "two blocks", two, 2 * plen, &diag),
	                JITRD_OK);
	CU_ASSERT_EQUAL(jitrd_crl_builder_add_owned(b3, "one block", one, plen, &diag), JITRD_OK);
	CU_ASSERT_EQUAL(jitrd_crl_builder_file_at(b2, 0)->crls_accepted, 2);
	CU_ASSERT_EQUAL(jitrd_crl_builder_file_at(b3, 0)->crls_accepted, 1);
	CU_ASSERT_EQUAL(jitrd_crl_builder_finish(b1, &s1), JITRD_OK);
	CU_ASSERT_EQUAL(jitrd_crl_builder_finish(b2, &s2), JITRD_OK);
	CU_ASSERT_EQUAL(jitrd_crl_builder_finish(b3, &s3), JITRD_OK);
	for (long v = 0x0e; v <= 0x1b; v++) {
		CU_ASSERT_FATAL(ASN1_INTEGER_set(serial, v) == 1);
		CU_ASSERT_EQUAL(
		    jitrd_crl_lookup(s1, jitrd_caset_at(cas, 0), serial, JITRD_TEST_NOW, &a1),
		    JITRD_OK);
		CU_ASSERT_EQUAL(
		    jitrd_crl_lookup(s2, jitrd_caset_at(cas, 0), serial, JITRD_TEST_NOW, &a2),
		    JITRD_OK);
		CU_ASSERT(a1.status == a2.status && a1.reason == a2.reason);
	}
	/* 0x11 has keyCompromise (reason 1) */
	CU_ASSERT_FATAL(ASN1_INTEGER_set(serial, 0x11) == 1);
	CU_ASSERT_EQUAL(jitrd_crl_lookup(s2, jitrd_caset_at(cas, 0), serial, JITRD_TEST_NOW, &a2),
	                JITRD_OK);
	CU_ASSERT(a2.status == JITRD_CRL_REVOKED && a2.reason == 1);
	CU_ASSERT_EQUAL(jitrd_crl_lookup(s3, jitrd_caset_at(cas, 0), serial, JITRD_TEST_NOW, &a2),
	                JITRD_OK);
	CU_ASSERT(a2.status == JITRD_CRL_REVOKED && a2.reason == 1);

	junk = raw(crl.p, crl.n);
	put(&junk, "\0\0", 2);
	junk_pem = pem_of(&junk);
	jitrd_crl_builder_free(b1);
	b1 = jitrd_crl_builder_new(cas, JITRD_TEST_NOW);
	CU_ASSERT_FATAL(b1 != NULL);
	CU_ASSERT_EQUAL(
	    jitrd_crl_builder_add(b1, "junk", (unsigned char *)junk_pem, strlen(junk_pem), &diag),
	    JITRD_ERR_MALFORMED);
	CU_ASSERT(strstr(diag.text, "bytes after the end of the DER CRL") != NULL);

	free(junk.p);
	free(junk_pem);
	ASN1_INTEGER_free(serial);
	jitrd_crl_store_free(s1);
	jitrd_crl_store_free(s2);
	jitrd_crl_store_free(s3);
	jitrd_crl_builder_free(b3);
	jitrd_crl_builder_free(b1);
	jitrd_crl_builder_free(b2);
	BIO_free(bio);
	jitrd_caset_free(cas);
	free(pem);
	free(crl.p);
}

static void test_invalid_arguments(void)
{
	struct jitrd_crl_der crl;
	size_t used = 0;
	const unsigned char byte = 0x30;

	memset(&crl, 0, sizeof(crl));
	CU_ASSERT_EQUAL(jitrd_crl_der_parse(NULL, 1, &crl, &used), JITRD_ERR_INVALID_ARG);
	CU_ASSERT_EQUAL(jitrd_crl_der_parse(&byte, 1, NULL, &used), JITRD_ERR_INVALID_ARG);
	CU_ASSERT_EQUAL(jitrd_crl_der_parse(&byte, 1, &crl, &used), JITRD_ERR_MALFORMED);
	CU_ASSERT_EQUAL(jitrd_crl_der_verify(NULL, ec_key), JITRD_ERR_INVALID_ARG);
	CU_ASSERT_EQUAL(jitrd_crl_der_verify(&crl, ec_key), JITRD_ERR_INVALID_ARG);
	jitrd_crl_der_cleanup(NULL);
	jitrd_crl_der_cursor_cleanup(NULL);
}

static int setup(void)
{
	pool = sk_X509_new_null();
	ec_key = make_key("EC", "P-256", 0);
	ec384_key = make_key("EC", "P-384", 0);
	rsa_key = make_key("RSA", NULL, 2048);
	ed_key = make_key("ED25519", NULL, 0);
	if (!pool || !ec_key || !ec384_key || !rsa_key || !ed_key)
		return -1;
	ec_ca = make_ca(ec_key, "P-256 CA", EVP_sha256());
	ec384_ca = make_ca(ec384_key, "P-384 CA", EVP_sha384());
	rsa_ca = make_ca(rsa_key, "RSA CA", EVP_sha256());
	ed_ca = make_ca(ed_key, "Ed25519 CA", NULL);
	if (!ec_ca || !ec384_ca || !rsa_ca || !ed_ca)
		return -1;
	sk_X509_push(pool, X509_dup(ec_ca));
	sk_X509_push(pool, X509_dup(ec384_ca));
	sk_X509_push(pool, X509_dup(rsa_ca));
	sk_X509_push(pool, X509_dup(ed_ca));
	each_file(tsupport_fixture("."), load_certs);
	return 0;
}

int main(void)
{
	static const struct tsupport_case cases[] = {
	    {"made CRLs: every key type, extension and reason", test_made_crls},
	    {"hostile CRLs read both ways", test_hostile_crls},
	    {"hostile CRLs: verdicts", test_hostile_verdicts},
	    {"RSA-PSS with SHA-1 refused", test_pss_sha1_refused},
	    {"fixture CRLs read both ways", test_fixtures},
	    {"PEM reader", test_pem_reader},
	    {"store reads a PEM file it owns in place", test_store_in_place},
	    {"invalid arguments", test_invalid_arguments},
	    {NULL, NULL},
	};
	int status;

	if (setup() != 0) {
		fprintf(stderr, "cannot make the test keys and CAs\n");
		return 99;
	}
	status = tsupport_run("crl_stream", cases);
	fprintf(stderr, "CRLs compared: %zu\n", compared);
	sk_X509_pop_free(pool, X509_free);
	X509_free(ec_ca);
	X509_free(ec384_ca);
	X509_free(rsa_ca);
	X509_free(ed_ca);
	EVP_PKEY_free(ec_key);
	EVP_PKEY_free(ec384_key);
	EVP_PKEY_free(rsa_key);
	EVP_PKEY_free(ed_key);
	return status;
}
