/* outcome.h — the one line per event of DESIGN §4.5, as JSON or key=value text, with every
 * untrusted string escaped. Pure: formats into a caller-owned string. */
#ifndef JITRD_OUTCOME_H
#define JITRD_OUTCOME_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "jitrd/config.h"
#include "jitrd/error.h"

enum jitrd_decision_kind {
	JITRD_DECISION_ACTIVATE,
	JITRD_DECISION_REVOKE,
	JITRD_DECISION_HOLD,
	JITRD_DECISION_REJECT,
	JITRD_DECISION_SKIP,
	JITRD_DECISION_IGNORE,
	JITRD_DECISION_DEFER,
	JITRD_DECISION_INVALID,
	JITRD_DECISION_FAILED,
	JITRD_DECISION_COUNT
};

/* "activate", "revoke", ... ; "unknown" outside the enum. */
const char *jitrd_decision_name(enum jitrd_decision_kind kind);

/* All strings borrowed; NULL or "" fields are printed as empty ("" in JSON, key="" in text). */
struct jitrd_outcome {
	time_t time; /* seconds, printed as RFC 3339 UTC */
	int time_ms; /* milliseconds part, 0..999 */
	const char *certificate_id;
	const char *ca_certificate_id;
	enum jitrd_decision_kind decision;
	const char *reason;
	const char *status; /* final certificate status, e.g. "ACTIVE" */
	const char *serial;
	const char *subject_cn;
	const char *policy;
	const char *thing;
	unsigned api_calls;
	unsigned attempts;
	uint64_t duration_ms;
	const char *policy_document; /* JSON text; when not NULL, added as a JSON object in json
	                              * format (key "policy_document"), and as a string in text */
};

/* One line, no trailing newline. json: one JSON object with the keys of DESIGN §4.5 in that
 * order. text: "time=... certificateId=... decision=... reason=\"...\" ..." where a value that is
 * empty or holds spaces, quotes, '=', '\\' or non-printable bytes is double-quoted with
 * \" \\ \n \r \t \xNN escapes. *out owned by the caller (free()). Errors: JITRD_ERR_NOMEM,
 * JITRD_ERR_INVALID_ARG (NULL o/out, unknown format or decision, time_ms outside 0..999, a
 * time outside years 0000-9999). */
enum jitrd_err jitrd_outcome_format(const struct jitrd_outcome *o, enum jitrd_log_format format,
                                    char **out) JITRD_WUR;

#endif
