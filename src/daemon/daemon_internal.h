#define CLAIM_BATCH    4      /* events a worker claims at once */
#define POLL_MS        1000   /* workers look for retries that fell due at least this often */
#define RETRY_BASE_MS  2000   /* journal retries: first window; doubled per attempt ... */
#define RETRY_CAP_MS   300000 /* ... up to five minutes */
#define RETRY_FLOOR_MS 250    /* full jitter may draw 0: never spin on a failing event */
#define MQTT_STOP_MS   2000
#define JOURNAL_FILE   "journal.db"
#define LOCK_FILE      "jitrd.lock"
/* How often stale in-progress rows are looked for, and how much longer than the event
 * deadline a claim may last before its row is handed out again. */
#define REQUEUE_CHECK_MS       60000
#define REQUEUE_MARGIN_SECONDS 60
#define STATE_PATH_MAX         4096

struct service;

struct worker {
	struct service *service;
	struct jitrd_iot_session *session;
	pthread_t thread;
	bool started;
};

struct service {
	const struct jitrd_service_options *opts;
	int lock_fd; /* flock on state_dir/jitrd.lock: one service per journal; -1 before */
	struct jitrd_runtime
	    *boot_rt; /* the start-up snapshot: the client's settings came from it */
	struct jitrd_log *log;
	struct jitrd_metrics *metrics;
	struct jitrd_journal *journal;
	struct jitrd_credentials_provider *creds;
	struct jitrd_iot_client *client;
	struct jitrd_pipeline *pipeline;
	struct jitrd_http_status *http;
	struct jitrd_notify *notify; /* systemd's Type=notify (deploy/systemd), or nothing */
	struct worker *workers;
	size_t worker_count;
	struct jitrd_iot_session *reconcile_session;
	pthread_t reconciler;
	bool reconciler_started;
	bool mqtt_configured;
	int reconcile_seconds;
	int subscribe_grace_seconds;
	int remember_seconds;
	int journal_max_rows;
	struct jitrd_crl_floors *crl_floors; /* highest CRL numbers accepted; main thread only */

	/* The one lock of the service: the current snapshot, the MQTT source pointer (readiness
	 * reads it from the HTTP thread), the wake-up sequence and the stop flag. Held only for
	 * a few instructions, never across a call that does I/O but the readiness probe's. */
	pthread_mutex_t lock;
	pthread_cond_t work;      /* an event was recorded, or stop */
	pthread_cond_t reconcile; /* stop */
	pthread_cond_t exited;    /* a thread ended (running went down) */
	struct jitrd_runtime *rt; /* current snapshot; workers take a reference per event */
	struct jitrd_mqtt_source *mqtt;
	unsigned long wake_seq;
	unsigned running; /* worker and reconcile threads not yet ended */
	bool stopping;
};
