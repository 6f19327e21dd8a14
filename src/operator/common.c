/* common.c — what the operator commands share (operator_internal.h): their online setup,
 * AWS failures in words, a CA's certificate listing, the stop signals. */
#include "operator_internal.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "jitrd/clock.h"
#include "jitrd/operator.h"
#include "jitrd/text.h"

#define LIST_PAGE 250

extern char **environ;

void operator_describe_failure(char *out, size_t size, const char *operation, enum jitrd_err err,
                               const struct jitrd_iot_result *res, const struct jitrd_diag *diag)
{
	if (err == JITRD_ERR_API && res->code[0])
		snprintf(out, size, "%s: %s: %s", operation, res->code, res->message);
	else if (diag->text[0])
		snprintf(out, size, "%s: %.400s", operation, diag->text);
	else
		snprintf(out, size, "%s: %s", operation, jitrd_strerror(err));
}

static int collect_cert(void *ctx, const struct jitrd_iot_cert_summary *cert)
{
	struct operator_cert_list *l = ctx;

	if (l->count == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 256;
		struct operator_listed_cert *items = realloc(l->items, cap * sizeof(*items));
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

enum jitrd_err operator_list_ca(struct jitrd_iot_session *s, int64_t timeout_ms, const char *ca_id,
                                struct operator_cert_list *l, struct jitrd_iot_result *res,
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

volatile sig_atomic_t operator_stop_flag;

static void on_stop_signal(int sig)
{
	(void)sig;
	operator_stop_flag = 1;
}

void operator_catch_stop_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_stop_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
}

enum jitrd_err operator_online_open(struct jitrd_online *online,
                                    const struct jitrd_command_options *o, bool journal,
                                    bool pipeline)
{
	struct jitrd_online_options oo;
	struct jitrd_diag diag = {{0}};
	enum jitrd_err err;

	jitrd_online_options_init(&oo);
	oo.config_path = o->config_path;
	oo.now = o->now;
	oo.envp = (const char *const *)environ;
	oo.journal = journal;
	oo.session = true;
	oo.pipeline = pipeline;
	err = jitrd_online_open(&oo, online, &diag);
	if (err != JITRD_OK)
		fprintf(stderr, "jitrd: %s\n", diag.text);
	return err;
}

int64_t operator_request_timeout_ms(const struct jitrd_online *online)
{
	return (int64_t)online->rt->cfg->service.event_deadline_seconds * 1000;
}

void operator_diag_failure(const char *operation, enum jitrd_err err,
                           const struct jitrd_iot_result *res, struct jitrd_diag *diag)
{
	char text[sizeof(diag->text)];

	operator_describe_failure(text, sizeof(text), operation, err, res, diag);
	jitrd_diag_set(diag, "%s", text);
}

void operator_print_failure(const char *what, enum jitrd_err err,
                            const struct jitrd_iot_result *res, const struct jitrd_diag *diag)
{
	char text[1024];

	operator_describe_failure(text, sizeof(text), what, err, res, diag);
	fprintf(stderr, "jitrd: %s\n", text);
}

enum jitrd_err operator_pool_init(struct operator_pool *pool, volatile sig_atomic_t *stop,
                                  unsigned progress_ms, void (*tick)(void *, const void *),
                                  void *ctx, const void *counters, size_t counters_size)
{
	pthread_condattr_t attr;
	enum jitrd_err result = JITRD_ERR_NOMEM;

	memset(pool, 0, sizeof(*pool));
	pool->stop = stop;
	pool->progress_ms = progress_ms;
	pool->tick = tick;
	pool->ctx = ctx;
	pool->counters = counters;
	pool->counters_size = counters_size;
	if (pthread_condattr_init(&attr) != 0)
		return JITRD_ERR_NOMEM;
	if (pthread_condattr_setclock(&attr, CLOCK_MONOTONIC) == 0 &&
	    pthread_cond_init(&pool->finished, &attr) == 0) {
		if (pthread_mutex_init(&pool->lock, NULL) == 0)
			result = JITRD_OK;
		else
			pthread_cond_destroy(&pool->finished);
	}
	pthread_condattr_destroy(&attr);
	return result;
}

void operator_pool_cleanup(struct operator_pool *pool)
{
	pthread_cond_destroy(&pool->finished);
	pthread_mutex_destroy(&pool->lock);
}

void operator_pool_fail(struct operator_pool *pool, enum jitrd_err err, const char *what,
                        const char *text)
{
	pthread_mutex_lock(&pool->lock);
	if (pool->fatal == JITRD_OK) {
		pool->fatal = err;
		jitrd_diag_set(&pool->fatal_diag, "%s: %s", what, text);
	}
	pthread_mutex_unlock(&pool->lock);
}

enum jitrd_err operator_pool_session(struct operator_pool *pool, struct jitrd_iot_client *client,
                                     struct jitrd_iot_session **session)
{
	enum jitrd_err err = jitrd_iot_session_new(client, session);

	if (err != JITRD_OK)
		operator_pool_fail(pool, err, "cannot open a session", jitrd_strerror(err));
	return err;
}

bool operator_pool_take(struct operator_pool *pool, size_t *index)
{
	if (pool->stopping || pool->fatal != JITRD_OK || pool->next >= pool->count)
		return false;
	*index = pool->next++;
	return true;
}

void operator_pool_leave(struct operator_pool *pool, struct jitrd_iot_session *session)
{
	jitrd_iot_session_free(session);
	pthread_mutex_lock(&pool->lock);
	pool->running--;
	pthread_cond_signal(&pool->finished);
	pthread_mutex_unlock(&pool->lock);
}

enum jitrd_err operator_pool_run(struct operator_pool *pool, unsigned workers, void *(*fn)(void *),
                                 void *arg, struct jitrd_diag *diag)
{
	pthread_t threads[JITRD_OPERATOR_MAX_WORKERS];
	unsigned started = 0;
	unsigned progress_ms = pool->progress_ms ? pool->progress_ms : 250;
	sigset_t stop_signals, old;

	if (workers < 1)
		workers = 1;
	if (workers > JITRD_OPERATOR_MAX_WORKERS)
		workers = JITRD_OPERATOR_MAX_WORKERS;
	/* Stop signals go to the calling thread only: workers never run the handler. */
	sigemptyset(&stop_signals);
	sigaddset(&stop_signals, SIGTERM);
	sigaddset(&stop_signals, SIGINT);
	sigaddset(&stop_signals, SIGHUP);
	sigaddset(&stop_signals, SIGQUIT);
	pthread_sigmask(SIG_BLOCK, &stop_signals, &old);
	pthread_mutex_lock(&pool->lock);
	for (; started < workers; started++) {
		if (pthread_create(&threads[started], NULL, fn, arg) != 0)
			break;
		pool->running++;
	}
	pthread_mutex_unlock(&pool->lock);
	pthread_sigmask(SIG_SETMASK, &old, NULL);

	pthread_mutex_lock(&pool->lock);
	while (pool->running > 0) {
		struct timespec until = jitrd_clock_mono_at(jitrd_clock_mono_ms() + progress_ms);

		pthread_cond_timedwait(&pool->finished, &pool->lock, &until);
		/* the flag a signal handler sets is read here only, and passed on under the lock */
		if (pool->stop && *pool->stop)
			pool->stopping = true;
		if (pool->tick && pool->running > 0 &&
		    pool->counters_size <= OPERATOR_POOL_COUNTERS_MAX) {
			unsigned char copy[OPERATOR_POOL_COUNTERS_MAX];

			memcpy(copy, pool->counters, pool->counters_size);
			pthread_mutex_unlock(&pool->lock);
			pool->tick(pool->ctx, copy);
			pthread_mutex_lock(&pool->lock);
		}
	}
	pthread_mutex_unlock(&pool->lock);
	for (unsigned i = 0; i < started; i++)
		pthread_join(threads[i], NULL);
	if (started == 0) {
		jitrd_diag_set(diag, "cannot start a worker thread");
		return JITRD_ERR_NOMEM;
	}
	if (pool->fatal != JITRD_OK)
		jitrd_diag_set(diag, "%s", pool->fatal_diag.text);
	return pool->fatal;
}
