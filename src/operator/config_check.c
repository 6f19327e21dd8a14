/* config_check.c — `jitrd config-check`: loads and validates the configuration, CA
 * certificates, CRLs and templates, prints a summary, and ends with "configuration OK"
 * (exit 0) or with every problem named by file (exit 2). Makes no API call. */
#include "jitrd/commands.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/x509.h>

#include "jitrd/ocsp.h"
#include "jitrd/ocsp_fetch.h"
#include "jitrd/crl_refresh.h"
#include "jitrd/runtime.h"
#include "jitrd/text.h"

static void print_subject(const struct jitrd_cert *ca)
{
	char name[256] = "";
	BIO *bio = BIO_new(BIO_s_mem());

	if (bio && X509_NAME_print_ex(bio, jitrd_cert_subject(ca), 0, XN_FLAG_RFC2253) >= 0) {
		int n = BIO_read(bio, name, (int)sizeof(name) - 1);
		name[n > 0 ? n : 0] = '\0';
	}
	BIO_free(bio);
	printf("%s", name);
}

/* Lists the CAs; returns the number that cannot anchor a device's path at `now` (expired,
 * not yet valid, not allowed to sign certificates, signed with MD5 or SHA-1): every device
 * they sign is rejected, so the operator must replace them (or deactivate them in AWS). */
static int report_cas(const struct jitrd_runtime *rt, time_t now)
{
	struct jitrd_decision_context ctx;
	int problems = 0;
	char when[32];

	jitrd_format_rfc3339(now, when, sizeof(when));
	jitrd_runtime_context(rt, &ctx);
	for (size_t i = 0; i < jitrd_caset_count(rt->anchors); i++) {
		const struct jitrd_cert *anchor = jitrd_caset_at(rt->anchors, i);

		printf("anchor: %s (", jitrd_cert_id(anchor));
		print_subject(anchor);
		printf(") from %s\n", jitrd_caset_origin_at(rt->anchors, i));
	}
	for (size_t i = 0; i < jitrd_caset_count(rt->cas); i++) {
		const struct jitrd_cert *ca = jitrd_caset_at(rt->cas, i);
		struct jitrd_diag diag = {{0}};
		const char *note = jitrd_caset_ca_note(rt->cas, i);

		printf("ca: %s %s (", jitrd_cert_id(ca),
		       jitrd_config_ca_allowed(rt->cfg, jitrd_cert_id(ca)) ? "allowed"
		                                                           : "not allowed");
		print_subject(ca);
		printf(") from %s\n", jitrd_caset_origin_at(rt->cas, i));
		if (jitrd_caset_check_ca(rt->cas, i, now, &diag) != JITRD_OK) {
			printf("ca %s: unusable at %s: %s (every device it signs is rejected)\n",
			       jitrd_cert_id(ca), when, diag.text);
			problems++;
		}
		if (note)
			printf("note: ca %s: %s\n", jitrd_cert_id(ca), note);
		if (rt->anchors) {
			/* An anchor revoked this CA: AWS still has it ACTIVE until the operator
			 * deactivates it, and every device it signs is rejected meanwhile. */
			struct jitrd_decision d;

			jitrd_decision_init(&d);
			if (jitrd_decide_ca(&ctx, ca, now, &d) != JITRD_OK) {
				printf("ca %s: revocation status: out of memory\n",
				       jitrd_cert_id(ca));
				problems++;
			} else if (d.kind == JITRD_DECISION_REJECT) {
				printf("ca %s: REVOKED, every device it signs is rejected: %s\n",
				       jitrd_cert_id(ca), d.reason);
				problems++;
			} else if (d.kind == JITRD_DECISION_DEFER) {
				printf(
				    "ca %s: revocation status unknown (its devices are deferred): "
				    "%s\n",
				    jitrd_cert_id(ca), d.reason);
				problems++;
			}
		}
	}
	return problems;
}

static const char *source_kind(enum jitrd_crl_source_kind kind)
{
	switch (kind) {
	case JITRD_CRL_SOURCE_CA_DP:
		return "CA distribution point";
	case JITRD_CRL_SOURCE_DEVICE_DP:
		return "device distribution point";
	case JITRD_CRL_SOURCE_CONFIG:
		break;
	}
	return "[crl] url";
}

/* The fetched CRL sources ([crl] url, the CAs' distribution points) and what the cache holds
 * of each, under the CA it was verified for; nothing is fetched here. */
static void report_sources(const struct jitrd_runtime *rt)
{
	struct jitrd_crl_refresh *r = NULL;
	struct jitrd_crl_source_info *info = malloc(sizeof(*info));
	const struct jitrd_caset *issuers = rt->crl_issuers ? rt->crl_issuers : rt->cas;

	if (!info || jitrd_crl_refresh_new(rt->cfg, &r) != JITRD_OK ||
	    jitrd_crl_refresh_add_ca_points(r, issuers, NULL) != JITRD_OK) {
		if (rt->cfg->crl.url_count > 0 || rt->cfg->crl.distribution_points)
			printf("crl sources: out of memory\n");
		goto cleanup;
	}
	for (size_t i = 0; i < jitrd_crl_refresh_count(r); i++) {
		char this_update[32], next_update[32], fetched[32];

		if (jitrd_crl_refresh_source_at(r, i, info) != JITRD_OK)
			continue;
		printf("crl source: %s (%s): ", info->shown_url, source_kind(info->kind));
		if (!info->cached) {
			printf("nothing cached yet%s%s\n", *info->last_reason ? "; " : "",
			       info->last_reason);
			continue;
		}
		jitrd_format_rfc3339(info->meta.this_update, this_update, sizeof(this_update));
		jitrd_format_rfc3339(info->meta.next_update, next_update, sizeof(next_update));
		jitrd_format_rfc3339(info->meta.fetched_at, fetched, sizeof(fetched));
		printf(
		    "CA %s, number %lld, thisUpdate %s, nextUpdate %s, last fetched %s from %s\n",
		    info->meta.ca, (long long)info->meta.crl_number, this_update,
		    info->meta.next_update ? next_update : "(none)", fetched,
		    *info->meta.final_url ? info->meta.final_url : info->shown_url);
	}
cleanup:
	jitrd_crl_refresh_free(r);
	free(info);
}

/* Returns the number of problems found in the CRL set. */
static int report_crls(const struct jitrd_runtime *rt)
{
	int problems = 0;
	char when[32];

	if (*rt->crl_dir_error) {
		printf("crl: %s\n", rt->crl_dir_error);
		problems++;
	}
	for (size_t i = 0; i < jitrd_crl_builder_file_count(rt->crl_builder); i++) {
		const struct jitrd_crl_file_report *f =
		    jitrd_crl_builder_file_at(rt->crl_builder, i);
		if (f->result == JITRD_OK) {
			printf("crl file: %s: ok, %zu CRL(s)\n", f->origin, f->crls_accepted);
		} else {
			printf("crl file: %s: refused: %s\n", f->origin, f->reason);
			problems++;
		}
	}
	for (size_t i = 0; i < jitrd_caset_count(rt->cas); i++) {
		const struct jitrd_cert *ca = jitrd_caset_at(rt->cas, i);
		const struct jitrd_crl_info *info = jitrd_crl_store_info(rt->crls, ca);
		if (!info) {
			bool by_ocsp = rt->cfg->ocsp.mode != JITRD_OCSP_MODE_OFF;
			printf("crl for CA %s: none valid%s\n", jitrd_cert_id(ca),
			       by_ocsp                  ? " (its devices are judged by OCSP)"
			       : rt->cfg->crl.fail_open ? " (crl.fail_open: devices are activated)"
			                                : " (its devices are deferred)");
			if (!rt->cfg->crl.fail_open && !by_ocsp)
				problems++;
			continue;
		}
		jitrd_format_rfc3339(info->next_update, when, sizeof(when));
		printf("crl for CA %s: %s, %zu entries, number %lld, nextUpdate %s",
		       jitrd_cert_id(ca), info->origin, info->entries, (long long)info->crl_number,
		       when);
		if (info->partitions > 1)
			printf(", %zu partitions", info->partitions);
		if (info->delta)
			printf(", with a delta CRL");
		printf("\n");
	}
	for (size_t i = 0; i < jitrd_caset_count(rt->anchors); i++) {
		const struct jitrd_cert *anchor = jitrd_caset_at(rt->anchors, i);
		const struct jitrd_crl_info *info = jitrd_crl_store_info(rt->crls, anchor);

		if (!info) {
			/* counted once per CA under it, by report_cas */
			printf("crl for anchor %s: none valid\n", jitrd_cert_id(anchor));
			continue;
		}
		jitrd_format_rfc3339(info->next_update, when, sizeof(when));
		printf("crl for anchor %s: %s, %zu entries, number %lld, nextUpdate %s\n",
		       jitrd_cert_id(anchor), info->origin, info->entries,
		       (long long)info->crl_number, when);
	}
	report_sources(rt);
	/* Read, never written here: the service records what it accepts (crl/README.md). */
	if (*rt->crl_floors_note)
		printf("crl numbers: %s %s\n", rt->crl_floors_path, rt->crl_floors_note);
	else
		printf("crl numbers: %s (%zu recorded)\n", rt->crl_floors_path,
		       jitrd_crl_floors_count(rt->crl_floors));
	for (size_t i = 0; i < jitrd_caset_count(rt->cas); i++) {
		char key[65];

		if (jitrd_crl_store_issuer_key(rt->crls, jitrd_caset_at(rt->cas, i), key))
			printf("crl issuer key of CA %s: %s\n",
			       jitrd_cert_id(jitrd_caset_at(rt->cas, i)), key);
	}
	return problems;
}

/* [ocsp]: the mode, and per CA the responder asked (URLs without userinfo or query). */
static void report_ocsp(const struct jitrd_runtime *rt)
{
	static const char *const modes[] = {"off", "fallback", "require"};
	char shown[JITRD_OCSP_URL_MAX];

	printf("ocsp: %s\n", modes[rt->cfg->ocsp.mode]);
	if (rt->cfg->ocsp.mode == JITRD_OCSP_MODE_OFF)
		return;
	for (size_t i = 0; i < jitrd_caset_count(rt->cas); i++) {
		const char *id = jitrd_cert_id(jitrd_caset_at(rt->cas, i));
		const char *url = jitrd_config_ocsp_responder(rt->cfg, id);

		if (*url)
			jitrd_ocsp_fetch_redact_url(url, shown, sizeof(shown));
		printf("ocsp for CA %s: %s\n", id,
		       *url ? shown : "each device certificate's Authority Information Access");
	}
}

/* Where `jitrd run` takes its events from: [mqtt] or [sqs] (the parser refuses both), or
 * neither (Lambda, handle, check). URLs without userinfo or query. */
static void report_source(const struct jitrd_config *cfg)
{
	char shown[JITRD_OCSP_URL_MAX];

	if (*cfg->sqs.queue_url) {
		jitrd_ocsp_fetch_redact_url(cfg->sqs.queue_url, shown, sizeof(shown));
		printf("events: sqs %s (region %s, %d poller(s) of up to %d messages, long poll "
		       "%d s, visibility timeout %d s)\n",
		       shown, cfg->sqs.region, cfg->sqs.pollers, cfg->sqs.max_messages,
		       cfg->sqs.wait_time_seconds, cfg->sqs.visibility_timeout_seconds);
	} else if (*cfg->mqtt.url) {
		/* libcurl's parser, which redacts the others, does not know ssl:// or mqtts:// */
		printf("events: mqtt %s topic %s (client id %s, qos %d, %s session)\n",
		       strpbrk(cfg->mqtt.url, "@?#") ? "(a URL with userinfo or a query: not shown)"
		                                     : cfg->mqtt.url,
		       cfg->mqtt.topic, cfg->mqtt.client_id, cfg->mqtt.qos,
		       cfg->mqtt.clean_session ? "clean" : "persistent");
	} else {
		printf("events: none for `jitrd run` (no [mqtt] url or [sqs] queue_url)\n");
	}
}

enum jitrd_exit jitrd_command_config_check(const struct jitrd_command_options *opts)
{
	struct jitrd_runtime rt;
	struct jitrd_diag diag = {{0}};
	struct jitrd_decision_context ctx;
	const char *context_problem;
	int problems;

	if (jitrd_runtime_load(&rt, opts->config_path, opts->now, &diag) != JITRD_OK) {
		fprintf(stderr, "jitrd: %s\n", diag.text);
		jitrd_runtime_cleanup(&rt);
		return JITRD_EXIT_USAGE;
	}
	printf("config: %s\n", rt.config_origin);
	report_source(rt.cfg);
	problems = report_cas(&rt, opts->now);
	problems += report_crls(&rt);
	report_ocsp(&rt);
	printf("policy template: %s (sample renders to %zu characters)\n",
	       rt.cfg->provision.policy_template, rt.policy_sample_chars);
	printf("policy name: %s\n", rt.cfg->provision.policy_name);
	jitrd_runtime_context(&rt, &ctx);
	context_problem = jitrd_decision_context_problem(&ctx);
	if (context_problem)
		/* not a problem for the service: each event carries its account */
		printf("note: %s (the service takes the account from each event; jitrd check "
		       "needs it configured)\n",
		       context_problem);
	printf("thing name: %s\n", *rt.cfg->provision.thing_name ? rt.cfg->provision.thing_name
	                                                         : "(none: no Thing is created)");
	jitrd_runtime_cleanup(&rt);
	if (problems) {
		printf("configuration has %d problem(s)\n", problems);
		return JITRD_EXIT_USAGE;
	}
	printf("configuration OK\n");
	return JITRD_EXIT_OK;
}
