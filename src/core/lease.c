/* lease.c — the reconcile lease's rules (lease.h): whose it is, when it ends, and the attribute
 * values a host writes into the lease Thing. Pure: the time is an input; no clock, no I/O,
 * no log. */
#include "jitrd/lease.h"

#include <stdio.h>
#include <string.h>

#define MAX_EXPIRES_DIGITS 15
#define MAX_HOST_CHARS     128
#define MAX_EPOCH          253402300799LL /* 9999-12-31T23:59:59Z */

enum jitrd_err jitrd_lease_parse_expires(const char *value, int64_t *out)
{
	size_t n = value ? strlen(value) : 0;
	int64_t seconds = 0;

	if (!out || n == 0 || n > MAX_EXPIRES_DIGITS)
		return JITRD_ERR_MALFORMED;
	for (size_t i = 0; i < n; i++) {
		if (value[i] < '0' || value[i] > '9')
			return JITRD_ERR_MALFORMED;
		seconds = seconds * 10 + (value[i] - '0');
	}
	*out = seconds;
	return JITRD_OK;
}

enum jitrd_lease_action jitrd_lease_decide(const struct jitrd_lease_state *state,
                                           const char *holder, int64_t now)
{
	int64_t expires;

	if (!state || !state->exists)
		return JITRD_LEASE_CREATE;
	if (holder && state->holder && strcmp(state->holder, holder) == 0)
		return JITRD_LEASE_TAKE;
	if (jitrd_lease_parse_expires(state->expires, &expires) != JITRD_OK)
		return JITRD_LEASE_TAKE;
	return expires <= now ? JITRD_LEASE_TAKE : JITRD_LEASE_WAIT;
}

int64_t jitrd_lease_seconds(int reconcile_seconds)
{
	if (reconcile_seconds <= 0)
		return JITRD_LEASE_STARTUP_SECONDS;
	return 2 * (int64_t)reconcile_seconds + JITRD_LEASE_GRACE_SECONDS;
}

enum jitrd_err jitrd_lease_expires(int64_t now, int reconcile_seconds, char *out, size_t size)
{
	int n;

	if (!out || size < JITRD_LEASE_MAX_EXPIRES || now < 0 || now > MAX_EPOCH)
		return JITRD_ERR_INVALID_ARG;
	n = snprintf(out, size, "%lld", (long long)(now + jitrd_lease_seconds(reconcile_seconds)));
	return n > 0 && (size_t)n < size ? JITRD_OK : JITRD_ERR_INVALID_ARG;
}

enum jitrd_err jitrd_lease_holder(const char *host_name, long pid, char *out, size_t size)
{
	char host[MAX_HOST_CHARS + 1];
	size_t n = 0;

	if (!host_name || !out || pid < 0 || size < JITRD_LEASE_MAX_HOLDER)
		return JITRD_ERR_INVALID_ARG;
	for (; host_name[n] && n < MAX_HOST_CHARS; n++) {
		char c = host_name[n];
		int fits = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		           (c >= '0' && c <= '9') || (c != '\0' && strchr("_.,@/:#=[]-", c));
		host[n] = fits ? c : '_';
	}
	host[n] = '\0';
	snprintf(out, size, "%s:%ld", n ? host : "host", pid);
	return JITRD_OK;
}
