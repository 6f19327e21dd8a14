static int print_decision(const struct jitrd_runtime *rt, const struct jitrd_cert *cert,
                          const struct jitrd_decision *d, time_t now)
{
	struct jitrd_outcome o = {0};
	char *line = NULL;

	o.time = now;
	o.certificate_id = jitrd_cert_id(cert);
	o.ca_certificate_id = d->ca_id;
	o.decision = d->kind;
	o.reason = d->reason;
	o.status = d->target_status ? d->target_status : "";
	o.serial = d->serial;
	o.subject_cn = d->subject_cn;
	o.policy = d->policy_name;
	o.thing = d->thing_name;
	o.policy_document = d->policy_document;
	enum jitrd_err err = jitrd_outcome_format(&o, rt->cfg->service.log_format, &line);

	if (err != JITRD_OK) {
		fprintf(stderr, "jitrd: cannot format the outcome: %s\n", jitrd_strerror(err));
		return EXIT_WORK_FAILED;
	}
	printf("%s\n", line);
	free(line);
	return EXIT_OK;
}

int jitrd_cmd_check(int argc, char **argv)
{
	struct jitrd_common_options opts;
	struct jitrd_runtime rt;
	struct jitrd_decision_context ctx;
	struct jitrd_decision d;
	struct jitrd_diag diag = {{0}};
	struct jitrd_cert *cert = NULL;
	char *pem = NULL;
	size_t len = 0;
	enum jitrd_err err;
	int status = jitrd_parse_common_options(argc, argv, usage, &opts);

	if (status >= 0)
		return status;
	if (optind + 1 != argc) {
		fputs(usage, stderr);
		return EXIT_USAGE;
	}
	if (jitrd_runtime_load(&rt, opts.config_path, opts.now, &diag) != 0) {
		fprintf(stderr, "jitrd: %s\n", diag.text);
		jitrd_runtime_cleanup(&rt);
		return EXIT_USAGE;
	}
	if (*rt.crl_floors_note)
		fprintf(stderr, "jitrd: note: %s %s\n", rt.crl_floors_path, rt.crl_floors_note);
	jitrd_decision_init(&d);
	status = EXIT_WORK_FAILED;
	err = jitrd_file_read(argv[optind], JITRD_CERT_MAX_PEM, &pem, &len, &diag);
	if (err == JITRD_OK) {
		err = jitrd_cert_from_pem(pem, len, &cert, &diag);
		if (err != JITRD_OK)
			jitrd_diag_prefix(&diag, argv[optind]);
	}
	if (err != JITRD_OK) {
		fprintf(stderr, "jitrd: %s\n", diag.text);
		goto cleanup;
	}
	jitrd_runtime_context(&rt, &ctx);
	err = jitrd_decide_certificate(&ctx, cert, NULL, opts.now, &d);
	if (err == JITRD_ERR_CONFIG) {
		fprintf(stderr, "jitrd: %s\n", d.reason);
		status = EXIT_USAGE;
		goto cleanup;
	}
	if (err != JITRD_OK) {
		fprintf(stderr, "jitrd: %s\n", jitrd_strerror(err));
		goto cleanup;
	}
	status = print_decision(&rt, cert, &d, opts.now);
cleanup:
	jitrd_decision_cleanup(&d);
	jitrd_cert_free(cert);
	free(pem);
	jitrd_runtime_cleanup(&rt);
	return status;
}
