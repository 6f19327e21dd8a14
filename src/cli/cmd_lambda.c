/* cmd_lambda.c — `jitrd lambda` (also `bootstrap`, and jitrd with no command where
 * AWS_LAMBDA_RUNTIME_API is set): the AWS Lambda custom runtime. Only parses the command line;
 * the runtime loop and the event shapes are the lambda module's. */
#include "cli.h"

#include <stdlib.h>
#include <string.h>

#include "jitrd/lambda.h"

static const char lambda_usage[] =
    "usage: jitrd lambda\n"
    "       bootstrap          (the same, as Lambda's provided.al2023 runtime starts it)\n"
    "\n"
    "The AWS Lambda custom runtime: answers invocations from the Runtime API at\n"
    "AWS_LAMBDA_RUNTIME_API until it goes away. Invocations: the registration event (IoT rule),\n"
    "an SQS batch (partial batch response), or a scheduled event (a reconcile sweep).\n"
    "Configuration comes from JITRD_* variables only; unset, these default to the function's\n"
    "files: JITRD_CA_DIR=$LAMBDA_TASK_ROOT/ca, JITRD_CRL_DIR=$LAMBDA_TASK_ROOT/crl,\n"
    "JITRD_PROVISION_POLICY_TEMPLATE=$LAMBDA_TASK_ROOT/policies/default.json,\n"
    "JITRD_SERVICE_LOG_FORMAT=json (LAMBDA_TASK_ROOT defaults to /var/task).\n"
    "Exit 2: AWS_LAMBDA_RUNTIME_API unusable or configuration error (reported to\n"
    "/runtime/init/error first); 1: the Runtime API failed.\n";

int jitrd_cmd_lambda(int argc, char **argv)
{
	struct jitrd_lambda_options opts = {0};

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			fputs(lambda_usage, stdout);
			return EXIT_OK;
		}
		fputs(lambda_usage, stderr);
		return EXIT_USAGE;
	}
	opts.runtime_api = getenv("AWS_LAMBDA_RUNTIME_API");
	if (!opts.runtime_api || !*opts.runtime_api) {
		fprintf(stderr,
		        "jitrd: lambda: AWS_LAMBDA_RUNTIME_API is not set (this command runs "
		        "inside AWS Lambda)\n");
		return EXIT_USAGE;
	}
	return jitrd_lambda_run(&opts);
}
