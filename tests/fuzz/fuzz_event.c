/* fuzz_event.c — libFuzzer target for the registration event parser (DESIGN §3 step 1), and
 * for the outcome line that quotes it: whatever the bytes, parsing must not crash, and every
 * outcome formatted from them must be exactly one line (abort() is allowed here only). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "jitrd/event.h"
#include "jitrd/outcome.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Formats o both ways; aborts when a line is missing or holds a raw newline. */
static void check_one_line(const struct jitrd_outcome *o)
{
	static const enum jitrd_log_format formats[] = {JITRD_LOG_JSON, JITRD_LOG_TEXT};

	for (size_t i = 0; i < sizeof(formats) / sizeof(formats[0]); i++) {
		char *line = NULL;

		if (jitrd_outcome_format(o, formats[i], &line) != JITRD_OK || !line)
			abort();
		if (strchr(line, '\n') || strchr(line, '\r'))
			abort();
		free(line);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct jitrd_event ev;
	struct jitrd_diag diag;
	struct jitrd_outcome o;
	char *text;

	memset(&o, 0, sizeof(o));
	o.time = (time_t)1906502400;
	if (jitrd_event_parse((const char *)data, size, &ev, &diag) == JITRD_OK) {
		o.certificate_id = ev.certificate_id;
		o.ca_certificate_id = ev.ca_certificate_id;
		o.status = ev.certificate_status;
		o.decision = JITRD_DECISION_ACTIVATE;
		o.duration_ms = (uint64_t)ev.timestamp_ms;
		check_one_line(&o);
	} else {
		/* the diagnostic reaches the log too: it must be one line as well */
		if (strchr(diag.text, '\n') || strchr(diag.text, '\r'))
			abort();
		o.decision = JITRD_DECISION_INVALID;
		o.reason = diag.text;
	}

	/* The raw bytes (up to the first NUL) as every untrusted string of an outcome, as a
	 * hostile Common Name or policy document would arrive. */
	text = malloc(size + 1);
	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	o.subject_cn = text;
	o.serial = text;
	o.thing = text;
	o.policy_document = text;
	check_one_line(&o);
	free(text);
	return 0;
}
