/* crl.c — the CRL store (DESIGN §5.4): each CRL is verified against one of our CAs, its
 * revocations merged into one compact sorted index per issuer (name + key), and per partition
 * (issuingDistributionPoint) the authority — the newest complete CRL — and its delta kept for
 * holds and freshness. Pure: bytes, floors and `now` in; no I/O, no clock, no logging;
 * lookups never touch OpenSSL CRL objects. */
#include "jitrd/crl.h"

#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
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
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "jitrd/crl_der.h"
#include "jitrd/text.h"
#include "x509_util.h"

#define SERIAL_MAX       20   /* RFC 5280 §4.1.2.2 and §5.2.3: at most 20 octets */
#define SMALL_SERIAL_MAX 7    /* such serials share one uint64 with their reason */
#define REASON_SLOT_NONE 0xff /* the entry has no reasonCode extension */
#define REASON_HOLD      6    /* certificateHold */
#define REASON_REMOVE    8    /* removeFromCRL */
#define REASON_MAX       10   /* aACompromise, the last code RFC 5280 §5.3.1 defines */
#define KEY_SIZE         32   /* SHA-256: issuer identities and partition keys */
#define FLOORS_MAGIC     "jitrd-crl-numbers 1"

/*
 * An index of serials. Memory is what matters at 1,000,000 entries:
 * - serials of up to 7 octets (`openssl ca` numbers, sequential serials) are packed with their
 *   reason slot into one uint64, value << 8 | slot: 8 bytes per entry;
 * - longer ones (random 16-20 octet serials) take 22 bytes: the magnitude left-aligned and
 *   zero-padded, its length and the reason slot (no padding: every member is a byte).
 * Both arrays are sorted and hold each serial once; lookups are binary searches.
 * Each issuer has one such index of revocations (the union over all its CRLs); each kept CRL
 * has a small one of its holds and removeFromCRL entries, which are not sticky.
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

/* One kept CRL: what ranks it, how fresh it is, and its holds. */
struct crl_meta {
	bool present;
	bool has_number;
	unsigned char number[SERIAL_MAX]; /* cRLNumber magnitude, compared as a big integer */
	size_t number_len;
	unsigned char base[SERIAL_MAX]; /* a delta's BaseCRLNumber */
	size_t base_len;
	bool has_next_update;
	bool stale; /* at the builder's now */
	time_t this_update;
	time_t next_update;
	char *origin;
	size_t file;    /* its file record */
	size_t entries; /* every entry it lists */
	struct crl_index holds;
};

/* One scope of an issuer's CRLs: an issuingDistributionPoint name, or the complete scope. */
struct partition {
	unsigned char *dp_der; /* DER of the distributionPoint's fullName; NULL: complete */
	size_t dp_len;
	GENERAL_NAMES *names; /* the same, decoded, to match a certificate's CDP */
	unsigned char key[KEY_SIZE];
	char text[160];            /* the first name, for messages; "" for the complete scope */
	struct crl_meta authority; /* the newest complete CRL at or above the floor */
	struct crl_meta refused;   /* the newest below the floor (reported when no authority) */
	struct crl_meta delta;     /* the delta CRL with the highest number */
	bool has_floor;
	unsigned char floor[SERIAL_MAX];
	size_t floor_len;
	bool delta_applies; /* set by finish */
};

/* An issuer identity: subject name and public key (RFC 5280 §6.3.3 (f) verifies a CRL with
 * the key of the certificate's issuer; a renewed CA certificate with the same name and key is
 * the same issuer, so it shares the CRLs). */
struct issuer {
	unsigned char key[KEY_SIZE];
	const struct jitrd_cert *first_ca;
	struct crl_index revoked;
	struct partition *parts;
	size_t part_count;
	size_t part_cap;
	struct jitrd_crl_info info;
	bool has_info;
};

/* Every CA certificate of the set and its issuer. */
struct ca_ref {
	const struct jitrd_cert *ca;
	char ca_id[65]; /* matches a caller's own jitrd_cert of the same CA */
	size_t issuer;
};

struct file_record {
	struct jitrd_crl_file_report report; /* points into origin and reason below */
	char *origin;
	char *reason;
};

struct jitrd_crl_builder {
	const struct jitrd_caset *cas;
	time_t now;
	bool finished; /* finish moved the issuers into a store */
	bool added;
	bool setup_failed; /* out of memory while mapping the CAs */
	const struct jitrd_crl_floors *floors;
	struct issuer *issuers;
	size_t issuer_count;
	struct ca_ref *refs;
	size_t ref_count;
	struct file_record *files;
	size_t file_count;
	size_t file_cap;
};

struct jitrd_crl_store {
	struct issuer *issuers;
	size_t issuer_count;
	struct ca_ref *refs;
	size_t ref_count;
	struct jitrd_crl_rollback *rollbacks;
	size_t rollback_count;
};

struct floor_entry {
	unsigned char issuer[KEY_SIZE];
	unsigned char part[KEY_SIZE];
	bool complete; /* the complete scope: part unused */
	uint8_t len;
	unsigned char number[SERIAL_MAX];
};

struct jitrd_crl_floors {
	struct floor_entry *e;
	size_t count;
	size_t cap;
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
	/* RFC 5280 §5.2 extensions we handle: the issuer's key id and name, the CRL number, the
	 * distribution point (partitions, checked separately) and the delta CRL indicator
	 * (§5.2.4); freshestCRL and authorityInfoAccess must not be critical. */
	return nid == NID_authority_key_identifier || nid == NID_crl_number ||
	       nid == NID_issuing_distribution_point || nid == NID_issuer_alt_name ||
	       nid == NID_delta_crl;
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

/* The text of an extension's OID for a message. */
static void ext_oid_text(const struct jitrd_crl_der_ext *ext, char *out, size_t out_size)
{
	const unsigned char *q = ext->oid;
	ASN1_OBJECT *obj = d2i_ASN1_OBJECT(NULL, &q, (long)ext->oid_len);

	if (!obj || OBJ_obj2txt(out, (int)out_size, obj, 1) <= 0)
		snprintf(out, out_size, "(unreadable OID)");
	ASN1_OBJECT_free(obj);
	ERR_clear_error();
}

/* The reason slot of one entry from its extensions, which the parser has checked for form:
 * a critical extension we do not understand refuses the CRL (RFC 5280 §5.3), and so does a
 * reasonCode that is unreadable or repeated. RFC 5280 §5.3.1 codes are kept; a code outside
 * the table is still a revocation, kept as unspecified (0). reason is reused between calls. */
static enum jitrd_err entry_reason(const struct jitrd_crl_der_entry *entry,
                                   ASN1_ENUMERATED **reason, uint8_t *slot, struct refusal *r,
                                   const char *serial)
{
	const unsigned char *p = entry->extensions;
	const unsigned char *end = p + entry->extensions_len;
	const unsigned char *reason_value = NULL;
	size_t reason_len = 0, reasons = 0;
	struct jitrd_crl_der_ext ext;
	bool done = false;
	long code;

	*slot = REASON_SLOT_NONE;
	while (p) {
		enum jitrd_err err = jitrd_crl_der_next_ext(&p, end, &ext, &done);
		char oid[80];

		if (err != JITRD_OK) {
			refuse(r, err, "entry %s: extensions unreadable", serial);
			return r->err;
		}
		if (done)
			break;
		if (ext.nid == NID_crl_reason) {
			reasons++;
			reason_value = ext.value;
			reason_len = ext.value_len;
		}
		if (!ext.critical || entry_ext_allowed(ext.nid))
			continue;
		ext_oid_text(&ext, oid, sizeof(oid));
		refuse(r, JITRD_ERR_CRL_CRITICAL_EXT,
		       "entry %s: critical extension %s not understood", serial, oid);
		return r->err;
	}
	if (reasons == 0)
		return JITRD_OK;
	/* as X509V3_get_d2i reads it: once, an ENUMERATED in the extnValue */
	if (reasons > 1 || !d2i_ASN1_ENUMERATED(reason, &reason_value, (long)reason_len)) {
		refuse(r, jitrd_openssl_failure(JITRD_ERR_MALFORMED),
		       "entry %s: reasonCode unreadable or repeated", serial);
		ERR_clear_error();
		return r->err;
	}
	/* -1 for a value that does not fit a long: not in the table, so unspecified */
	code = ASN1_ENUMERATED_get(*reason);
	*slot = (code >= 0 && code <= REASON_MAX && code != 7) ? (uint8_t)code : 0;
	return JITRD_OK;
}

/* Walks the revoked list once: checks entry extensions, and copies serial and reason into
 * index, whose arrays the parser's count of serial lengths sizes exactly (at a million
 * entries a grown array would cost tens of megabytes at peak). On error index is left
 * empty. */
static enum jitrd_err build_index(const struct jitrd_crl_der *crl, struct crl_index *index,
                                  struct refusal *r)
{
	struct jitrd_crl_der_cursor cur;
	struct jitrd_crl_der_entry entry;
	ASN1_ENUMERATED *reason = NULL;
	size_t small_n = 0, large_n = 0, n = 0;
	struct crl_index idx = {0};
	enum jitrd_err result = JITRD_ERR_MALFORMED, err;
	bool done = false;

	jitrd_crl_der_cursor_init(&cur, crl);
	for (size_t i = 0; i <= SERIAL_MAX; i++) {
		if (i <= SMALL_SERIAL_MAX)
			small_n += crl->serial_octets[i];
		else
			large_n += crl->serial_octets[i];
	}
	if (small_n && !(idx.small = OPENSSL_malloc(small_n * sizeof(*idx.small))))
		goto nomem;
	if (large_n && !(idx.large = OPENSSL_malloc(large_n * sizeof(*idx.large))))
		goto nomem;

	for (;;) {
		const unsigned char *bytes;
		size_t len;
		uint8_t slot = REASON_SLOT_NONE;
		char serial[2 * SERIAL_MAX + 1];

		if ((err = jitrd_crl_der_next_entry(&cur, &entry, &done)) != JITRD_OK) {
			refuse(r, err, "entry %zu unreadable", n + 1);
			goto cleanup;
		}
		if (done)
			break;
		n++;
		/* Negative serials are skipped: lookups of negative serials never match. */
		if (!magnitude(entry.serial, &bytes, &len))
			continue;
		if (len > SERIAL_MAX) {
			refuse(r, JITRD_ERR_MALFORMED,
			       "entry %zu: serial of %zu octets (RFC 5280 allows 20)", n, len);
			goto cleanup;
		}
		serial_text(bytes, len, serial, sizeof(serial));
		if (entry.extensions && entry_reason(&entry, &reason, &slot, r, serial) != JITRD_OK)
			goto cleanup;
		if (len <= SMALL_SERIAL_MAX) {
			if (idx.small_count == small_n)
				goto miscounted;
			idx.small[idx.small_count++] = small_value(bytes, len) << 8 | slot;
		} else {
			struct large_entry *e;

			if (idx.large_count == large_n)
				goto miscounted;
			e = &idx.large[idx.large_count++];
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
miscounted:
	/* the parser counted these very entries: only a bug gets here */
	refuse(r, JITRD_ERR_MALFORMED, "entry %zu: entries changed between two walks", n);
	goto cleanup;
nomem:
	refuse(r, JITRD_ERR_NOMEM, "out of memory indexing %zu entries", crl->entry_count);
	result = JITRD_ERR_NOMEM;
cleanup:
	if (result != JITRD_OK)
		result = r->err;
	ASN1_ENUMERATED_free(reason);
	jitrd_crl_der_cursor_cleanup(&cur);
	index_free(&idx);
	return result;
}

static bool index_empty(const struct crl_index *index)
{
	return index->small_count == 0 && index->large_count == 0;
}

static void meta_cleanup(struct crl_meta *m)
{
	OPENSSL_free(m->origin);
	index_free(&m->holds);
	memset(m, 0, sizeof(*m));
}

static void partition_cleanup(struct partition *p)
{
	OPENSSL_free(p->dp_der);
	GENERAL_NAMES_free(p->names);
	meta_cleanup(&p->authority);
	meta_cleanup(&p->refused);
	meta_cleanup(&p->delta);
	memset(p, 0, sizeof(*p));
}

static void issuer_cleanup(struct issuer *is)
{
	index_free(&is->revoked);
	for (size_t i = 0; i < is->part_count; i++)
		partition_cleanup(&is->parts[i]);
	OPENSSL_free(is->parts);
	memset(is, 0, sizeof(*is));
}

static bool is_hold_slot(uint8_t slot)
{
	return slot == REASON_HOLD || slot == REASON_REMOVE;
}

/* Moves the holds and removeFromCRL entries of index into *holds (both stay sorted): they
 * belong to one CRL and are not sticky, while the rest are revocations for good. */
static enum jitrd_err split_holds(struct crl_index *index, struct crl_index *holds)
{
	size_t ns = 0, nl = 0, keep;
	struct crl_index h = {0};

	for (size_t i = 0; i < index->small_count; i++)
		ns += is_hold_slot((uint8_t)index->small[i]);
	for (size_t i = 0; i < index->large_count; i++)
		nl += is_hold_slot(index->large[i].reason);
	if (ns && !(h.small = OPENSSL_malloc(ns * sizeof(*h.small))))
		return JITRD_ERR_NOMEM;
	if (nl && !(h.large = OPENSSL_malloc(nl * sizeof(*h.large)))) {
		index_free(&h);
		return JITRD_ERR_NOMEM;
	}
	keep = 0;
	for (size_t i = 0; i < index->small_count; i++) {
		if (is_hold_slot((uint8_t)index->small[i]))
			h.small[h.small_count++] = index->small[i];
		else
			index->small[keep++] = index->small[i];
	}
	index->small_count = keep;
	keep = 0;
	for (size_t i = 0; i < index->large_count; i++) {
		if (is_hold_slot(index->large[i].reason))
			h.large[h.large_count++] = index->large[i];
		else
			index->large[keep++] = index->large[i];
	}
	index->large_count = keep;
	*holds = h;
	return JITRD_OK;
}

/* dst becomes the union of dst and src, one entry per serial (the strongest); src is consumed
 * either way. The first CRL of an issuer moves in without a copy, so one CRL of a million
 * entries costs what it did. */
static enum jitrd_err merge_revoked(struct crl_index *dst, struct crl_index *src)
{
	struct crl_index m = {0};
	size_t i = 0, j = 0;

	if (index_empty(dst)) {
		index_free(dst);
		*dst = *src;
		memset(src, 0, sizeof(*src));
		return JITRD_OK;
	}
	if (index_empty(src)) {
		index_free(src);
		return JITRD_OK;
	}
	if (dst->small_count + src->small_count &&
	    !(m.small = OPENSSL_malloc((dst->small_count + src->small_count) * sizeof(*m.small))))
		goto nomem;
	if (dst->large_count + src->large_count &&
	    !(m.large = OPENSSL_malloc((dst->large_count + src->large_count) * sizeof(*m.large))))
		goto nomem;
	while (i < dst->small_count || j < src->small_count) {
		uint64_t x;

		if (j == src->small_count ||
		    (i < dst->small_count && dst->small[i] >> 8 < src->small[j] >> 8)) {
			x = dst->small[i++];
		} else if (i == dst->small_count || src->small[j] >> 8 < dst->small[i] >> 8) {
			x = src->small[j++];
		} else {
			x = strength((uint8_t)src->small[j]) > strength((uint8_t)dst->small[i])
			        ? src->small[j]
			        : dst->small[i];
			i++;
			j++;
		}
		m.small[m.small_count++] = x;
	}
	i = j = 0;
	while (i < dst->large_count || j < src->large_count) {
		struct large_entry x;
		int c = i == dst->large_count   ? 1
		        : j == src->large_count ? -1
		                                : large_key_cmp(&dst->large[i], &src->large[j]);

		if (c < 0) {
			x = dst->large[i++];
		} else if (c > 0) {
			x = src->large[j++];
		} else {
			x = strength(src->large[j].reason) > strength(dst->large[i].reason)
			        ? src->large[j]
			        : dst->large[i];
			i++;
			j++;
		}
		m.large[m.large_count++] = x;
	}
	/* the arrays were sized for no overlap; successive CRLs of one CA mostly overlap */
	if (m.small_count && m.small_count < dst->small_count + src->small_count) {
		uint64_t *fit = OPENSSL_realloc(m.small, m.small_count * sizeof(*m.small));

		if (fit)
			m.small = fit;
	}
	if (m.large_count && m.large_count < dst->large_count + src->large_count) {
		struct large_entry *fit =
		    OPENSSL_realloc(m.large, m.large_count * sizeof(*m.large));

		if (fit)
			m.large = fit;
	}
	index_free(dst);
	index_free(src);
	*dst = m;
	return JITRD_OK;
nomem:
	index_free(&m);
	index_free(src);
	return JITRD_ERR_NOMEM;
}

/* -1, 0, 1 as a < b, where an absent number ranks below every present one. */
static int number_cmp(bool a_has, const unsigned char *a, size_t a_len, bool b_has,
                      const unsigned char *b, size_t b_len)
{
	int c;

	if (a_has != b_has)
		return a_has ? 1 : -1;
	if (!a_has)
		return 0;
	if (a_len != b_len)
		return a_len < b_len ? -1 : 1;
	c = a_len ? memcmp(a, b, a_len) : 0;
	return (c > 0) - (c < 0);
}

/* RFC 5280 §5.2.3: the CRL number increases with each CRL of a scope, so the highest is the
 * issuer's latest word, whether or not it has expired; thisUpdate breaks ties, and orders
 * CRLs without a number (which rank below numbered ones). */
static bool is_newer(const struct crl_meta *a, const struct crl_meta *b)
{
	int c = number_cmp(a->has_number, a->number, a->number_len, b->has_number, b->number,
	                   b->number_len);

	if (c != 0)
		return c > 0;
	return a->this_update > b->this_update;
}

/* The number as decimal for a message ("none" without one). */
static void number_text(bool has, const unsigned char *n, size_t len, char *out, size_t size)
{
	BIGNUM *bn;
	char *dec = NULL;

	if (!has) {
		snprintf(out, size, "none");
		return;
	}
	bn = BN_bin2bn(n, (int)len, NULL);
	if (bn && (dec = BN_bn2dec(bn)) != NULL)
		snprintf(out, size, "%s", dec);
	else
		serial_text(n, len, out, size);
	OPENSSL_free(dec);
	BN_free(bn);
	ERR_clear_error();
}

static bool sha256(const unsigned char *a, size_t a_len, const unsigned char *b, size_t b_len,
                   unsigned char out[KEY_SIZE])
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	unsigned int n = 0;
	bool ok = ctx && EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) == 1 &&
	          EVP_DigestUpdate(ctx, a, a_len) == 1 &&
	          (b_len == 0 || EVP_DigestUpdate(ctx, b, b_len) == 1) &&
	          EVP_DigestFinal_ex(ctx, out, &n) == 1 && n == KEY_SIZE;

	EVP_MD_CTX_free(ctx);
	ERR_clear_error();
	return ok;
}

/* The issuer identity of a CA certificate: its subject name and public key. */
static bool issuer_key(const struct jitrd_cert *ca, unsigned char out[KEY_SIZE])
{
	const unsigned char *name_der = NULL;
	size_t name_len = 0;
	const ASN1_BIT_STRING *bits = X509_get0_pubkey_bitstr(jitrd_cert_x509(ca));

	if (X509_NAME_get0_der((X509_NAME *)jitrd_cert_subject(ca), &name_der, &name_len) != 1 ||
	    !bits)
		return false;
	return sha256(name_der, name_len, ASN1_STRING_get0_data(bits),
	              (size_t)ASN1_STRING_length(bits), out);
}

static struct issuer *issuer_of(const struct ca_ref *refs, size_t ref_count, struct issuer *issuers,
                                const struct jitrd_cert *ca)
{
	for (size_t i = 0; i < ref_count; i++) {
		if (refs[i].ca == ca)
			return &issuers[refs[i].issuer];
	}
	return NULL;
}

/* Maps every CA of the set to its issuer identity; CAs of one name and key share one. */
static bool map_issuers(struct jitrd_crl_builder *b)
{
	size_t n = jitrd_caset_count(b->cas);

	if (n == 0)
		return true;
	b->refs = OPENSSL_zalloc(n * sizeof(*b->refs));
	b->issuers = OPENSSL_zalloc(n * sizeof(*b->issuers));
	if (!b->refs || !b->issuers)
		return false;
	for (size_t i = 0; i < n; i++) {
		const struct jitrd_cert *ca = jitrd_caset_at(b->cas, i);
		unsigned char key[KEY_SIZE];
		size_t k = 0;

		if (!issuer_key(ca, key))
			return false;
		while (k < b->issuer_count && memcmp(b->issuers[k].key, key, KEY_SIZE) != 0)
			k++;
		if (k == b->issuer_count) {
			memcpy(b->issuers[k].key, key, KEY_SIZE);
			b->issuers[k].first_ca = ca;
			b->issuer_count++;
		}
		b->refs[i].ca = ca;
		b->refs[i].issuer = k;
		snprintf(b->refs[i].ca_id, sizeof(b->refs[i].ca_id), "%s", jitrd_cert_id(ca));
		b->ref_count++;
	}
	return true;
}

static const struct floor_entry *floor_find(const struct jitrd_crl_floors *floors,
                                            const unsigned char issuer[KEY_SIZE], bool complete,
                                            const unsigned char part[KEY_SIZE])
{
	for (size_t i = 0; floors && i < floors->count; i++) {
		const struct floor_entry *e = &floors->e[i];

		if (memcmp(e->issuer, issuer, KEY_SIZE) == 0 && e->complete == complete &&
		    (complete || memcmp(e->part, part, KEY_SIZE) == 0))
			return e;
	}
	return NULL;
}

/* What the issuingDistributionPoint of one CRL says of its scope (RFC 5280 §5.2.5). */
struct scope {
	unsigned char *dp_der; /* fullName DER; NULL: the complete scope */
	size_t dp_len;
	char text[160];
};

/* A CRL that covers only some reasons, only CA or attribute certificates, or other issuers'
 * certificates (indirect) is not the list for device certificates, so it is refused rather
 * than taken for one. onlyContainsUserCerts is fine: devices are end entities. A
 * distribution point name makes the CRL a partition: it covers only the certificates whose
 * CRL Distribution Points name it (§6.3.3 (b)(2)(i)); only fullName is supported. */
static enum jitrd_err read_scope(const struct jitrd_crl_der *crl, struct scope *s,
                                 struct refusal *r)
{
	int crit = 0;
	ISSUING_DIST_POINT *idp =
	    X509V3_get_d2i(crl->extensions, NID_issuing_distribution_point, &crit, NULL);
	const char *why = NULL;
	unsigned char *der = NULL;
	int len;

	memset(s, 0, sizeof(*s));
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
	else if (idp->distpoint && idp->distpoint->type != 0)
		why = "nameRelativeToCRLIssuer";
	if (why) {
		ISSUING_DIST_POINT_free(idp);
		refuse(r, JITRD_ERR_CRL_CRITICAL_EXT,
		       "issuingDistributionPoint restricts the CRL's scope (%s): not supported",
		       why);
		return r->err;
	}
	if (idp->distpoint && sk_GENERAL_NAME_num(idp->distpoint->name.fullname) > 0) {
		GENERAL_NAME *first = sk_GENERAL_NAME_value(idp->distpoint->name.fullname, 0);
		int type;
		const ASN1_STRING *value = GENERAL_NAME_get0_value(first, &type);

		len = i2d_GENERAL_NAMES(idp->distpoint->name.fullname, &der);
		if (len <= 0) {
			ISSUING_DIST_POINT_free(idp);
			refuse(r, jitrd_openssl_failure(JITRD_ERR_MALFORMED),
			       "issuingDistributionPoint name unreadable");
			return r->err;
		}
		if (type == GEN_URI || type == GEN_DNS || type == GEN_EMAIL)
			jitrd_quote(s->text, sizeof(s->text),
			            (const char *)ASN1_STRING_get0_data(value),
			            (size_t)ASN1_STRING_length(value));
		else
			snprintf(s->text, sizeof(s->text), "(a distribution point name of type %d)",
			         type);
		s->dp_der = der;
		s->dp_len = (size_t)len;
	}
	ISSUING_DIST_POINT_free(idp);
	return JITRD_OK;
}

/* The partition of scope in is, made when new; takes s->dp_der. NULL on ENOMEM. */
static struct partition *partition_for(struct jitrd_crl_builder *b, struct issuer *is,
                                       struct scope *s)
{
	struct partition *p;
	const struct floor_entry *f;
	const unsigned char *q;

	for (size_t i = 0; i < is->part_count; i++) {
		p = &is->parts[i];
		if (p->dp_len == s->dp_len &&
		    (s->dp_len == 0 || memcmp(p->dp_der, s->dp_der, s->dp_len) == 0)) {
			OPENSSL_free(s->dp_der);
			s->dp_der = NULL;
			return p;
		}
	}
	if (is->part_count == is->part_cap) {
		size_t cap = is->part_cap ? 2 * is->part_cap : 2;
		struct partition *grown = OPENSSL_realloc(is->parts, cap * sizeof(*grown));

		if (!grown)
			return NULL;
		is->parts = grown;
		is->part_cap = cap;
	}
	p = &is->parts[is->part_count];
	memset(p, 0, sizeof(*p));
	if (s->dp_der) {
		q = s->dp_der;
		if (!(p->names = d2i_GENERAL_NAMES(NULL, &q, (long)s->dp_len)) ||
		    !sha256(s->dp_der, s->dp_len, NULL, 0, p->key)) {
			GENERAL_NAMES_free(p->names);
			p->names = NULL;
			ERR_clear_error();
			return NULL;
		}
		p->dp_der = s->dp_der;
		p->dp_len = s->dp_len;
		s->dp_der = NULL;
	}
	memcpy(p->text, s->text, sizeof(p->text));
	f = floor_find(b->floors, is->key, p->dp_der == NULL, p->key);
	if (f) {
		p->has_floor = true;
		memcpy(p->floor, f->number, f->len);
		p->floor_len = f->len;
	}
	is->part_count++;
	return p;
}

static enum jitrd_err read_number(const struct jitrd_crl_der *crl, int nid, const char *what,
                                  bool *has, unsigned char *out, size_t *out_len, int64_t *small,
                                  struct refusal *r)
{
	int crit = 0;
	ASN1_INTEGER *number = X509V3_get_d2i(crl->extensions, nid, &crit, NULL);
	const unsigned char *bytes;
	size_t len;
	int64_t v;

	*has = false;
	if (small)
		*small = -1;
	if (!number) {
		if (crit == -1)
			return JITRD_OK;
		refuse(r, jitrd_openssl_failure(JITRD_ERR_MALFORMED), "%s unreadable or repeated",
		       what);
		return r->err;
	}
	if (!magnitude(number, &bytes, &len) || len > SERIAL_MAX) {
		ASN1_INTEGER_free(number);
		/* RFC 5280 §5.2.3, §5.2.4: a non-negative integer of at most 20 octets */
		refuse(r, JITRD_ERR_MALFORMED, "%s negative or over 20 octets", what);
		return r->err;
	}
	*has = true;
	memcpy(out, bytes, len);
	*out_len = len;
	if (small && ASN1_INTEGER_get_int64(&v, number) == 1)
		*small = v;
	ASN1_INTEGER_free(number);
	ERR_clear_error();
	return JITRD_OK;
}

static const char *weak_signature(const struct jitrd_crl_der *crl)
{
	return jitrd_weak_signature_digest(OBJ_obj2nid(crl->alg->algorithm));
}

/* One verified CRL, ready to be kept. */
struct candidate {
	struct issuer *issuer;
	struct scope scope;
	bool delta;
	struct crl_meta meta;
	struct crl_index revoked;
};

static void candidate_cleanup(struct candidate *c)
{
	OPENSSL_free(c->scope.dp_der);
	meta_cleanup(&c->meta);
	index_free(&c->revoked);
	memset(c, 0, sizeof(*c));
}

/* All checks of one CRL in the order DESIGN §3.6 and the header give, then the index.
 * On JITRD_OK *out holds the candidate; on JITRD_ERR_CRL_EXPIRED too, marked stale, with the
 * reason in *r. Any other error: *out untouched, reason in *r. */
static enum jitrd_err accept_crl(const struct jitrd_crl_builder *b, const struct jitrd_crl_der *crl,
                                 struct candidate *out, struct refusal *r)
{
	enum jitrd_err result = JITRD_ERR_MALFORMED;
	struct candidate c = {0};
	AUTHORITY_KEYID *akid = NULL;
	const unsigned char *keyid = NULL;
	size_t keyid_len = 0;
	const struct jitrd_cert *ca, *first;
	struct crl_index all = {0};
	size_t matches = 0;
	int crit = 0;
	int64_t small_number = -1;
	bool has_base = false;
	bool kept = false;
	const char *weak;
	char when[JITRD_RFC3339_SIZE], at[JITRD_RFC3339_SIZE];

	akid = X509V3_get_d2i(crl->extensions, NID_authority_key_identifier, &crit, NULL);
	if (!akid && crit != -1) {
		refuse(r, jitrd_openssl_failure(JITRD_ERR_MALFORMED),
		       "authorityKeyIdentifier unreadable or repeated");
		goto cleanup;
	}
	if (akid && akid->keyid) {
		keyid = ASN1_STRING_get0_data(akid->keyid);
		keyid_len = (size_t)ASN1_STRING_length(akid->keyid);
	}
	first = jitrd_caset_find_by_name(b->cas, crl->issuer, keyid, keyid_len);
	if (!first) {
		refuse(r, JITRD_ERR_UNKNOWN_CA, "issuer (name%s) is not one of our CAs",
		       keyid ? " and key id" : "");
		goto cleanup;
	}
	if ((weak = weak_signature(crl)) != NULL) {
		refuse(r, JITRD_ERR_CRL_SIGNATURE, "signed with %s, which is refused", weak);
		goto cleanup;
	}
	/* Several of our CAs may carry the issuer's name (a key rollover; a CRL without key id
	 * matches each of them): the CRL belongs to the one whose key verifies it. */
	for (ca = first; ca;
	     ca = jitrd_caset_find_by_name_next(b->cas, crl->issuer, keyid, keyid_len, ca)) {
		EVP_PKEY *key = X509_get0_pubkey(jitrd_cert_x509(ca));
		enum jitrd_err verified =
		    key ? jitrd_crl_der_verify(crl, key) : JITRD_ERR_CRL_SIGNATURE;

		if (verified == JITRD_OK)
			break;
		if (verified == JITRD_ERR_NOMEM) {
			refuse(r, JITRD_ERR_NOMEM, "out of memory");
			goto cleanup;
		}
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
	if (!(c.issuer = issuer_of(b->refs, b->ref_count, b->issuers, ca))) {
		refuse(r, JITRD_ERR_UNKNOWN_CA, "issuer not mapped");
		goto cleanup;
	}
	for (int i = 0; i < sk_X509_EXTENSION_num(crl->extensions); i++) {
		X509_EXTENSION *ext = sk_X509_EXTENSION_value(crl->extensions, i);
		char oid[80];

		if (!X509_EXTENSION_get_critical(ext) ||
		    crl_ext_allowed(OBJ_obj2nid(X509_EXTENSION_get_object(ext))))
			continue;
		oid_text(ext, oid, sizeof(oid));
		refuse(r, JITRD_ERR_CRL_CRITICAL_EXT, "critical extension %s not understood", oid);
		goto cleanup;
	}
	if (read_scope(crl, &c.scope, r) != JITRD_OK ||
	    read_number(crl, NID_crl_number, "cRLNumber", &c.meta.has_number, c.meta.number,
	                &c.meta.number_len, &small_number, r) != JITRD_OK ||
	    read_number(crl, NID_delta_crl, "BaseCRLNumber (deltaCRLIndicator)", &has_base,
	                c.meta.base, &c.meta.base_len, NULL, r) != JITRD_OK)
		goto cleanup;
	/* RFC 5280 §5.2.4: a delta CRL carries its own cRLNumber, in the sequence of the
	 * complete CRLs, and names the base it updates. */
	c.delta = has_base;
	if (c.delta && !c.meta.has_number) {
		refuse(r, JITRD_ERR_CRL_DELTA, "delta CRL without a cRLNumber");
		goto cleanup;
	}
	/* The dates are cheap and come before the index, so that a refused CRL of a million
	 * entries is not indexed first. */
	if (!jitrd_asn1_time_to_time_t(crl->this_update, &c.meta.this_update)) {
		refuse(r, JITRD_ERR_MALFORMED, "thisUpdate unreadable");
		goto cleanup;
	}
	if (crl->next_update && !jitrd_asn1_time_to_time_t(crl->next_update, &c.meta.next_update)) {
		refuse(r, JITRD_ERR_MALFORMED, "nextUpdate unreadable");
		goto cleanup;
	}
	jitrd_format_rfc3339(b->now, at, sizeof(at));
	if (c.meta.this_update > b->now) {
		jitrd_format_rfc3339(c.meta.this_update, when, sizeof(when));
		refuse(r, JITRD_ERR_CRL_NOT_YET_VALID, "thisUpdate %s is after %s", when, at);
		goto cleanup;
	}
	/* A stale CRL is no longer the whole truth, but what it lists was revoked by the CA's
	 * own signature: it is kept (and reported), so those stay revoked; lookups say stale.
	 * Without nextUpdate nobody says how long the list is good for: stale from the start. */
	c.meta.has_next_update = crl->next_update != NULL;
	if (!c.meta.has_next_update) {
		c.meta.stale = true;
		refuse(r, JITRD_ERR_CRL_EXPIRED,
		       "no nextUpdate, so it cannot be judged current (kept for what it lists)");
	} else if (b->now > c.meta.next_update) {
		c.meta.stale = true;
		jitrd_format_rfc3339(c.meta.next_update, when, sizeof(when));
		refuse(r, JITRD_ERR_CRL_EXPIRED,
		       "nextUpdate %s is before %s (kept for what it lists)", when, at);
	}
	if (build_index(crl, &all, r) != JITRD_OK)
		goto cleanup;
	c.meta.entries = all.small_count + all.large_count;
	if (split_holds(&all, &c.meta.holds) != JITRD_OK) {
		refuse(r, JITRD_ERR_NOMEM, "out of memory");
		goto cleanup;
	}
	c.revoked = all;
	memset(&all, 0, sizeof(all));
	c.meta.present = true;
	*out = c;
	memset(&c, 0, sizeof(c));
	kept = true;
cleanup:
	/* a stale CRL is kept and reported: the caller gets both *out and the refusal */
	if (!kept)
		result = r->err;
	else
		result = out->meta.stale ? JITRD_ERR_CRL_EXPIRED : JITRD_OK;
	AUTHORITY_KEYID_free(akid);
	candidate_cleanup(&c);
	index_free(&all);
	ERR_clear_error();
	return result;
}

/* Moves m into slot when it ranks above what slot holds (or slot is empty); else frees m. */
static void keep_if_newer(struct crl_meta *slot, struct crl_meta *m)
{
	if (!slot->present || is_newer(m, slot)) {
		meta_cleanup(slot);
		*slot = *m;
		memset(m, 0, sizeof(*m));
	}
	meta_cleanup(m);
}

/* Keeps what c adds: its revocations join the issuer's for good; it replaces its partition's
 * authority (or refused, or delta) when newer. Older CRLs are dropped at once, so a
 * directory of many CRLs holds one set of holds per partition. Takes c. */
static enum jitrd_err keep_candidate(struct jitrd_crl_builder *b, const char *origin,
                                     struct candidate *c)
{
	enum jitrd_err result = JITRD_ERR_NOMEM;
	struct partition *p;

	if (!(c->meta.origin = OPENSSL_strdup(origin)))
		goto cleanup;
	c->meta.file = b->file_count - 1;
	if (merge_revoked(&c->issuer->revoked, &c->revoked) != JITRD_OK)
		goto cleanup;
	if (!(p = partition_for(b, c->issuer, &c->scope)))
		goto cleanup;
	if (c->delta)
		keep_if_newer(&p->delta, &c->meta);
	else if (!p->has_floor || number_cmp(c->meta.has_number, c->meta.number, c->meta.number_len,
	                                     true, p->floor, p->floor_len) >= 0)
		keep_if_newer(&p->authority, &c->meta);
	else
		/* below the highest number accepted before: never the authority (rollback);
		 * its revocations still count */
		keep_if_newer(&p->refused, &c->meta);
	result = JITRD_OK;
cleanup:
	candidate_cleanup(c);
	return result;
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

static void note(struct file_state *st, enum jitrd_err err, const char *label,
                 const struct jitrd_crl_der *crl, const char *text)
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
	if (crl && crl->issuer)
		jitrd_name_for_message(crl->issuer, issuer, sizeof(issuer));
	st->first_err = err;
	snprintf(st->first_reason, sizeof(st->first_reason), "%s%s%s%s: %s", label,
	         issuer[0] ? " (issuer " : "", issuer, issuer[0] ? ")" : "", text);
}

/* Checks and keeps one parsed CRL. Only NOMEM stops the file. */
static enum jitrd_err take_crl(struct jitrd_crl_builder *b, const char *origin,
                               const struct jitrd_crl_der *crl, const char *label,
                               struct file_state *st)
{
	struct refusal r = {JITRD_OK, ""};
	struct candidate c;
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
	return err;
}

/* One CRL's DER (a DER file, or a decoded PEM block): parsed in one pass, checked, kept.
 * RFC 5280 §5.1 and RFC 7468 §5.1: the bytes are one CertificateList and nothing more. */
static enum jitrd_err add_one(struct jitrd_crl_builder *b, const char *origin,
                              const unsigned char *der, size_t len, const char *label,
                              const char *unreadable, struct file_state *st)
{
	struct jitrd_crl_der crl;
	size_t used = 0;
	enum jitrd_err err;

	memset(&crl, 0, sizeof(crl));
	err = jitrd_crl_der_parse(der, len, &crl, &used);
	if (err != JITRD_OK) {
		st->seen++;
		note(st, err, label, NULL, unreadable);
	} else if (used != len) {
		st->seen++;
		err = JITRD_ERR_MALFORMED;
		note(st, err, label, &crl, "bytes after the end of the DER CRL");
	} else {
		err = take_crl(b, origin, &crl, label, st);
	}
	jitrd_crl_der_cleanup(&crl);
	return err;
}

/* True when text[pos, len) holds another BEGIN line (base64 has no '-': a short scan). */
static bool more_pem(const unsigned char *text, size_t len, size_t pos)
{
	while (pos < len) {
		const unsigned char *dash = memchr(text + pos, '-', len - pos);

		if (!dash)
			return false;
		pos = (size_t)(dash - text);
		if (len - pos >= 11 && memcmp(text + pos, "-----BEGIN ", 11) == 0)
			return true;
		pos++;
	}
	return false;
}

/* Every "X509 CRL" block of a PEM file; other PEM blocks and text between blocks are skipped,
 * as OpenSSL's reader does. A bad block is reported and the next one still read. Each block
 * is decoded into scratch; or, when the builder owns the file (*owned, from malloc), into the
 * file's own bytes behind the reader, and once the last block is decoded the text after its
 * DER is given back (realloc): a 67 MB PEM file then costs its 45 MB of DER while the index
 * is built, never a copy beside it. */
static void add_pem(struct jitrd_crl_builder *b, const char *origin, unsigned char **owned,
                    const unsigned char *text, size_t len, unsigned char *scratch,
                    struct file_state *st)
{
	size_t pos = 0;

	for (;;) {
		size_t start = pos, der_len = 0;
		/* decoding writes behind what it reads, so the block's own start is safe */
		unsigned char *out = owned ? *owned + start : scratch;
		bool done = false;
		char label[32];
		enum jitrd_err err;

		snprintf(label, sizeof(label), "CRL #%zu", st->seen + 1);
		err = jitrd_crl_pem_next(text, len, &pos, out, &der_len, &done);
		if (err == JITRD_OK && done)
			break;
		if (err == JITRD_OK && owned && start + der_len > 0 && !more_pem(text, len, pos)) {
			unsigned char *fit = realloc(*owned, start + der_len);

			if (fit) { /* shrinking: on failure the larger block simply stays */
				*owned = fit;
				out = fit + start;
				text = fit;
				len = pos = start + der_len;
			}
		}
		if (err != JITRD_OK) {
			st->seen++;
			note(st, err, label, NULL,
			     "not a readable PEM CRL (truncated, bad base64 or bad DER)");
		} else {
			err = add_one(b, origin, out, der_len, label,
			              "not a readable PEM CRL (truncated, bad base64 or bad DER)",
			              st);
		}
		if (err == JITRD_ERR_NOMEM || st->first_err == JITRD_ERR_NOMEM)
			break;
	}
	if (st->seen == 0)
		note(st, JITRD_ERR_MALFORMED, "file", NULL,
		     "no \"X509 CRL\" PEM block, and not DER either");
}

static struct file_record *new_file_record(struct jitrd_crl_builder *b, const char *origin);

/* The common part of the two add functions: with owned, *owned is bytes, from malloc, and
 * the caller frees *owned afterwards (it may have been shrunk). */
static enum jitrd_err builder_add(struct jitrd_crl_builder *b, const char *origin,
                                  const unsigned char *bytes, size_t len, unsigned char **owned,
                                  struct jitrd_diag *diag)
{
	struct file_state st = {0, 0, JITRD_OK, ""};
	struct file_record *rec;
	unsigned char *scratch = NULL;

	if (!b || !origin || (!bytes && len > 0) || b->finished) {
		jitrd_diag_set(diag, "%s: CRL builder called without bytes, or after finish",
		               origin ? origin : "(no origin)");
		return JITRD_ERR_INVALID_ARG;
	}
	if (b->setup_failed || !(rec = new_file_record(b, origin))) {
		jitrd_diag_set(diag, "%s: out of memory", origin);
		return JITRD_ERR_NOMEM;
	}
	b->added = true;
	if (len == 0) {
		note(&st, JITRD_ERR_MALFORMED, "file", NULL, "empty file");
	} else if (len > JITRD_CRL_MAX_FILE) {
		note(&st, JITRD_ERR_TOO_LARGE, "file", NULL,
		     "over the 512 MiB limit for a CRL file");
	} else if (bytes[0] == 0x30) { /* a DER SEQUENCE; PEM starts with text */
		(void)add_one(b, origin, bytes, len, "CRL",
		              "not a readable DER CRL (truncated or corrupt)", &st);
	} else if (!owned && !(scratch = OPENSSL_malloc(len / 4 * 3 + 3))) {
		note(&st, JITRD_ERR_NOMEM, "", NULL, "");
	} else {
		add_pem(b, origin, owned, bytes, len, scratch, &st);
	}
	OPENSSL_free(scratch);
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
	if (!map_issuers(b)) {
		jitrd_crl_builder_free(b);
		return NULL;
	}
	return b;
}

static void issuers_free(struct issuer *issuers, size_t count)
{
	for (size_t i = 0; i < count; i++)
		issuer_cleanup(&issuers[i]);
	OPENSSL_free(issuers);
}

void jitrd_crl_builder_free(struct jitrd_crl_builder *b)
{
	if (!b)
		return;
	issuers_free(b->issuers, b->issuer_count);
	OPENSSL_free(b->refs);
	for (size_t i = 0; i < b->file_count; i++) {
		OPENSSL_free(b->files[i].origin);
		OPENSSL_free(b->files[i].reason);
	}
	OPENSSL_free(b->files);
	OPENSSL_free(b);
}

enum jitrd_err jitrd_crl_builder_set_floors(struct jitrd_crl_builder *b,
                                            const struct jitrd_crl_floors *floors)
{
	if (!b || b->added || b->finished)
		return JITRD_ERR_INVALID_ARG;
	b->floors = floors;
	return JITRD_OK;
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
	return builder_add(b, origin, bytes, len, NULL, diag);
}

enum jitrd_err jitrd_crl_builder_add_owned(struct jitrd_crl_builder *b, const char *origin,
                                           unsigned char *bytes, size_t len,
                                           struct jitrd_diag *diag)
{
	unsigned char *owned = bytes;
	enum jitrd_err err = builder_add(b, origin, bytes, len, &owned, diag);

	free(owned);
	return err;
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

static bool meta_stale_at(const struct crl_meta *m, time_t now)
{
	return !m->has_next_update || now > m->next_update;
}

/* RFC 5280 §5.2.4 and §6.3.3 (a)-(c): a delta completes the base it names, or any later
 * complete CRL, as long as it is newer than that CRL. */
static bool delta_applies(const struct partition *p)
{
	return p->delta.present && p->authority.present && p->authority.has_number &&
	       number_cmp(true, p->delta.base, p->delta.base_len, true, p->authority.number,
	                  p->authority.number_len) <= 0 &&
	       number_cmp(true, p->delta.number, p->delta.number_len, true, p->authority.number,
	                  p->authority.number_len) > 0;
}

static bool partition_stale(const struct partition *p, time_t now)
{
	return meta_stale_at(&p->authority, now) ||
	       (p->delta_applies && meta_stale_at(&p->delta, now));
}

/* The per-CA summary of jitrd_crl_store_info. */
static void summarise(struct issuer *is, time_t now)
{
	struct jitrd_crl_info *info = &is->info;

	memset(info, 0, sizeof(*info));
	info->entries = is->revoked.small_count + is->revoked.large_count;
	info->crl_number = -1;
	for (size_t i = 0; i < is->part_count; i++) {
		const struct partition *p = &is->parts[i];
		const struct crl_meta *a = &p->authority;
		time_t next = a->has_next_update ? a->next_update : 0;
		int64_t number = -1;
		unsigned char buf[8] = {0};

		if (!a->present)
			continue;
		if (p->delta_applies && !p->delta.has_next_update)
			next = 0;
		else if (p->delta_applies && next != 0 && p->delta.next_update < next)
			next = p->delta.next_update;
		if (a->has_number &&
		    (a->number_len < 8 || (a->number_len == 8 && a->number[0] < 0x80))) {
			memcpy(buf + 8 - a->number_len, a->number, a->number_len);
			number = 0;
			for (size_t k = 0; k < 8; k++)
				number = number << 8 | buf[k];
		}
		info->entries += a->holds.small_count + a->holds.large_count;
		if (info->partitions == 0) {
			info->origin = a->origin;
			info->this_update = a->this_update;
			info->next_update = next;
		} else {
			if (a->this_update < info->this_update)
				info->this_update = a->this_update;
			if (info->next_update != 0 && (next == 0 || next < info->next_update))
				info->next_update = next;
		}
		if (number > info->crl_number)
			info->crl_number = number;
		info->stale = info->stale || partition_stale(p, now);
		info->delta = info->delta || p->delta_applies;
		info->partitions++;
	}
	is->has_info = info->partitions > 0;
}

/* Marks the file of a partition's best refused CRL as a rollback. */
static enum jitrd_err note_rollback(struct jitrd_crl_builder *b, const struct issuer *is,
                                    const struct partition *p, struct jitrd_crl_rollback *rb)
{
	struct file_record *rec = &b->files[p->refused.file];
	char text[448];
	char *copy;

	memset(rb, 0, sizeof(*rb));
	rb->ca_id = jitrd_cert_id(is->first_ca);
	rb->origin = p->refused.origin;
	rb->partition = p->text;
	number_text(p->refused.has_number, p->refused.number, p->refused.number_len, rb->number,
	            sizeof(rb->number));
	number_text(true, p->floor, p->floor_len, rb->floor, sizeof(rb->floor));
	snprintf(text, sizeof(text),
	         "CRL number %s%s%s is below %s, the highest already accepted for CA %s: "
	         "rollback refused (its revocations still count)",
	         rb->number, *p->text ? " of partition " : "", p->text, rb->floor, rb->ca_id);
	if (!(copy = OPENSSL_strdup(text)))
		return JITRD_ERR_NOMEM;
	if (rec->report.result == JITRD_OK && !p->refused.stale && rec->report.crls_accepted > 0)
		rec->report.crls_accepted--;
	OPENSSL_free(rec->reason);
	rec->reason = copy;
	rec->report.reason = copy;
	rec->report.result = JITRD_ERR_CRL_ROLLBACK;
	return JITRD_OK;
}

enum jitrd_err jitrd_crl_builder_finish(struct jitrd_crl_builder *b, struct jitrd_crl_store **out)
{
	struct jitrd_crl_store *store;
	size_t rollbacks = 0;

	if (!b || !out || b->finished || b->setup_failed)
		return JITRD_ERR_INVALID_ARG;
	store = OPENSSL_zalloc(sizeof(*store));
	if (!store)
		return JITRD_ERR_NOMEM;
	for (size_t i = 0; i < b->issuer_count; i++) {
		for (size_t k = 0; k < b->issuers[i].part_count; k++)
			rollbacks += !b->issuers[i].parts[k].authority.present &&
			             b->issuers[i].parts[k].refused.present;
	}
	if (rollbacks &&
	    !(store->rollbacks = OPENSSL_zalloc(rollbacks * sizeof(*store->rollbacks)))) {
		OPENSSL_free(store);
		return JITRD_ERR_NOMEM;
	}
	for (size_t i = 0; i < b->issuer_count; i++) {
		struct issuer *is = &b->issuers[i];

		for (size_t k = 0; k < is->part_count; k++) {
			struct partition *p = &is->parts[k];

			p->delta_applies = delta_applies(p);
			if (p->authority.present || !p->refused.present)
				continue;
			if (note_rollback(b, is, p, &store->rollbacks[store->rollback_count]) !=
			    JITRD_OK) {
				OPENSSL_free(store->rollbacks);
				OPENSSL_free(store);
				return JITRD_ERR_NOMEM;
			}
			store->rollback_count++;
		}
		summarise(is, b->now);
	}
	/* The indexes move into the store rather than being copied: at a million entries a
	 * copy would double the memory at the moment of the swap. */
	store->issuers = b->issuers;
	store->issuer_count = b->issuer_count;
	store->refs = b->refs;
	store->ref_count = b->ref_count;
	b->issuers = NULL;
	b->issuer_count = 0;
	b->refs = NULL;
	b->ref_count = 0;
	b->finished = true;
	*out = store;
	return JITRD_OK;
}

void jitrd_crl_store_free(struct jitrd_crl_store *store)
{
	if (!store)
		return;
	issuers_free(store->issuers, store->issuer_count);
	OPENSSL_free(store->refs);
	OPENSSL_free(store->rollbacks);
	OPENSSL_free(store);
}

size_t jitrd_crl_store_rollback_count(const struct jitrd_crl_store *store)
{
	return store ? store->rollback_count : 0;
}

const struct jitrd_crl_rollback *jitrd_crl_store_rollback_at(const struct jitrd_crl_store *store,
                                                             size_t i)
{
	if (!store || i >= store->rollback_count)
		return NULL;
	return &store->rollbacks[i];
}

/* The issuer of ca: the same CA object (the usual case: both come from one caset) or a
 * certificate with the same DER (a caller's own copy). */
static const struct issuer *store_find(const struct jitrd_crl_store *store,
                                       const struct jitrd_cert *ca)
{
	const char *id;

	for (size_t i = 0; i < store->ref_count; i++) {
		if (store->refs[i].ca == ca)
			return &store->issuers[store->refs[i].issuer];
	}
	id = jitrd_cert_id(ca);
	for (size_t i = 0; id && i < store->ref_count; i++) {
		if (strcmp(store->refs[i].ca_id, id) == 0)
			return &store->issuers[store->refs[i].issuer];
	}
	return NULL;
}

const struct jitrd_crl_info *jitrd_crl_store_info(const struct jitrd_crl_store *store,
                                                  const struct jitrd_cert *ca)
{
	const struct issuer *is;

	if (!store || !ca || !(is = store_find(store, ca)) || !is->has_info)
		return NULL;
	return &is->info;
}

/* Whether a certificate whose CRL Distribution Points are cdp is in the scope of p (RFC 5280
 * §6.3.3 (b)(2)(i)): the complete scope covers every certificate; a partition, those whose
 * distribution point fullName shares a name with it. cdp NULL with all: every partition. */
static bool in_scope(const struct partition *p, const CRL_DIST_POINTS *cdp, bool all)
{
	if (!p->dp_der || all)
		return true;
	for (int i = 0; i < sk_DIST_POINT_num(cdp); i++) {
		const DIST_POINT *dp = sk_DIST_POINT_value(cdp, i);

		if (!dp->distpoint || dp->distpoint->type != 0)
			continue;
		for (int j = 0; j < sk_GENERAL_NAME_num(dp->distpoint->name.fullname); j++) {
			GENERAL_NAME *name = sk_GENERAL_NAME_value(dp->distpoint->name.fullname, j);

			for (int k = 0; k < sk_GENERAL_NAME_num(p->names); k++) {
				if (GENERAL_NAME_cmp(name, sk_GENERAL_NAME_value(p->names, k)) == 0)
					return true;
			}
		}
	}
	return false;
}

static enum jitrd_err answer_for(const struct jitrd_crl_store *store, const struct jitrd_cert *ca,
                                 const ASN1_INTEGER *serial, const CRL_DIST_POINTS *cdp, bool all,
                                 time_t now, struct jitrd_crl_answer *out)
{
	const struct issuer *is = store_find(store, ca);
	const unsigned char *bytes;
	size_t len;
	uint8_t slot;
	bool valid, revoked = false, held = false, removed = false, stale = false, any = false;

	if (!is)
		return JITRD_ERR_NO_CRL;
	valid = magnitude(serial, &bytes, &len);
	if (valid && index_find(&is->revoked, bytes, len, &slot))
		revoked = true;
	for (size_t i = 0; i < is->part_count; i++) {
		const struct partition *p = &is->parts[i];
		uint8_t hold;

		if (!p->authority.present || !in_scope(p, cdp, all))
			continue;
		any = true;
		/* a snapshot outlives the moment it was loaded: staleness is judged at now */
		stale = stale || partition_stale(p, now);
		if (!valid)
			continue;
		/* the delta is the newer word on a hold: it lists new holds, and removeFromCRL
		 * for holds it lifts (RFC 5280 §5.3.1) */
		if (p->delta_applies && index_find(&p->delta.holds, bytes, len, &hold)) {
			held = held || hold == REASON_HOLD;
			removed = removed || hold == REASON_REMOVE;
		} else if (index_find(&p->authority.holds, bytes, len, &hold)) {
			held = held || hold == REASON_HOLD;
			removed = removed || hold == REASON_REMOVE;
		}
	}
	if (revoked) {
		out->status = JITRD_CRL_REVOKED;
		out->reason = slot == REASON_SLOT_NONE ? JITRD_CRL_REASON_NONE : (int)slot;
		out->stale = stale || !any;
		return JITRD_OK;
	}
	if (!any)
		return JITRD_ERR_NO_CRL;
	out->stale = stale;
	out->reason = JITRD_CRL_REASON_NONE;
	if (held) {
		out->status = JITRD_CRL_HOLD;
		out->reason = REASON_HOLD;
	} else if (removed) {
		out->status = JITRD_CRL_REMOVE_FROM_CRL;
		out->reason = REASON_REMOVE;
	} else {
		out->status = JITRD_CRL_NOT_LISTED;
	}
	return JITRD_OK;
}

enum jitrd_err jitrd_crl_lookup(const struct jitrd_crl_store *store, const struct jitrd_cert *ca,
                                const ASN1_INTEGER *serial, time_t now,
                                struct jitrd_crl_answer *out)
{
	if (!store || !ca || !serial || !out)
		return JITRD_ERR_INVALID_ARG;
	return answer_for(store, ca, serial, NULL, true, now, out);
}

enum jitrd_err jitrd_crl_lookup_cert(const struct jitrd_crl_store *store,
                                     const struct jitrd_cert *ca, const struct jitrd_cert *cert,
                                     time_t now, struct jitrd_crl_answer *out)
{
	CRL_DIST_POINTS *cdp = NULL;
	enum jitrd_err err;

	if (!store || !ca || !cert || !out)
		return JITRD_ERR_INVALID_ARG;
	err = jitrd_cert_crl_distribution_points(cert, &cdp);
	if (err != JITRD_OK)
		return err;
	err = answer_for(store, ca, jitrd_cert_serial(cert), cdp, false, now, out);
	CRL_DIST_POINTS_free(cdp);
	return err;
}

/* ---- rollback floors ---------------------------------------------------------------------- */

struct jitrd_crl_floors *jitrd_crl_floors_new(void)
{
	return OPENSSL_zalloc(sizeof(struct jitrd_crl_floors));
}

void jitrd_crl_floors_free(struct jitrd_crl_floors *floors)
{
	if (!floors)
		return;
	OPENSSL_free(floors->e);
	OPENSSL_free(floors);
}

size_t jitrd_crl_floors_count(const struct jitrd_crl_floors *floors)
{
	return floors ? floors->count : 0;
}

static struct floor_entry *floors_append(struct jitrd_crl_floors *f)
{
	if (f->count == f->cap) {
		size_t cap = f->cap ? 2 * f->cap : 8;
		struct floor_entry *grown = OPENSSL_realloc(f->e, cap * sizeof(*grown));

		if (!grown)
			return NULL;
		f->e = grown;
		f->cap = cap;
	}
	memset(&f->e[f->count], 0, sizeof(f->e[0]));
	return &f->e[f->count++];
}

static int hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1; /* upper case is refused: one spelling per value */
}

/* Exactly 2 * size lowercase hex digits. */
static bool parse_key(const char *s, size_t len, unsigned char *out, size_t size)
{
	if (len != 2 * size)
		return false;
	for (size_t i = 0; i < size; i++) {
		int hi = hex_value(s[2 * i]), lo = hex_value(s[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return false;
		out[i] = (unsigned char)(hi << 4 | lo);
	}
	return true;
}

/* A number in lowercase hex without leading zeros ("0" for zero), at most 20 octets. */
static bool parse_number(const char *s, size_t len, struct floor_entry *e)
{
	unsigned char digits[2 * SERIAL_MAX];
	size_t n;

	if (len == 0 || len > 2 * SERIAL_MAX || (len > 1 && s[0] == '0'))
		return false;
	for (size_t i = 0; i < len; i++) {
		int v = hex_value(s[i]);

		if (v < 0)
			return false;
		digits[i] = (unsigned char)v;
	}
	if (len == 1 && digits[0] == 0) {
		e->len = 0;
		return true;
	}
	n = (len + 1) / 2;
	for (size_t i = 0; i < n; i++) {
		/* an odd count of digits has an implicit leading 0 */
		size_t lo = 2 * i + 1 - len % 2;
		unsigned char hi = (i == 0 && len % 2) ? 0 : digits[lo - 1];

		e->number[i] = (unsigned char)(hi << 4 | digits[lo]);
	}
	e->len = (uint8_t)n;
	return true;
}

/* Splits the next '\n'-terminated line; false when there is none (a truncated file). */
static bool next_line(const char *text, size_t len, size_t *pos, const char **line,
                      size_t *line_len)
{
	const char *nl;

	if (*pos >= len)
		return false;
	nl = memchr(text + *pos, '\n', len - *pos);
	if (!nl)
		return false;
	*line = text + *pos;
	*line_len = (size_t)(nl - *line);
	*pos = (size_t)(nl - text) + 1;
	return true;
}

enum jitrd_err jitrd_crl_floors_parse(const char *origin, const char *text, size_t len,
                                      struct jitrd_crl_floors **out, struct jitrd_diag *diag)
{
	struct jitrd_crl_floors *f = NULL;
	enum jitrd_err result = JITRD_ERR_MALFORMED;
	size_t pos = 0, lineno = 1;
	const char *line;
	size_t line_len;
	bool ended = false;

	if (!origin || (!text && len) || !out)
		return JITRD_ERR_INVALID_ARG;
	if (len > JITRD_CRL_FLOORS_MAX_BYTES) {
		jitrd_diag_set(diag, "%s: over %u bytes", origin, JITRD_CRL_FLOORS_MAX_BYTES);
		return JITRD_ERR_TOO_LARGE;
	}
	if (len && memchr(text, '\0', len)) {
		jitrd_diag_set(diag, "%s: holds a NUL byte", origin);
		return JITRD_ERR_MALFORMED;
	}
	if (!(f = jitrd_crl_floors_new()))
		return JITRD_ERR_NOMEM;
	if (!next_line(text, len, &pos, &line, &line_len) || line_len != strlen(FLOORS_MAGIC) ||
	    memcmp(line, FLOORS_MAGIC, line_len) != 0) {
		jitrd_diag_set(diag, "%s:1: not a jitrd CRL number file (\"%s\" expected)", origin,
		               FLOORS_MAGIC);
		goto cleanup;
	}
	while (next_line(text, len, &pos, &line, &line_len)) {
		struct floor_entry e = {{0}, {0}, false, 0, {0}};
		struct floor_entry *slot;
		const char *sp1, *sp2;

		lineno++;
		if (ended) {
			jitrd_diag_set(diag, "%s:%zu: text after the end line", origin, lineno);
			goto cleanup;
		}
		if (line_len > 4 && memcmp(line, "end ", 4) == 0) {
			char count[24];
			int n = snprintf(count, sizeof(count), "%zu", f->count);

			if ((size_t)n != line_len - 4 || memcmp(count, line + 4, (size_t)n) != 0) {
				jitrd_diag_set(
				    diag, "%s:%zu: end line does not give the %zu entries read",
				    origin, lineno, f->count);
				goto cleanup;
			}
			ended = true;
			continue;
		}
		sp1 = memchr(line, ' ', line_len);
		sp2 = sp1 ? memchr(sp1 + 1, ' ', line_len - (size_t)(sp1 + 1 - line)) : NULL;
		if (!sp1 || !sp2 || !parse_key(line, (size_t)(sp1 - line), e.issuer, KEY_SIZE)) {
			jitrd_diag_set(diag,
			               "%s:%zu: expected \"<issuer: 64 hex> <partition> <number>\"",
			               origin, lineno);
			goto cleanup;
		}
		if (sp2 - sp1 == 2 && sp1[1] == '-')
			e.complete = true;
		else if (!parse_key(sp1 + 1, (size_t)(sp2 - sp1 - 1), e.part, KEY_SIZE)) {
			jitrd_diag_set(diag, "%s:%zu: partition must be 64 hex digits or -", origin,
			               lineno);
			goto cleanup;
		}
		if (!parse_number(sp2 + 1, line_len - (size_t)(sp2 + 1 - line), &e)) {
			jitrd_diag_set(
			    diag,
			    "%s:%zu: CRL number must be lowercase hex without leading zeros, "
			    "at most 20 octets",
			    origin, lineno);
			goto cleanup;
		}
		if (floor_find(f, e.issuer, e.complete, e.part)) {
			jitrd_diag_set(diag, "%s:%zu: issuer and partition repeated", origin,
			               lineno);
			goto cleanup;
		}
		if (f->count >= JITRD_CRL_FLOORS_MAX_ENTRIES) {
			jitrd_diag_set(diag, "%s:%zu: over %u entries", origin, lineno,
			               JITRD_CRL_FLOORS_MAX_ENTRIES);
			result = JITRD_ERR_TOO_LARGE;
			goto cleanup;
		}
		if (!(slot = floors_append(f))) {
			result = JITRD_ERR_NOMEM;
			goto cleanup;
		}
		*slot = e;
	}
	if (pos != len) {
		jitrd_diag_set(diag, "%s:%zu: last line not terminated (truncated file)", origin,
		               lineno + 1);
		goto cleanup;
	}
	if (!ended) {
		jitrd_diag_set(diag, "%s: no end line (truncated file)", origin);
		goto cleanup;
	}
	*out = f;
	f = NULL;
	result = JITRD_OK;
cleanup:
	jitrd_crl_floors_free(f);
	return result;
}

static int floor_cmp(const void *a, const void *b)
{
	const struct floor_entry *x = a, *y = b;
	int c = memcmp(x->issuer, y->issuer, KEY_SIZE);

	if (c)
		return c;
	if (x->complete != y->complete)
		return x->complete ? -1 : 1;
	return x->complete ? 0 : memcmp(x->part, y->part, KEY_SIZE);
}

enum jitrd_err jitrd_crl_floors_format(const struct jitrd_crl_floors *floors, char **out,
                                       size_t *len)
{
	/* per line: 64 + 1 + 64 + 1 + 40 + 1 */
	size_t cap, n = 0;
	char *text;
	struct floor_entry *sorted = NULL;

	if (!floors || !out || !len)
		return JITRD_ERR_INVALID_ARG;
	cap = sizeof(FLOORS_MAGIC) + 1 + floors->count * 172 + 32;
	if (!(text = OPENSSL_malloc(cap)))
		return JITRD_ERR_NOMEM;
	if (floors->count &&
	    !(sorted = OPENSSL_memdup(floors->e, floors->count * sizeof(*sorted)))) {
		OPENSSL_free(text);
		return JITRD_ERR_NOMEM;
	}
	if (sorted)
		qsort(sorted, floors->count, sizeof(*sorted), floor_cmp);
	n += (size_t)snprintf(text + n, cap - n, "%s\n", FLOORS_MAGIC);
	for (size_t i = 0; i < floors->count; i++) {
		const struct floor_entry *e = &sorted[i];
		char issuer[2 * KEY_SIZE + 1], part[2 * KEY_SIZE + 1], number[2 * SERIAL_MAX + 1];
		size_t k = 0;

		jitrd_hex_encode(e->issuer, KEY_SIZE, issuer, sizeof(issuer));
		if (e->complete)
			snprintf(part, sizeof(part), "-");
		else
			jitrd_hex_encode(e->part, KEY_SIZE, part, sizeof(part));
		serial_text(e->number, e->len, number, sizeof(number));
		/* no leading zeros: a number whose first octet is below 0x10 gives one */
		while (number[k] == '0' && number[k + 1] != '\0')
			k++;
		n += (size_t)snprintf(text + n, cap - n, "%s %s %s\n", issuer, part, number + k);
	}
	n += (size_t)snprintf(text + n, cap - n, "end %zu\n", floors->count);
	OPENSSL_free(sorted);
	*out = text;
	*len = n;
	return JITRD_OK;
}

enum jitrd_err jitrd_crl_store_floors(const struct jitrd_crl_store *store,
                                      const struct jitrd_crl_floors *previous,
                                      struct jitrd_crl_floors **out)
{
	struct jitrd_crl_floors *f;

	if (!store || !out)
		return JITRD_ERR_INVALID_ARG;
	if (!(f = jitrd_crl_floors_new()))
		return JITRD_ERR_NOMEM;
	for (size_t i = 0; previous && i < previous->count; i++) {
		struct floor_entry *slot = floors_append(f);

		if (!slot)
			goto nomem;
		*slot = previous->e[i];
	}
	for (size_t i = 0; i < store->issuer_count; i++) {
		const struct issuer *is = &store->issuers[i];

		for (size_t k = 0; k < is->part_count; k++) {
			const struct partition *p = &is->parts[k];
			struct floor_entry *e;

			if (!p->authority.present || !p->authority.has_number)
				continue;
			e = (struct floor_entry *)floor_find(f, is->key, !p->dp_der, p->key);
			if (!e) {
				if (!(e = floors_append(f)))
					goto nomem;
				memcpy(e->issuer, is->key, KEY_SIZE);
				e->complete = !p->dp_der;
				if (p->dp_der)
					memcpy(e->part, p->key, KEY_SIZE);
			} else if (number_cmp(true, p->authority.number, p->authority.number_len,
			                      true, e->number, e->len) <= 0) {
				continue;
			}
			memcpy(e->number, p->authority.number, p->authority.number_len);
			e->len = (uint8_t)p->authority.number_len;
		}
	}
	*out = f;
	return JITRD_OK;
nomem:
	jitrd_crl_floors_free(f);
	return JITRD_ERR_NOMEM;
}

enum jitrd_err jitrd_crl_floors_raise(struct jitrd_crl_floors *floors,
                                      const struct jitrd_crl_floors *other)
{
	if (!floors)
		return JITRD_ERR_INVALID_ARG;
	for (size_t i = 0; other && i < other->count; i++) {
		const struct floor_entry *o = &other->e[i];
		struct floor_entry *e =
		    (struct floor_entry *)floor_find(floors, o->issuer, o->complete, o->part);

		if (!e) {
			if (floors->count >= JITRD_CRL_FLOORS_MAX_ENTRIES)
				return JITRD_ERR_TOO_LARGE;
			if (!(e = floors_append(floors)))
				return JITRD_ERR_NOMEM;
			*e = *o;
		} else if (number_cmp(true, o->number, o->len, true, e->number, e->len) > 0) {
			memcpy(e->number, o->number, o->len);
			e->len = o->len;
		}
	}
	return JITRD_OK;
}

bool jitrd_crl_store_issuer_key(const struct jitrd_crl_store *store, const struct jitrd_cert *ca,
                                char out[65])
{
	const struct issuer *is;

	if (!store || !ca || !out || !(is = store_find(store, ca)))
		return false;
	jitrd_hex_encode(is->key, KEY_SIZE, out, 65);
	return true;
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
