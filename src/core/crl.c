/* crl.c — the CRL store (DESIGN §5.4): each CRL is verified against one of our CAs, then its
 * revoked list is copied once into compact sorted arrays and OpenSSL's CRL object is freed.
 * Pure: bytes and `now` in; no I/O, no clock, no logging; lookups never touch OpenSSL CRLs. */
#include "jitrd/crl.h"

#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "jitrd/text.h"
#include "x509_util.h"

#define SERIAL_MAX       20   /* RFC 5280 §4.1.2.2 and §5.2.3: at most 20 octets */
#define SMALL_SERIAL_MAX 7    /* such serials share one uint64 with their reason */
#define REASON_SLOT_NONE 0xff /* the entry has no reasonCode extension */
#define REASON_HOLD      6    /* certificateHold */
#define REASON_REMOVE    8    /* removeFromCRL */
#define REASON_MAX       10   /* aACompromise, the last code RFC 5280 §5.3.1 defines */

/*
 * The index of one CRL. Memory is what matters at 1,000,000 entries:
 * - serials of up to 7 octets (`openssl ca` numbers, sequential serials) are packed with their
 *   reason slot into one uint64, value << 8 | slot: 8 bytes per entry;
 * - longer ones (random 16-20 octet serials) take 22 bytes: the magnitude left-aligned and
 *   zero-padded, its length and the reason slot (no padding: every member is a byte).
 * Both arrays are sorted and hold each serial once; lookups are binary searches.
 */
struct large_entry {
	unsigned char serial[SERIAL_MAX];
	uint8_t len;
	uint8_t reason;
};

struct crl_index {
	uint64_t *small;
	size_t small_count;
	struct large_entry *large;
	size_t large_count;
};

/* The chosen CRL of one CA: in the builder while it collects, then in the store. */
struct ca_crl {
	const struct jitrd_cert *ca;
	char ca_id[65]; /* matches a caller's own jitrd_cert of the same CA */
	char *origin;
	struct jitrd_crl_info info; /* info.origin points at origin */
	bool has_number;
	bool has_next_update;
	unsigned char number[SERIAL_MAX]; /* cRLNumber magnitude, compared as a big integer */
	size_t number_len;
	struct crl_index index;
};

struct file_record {
	struct jitrd_crl_file_report report; /* points into origin and reason below */
	char *origin;
	char *reason;
};

struct jitrd_crl_builder {
	const struct jitrd_caset *cas;
	time_t now;
	bool finished;         /* finish moved the chosen CRLs into a store */
	struct ca_crl *chosen; /* at most one per CA: the newest accepted so far */
	size_t chosen_count;
	size_t chosen_cap;
	struct file_record *files;
	size_t file_count;
	size_t file_cap;
};

struct jitrd_crl_store {
	struct ca_crl *cas;
	size_t count;
};

/* Why one CRL was refused, kept until the file's report is written. */
struct refusal {
	enum jitrd_err err;
	char text[384];
};

/* How one file went: the first refusal is what the report and diag say. */
struct file_state {
	size_t seen;
	size_t accepted;
	enum jitrd_err first_err;
	char first_reason[448];
};

static void refuse(struct refusal *r, enum jitrd_err err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void refuse(struct refusal *r, enum jitrd_err err, const char *fmt, ...)
{
	va_list ap;

	r->err = err;
	va_start(ap, fmt);
	vsnprintf(r->text, sizeof(r->text), fmt, ap);
	va_end(ap);
}

static void index_free(struct crl_index *index)
{
	OPENSSL_free(index->small);
	OPENSSL_free(index->large);
	memset(index, 0, sizeof(*index));
}

static void ca_crl_cleanup(struct ca_crl *c)
{
	OPENSSL_free(c->origin);
	index_free(&c->index);
	memset(c, 0, sizeof(*c));
}

static enum jitrd_crl_status status_of(uint8_t slot)
{
	if (slot == REASON_HOLD)
		return JITRD_CRL_HOLD;
	if (slot == REASON_REMOVE)
		return JITRD_CRL_REMOVE_FROM_CRL;
	return JITRD_CRL_REVOKED;
}

/* Which of two entries for one serial in one CRL counts. RFC 5280 does not allow duplicates;
 * when a CA emits them anyway the stronger status wins (REVOKED over HOLD over
 * removeFromCRL), so a duplicate can never weaken a revocation; among REVOKED entries an
 * explicit reason beats none, then the lower code. Higher is stronger. */
static int strength(uint8_t slot)
{
	static const int status_rank[] = {
	    [JITRD_CRL_NOT_LISTED] = 0,
	    [JITRD_CRL_REVOKED] = 3,
	    [JITRD_CRL_HOLD] = 2,
	    [JITRD_CRL_REMOVE_FROM_CRL] = 1,
	};

	return status_rank[status_of(slot)] * 512 + (slot == REASON_SLOT_NONE ? 0 : 256 - slot);
}

/* The big-endian magnitude of a non-negative INTEGER without leading zeros (zero is the empty
 * string). False for a negative one: RFC 5280 serials are positive, so those never match. */
static bool magnitude(const ASN1_INTEGER *n, const unsigned char **bytes, size_t *len)
{
	const unsigned char *p = ASN1_STRING_get0_data(n);
	int l = ASN1_STRING_length(n);

	if (ASN1_STRING_type(n) == V_ASN1_NEG_INTEGER || l < 0 || (l > 0 && !p))
		return false;
	while (l > 0 && *p == 0) {
		p++;
		l--;
	}
	*bytes = p;
	*len = (size_t)l;
	return true;
}

static uint64_t small_value(const unsigned char *bytes, size_t len)
{
	uint64_t v = 0;

	for (size_t i = 0; i < len; i++)
		v = v << 8 | bytes[i];
	return v;
}

static int small_cmp(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return (x > y) - (x < y);
}

static int large_key_cmp(const struct large_entry *x, const struct large_entry *y)
{
	if (x->len != y->len)
		return x->len < y->len ? -1 : 1;
	/* zero-padded to SERIAL_MAX, so one fixed-size compare orders equal lengths */
	return memcmp(x->serial, y->serial, SERIAL_MAX);
}

static int large_cmp(const void *a, const void *b)
{
	const struct large_entry *x = a, *y = b;
	int c = large_key_cmp(x, y);

	return c ? c : (int)x->reason - (int)y->reason;
}

/* Sorts (unless already sorted, as CRLs from `openssl ca` mostly are) and keeps one entry per
 * serial, the strongest. Returns the new count. */
static size_t sort_small(uint64_t *keys, size_t n)
{
	size_t out = 0;

	for (size_t i = 1; i < n; i++) {
		if (keys[i - 1] > keys[i]) {
			qsort(keys, n, sizeof(*keys), small_cmp);
			break;
		}
	}
	for (size_t i = 0; i < n;) {
		uint64_t best = keys[i];
		size_t j = i + 1;

		for (; j < n && keys[j] >> 8 == keys[i] >> 8; j++) {
			if (strength((uint8_t)keys[j]) > strength((uint8_t)best))
				best = keys[j];
		}
		keys[out++] = best;
		i = j;
	}
	return out;
}

static size_t sort_large(struct large_entry *e, size_t n)
{
	size_t out = 0;

	for (size_t i = 1; i < n; i++) {
		if (large_cmp(&e[i - 1], &e[i]) > 0) {
			qsort(e, n, sizeof(*e), large_cmp);
			break;
		}
	}
	for (size_t i = 0; i < n;) {
		struct large_entry best = e[i];
		size_t j = i + 1;

		for (; j < n && large_key_cmp(&e[j], &e[i]) == 0; j++) {
			if (strength(e[j].reason) > strength(best.reason))
				best = e[j];
		}
		e[out++] = best;
		i = j;
	}
	return out;
}

static bool entry_ext_allowed(int nid)
{
	/* RFC 5280 §5.3: what a CRL entry may carry that we understand. certificateIssuer is
	 * not here: it belongs to indirect CRLs, which we refuse. */
	return nid == NID_crl_reason || nid == NID_invalidity_date ||
	       nid == NID_hold_instruction_code;
}

static bool crl_ext_allowed(int nid)
{
	/* RFC 5280 §5.2 extensions we handle: the issuer's key id and name, the CRL number, and
	 * the distribution point (whose scope is checked separately). Delta CRL indicators are
	 * refused before this; freshestCRL and authorityInfoAccess must not be critical. */
	return nid == NID_authority_key_identifier || nid == NID_crl_number ||
	       nid == NID_issuing_distribution_point || nid == NID_issuer_alt_name;
}

static void oid_text(X509_EXTENSION *ext, char *out, size_t out_size)
{
	char oid[80];
	int n = OBJ_obj2txt(oid, sizeof(oid), X509_EXTENSION_get_object(ext), 1);

	if (n <= 0)
		snprintf(out, out_size, "(unreadable OID)");
	else
		snprintf(out, out_size, "%s", oid);
}

static void serial_text(const unsigned char *bytes, size_t len, char *out, size_t out_size)
{
	if (len == 0)
		snprintf(out, out_size, "0");
	else
		jitrd_hex_encode(bytes, len, out, out_size);
}

/* The reason slot of one entry. RFC 5280 §5.3.1 codes are kept; a code outside the table is
 * still a revocation, kept as unspecified (0). */
static enum jitrd_err entry_reason(const X509_REVOKED *rev, uint8_t *slot, struct refusal *r,
                                   const char *serial)
{
	int crit = 0;
	ASN1_ENUMERATED *reason = X509_REVOKED_get_ext_d2i(rev, NID_crl_reason, &crit, NULL);
	long code;

	if (!reason) {
		if (crit == -1) {
			*slot = REASON_SLOT_NONE;
			return JITRD_OK;
		}
		refuse(r, jitrd_openssl_failure(JITRD_ERR_MALFORMED),
		       "entry %s: reasonCode unreadable or repeated", serial);
		return r->err;
	}
	code = ASN1_ENUMERATED_get(reason);
	ASN1_ENUMERATED_free(reason);
	*slot = (code >= 0 && code <= REASON_MAX && code != 7) ? (uint8_t)code : 0;
	return JITRD_OK;
}

/* Walks the revoked list once: checks entry extensions, and copies serial and reason into
 * index. On error index is left empty. */
static enum jitrd_err build_index(X509_CRL *crl, struct crl_index *index, struct refusal *r)
{
	STACK_OF(X509_REVOKED) *revoked = X509_CRL_get_REVOKED(crl);
	int n = revoked ? sk_X509_REVOKED_num(revoked) : 0;
	size_t small_n = 0, large_n = 0;
	struct crl_index idx = {0};
	enum jitrd_err result = JITRD_ERR_MALFORMED;

	/* First a cheap pass over serial lengths, so the arrays are allocated at their final
	 * size: at a million entries the difference is tens of megabytes at peak. */
	for (int i = 0; i < n; i++) {
		const X509_REVOKED *rev = sk_X509_REVOKED_value(revoked, i);
		const unsigned char *bytes;
		size_t len;

		if (!magnitude(X509_REVOKED_get0_serialNumber(rev), &bytes, &len))
			continue;
		if (len > SERIAL_MAX) {
			refuse(r, JITRD_ERR_MALFORMED,
			       "entry %d: serial of %zu octets (RFC 5280 allows 20)", i + 1, len);
			goto cleanup;
		}
		if (len <= SMALL_SERIAL_MAX)
			small_n++;
		else
			large_n++;
	}
	if (small_n && !(idx.small = OPENSSL_malloc(small_n * sizeof(*idx.small))))
		goto nomem;
	if (large_n && !(idx.large = OPENSSL_malloc(large_n * sizeof(*idx.large))))
		goto nomem;

	for (int i = 0; i < n; i++) {
		const X509_REVOKED *rev = sk_X509_REVOKED_value(revoked, i);
		const unsigned char *bytes;
		size_t len;
		uint8_t slot = REASON_SLOT_NONE;
		char serial[2 * SERIAL_MAX + 1];

		/* Negative serials are skipped: lookups of negative serials never match. */
		if (!magnitude(X509_REVOKED_get0_serialNumber(rev), &bytes, &len))
			continue;
		serial_text(bytes, len, serial, sizeof(serial));
		for (int j = 0; j < X509_REVOKED_get_ext_count(rev); j++) {
			X509_EXTENSION *ext = X509_REVOKED_get_ext(rev, j);
			char oid[80];

			if (!X509_EXTENSION_get_critical(ext) ||
			    entry_ext_allowed(OBJ_obj2nid(X509_EXTENSION_get_object(ext))))
				continue;
			oid_text(ext, oid, sizeof(oid));
			refuse(r, JITRD_ERR_CRL_CRITICAL_EXT,
			       "entry %s: critical extension %s not understood", serial, oid);
			goto cleanup;
		}
		if (entry_reason(rev, &slot, r, serial) != JITRD_OK)
			goto cleanup;
		if (len <= SMALL_SERIAL_MAX) {
			idx.small[idx.small_count++] = small_value(bytes, len) << 8 | slot;
		} else {
			struct large_entry *e = &idx.large[idx.large_count++];

			memset(e->serial, 0, sizeof(e->serial));
			memcpy(e->serial, bytes, len);
			e->len = (uint8_t)len;
			e->reason = slot;
		}
	}
	idx.small_count = sort_small(idx.small, idx.small_count);
	idx.large_count = sort_large(idx.large, idx.large_count);
	*index = idx;
	memset(&idx, 0, sizeof(idx));
	result = JITRD_OK;
	goto cleanup;
nomem:
	refuse(r, JITRD_ERR_NOMEM, "out of memory indexing %d entries", n);
	result = JITRD_ERR_NOMEM;
cleanup:
	if (result != JITRD_OK)
		result = r->err;
	index_free(&idx);
	return result;
}

/* The scope of an issuingDistributionPoint (RFC 5280 §5.2.5): a CRL that covers only some
 * reasons, only CA or attribute certificates, or other issuers' certificates is not the
 * complete list for device certificates, so taking it as such would miss revocations.
 * onlyContainsUserCerts is fine: devices are end entities. */
static enum jitrd_err check_idp(const X509_CRL *crl, struct refusal *r)
{
	int crit = 0;
	ISSUING_DIST_POINT *idp =
	    X509_CRL_get_ext_d2i(crl, NID_issuing_distribution_point, &crit, NULL);
	const char *why = NULL;

	if (!idp) {
		if (crit == -1)
			return JITRD_OK;
		refuse(r, jitrd_openssl_failure(JITRD_ERR_MALFORMED),
		       "issuingDistributionPoint unreadable or repeated");
		return r->err;
	}
	if (idp->onlysomereasons)
		why = "onlySomeReasons";
	else if (idp->indirectCRL)
		why = "indirectCRL";
	else if (idp->onlyCA)
		why = "onlyContainsCACerts";
	else if (idp->onlyattr)
		why = "onlyContainsAttributeCerts";
	ISSUING_DIST_POINT_free(idp);
	if (!why)
		return JITRD_OK;
	refuse(r, JITRD_ERR_CRL_CRITICAL_EXT,
	       "issuingDistributionPoint restricts the CRL's scope (%s): not a complete CRL", why);
	return r->err;
}

static enum jitrd_err read_crl_number(const X509_CRL *crl, struct ca_crl *c, struct refusal *r)
{
	int crit = 0;
	ASN1_INTEGER *number = X509_CRL_get_ext_d2i(crl, NID_crl_number, &crit, NULL);
	const unsigned char *bytes;
	size_t len;
	int64_t v;

	c->info.crl_number = -1;
	if (!number) {
		if (crit == -1)
			return JITRD_OK;
		refuse(r, jitrd_openssl_failure(JITRD_ERR_MALFORMED),
		       "cRLNumber unreadable or repeated");
		return r->err;
	}
	if (!magnitude(number, &bytes, &len) || len > SERIAL_MAX) {
		ASN1_INTEGER_free(number);
		/* RFC 5280 §5.2.3: a non-negative integer of at most 20 octets */
		refuse(r, JITRD_ERR_MALFORMED, "cRLNumber negative or over 20 octets");
		return r->err;
	}
	c->has_number = true;
	memcpy(c->number, bytes, len);
	c->number_len = len;
	/* info reports it when it fits; ordering uses the full 20-octet value */
	if (ASN1_INTEGER_get_int64(&v, number) == 1)
		c->info.crl_number = v;
	ASN1_INTEGER_free(number);
	ERR_clear_error();
	return JITRD_OK;
}

/* All checks of one CRL in the order DESIGN §3.6 and the header give, then the index.
 * On JITRD_OK *out holds the indexed CRL (origin not yet set); on JITRD_ERR_CRL_EXPIRED too,
 * marked stale, with the reason in *r. Any other error: *out untouched, reason in *r. */
static enum jitrd_err accept_crl(const struct jitrd_crl_builder *b, X509_CRL *crl,
                                 struct ca_crl *out, struct refusal *r)
{
	enum jitrd_err result = JITRD_ERR_MALFORMED;
	struct ca_crl c = {0};
	AUTHORITY_KEYID *akid = NULL;
	const unsigned char *keyid = NULL;
	size_t keyid_len = 0;
	const struct jitrd_cert *ca, *first;
	size_t matches = 0;
	int crit = 0;
	bool kept = false;
	char when[JITRD_RFC3339_SIZE], at[JITRD_RFC3339_SIZE];

	akid = X509_CRL_get_ext_d2i(crl, NID_authority_key_identifier, &crit, NULL);
	if (!akid && crit != -1) {
		refuse(r, jitrd_openssl_failure(JITRD_ERR_MALFORMED),
		       "authorityKeyIdentifier unreadable or repeated");
		goto cleanup;
	}
	if (akid && akid->keyid) {
		keyid = ASN1_STRING_get0_data(akid->keyid);
		keyid_len = (size_t)ASN1_STRING_length(akid->keyid);
	}
	first = jitrd_caset_find_by_name(b->cas, X509_CRL_get_issuer(crl), keyid, keyid_len);
	if (!first) {
		refuse(r, JITRD_ERR_UNKNOWN_CA, "issuer (name%s) is not one of our CAs",
		       keyid ? " and key id" : "");
		goto cleanup;
	}
	/* Several of our CAs may carry the issuer's name (a key rollover; a CRL without key id
	 * matches each of them): the CRL belongs to the one whose key verifies it. */
	for (ca = first; ca; ca = jitrd_caset_find_by_name_next(b->cas, X509_CRL_get_issuer(crl),
	                                                        keyid, keyid_len, ca)) {
		EVP_PKEY *key = X509_get0_pubkey(jitrd_cert_x509(ca));

		if (key && X509_CRL_verify(crl, key) == 1)
			break;
		matches++;
	}
	if (!ca) {
		if (matches > 1)
			refuse(r, JITRD_ERR_CRL_SIGNATURE,
			       "signature does not verify with the key of any of our %zu CAs of "
			       "that name (first %s)",
			       matches, jitrd_cert_id(first));
		else
			refuse(r, JITRD_ERR_CRL_SIGNATURE,
			       "signature does not verify with the key of CA %s",
			       jitrd_cert_id(first));
		goto cleanup;
	}
	/* DESIGN §5.4: a delta CRL lists only changes since its base; taken as a full CRL it
	 * would "unrevoke" everything else, so it is refused loudly. */
	if (X509_CRL_get_ext_by_NID(crl, NID_delta_crl, -1) >= 0) {
		refuse(r, JITRD_ERR_CRL_DELTA,
		       "delta CRL (deltaCRLIndicator): only complete CRLs are supported");
		goto cleanup;
	}
	for (int i = 0; i < X509_CRL_get_ext_count(crl); i++) {
		X509_EXTENSION *ext = X509_CRL_get_ext(crl, i);
		char oid[80];

		if (!X509_EXTENSION_get_critical(ext) ||
		    crl_ext_allowed(OBJ_obj2nid(X509_EXTENSION_get_object(ext))))
			continue;
		oid_text(ext, oid, sizeof(oid));
		refuse(r, JITRD_ERR_CRL_CRITICAL_EXT, "critical extension %s not understood", oid);
		goto cleanup;
	}
	if (check_idp(crl, r) != JITRD_OK || read_crl_number(crl, &c, r) != JITRD_OK)
		goto cleanup;
	/* The dates are cheap and come before the index, so that a refused CRL of a million
	 * entries is not indexed first. */
	if (!jitrd_asn1_time_to_time_t(X509_CRL_get0_lastUpdate(crl), &c.info.this_update)) {
		refuse(r, JITRD_ERR_MALFORMED, "thisUpdate unreadable");
		goto cleanup;
	}
	if (X509_CRL_get0_nextUpdate(crl) &&
	    !jitrd_asn1_time_to_time_t(X509_CRL_get0_nextUpdate(crl), &c.info.next_update)) {
		refuse(r, JITRD_ERR_MALFORMED, "nextUpdate unreadable");
		goto cleanup;
	}
	jitrd_format_rfc3339(b->now, at, sizeof(at));
	if (c.info.this_update > b->now) {
		jitrd_format_rfc3339(c.info.this_update, when, sizeof(when));
		refuse(r, JITRD_ERR_CRL_NOT_YET_VALID, "thisUpdate %s is after %s", when, at);
		goto cleanup;
	}
	/* A stale CRL is no longer the whole truth, but what it lists was revoked by the CA's
	 * own signature: it is kept (and reported), so those stay revoked; lookups say stale.
	 * Without nextUpdate nobody says how long the list is good for: stale from the start. */
	c.has_next_update = X509_CRL_get0_nextUpdate(crl) != NULL;
	if (!c.has_next_update) {
		c.info.stale = true;
		refuse(r, JITRD_ERR_CRL_EXPIRED,
		       "no nextUpdate, so it cannot be judged current (kept for what it lists)");
	} else if (b->now > c.info.next_update) {
		c.info.stale = true;
		jitrd_format_rfc3339(c.info.next_update, when, sizeof(when));
		refuse(r, JITRD_ERR_CRL_EXPIRED,
		       "nextUpdate %s is before %s (kept for what it lists)", when, at);
	}
	if (build_index(crl, &c.index, r) != JITRD_OK)
		goto cleanup;
	c.ca = ca;
	snprintf(c.ca_id, sizeof(c.ca_id), "%s", jitrd_cert_id(ca));
	c.info.entries = c.index.small_count + c.index.large_count;
	*out = c;
	memset(&c, 0, sizeof(c));
	kept = true;
cleanup:
	/* a stale CRL is kept and reported: the caller gets both *out and the refusal */
	if (!kept)
		result = r->err;
	else
		result = out->info.stale ? JITRD_ERR_CRL_EXPIRED : JITRD_OK;
	AUTHORITY_KEYID_free(akid);
	ca_crl_cleanup(&c);
	ERR_clear_error();
	return result;
}

/* Newer means a higher cRLNumber (present beats absent), then a later thisUpdate; but a
 * current CRL beats a stale one whatever their numbers: the stale one is kept only so that
 * what it lists stays revoked while nothing current exists. (From a CA that numbers and dates
 * its CRLs in step, the higher number is never the only stale one, so the rules agree.) */
static bool is_newer(const struct ca_crl *a, const struct ca_crl *b)
{
	if (a->info.stale != b->info.stale)
		return !a->info.stale;
	if (a->has_number != b->has_number)
		return a->has_number;
	if (a->has_number) {
		if (a->number_len != b->number_len)
			return a->number_len > b->number_len;
		int c = memcmp(a->number, b->number, a->number_len);
		if (c != 0)
			return c > 0;
	}
	return a->info.this_update > b->info.this_update;
}

static struct ca_crl *chosen_for(struct jitrd_crl_builder *b, const struct jitrd_cert *ca)
{
	for (size_t i = 0; i < b->chosen_count; i++) {
		if (b->chosen[i].ca == ca)
			return &b->chosen[i];
	}
	return NULL;
}

/* Keeps c when it is the newest of its CA so far; older CRLs are dropped at once rather than
 * at finish, so a directory of many CRLs never holds more than one index per CA. Takes c. */
static enum jitrd_err keep_candidate(struct jitrd_crl_builder *b, const char *origin,
                                     struct ca_crl *c)
{
	enum jitrd_err result = JITRD_ERR_NOMEM;
	struct ca_crl *old = chosen_for(b, c->ca);

	if (old && !is_newer(c, old)) {
		result = JITRD_OK;
		goto cleanup;
	}
	if (!(c->origin = OPENSSL_strdup(origin)))
		goto cleanup;
	c->info.origin = c->origin;
	if (!old && b->chosen_count == b->chosen_cap) {
		size_t cap = b->chosen_cap ? 2 * b->chosen_cap : 4;
		struct ca_crl *grown = OPENSSL_realloc(b->chosen, cap * sizeof(*grown));

		if (!grown)
			goto cleanup;
		b->chosen = grown;
		b->chosen_cap = cap;
	}
	if (old)
		ca_crl_cleanup(old);
	else
		old = &b->chosen[b->chosen_count++];
	*old = *c;
	memset(c, 0, sizeof(*c));
	result = JITRD_OK;
cleanup:
	ca_crl_cleanup(c);
	return result;
}

static void note(struct file_state *st, enum jitrd_err err, const char *label, const X509_CRL *crl,
                 const char *text)
{
	char issuer[160] = "";

	if (err == JITRD_ERR_NOMEM) {
		st->first_err = JITRD_ERR_NOMEM;
		snprintf(st->first_reason, sizeof(st->first_reason), "out of memory");
		return;
	}
	if (st->first_err != JITRD_OK)
		return;
	/* The issuer name is the CRL's, not ours: quoted before it reaches a message. */
	if (crl)
		jitrd_name_for_message(X509_CRL_get_issuer(crl), issuer, sizeof(issuer));
	st->first_err = err;
	snprintf(st->first_reason, sizeof(st->first_reason), "%s%s%s%s: %s", label,
	         issuer[0] ? " (issuer " : "", issuer, issuer[0] ? ")" : "", text);
}

/* Checks and keeps one parsed CRL; always frees it. Only NOMEM stops the file. */
static enum jitrd_err take_crl(struct jitrd_crl_builder *b, const char *origin, X509_CRL *crl,
                               const char *label, struct file_state *st)
{
	struct refusal r = {JITRD_OK, ""};
	struct ca_crl c;
	enum jitrd_err err;

	st->seen++;
	err = accept_crl(b, crl, &c, &r);
	if (err == JITRD_OK || err == JITRD_ERR_CRL_EXPIRED) {
		/* a stale CRL is kept too (see accept_crl), but only a current one counts as
		 * accepted in the report */
		enum jitrd_err kept = keep_candidate(b, origin, &c);

		if (kept != JITRD_OK) {
			err = kept;
			snprintf(r.text, sizeof(r.text), "out of memory");
		} else if (err == JITRD_OK) {
			st->accepted++;
		}
	}
	if (err != JITRD_OK)
		note(st, err, label, crl, r.text);
	X509_CRL_free(crl);
	return err;
}

static void add_der(struct jitrd_crl_builder *b, const char *origin, const unsigned char *bytes,
                    size_t len, struct file_state *st)
{
	const unsigned char *p = bytes;
	X509_CRL *crl = d2i_X509_CRL(NULL, &p, (long)len);

	if (!crl) {
		st->seen++;
		note(st, jitrd_openssl_failure(JITRD_ERR_MALFORMED), "CRL", NULL,
		     "not a readable DER CRL (truncated or corrupt)");
		return;
	}
	if (p != bytes + len) {
		st->seen++;
		note(st, JITRD_ERR_MALFORMED, "CRL", crl, "bytes after the end of the DER CRL");
		X509_CRL_free(crl);
		return;
	}
	(void)take_crl(b, origin, crl, "CRL", st);
}

/* Every "X509 CRL" block of a PEM file; other PEM blocks and text between blocks are skipped,
 * as OpenSSL's reader does. A bad block is reported and the next one still read. */
static void add_pem(struct jitrd_crl_builder *b, const char *origin, const unsigned char *bytes,
                    size_t len, struct file_state *st)
{
	BIO *bio = BIO_new_mem_buf(bytes, (int)len);

	if (!bio) {
		note(st, JITRD_ERR_NOMEM, "", NULL, "");
		return;
	}
	for (;;) {
		long before = (long)BIO_pending(bio);
		X509_CRL *crl;
		char label[32];
		unsigned long e;

		snprintf(label, sizeof(label), "CRL #%zu", st->seen + 1);
		ERR_clear_error();
		crl = PEM_read_bio_X509_CRL(bio, NULL, jitrd_pem_no_password, NULL);
		if (crl) {
			if (take_crl(b, origin, crl, label, st) == JITRD_ERR_NOMEM)
				break;
			continue;
		}
		e = ERR_peek_last_error();
		/* "no start line" is how the reader says no further block: a clean end */
		if (ERR_GET_LIB(e) == ERR_LIB_PEM && ERR_GET_REASON(e) == PEM_R_NO_START_LINE)
			break;
		st->seen++;
		note(st, jitrd_openssl_failure(JITRD_ERR_MALFORMED), label, NULL,
		     "not a readable PEM CRL (truncated, bad base64 or bad DER)");
		if (st->first_err == JITRD_ERR_NOMEM)
			break;
		/* a reader that consumed nothing would loop forever */
		if ((long)BIO_pending(bio) <= 0 || (long)BIO_pending(bio) >= before)
			break;
	}
	BIO_free(bio);
	if (st->seen == 0)
		note(st, JITRD_ERR_MALFORMED, "file", NULL,
		     "no \"X509 CRL\" PEM block, and not DER either");
}

struct jitrd_crl_builder *jitrd_crl_builder_new(const struct jitrd_caset *cas, time_t now)
{
	struct jitrd_crl_builder *b;

	if (!cas)
		return NULL;
	b = OPENSSL_zalloc(sizeof(*b));
	if (!b)
		return NULL;
	b->cas = cas;
	b->now = now;
	return b;
}

void jitrd_crl_builder_free(struct jitrd_crl_builder *b)
{
	if (!b)
		return;
	for (size_t i = 0; i < b->chosen_count; i++)
		ca_crl_cleanup(&b->chosen[i]);
	OPENSSL_free(b->chosen);
	for (size_t i = 0; i < b->file_count; i++) {
		OPENSSL_free(b->files[i].origin);
		OPENSSL_free(b->files[i].reason);
	}
	OPENSSL_free(b->files);
	OPENSSL_free(b);
}

static struct file_record *new_file_record(struct jitrd_crl_builder *b, const char *origin)
{
	struct file_record *rec;

	if (b->file_count == b->file_cap) {
		size_t cap = b->file_cap ? 2 * b->file_cap : 8;
		struct file_record *grown = OPENSSL_realloc(b->files, cap * sizeof(*grown));

		if (!grown)
			return NULL;
		b->files = grown;
		b->file_cap = cap;
	}
	rec = &b->files[b->file_count];
	memset(rec, 0, sizeof(*rec));
	if (!(rec->origin = OPENSSL_strdup(origin)))
		return NULL;
	rec->report.origin = rec->origin;
	rec->report.result = JITRD_ERR_NOMEM;
	rec->report.reason = "out of memory";
	b->file_count++;
	return rec;
}

enum jitrd_err jitrd_crl_builder_add(struct jitrd_crl_builder *b, const char *origin,
                                     const unsigned char *bytes, size_t len,
                                     struct jitrd_diag *diag)
{
	struct file_state st = {0, 0, JITRD_OK, ""};
	struct file_record *rec;

	if (!b || !origin || (!bytes && len > 0) || b->finished) {
		jitrd_diag_set(diag, "%s: CRL builder called without bytes, or after finish",
		               origin ? origin : "(no origin)");
		return JITRD_ERR_INVALID_ARG;
	}
	if (!(rec = new_file_record(b, origin))) {
		jitrd_diag_set(diag, "%s: out of memory", origin);
		return JITRD_ERR_NOMEM;
	}
	if (len == 0)
		note(&st, JITRD_ERR_MALFORMED, "file", NULL, "empty file");
	else if (len > JITRD_CRL_MAX_FILE)
		note(&st, JITRD_ERR_TOO_LARGE, "file", NULL,
		     "over the 512 MiB limit for a CRL file");
	else if (bytes[0] == 0x30) /* a DER SEQUENCE; PEM starts with text */
		add_der(b, origin, bytes, len, &st);
	else
		add_pem(b, origin, bytes, len, &st);
	ERR_clear_error();

	rec->report.crls_accepted = st.accepted;
	rec->report.result = st.first_err;
	if (st.first_err == JITRD_OK) {
		rec->report.reason = "";
		return JITRD_OK;
	}
	if ((rec->reason = OPENSSL_strdup(st.first_reason)))
		rec->report.reason = rec->reason;
	jitrd_diag_set(diag, "%s: %s", origin, st.first_reason);
	return st.first_err;
}

enum jitrd_err jitrd_crl_builder_note_failure(struct jitrd_crl_builder *b, const char *origin,
                                              enum jitrd_err err, const char *reason)
{
	struct file_record *rec;
	char *copy;

	if (!b || !origin || err == JITRD_OK || b->finished)
		return JITRD_ERR_INVALID_ARG;
	if (!reason)
		reason = jitrd_strerror(err);
	/* copied first, so that a failure leaves no half-made record behind */
	if (!(copy = OPENSSL_strdup(reason)))
		return JITRD_ERR_NOMEM;
	if (!(rec = new_file_record(b, origin))) {
		OPENSSL_free(copy);
		return JITRD_ERR_NOMEM;
	}
	rec->reason = copy;
	rec->report.reason = copy;
	rec->report.result = err;
	rec->report.crls_accepted = 0;
	return JITRD_OK;
}

size_t jitrd_crl_builder_file_count(const struct jitrd_crl_builder *b)
{
	return b ? b->file_count : 0;
}

const struct jitrd_crl_file_report *jitrd_crl_builder_file_at(const struct jitrd_crl_builder *b,
                                                              size_t i)
{
	if (!b || i >= b->file_count)
		return NULL;
	return &b->files[i].report;
}

enum jitrd_err jitrd_crl_builder_finish(struct jitrd_crl_builder *b, struct jitrd_crl_store **out)
{
	struct jitrd_crl_store *store;

	if (!b || !out || b->finished)
		return JITRD_ERR_INVALID_ARG;
	store = OPENSSL_zalloc(sizeof(*store));
	if (!store)
		return JITRD_ERR_NOMEM;
	/* The indexes move into the store rather than being copied: at a million entries a
	 * copy would double the memory at the moment of the swap. */
	store->cas = b->chosen;
	store->count = b->chosen_count;
	b->chosen = NULL;
	b->chosen_count = 0;
	b->chosen_cap = 0;
	b->finished = true;
	*out = store;
	return JITRD_OK;
}

void jitrd_crl_store_free(struct jitrd_crl_store *store)
{
	if (!store)
		return;
	for (size_t i = 0; i < store->count; i++)
		ca_crl_cleanup(&store->cas[i]);
	OPENSSL_free(store->cas);
	OPENSSL_free(store);
}

/* The same CA object (the usual case: both come from one caset) or a certificate with the
 * same DER (a caller's own copy). */
static const struct ca_crl *store_find(const struct jitrd_crl_store *store,
                                       const struct jitrd_cert *ca)
{
	const char *id;

	for (size_t i = 0; i < store->count; i++) {
		if (store->cas[i].ca == ca)
			return &store->cas[i];
	}
	id = jitrd_cert_id(ca);
	for (size_t i = 0; id && i < store->count; i++) {
		if (strcmp(store->cas[i].ca_id, id) == 0)
			return &store->cas[i];
	}
	return NULL;
}

const struct jitrd_crl_info *jitrd_crl_store_info(const struct jitrd_crl_store *store,
                                                  const struct jitrd_cert *ca)
{
	const struct ca_crl *c;

	if (!store || !ca || !(c = store_find(store, ca)))
		return NULL;
	return &c->info;
}

/* The reason slot of serial in index, or false when it is not listed. */
static bool index_find(const struct crl_index *index, const unsigned char *bytes, size_t len,
                       uint8_t *slot)
{
	if (len <= SMALL_SERIAL_MAX) {
		uint64_t value = small_value(bytes, len);
		size_t lo = 0, hi = index->small_count;

		/* first key >= value << 8, i.e. the entry of value if there is one */
		while (lo < hi) {
			size_t mid = lo + (hi - lo) / 2;

			if (index->small[mid] >> 8 < value)
				lo = mid + 1;
			else
				hi = mid;
		}
		if (lo == index->small_count || index->small[lo] >> 8 != value)
			return false;
		*slot = (uint8_t)index->small[lo];
		return true;
	}
	if (len > SERIAL_MAX)
		return false; /* CRLs listing such serials are refused, so it cannot be listed */

	struct large_entry key = {{0}, (uint8_t)len, 0};
	size_t lo = 0, hi = index->large_count;

	memcpy(key.serial, bytes, len);
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = large_key_cmp(&index->large[mid], &key);

		if (c == 0) {
			*slot = index->large[mid].reason;
			return true;
		}
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return false;
}

enum jitrd_err jitrd_crl_lookup(const struct jitrd_crl_store *store, const struct jitrd_cert *ca,
                                const ASN1_INTEGER *serial, time_t now,
                                struct jitrd_crl_answer *out)
{
	const struct ca_crl *c;
	const unsigned char *bytes;
	size_t len;
	uint8_t slot;

	if (!store || !ca || !serial || !out)
		return JITRD_ERR_INVALID_ARG;
	if (!(c = store_find(store, ca)))
		return JITRD_ERR_NO_CRL;
	/* the snapshot was judged when it was built; a long-lived one goes stale */
	out->stale = !c->has_next_update || now > c->info.next_update;
	if (!magnitude(serial, &bytes, &len) || !index_find(&c->index, bytes, len, &slot)) {
		out->status = JITRD_CRL_NOT_LISTED;
		out->reason = JITRD_CRL_REASON_NONE;
		return JITRD_OK;
	}
	out->status = status_of(slot);
	out->reason = slot == REASON_SLOT_NONE ? JITRD_CRL_REASON_NONE : (int)slot;
	return JITRD_OK;
}

const char *jitrd_crl_reason_name(int reason)
{
	/* RFC 5280 §5.3.1 CRLReason; 7 is unused */
	static const char *const names[] = {
	    [0] = "unspecified",        [1] = "keyCompromise", [2] = "cACompromise",
	    [3] = "affiliationChanged", [4] = "superseded",    [5] = "cessationOfOperation",
	    [6] = "certificateHold",    [8] = "removeFromCRL", [9] = "privilegeWithdrawn",
	    [10] = "aACompromise",
	};

	if (reason == JITRD_CRL_REASON_NONE)
		return "unspecified";
	if (reason < 0 || (size_t)reason >= sizeof(names) / sizeof(names[0]) || !names[reason])
		return "unknown";
	return names[reason];
}
