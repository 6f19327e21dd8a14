/* cmd_operator.c — `jitrd ca register|deactivate`, `jitrd cert revoke|activate|register`,
 * `jitrd crl sweep`, `jitrd explain` (DESIGN §4.6): parse the options and call the command
 * (src/operator). */
#include "cli.h"

#include <getopt.h>
#include <stdbool.h>
#include <string.h>
#include <unistd.h>

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
	OPT_OFFLINE,
	OPT_JSON,
	OPT_DIR,
};

/* Which command may take which option (bits of `allowed`). */
#define ALLOW_AT       (1u << 0)
#define ALLOW_REGISTER (1u << 1)
#define ALLOW_REVOKE   (1u << 2)
#define ALLOW_DRY_RUN  (1u << 3)
#define ALLOW_EXPLAIN  (1u << 4)
#define ALLOW_JSON     (1u << 5)
#define ALLOW_DIR      (1u << 6)

struct op_args {
	struct jitrd_command_options common;
	const char *ca_cert, *ca_key, *dir;
	bool auto_registration, activate, allow_insecure_key, revoke_certificates, dry_run;
	bool offline, json;
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
	    {"offline", no_argument, NULL, OPT_OFFLINE},
	    {"json", no_argument, NULL, OPT_JSON},
	    {"dir", required_argument, NULL, OPT_DIR},
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
			if (!jitrd_parse_at(optarg, &a->common.now))
				return EXIT_USAGE;
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
		case OPT_OFFLINE:
			need = ALLOW_EXPLAIN;
			a->offline = true;
			break;
		case OPT_JSON:
			need = allowed & ALLOW_JSON ? ALLOW_JSON : ALLOW_EXPLAIN;
			a->json = true;
			break;
		case OPT_DIR:
			need = ALLOW_DIR;
			a->dir = optarg;
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
	struct jitrd_ca_register_args r;
	struct op_args a;
	int status = parse_args(argc, argv, register_usage, ALLOW_REGISTER, &a);

	if (status >= 0)
		return status;
	if (optind != argc || !a.ca_cert || !a.ca_key) {
		fprintf(stderr, "jitrd: ca register needs --ca-cert and --ca-key, and no other "
		                "argument\n");
		fputs(register_usage, stderr);
		return EXIT_USAGE;
	}
	r.ca_cert = a.ca_cert;
	r.ca_key = a.ca_key;
	r.activate = a.activate;
	r.auto_registration = a.auto_registration;
	r.allow_insecure_key = a.allow_insecure_key;
	return jitrd_command_ca_register(&a.common, &r);
}

static int ca_deactivate(int argc, char **argv)
{
	struct op_args a;
	int status = parse_args(argc, argv, deactivate_usage, ALLOW_REVOKE, &a);

	if (status >= 0)
		return status;
	if (optind + 1 != argc) {
		fputs(deactivate_usage, stderr);
		return EXIT_USAGE;
	}
	return jitrd_command_ca_deactivate(&a.common, argv[optind], a.revoke_certificates);
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
    "       jitrd cert register -c FILE [--json] [--at TIME] DEVICE.pem... | --dir DIR\n"
    "\n"
    "Sets each certificate REVOKED, or ACTIVE (UpdateCertificate), in the order given; one\n"
    "line per certificate. Ids are checked first (64 hex digits each). AWS refuses to\n"
    "activate a REVOKED certificate (CertificateStateException).\n"
    "`cert activate` is the operator's override: it checks no CRL and attaches no policy.\n"
    "To let jitrd decide (CRL, policy, Thing), use `jitrd handle` or `jitrd reconcile`.\n"
    "  -c, --config FILE  configuration (default " JITRD_DEFAULT_CONFIG ")\n"
    "Exit 0: every certificate changed; 1: a change failed; 2: usage or configuration error.\n";

static const char cert_register_usage[] =
    "usage: jitrd cert register -c FILE [--json] [--at TIME] DEVICE.pem... | --dir DIR\n"
    "\n"
    "Registers device certificates with AWS IoT before the devices first connect (instead\n"
    "of Just-in-Time Registration), one certificate a file. Each gets the decision of a\n"
    "registration event (our CA, signature, validity, CRL, [ocsp] mode, templates); one\n"
    "jitrd would not activate is not registered and its line says why. The others:\n"
    "RegisterCertificate with their CA's certificate (INACTIVE), then the Thing and the\n"
    "policy, then UpdateCertificate ACTIVE last. One AWS IoT already has is taken as it is:\n"
    "ACTIVE -> already registered (policy and Thing ensured); INACTIVE or\n"
    "PENDING_ACTIVATION -> provisioned and activated; REVOKED -> refused, never\n"
    "re-activated. [service] workers threads within [limits] (register_certificate and the\n"
    "others). Progress is kept in the journal ([service] state_dir) under the set of input\n"
    "files: after an interruption (SIGTERM, SIGINT: the certificates in flight finish; a\n"
    "crash) run the same command again and it goes on; no certificate is registered twice.\n"
    "One line per certificate (refused and failed ones on standard error), a progress line\n"
    "on a terminal, a summary: registered, already registered, refused, failed.\n"
    "  -c, --config FILE  configuration (default " JITRD_DEFAULT_CONFIG ")\n"
    "  --dir DIR          every file in DIR (not those starting with '.')\n"
    "  --json             one JSON object per certificate, then {\"summary\": ...}\n"
    "  --at TIME          judge certificates and CRLs at TIME (2030-06-01T00:00:00Z)\n"
    "Exit 0: every certificate registered or already registered; 1: one was refused or\n"
    "failed (a file that is not one PEM certificate, an AWS error), or interrupted; 2: usage\n"
    "or configuration error, or an empty or unreadable DIR.\n";

static int cert_register(int argc, char **argv)
{
	struct op_args a;
	int status =
	    parse_args(argc, argv, cert_register_usage, ALLOW_JSON | ALLOW_DIR | ALLOW_AT, &a);

	if (status >= 0)
		return status;
	if ((a.dir != NULL) == (optind < argc)) {
		fprintf(stderr, "jitrd: cert register needs DEVICE.pem files or --dir DIR (not "
		                "both)\n");
		fputs(cert_register_usage, stderr);
		return EXIT_USAGE;
	}
	return jitrd_command_cert_register(&a.common, a.dir, argv + optind, (size_t)(argc - optind),
	                                   a.json);
}

static int cert_update(int argc, char **argv, enum jitrd_iot_status new_status)
{
	struct op_args a;
	int status = parse_args(argc, argv, cert_usage, 0, &a);

	if (status >= 0)
		return status;
	if (optind >= argc) {
		fputs(cert_usage, stderr);
		return EXIT_USAGE;
	}
	return jitrd_command_cert_status(&a.common, argv + optind, (size_t)(argc - optind),
	                                 new_status);
}

int jitrd_cmd_cert(int argc, char **argv)
{
	if (argc >= 2 && strcmp(argv[1], "revoke") == 0)
		return cert_update(argc - 1, argv + 1, JITRD_IOT_REVOKED);
	if (argc >= 2 && strcmp(argv[1], "activate") == 0)
		return cert_update(argc - 1, argv + 1, JITRD_IOT_ACTIVE);
	if (argc >= 2 && strcmp(argv[1], "register") == 0)
		return cert_register(argc - 1, argv + 1);
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

static int crl_sweep(int argc, char **argv)
{
	struct op_args a;
	int status = parse_args(argc, argv, sweep_usage, ALLOW_DRY_RUN | ALLOW_AT, &a);

	if (status >= 0)
		return status;
	if (optind != argc) {
		fputs(sweep_usage, stderr);
		return EXIT_USAGE;
	}
	return jitrd_command_crl_sweep(&a.common, a.dry_run);
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

/* ---- jitrd explain ------------------------------------------------------------------------ */

static const char explain_usage[] =
    "usage: jitrd explain -c FILE [--offline] [--json] [--at TIME] CERT_ID | DEVICE.pem\n"
    "\n"
    "Why is this device (not) active? For a certificate id (64 hex digits) or a device\n"
    "certificate (PEM file): what the journal recorded (every event with its times,\n"
    "source, state, attempts, decision and reason; the inventory row), what AWS IoT says\n"
    "now (DescribeCertificate: status, CA, creation date; the attached policies and\n"
    "Things), and with a PEM file the decision jitrd would make now with the current CRLs\n"
    "and templates (as `jitrd check`) and what it would do. Changes nothing.\n"
    "  -c, --config FILE  configuration (default " JITRD_DEFAULT_CONFIG ")\n"
    "  --offline          ask AWS nothing: the journal and the decision only\n"
    "  --json             one JSON object on standard output, for scripts\n"
    "  --at TIME          decide at TIME (2030-06-01T00:00:00Z)\n"
    "Exit 0: explained; 1: the journal or AWS could not be asked, or the PEM file could\n"
    "not be read; 2: usage or configuration error (an argument that is neither an id nor a\n"
    "file).\n";

int jitrd_cmd_explain(int argc, char **argv)
{
	struct op_args a;
	int status = parse_args(argc, argv, explain_usage, ALLOW_EXPLAIN | ALLOW_AT, &a);

	if (status >= 0)
		return status;
	if (optind != argc - 1) {
		fputs(explain_usage, stderr);
		return EXIT_USAGE;
	}
	return jitrd_command_explain(&a.common, argv[optind], a.offline, a.json);
}
