static int64_t wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* "Code: message" of AWS's answer, or the client's own reason. */
static void describe_failure(char *out, size_t size, const char *operation, enum jitrd_err err,
                             const struct jitrd_iot_result *res, const struct jitrd_diag *diag)
{
	if (err == JITRD_ERR_API && res->code[0])
		snprintf(out, size, "%s: %s: %s", operation, res->code, res->message);
	else if (diag->text[0])
		snprintf(out, size, "%s: %.400s", operation, diag->text);
	else
		snprintf(out, size, "%s: %s", operation, jitrd_strerror(err));
}

int jitrd_operator_valid_id(const char *text)
{
	size_t i;

	if (!text)
		return 0;
	for (i = 0; i < 64; i++) {
		char c = text[i];
		if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')))
			return 0;
	}
	return text[64] == '\0';
}


struct listed_cert {
	char id[65];
	enum jitrd_iot_status status;
};

struct cert_list {
	struct listed_cert *items;
	size_t count, cap;
	int nomem;
};

static int collect_cert(void *ctx, const struct jitrd_iot_cert_summary *cert)
{
	struct cert_list *l = ctx;

	if (l->count == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 256;
		struct listed_cert *items = realloc(l->items, cap * sizeof(*items));
		if (!items) {
			l->nomem = 1;
			return 1;
		}
		l->items = items;
		l->cap = cap;
	}
	jitrd_text_copy(l->items[l->count].id, sizeof(l->items[l->count].id), cert->certificate_id);
	l->items[l->count].status = cert->status;
	l->count++;
	return 0;
}

/* Every certificate of one CA, all pages. */
static enum jitrd_err list_ca(struct jitrd_iot_session *s, int64_t timeout_ms, const char *ca_id,
                              struct cert_list *l, struct jitrd_iot_result *res,
                              struct jitrd_diag *diag)
{
	/* the whole listing may take many pages at the ListCertificatesByCA rate */
	int64_t deadline = jitrd_iot_deadline_in(timeout_ms * 20);
	enum jitrd_err err = jitrd_iot_list_certificates_by_ca(s, deadline, ca_id, LIST_PAGE, 0,
	                                                       collect_cert, l, res, diag);

	if (err == JITRD_OK && l->nomem) {
		jitrd_diag_set(diag, "out of memory listing the certificates of CA %s", ca_id);
		err = JITRD_ERR_NOMEM;
	}
	return err;
}


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
