/* fuzz_template.c — fuzz target of the template module: the first byte says how many of the
 * following bytes are the placeholder value, the rest is the template text. A template that
 * parses is rendered with that value for every placeholder name; a successful render must be
 * JSON with the template's top-level key count and no {{ left. Names are rendered too. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "jitrd/template.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Top-level key count of text parsed the plain json-c way (the module refuses NUL bytes, so a
 * NUL-terminated copy holds the whole template whenever the module accepted it). */
static int top_level_keys(const char *text)
{
	struct json_object *doc = json_tokener_parse(text);
	int keys = -1;

	if (doc && json_object_is_type(doc, json_type_object))
		keys = json_object_object_length(doc);
	json_object_put(doc);
	return keys;
}

static void check_policy(const char *text, size_t len, const struct jitrd_template_var *vars,
                         size_t nvars)
{
	struct jitrd_policy_template *tpl = NULL;
	struct json_object *rendered;
	char *out = NULL;
	int keys;

	if (jitrd_policy_template_parse("fuzz", text, len, &tpl, NULL) != JITRD_OK)
		return;
	if (jitrd_policy_template_render(tpl, vars, nvars, &out, NULL) == JITRD_OK) {
		rendered = json_tokener_parse(out);
		keys = top_level_keys(text);
		if (!rendered || !json_object_is_type(rendered, json_type_object) ||
		    json_object_object_length(rendered) != keys)
			abort();
		/* a value can never leave a placeholder behind or form a new one */
		if (strstr(out, "{{"))
			abort();
		if (strlen(out) > JITRD_POLICY_MAX_CHARS * 4)
			abort();
		json_object_put(rendered);
		free(out);
	}
	jitrd_policy_template_free(tpl);
}

static void check_name(const char *text, const struct jitrd_template_var *vars, size_t nvars)
{
	char name[JITRD_NAME_MAX + 1];

	if (jitrd_name_template_render(text, JITRD_NAME_POLICY, vars, nvars, name, NULL) ==
	        JITRD_OK &&
	    !jitrd_name_valid(name, JITRD_NAME_POLICY))
		abort();
	if (jitrd_name_template_render(text, JITRD_NAME_THING, vars, nvars, name, NULL) ==
	        JITRD_OK &&
	    !jitrd_name_valid(name, JITRD_NAME_THING))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct jitrd_template_var vars[32];
	size_t nvars = 0, split;
	char *value, *text;

	if (size < 1)
		return 0;
	split = data[0] < size - 1 ? data[0] : size - 1;
	value = malloc(split + 1);
	text = malloc(size - 1 - split + 1);
	if (!value || !text) {
		free(value);
		free(text);
		return 0;
	}
	memcpy(value, data + 1, split);
	value[split] = '\0';
	memcpy(text, data + 1 + split, size - 1 - split);
	text[size - 1 - split] = '\0';
	for (const char *const *n = jitrd_template_known_names; *n && nvars < 32; n++)
		vars[nvars++] = (struct jitrd_template_var){.name = *n, .value = value};

	check_policy(text, size - 1 - split, vars, nvars);
	check_name(text, vars, nvars);
	free(value);
	free(text);
	return 0;
}
