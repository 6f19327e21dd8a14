/* crl_der.c — reads a DER CertificateList (RFC 5280 §5.1) in one pass without OpenSSL's
 * object tree: at a million entries d2i_X509_CRL's object per entry is most of the time and
 * nearly all of the memory. OpenSSL's primitives decode each small piece (headers with
 * ASN1_get_object, fields with d2i_*), so each piece is judged as d2i_X509_CRL judges it.
 * Pure: no I/O, no clock, no logging; it applies no policy beyond the encoding. */
#include "jitrd/crl_der.h"

#include <limits.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/rsa.h>

#include "x509_util.h"

#define TAG_BOOLEAN     1
#define TAG_INTEGER     2
#define TAG_OCTETSTRING 4
#define TAG_OID         6
#define TAG_UTCTIME     23
#define TAG_GENTIME     24
#define TAG_SEQUENCE    16

/* One TLV header at *p, before end. */
struct tlv {
	int tag;
	int cls;
	bool constructed;
	const unsigned char *start;   /* the header's first byte */
	const unsigned char *content; /* its contents */
	size_t len;
};

static long remaining(const unsigned char *p, const unsigned char *end)
{
	size_t n = (size_t)(end - p);

	return n > LONG_MAX ? LONG_MAX : (long)n;
}

/* Reads a header without moving *p. False when it is not one, runs past end, or is
 * indefinite (BER only; RFC 5280 §5.1 CRLs are DER). */
static bool peek(const unsigned char *p, const unsigned char *end, struct tlv *t)
{
	const unsigned char *q = p;
	long len = 0;
	int ret;

	if (p >= end)
		return false;
	ret = ASN1_get_object(&q, &len, &t->tag, &t->cls, remaining(p, end));
	if (ret & 0x80 || ret & 0x01 || len < 0 || (size_t)len > (size_t)(end - q))
		return false;
	t->constructed = (ret & V_ASN1_CONSTRUCTED) != 0;
	t->start = p;
	t->content = q;
	t->len = (size_t)len;
	return true;
}

static bool is_universal(const struct tlv *t, int tag, bool constructed)
{
	return t->cls == V_ASN1_UNIVERSAL && t->tag == tag && t->constructed == constructed;
}

/* A SEQUENCE header at *p: *p moves to its contents, *seq_end past them. */
static bool enter_sequence(const unsigned char **p, const unsigned char *end,
                           const unsigned char **seq_end)
{
	struct tlv t;

	if (!peek(*p, end, &t) || !is_universal(&t, TAG_SEQUENCE, true))
		return false;
	*p = t.content;
	*seq_end = t.content + t.len;
	return true;
}

/* The encodings of the entry extension OIDs (RFC 5280 §5.3), so that the walk over a
 * million entries compares bytes instead of decoding an OID per extension. */
static const struct {
	unsigned char der[5];
	int nid;
} known_oids[] = {
    {{0x06, 0x03, 0x55, 0x1d, 0x15}, NID_crl_reason},
    {{0x06, 0x03, 0x55, 0x1d, 0x18}, NID_invalidity_date},
    {{0x06, 0x03, 0x55, 0x1d, 0x17}, NID_hold_instruction_code},
    {{0x06, 0x03, 0x55, 0x1d, 0x1d}, NID_certificate_issuer},
};

/* The nid of an OID's DER (NID_undef when OpenSSL does not know it); false when the OID is
 * not a valid encoding. */
static enum jitrd_err oid_nid(const unsigned char *der, size_t len, int *nid)
{
	ASN1_OBJECT *obj;
	const unsigned char *q = der;

	for (size_t i = 0; i < sizeof(known_oids) / sizeof(known_oids[0]); i++) {
		if (len == sizeof(known_oids[i].der) && memcmp(der, known_oids[i].der, len) == 0) {
			*nid = known_oids[i].nid;
			return JITRD_OK;
		}
	}
	obj = d2i_ASN1_OBJECT(NULL, &q, remaining(der, der + len));
	if (!obj || q != der + len) {
		ASN1_OBJECT_free(obj);
		return JITRD_ERR_MALFORMED;
	}
	*nid = OBJ_obj2nid(obj);
	ASN1_OBJECT_free(obj);
	return JITRD_OK;
}

enum jitrd_err jitrd_crl_der_next_ext(const unsigned char **p, const unsigned char *end,
                                      struct jitrd_crl_der_ext *ext, bool *done)
{
	const unsigned char *q = *p, *ext_end;
	struct jitrd_crl_der_ext e = {NID_undef, false, NULL, 0, NULL, 0};
	struct tlv t;

	if (q == end) {
		*done = true;
		return JITRD_OK;
	}
	*done = false;
	/* Extension ::= SEQUENCE { extnID OID, critical BOOLEAN DEFAULT FALSE,
	 *                          extnValue OCTET STRING } (RFC 5280 §4.1) */
	if (!enter_sequence(&q, end, &ext_end) || !peek(q, ext_end, &t) ||
	    !is_universal(&t, TAG_OID, false))
		return JITRD_ERR_MALFORMED;
	e.oid = t.start;
	e.oid_len = (size_t)(t.content + t.len - t.start);
	if (oid_nid(e.oid, e.oid_len, &e.nid) != JITRD_OK)
		return JITRD_ERR_MALFORMED;
	q = t.content + t.len;
	if (!peek(q, ext_end, &t))
		return JITRD_ERR_MALFORMED;
	if (is_universal(&t, TAG_BOOLEAN, false)) {
		/* as OpenSSL reads it: one octet, any non-zero value is TRUE */
		if (t.len != 1)
			return JITRD_ERR_MALFORMED;
		e.critical = t.content[0] != 0;
		q = t.content + t.len;
		if (!peek(q, ext_end, &t))
			return JITRD_ERR_MALFORMED;
	}
	if (!is_universal(&t, TAG_OCTETSTRING, false) || t.content + t.len != ext_end)
		return JITRD_ERR_MALFORMED;
	e.value = t.content;
	e.value_len = t.len;
	*ext = e;
	*p = ext_end;
	return JITRD_OK;
}

void jitrd_crl_der_cursor_init(struct jitrd_crl_der_cursor *c, const struct jitrd_crl_der *crl)
{
	memset(c, 0, sizeof(*c));
	if (crl && crl->entries) {
		c->p = crl->entries;
		c->end = crl->entries + crl->entries_len;
	}
}

void jitrd_crl_der_cursor_cleanup(struct jitrd_crl_der_cursor *c)
{
	if (!c)
		return;
	ASN1_INTEGER_free(c->serial);
	ASN1_TIME_free(c->date);
	memset(c, 0, sizeof(*c));
}

/* After a failed d2i: allocation failure or the bytes' fault. */
static enum jitrd_err d2i_failure(void)
{
	enum jitrd_err err = jitrd_openssl_failure(JITRD_ERR_MALFORMED);

	ERR_clear_error();
	return err;
}

enum jitrd_err jitrd_crl_der_next_entry(struct jitrd_crl_der_cursor *c,
                                        struct jitrd_crl_der_entry *entry, bool *done)
{
	const unsigned char *q = c->p, *entry_end;
	struct tlv t;

	if (!c->p || c->p == c->end) {
		*done = true;
		return JITRD_OK;
	}
	*done = false;
	/* revokedCertificates entry ::= SEQUENCE { userCertificate CertificateSerialNumber,
	 * revocationDate Time, crlEntryExtensions Extensions OPTIONAL } (RFC 5280 §5.1).
	 * The INTEGER and Time objects are reused, so the walk allocates nothing per entry. */
	if (!enter_sequence(&q, c->end, &entry_end))
		return JITRD_ERR_MALFORMED;
	if (!d2i_ASN1_INTEGER(&c->serial, &q, remaining(q, entry_end)) ||
	    !d2i_ASN1_TIME(&c->date, &q, remaining(q, entry_end)))
		return d2i_failure();
	entry->extensions = NULL;
	entry->extensions_len = 0;
	if (q != entry_end) {
		if (!peek(q, entry_end, &t) || !is_universal(&t, TAG_SEQUENCE, true) ||
		    t.content + t.len != entry_end)
			return JITRD_ERR_MALFORMED;
		entry->extensions = t.content;
		entry->extensions_len = t.len;
	}
	entry->serial = c->serial;
	c->p = entry_end;
	return JITRD_OK;
}

/* The whole walk once, as d2i_X509_CRL would decode it, counting serials by length. */
static enum jitrd_err check_entries(struct jitrd_crl_der *crl)
{
	struct jitrd_crl_der_cursor c;
	struct jitrd_crl_der_entry entry;
	enum jitrd_err err;
	bool done = false;

	jitrd_crl_der_cursor_init(&c, crl);
	for (;;) {
		const unsigned char *p, *end;
		struct jitrd_crl_der_ext ext;
		bool last = false;
		int l;
		const unsigned char *m;

		if ((err = jitrd_crl_der_next_entry(&c, &entry, &done)) != JITRD_OK || done)
			break;
		crl->entry_count++;
		p = entry.extensions;
		end = p ? p + entry.extensions_len : NULL;
		while (p && (err = jitrd_crl_der_next_ext(&p, end, &ext, &last)) == JITRD_OK &&
		       !last)
			;
		if (err != JITRD_OK)
			break;
		if (ASN1_STRING_type(entry.serial) == V_ASN1_NEG_INTEGER) {
			crl->negative_serials++;
			continue;
		}
		/* OpenSSL keeps the magnitude without leading zeros; zero is one octet 0 */
		l = ASN1_STRING_length(entry.serial);
		m = ASN1_STRING_get0_data(entry.serial);
		while (l > 0 && *m == 0) {
			l--;
			m++;
		}
		crl->serial_octets[l < JITRD_CRL_DER_SERIAL_BUCKETS - 1
		                       ? l
		                       : JITRD_CRL_DER_SERIAL_BUCKETS - 1]++;
	}
	jitrd_crl_der_cursor_cleanup(&c);
	return err;
}

void jitrd_crl_der_cleanup(struct jitrd_crl_der *crl)
{
	if (!crl)
		return;
	ASN1_INTEGER_free(crl->version);
	X509_ALGOR_free(crl->tbs_alg);
	X509_NAME_free(crl->issuer);
	ASN1_TIME_free(crl->this_update);
	ASN1_TIME_free(crl->next_update);
	sk_X509_EXTENSION_pop_free(crl->extensions, X509_EXTENSION_free);
	X509_ALGOR_free(crl->alg);
	ASN1_BIT_STRING_free(crl->signature);
	memset(crl, 0, sizeof(*crl));
}

/* TBSCertList (RFC 5280 §5.1), fields in order; q runs over the contents up to end. */
static enum jitrd_err parse_tbs(struct jitrd_crl_der *c, const unsigned char *q,
                                const unsigned char *end)
{
	struct tlv t;

	if (peek(q, end, &t) && is_universal(&t, TAG_INTEGER, false) &&
	    !d2i_ASN1_INTEGER(&c->version, &q, remaining(q, end)))
		return d2i_failure();
	if (!d2i_X509_ALGOR(&c->tbs_alg, &q, remaining(q, end)) ||
	    !d2i_X509_NAME(&c->issuer, &q, remaining(q, end)) ||
	    !d2i_ASN1_TIME(&c->this_update, &q, remaining(q, end)))
		return d2i_failure();
	if (peek(q, end, &t) && t.cls == V_ASN1_UNIVERSAL && !t.constructed &&
	    (t.tag == TAG_UTCTIME || t.tag == TAG_GENTIME) &&
	    !d2i_ASN1_TIME(&c->next_update, &q, remaining(q, end)))
		return d2i_failure();
	if (peek(q, end, &t) && is_universal(&t, TAG_SEQUENCE, true)) {
		/* an empty list is decoded as d2i_X509_CRL decodes it: no entries */
		c->entries = t.content;
		c->entries_len = t.len;
		q = t.content + t.len;
	}
	if (peek(q, end, &t) && t.cls == V_ASN1_CONTEXT_SPECIFIC && t.tag == 0 && t.constructed) {
		const unsigned char *r = t.content;

		/* crlExtensions [0] EXPLICIT: exactly one SEQUENCE OF Extension inside */
		if (!d2i_X509_EXTENSIONS(&c->extensions, &r, remaining(r, t.content + t.len)))
			return d2i_failure();
		if (r != t.content + t.len)
			return JITRD_ERR_MALFORMED;
		q = r;
	}
	if (q != end)
		return JITRD_ERR_MALFORMED;
	return check_entries(c);
}

enum jitrd_err jitrd_crl_der_parse(const unsigned char *der, size_t len, struct jitrd_crl_der *out,
                                   size_t *used)
{
	struct jitrd_crl_der c;
	const unsigned char *p = der, *end, *tbs_end;
	enum jitrd_err result = JITRD_ERR_MALFORMED;

	if (!der || !out || !used)
		return JITRD_ERR_INVALID_ARG;
	memset(&c, 0, sizeof(c));
	/* CertificateList ::= SEQUENCE { tbsCertList, signatureAlgorithm, signatureValue } */
	if (!enter_sequence(&p, der + len, &end))
		goto cleanup;
	c.tbs = p;
	if (!enter_sequence(&p, end, &tbs_end))
		goto cleanup;
	c.tbs_len = (size_t)(tbs_end - c.tbs);
	if ((result = parse_tbs(&c, p, tbs_end)) != JITRD_OK)
		goto cleanup;
	result = JITRD_ERR_MALFORMED;
	p = tbs_end;
	if (!d2i_X509_ALGOR(&c.alg, &p, remaining(p, end)) ||
	    !d2i_ASN1_BIT_STRING(&c.signature, &p, remaining(p, end))) {
		result = d2i_failure();
		goto cleanup;
	}
	if (p != end)
		goto cleanup;
	jitrd_crl_der_cleanup(out);
	*out = c;
	memset(&c, 0, sizeof(c));
	*used = (size_t)(end - der);
	result = JITRD_OK;
cleanup:
	jitrd_crl_der_cleanup(&c);
	ERR_clear_error();
	return result;
}

/* The digest an AlgorithmIdentifier names, SHA-1 when absent (RFC 4055 §3.1 defaults). */
static const EVP_MD *algor_md(const X509_ALGOR *alg)
{
	return alg ? EVP_get_digestbyobj(alg->algorithm) : EVP_sha1();
}

static bool weak_md(const EVP_MD *md)
{
	int t = EVP_MD_get_type(md);

	return t == NID_md5 || t == NID_sha1 || t == NID_md4 || t == NID_md2;
}

/* RSASSA-PSS-params (RFC 4055 §3.1) onto a verify context, as OpenSSL's
 * ossl_rsa_pss_to_ctx does; MGF1 is the only mask generation function defined. */
static enum jitrd_err pss_init(EVP_MD_CTX *ctx, const X509_ALGOR *alg, EVP_PKEY *key)
{
	RSA_PSS_PARAMS *pss = NULL;
	X509_ALGOR *mgf1_hash = NULL;
	const EVP_MD *md, *mgf1_md;
	EVP_PKEY_CTX *pctx = NULL;
	long salt = 20, trailer = 1;
	enum jitrd_err result = JITRD_ERR_CRL_SIGNATURE;

	if (!EVP_PKEY_is_a(key, "RSA") && !EVP_PKEY_is_a(key, "RSA-PSS"))
		goto cleanup;
	if (!alg->parameter || alg->parameter->type != V_ASN1_SEQUENCE ||
	    !(pss = ASN1_TYPE_unpack_sequence(ASN1_ITEM_rptr(RSA_PSS_PARAMS), alg->parameter)))
		goto cleanup;
	if (pss->maskGenAlgorithm) {
		if (OBJ_obj2nid(pss->maskGenAlgorithm->algorithm) != NID_mgf1 ||
		    !pss->maskGenAlgorithm->parameter ||
		    !(mgf1_hash = ASN1_TYPE_unpack_sequence(ASN1_ITEM_rptr(X509_ALGOR),
		                                            pss->maskGenAlgorithm->parameter)))
			goto cleanup;
	}
	md = algor_md(pss->hashAlgorithm);
	mgf1_md = algor_md(mgf1_hash);
	if (pss->saltLength)
		salt = ASN1_INTEGER_get(pss->saltLength);
	if (pss->trailerField)
		trailer = ASN1_INTEGER_get(pss->trailerField);
	/* the same weak digests the store refuses for the other algorithms */
	if (!md || !mgf1_md || weak_md(md) || weak_md(mgf1_md) || salt < 0 || salt > INT_MAX ||
	    trailer != 1)
		goto cleanup;
	if (EVP_DigestVerifyInit(ctx, &pctx, md, NULL, key) != 1 ||
	    EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) <= 0 ||
	    EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, (int)salt) <= 0 ||
	    EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, mgf1_md) <= 0)
		goto cleanup;
	result = JITRD_OK;
cleanup:
	RSA_PSS_PARAMS_free(pss);
	X509_ALGOR_free(mgf1_hash);
	return result;
}

enum jitrd_err jitrd_crl_der_verify(const struct jitrd_crl_der *crl, EVP_PKEY *key)
{
	EVP_MD_CTX *ctx = NULL;
	int nid, md_nid = NID_undef, pk_nid = NID_undef;
	const EVP_MD *md = NULL;
	enum jitrd_err result = JITRD_ERR_CRL_SIGNATURE;

	if (!crl || !key || !crl->alg || !crl->tbs_alg || !crl->signature)
		return JITRD_ERR_INVALID_ARG;
	/* RFC 5280 §5.1.1.2: the algorithm outside the signed part must be the one inside */
	if (X509_ALGOR_cmp(crl->alg, crl->tbs_alg) != 0)
		goto cleanup;
	/* a signature is a whole number of octets; ASN1_item_verify refuses unused bits too */
	if (crl->signature->flags & 0x07)
		goto cleanup;
	nid = OBJ_obj2nid(crl->alg->algorithm);
	if (!OBJ_find_sigid_algs(nid, &md_nid, &pk_nid))
		goto cleanup;
	if (!(ctx = EVP_MD_CTX_new())) {
		result = JITRD_ERR_NOMEM;
		goto cleanup;
	}
	if (md_nid == NID_undef && pk_nid == NID_rsassaPss) {
		if (pss_init(ctx, crl->alg, key) != JITRD_OK)
			goto cleanup;
	} else {
		/* the key must be of the algorithm's type (ASN1_item_verify: wrong public key
		 * type); Ed25519 and Ed448 name no digest */
		if (!EVP_PKEY_is_a(key, OBJ_nid2sn(pk_nid)))
			goto cleanup;
		if (md_nid != NID_undef && !(md = EVP_get_digestbynid(md_nid)))
			goto cleanup;
		if (md_nid == NID_undef && pk_nid != NID_ED25519 && pk_nid != NID_ED448)
			goto cleanup;
		if (EVP_DigestVerifyInit(ctx, NULL, md, NULL, key) != 1)
			goto cleanup;
	}
	if (EVP_DigestVerify(ctx, ASN1_STRING_get0_data(crl->signature),
	                     (size_t)ASN1_STRING_length(crl->signature), crl->tbs,
	                     crl->tbs_len) == 1)
		result = JITRD_OK;
cleanup:
	EVP_MD_CTX_free(ctx);
	ERR_clear_error();
	return result;
}

/* The end of the line at p (its '\n' or end), and the line's length without "\r\n". */
static size_t line_end(const unsigned char *text, size_t len, size_t p, size_t *content)
{
	const unsigned char *nl = memchr(text + p, '\n', len - p);
	size_t e = nl ? (size_t)(nl - text) : len;
	size_t c = e;

	while (c > p && (text[c - 1] == '\r' || text[c - 1] == ' ' || text[c - 1] == '\t'))
		c--;
	*content = c - p;
	return nl ? e + 1 : e;
}

static bool line_is(const unsigned char *line, size_t n, const char *what)
{
	size_t w = strlen(what);

	return n == w && memcmp(line, what, w) == 0;
}

enum jitrd_err jitrd_crl_pem_next(const unsigned char *text, size_t len, size_t *pos,
                                  unsigned char *out, size_t *der_len, bool *done)
{
	static const char begin[] = "-----BEGIN X509 CRL-----";
	static const char end_line[] = "-----END X509 CRL-----";
	EVP_ENCODE_CTX *ctx = NULL;
	size_t p = *pos, n, o = 0, end_at = 0;
	enum jitrd_err result = JITRD_ERR_MALFORMED;
	int k;

	*done = false;
	/* the BEGIN line: other PEM blocks and text are skipped (RFC 7468 §2) */
	for (;;) {
		size_t next;

		if (p >= len) {
			*pos = len;
			*done = true;
			return JITRD_OK;
		}
		next = line_end(text, len, p, &n);
		if (line_is(text + p, n, begin)) {
			p = next;
			break;
		}
		p = next;
	}
	/* the END line (base64 has no '-', so one scan finds it); a BEGIN without one is a
	 * truncated file */
	for (size_t q = p;; q++) {
		const unsigned char *hit = q < len ? memchr(text + q, '-', len - q) : NULL;

		if (!hit)
			goto cleanup;
		q = (size_t)(hit - text);
		if ((q == p || text[q - 1] == '\n') && len - q >= 9 &&
		    memcmp(text + q, "-----END ", 9) == 0) {
			end_at = q;
			break;
		}
	}
	line_end(text, len, end_at, &n);
	if (!line_is(text + end_at, n, end_line))
		goto cleanup;
	/* "Proc-Type: 4,ENCRYPTED" and the like: an encrypted CRL is nothing we read */
	line_end(text, len, p, &n);
	if (memchr(text + p, ':', n))
		goto cleanup;
	if (!(ctx = EVP_ENCODE_CTX_new())) {
		result = JITRD_ERR_NOMEM;
		goto cleanup;
	}
	/* EVP_DecodeUpdate skips line ends and blanks itself; fed in pieces that fit an int */
	EVP_DecodeInit(ctx);
	while (p < end_at) {
		size_t piece = end_at - p > (1u << 30) ? (1u << 30) : end_at - p;
		int got = 0;

		if (EVP_DecodeUpdate(ctx, out + o, &got, text + p, (int)piece) < 0 || got < 0)
			goto cleanup;
		o += (size_t)got;
		p += piece;
	}
	p = line_end(text, len, end_at, &n);
	if (EVP_DecodeFinal(ctx, out + o, &k) != 1 || k < 0)
		goto cleanup;
	o += (size_t)k;
	*der_len = o;
	result = JITRD_OK;
cleanup:
	*pos = p;
	EVP_ENCODE_CTX_free(ctx);
	ERR_clear_error();
	return result;
}
