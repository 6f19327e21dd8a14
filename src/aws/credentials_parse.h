/* credentials_parse.h — private to src/aws and its tests: the readers of what credential
 * providers answer (STS's, the container endpoint's and IMDS's JSON, IMDS's role listing, the
 * shared credentials/config files), so that unit tests and fuzz targets feed them bytes
 * without HTTP or files. The providers of credentials.c use exactly these. */
#ifndef JITRD_CREDENTIALS_PARSE_H
#define JITRD_CREDENTIALS_PARSE_H

#include <stddef.h>

#include "jitrd/credentials.h"

/* The credentials in an answer of len bytes: source JITRD_CREDENTIALS_WEB_IDENTITY (STS
 * AssumeRoleWithWebIdentity as JSON), _CONTAINER or _IMDS (the role document, whose Code must
 * be Success when present). *out written only on JITRD_OK. Errors: JITRD_ERR_CREDENTIALS (diag
 * says what is wrong, never a value), JITRD_ERR_INVALID_ARG (another source, NULL). */
enum jitrd_err jitrd_credentials_from_document(enum jitrd_credentials_source source,
                                               const char *body, size_t len,
                                               struct jitrd_credentials *out,
                                               struct jitrd_diag *diag) JITRD_WUR;

/* The instance role: the first line of IMDS's listing (NUL-terminated), IAM's characters
 * only, into role (size bytes). Errors: JITRD_ERR_CREDENTIALS, JITRD_ERR_INVALID_ARG. */
enum jitrd_err jitrd_credentials_imds_role(const char *listing, char *role, size_t size,
                                           struct jitrd_diag *diag) JITRD_WUR;

/* The credentials of one section ("default", "x", "profile x") of a shared credentials or
 * config file's text (len bytes, NUL-terminated), as the shared-files provider reads them.
 * *found 1 when the section holds an access key id or a secret. *out written only on
 * JITRD_OK. Errors: JITRD_ERR_CREDENTIALS (not INI, or values missing or malformed),
 * JITRD_ERR_NOMEM, JITRD_ERR_INVALID_ARG. */
enum jitrd_err jitrd_credentials_from_profile_text(const char *text, size_t len,
                                                   const char *section,
                                                   struct jitrd_credentials *out, int *found,
                                                   struct jitrd_diag *diag) JITRD_WUR;

#endif
