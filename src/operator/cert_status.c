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
