/* dump_iot_ops.c — prints the IoT client's table of operations (iot_operations.h), one JSON
 * object a line, for check-iot-model.py to hold against botocore's model. */
#include <stdio.h>

#include "iot_operations.h"

static const char *const label_names[] = {
    [JITRD_IOT_LABEL_NONE] = "none",
    [JITRD_IOT_LABEL_CERTIFICATE_ID] = "certificate_id",
    [JITRD_IOT_LABEL_CA_CERTIFICATE_ID] = "ca_certificate_id",
    [JITRD_IOT_LABEL_POLICY_NAME] = "policy_name",
    [JITRD_IOT_LABEL_THING_NAME] = "thing_name",
    [JITRD_IOT_LABEL_TARGET] = "target",
    [JITRD_IOT_LABEL_POLICY_VERSION_ID] = "policy_version_id",
};

/* The names are identifiers and paths: nothing in them needs escaping, which is checked. */
static int put_string(const char *s)
{
	for (const char *p = s; *p; p++)
		if (*p == '"' || *p == '\\' || (unsigned char)*p < 0x20)
			return -1;
	printf("\"%s\"", s);
	return 0;
}

static int put_list(const char *key, const char *const *names, size_t n)
{
	int first = 1;

	printf(",\"%s\":[", key);
	for (size_t i = 0; i < n; i++) {
		if (!names[i])
			continue;
		if (!first)
			putchar(',');
		first = 0;
		if (put_string(names[i]) != 0)
			return -1;
	}
	putchar(']');
	return 0;
}

int main(void)
{
	for (int op = 0; op < JITRD_IOT_OP_COUNT; op++) {
		const struct jitrd_iot_op_spec *spec = jitrd_iot_op_spec((enum jitrd_iot_op)op);

		if (!spec || !spec->name || !spec->method || !spec->uri) {
			fprintf(stderr, "operation %d: no row\n", op);
			return 1;
		}
		printf("{\"op\":%d,\"name\":", op);
		if (put_string(spec->name) != 0)
			return 1;
		printf(",\"method\":");
		if (put_string(spec->method) != 0)
			return 1;
		printf(",\"uri\":");
		if (put_string(spec->uri) != 0)
			return 1;
		printf(",\"label\":\"%s\",\"label2\":\"%s\",\"header\":", label_names[spec->label],
		       label_names[spec->label2]);
		if (spec->header ? put_string(spec->header) != 0 : printf("null") < 0)
			return 1;
		if (put_list("query", spec->query, JITRD_IOT_OP_MAX_QUERY) != 0 ||
		    put_list("body", spec->body, JITRD_IOT_OP_MAX_BODY) != 0 ||
		    put_list("answer", spec->answer, JITRD_IOT_OP_MAX_ANSWER) != 0)
			return 1;
		printf(",\"reader\":%s}\n", spec->read ? "true" : "false");
	}
	if (jitrd_iot_op_spec(JITRD_IOT_OP_COUNT) != NULL) {
		fprintf(stderr, "a row past the last operation\n");
		return 1;
	}
	return 0;
}
