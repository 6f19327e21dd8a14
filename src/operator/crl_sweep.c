/* operator.c — the operator commands' work (DESIGN §4.6, operator.h): CA registration with a
 * verification certificate made in memory, CA deactivation with resumable mass revocation,
 * and the CRL sweep. It never writes a key anywhere, never formats key bytes into a message,
 * and prints nothing: the CLI words the results. */
#include "jitrd/operator.h"
#include "jitrd/pipeline.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>

#include "jitrd/crl.h"
#include "jitrd/decision.h"
#include "jitrd/files.h"
#include "jitrd/text.h"

#define JOB_PREFIX     "deactivate:"
#define LIST_PAGE      250

static int64_t wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* "Code: message" of AWS's answer, or the client's own reason. */
static void describe_failure(char *out, size_t size, const char *operation, enum jitrd_err err,
                             const struct jitrd_iot_result *res, const struct jitrd_diag *diag)
{
	if (err == JITRD_ERR_API && res->code[0])
		snprintf(out, size, "%s: %s: %s", operation, res->code, res->message);
	else if (diag->text[0])
		snprintf(out, size, "%s: %.400s", operation, diag->text);
	else
		snprintf(out, size, "%s: %s", operation, jitrd_strerror(err));
}

int jitrd_operator_valid_id(const char *text)
{
	size_t i;

	if (!text)
		return 0;
	for (i = 0; i < 64; i++) {
		char c = text[i];
		if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')))
			return 0;
	}
	return text[64] == '\0';
}

/* ---- the CA key and the verification certificate --------------------------------------- */

struct passphrase {
	int asked;
};

/* An encrypted key: ask on the terminal when there is one, else refuse (never hang). */
static int passphrase_cb(char *buf, int size, int rwflag, void *u)
{
	struct passphrase *p = u;

	p->asked = 1;
	if (!isatty(STDIN_FILENO))
		return -1;
	return PEM_def_callback(buf, size, rwflag, NULL);
}

enum jitrd_err jitrd_operator_load_ca_key(const char *path, bool allow_insecure, EVP_PKEY **out,
                                          struct jitrd_diag *diag)
{
	enum jitrd_err result = JITRD_ERR_IO;
	unsigned char *bytes = NULL;
	size_t len = 0;
	struct stat st;
	struct passphrase pass = {0};
	BIO *bio = NULL;
	EVP_PKEY *key = NULL;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		jitrd_diag_set(diag, "%s: %s", path, strerror(errno));
		return JITRD_ERR_IO;
	}
	/* fstat on the open file: the mode checked is the mode of what is read */
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		jitrd_diag_set(diag, "%s: not a regular file", path);
		goto cleanup;
	}
	if ((st.st_mode & 077) && !allow_insecure) {
		jitrd_diag_set(diag,
		               "%s: mode %04o lets group or others read or write the CA key; "
		               "chmod 600 it (or pass --allow-insecure-key)",
		               path, (unsigned)(st.st_mode & 07777));
		result = JITRD_ERR_CONFIG;
		goto cleanup;
	}
	if (st.st_size > JITRD_OPERATOR_MAX_KEY_FILE) {
		jitrd_diag_set(diag, "%s: larger than %d bytes: not a key", path,
		               JITRD_OPERATOR_MAX_KEY_FILE);
		result = JITRD_ERR_TOO_LARGE;
		goto cleanup;
	}
	bytes = malloc(JITRD_OPERATOR_MAX_KEY_FILE + 1);
	if (!bytes) {
		result = JITRD_ERR_NOMEM;
		goto cleanup;
	}
	for (;;) {
		ssize_t n = read(fd, bytes + len, JITRD_OPERATOR_MAX_KEY_FILE + 1 - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			jitrd_diag_set(diag, "%s: %s", path, strerror(errno));
			goto cleanup;
		}
		if (n == 0)
			break;
		len += (size_t)n;
		if (len > JITRD_OPERATOR_MAX_KEY_FILE) {
			jitrd_diag_set(diag, "%s: larger than %d bytes: not a key", path,
			               JITRD_OPERATOR_MAX_KEY_FILE);
			result = JITRD_ERR_TOO_LARGE;
			goto cleanup;
		}
	}
	bio = BIO_new_mem_buf(bytes, (int)len);
	if (!bio) {
		result = JITRD_ERR_NOMEM;
		goto cleanup;
	}
	key = PEM_read_bio_PrivateKey(bio, NULL, passphrase_cb, &pass);
	ERR_clear_error(); /* the queue may describe the key's bytes: never shown */
	if (!key) {
		jitrd_diag_set(diag, "%s: %s", path,
		               pass.asked ? "an encrypted key, and no passphrase was given (run it "
		                            "on a terminal to be asked)"
		                          : "not a PEM private key");
		result = JITRD_ERR_MALFORMED;
		goto cleanup;
	}
	*out = key;
	key = NULL;
	result = JITRD_OK;
cleanup:
	BIO_free(bio);
	if (bytes) {
		OPENSSL_cleanse(bytes, JITRD_OPERATOR_MAX_KEY_FILE + 1);
		free(bytes);
	}
	EVP_PKEY_free(key);
	close(fd);
	return result;
}

enum jitrd_err jitrd_operator_check_ca_key(const struct jitrd_cert *ca, EVP_PKEY *ca_key,
                                           struct jitrd_diag *diag)
{
	EVP_PKEY *public_key;

	if (!ca || !ca_key)
		return JITRD_ERR_INVALID_ARG;
	if (!jitrd_cert_is_ca(ca)) {
		jitrd_diag_set(diag, "not a CA certificate (basicConstraints CA:TRUE missing)");
		return JITRD_ERR_BAD_FIELD;
	}
	public_key = X509_get0_pubkey(jitrd_cert_x509(ca));
	if (!public_key || EVP_PKEY_eq(public_key, ca_key) != 1) {
		ERR_clear_error();
		jitrd_diag_set(diag, "the key is not the CA certificate's key");
		return JITRD_ERR_CERT_SIGNATURE;
	}
	return JITRD_OK;
}

/* PEM of one certificate as a NUL-terminated heap string. */
static enum jitrd_err x509_to_pem(X509 *x, char **out)
{
	enum jitrd_err result = JITRD_ERR_NOMEM;
	BIO *bio = BIO_new(BIO_s_mem());
	char *data = NULL;
	long len;
	char *pem;

	if (!bio || PEM_write_bio_X509(bio, x) != 1)
		goto cleanup;
	len = BIO_get_mem_data(bio, &data);
	if (len <= 0 || !data)
		goto cleanup;
	pem = malloc((size_t)len + 1);
	if (!pem)
		goto cleanup;
	memcpy(pem, data, (size_t)len);
	pem[len] = '\0';
	*out = pem;
	result = JITRD_OK;
cleanup:
	BIO_free(bio);
	return result;
}

enum jitrd_err jitrd_operator_make_verification(const struct jitrd_cert *ca, EVP_PKEY *ca_key,
                                                const char *code, time_t now, char **pem_out,
                                                struct jitrd_diag *diag)
{
	enum jitrd_err result = JITRD_ERR_INVALID_ARG;
	EVP_PKEY *verification_key = NULL;
	X509 *x = NULL;
	X509_NAME *subject = NULL;
	BIGNUM *serial_bn = NULL;
	ASN1_INTEGER *serial = NULL;
	unsigned char random_serial[16];
	const EVP_MD *md = EVP_sha256();
	int digest_nid = NID_undef;
	size_t code_len = code ? strlen(code) : 0;

	/* RFC 5280 ub-common-name: 64; AWS's code is 64 hex */
	if (code_len == 0 || code_len > 64) {
		jitrd_diag_set(diag, "registration code of %zu characters (1 to 64 expected)",
		               code_len);
		return JITRD_ERR_INVALID_ARG;
	}
	result = jitrd_operator_check_ca_key(ca, ca_key, diag);
	if (result != JITRD_OK)
		return result;
	result = JITRD_ERR_CRYPTO;
	/* A new key each time: AWS only needs proof that the CA key signed the code. */
	verification_key = EVP_EC_gen("P-256");
	x = X509_new();
	subject = X509_NAME_new();
	if (!verification_key || !x || !subject) {
		jitrd_diag_set(diag, "cannot make the verification key");
		goto cleanup;
	}
	if (RAND_bytes(random_serial, sizeof(random_serial)) != 1)
		goto failed;
	random_serial[0] = (unsigned char)((random_serial[0] & 0x7f) | 0x40); /* positive, 16 B */
	serial_bn = BN_bin2bn(random_serial, sizeof(random_serial), NULL);
	serial = serial_bn ? BN_to_ASN1_INTEGER(serial_bn, NULL) : NULL;
	if (!serial || X509_set_version(x, X509_VERSION_3) != 1 ||
	    X509_set_serialNumber(x, serial) != 1 ||
	    X509_set_issuer_name(x, X509_get_subject_name(jitrd_cert_x509(ca))) != 1 ||
	    X509_NAME_add_entry_by_txt(subject, "CN", MBSTRING_UTF8, (const unsigned char *)code,
	                               (int)code_len, -1, 0) != 1 ||
	    X509_set_subject_name(x, subject) != 1 ||
	    !X509_time_adj_ex(X509_getm_notBefore(x), 0, -300, &now) ||
	    !X509_time_adj_ex(X509_getm_notAfter(x), 1, 0, &now) ||
	    X509_set_pubkey(x, verification_key) != 1)
		goto failed;
	/* Ed25519/Ed448 CA keys sign without a separate digest (mandatory "none") */
	if (EVP_PKEY_get_default_digest_nid(ca_key, &digest_nid) == 2 && digest_nid == NID_undef)
		md = NULL;
	if (X509_sign(x, ca_key, md) <= 0)
		goto failed;
	result = x509_to_pem(x, pem_out);
	goto cleanup;
failed:
	jitrd_diag_set(diag, "cannot make the verification certificate");
cleanup:
	ERR_clear_error();
	OPENSSL_cleanse(random_serial, sizeof(random_serial));
	ASN1_INTEGER_free(serial);
	BN_free(serial_bn);
	X509_NAME_free(subject);
	X509_free(x);
	EVP_PKEY_free(verification_key); /* its private half existed only here */
	return result;
}

enum jitrd_err jitrd_operator_ca_register(struct jitrd_iot_session *s, int64_t deadline,
                                          const char *ca_pem, size_t ca_pem_len, EVP_PKEY *ca_key,
                                          bool set_active, bool auto_registration, time_t now,
                                          struct jitrd_iot_registered *out,
                                          struct jitrd_iot_result *res, struct jitrd_diag *diag)
{
	enum jitrd_err result;
	struct jitrd_cert *ca = NULL;
	struct jitrd_iot_result scratch = {0};
	struct jitrd_iot_registered registered;
	char code[65] = "";
	char *verification_pem = NULL;
	char *ca_single_pem = NULL;

	if (!res)
		res = &scratch;
	result = jitrd_cert_from_pem(ca_pem, ca_pem_len, &ca, diag);
	if (result != JITRD_OK)
		goto cleanup;
	result = jitrd_operator_check_ca_key(ca, ca_key, diag);
	if (result != JITRD_OK)
		goto cleanup;
	/* Exactly the certificate checked, whatever else the file holds. */
	result = x509_to_pem(jitrd_cert_x509(ca), &ca_single_pem);
	if (result != JITRD_OK)
		goto cleanup;
	result = jitrd_iot_get_registration_code(s, deadline, code, res, diag);
	if (result != JITRD_OK)
		goto cleanup;
	result = jitrd_operator_make_verification(ca, ca_key, code, now, &verification_pem, diag);
	if (result != JITRD_OK)
		goto cleanup;
	result = jitrd_iot_register_ca_certificate(s, deadline, ca_single_pem, verification_pem,
	                                           set_active, auto_registration, &registered, res,
	                                           diag);
	if (result != JITRD_OK)
		goto cleanup;
	*out = registered;
cleanup:
	free(verification_pem);
	free(ca_single_pem);
	jitrd_cert_free(ca);
	return result;
}

/* ---- ca deactivate ---------------------------------------------------------------------- */

struct listed_cert {
	char id[65];
	enum jitrd_iot_status status;
};

struct cert_list {
	struct listed_cert *items;
	size_t count, cap;
	int nomem;
};

static int collect_cert(void *ctx, const struct jitrd_iot_cert_summary *cert)
{
	struct cert_list *l = ctx;

	if (l->count == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 256;
		struct listed_cert *items = realloc(l->items, cap * sizeof(*items));
		if (!items) {
			l->nomem = 1;
			return 1;
		}
		l->items = items;
		l->cap = cap;
	}
	jitrd_text_copy(l->items[l->count].id, sizeof(l->items[l->count].id), cert->certificate_id);
	l->items[l->count].status = cert->status;
	l->count++;
	return 0;
}

/* Every certificate of one CA, all pages. */
static enum jitrd_err list_ca(struct jitrd_iot_session *s, int64_t timeout_ms, const char *ca_id,
                              struct cert_list *l, struct jitrd_iot_result *res,
                              struct jitrd_diag *diag)
{
	/* the whole listing may take many pages at the ListCertificatesByCA rate */
	int64_t deadline = jitrd_iot_deadline_in(timeout_ms * 20);
	enum jitrd_err err = jitrd_iot_list_certificates_by_ca(s, deadline, ca_id, LIST_PAGE, 0,
	                                                       collect_cert, l, res, diag);

	if (err == JITRD_OK && l->nomem) {
		jitrd_diag_set(diag, "out of memory listing the certificates of CA %s", ca_id);
		err = JITRD_ERR_NOMEM;
	}
	return err;
}

struct revoke_job {
	const struct jitrd_deactivate_options *o;
	char job[sizeof(JOB_PREFIX) + 64];
	struct listed_cert *todo; /* borrowed from the listing */
	size_t todo_count;
	pthread_mutex_t lock;
	pthread_cond_t finished;
	size_t next;      /* the next certificate to take */
	unsigned running; /* workers still working */
	bool stopping;    /* *o->stop seen by the calling thread: take no new work */
	struct jitrd_deactivate_summary summary;
	enum jitrd_err fatal; /* a journal or session error: stop taking work */
	struct jitrd_diag fatal_diag;
};

static void *revoke_worker(void *arg)
{
	struct revoke_job *j = arg;
	struct jitrd_iot_session *session = NULL;
	enum jitrd_err err = jitrd_iot_session_new(j->o->client, &session);

	pthread_mutex_lock(&j->lock);
	if (err != JITRD_OK && j->fatal == JITRD_OK) {
		j->fatal = err;
		jitrd_diag_set(&j->fatal_diag, "cannot open a session: %s", jitrd_strerror(err));
	}
	pthread_mutex_unlock(&j->lock);
	while (err == JITRD_OK) {
		struct jitrd_iot_result res = {0};
		struct jitrd_diag diag = {{0}};
		struct listed_cert *cert;
		char text[512];

		pthread_mutex_lock(&j->lock);
		if (j->stopping || j->fatal != JITRD_OK || j->next == j->todo_count) {
			pthread_mutex_unlock(&j->lock);
			break;
		}
		cert = &j->todo[j->next++];
		pthread_mutex_unlock(&j->lock);

		err = jitrd_iot_update_certificate(session,
		                                   jitrd_iot_deadline_in(j->o->request_timeout_ms),
		                                   cert->id, JITRD_IOT_REVOKED, &res, &diag);
		if (err == JITRD_OK) {
			/* recorded the moment it succeeded: a crash now redoes only this one */
			err = jitrd_journal_item_done(j->o->journal, j->job, cert->id, wall_ms(),
			                              &diag);
			pthread_mutex_lock(&j->lock);
			j->summary.revoked++;
			if (err != JITRD_OK && j->fatal == JITRD_OK) {
				j->fatal = err;
				jitrd_diag_set(&j->fatal_diag, "journal: %s", diag.text);
			}
			pthread_mutex_unlock(&j->lock);
			continue;
		}
		describe_failure(text, sizeof(text), "UpdateCertificate", err, &res, &diag);
		err = JITRD_OK; /* one certificate's failure: go on with the others */
		pthread_mutex_lock(&j->lock);
		j->summary.failed++;
		if (j->o->failure)
			j->o->failure(j->o->ctx, cert->id, text);
		pthread_mutex_unlock(&j->lock);
	}
	pthread_mutex_lock(&j->lock);
	j->running--;
	pthread_cond_signal(&j->finished);
	pthread_mutex_unlock(&j->lock);
	jitrd_iot_session_free(session);
	return NULL;
}

/* Runs the workers over j->todo, reporting progress from this thread. */
static enum jitrd_err run_workers(struct revoke_job *j)
{
	enum jitrd_err result = JITRD_ERR_NOMEM;
	pthread_t threads[JITRD_OPERATOR_MAX_WORKERS];
	unsigned workers = j->o->workers, started = 0;
	unsigned progress_ms = j->o->progress_ms ? j->o->progress_ms : 250;
	pthread_condattr_t attr;
	sigset_t stop_signals, old;

	if (workers < 1)
		workers = 1;
	if (workers > JITRD_OPERATOR_MAX_WORKERS)
		workers = JITRD_OPERATOR_MAX_WORKERS;
	if (pthread_condattr_init(&attr) != 0)
		return JITRD_ERR_NOMEM;
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	if (pthread_cond_init(&j->finished, &attr) != 0) {
		pthread_condattr_destroy(&attr);
		return JITRD_ERR_NOMEM;
	}
	pthread_condattr_destroy(&attr);
	/* Stop signals go to the calling thread only: workers never run the handler. */
	sigemptyset(&stop_signals);
	sigaddset(&stop_signals, SIGTERM);
	sigaddset(&stop_signals, SIGINT);
	sigaddset(&stop_signals, SIGHUP);
	sigaddset(&stop_signals, SIGQUIT);
	pthread_sigmask(SIG_BLOCK, &stop_signals, &old);
	pthread_mutex_lock(&j->lock);
	for (; started < workers; started++) {
		if (pthread_create(&threads[started], NULL, revoke_worker, j) != 0)
			break;
		j->running++;
	}
	pthread_mutex_unlock(&j->lock);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (started > 0)
		result = JITRD_OK;
	else
		jitrd_diag_set(&j->fatal_diag, "cannot start a worker thread");

	pthread_mutex_lock(&j->lock);
	while (j->running > 0) {
		struct jitrd_deactivate_summary now_summary;
		struct timespec until;

		clock_gettime(CLOCK_MONOTONIC, &until);
		until.tv_nsec += (long)(progress_ms % 1000) * 1000000L;
		until.tv_sec += progress_ms / 1000 + until.tv_nsec / 1000000000L;
		until.tv_nsec %= 1000000000L;
		pthread_cond_timedwait(&j->finished, &j->lock, &until);
		/* the flag a signal handler sets is read here only, and passed on under the lock */
		if (j->o->stop && *j->o->stop)
			j->stopping = true;
		now_summary = j->summary;
		if (j->o->progress && j->running > 0) {
			pthread_mutex_unlock(&j->lock);
			j->o->progress(j->o->ctx, &now_summary);
			pthread_mutex_lock(&j->lock);
		}
	}
	pthread_mutex_unlock(&j->lock);
	for (unsigned i = 0; i < started; i++)
		pthread_join(threads[i], NULL);
	pthread_cond_destroy(&j->finished);
	return result;
}

enum jitrd_err jitrd_operator_ca_deactivate(const struct jitrd_deactivate_options *o,
                                            struct jitrd_deactivate_summary *summary,
                                            struct jitrd_iot_result *res, struct jitrd_diag *diag)
{
	enum jitrd_err result = JITRD_ERR_INVALID_ARG;
	struct jitrd_iot_session *session = NULL;
	struct jitrd_iot_result scratch = {0};
	struct cert_list list = {0};
	struct revoke_job j;
	bool lock_ready = false;

	memset(summary, 0, sizeof(*summary));
	memset(&j, 0, sizeof(j));
	if (!res)
		res = &scratch;
	if (!o || !o->client || !jitrd_operator_valid_id(o->ca_id) ||
	    (o->revoke_certificates && !o->journal)) {
		jitrd_diag_set(diag, "deactivate: a client, a 64-hex CA id and (to revoke) the "
		                     "journal are needed");
		return JITRD_ERR_INVALID_ARG;
	}
	j.o = o;
	snprintf(j.job, sizeof(j.job), JOB_PREFIX "%s", o->ca_id);
	if (pthread_mutex_init(&j.lock, NULL) != 0)
		return JITRD_ERR_NOMEM;
	lock_ready = true;
	result = jitrd_iot_session_new(o->client, &session);
	if (result != JITRD_OK)
		goto cleanup;
	/* Every run, resumed or not: idempotent, and the CA must stop registering devices first */
	result =
	    jitrd_iot_update_ca_certificate(session, jitrd_iot_deadline_in(o->request_timeout_ms),
	                                    o->ca_id, JITRD_IOT_INACTIVE, -1, res, diag);
	if (result != JITRD_OK) {
		char text[512];
		describe_failure(text, sizeof(text), "UpdateCACertificate", result, res, diag);
		jitrd_diag_set(diag, "%s", text);
		goto cleanup;
	}
	if (!o->revoke_certificates)
		goto cleanup;
	result = jitrd_journal_job_start(o->journal, j.job, "ca deactivate --revoke-certificates",
	                                 wall_ms(), &j.summary.resumed, diag);
	if (result != JITRD_OK)
		goto cleanup;
	result = list_ca(session, o->request_timeout_ms, o->ca_id, &list, res, diag);
	if (result != JITRD_OK) {
		char text[512];
		describe_failure(text, sizeof(text), "ListCertificatesByCA", result, res, diag);
		jitrd_diag_set(diag, "%s", text);
		goto cleanup;
	}
	j.summary.total = list.count;
	/* Sort out what is left to do, in place: done by an earlier run, or already REVOKED. */
	for (size_t i = 0; i < list.count; i++) {
		bool done = false;

		if (j.summary.resumed) {
			result = jitrd_journal_item_is_done(o->journal, j.job, list.items[i].id,
			                                    &done, diag);
			if (result != JITRD_OK)
				goto cleanup;
		}
		if (done)
			j.summary.revoked_earlier++;
		else if (list.items[i].status == JITRD_IOT_REVOKED)
			j.summary.already_revoked++;
		else
			list.items[j.todo_count++] = list.items[i];
	}
	j.todo = list.items;
	result = run_workers(&j);
	if (result == JITRD_OK && j.fatal != JITRD_OK)
		result = j.fatal;
	if (result != JITRD_OK) {
		jitrd_diag_set(diag, "%s", j.fatal_diag.text);
		goto cleanup;
	}
	j.summary.interrupted = j.next < j.todo_count;
	if (!j.summary.interrupted && j.summary.failed == 0) {
		/* every certificate is revoked: the job is complete and forgotten */
		result = jitrd_journal_job_finish(o->journal, j.job, wall_ms(), diag);
		if (result != JITRD_OK)
			goto cleanup;
	}
cleanup:
	if (o && o->revoke_certificates) {
		*summary = j.summary;
		if (o->progress && result == JITRD_OK)
			o->progress(o->ctx, summary);
	}
	if (lock_ready)
		pthread_mutex_destroy(&j.lock);
	free(list.items);
	jitrd_iot_session_free(session);
	return result;
}

/* ---- crl sweep -------------------------------------------------------------------------- */

struct sweep {
	const struct jitrd_sweep_options *o;
	struct jitrd_sweep_summary *sum;
	struct jitrd_decision_context ctx;
	struct jitrd_pipeline *pipeline; /* provisioning when a hold is lifted */
};

static void say(struct sweep *sw, enum jitrd_sweep_line kind, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void say(struct sweep *sw, enum jitrd_sweep_line kind, const char *fmt, ...)
{
	char text[768];
	va_list ap;

	if (!sw->o->line)
		return;
	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	sw->o->line(sw->o->ctx, kind, text);
}

static int64_t sweep_deadline(const struct sweep *sw)
{
	return jitrd_iot_deadline_in(sw->o->request_timeout_ms);
}

/* The certificate as AWS has it: parsed, its id and issuer checked. */
static enum jitrd_err describe_cert(struct sweep *sw, const struct jitrd_cert *ca, const char *id,
                                    struct jitrd_iot_certificate *described,
                                    struct jitrd_cert **out, char *why, size_t why_size)
{
	struct jitrd_iot_result res = {0};
	struct jitrd_diag diag = {{0}};
	struct jitrd_cert *cert = NULL;
	enum jitrd_err err;

	err = jitrd_iot_describe_certificate(sw->o->session, sweep_deadline(sw), id, described,
	                                     &res, &diag);
	if (err != JITRD_OK) {
		describe_failure(why, why_size, "DescribeCertificate", err, &res, &diag);
		return err;
	}
	err = described->certificate_pem
	          ? jitrd_cert_from_pem(described->certificate_pem,
	                                strlen(described->certificate_pem), &cert, &diag)
	          : JITRD_ERR_MISSING_FIELD;
	if (err != JITRD_OK) {
		snprintf(why, why_size, "DescribeCertificate: certificatePem: %.400s",
		         diag.text[0] ? diag.text : jitrd_strerror(err));
		return err;
	}
	/* AWS forms the id from the DER; a mismatch means the answer is not about it */
	if (strcmp(jitrd_cert_id(cert), id) != 0 ||
	    jitrd_cert_verify_signed_by(cert, ca) != JITRD_OK) {
		snprintf(why, why_size,
		         "DescribeCertificate: the certificate returned is not %s "
		         "of this CA",
		         id);
		jitrd_cert_free(cert);
		return JITRD_ERR_BAD_RESPONSE;
	}
	*out = cert;
	return JITRD_OK;
}

static void inventory_put(struct sweep *sw, const struct jitrd_journal_cert *row)
{
	if (sw->o->dry_run)
		return;
	/* the inventory is a cache: losing a row costs one describe on the next sweep */
	if (jitrd_journal_cert_upsert(sw->o->journal, row, NULL) != JITRD_OK)
		say(sw, JITRD_SWEEP_NOTICE, "%s: could not be written to the inventory",
		    row->certificate_id);
}

/* The serial of a certificate: from the inventory row, else described once and inventoried. */
static int find_serial(struct sweep *sw, const struct jitrd_cert *ca, const char *ca_id,
                       const struct listed_cert *lc, struct jitrd_journal_cert *row, bool found)
{
	struct jitrd_iot_certificate described = {0};
	struct jitrd_cert *cert = NULL;
	const char *cn = NULL;
	char why[512];

	if (found && row->serial_hex[0])
		return 0;
	sw->sum->described++;
	if (describe_cert(sw, ca, lc->id, &described, &cert, why, sizeof(why)) != JITRD_OK) {
		jitrd_iot_certificate_cleanup(&described);
		sw->sum->failed++;
		say(sw, JITRD_SWEEP_FAILURE, "%s: %s", lc->id, why);
		return -1;
	}
	if (!found) {
		memset(row, 0, sizeof(*row));
		jitrd_text_copy(row->certificate_id, sizeof(row->certificate_id), lc->id);
	}
	jitrd_text_copy(row->ca_id, sizeof(row->ca_id), ca_id);
	jitrd_text_copy(row->serial_hex, sizeof(row->serial_hex), jitrd_cert_serial_hex(cert));
	if (jitrd_cert_subject_field(cert, JITRD_SUBJECT_CN, &cn) == JITRD_OK)
		jitrd_text_copy(row->subject_cn, sizeof(row->subject_cn), cn);
	jitrd_text_copy(row->status, sizeof(row->status), jitrd_iot_status_name(lc->status));
	row->updated_ms = wall_ms();
	inventory_put(sw, row);
	jitrd_iot_certificate_cleanup(&described);
	jitrd_cert_free(cert);
	return 0;
}

static enum jitrd_err lookup_serial(const struct jitrd_crl_store *crls, const struct jitrd_cert *ca,
                                    const char *serial_hex, time_t now,
                                    struct jitrd_crl_answer *answer)
{
	enum jitrd_err result = JITRD_ERR_BAD_FIELD;
	BIGNUM *bn = NULL;
	ASN1_INTEGER *serial = NULL;

	if (BN_hex2bn(&bn, serial_hex) != (int)strlen(serial_hex) || !bn)
		goto cleanup;
	serial = BN_to_ASN1_INTEGER(bn, NULL);
	if (!serial) {
		result = JITRD_ERR_NOMEM;
		goto cleanup;
	}
	result = jitrd_crl_lookup(crls, ca, serial, now, answer);
cleanup:
	ERR_clear_error();
	ASN1_INTEGER_free(serial);
	BN_free(bn);
	return result;
}

/* UpdateCertificate, its line and the inventory row afterwards. true when it was made (or,
 * in a dry run, would be). */
static bool change_status(struct sweep *sw, struct jitrd_journal_cert *row,
                          enum jitrd_iot_status status, const char *verb, const char *decision,
                          const char *why)
{
	struct jitrd_iot_result res = {0};
	struct jitrd_diag diag = {{0}};
	enum jitrd_err err;
	char text[512];

	if (sw->o->dry_run) {
		say(sw, JITRD_SWEEP_CHANGE, "would %s %s serial %s (%s)", verb, row->certificate_id,
		    row->serial_hex, why);
		return true;
	}
	err = jitrd_iot_update_certificate(sw->o->session, sweep_deadline(sw), row->certificate_id,
	                                   status, &res, &diag);
	if (err != JITRD_OK) {
		describe_failure(text, sizeof(text), "UpdateCertificate", err, &res, &diag);
		sw->sum->failed++;
		say(sw, JITRD_SWEEP_FAILURE, "could not %s %s serial %s (%s): %s", verb,
		    row->certificate_id, row->serial_hex, why, text);
		return false;
	}
	say(sw, JITRD_SWEEP_CHANGE, "%s %s serial %s (%s): %s", verb, row->certificate_id,
	    row->serial_hex, why, jitrd_iot_status_name(status));
	jitrd_text_copy(row->status, sizeof(row->status), jitrd_iot_status_name(status));
	jitrd_text_copy(row->last_decision, sizeof(row->last_decision), decision);
	row->updated_ms = wall_ms();
	inventory_put(sw, row);
	return true;
}

/* A hold that was lifted: DESIGN §3 again (validity, signature, CRL, templates), then the
 * Thing and policy the device would have had, then ACTIVE. A certificate held straight from
 * PENDING_ACTIVATION never got its policy, so this is not a bare status change. */
static void reactivate(struct sweep *sw, const struct jitrd_cert *ca, const char *ca_id,
                       struct jitrd_journal_cert *row, const char *why)
{
	struct jitrd_iot_certificate described = {0};
	struct jitrd_decision d;
	struct jitrd_decision_context ctx;
	struct jitrd_cert *cert = NULL;
	enum jitrd_err err;
	char account[13];
	char text[512];

	jitrd_decision_init(&d);
	if (describe_cert(sw, ca, row->certificate_id, &described, &cert, text, sizeof(text)) !=
	    JITRD_OK) {
		sw->sum->failed++;
		say(sw, JITRD_SWEEP_FAILURE, "could not re-activate %s: %s", row->certificate_id,
		    text);
		goto cleanup;
	}
	/* The account the templates need comes from the certificate itself when the
	 * configuration does not name one (the service takes it from each event). */
	jitrd_pipeline_account_from_arn(described.certificate_arn, sw->ctx.account_id, account);
	ctx = sw->ctx;
	ctx.account_id = account;
	err = jitrd_decide_certificate(&ctx, cert, ca_id, sw->o->now, &d);
	if (err != JITRD_OK || d.kind != JITRD_DECISION_ACTIVATE) {
		sw->sum->not_reactivated++;
		say(sw, JITRD_SWEEP_NOTICE, "%s serial %s: hold lifted but not re-activated: %s",
		    row->certificate_id, row->serial_hex,
		    d.reason[0] ? d.reason : jitrd_strerror(err));
		goto cleanup;
	}
	/* the policy and Thing go to this ARN: it must name this certificate */
	if (!jitrd_pipeline_arn_names_certificate(described.certificate_arn, row->certificate_id)) {
		sw->sum->failed++;
		say(sw, JITRD_SWEEP_FAILURE,
		    "could not re-activate %s: DescribeCertificate returned a certificateArn that "
		    "does not name it",
		    row->certificate_id);
		goto cleanup;
	}
	if (!sw->o->dry_run) {
		struct jitrd_pipeline_result provisioned = {0};
		if (jitrd_pipeline_provision(sw->pipeline, sw->o->session, sweep_deadline(sw), &d,
		                             described.certificate_arn, &provisioned) != 0) {
			sw->sum->failed++;
			say(sw, JITRD_SWEEP_FAILURE, "could not re-activate %s: %s",
			    row->certificate_id, provisioned.reason);
			goto cleanup;
		}
	}
	if (change_status(sw, row, JITRD_IOT_ACTIVE, "re-activate", "activate", why))
		sw->sum->reactivated++;
cleanup:
	jitrd_decision_cleanup(&d);
	jitrd_iot_certificate_cleanup(&described);
	jitrd_cert_free(cert);
}

/* One certificate of a CA with a current CRL. */
static void sweep_cert(struct sweep *sw, const struct jitrd_cert *ca, const char *ca_id,
                       const struct listed_cert *lc)
{
	struct jitrd_journal_cert row;
	struct jitrd_crl_answer answer;
	bool found = false, held_by_us;
	char why[96];

	if (lc->status != JITRD_IOT_ACTIVE && lc->status != JITRD_IOT_INACTIVE)
		return;
	memset(&row, 0, sizeof(row));
	if (jitrd_journal_cert_get(sw->o->journal, lc->id, &row, &found, NULL) != JITRD_OK)
		found = false; /* a cache miss: describe instead */
	held_by_us = found && strcmp(row.last_decision, "hold") == 0;
	/* an INACTIVE certificate jitrd did not hold is someone else's decision: never touched */
	if (lc->status == JITRD_IOT_INACTIVE && !held_by_us)
		return;
	if (find_serial(sw, ca, ca_id, lc, &row, found) != 0)
		return;
	sw->sum->checked++;
	if (lookup_serial(sw->o->rt->crls, ca, row.serial_hex, sw->o->now, &answer) != JITRD_OK) {
		sw->sum->failed++;
		say(sw, JITRD_SWEEP_FAILURE, "%s: serial %s could not be looked up", lc->id,
		    row.serial_hex);
		return;
	}
	if (answer.status == JITRD_CRL_REVOKED) {
		snprintf(why, sizeof(why), "CRL: %s", jitrd_crl_reason_name(answer.reason));
		if (change_status(sw, &row, JITRD_IOT_REVOKED, "revoke", "revoke", why))
			sw->sum->revoked++;
	} else if (answer.status == JITRD_CRL_HOLD) {
		if (lc->status == JITRD_IOT_ACTIVE) {
			/* DESIGN §3.6: certificateHold is reversible, so INACTIVE, not REVOKED */
			if (change_status(sw, &row, JITRD_IOT_INACTIVE, "hold", "hold",
			                  "CRL: certificateHold"))
				sw->sum->held++;
		}
	} else if (lc->status == JITRD_IOT_INACTIVE) {
		reactivate(sw, ca, ca_id, &row,
		           answer.status == JITRD_CRL_REMOVE_FROM_CRL ? "CRL: removeFromCRL"
		                                                      : "hold no longer listed");
	}
}

static void sweep_ca(struct sweep *sw, const struct jitrd_cert *ca, const char *origin)
{
	const char *ca_id = jitrd_cert_id(ca);
	const struct jitrd_crl_info *info =
	    sw->o->rt->crls ? jitrd_crl_store_info(sw->o->rt->crls, ca) : NULL;
	struct jitrd_iot_result res = {0};
	struct jitrd_diag diag = {{0}};
	struct cert_list list = {0};
	enum jitrd_err err;
	char when[32];

	if (!info) {
		sw->sum->cas_no_crl++;
		say(sw, JITRD_SWEEP_NOTICE,
		    "CA %s (%s): no valid CRL; its certificates were not "
		    "checked",
		    ca_id, origin);
		return;
	}
	if (info->stale || info->next_update == 0 || info->next_update < sw->o->now) {
		struct tm tm;
		time_t next = info->next_update;
		if (!gmtime_r(&next, &tm) ||
		    !strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm))
			jitrd_text_copy(when, sizeof(when), "never");
		sw->sum->cas_no_crl++;
		say(sw, JITRD_SWEEP_NOTICE,
		    "CA %s (%s): its CRL %s is past its nextUpdate (%s); "
		    "its certificates were not checked",
		    ca_id, origin, info->origin, info->next_update ? when : "none");
		return;
	}
	err = list_ca(sw->o->session, sw->o->request_timeout_ms, ca_id, &list, &res, &diag);
	if (err == JITRD_ERR_API && strcmp(res.code, "ResourceNotFoundException") == 0) {
		sw->sum->cas_unregistered++;
		say(sw, JITRD_SWEEP_NOTICE, "CA %s (%s): not registered with AWS IoT", ca_id,
		    origin);
		goto cleanup;
	}
	if (err != JITRD_OK) {
		char text[512];
		describe_failure(text, sizeof(text), "ListCertificatesByCA", err, &res, &diag);
		sw->sum->failed++;
		say(sw, JITRD_SWEEP_FAILURE, "CA %s (%s): %s", ca_id, origin, text);
		goto cleanup;
	}
	sw->sum->cas_swept++;
	for (size_t i = 0; i < list.count; i++) {
		if (sw->o->stop && *sw->o->stop)
			break;
		sweep_cert(sw, ca, ca_id, &list.items[i]);
	}
cleanup:
	free(list.items);
}

enum jitrd_err jitrd_operator_crl_sweep(const struct jitrd_sweep_options *o,
                                        struct jitrd_sweep_summary *summary,
                                        struct jitrd_diag *diag)
{
	struct sweep sw = {o, summary, {0}, NULL};
	const struct jitrd_caset *cas;
	enum jitrd_err err;

	memset(summary, 0, sizeof(*summary));
	if (!o || !o->session || !o->rt || !o->journal) {
		jitrd_diag_set(diag, "sweep: a session, a runtime and the journal are needed");
		return JITRD_ERR_INVALID_ARG;
	}
	jitrd_runtime_context(o->rt, &sw.ctx);
	err = jitrd_pipeline_new(NULL, &sw.pipeline);
	if (err != JITRD_OK) {
		jitrd_diag_set(diag, "sweep: out of memory");
		return err;
	}
	cas = o->rt->cas;
	for (size_t i = 0; i < jitrd_caset_count(cas); i++) {
		const struct jitrd_cert *ca = jitrd_caset_at(cas, i);

		if (o->stop && *o->stop)
			break;
		if (!jitrd_config_ca_allowed(o->rt->cfg, jitrd_cert_id(ca)))
			continue;
		sweep_ca(&sw, ca, jitrd_caset_origin_at(cas, i));
	}
	jitrd_pipeline_free(sw.pipeline);
	return JITRD_OK;
}
