/* config.c — jitrd's configuration (DESIGN §4.2): defaults, then an INI text read with inih,
 * then JITRD_<SECTION>_<KEY> entries of an environment array, into a fresh struct.
 * Pure: no I/O, no getenv, no logging; every error names file:line (or the variable) and why. */
#include "jitrd/config.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <ini.h>

#include "jitrd/text.h"

/* Debian's libinih r55 reads into a 200-byte stack buffer with an fgets-style reader: a line
 * of 200 or more bytes (its '\n' included) is silently split into two "lines", which would
 * both mangle the value and shift every later line number. So lines are measured here first. */
#define INI_LINE_BUFFER 200
#define MAX_LINE_BYTES  (INI_LINE_BUFFER - 1)
#define MAX_ENV_VALUE   8192 /* room for 64 CA ids in JITRD_CA_ALLOW, and long paths */
#define MAX_PATH_BYTES  4096 /* PATH_MAX on Linux, NUL included */
#define CA_ID_LEN       64
#define QUOTED_MAX      100 /* bytes of a quoted value in a message */

enum kind {
	K_STRING, /* free text, optionally checked */
	K_PATH,   /* a file or directory; relative ones are joined to base_dir */
	K_BOOL,
	K_INT,            /* strtol over the whole string, min..max */
	K_DOUBLE,         /* strtod over the whole string, > 0 and <= 10000 */
	K_ENUM,           /* one of choices; the index is the enum value */
	K_CA_LIST,        /* ca.allow */
	K_OCSP_RESPONDER, /* ocsp.responder: a URL, or <CA id>=<URL>, repeatable */
	K_URL_LIST,       /* crl.url */
};

/* Why a value was refused; shown is the part of the value to quote (NULL: all of it). */
struct fault {
	char reason[200];
	const char *shown;
	size_t shown_len;
};

struct key {
	const char *section;
	const char *name;
	const char *defval; /* the default, written as it would be in the file */
	enum kind kind;
	/* Never quote this key's value in a message. No key is secret today (mqtt.key_file is a
	 * path, not a key), but a future one (a password, a token) must set this: STYLE.md says
	 * secrets never reach a message. Values of UNKNOWN keys are never quoted either, since
	 * a misspelt secret is still a secret. */
	bool secret;
	size_t offset;                           /* of the member in struct jitrd_config */
	long min, max;                           /* K_INT */
	const char *(*check)(const char *value); /* K_STRING/K_PATH: a reason, or NULL if fine */
	const char *const *choices;              /* K_ENUM, NULL-terminated */
	void (*set_choice)(struct jitrd_config *cfg, int index); /* K_ENUM */
};

static const char *const sections[] = {"mqtt",    "aws",    "ca",     "crl", "ocsp", "provision",
                                       "service", "limits", "lambda", "sqs", NULL};

static const char *const log_formats[] = {"text", "json", NULL};
static const char *const log_levels[] = {"error", "warn", "info", "debug", NULL};
static const char *const on_rejects[] = {"leave", "revoke", NULL};
static const char *const policy_updates[] = {"version", "refuse", NULL};
static const char *const s3_addressings[] = {"virtual", "path", NULL};
static const char *const ocsp_modes[] = {"off", "fallback", "require", NULL};
static const char *const distribution_points[] = {"off", "ca", "all", NULL};
static const char *const reconcile_leases[] = {"auto", "on", "off", NULL};

static void set_log_format(struct jitrd_config *cfg, int index)
{
	cfg->service.log_format = index == 1 ? JITRD_LOG_JSON : JITRD_LOG_TEXT;
}

static void set_log_level(struct jitrd_config *cfg, int index)
{
	static const enum jitrd_log_level levels[] = {JITRD_LOG_ERROR, JITRD_LOG_WARN,
	                                              JITRD_LOG_INFO, JITRD_LOG_DEBUG};
	cfg->service.log_level = levels[index];
}

static void set_on_reject(struct jitrd_config *cfg, int index)
{
	cfg->provision.on_reject = index == 1 ? JITRD_ON_REJECT_REVOKE : JITRD_ON_REJECT_LEAVE;
}

static void set_policy_update(struct jitrd_config *cfg, int index)
{
	cfg->provision.policy_update =
	    index == 1 ? JITRD_POLICY_UPDATE_REFUSE : JITRD_POLICY_UPDATE_VERSION;
}

static void set_s3_addressing(struct jitrd_config *cfg, int index)
{
	cfg->crl.s3_addressing =
	    index == 1 ? JITRD_S3_ADDRESSING_PATH : JITRD_S3_ADDRESSING_VIRTUAL;
}

static void set_ocsp_mode(struct jitrd_config *cfg, int index)
{
	static const enum jitrd_ocsp_mode modes[] = {JITRD_OCSP_MODE_OFF, JITRD_OCSP_MODE_FALLBACK,
	                                             JITRD_OCSP_MODE_REQUIRE};
	cfg->ocsp.mode = modes[index];
}

static void set_reconcile_lease(struct jitrd_config *cfg, int index)
{
	static const enum jitrd_reconcile_lease leases[] = {
	    JITRD_RECONCILE_LEASE_AUTO, JITRD_RECONCILE_LEASE_ON, JITRD_RECONCILE_LEASE_OFF};
	cfg->service.reconcile_lease = leases[index];
}

static void set_distribution_points(struct jitrd_config *cfg, int index)
{
	static const enum jitrd_crl_distribution_points dps[] = {JITRD_CRL_DP_OFF, JITRD_CRL_DP_CA,
	                                                         JITRD_CRL_DP_ALL};
	cfg->crl.distribution_points = dps[index];
}

static bool has_space_or_control(const char *s)
{
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c <= 0x20 || c == 0x7f)
			return true;
	}
	return false;
}

static const char *check_not_empty(const char *v)
{
	return *v ? NULL : "must not be empty";
}

static const char *check_url_rest(const char *rest)
{
	if (!*rest || *rest == '/' || *rest == ':')
		return "has no host after the scheme";
	return NULL;
}

/* 1 when the host part of rest ("host[:port][/...]", "[v6][:port]") is loopback: localhost,
 * 127.0.0.0/8 or ::1. */
static int url_host_is_loopback(const char *rest)
{
	char host[64];
	size_t n;
	struct in_addr v4;
	struct in6_addr v6;

	if (*rest == '[') {
		const char *close = strchr(rest, ']');
		if (!close || (size_t)(close - rest - 1) >= sizeof(host))
			return 0;
		n = (size_t)(close - rest - 1);
		memcpy(host, rest + 1, n);
		host[n] = '\0';
		return inet_pton(AF_INET6, host, &v6) == 1 && IN6_IS_ADDR_LOOPBACK(&v6);
	}
	n = strcspn(rest, ":/");
	if (n >= sizeof(host))
		return 0;
	memcpy(host, rest, n);
	host[n] = '\0';
	if (strcasecmp(host, "localhost") == 0)
		return 1;
	return inet_pton(AF_INET, host, &v4) == 1 && (ntohl(v4.s_addr) >> 24) == 127;
}

static const char *check_mqtt_url(const char *v)
{
	static const char *const schemes[] = {"ssl://", "mqtts://", NULL};
	const char *why;

	if (!*v)
		return NULL; /* no MQTT source: Lambda, `handle`, `check` */
	if (has_space_or_control(v))
		return "holds a space or a control character";
	for (int i = 0; schemes[i]; i++) {
		size_t n = strlen(schemes[i]);
		if (strncmp(v, schemes[i], n) == 0)
			return check_url_rest(v + n);
	}
	if (strncmp(v, "tcp://", 6) == 0) {
		/* Plain MQTT carries the registration events, which decide activations, without
		 * authentication or secrecy: only to this host (tests, a local bridge), as an
		 * http:// API endpoint is only the local emulator. */
		why = check_url_rest(v + 6);
		if (!why && !url_host_is_loopback(v + 6))
			why = "tcp:// (no TLS) only to a loopback address (127.0.0.1, [::1], "
			      "localhost); use ssl:// for a remote broker";
		return why;
	}
	return "must be empty or start with ssl://, mqtts:// or tcp://";
}

static const char *check_endpoint(const char *v)
{
	if (!*v)
		return NULL; /* derived from the region */
	if (has_space_or_control(v))
		return "holds a space or a control character";
	/* http:// only makes sense for the local emulator (DESIGN §6) */
	if (strncmp(v, "https://", 8) == 0)
		return check_url_rest(v + 8);
	if (strncmp(v, "http://", 7) == 0)
		return check_url_rest(v + 7);
	return "must be empty or start with https:// or http://";
}

static const char *check_region(const char *v)
{
	/* It is pasted into the endpoint URL and the SigV4 scope, so keep it to region syntax. */
	size_t n = strlen(v);

	if (n == 0 || n > 32 || strspn(v, "abcdefghijklmnopqrstuvwxyz0123456789-") != n)
		return "must be an AWS region name such as eu-west-1 (a-z, 0-9, '-', 1..32)";
	return NULL;
}

static const char *check_optional_region(const char *v)
{
	return *v ? check_region(v) : NULL; /* empty: [aws] region */
}

/* The requests carry a SigV4 signature and maybe a session token: plain http only to this
 * host (a local S3-compatible store, tests), never across a network. */
static const char *check_s3_endpoint(const char *v)
{
	const char *why = check_endpoint(v);
	const char *rest;

	if (why || !*v)
		return why;
	if (strncmp(v, "http://", 7) == 0 && !url_host_is_loopback(v + 7))
		return "http:// (no TLS) only to a loopback address (127.0.0.1, [::1], localhost); "
		       "use https:// for a remote store";
	rest = v + (strncmp(v, "https://", 8) == 0 ? 8 : 7);
	rest += strcspn(rest, "/");
	if (strpbrk(v, "?#@") || (rest[0] == '/' && rest[1] != '\0'))
		return "must be scheme://host[:port], without a path, query or user";
	return NULL;
}

/* The queue's URL names the queue in every request (QueueUrl) and, unless [sqs] endpoint says
 * otherwise, where the signed requests go: https, or http only to this host (moto, tests). */
static const char *check_queue_url(const char *v)
{
	const char *rest;

	if (!*v)
		return NULL; /* no SQS source */
	if (has_space_or_control(v))
		return "holds a space or a control character";
	if (strncmp(v, "https://", 8) == 0)
		rest = v + 8;
	else if (strncmp(v, "http://", 7) == 0 && url_host_is_loopback(v + 7))
		rest = v + 7;
	else
		return "must be https:// (http:// only to a loopback address)";
	if (check_url_rest(rest))
		return check_url_rest(rest);
	rest += strcspn(rest, "/");
	if (strpbrk(v, "?#@") || rest[0] != '/' || rest[1] == '\0')
		return "must be scheme://host[:port]/ACCOUNT/QUEUE, without a query or user";
	return NULL;
}

static const char *check_signing_name(const char *v)
{
	if (strcmp(v, "iot") == 0 || strcmp(v, "execute-api") == 0)
		return NULL;
	return "must be one of: iot, execute-api";
}

static const char *check_account_id(const char *v)
{
	if (!*v || (strlen(v) == 12 && strspn(v, "0123456789") == 12))
		return NULL;
	return "must be empty or 12 digits";
}

static bool parse_long(const char *s, long min, long max, long *out)
{
	char *end;
	long v;

	/* strtol alone would accept " 5" and "+5"; the whole string must be the number */
	if (!(*s == '-' || isdigit((unsigned char)*s)))
		return false;
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < min || v > max)
		return false;
	*out = v;
	return true;
}

/* AWS IoT's ThingName: [a-zA-Z0-9:_-]{1,128} (botocore iot/2015-05-28). */
static const char *check_thing_name(const char *v)
{
	size_t n = strlen(v);

	if (n == 0 || n > 128)
		return "must be 1 to 128 characters of a-z, A-Z, 0-9, ':', '_', '-'";
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)v[i]) && !strchr(":_-", v[i]))
			return "must be 1 to 128 characters of a-z, A-Z, 0-9, ':', '_', '-'";
	return NULL;
}

static const char *check_listen(const char *v)
{
	const char *colon;
	long port;

	if (!*v)
		return NULL; /* no health/metrics server */
	if (has_space_or_control(v))
		return "holds a space or a control character";
	colon = strrchr(v, ':'); /* the last one, so "[::1]:9464" works */
	if (!colon || colon == v)
		return "must be empty or host:port";
	if (!parse_long(colon + 1, 1, 65535, &port))
		return "must be empty or host:port with a port from 1 to 65535";
	return NULL;
}

#define AT(member) offsetof(struct jitrd_config, member)
/* Every key, its default (config.h) and its rule. Defaults go through the same setters as file
 * and environment values, so a default that breaks its own rule fails every test. */
static const struct key keys[] = {
    {"mqtt", "url", "", K_STRING, .offset = AT(mqtt.url), .check = check_mqtt_url},
    {"mqtt", "client_id", "jitrd", K_STRING, .offset = AT(mqtt.client_id),
     .check = check_not_empty},
    {"mqtt", "topic", "$aws/events/certificates/registered/+", K_STRING, .offset = AT(mqtt.topic),
     .check = check_not_empty},
    {"mqtt", "ca_file", "", K_PATH, .offset = AT(mqtt.ca_file)},
    {"mqtt", "cert_file", "", K_PATH, .offset = AT(mqtt.cert_file)},
    {"mqtt", "key_file", "", K_PATH, .offset = AT(mqtt.key_file)},
    {"mqtt", "alpn", "", K_STRING, .offset = AT(mqtt.alpn)},
    {"mqtt", "clean_session", "false", K_BOOL, .offset = AT(mqtt.clean_session)},
    {"mqtt", "keepalive", "60", K_INT, .offset = AT(mqtt.keepalive), .min = 5, .max = 3600},
    {"mqtt", "qos", "1", K_INT, .offset = AT(mqtt.qos), .min = 0, .max = 1},
    {"mqtt", "subscribe_grace_seconds", "120", K_INT, .offset = AT(mqtt.subscribe_grace_seconds),
     .min = 1, .max = 86400},
    {"aws", "region", "us-east-1", K_STRING, .offset = AT(aws.region), .check = check_region},
    {"aws", "endpoint", "", K_STRING, .offset = AT(aws.endpoint), .check = check_endpoint},
    {"aws", "signing_name", "iot", K_STRING, .offset = AT(aws.signing_name),
     .check = check_signing_name},
    {"aws", "profile", "", K_STRING, .offset = AT(aws.profile)},
    {"aws", "account_id", "", K_STRING, .offset = AT(aws.account_id), .check = check_account_id},
    {"ca", "dir", "/etc/jitrd/ca", K_PATH, .offset = AT(ca.dir), .check = check_not_empty},
    {"ca", "allow", "", K_CA_LIST, .offset = 0},
    {"ca", "anchors", "", K_PATH, .offset = AT(ca.anchors)},
    {"crl", "dir", "/etc/jitrd/crl", K_PATH, .offset = AT(crl.dir), .check = check_not_empty},
    {"crl", "fail_open", "false", K_BOOL, .offset = AT(crl.fail_open)},
    {"crl", "reload_seconds", "300", K_INT, .offset = AT(crl.reload_seconds), .min = 0,
     .max = 604800},
    {"crl", "s3_region", "", K_STRING, .offset = AT(crl.s3_region), .check = check_optional_region},
    {"crl", "s3_endpoint", "", K_STRING, .offset = AT(crl.s3_endpoint), .check = check_s3_endpoint},
    {"crl", "s3_addressing", "virtual", K_ENUM, .choices = s3_addressings,
     .set_choice = set_s3_addressing},
    {"ocsp", "mode", "off", K_ENUM, .choices = ocsp_modes, .set_choice = set_ocsp_mode},
    {"ocsp", "responder", "", K_OCSP_RESPONDER, .offset = 0},
    {"ocsp", "timeout_seconds", "5", K_INT, .offset = AT(ocsp.timeout_seconds), .min = 1,
     .max = 60},
    {"ocsp", "max_skew_seconds", "300", K_INT, .offset = AT(ocsp.max_skew_seconds), .min = 0,
     .max = 3600},
    {"ocsp", "nonce", "true", K_BOOL, .offset = AT(ocsp.nonce)},
    {"crl", "url", "", K_URL_LIST, .offset = 0},
    {"crl", "distribution_points", "off", K_ENUM, .choices = distribution_points,
     .set_choice = set_distribution_points},
    {"crl", "refresh_seconds", "3600", K_INT, .offset = AT(crl.refresh_seconds), .min = 1,
     .max = 604800},
    {"crl", "fetch_timeout_seconds", "60", K_INT, .offset = AT(crl.fetch_timeout_seconds), .min = 1,
     .max = 3600},
    {"crl", "fetch_max_bytes", "268435456", K_INT, .offset = AT(crl.fetch_max_bytes), .min = 1024,
     .max = 536870912},
    {"provision", "policy_template", "/etc/jitrd/policies/default.json", K_PATH,
     .offset = AT(provision.policy_template), .check = check_not_empty},
    {"provision", "policy_name", "jitrd-device", K_STRING, .offset = AT(provision.policy_name),
     .check = check_not_empty},
    {"provision", "thing_name", "", K_STRING, .offset = AT(provision.thing_name)},
    {"provision", "on_reject", "leave", K_ENUM, .choices = on_rejects, .set_choice = set_on_reject},
    {"provision", "policy_update", "version", K_ENUM, .choices = policy_updates,
     .set_choice = set_policy_update},
    {"service", "workers", "4", K_INT, .offset = AT(service.workers), .min = 1, .max = 256},
    {"service", "event_deadline_seconds", "30", K_INT, .offset = AT(service.event_deadline_seconds),
     .min = 1, .max = 900},
    {"service", "reconcile_seconds", "3600", K_INT, .offset = AT(service.reconcile_seconds),
     .min = 0, .max = 604800},
    {"service", "reconcile_lease", "auto", K_ENUM, .choices = reconcile_leases,
     .set_choice = set_reconcile_lease},
    {"service", "reconcile_lease_thing", "jitrd-reconcile-lease", K_STRING,
     .offset = AT(service.reconcile_lease_thing), .check = check_thing_name},
    {"service", "state_dir", "/var/lib/jitrd", K_PATH, .offset = AT(service.state_dir),
     .check = check_not_empty},
    {"service", "listen", "", K_STRING, .offset = AT(service.listen), .check = check_listen},
    {"service", "log_format", "text", K_ENUM, .choices = log_formats, .set_choice = set_log_format},
    {"service", "log_level", "info", K_ENUM, .choices = log_levels, .set_choice = set_log_level},
    {"service", "remember_seconds", "3600", K_INT, .offset = AT(service.remember_seconds), .min = 0,
     .max = 604800},
    {"service", "journal_max_rows", "100000", K_INT, .offset = AT(service.journal_max_rows),
     .min = 1000, .max = 100000000},
    {"lambda", "batch_concurrency", "10", K_INT, .offset = AT(lambda.batch_concurrency), .min = 1,
     .max = 64},
    {"sqs", "queue_url", "", K_STRING, .offset = AT(sqs.queue_url), .check = check_queue_url},
    {"sqs", "region", "", K_STRING, .offset = AT(sqs.region), .check = check_optional_region},
    {"sqs", "endpoint", "", K_STRING, .offset = AT(sqs.endpoint), .check = check_s3_endpoint},
    {"sqs", "wait_time_seconds", "20", K_INT, .offset = AT(sqs.wait_time_seconds), .min = 0,
     .max = 20},
    {"sqs", "max_messages", "10", K_INT, .offset = AT(sqs.max_messages), .min = 1, .max = 10},
    {"sqs", "pollers", "2", K_INT, .offset = AT(sqs.pollers), .min = 1, .max = 16},
    {"sqs", "visibility_timeout_seconds", "60", K_INT, .offset = AT(sqs.visibility_timeout_seconds),
     .min = 0, .max = 43200},
    {"limits", "update_certificate", "10", K_DOUBLE, .offset = AT(limits.update_certificate)},
    {"limits", "describe_certificate", "10", K_DOUBLE, .offset = AT(limits.describe_certificate)},
    {"limits", "create_policy", "10", K_DOUBLE, .offset = AT(limits.create_policy)},
    {"limits", "attach_policy", "15", K_DOUBLE, .offset = AT(limits.attach_policy)},
    {"limits", "create_thing", "15", K_DOUBLE, .offset = AT(limits.create_thing)},
    {"limits", "attach_thing_principal", "15", K_DOUBLE,
     .offset = AT(limits.attach_thing_principal)},
    {"limits", "list_certificates_by_ca", "10", K_DOUBLE,
     .offset = AT(limits.list_certificates_by_ca)},
    /* Service Quotas, AWS IoT Core, "RegisterCertificate API TPS" (L-8C0011A3): 10 by
     * default, like the other certificate operations above */
    {"limits", "register_certificate", "10", K_DOUBLE, .offset = AT(limits.register_certificate)},
};

#define KEY_COUNT (sizeof(keys) / sizeof(keys[0]))

static char **string_member(struct jitrd_config *cfg, const struct key *k)
{
	return (char **)(void *)((char *)cfg + k->offset);
}

static const struct key *find_key(const char *section, const char *name)
{
	for (size_t i = 0; i < KEY_COUNT; i++) {
		if (strcmp(keys[i].section, section) == 0 && strcmp(keys[i].name, name) == 0)
			return &keys[i];
	}
	return NULL;
}

static bool known_section(const char *name, size_t len)
{
	for (int i = 0; sections[i]; i++) {
		if (strlen(sections[i]) == len && strncmp(sections[i], name, len) == 0)
			return true;
	}
	return false;
}

static void set_reason(struct fault *f, const char *reason)
{
	snprintf(f->reason, sizeof(f->reason), "%s", reason);
}

/* Replaces the string member with a copy of value (joined to base_dir for a relative path). */
static enum jitrd_err set_string(struct jitrd_config *cfg, const struct key *k, const char *value,
                                 const char *base_dir, struct fault *f)
{
	char joined[MAX_PATH_BYTES];
	char **member = string_member(cfg, k);
	char *copy;

	if (k->kind == K_PATH && *value && *value != '/' && base_dir && *base_dir) {
		size_t blen = strlen(base_dir);
		const char *sep = base_dir[blen - 1] == '/' ? "" : "/";
		int n = snprintf(joined, sizeof(joined), "%s%s%s", base_dir, sep, value);
		if (n < 0 || (size_t)n >= sizeof(joined)) {
			set_reason(f,
			           "path longer than 4095 bytes once joined to the configuration's "
			           "directory");
			return JITRD_ERR_CONFIG;
		}
		value = joined;
	}
	copy = strdup(value);
	if (!copy)
		return JITRD_ERR_NOMEM;
	free(*member);
	*member = copy;
	return JITRD_OK;
}

static void clear_ca_allow(struct jitrd_config *cfg)
{
	for (size_t i = 0; i < cfg->ca.allow_count; i++) {
		free(cfg->ca.allow[i]);
		cfg->ca.allow[i] = NULL;
	}
	cfg->ca.allow_count = 0;
}

/* Adds the comma list in value to ca.allow: ids lowercased, duplicates dropped. */
static enum jitrd_err add_ca_allow(struct jitrd_config *cfg, const char *value, struct fault *f)
{
	const char *p = value + strspn(value, " \t");
	unsigned item = 0;

	if (!*p)
		return JITRD_OK; /* an empty list: every CA in ca.dir */
	for (;;) {
		const char *start, *end, *next;
		char id[CA_ID_LEN + 1];
		bool known = false;

		item++;
		next = strchr(p, ',');
		end = next ? next : p + strlen(p);
		start = p + strspn(p, " \t");
		while (end > start && (end[-1] == ' ' || end[-1] == '\t'))
			end--;
		if ((size_t)(end - start) != CA_ID_LEN) {
			snprintf(f->reason, sizeof(f->reason),
			         "item %u is not a CA id (64 hex digits)", item);
			f->shown = start;
			f->shown_len = (size_t)(end - start);
			return JITRD_ERR_CONFIG;
		}
		if (!jitrd_hex_lower_copy(start, CA_ID_LEN, id)) {
			snprintf(f->reason, sizeof(f->reason),
			         "item %u is not a CA id (64 hex digits)", item);
			f->shown = start;
			f->shown_len = CA_ID_LEN;
			return JITRD_ERR_CONFIG;
		}
		for (size_t i = 0; i < cfg->ca.allow_count; i++)
			known = known || strcmp(cfg->ca.allow[i], id) == 0;
		if (!known) {
			if (cfg->ca.allow_count == JITRD_CONFIG_MAX_LIST) {
				snprintf(f->reason, sizeof(f->reason), "more than %d CA ids",
				         JITRD_CONFIG_MAX_LIST);
				f->shown = start;
				f->shown_len = CA_ID_LEN;
				return JITRD_ERR_CONFIG;
			}
			cfg->ca.allow[cfg->ca.allow_count] = strdup(id);
			if (!cfg->ca.allow[cfg->ca.allow_count])
				return JITRD_ERR_NOMEM;
			cfg->ca.allow_count++;
		}
		if (!next)
			return JITRD_OK;
		p = next + 1;
	}
}

static void clear_ocsp_responders(struct jitrd_config *cfg)
{
	for (size_t i = 0; i < cfg->ocsp.ca_responder_count; i++) {
		free(cfg->ocsp.ca_responder_id[i]);
		free(cfg->ocsp.ca_responder_url[i]);
		cfg->ocsp.ca_responder_id[i] = cfg->ocsp.ca_responder_url[i] = NULL;
	}
	cfg->ocsp.ca_responder_count = 0;
	free(cfg->ocsp.responder);
	cfg->ocsp.responder = NULL;
}

/* An OCSP responder: http:// or https:// (responses are signed, so plain http is fine, RFC
 * 6960 Appendix A.1), a host, no space or control character. */
static const char *check_ocsp_url(const char *v)
{
	if (has_space_or_control(v))
		return "holds a space or a control character";
	if (strncasecmp(v, "https://", 8) == 0)
		return check_url_rest(v + 8);
	if (strncasecmp(v, "http://", 7) == 0)
		return check_url_rest(v + 7);
	return "must be an http:// or https:// URL, or <CA id>=<URL>";
}

/* One responder line: "<URL>" is the default (once), "<CA id>=<URL>" one CA's (once each). */
static enum jitrd_err add_ocsp_responder(struct jitrd_config *cfg, const char *value,
                                         struct fault *f)
{
	const char *eq = strchr(value, '=');
	const char *url = value;
	char id[CA_ID_LEN + 1] = "";
	const char *reason;
	char *copy;

	if (!cfg->ocsp.responder && !(cfg->ocsp.responder = strdup("")))
		return JITRD_ERR_NOMEM;
	if (!*value)
		return JITRD_OK;
	if (eq && eq - value == CA_ID_LEN && jitrd_hex_lower_copy(value, CA_ID_LEN, id))
		url = eq + 1;
	if ((reason = check_ocsp_url(url)) != NULL) {
		set_reason(f, reason);
		return JITRD_ERR_CONFIG;
	}
	if (!*id) {
		if (*cfg->ocsp.responder) {
			set_reason(f, "a second default responder (a CA's own is <CA id>=<URL>)");
			return JITRD_ERR_CONFIG;
		}
		if (!(copy = strdup(url)))
			return JITRD_ERR_NOMEM;
		free(cfg->ocsp.responder);
		cfg->ocsp.responder = copy;
		return JITRD_OK;
	}
	for (size_t i = 0; i < cfg->ocsp.ca_responder_count; i++) {
		if (strcmp(cfg->ocsp.ca_responder_id[i], id) == 0) {
			set_reason(f, "a second responder for this CA");
			return JITRD_ERR_CONFIG;
		}
	}
	if (cfg->ocsp.ca_responder_count == JITRD_CONFIG_MAX_LIST) {
		snprintf(f->reason, sizeof(f->reason), "more than %d CA responders",
		         JITRD_CONFIG_MAX_LIST);
		return JITRD_ERR_CONFIG;
	}
	if (!(copy = strdup(id)))
		return JITRD_ERR_NOMEM;
	if (!(cfg->ocsp.ca_responder_url[cfg->ocsp.ca_responder_count] = strdup(url))) {
		free(copy);
		return JITRD_ERR_NOMEM;
	}
	cfg->ocsp.ca_responder_id[cfg->ocsp.ca_responder_count++] = copy;
	return JITRD_OK;
}

static void clear_crl_urls(struct jitrd_config *cfg)
{
	for (size_t i = 0; i < cfg->crl.url_count; i++) {
		free(cfg->crl.url[i]);
		cfg->crl.url[i] = NULL;
	}
	cfg->crl.url_count = 0;
}

/* Why url (len bytes) cannot be a CRL source, or NULL. Credentials never travel in a URL
 * (userinfo is refused; http:// is fine for CRLs, which are signed: RFC 5280 §4.2.1.13). */
static const char *check_crl_url(const char *url, size_t len, const char **shown_from)
{
	static const char *const schemes[] = {"http://", "https://", "s3://", NULL};
	const char *rest = NULL;
	size_t authority;

	if (len >= JITRD_CONFIG_URL_MAX)
		return "is longer than 2047 bytes";
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)url[i];
		if (c <= 0x20 || c >= 0x7f)
			return "holds a control or non-ASCII character";
	}
	for (int i = 0; schemes[i]; i++) {
		size_t n = strlen(schemes[i]);
		if (len > n && strncasecmp(url, schemes[i], n) == 0)
			rest = url + n;
	}
	if (!rest)
		return "must start with http://, https:// or s3://";
	authority = strcspn(rest, "/?#");
	if ((size_t)(url + len - rest) < authority)
		authority = (size_t)(url + len - rest);
	if (authority == 0 || *rest == ':')
		return "has no host after the scheme";
	if (memchr(rest, '@', authority)) {
		/* the password must not reach the message either: only what follows it */
		*shown_from = (const char *)memchr(rest, '@', authority) + 1;
		return "holds a user name or password (not allowed in a URL)";
	}
	if (strncasecmp(url, "s3://", 5) == 0 && authority == (size_t)(url + len - rest))
		return "s3:// needs a key after the bucket (s3://bucket/key)";
	return NULL;
}

/* Adds the URLs in value (separated by commas or white space) to crl.url, dropping
 * duplicates. A refused URL is shown without its query, which may hold a signature. */
static enum jitrd_err add_crl_urls(struct jitrd_config *cfg, const char *value, struct fault *f)
{
	const char *p = value;
	unsigned item = 0;

	for (;;) {
		size_t len;
		const char *why;
		const char *from;
		bool known = false;

		p += strspn(p, ", \t");
		if (!*p)
			return JITRD_OK;
		item++;
		len = strcspn(p, ", \t");
		from = p;
		if ((why = check_crl_url(p, len, &from)) != NULL) {
			snprintf(f->reason, sizeof(f->reason), "item %u %s", item, why);
			f->shown = from;
			f->shown_len = strcspn(from, "?, \t");
			return JITRD_ERR_CONFIG;
		}
		for (size_t i = 0; i < cfg->crl.url_count; i++)
			known = known || (strlen(cfg->crl.url[i]) == len &&
			                  strncmp(cfg->crl.url[i], p, len) == 0);
		if (!known) {
			if (cfg->crl.url_count == JITRD_CONFIG_MAX_LIST) {
				snprintf(f->reason, sizeof(f->reason), "more than %d URLs",
				         JITRD_CONFIG_MAX_LIST);
				f->shown = p;
				f->shown_len =
				    strcspn(p, "?, \t") < len ? strcspn(p, "?, \t") : len;
				return JITRD_ERR_CONFIG;
			}
			cfg->crl.url[cfg->crl.url_count] = strndup(p, len);
			if (!cfg->crl.url[cfg->crl.url_count])
				return JITRD_ERR_NOMEM;
			cfg->crl.url_count++;
		}
		p += len;
	}
}

static bool parse_bool(const char *s, bool *out)
{
	static const char *const yes[] = {"true", "yes", "on", "1", NULL};
	static const char *const no[] = {"false", "no", "off", "0", NULL};

	for (int i = 0; yes[i]; i++) {
		if (strcasecmp(s, yes[i]) == 0) {
			*out = true;
			return true;
		}
		if (strcasecmp(s, no[i]) == 0) {
			*out = false;
			return true;
		}
	}
	return false;
}

static bool parse_rate(const char *s, double *out)
{
	size_t n = strlen(s);
	char *end;
	double v;

	/* Plain decimal only: strtod would also take " 5", "0x10", "inf" and "nan". */
	if (n == 0 || strspn(s, "0123456789.eE+-") != n)
		return false;
	errno = 0;
	v = strtod(s, &end);
	if (errno != 0 || *end != '\0' || !isfinite(v) || !(v > 0.0) || v > 10000.0)
		return false;
	*out = v;
	return true;
}

/* Checks value against k's rule and stores it. append: ca.allow adds to the list (repeated
 * allow lines in the file) instead of replacing it (the environment). Errors: JITRD_ERR_CONFIG
 * with f filled, JITRD_ERR_NOMEM. */
static enum jitrd_err set_value(struct jitrd_config *cfg, const struct key *k, const char *value,
                                bool append, const char *base_dir, struct fault *f)
{
	const char *reason;
	long number;
	double rate;
	bool flag;

	switch (k->kind) {
	case K_STRING:
	case K_PATH:
		reason = k->check ? k->check(value) : NULL;
		if (reason) {
			set_reason(f, reason);
			return JITRD_ERR_CONFIG;
		}
		return set_string(cfg, k, value, base_dir, f);
	case K_BOOL:
		if (!parse_bool(value, &flag)) {
			set_reason(f, "must be true/false, yes/no, on/off or 1/0");
			return JITRD_ERR_CONFIG;
		}
		*(bool *)(void *)((char *)cfg + k->offset) = flag;
		return JITRD_OK;
	case K_INT:
		if (!parse_long(value, k->min, k->max, &number)) {
			snprintf(f->reason, sizeof(f->reason), "must be an integer from %ld to %ld",
			         k->min, k->max);
			return JITRD_ERR_CONFIG;
		}
		*(int *)(void *)((char *)cfg + k->offset) = (int)number;
		return JITRD_OK;
	case K_DOUBLE:
		if (!parse_rate(value, &rate)) {
			set_reason(f, "must be a number of requests per second, > 0 and <= 10000");
			return JITRD_ERR_CONFIG;
		}
		*(double *)(void *)((char *)cfg + k->offset) = rate;
		return JITRD_OK;
	case K_ENUM:
		for (int i = 0; k->choices[i]; i++) {
			if (strcasecmp(value, k->choices[i]) == 0) {
				k->set_choice(cfg, i);
				return JITRD_OK;
			}
		}
		snprintf(f->reason, sizeof(f->reason), "must be one of:");
		for (int i = 0; k->choices[i]; i++) {
			size_t used = strlen(f->reason);
			snprintf(f->reason + used, sizeof(f->reason) - used, "%s %s", i ? "," : "",
			         k->choices[i]);
		}
		return JITRD_ERR_CONFIG;
	case K_CA_LIST:
		if (!append)
			clear_ca_allow(cfg);
		return add_ca_allow(cfg, value, f);
	case K_OCSP_RESPONDER:
		if (!append)
			clear_ocsp_responders(cfg);
		return add_ocsp_responder(cfg, value, f);
	case K_URL_LIST:
		if (!append)
			clear_crl_urls(cfg);
		return add_crl_urls(cfg, value, f);
	}
	set_reason(f, "internal error: unknown kind of key");
	return JITRD_ERR_CONFIG;
}

/* "reason (value 'quoted')", or just the reason for a secret key. */
static void format_fault(char *out, size_t size, const char *prefix, const struct key *k,
                         const char *value, const struct fault *f)
{
	char quoted[QUOTED_MAX + 8];
	const char *shown = f->shown ? f->shown : value;
	size_t shown_len = f->shown ? f->shown_len : strlen(value);

	if (k->secret) {
		snprintf(out, size, "%s%s", prefix, f->reason);
		return;
	}
	jitrd_quote(quoted, sizeof(quoted), shown, shown_len);
	snprintf(out, size, "%s%s (value '%s')", prefix, f->reason, quoted);
}

/* ---- the file ---------------------------------------------------------------------------- */

struct file_ctx {
	struct jitrd_config *cfg;
	const char *base_dir;
	bool seen[KEY_COUNT];
	enum jitrd_err err; /* the handler's first failure; inih gives its line */
	char message[sizeof(((struct jitrd_diag *)0)->text)]; /* without "origin:line: " */
};

/* The first line the pre-scan refuses; 0 when every line is fine. */
struct prescan {
	int line;
	size_t line_start; /* offset of that line: inih reads only the text before it */
	char message[sizeof(((struct jitrd_diag *)0)->text)];
};

static int accept_pair(void *user, const char *section, const char *name, const char *value)
{
	(void)user;
	(void)section;
	(void)name;
	(void)value;
	return 1;
}

/* inih handler. It gets no line number (INI_HANDLER_LINENO=0), so it never formats one: it
 * refuses the pair (returns 0) and inih's return value is then that pair's line. */
static int on_pair(void *user, const char *section, const char *name, const char *value)
{
	struct file_ctx *ctx = user;
	struct fault f = {{0}, NULL, 0};
	char prefix[160];
	char qname[64], qsection[64];
	const struct key *k;
	enum jitrd_err err;

	if (ctx->err != JITRD_OK)
		return 1; /* only the first failure is reported, and inih keeps the first line */
	jitrd_quote(qname, sizeof(qname), name, strlen(name));
	jitrd_quote(qsection, sizeof(qsection), section, strlen(section));
	k = find_key(section, name);
	if (!k) {
		/* The value of an unknown key is never shown: it may be a misplaced secret. */
		if (!*section)
			snprintf(ctx->message, sizeof(ctx->message),
			         "key '%s' before any [section]", qname);
		else if (!known_section(section, strlen(section)))
			snprintf(ctx->message, sizeof(ctx->message), "unknown section [%s]",
			         qsection);
		else
			snprintf(ctx->message, sizeof(ctx->message), "[%s] %s: unknown key",
			         qsection, qname);
		ctx->err = JITRD_ERR_CONFIG;
		return 0;
	}
	snprintf(prefix, sizeof(prefix), "[%s] %s: ", k->section, k->name);
	/* Two `url =` lines are a mistake, not an override: refuse rather than guess which one
	 * the operator meant. ca.allow and crl.url are lists and may be spread over several
	 * lines, and ocsp.responder takes one line per CA. */
	if (ctx->seen[k - keys] && k->kind != K_CA_LIST && k->kind != K_OCSP_RESPONDER &&
	    k->kind != K_URL_LIST) {
		snprintf(ctx->message, sizeof(ctx->message),
		         "%sduplicate key (each key may appear once)", prefix);
		ctx->err = JITRD_ERR_CONFIG;
		return 0;
	}
	ctx->seen[k - keys] = true;
	err = set_value(ctx->cfg, k, value, true, ctx->base_dir, &f);
	if (err != JITRD_OK) {
		if (err == JITRD_ERR_CONFIG)
			format_fault(ctx->message, sizeof(ctx->message), prefix, k, value, &f);
		ctx->err = err;
		return 0;
	}
	return 1;
}

static bool is_bom(const char *p, size_t n)
{
	return n >= 3 && (unsigned char)p[0] == 0xef && (unsigned char)p[1] == 0xbb &&
	       (unsigned char)p[2] == 0xbf;
}

/* Finds what inih would get wrong or let pass silently: NUL bytes (inih stops at the first
 * one), lines it would split, indented lines (inih joins them to the previous key's value as
 * a continuation), [sections] that are unknown (inih calls no handler for an empty section)
 * or followed by text (inih ignores it). Line numbers count '\n' like inih does, which is
 * exact here because no line reaching inih is split. */
static void prescan(const char *text, size_t len, struct prescan *ps)
{
	size_t pos = 0;
	int line = 0;

	ps->line = 0;
	while (pos < len) {
		const char *start = text + pos;
		const char *nl = memchr(start, '\n', len - pos);
		size_t total = nl ? (size_t)(nl - start) + 1 : len - pos;
		size_t n = nl ? (size_t)(nl - start) : total; /* without the '\n' */
		const char *p = start;

		line++;
		ps->line = line;
		ps->line_start = pos;
		pos += total;
		if (memchr(start, '\0', n)) {
			snprintf(ps->message, sizeof(ps->message), "NUL byte");
			return;
		}
		if (total > MAX_LINE_BYTES) {
			snprintf(ps->message, sizeof(ps->message), "line longer than %d characters",
			         MAX_LINE_BYTES);
			return;
		}
		if (line == 1 && is_bom(p, n)) {
			p += 3;
			n -= 3;
		}
		while (n > 0 && isspace((unsigned char)p[n - 1]))
			n--;
		if (n == 0)
			continue;
		if (isspace((unsigned char)*p)) {
			size_t skip = 0;
			while (skip < n && isspace((unsigned char)p[skip]))
				skip++;
			if (p[skip] == ';' || p[skip] == '#')
				continue;
			snprintf(ps->message, sizeof(ps->message),
			         "indented line: remove the leading space (inih would read it as "
			         "the continuation of the value above)");
			return;
		}
		if (*p == '[') {
			const char *close = memchr(p, ']', n);
			const char *rest;
			char quoted[64];

			if (!close)
				continue; /* inih reports it as a syntax error */
			if (!known_section(p + 1, (size_t)(close - p - 1))) {
				jitrd_quote(quoted, sizeof(quoted), p + 1, (size_t)(close - p - 1));
				snprintf(ps->message, sizeof(ps->message), "unknown section [%s]",
				         quoted);
				return;
			}
			rest = close + 1;
			while (rest < p + n && isspace((unsigned char)*rest))
				rest++;
			if (rest < p + n && *rest != ';' && *rest != '#') {
				snprintf(ps->message, sizeof(ps->message),
				         "text after the section header");
				return;
			}
		}
	}
	ps->line = 0;
}

/* The reason for a line inih refused while calling no handler. */
static void describe_syntax_error(const char *text, size_t len, int line, char *out, size_t size)
{
	const char *p = text;
	const char *end = text + len;

	for (int i = 1; i < line && p < end; i++) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		p = nl ? nl + 1 : end;
	}
	if (line == 1 && is_bom(p, (size_t)(end - p)))
		p += 3;
	while (p < end && isspace((unsigned char)*p) && *p != '\n')
		p++;
	if (p < end && *p == '[')
		snprintf(out, size, "section header without ']'");
	else
		snprintf(out, size,
		         "missing '=' (expected 'key = value', '[section]' or a comment)");
}

/* Applies the INI text to cfg. Line numbers in messages are never guessed: the handler gets
 * none from inih (INI_HANDLER_LINENO=0), so it refuses the first bad pair and the line comes
 * from inih's own return value ("line number of first error"); the pre-scan counts '\n' the
 * way inih does for what inih cannot see. Errors: JITRD_ERR_CONFIG (diag set), NOMEM. */
static enum jitrd_err parse_file(struct jitrd_config *cfg, const char *origin, const char *text,
                                 size_t len, const char *base_dir, struct jitrd_diag *diag)
{
	enum jitrd_err result = JITRD_ERR_NOMEM;
	struct file_ctx ctx;
	struct prescan ps;
	char *copy = NULL;
	char syntax[128];
	int syntax_line, first_error;

	prescan(text, len, &ps);
	/* inih reads only the lines before the first refused one: an earlier error still wins,
	 * and nothing it cannot read correctly reaches it. The copy is NUL-free (pre-scanned). */
	copy = strndup(text, ps.line ? ps.line_start : len);
	if (!copy)
		goto cleanup;
	memset(&ctx, 0, sizeof(ctx));
	ctx.cfg = cfg;
	ctx.base_dir = base_dir;
	/* Pass 1 finds the first syntax error (a line that calls no handler); pass 2 applies the
	 * pairs and its return value is the first line refused by either. Equal lines: syntax. */
	syntax_line = ini_parse_string(copy, accept_pair, NULL);
	first_error = ini_parse_string(copy, on_pair, &ctx);
	if (ctx.err == JITRD_ERR_NOMEM)
		goto cleanup;
	result = JITRD_ERR_CONFIG;
	if (first_error < 0 || syntax_line < 0) {
		jitrd_diag_set(diag, "%s: the INI parser failed (%d)", origin,
		               first_error < 0 ? first_error : syntax_line);
		goto cleanup;
	}
	if (first_error > 0 && (first_error == syntax_line || ctx.err == JITRD_OK)) {
		describe_syntax_error(text, len, first_error, syntax, sizeof(syntax));
		jitrd_diag_set(diag, "%s:%d: %s", origin, first_error, syntax);
		goto cleanup;
	}
	if (first_error > 0) {
		jitrd_diag_set(diag, "%s:%d: %s", origin, first_error, ctx.message);
		goto cleanup;
	}
	if (ps.line) {
		jitrd_diag_set(diag, "%s:%d: %s", origin, ps.line, ps.message);
		goto cleanup;
	}
	result = JITRD_OK;
cleanup:
	free(copy);
	return result;
}

/* ---- the environment --------------------------------------------------------------------- */

/* k's variable name is JITRD_<SECTION>_<KEY> in upper case; name_key is the part after the
 * section's '_'. */
static bool env_key_matches(const struct key *k, const char *name_key, size_t len)
{
	size_t n = strlen(k->name);

	if (n != len)
		return false;
	for (size_t i = 0; i < n; i++) {
		if (toupper((unsigned char)k->name[i]) != name_key[i])
			return false;
	}
	return true;
}

static enum jitrd_err apply_entry(struct jitrd_config *cfg, const char *entry, const char *base_dir,
                                  bool *seen, struct jitrd_diag *diag)
{
	const char *eq = strchr(entry, '=');
	size_t name_len = eq ? (size_t)(eq - entry) : strlen(entry);
	const char *sec = entry + 6; /* after "JITRD_" */
	const char *under = memchr(sec, '_', name_len - 6);
	size_t sec_len = under ? (size_t)(under - sec) : name_len - 6;
	const struct key *k = NULL;
	struct fault f = {{0}, NULL, 0};
	char qname[100], prefix[160];
	char section_lower[16];
	enum jitrd_err err;

	/* Only JITRD_<known section>_... is ours; JITRD_FIXTURES and other tools' variables are
	 * left alone. Sections match in any case so JITRD_Mqtt_URL is reported, not ignored. */
	if (sec_len == 0 || sec_len >= sizeof(section_lower))
		return JITRD_OK;
	for (size_t i = 0; i < sec_len; i++)
		section_lower[i] = (char)tolower((unsigned char)sec[i]);
	section_lower[sec_len] = '\0';
	if (!known_section(section_lower, sec_len))
		return JITRD_OK;
	jitrd_quote(qname, sizeof(qname), entry, name_len);
	snprintf(prefix, sizeof(prefix), "environment %s: ", qname);
	if (under) {
		for (size_t i = 0; i < KEY_COUNT && !k; i++) {
			if (strcmp(keys[i].section, section_lower) == 0 &&
			    env_key_matches(&keys[i], under + 1, name_len - 6 - sec_len - 1))
				k = &keys[i];
		}
	}
	for (size_t i = 0; k && i < sec_len; i++) {
		if (islower((unsigned char)sec[i]))
			k = NULL; /* names are upper case */
	}
	if (!k) {
		jitrd_diag_set(diag,
		               "%sunknown key (variables are JITRD_<SECTION>_<KEY>, upper case)",
		               prefix);
		return JITRD_ERR_CONFIG;
	}
	if (!eq) {
		jitrd_diag_set(diag, "%snot a NAME=value entry", prefix);
		return JITRD_ERR_CONFIG;
	}
	if (seen[k - keys]) {
		jitrd_diag_set(diag, "%sset more than once", prefix);
		return JITRD_ERR_CONFIG;
	}
	seen[k - keys] = true;
	if (strlen(eq + 1) > MAX_ENV_VALUE) {
		jitrd_diag_set(diag, "%svalue longer than %d bytes", prefix, MAX_ENV_VALUE);
		return JITRD_ERR_CONFIG;
	}
	err = set_value(cfg, k, eq + 1, false, base_dir, &f);
	if (err == JITRD_ERR_CONFIG) {
		char message[sizeof(diag->text)];
		format_fault(message, sizeof(message), prefix, k, eq + 1, &f);
		jitrd_diag_set(diag, "%s", message);
	}
	return err;
}

static enum jitrd_err apply_environment(struct jitrd_config *cfg, const char *const *envp,
                                        const char *base_dir, struct jitrd_diag *diag)
{
	bool seen[KEY_COUNT] = {false};

	for (size_t i = 0; envp && envp[i]; i++) {
		enum jitrd_err err;

		if (strncmp(envp[i], "JITRD_", 6) != 0)
			continue;
		err = apply_entry(cfg, envp[i], base_dir, seen, diag);
		if (err != JITRD_OK)
			return err;
	}
	return JITRD_OK;
}

/* ---- the whole ----------------------------------------------------------------------------- */

static enum jitrd_err set_defaults(struct jitrd_config *cfg, struct jitrd_diag *diag)
{
	for (size_t i = 0; i < KEY_COUNT; i++) {
		struct fault f = {{0}, NULL, 0};
		enum jitrd_err err = set_value(cfg, &keys[i], keys[i].defval, false, NULL, &f);
		if (err == JITRD_ERR_CONFIG)
			jitrd_diag_set(diag, "default of [%s] %s: %s", keys[i].section,
			               keys[i].name, f.reason);
		if (err != JITRD_OK)
			return err;
	}
	return JITRD_OK;
}

static enum jitrd_err derive_endpoint(struct jitrd_config *cfg)
{
	char endpoint[96];
	char *copy;

	/* After the environment, so JITRD_AWS_REGION alone moves the endpoint too. */
	if (*cfg->aws.endpoint)
		return JITRD_OK;
	snprintf(endpoint, sizeof(endpoint), "https://iot.%s.amazonaws.com", cfg->aws.region);
	copy = strdup(endpoint);
	if (!copy)
		return JITRD_ERR_NOMEM;
	free(cfg->aws.endpoint);
	cfg->aws.endpoint = copy;
	return JITRD_OK;
}

/* An empty region key ([crl] s3_region, [sqs] region) is [aws] region (after the environment,
 * as the endpoint). */
static enum jitrd_err derive_region(char **region, const char *aws_region)
{
	char *copy;

	if (**region)
		return JITRD_OK;
	copy = strdup(aws_region);
	if (!copy)
		return JITRD_ERR_NOMEM;
	free(*region);
	*region = copy;
	return JITRD_OK;
}

enum jitrd_err jitrd_config_parse(const char *origin, const char *text, size_t len,
                                  const char *const *envp, const char *base_dir,
                                  struct jitrd_config **out, struct jitrd_diag *diag)
{
	enum jitrd_err result = JITRD_ERR_INVALID_ARG;
	struct jitrd_config *cfg = NULL;

	if (!out || (!text && len > 0)) {
		jitrd_diag_set(diag, "jitrd_config_parse: invalid argument");
		goto cleanup;
	}
	if (!origin)
		origin = "configuration";
	if (len > JITRD_CONFIG_MAX_BYTES) {
		result = JITRD_ERR_TOO_LARGE;
		jitrd_diag_set(diag, "%s: %zu bytes, more than the %d allowed", origin, len,
		               JITRD_CONFIG_MAX_BYTES);
		goto cleanup;
	}
	result = JITRD_ERR_NOMEM;
	cfg = calloc(1, sizeof(*cfg));
	if (!cfg)
		goto cleanup;
	result = set_defaults(cfg, diag);
	if (result != JITRD_OK)
		goto cleanup;
	if (text) {
		result = parse_file(cfg, origin, text, len, base_dir, diag);
		if (result != JITRD_OK)
			goto cleanup;
	}
	result = apply_environment(cfg, envp, base_dir, diag);
	if (result != JITRD_OK)
		goto cleanup;
	result = derive_endpoint(cfg);
	if (result == JITRD_OK)
		result = derive_region(&cfg->crl.s3_region, cfg->aws.region);
	if (result == JITRD_OK)
		result = derive_region(&cfg->sqs.region, cfg->aws.region);
	if (result != JITRD_OK)
		goto cleanup;
	if (*cfg->mqtt.url && *cfg->sqs.queue_url) {
		/* `jitrd run` has one event source: two would process every event twice. */
		result = JITRD_ERR_CONFIG;
		jitrd_diag_set(diag,
		               "%s: [mqtt] url and [sqs] queue_url are both set; `jitrd run` "
		               "consumes one event source: set only one",
		               origin);
		goto cleanup;
	}
	*out = cfg;
	cfg = NULL;
	result = JITRD_OK;
cleanup:
	if (result == JITRD_ERR_NOMEM)
		jitrd_diag_set(diag, "%s: out of memory", origin ? origin : "configuration");
	jitrd_config_free(cfg);
	return result;
}

void jitrd_config_free(struct jitrd_config *cfg)
{
	if (!cfg)
		return;
	for (size_t i = 0; i < KEY_COUNT; i++) {
		if (keys[i].kind == K_STRING || keys[i].kind == K_PATH)
			free(*string_member(cfg, &keys[i]));
	}
	clear_ca_allow(cfg);
	clear_ocsp_responders(cfg);
	clear_crl_urls(cfg);
	free(cfg);
}

const char *jitrd_config_ocsp_responder(const struct jitrd_config *cfg, const char *ca_id)
{
	if (!cfg)
		return "";
	for (size_t i = 0; ca_id && i < cfg->ocsp.ca_responder_count; i++) {
		if (strcasecmp(cfg->ocsp.ca_responder_id[i], ca_id) == 0)
			return cfg->ocsp.ca_responder_url[i];
	}
	return cfg->ocsp.responder ? cfg->ocsp.responder : "";
}

bool jitrd_config_reconcile_lease(const struct jitrd_config *cfg)
{
	if (!cfg)
		return false;
	/* auto: only hosts that can share the work need the lease. With the SQS source any number
	 * of hosts may run; with MQTT one client id allows one host, whose sweeps need no lease
	 * (and no iot:UpdateThing). */
	if (cfg->service.reconcile_lease == JITRD_RECONCILE_LEASE_AUTO)
		return cfg->sqs.queue_url && *cfg->sqs.queue_url;
	return cfg->service.reconcile_lease == JITRD_RECONCILE_LEASE_ON;
}

bool jitrd_config_ca_allowed(const struct jitrd_config *cfg, const char *ca_id)
{
	if (!cfg || !ca_id)
		return 0;
	if (cfg->ca.allow_count == 0)
		return 1;
	for (size_t i = 0; i < cfg->ca.allow_count; i++) {
		if (strcasecmp(cfg->ca.allow[i], ca_id) == 0)
			return 1;
	}
	return 0;
}
