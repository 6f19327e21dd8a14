/* options.c — what the CLI's commands share: the -c/--at/--help options and time parsing. */
#include "cli.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>

static int take_digits(const char **p, int count, int *out)
{
	int value = 0;

	for (int i = 0; i < count; i++, (*p)++) {
		if (**p < '0' || **p > '9')
			return -1;
		value = value * 10 + (**p - '0');
	}
	*out = value;
	return 0;
}

enum jitrd_err jitrd_parse_time(const char *text, time_t *out)
{
	struct tm tm = {0};
	const char *p = text;
	int year, mon, day, hour, min, sec;
	time_t t;

	if (*p && strspn(p, "0123456789") == strlen(p)) {
		/* up to 9999-12-31T23:59:59Z, the last moment RFC 3339 can write */
		if (strlen(p) > 12 || strtoll(p, NULL, 10) > 253402300799LL)
			return JITRD_ERR_MALFORMED;
		*out = (time_t)strtoll(p, NULL, 10);
		return JITRD_OK;
	}
	if (take_digits(&p, 4, &year) || *p++ != '-' || take_digits(&p, 2, &mon) || *p++ != '-' ||
	    take_digits(&p, 2, &day) || (*p != 'T' && *p != 't'))
		return JITRD_ERR_MALFORMED;
	p++;
	if (take_digits(&p, 2, &hour) || *p++ != ':' || take_digits(&p, 2, &min) || *p++ != ':' ||
	    take_digits(&p, 2, &sec) || (*p != 'Z' && *p != 'z') || p[1])
		return JITRD_ERR_MALFORMED;
	if (mon < 1 || mon > 12 || day < 1 || day > 31 || hour > 23 || min > 59 || sec > 60)
		return JITRD_ERR_MALFORMED;
	tm.tm_year = year - 1900;
	tm.tm_mon = mon - 1;
	tm.tm_mday = day;
	tm.tm_hour = hour;
	tm.tm_min = min;
	tm.tm_sec = sec;
	t = timegm(&tm);
	if (t == (time_t)-1 || tm.tm_mday != day) /* timegm normalised an impossible date */
		return JITRD_ERR_MALFORMED;
	*out = t;
	return JITRD_OK;
}

bool jitrd_parse_at(const char *text, time_t *out)
{
	if (jitrd_parse_time(text, out) == JITRD_OK)
		return true;
	fprintf(stderr,
	        "jitrd: --at %.64s: not a time (2030-06-01T00:00:00Z or epoch seconds, up to the "
	        "year 9999)\n",
	        text);
	return false;
}

int jitrd_parse_common_options(int argc, char **argv, const char *usage,
                               struct jitrd_command_options *opts)
{
	static const struct option options[] = {
	    {"config", required_argument, NULL, 'c'},
	    {"at", required_argument, NULL, 'a'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	int opt;

	opts->config_path = NULL;
	opts->now = time(NULL);
	while ((opt = getopt_long(argc, argv, "c:h", options, NULL)) != -1) {
		switch (opt) {
		case 'c':
			opts->config_path = optarg;
			break;
		case 'a':
			if (!jitrd_parse_at(optarg, &opts->now))
				return EXIT_USAGE;
			break;
		case 'h':
			fputs(usage, stdout);
			return EXIT_OK;
		default:
			fputs(usage, stderr);
			return EXIT_USAGE;
		}
	}
	return -1;
}

int jitrd_parse_command_line(int argc, char **argv, const char *usage, int positional,
                             struct jitrd_command_options *opts)
{
	int status = jitrd_parse_common_options(argc, argv, usage, opts);

	if (status >= 0)
		return status;
	if (argc - optind != positional) {
		fputs(usage, stderr);
		return EXIT_USAGE;
	}
	return -1;
}
