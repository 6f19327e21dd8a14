/* lease.h — the reconcile lease that lets one of several `jitrd run` hosts sweep at a time. It
 * lives in AWS IoT as a Thing whose attributes hold the holder's id and the lease's expiry, and
 * is taken with UpdateThing's expectedVersion (optimistic concurrency). This module decides
 * what a host does with what DescribeThing said and writes the attribute values; it makes no
 * call. Pure: the time is an input; no clock, no I/O. */
#ifndef JITRD_LEASE_H
#define JITRD_LEASE_H

#include <stddef.h>
#include <stdint.h>

#include "jitrd/error.h"

/* The Thing's attribute names (botocore AttributeName [a-zA-Z0-9_.,@/:#-]{1,128}). */
#define JITRD_LEASE_ATTR_HOLDER  "jitrd_lease_holder"
#define JITRD_LEASE_ATTR_EXPIRES "jitrd_lease_expires"
/* A holder id: the host name (made fit for an attribute value) ":" the process id. */
#define JITRD_LEASE_MAX_HOLDER 160
/* Room for an expiry in decimal seconds since the epoch. */
#define JITRD_LEASE_MAX_EXPIRES 24
/* Added to twice the sweep interval: a sweep's own length and the hosts' clock skew. */
#define JITRD_LEASE_GRACE_SECONDS 60
/* The lease of a host that sweeps only at start-up (reconcile_seconds 0). */
#define JITRD_LEASE_STARTUP_SECONDS 600

/* What DescribeThing said about the lease Thing; strings are borrowed. */
struct jitrd_lease_state {
	int exists;          /* 0: ResourceNotFoundException */
	const char *holder;  /* the holder attribute, "" when absent */
	const char *expires; /* the expiry attribute as read (untrusted), "" when absent */
};

enum jitrd_lease_action {
	JITRD_LEASE_CREATE, /* no lease Thing yet: CreateThing with our attributes */
	JITRD_LEASE_TAKE,   /* ours (renew), expired, or unreadable: UpdateThing, expectedVersion */
	JITRD_LEASE_WAIT,   /* another host holds it until its expiry: this host does not sweep */
};

/* The action for the host `holder` at `now` (seconds since the epoch). An expiry that is not a
 * plain decimal number counts as expired: the take is still guarded by the Thing's version, so
 * a garbled lease cannot stop every host for ever, nor let two take it at once. */
enum jitrd_lease_action jitrd_lease_decide(const struct jitrd_lease_state *state,
                                           const char *holder, int64_t now);

/* How long a lease taken now lasts: 2 × reconcile_seconds + JITRD_LEASE_GRACE_SECONDS, so a
 * holder that renews at each sweep keeps it through one late sweep, and a host that died
 * hands it on within two periods; JITRD_LEASE_STARTUP_SECONDS when reconcile_seconds <= 0. */
int64_t jitrd_lease_seconds(int reconcile_seconds);

/* The expiry attribute value for a lease taken at now: decimal seconds since the epoch into
 * out (size >= JITRD_LEASE_MAX_EXPIRES). Errors: JITRD_ERR_INVALID_ARG (now negative or past
 * the year 9999, out too small or NULL); out untouched on error. */
enum jitrd_err jitrd_lease_expires(int64_t now, int reconcile_seconds, char *out,
                                   size_t size) JITRD_WUR;

/* Reads an expiry attribute: 1 to 15 decimal digits, nothing else. Errors:
 * JITRD_ERR_MALFORMED (empty, a sign, a space, another character, too long); *out untouched on
 * error. */
enum jitrd_err jitrd_lease_parse_expires(const char *value, int64_t *out) JITRD_WUR;

/* The holder id of this process: host_name with every character outside the attribute value
 * pattern [a-zA-Z0-9_.,@/:#=\[\]-] replaced by '_' and cut to 128 characters, then ":" and
 * pid. An empty host name gives "host". Errors: JITRD_ERR_INVALID_ARG (NULL, pid < 0, out
 * under JITRD_LEASE_MAX_HOLDER bytes); out untouched on error. */
enum jitrd_err jitrd_lease_holder(const char *host_name, long pid, char *out,
                                  size_t size) JITRD_WUR;

#endif
