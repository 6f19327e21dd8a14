/* ca_key.c — the CA key and the verification certificate of `jitrd ca register` (operator.h):
 * the key file read only when only its owner can read it, the key matched against the CA,
 * the verification certificate made in memory. It never writes a key anywhere and never
 * formats key bytes into a message. */
#include "operator_internal.h"

#include <errno.h>
#include <fcntl.h>
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

#include "jitrd/operator.h"

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

enum jitrd_err operator_x509_to_pem(X509 *x, char **out)
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
	result = operator_x509_to_pem(x, pem_out);
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
