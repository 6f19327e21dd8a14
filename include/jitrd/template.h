/* template.h — policy documents and resource names rendered from {{placeholders}}
 * (DESIGN §4.4). The policy template is parsed as JSON first and substitution happens inside
 * string values only, so a value can never change the document's structure; IoT's own ${...}
 * variables pass through untouched. Pure: no I/O. */
#ifndef JITRD_TEMPLATE_H
#define JITRD_TEMPLATE_H

#include <stdbool.h>
#include <stddef.h>

#include "jitrd/error.h"

#define JITRD_TEMPLATE_MAX_BYTES (64 * 1024)
#define JITRD_POLICY_MAX_CHARS   2048
#define JITRD_NAME_MAX           128

/* A placeholder value. value NULL means the certificate lacks the field: rendering a
 * template that uses it fails with JITRD_ERR_FIELD_ABSENT and the placeholder's name. */
struct jitrd_template_var {
	const char *name;  /* "subject.CN", "certificate.id", ... */
	const char *value; /* UTF-8, borrowed */
};

/* The placeholder names a template may use (DESIGN §4.4), NULL-terminated. */
extern const char *const jitrd_template_known_names[];

struct jitrd_policy_template; /* parsed, immutable */

/* Parses a policy template: must be a JSON object; every {{name}} must be well-formed
 * ("{{" name "}}", name one of jitrd_template_known_names) and appear only inside string
 * values (not in keys). origin names the file for messages; diag says
 * "origin: reason" (with the placeholder or JSON error position).
 * Errors: JITRD_ERR_TOO_LARGE, JITRD_ERR_MALFORMED (not JSON / not an object),
 * JITRD_ERR_TEMPLATE (bad or unknown placeholder, placeholder in a key), JITRD_ERR_NOMEM. */
enum jitrd_err jitrd_policy_template_parse(const char *origin, const char *text, size_t len,
                                           struct jitrd_policy_template **out,
                                           struct jitrd_diag *diag) JITRD_WUR;
void jitrd_policy_template_free(struct jitrd_policy_template *tpl); /* NULL is fine */

/* Renders the document: each value inserted into its string as it is, after checks. A value
 * holding an IoT policy wildcard ('*', '?') or '$' is refused (JITRD_ERR_FORBIDDEN_CHAR):
 * AWS's guides disagree on how IoT writes them literally, so none is guessed; '{' or '}' is
 * refused so no ${...} variable can be formed; '/' (it would
 * reach into another device's MQTT topic tree; allowed only in certificate.arn, which jitrd
 * composes), the MQTT wildcards '+' and '#', control characters and invalid UTF-8 are
 * refused too. The result is compact JSON of at most
 * JITRD_POLICY_MAX_CHARS characters (else JITRD_ERR_POLICY_TOO_LONG).
 * On success *out_json (NUL-terminated) is owned by the caller (free()).
 * Errors: JITRD_ERR_FIELD_ABSENT, JITRD_ERR_FORBIDDEN_CHAR, JITRD_ERR_POLICY_TOO_LONG,
 * JITRD_ERR_NOMEM; diag names the placeholder / reason. */
enum jitrd_err jitrd_policy_template_render(const struct jitrd_policy_template *tpl,
                                            const struct jitrd_template_var *vars, size_t nvars,
                                            char **out_json, struct jitrd_diag *diag) JITRD_WUR;

/* True if the placeholder {{name}} (name without braces, e.g. "thing.name") appears in a string
 * value of tpl, else false (also for NULL arguments). Reads only: safe on a shared template. */
bool jitrd_policy_template_uses(const struct jitrd_policy_template *tpl, const char *name);

/* Calls fn with each object key and string value of tpl as written in the template
 * (placeholders not rendered), in document order, until fn returns non-zero; returns that
 * value, or 0. Reads only: safe on a shared template. */
typedef int (*jitrd_template_string_fn)(void *ctx, const char *text, size_t len);
int jitrd_policy_template_each_string(const struct jitrd_policy_template *tpl,
                                      jitrd_template_string_fn fn, void *ctx);

enum jitrd_name_kind {
	JITRD_NAME_POLICY, /* [\w+=,.@-]{1,128} */
	JITRD_NAME_THING   /* [a-zA-Z0-9:_-]{1,128} */
};

/* Checks a name template (placeholders well-formed and known) without rendering.
 * Errors: JITRD_ERR_TEMPLATE, JITRD_ERR_TOO_LARGE (> 1024 bytes). */
enum jitrd_err jitrd_name_template_check(const char *pattern, struct jitrd_diag *diag) JITRD_WUR;

/* Renders a name: placeholders replaced by their values verbatim, then the whole result must
 * match the pattern of kind (so a hostile value cannot sneak in '*', '/', ...).
 * out receives the NUL-terminated name (JITRD_NAME_MAX + 1 bytes); written only on success.
 * Errors: JITRD_ERR_TEMPLATE, JITRD_ERR_FIELD_ABSENT, JITRD_ERR_NAME_PATTERN. */
enum jitrd_err jitrd_name_template_render(const char *pattern, enum jitrd_name_kind kind,
                                          const struct jitrd_template_var *vars, size_t nvars,
                                          char out[JITRD_NAME_MAX + 1],
                                          struct jitrd_diag *diag) JITRD_WUR;

/* True if the well-formed placeholder {{name}} appears in pattern, else false (also for NULL
 * arguments, and for a malformed or over-long pattern's unreadable part). */
bool jitrd_name_template_uses(const char *pattern, const char *name);

/* True if name matches the AWS pattern of kind. */
bool jitrd_name_valid(const char *name, enum jitrd_name_kind kind);

#endif
