/* arn.h — Amazon Resource Names of AWS IoT certificates, parsed strictly (pure: no I/O).
 * Format (IAM User Guide, "Identify AWS resources with Amazon Resource Names (ARNs)",
 * https://docs.aws.amazon.com/IAM/latest/UserGuide/reference-arns.html):
 *   arn:partition:service:region:account-id:resource-type/resource-id
 * and for an AWS IoT certificate (Service Authorization Reference, AWS IoT resource types):
 *   arn:${Partition}:iot:${Region}:${Account}:cert/${CertificateId}
 * ARNs come from AWS's answers (DescribeCertificate, ListThingPrincipals, listings): they are
 * untrusted input. */
#ifndef JITRD_ARN_H
#define JITRD_ARN_H

#include <stdbool.h>
#include <stddef.h>

#include "jitrd/error.h"

#define JITRD_ARN_MAX 2048 /* IAM's limit on an ARN's length */

/* The six fields of an ARN, borrowed from the text parsed (lengths, not NUL-terminated). */
struct jitrd_arn_field {
	const char *at;
	size_t len;
};

struct jitrd_arn {
	struct jitrd_arn_field partition, service, region, account, resource;
};

/* Parses the len bytes at text as "arn:partition:service:region:account-id:resource": six
 * colon-separated fields, "arn" first, a partition that is "aws" or "aws-<word>" (lowercase
 * letters and dashes), a service of lowercase letters, digits and dashes, a region of the
 * same (may be empty, as for IAM), an account of 12 digits or empty, and a non-empty resource
 * (which may hold colons and slashes). No byte below 0x20 or above 0x7e anywhere, NUL
 * included; at most JITRD_ARN_MAX bytes. *out (pointing into text) written only on success.
 * Errors: JITRD_ERR_INVALID_ARG (NULL), JITRD_ERR_TOO_LARGE, JITRD_ERR_MALFORMED. */
enum jitrd_err jitrd_arn_parse(const char *text, size_t len, struct jitrd_arn *out) JITRD_WUR;

/* The certificate id of arn when it is an AWS IoT certificate's ARN: service "iot", a
 * region, a 12-digit account and the resource "cert/" then exactly 64 hex digits, nothing
 * after. out (65 bytes) receives the id as written, NUL-terminated, only on success; out may
 * be NULL. false for any other ARN, or for text that is not one. */
bool jitrd_arn_certificate_id(const char *arn, char out[65]);

/* true when arn is the IoT certificate ARN of certificate_id (64 hex digits, compared as
 * written): the ARN DescribeCertificate returned names the certificate asked about, so a
 * policy or Thing attached to it goes to that certificate. */
bool jitrd_arn_names_certificate(const char *arn, const char *certificate_id);

/* The account of an ARN (field 5) when the ARN parses and that field is 12 digits, else
 * fallback cut to 12 characters ("" when fallback is NULL). out is always NUL-terminated. */
void jitrd_arn_account(const char *arn, const char *fallback, char out[13]);

#endif
