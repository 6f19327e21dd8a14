/* bench_journal.c — the journal's CPU per event as `jitrd run` spends it: an event's arrival
 * (intake, with its inventory lookup, on paho's thread) and its work (a claim of CLAIM_BATCH,
 * then its ends with their inventory rows: "per-event", a finish each, or "batch", one
 * finish_batch for the claim as the workers write them), each timed apart, over rounds of a
 * fresh journal alternating the two forms; prints CPU microseconds per event. With "defaults"
 * as fourth argument SQLite is initialised first, so the journal's configuration of SQLite (see
 * configure_sqlite in journal.c) cannot apply: the cost before it. A fifth argument
 * ("per-event" or "batch") runs only that form (strace -c). */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include <sqlite3.h>

#include "jitrd/journal.h"

#define CLAIM_BATCH 4 /* as the daemon's workers */

static const char payload_fmt[] =
    "{\"certificateId\":\"%064x\",\"caCertificateId\":\"%064d\",\"timestamp\":1700000000000,"
    "\"certificateStatus\":\"PENDING_ACTIVATION\",\"awsAccountId\":\"123456789012\","
    "\"certificateRegistrationTimestamp\":\"1700000000000\"}";

static double cpu_seconds(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
	       (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

static void inventory_row(struct jitrd_journal_cert *c, const char *id, int64_t now)
{
	memset(c, 0, sizeof(*c));
	snprintf(c->certificate_id, sizeof(c->certificate_id), "%s", id);
	snprintf(c->ca_id, sizeof(c->ca_id), "%064d", 1);
	snprintf(c->serial_hex, sizeof(c->serial_hex), "3A6F0C1D2E3F40516273849A");
	snprintf(c->subject_cn, sizeof(c->subject_cn), "bench");
	snprintf(c->status, sizeof(c->status), "ACTIVE");
	snprintf(c->last_decision, sizeof(c->last_decision), "activate");
	c->updated_ms = now;
}

/* The arrival of event i, as record_event makes it: intake, with the inventory's judgement
 * since the event looked up in its transaction. */
static int arrive(struct jitrd_journal *j, unsigned i)
{
	char payload[512], id[65], key[160];
	struct jitrd_journal_memory m;
	int64_t row = 0;
	int n = snprintf(payload, sizeof(payload), payload_fmt, i, 1);

	snprintf(id, sizeof(id), "%064x", i);
	snprintf(key, sizeof(key), "%064d/123456789012/PENDING_ACTIVATION", 1);
	struct jitrd_journal_arrival a = {
	    .source = JITRD_JOURNAL_MQTT,
	    .payload = payload,
	    .len = (size_t)n,
	    .certificate_id = id,
	    .event_key = key,
	    .when_open = JITRD_JOURNAL_JOIN_OPEN,
	    .join_reason = "joined the open event for this certificate",
	    .now_ms = 1000 + i,
	    .judged_since_ms = 1700000000000, /* the payload's timestamp */
	};
	enum jitrd_journal_intake_result got;

	return jitrd_journal_intake(j, &a, &got, &row, &m, NULL) == JITRD_OK ? 0 : -1;
}

/* A worker's side: claims of CLAIM_BATCH, each event ended with its inventory row, in a
 * transaction each or (batch) in one for the claim. */
static int work_off(struct jitrd_journal *j, bool batch, int64_t now)
{
	struct jitrd_journal_event *events = NULL;
	struct jitrd_journal_ending endings[CLAIM_BATCH];
	struct jitrd_journal_cert rows[CLAIM_BATCH];
	size_t count = 0;
	int failed = 0;

	do {
		if (jitrd_journal_claim(j, now, CLAIM_BATCH, &events, &count, NULL) != JITRD_OK)
			return -1;
		for (size_t k = 0; k < count; k++) {
			inventory_row(&rows[k], events[k].certificate_id, now);
			endings[k] = (struct jitrd_journal_ending){
			    .id = events[k].id,
			    .decision = JITRD_DECISION_ACTIVATE,
			    .reason = "activated",
			    .status = "ACTIVE",
			    .now_ms = now,
			    .cert = &rows[k],
			};
			if (!batch)
				failed |=
				    jitrd_journal_finish(j, &endings[k], NULL, NULL) != JITRD_OK;
		}
		if (batch)
			failed |=
			    jitrd_journal_finish_batch(j, endings, count, NULL, NULL) != JITRD_OK;
		jitrd_journal_events_free(events, count);
	} while (count > 0 && !failed);
	return failed ? -1 : 0;
}

struct round_cost {
	double arrival_us, work_us; /* CPU per event */
};

/* One round: events recorded in bursts of 64, then worked off (as queued MQTT events are). */
static int round_cost(const char *dir, unsigned events, bool batch, struct round_cost *cost)
{
	struct jitrd_journal *j = NULL;
	struct jitrd_diag diag = {""};
	char path[4096];
	double arrival = 0, work = 0, t0;
	int result = -1;

	snprintf(path, sizeof(path), "%s/bench-%d.db", dir, (int)getpid());
	if (jitrd_journal_open(path, NULL, &j, &diag) != JITRD_OK) {
		fprintf(stderr, "open: %s\n", diag.text);
		return -1;
	}
	for (unsigned i = 0; i < events; i += 64) {
		t0 = cpu_seconds();
		for (unsigned k = i; k < i + 64 && k < events; k++)
			if (arrive(j, k) != 0)
				goto cleanup;
		arrival += cpu_seconds() - t0;
		t0 = cpu_seconds();
		if (work_off(j, batch, 1000 + i) != 0)
			goto cleanup;
		work += cpu_seconds() - t0;
	}
	cost->arrival_us = arrival * 1e6 / events;
	cost->work_us = work * 1e6 / events;
	result = 0;
cleanup:
	jitrd_journal_close(j);
	for (const char *suffix = ""; suffix;
	     suffix = *suffix ? (suffix[1] == 'w' ? "-shm" : NULL) : "-wal") {
		char side[4200];

		snprintf(side, sizeof(side), "%s%s", path, suffix);
		unlink(side);
	}
	return result;
}

int main(int argc, char **argv)
{
	const char *dir = argc > 1 ? argv[1] : "/tmp";
	unsigned events = argc > 2 ? (unsigned)strtoul(argv[2], NULL, 10) : 5000;
	unsigned rounds = argc > 3 ? (unsigned)strtoul(argv[3], NULL, 10) : 3;
	const char *only = argc > 5 ? argv[5] : NULL;
	static const char *const forms[] = {"per-event", "batch"};

	if (argc > 4 && strcmp(argv[4], "defaults") == 0 && sqlite3_initialize() != SQLITE_OK)
		return 1;
	if (events == 0 || rounds == 0) {
		fprintf(stderr, "usage: bench_journal [DIR [EVENTS [ROUNDS [defaults|any "
		                "[per-event|batch]]]]]\n");
		return 2;
	}
	for (unsigned r = 0; r < rounds; r++) {
		for (size_t f = 0; f < sizeof(forms) / sizeof(forms[0]); f++) {
			struct round_cost cost;

			if (only && strcmp(only, forms[f]) != 0)
				continue;
			if (round_cost(dir, events, f == 1, &cost) != 0)
				return 1;
			printf(
			    "%s\t%u events\tarrival %.1f us\twork %.1f us\ttotal %.1f us CPU per "
			    "event\n",
			    forms[f], events, cost.arrival_us, cost.work_us,
			    cost.arrival_us + cost.work_us);
		}
	}
	return 0;
}
