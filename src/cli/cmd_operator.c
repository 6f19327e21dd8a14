/* cmd_operator.c — `jitrd ca register|deactivate`, `jitrd cert revoke|activate`, `jitrd crl
 * sweep` (DESIGN §4.6): parse the options, open what the command needs, call the operator
 * module and word its results. No AWS or X.509 logic here; key bytes are never printed. */
#include "cli.h"

#include <getopt.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "jitrd/files.h"
#include "jitrd/operator.h"
#include "jitrd/setup.h"

extern char **environ;

static volatile sig_atomic_t stop_flag;

static void on_stop_signal(int sig)
{
	(void)sig;
	stop_flag = 1;
}

/* SIGTERM and SIGINT stop taking new work; what is in flight finishes and is recorded. */
static void catch_stop_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_stop_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
}

/* ---- options ---------------------------------------------------------------------------- */

enum {
	OPT_CONFIG = 'c',
	OPT_HELP = 'h',
	OPT_AT = 1000,
	OPT_CA_CERT,
	OPT_CA_KEY,
	OPT_AUTO_REGISTRATION,
	OPT_ACTIVATE,
	OPT_ALLOW_INSECURE_KEY,
	OPT_REVOKE_CERTIFICATES,
	OPT_DRY_RUN,
};

/* Which command may take which option (bits of `allowed`). */
#define ALLOW_AT       (1u << 0)
#define ALLOW_REGISTER (1u << 1)
#define ALLOW_REVOKE   (1u << 2)
#define ALLOW_DRY_RUN  (1u << 3)

struct op_args {
	struct jitrd_common_options common;
	const char *ca_cert, *ca_key;
	bool auto_registration, activate, allow_insecure_key, revoke_certificates, dry_run;
};

/* Returns -1 to go on (positional arguments from optind), else the exit status. */
static int parse_args(int argc, char **argv, const char *usage, unsigned allowed, struct op_args *a)
{
	static const struct option options[] = {
	    {"config", required_argument, NULL, OPT_CONFIG},
	    {"help", no_argument, NULL, OPT_HELP},
	    {"at", required_argument, NULL, OPT_AT},
	    {"ca-cert", required_argument, NULL, OPT_CA_CERT},
	    {"ca-key", required_argument, NULL, OPT_CA_KEY},
	    {"auto-registration", no_argument, NULL, OPT_AUTO_REGISTRATION},
	    {"activate", no_argument, NULL, OPT_ACTIVATE},
	    {"allow-insecure-key", no_argument, NULL, OPT_ALLOW_INSECURE_KEY},
	    {"revoke-certificates", no_argument, NULL, OPT_REVOKE_CERTIFICATES},
	    {"dry-run", no_argument, NULL, OPT_DRY_RUN},
	    {NULL, 0, NULL, 0},
	};
	unsigned need;
	int opt;

	memset(a, 0, sizeof(*a));
	a->common.now = time(NULL);
	optind = 1;
	while ((opt = getopt_long(argc, argv, "c:h", options, NULL)) != -1) {
		need = 0;
		switch (opt) {
		case OPT_CONFIG:
			a->common.config_path = optarg;
			break;
		case OPT_HELP:
			fputs(usage, stdout);
			return EXIT_OK;
		case OPT_AT:
			need = ALLOW_AT;
			if (jitrd_parse_time(optarg, &a->common.now) != 0) {
				fprintf(stderr,
				        "jitrd: --at %.64s: not a time (2030-06-01T00:00:00Z or "
				        "epoch seconds, up to the year 9999)\n",
				        optarg);
				return EXIT_USAGE;
			}
			break;
		case OPT_CA_CERT:
			need = ALLOW_REGISTER;
			a->ca_cert = optarg;
			break;
		case OPT_CA_KEY:
			need = ALLOW_REGISTER;
			a->ca_key = optarg;
			break;
		case OPT_AUTO_REGISTRATION:
			need = ALLOW_REGISTER;
			a->auto_registration = true;
			break;
		case OPT_ACTIVATE:
			need = ALLOW_REGISTER;
			a->activate = true;
			break;
		case OPT_ALLOW_INSECURE_KEY:
			need = ALLOW_REGISTER;
			a->allow_insecure_key = true;
			break;
		case OPT_REVOKE_CERTIFICATES:
			need = ALLOW_REVOKE;
			a->revoke_certificates = true;
			break;
		case OPT_DRY_RUN:
			need = ALLOW_DRY_RUN;
			a->dry_run = true;
			break;
		default:
			fputs(usage, stderr);
			return EXIT_USAGE;
		}
		if (need && !(allowed & need)) {
			fprintf(stderr, "jitrd: %s is not an option of this command\n",
			        argv[optind - 1]);
			fputs(usage, stderr);
			return EXIT_USAGE;
		}
	}
	return -1;
}

/* ---- what an online command holds open ------------------------------------------------- */

/* 0, or -1 with the reason printed (a configuration problem: exit 2). */
static int online_open(struct jitrd_online *o, const struct op_args *a, bool journal)
{
	struct jitrd_online_options oo;
	struct jitrd_diag diag = {{0}};

	jitrd_online_options_init(&oo);
	oo.config_path = a->common.config_path;
	oo.now = a->common.now;
	oo.envp = (const char *const *)environ;
	oo.journal = journal;
	oo.session = true;
	if (jitrd_online_open(&oo, o, &diag) != JITRD_OK) {
		fprintf(stderr, "jitrd: %s\n", diag.text);
		return -1;
	}
	return 0;
}

static void online_close(struct jitrd_online *o)
{
	jitrd_online_close(o);
}

static int64_t request_timeout_ms(const struct jitrd_online *o)
{
	return (int64_t)o->rt->cfg->service.event_deadline_seconds * 1000;
}

/* "Code: message" from AWS, else the client's reason. */
static void print_failure(const char *what, enum jitrd_err err, const struct jitrd_iot_result *res,
                          const struct jitrd_diag *diag)
{
	if (err == JITRD_ERR_API && res->code[0])
		fprintf(stderr, "jitrd: %s: %s: %s\n", what, res->code, res->message);
	else
		fprintf(stderr, "jitrd: %s: %s\n", what,
		        diag->text[0] ? diag->text : jitrd_strerror(err));
}

/* ---- jitrd ca ---------------------------------------------------------------------------- */

static const char ca_usage[] =
    "usage: jitrd ca register -c FILE --ca-cert CA.pem --ca-key CA.key [--activate]\n"
    "                         [--auto-registration] [--allow-insecure-key]\n"
    "       jitrd ca deactivate -c FILE CA_ID [--revoke-certificates]\n"
    "See jitrd ca register --help and jitrd ca deactivate --help.\n";

static const char register_usage[] =
    "usage: jitrd ca register -c FILE --ca-cert CA.pem --ca-key CA.key [--activate]\n"
    "                         [--auto-registration] [--allow-insecure-key]\n"
    "\n"
    "Registers a CA with AWS IoT (bring your own CA): GetRegistrationCode, then a new\n"
    "verification key (EC P-256) and a certificate whose Common Name is the code, signed\n"
    "by the CA key, both made in memory and never written anywhere, then\n"
    "RegisterCACertificate. Prints the CA id.\n"
    "  -c, --config FILE      configuration (default " JITRD_DEFAULT_CONFIG ")\n"
    "  --ca-cert CA.pem       the CA certificate (the first in the file is registered)\n"
    "  --ca-key CA.key        its private key (PEM), only read; it must not be readable by\n"
    "                         group or others (chmod 600), whoever owns it\n"
    "  --activate             register it ACTIVE (default INACTIVE)\n"
    "  --auto-registration    enable auto-registration (JITR) for its devices\n"
    "  --allow-insecure-key   accept a key file group or others can read (not advised)\n"
    "Exit 0: registered; 1: AWS refused or could not be reached; 2: usage, configuration,\n"
    "or a CA certificate/key problem.\n";

static const char deactivate_usage[] =
    "usage: jitrd ca deactivate -c FILE CA_ID [--revoke-certificates]\n"
    "\n"
    "Sets the CA INACTIVE (UpdateCACertificate), so AWS IoT registers no more of its\n"
    "devices. With --revoke-certificates, every certificate of the CA (ListCertificatesByCA,\n"
    "all pages) is then set REVOKED by [service] workers threads within [limits]\n"
    "update_certificate requests per second. Progress is kept in the journal ([service]\n"
    "state_dir): after an interruption (SIGTERM, SIGINT, a crash) run it again and it goes\n"
    "on where it stopped. A progress line on a terminal; a summary at the end.\n"
    "  -c, --config FILE       configuration (default " JITRD_DEFAULT_CONFIG ")\n"
    "  --revoke-certificates   revoke every certificate of the CA too\n"
    "Exit 0: done; 1: a call failed, a certificate could not be revoked, or interrupted;\n"
    "2: usage or configuration error.\n";

static int ca_register(int argc, char **argv)
{
	struct op_args a;
	struct jitrd_online o;
	struct jitrd_diag diag = {{0}};
	struct jitrd_iot_result res = {0};
	struct jitrd_iot_registered registered;
	struct jitrd_cert *ca = NULL;
	EVP_PKEY *key = NULL;
	char *ca_pem = NULL;
	size_t ca_len = 0;
	enum jitrd_err err;
	int status = parse_args(argc, argv, register_usage, ALLOW_REGISTER, &a);
	bool opened = false;

	if (status >= 0)
		return status;
	if (optind != argc || !a.ca_cert || !a.ca_key) {
		fprintf(stderr, "jitrd: ca register needs --ca-cert and --ca-key, and no other "
		                "argument\n");
		fputs(register_usage, stderr);
		return EXIT_USAGE;
	}
	status = EXIT_USAGE;
	/* Everything local is checked before anything is asked of AWS. */
	err = jitrd_file_read(a.ca_cert, JITRD_CERT_MAX_PEM, &ca_pem, &ca_len, &diag);
	if (err == JITRD_OK)
		err = jitrd_cert_from_pem(ca_pem, ca_len, &ca, &diag);
	if (err != JITRD_OK) {
		fprintf(stderr, "jitrd: --ca-cert %s: %s\n", a.ca_cert, diag.text);
		goto cleanup;
	}
	err = jitrd_operator_load_ca_key(a.ca_key, a.allow_insecure_key, &key, &diag);
	if (err != JITRD_OK) {
		fprintf(stderr, "jitrd: --ca-key %s\n", diag.text);
		goto cleanup;
	}
	if (a.allow_insecure_key)
		fprintf(stderr,
		        "jitrd: warning: --allow-insecure-key: %s is used whatever its "
		        "permissions\n",
		        a.ca_key);
	err = jitrd_operator_check_ca_key(ca, key, &diag);
	if (err != JITRD_OK) {
		fprintf(stderr, "jitrd: --ca-key %s, --ca-cert %s: %s\n", a.ca_key, a.ca_cert,
		        diag.text);
		goto cleanup;
	}
	opened = true;
	if (online_open(&o, &a, false) != 0)
		goto cleanup;
	err = jitrd_operator_ca_register(o.session, jitrd_iot_deadline_in(request_timeout_ms(&o)),
	                                 ca_pem, ca_len, key, a.activate, a.auto_registration,
	                                 time(NULL), &registered, &res, &diag);
	if (err != JITRD_OK) {
		print_failure("ca register", err, &res, &diag);
		status = err == JITRD_ERR_CRYPTO || err == JITRD_ERR_NOMEM ? EXIT_USAGE
		                                                           : EXIT_WORK_FAILED;
		goto cleanup;
	}
	printf("%s\n", registered.certificate_id);
	fprintf(stderr, "jitrd: CA registered: %s (%s, auto-registration %s)\n",
	        registered.certificate_arn, a.activate ? "ACTIVE" : "INACTIVE",
	        a.auto_registration ? "enabled" : "disabled");
	status = EXIT_OK;
cleanup:
	if (opened)
		online_close(&o);
	EVP_PKEY_free(key); /* OpenSSL wipes the private key as it frees it */
	jitrd_cert_free(ca);
	free(ca_pem);
	return status;
}

struct deactivate_view {
	bool tty;
	const char *ca_id;
};

static void deactivate_progress(void *ctx, const struct jitrd_deactivate_summary *s)
{
	const struct deactivate_view *v = ctx;

	if (!v->tty)
		return;
	fprintf(stderr,
	        "\rrevoking the certificates of CA %.12s...: %zu/%zu (revoked %zu, already "
	        "revoked %zu, failed %zu)  ",
	        v->ca_id, s->revoked + s->revoked_earlier + s->already_revoked + s->failed,
	        s->total, s->revoked + s->revoked_earlier, s->already_revoked, s->failed);
}

static void deactivate_failure(void *ctx, const char *certificate_id, const char *text)
{
	const struct deactivate_view *v = ctx;

	fprintf(stderr, "%sjitrd: %s: not revoked: %s\n", v->tty ? "\n" : "", certificate_id, text);
}

static int ca_deactivate(int argc, char **argv)
{
	struct op_args a;
	struct jitrd_online o;
	struct jitrd_diag diag = {{0}};
	struct jitrd_iot_result res = {0};
	struct jitrd_deactivate_summary sum;
	struct jitrd_deactivate_options dopts;
	struct deactivate_view view;
	enum jitrd_err err;
	int status = parse_args(argc, argv, deactivate_usage, ALLOW_REVOKE, &a);

	if (status >= 0)
		return status;
	if (optind + 1 != argc) {
		fputs(deactivate_usage, stderr);
		return EXIT_USAGE;
	}
	if (!jitrd_operator_valid_id(argv[optind])) {
		fprintf(stderr, "jitrd: CA_ID %.80s: not a CA id (64 hex digits)\n", argv[optind]);
		return EXIT_USAGE;
	}
	if (online_open(&o, &a, a.revoke_certificates) != 0) {
		online_close(&o);
		return EXIT_USAGE;
	}
	catch_stop_signals();
	view.tty = isatty(STDERR_FILENO) == 1;
	view.ca_id = argv[optind];
	memset(&dopts, 0, sizeof(dopts));
	dopts.client = o.client;
	dopts.journal = o.journal;
	dopts.ca_id = argv[optind];
	dopts.revoke_certificates = a.revoke_certificates;
	dopts.workers = (unsigned)o.rt->cfg->service.workers;
	dopts.request_timeout_ms = request_timeout_ms(&o);
	dopts.stop = &stop_flag;
	dopts.progress = deactivate_progress;
	dopts.failure = deactivate_failure;
	dopts.ctx = &view;
	err = jitrd_operator_ca_deactivate(&dopts, &sum, &res, &diag);
	if (view.tty && a.revoke_certificates)
		fputc('\n', stderr);
	if (err != JITRD_OK) {
		fprintf(stderr, "jitrd: ca deactivate %s: %s\n", argv[optind], diag.text);
		status = EXIT_WORK_FAILED;
		goto done;
	}
	printf("CA %s: INACTIVE\n", argv[optind]);
	status = EXIT_OK;
	if (!a.revoke_certificates)
		goto done;
	printf("%zu certificate(s): revoked %zu, already revoked %zu, failed %zu", sum.total,
	       sum.revoked + sum.revoked_earlier, sum.already_revoked, sum.failed);
	if (sum.revoked_earlier)
		printf(" (%zu of the revoked by an earlier, interrupted run)", sum.revoked_earlier);
	printf("\n");
	if (sum.failed) {
		fprintf(stderr,
		        "jitrd: %zu certificate(s) not revoked; run it again to retry "
		        "them\n",
		        sum.failed);
		status = EXIT_WORK_FAILED;
	}
	if (sum.interrupted) {
		fprintf(stderr, "jitrd: interrupted, run again to resume\n");
		status = EXIT_WORK_FAILED;
	}
done:
	online_close(&o);
	return status;
}

int jitrd_cmd_ca(int argc, char **argv)
{
	if (argc >= 2 && strcmp(argv[1], "register") == 0)
		return ca_register(argc - 1, argv + 1);
	if (argc >= 2 && strcmp(argv[1], "deactivate") == 0)
		return ca_deactivate(argc - 1, argv + 1);
	if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
		fputs(ca_usage, stdout);
		return EXIT_OK;
	}
	if (argc >= 2)
		fprintf(stderr, "jitrd: ca: unknown subcommand '%.64s'\n", argv[1]);
	fputs(ca_usage, stderr);
	return EXIT_USAGE;
}

/* ---- jitrd cert -------------------------------------------------------------------------- */

static const char cert_usage[] =
    "usage: jitrd cert revoke -c FILE CERT_ID...\n"
    "       jitrd cert activate -c FILE CERT_ID...\n"
    "\n"
    "Sets each certificate REVOKED, or ACTIVE (UpdateCertificate), in the order given; one\n"
    "line per certificate. Ids are checked first (64 hex digits each). AWS refuses to\n"
    "activate a REVOKED certificate (CertificateStateException).\n"
    "`cert activate` is the operator's override: it checks no CRL and attaches no policy.\n"
    "To let jitrd decide (CRL, policy, Thing), use `jitrd handle` or `jitrd reconcile`.\n"
    "  -c, --config FILE  configuration (default " JITRD_DEFAULT_CONFIG ")\n"
    "Exit 0: every certificate changed; 1: a change failed; 2: usage or configuration error.\n";

static int cert_update(int argc, char **argv, enum jitrd_iot_status new_status)
{
	struct op_args a;
	struct jitrd_online o;
	int status = parse_args(argc, argv, cert_usage, 0, &a);

	if (status >= 0)
		return status;
	if (optind >= argc) {
		fputs(cert_usage, stderr);
		return EXIT_USAGE;
	}
	for (int i = optind; i < argc; i++) {
		if (!jitrd_operator_valid_id(argv[i])) {
			fprintf(stderr,
			        "jitrd: CERT_ID %.80s: not a certificate id (64 hex "
			        "digits)\n",
			        argv[i]);
			return EXIT_USAGE;
		}
	}
	if (online_open(&o, &a, false) != 0) {
		online_close(&o);
		return EXIT_USAGE;
	}
	status = EXIT_OK;
	for (int i = optind; i < argc; i++) {
		struct jitrd_iot_result res = {0};
		struct jitrd_diag diag = {{0}};
		enum jitrd_err err = jitrd_iot_update_certificate(
		    o.session, jitrd_iot_deadline_in(request_timeout_ms(&o)), argv[i], new_status,
		    &res, &diag);
		if (err != JITRD_OK) {
			print_failure(argv[i], err, &res, &diag);
			status = EXIT_WORK_FAILED;
			continue;
		}
		printf("%s: %s\n", argv[i], jitrd_iot_status_name(new_status));
	}
	online_close(&o);
	return status;
}

int jitrd_cmd_cert(int argc, char **argv)
{
	if (argc >= 2 && strcmp(argv[1], "revoke") == 0)
		return cert_update(argc - 1, argv + 1, JITRD_IOT_REVOKED);
	if (argc >= 2 && strcmp(argv[1], "activate") == 0)
		return cert_update(argc - 1, argv + 1, JITRD_IOT_ACTIVE);
	if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
		fputs(cert_usage, stdout);
		return EXIT_OK;
	}
	if (argc >= 2)
		fprintf(stderr, "jitrd: cert: unknown subcommand '%.64s'\n", argv[1]);
	fputs(cert_usage, stderr);
	return EXIT_USAGE;
}

/* ---- jitrd crl ---------------------------------------------------------------------------- */

static const char sweep_usage[] =
    "usage: jitrd crl sweep -c FILE [--dry-run] [--at TIME]\n"
    "\n"
    "Checks every ACTIVE certificate of our CAs ([ca] dir and allow), and every INACTIVE one\n"
    "jitrd held, against the CA's current CRL: listed revoked -> REVOKED; certificateHold ->\n"
    "INACTIVE; held by jitrd and no longer listed (or removeFromCRL) -> the decision is made\n"
    "again and, if it is activate, policy and Thing are ensured and it is set ACTIVE. Serials\n"
    "come from the journal's inventory, else DescribeCertificate once. A CA without a\n"
    "valid, current CRL is skipped and said so; an INACTIVE certificate jitrd did not hold\n"
    "is never touched. One line per change on standard output.\n"
    "  -c, --config FILE  configuration (default " JITRD_DEFAULT_CONFIG ")\n"
    "  --dry-run          change nothing, print what would change\n"
    "  --at TIME          judge CRLs and certificates at TIME (2030-06-01T00:00:00Z)\n"
    "Exit 0: done; 1: a change failed, a CA had no current CRL, or interrupted; 2: usage or\n"
    "configuration error.\n";

static const char crl_usage[] = "usage: jitrd crl sweep -c FILE [--dry-run] [--at TIME]\n"
				"See jitrd crl sweep --help.\n";

static void sweep_line(void *ctx, enum jitrd_sweep_line kind, const char *text)
{
	(void)ctx;
	if (kind == JITRD_SWEEP_CHANGE) {
		printf("%s\n", text);
		fflush(stdout);
	} else {
		fprintf(stderr, "jitrd: %s\n", text);
	}
}

static int crl_sweep(int argc, char **argv)
{
	struct op_args a;
	struct jitrd_online o;
	struct jitrd_diag diag = {{0}};
	struct jitrd_sweep_summary sum;
	struct jitrd_sweep_options sopts;
	int status = parse_args(argc, argv, sweep_usage, ALLOW_DRY_RUN | ALLOW_AT, &a);

	if (status >= 0)
		return status;
	if (optind != argc) {
		fputs(sweep_usage, stderr);
		return EXIT_USAGE;
	}
	if (online_open(&o, &a, true) != 0) {
		online_close(&o);
		return EXIT_USAGE;
	}
	catch_stop_signals();
	memset(&sopts, 0, sizeof(sopts));
	sopts.session = o.session;
	sopts.rt = o.rt;
	sopts.journal = o.journal;
	sopts.now = a.common.now;
	sopts.dry_run = a.dry_run;
	sopts.request_timeout_ms = request_timeout_ms(&o);
	sopts.stop = &stop_flag;
	sopts.line = sweep_line;
	if (jitrd_operator_crl_sweep(&sopts, &sum, &diag) != JITRD_OK) {
		fprintf(stderr, "jitrd: crl sweep: %s\n", diag.text);
		online_close(&o);
		return EXIT_WORK_FAILED;
	}
	fprintf(stderr,
	        "jitrd: crl sweep%s: %zu CA(s) swept, %zu without a current CRL, %zu not "
	        "registered; %zu certificate(s) checked (%zu described); %s %zu, %s %zu, %s %zu, "
	        "failed %zu\n",
	        a.dry_run ? " (dry run)" : "", sum.cas_swept, sum.cas_no_crl, sum.cas_unregistered,
	        sum.checked, sum.described, a.dry_run ? "would revoke" : "revoked", sum.revoked,
	        a.dry_run ? "would hold" : "held", sum.held,
	        a.dry_run ? "would re-activate" : "re-activated", sum.reactivated, sum.failed);
	status = sum.failed || sum.cas_no_crl ? EXIT_WORK_FAILED : EXIT_OK;
	if (stop_flag) {
		fprintf(stderr, "jitrd: interrupted, run again to finish the sweep\n");
		status = EXIT_WORK_FAILED;
	}
	online_close(&o);
	return status;
}

int jitrd_cmd_crl(int argc, char **argv)
{
	if (argc >= 2 && strcmp(argv[1], "sweep") == 0)
		return crl_sweep(argc - 1, argv + 1);
	if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
		fputs(crl_usage, stdout);
		return EXIT_OK;
	}
	if (argc >= 2)
		fprintf(stderr, "jitrd: crl: unknown subcommand '%.64s'\n", argv[1]);
	fputs(crl_usage, stderr);
	return EXIT_USAGE;
}
