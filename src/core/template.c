/* template.c — policy documents and resource names rendered from {{placeholders}} (DESIGN §4.4).
 * Substitution happens only inside string values of an already-parsed JSON tree and a value
 * that could act as anything but text is refused, so a hostile certificate field can never
 * change structure or widen a grant. Pure: no I/O, no clock, no logging; a parsed template is
 * immutable and shared. */
#include "jitrd/template.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "jitrd/text.h"

/* Policy documents nest three or four levels; 32 is json-c's default and far above that. */
#define TEMPLATE_MAX_DEPTH      32
#define NAME_TEMPLATE_MAX_BYTES 1024
/* A string longer than this cannot fit in a 2048-character document: 2048 characters of at
 * most four UTF-8 bytes each. Bounds the scratch buffer of one render. */
#define STRING_MAX_BYTES (JITRD_POLICY_MAX_CHARS * 4)
#define PATH_MAX_CHARS   192
#define QUOTE_MAX        80

const char *const jitrd_template_known_names[] = {
    "certificate.id",
    "certificate.arn",
    "certificate.serial",
    "ca.id",
    "aws.account",
    "aws.region",
    "thing.name",
    "subject.CN",
    "subject.O",
    "subject.OU",
    "subject.C",
    "subject.ST",
    "subject.L",
    "subject.serialNumber",
    NULL,
};

struct jitrd_policy_template {
	/* Never modified after parse: json-c objects are not thread-safe to mutate (not even
	 * json_object_to_json_string, which caches), so every render works on a deep copy. */
	struct json_object *doc;
	char origin[QUOTE_MAX];
};

/* ---- placeholder scanner, shared by parse, render and names ---- */

enum token_kind { TOKEN_END, TOKEN_TEXT, TOKEN_PLACEHOLDER, TOKEN_ERROR };

struct token {
	enum token_kind kind;
	const char *text; /* TEXT: literal; PLACEHOLDER: the name; ERROR: from "{{" on */
	size_t len;
	size_t offset;      /* byte offset of text (of "{{" for PLACEHOLDER) in the string */
	const char *reason; /* ERROR only */
};

struct scanner {
	const char *s;
	size_t len;
	size_t pos;
	int in_variable; /* inside an IoT ${...} variable */
};

static int known_name(const char *name, size_t len)
{
	for (const char *const *k = jitrd_template_known_names; *k; k++) {
		if (strlen(*k) == len && memcmp(*k, name, len) == 0)
			return 1;
	}
	return 0;
}

/* Finds "}}" at or after from; returns its offset or len when absent. */
static size_t find_close(const char *s, size_t len, size_t from)
{
	for (size_t i = from; i + 1 < len; i++) {
		if (s[i] == '}' && s[i + 1] == '}')
			return i;
	}
	return len;
}

static void scan_next(struct scanner *sc, struct token *tok)
{
	const char *s = sc->s;
	size_t start = sc->pos;
	size_t i = start;
	size_t close;

	memset(tok, 0, sizeof(*tok));
	if (start >= sc->len) {
		tok->kind = TOKEN_END;
		return;
	}
	/* Literal text up to the next "{{". IoT's ${...} is plain text to us, but we track it:
	 * a placeholder inside one would let a value choose the variable. */
	while (i < sc->len) {
		char c = s[i];
		if (c == '{' && i + 1 < sc->len && s[i + 1] == '{')
			break;
		if (c == '$' && i + 1 < sc->len && s[i + 1] == '{')
			sc->in_variable = 1;
		else if (c == '}' && sc->in_variable)
			sc->in_variable = 0;
		i++;
	}
	if (i > start) {
		tok->kind = TOKEN_TEXT;
		tok->text = s + start;
		tok->len = i - start;
		tok->offset = start;
		sc->pos = i;
		return;
	}
	/* At "{{": the token runs to the matching "}}" (or to the end when unterminated). */
	close = find_close(s, sc->len, i + 2);
	tok->offset = i;
	tok->kind = TOKEN_ERROR;
	tok->text = s + i;
	if (close == sc->len) {
		tok->len = sc->len - i;
		tok->reason = "unterminated placeholder";
		sc->pos = sc->len;
		return;
	}
	tok->len = close + 2 - i;
	sc->pos = close + 2;
	if (close == i + 2) {
		tok->reason = "empty placeholder";
	} else if (memchr(s + i + 2, '{', close - i - 2) || memchr(s + i + 2, '}', close - i - 2)) {
		tok->reason = "nested braces in placeholder";
	} else if (!known_name(s + i + 2, close - i - 2)) {
		tok->reason = "unknown placeholder";
	} else if (sc->in_variable) {
		/* "${{{x}}" or "${iot:{{x}}}": the value would name an IoT variable */
		tok->reason = "placeholder inside an IoT policy variable ${...}";
	} else {
		tok->kind = TOKEN_PLACEHOLDER;
		tok->text = s + i + 2;
		tok->len = close - i - 2;
	}
}

static const struct jitrd_template_var *find_var(const struct jitrd_template_var *vars,
                                                 size_t nvars, const char *name, size_t len)
{
	for (size_t i = 0; i < nvars; i++) {
		if (vars[i].name && strlen(vars[i].name) == len &&
		    memcmp(vars[i].name, name, len) == 0)
			return &vars[i];
	}
	return NULL;
}

/* Why a placeholder value cannot go into a policy, or NULL when it can. *at receives the byte
 * offset of the first offending byte. allow_slash: only for certificate.arn, whose value
 * jitrd composes itself ("arn:aws:iot:REGION:ACCOUNT:cert/ID") and whose '/' is its own. */
static const char *value_problem(const char *value, size_t len, int allow_slash, size_t *at)
{
	const unsigned char *v = (const unsigned char *)value;

	for (size_t i = 0; i < len;) {
		unsigned char c = v[i];
		size_t n;
		*at = i;
		if (c < 0x20 || c == 0x7f)
			return "a control character";
		/* DESIGN §4.4: braces refused so that neither ${...} nor {{...}} can be formed */
		if (c == '{' || c == '}')
			return "a brace";
		/* Policy values are mostly MQTT topic and client ARNs: a '/' would reach into
		 * another device's topic tree (".../{{subject.CN}}" with CN "a/../b" or "x/#"),
		 * '+' and '#' are MQTT wildcards that IoT matches literally in some resources
		 * and as wildcards in others. None belongs in a device identity: refused. */
		if (c == '/' && !allow_slash)
			return "'/', which would reach into another device's MQTT topic tree";
		if (c == '+' || c == '#')
			return c == '+' ? "'+', an MQTT wildcard" : "'#', an MQTT wildcard";
		/* '*' and '?' are IoT policy wildcards and '$' starts a policy variable. AWS's IoT
		 * guide writes their literal forms as $(*), $(?), $($) while the IAM guide writes
		 * ${*}, ${?}, ${$} (IAM User Guide, "Policy variables": special characters); which
		 * one IoT Core honours cannot be confirmed without AWS, so a value that would need
		 * one is refused rather than granted on a guess. */
		if (c == '*' || c == '?')
			return c == '*' ? "'*', an IoT policy wildcard"
			                : "'?', an IoT policy wildcard";
		if (c == '$')
			return "'$', which starts an IoT policy variable";
		n = jitrd_utf8_sequence(v + i, len - i);
		if (n == 0)
			return "invalid UTF-8";
		/* C1 controls U+0080..U+009F are control characters too */
		if (n == 2 && c == 0xc2 && v[i + 1] < 0xa0)
			return "a control character";
		i += n;
	}
	return NULL;
}

/* Number of characters (Unicode code points) of UTF-8 text: bytes that do not continue a
 * sequence. This is how the 2048-character limit is counted. */
static size_t count_chars(const char *s, size_t len)
{
	size_t chars = 0;

	for (size_t i = 0; i < len; i++) {
		if (((unsigned char)s[i] & 0xc0) != 0x80)
			chars++;
	}
	return chars;
}

/* 1-based line of the first occurrence of needle in text, 0 when absent. json-c gives no line
 * numbers, so the offending token is looked up in the raw text (exact when it was written
 * without JSON escapes, which is the normal case). */
static unsigned line_of_token(const char *text, size_t len, const char *needle, size_t nlen)
{
	unsigned line = 1;

	if (nlen == 0 || nlen > len)
		return 0;
	for (size_t i = 0; i + nlen <= len; i++) {
		if (text[i] == '\n')
			line++;
		else if (text[i] == needle[0] && memcmp(text + i, needle, nlen) == 0)
			return line;
	}
	return 0;
}

static unsigned line_of_offset(const char *text, size_t len, size_t offset)
{
	unsigned line = 1;

	for (size_t i = 0; i < offset && i < len; i++) {
		if (text[i] == '\n')
			line++;
	}
	return line;
}

/* ---- tree walk (validation of the parsed template, substitution in a render copy) ---- */

enum walk_mode { WALK_VALIDATE, WALK_RENDER };

struct walk {
	enum walk_mode mode;
	const char *origin;
	const char *raw; /* VALIDATE: the template text, for line numbers */
	size_t raw_len;
	const struct jitrd_template_var *vars; /* RENDER */
	size_t nvars;
	char *scratch; /* RENDER: STRING_MAX_BYTES */
	struct jitrd_diag *diag;
	char path[PATH_MAX_CHARS];
	size_t path_len;
};

static const char *walk_path(const struct walk *w)
{
	return w->path_len ? w->path : "(top)";
}

/* Appends a path segment; returns the old length to restore. Truncates (paths are only for
 * messages). */
static size_t path_push_key(struct walk *w, const char *key)
{
	size_t old = w->path_len;
	char quoted[64];
	int n;

	jitrd_quote(quoted, sizeof(quoted), key, strlen(key));
	n = snprintf(w->path + old, sizeof(w->path) - old, "%s%s", old ? "." : "", quoted);
	if (n > 0)
		w->path_len =
		    old + (size_t)n < sizeof(w->path) ? old + (size_t)n : sizeof(w->path) - 1;
	return old;
}

static size_t path_push_index(struct walk *w, size_t index)
{
	size_t old = w->path_len;
	int n = snprintf(w->path + old, sizeof(w->path) - old, "[%zu]", index);

	if (n > 0)
		w->path_len =
		    old + (size_t)n < sizeof(w->path) ? old + (size_t)n : sizeof(w->path) - 1;
	return old;
}

static void path_pop(struct walk *w, size_t old)
{
	w->path_len = old;
	w->path[old] = '\0';
}

/* "origin:LINE: at PATH: " (line when it can be found) */
static void template_error(struct walk *w, const char *reason, const char *token, size_t len)
{
	char quoted[QUOTE_MAX];
	unsigned line = 0;

	jitrd_quote(quoted, sizeof(quoted), token, len);
	if (w->raw)
		line = line_of_token(w->raw, w->raw_len, token, len);
	if (line)
		jitrd_diag_set(w->diag, "%s:%u: at %s: %s %s", w->origin, line, walk_path(w),
		               reason, quoted);
	else
		jitrd_diag_set(w->diag, "%s: at %s: %s %s", w->origin, walk_path(w), reason,
		               quoted);
}

static enum jitrd_err validate_string(struct walk *w, const char *s, size_t len)
{
	struct scanner sc = {.s = s, .len = len};
	struct token tok;

	for (scan_next(&sc, &tok); tok.kind != TOKEN_END; scan_next(&sc, &tok)) {
		if (tok.kind == TOKEN_ERROR) {
			template_error(w, tok.reason, tok.text, tok.len);
			return JITRD_ERR_TEMPLATE;
		}
	}
	return JITRD_OK;
}

struct string_builder {
	char *buf;
	size_t used;
	size_t chars;
};

static int append(struct string_builder *b, const char *bytes, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		if (b->used >= STRING_MAX_BYTES)
			return -1;
		if (((unsigned char)bytes[i] & 0xc0) != 0x80 && ++b->chars > JITRD_POLICY_MAX_CHARS)
			return -1;
		b->buf[b->used++] = bytes[i];
	}
	return 0;
}

static enum jitrd_err render_string(struct walk *w, struct json_object *node)
{
	const char *s = json_object_get_string(node);
	int slen = json_object_get_string_len(node);
	struct scanner sc = {.s = s, .len = slen > 0 ? (size_t)slen : 0};
	struct string_builder b = {.buf = w->scratch};
	int substituted = 0;
	struct token tok;

	for (scan_next(&sc, &tok); tok.kind != TOKEN_END; scan_next(&sc, &tok)) {
		const struct jitrd_template_var *var;
		const char *problem;
		size_t vlen, at = 0;
		char quoted[QUOTE_MAX];

		if (tok.kind == TOKEN_ERROR) { /* cannot happen: validated at parse */
			template_error(w, tok.reason, tok.text, tok.len);
			return JITRD_ERR_TEMPLATE;
		}
		if (tok.kind == TOKEN_TEXT) {
			if (append(&b, tok.text, tok.len) != 0)
				goto too_long;
			continue;
		}
		var = find_var(w->vars, w->nvars, tok.text, tok.len);
		if (!var || !var->value) {
			jitrd_diag_set(
			    w->diag, "%s: at %s: placeholder {{%.*s}}: certificate lacks the field",
			    w->origin, walk_path(w), (int)tok.len, tok.text);
			return JITRD_ERR_FIELD_ABSENT;
		}
		vlen = strlen(var->value);
		problem = value_problem(
		    var->value, vlen, tok.len == 15 && memcmp(tok.text, "certificate.arn", 15) == 0,
		    &at);
		if (problem) {
			jitrd_quote(quoted, sizeof(quoted), var->value, vlen);
			jitrd_diag_set(
			    w->diag, "%s: at %s: value of {{%.*s}} \"%s\" holds %s at byte %zu",
			    w->origin, walk_path(w), (int)tok.len, tok.text, quoted, problem, at);
			return JITRD_ERR_FORBIDDEN_CHAR;
		}
		if (append(&b, var->value, vlen) != 0)
			goto too_long;
		substituted = 1;
	}
	if (substituted && json_object_set_string_len(node, b.buf, (int)b.used) != 1)
		return JITRD_ERR_NOMEM;
	return JITRD_OK;
too_long:
	jitrd_diag_set(w->diag, "%s: at %s: rendered string over %d characters", w->origin,
	               walk_path(w), JITRD_POLICY_MAX_CHARS);
	return JITRD_ERR_POLICY_TOO_LONG;
}

static enum jitrd_err walk_node(struct walk *w, struct json_object *node)
{
	enum jitrd_err err = JITRD_OK;

	switch (json_object_get_type(node)) {
	case json_type_object: {
		struct json_object_iter it;
		json_object_object_foreachC(node, it)
		{
			size_t old = path_push_key(w, it.key);
			const char *open = strstr(it.key, "{{");
			if (open && w->mode == WALK_VALIDATE) {
				template_error(w, "placeholder in an object key:", open,
				               strlen(open));
				err = JITRD_ERR_TEMPLATE;
			} else if (it.val) {
				err = walk_node(w, it.val);
			}
			path_pop(w, old);
			if (err != JITRD_OK)
				return err;
		}
		return JITRD_OK;
	}
	case json_type_array: {
		size_t n = json_object_array_length(node);
		for (size_t i = 0; i < n; i++) {
			struct json_object *item = json_object_array_get_idx(node, i);
			size_t old = path_push_index(w, i);
			if (item)
				err = walk_node(w, item);
			path_pop(w, old);
			if (err != JITRD_OK)
				return err;
		}
		return JITRD_OK;
	}
	case json_type_string: {
		if (w->mode == WALK_RENDER)
			return render_string(w, node);
		int len = json_object_get_string_len(node);
		return validate_string(w, json_object_get_string(node), len > 0 ? (size_t)len : 0);
	}
	default:
		return JITRD_OK;
	}
}

/* ---- policy templates ---- */

static const char *type_name(struct json_object *obj)
{
	return obj ? json_type_to_name(json_object_get_type(obj)) : "null";
}

enum jitrd_err jitrd_policy_template_parse(const char *origin, const char *text, size_t len,
                                           struct jitrd_policy_template **out,
                                           struct jitrd_diag *diag)
{
	enum jitrd_err result = JITRD_ERR_INVALID_ARG;
	struct jitrd_policy_template *tpl = NULL;
	struct json_tokener *tok = NULL;
	struct json_object *doc = NULL;
	struct walk w = {.mode = WALK_VALIDATE, .raw = text, .raw_len = len, .diag = diag};
	char where[QUOTE_MAX];
	const char *nul;
	size_t i;

	jitrd_quote(where, sizeof(where), origin ? origin : "policy template",
	            strlen(origin ? origin : "policy template"));
	w.origin = where;
	if (!out || (!text && len)) {
		jitrd_diag_set(diag, "%s: no template text", where);
		goto cleanup;
	}
	result = JITRD_ERR_TOO_LARGE;
	if (len > JITRD_TEMPLATE_MAX_BYTES) {
		jitrd_diag_set(diag, "%s: %zu bytes, over the limit of %d", where, len,
		               JITRD_TEMPLATE_MAX_BYTES);
		goto cleanup;
	}
	result = JITRD_ERR_MALFORMED;
	/* json-c stops at a NUL byte; a template has no business holding one */
	nul = len ? memchr(text, '\0', len) : NULL;
	if (nul) {
		jitrd_diag_set(diag, "%s:%u: NUL byte in the template", where,
		               line_of_offset(text, len, (size_t)(nul - text)));
		goto cleanup;
	}
	for (i = 0;
	     i < len && (text[i] == ' ' || text[i] == '\t' || text[i] == '\n' || text[i] == '\r');
	     i++)
		;
	if (i == len || text[i] != '{') {
		jitrd_diag_set(diag, "%s:%u: the template must be one JSON object", where,
		               line_of_offset(text, len, i));
		goto cleanup;
	}
	result = JITRD_ERR_NOMEM;
	tok = json_tokener_new_ex(TEMPLATE_MAX_DEPTH);
	if (!tok)
		goto cleanup;
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
	doc = json_tokener_parse_ex(tok, text, (int)len);
	result = JITRD_ERR_MALFORMED;
	if (json_tokener_get_error(tok) == json_tokener_continue) {
		jitrd_diag_set(diag, "%s:%u: truncated JSON", where,
		               line_of_offset(text, len, len));
		goto cleanup;
	}
	if (!doc || json_tokener_get_error(tok) != json_tokener_success) {
		jitrd_diag_set(diag, "%s:%u: %s", where,
		               line_of_offset(text, len, json_tokener_get_parse_end(tok)),
		               json_tokener_error_desc(json_tokener_get_error(tok)));
		goto cleanup;
	}
	/* exactly one object: only whitespace may follow it */
	for (i = json_tokener_get_parse_end(tok); i < len; i++) {
		if (text[i] != ' ' && text[i] != '\t' && text[i] != '\n' && text[i] != '\r') {
			jitrd_diag_set(diag, "%s:%u: data after the JSON object", where,
			               line_of_offset(text, len, i));
			goto cleanup;
		}
	}
	if (!json_object_is_type(doc, json_type_object)) {
		jitrd_diag_set(diag, "%s: the template must be a JSON object, not %s", where,
		               type_name(doc));
		goto cleanup;
	}
	result = walk_node(&w, doc);
	if (result != JITRD_OK)
		goto cleanup;
	result = JITRD_ERR_NOMEM;
	tpl = calloc(1, sizeof(*tpl));
	if (!tpl)
		goto cleanup;
	tpl->doc = doc;
	doc = NULL;
	memcpy(tpl->origin, where, sizeof(tpl->origin));
	*out = tpl;
	tpl = NULL;
	result = JITRD_OK;
cleanup:
	json_object_put(doc);
	if (tok)
		json_tokener_free(tok);
	jitrd_policy_template_free(tpl);
	return result;
}

void jitrd_policy_template_free(struct jitrd_policy_template *tpl)
{
	if (!tpl)
		return;
	json_object_put(tpl->doc);
	free(tpl);
}

enum jitrd_err jitrd_policy_template_render(const struct jitrd_policy_template *tpl,
                                            const struct jitrd_template_var *vars, size_t nvars,
                                            char **out_json, struct jitrd_diag *diag)
{
	enum jitrd_err result = JITRD_ERR_INVALID_ARG;
	struct json_object *copy = NULL;
	struct walk w = {.mode = WALK_RENDER, .vars = vars, .nvars = nvars, .diag = diag};
	const char *json;
	char *rendered;
	size_t chars;

	if (!tpl || !out_json || (!vars && nvars)) {
		jitrd_diag_set(diag, "policy template: invalid argument");
		goto cleanup;
	}
	w.origin = tpl->origin;
	result = JITRD_ERR_NOMEM;
	w.scratch = malloc(STRING_MAX_BYTES);
	if (!w.scratch)
		goto cleanup;
	/* json_object_deep_copy only reads its source (tpl->doc is never written after parse),
	 * so concurrent renders of one template are safe. */
	if (json_object_deep_copy(tpl->doc, &copy, NULL) != 0) {
		jitrd_diag_set(diag, "%s: cannot copy the template", tpl->origin);
		goto cleanup;
	}
	result = walk_node(&w, copy);
	if (result != JITRD_OK)
		goto cleanup;
	result = JITRD_ERR_NOMEM;
	json = json_object_to_json_string_ext(copy, JSON_C_TO_STRING_PLAIN |
	                                                JSON_C_TO_STRING_NOSLASHESCAPE);
	if (!json)
		goto cleanup;
	/* AWS counts characters (excluding whitespace); we count every code point of the compact
	 * document, spaces inside strings included, so we never pass what AWS would refuse. */
	chars = count_chars(json, strlen(json));
	if (chars > JITRD_POLICY_MAX_CHARS) {
		jitrd_diag_set(diag, "%s: rendered policy is %zu characters, over %d", tpl->origin,
		               chars, JITRD_POLICY_MAX_CHARS);
		result = JITRD_ERR_POLICY_TOO_LONG;
		goto cleanup;
	}
	rendered = strdup(json);
	if (!rendered)
		goto cleanup;
	*out_json = rendered;
	result = JITRD_OK;
cleanup:
	json_object_put(copy);
	free(w.scratch);
	return result;
}

/* 1 if any string value under node holds the placeholder {{name}}. Reads only, so it is safe
 * on the shared parsed template. */
static int node_uses(struct json_object *node, const char *name, size_t name_len)
{
	switch (json_object_get_type(node)) {
	case json_type_object: {
		struct json_object_iter it;
		json_object_object_foreachC(node, it)
		{
			if (it.val && node_uses(it.val, name, name_len))
				return 1;
		}
		return 0;
	}
	case json_type_array: {
		size_t n = json_object_array_length(node);
		for (size_t i = 0; i < n; i++) {
			struct json_object *item = json_object_array_get_idx(node, i);
			if (item && node_uses(item, name, name_len))
				return 1;
		}
		return 0;
	}
	case json_type_string: {
		int len = json_object_get_string_len(node);
		struct scanner sc = {.s = json_object_get_string(node),
		                     .len = len > 0 ? (size_t)len : 0};
		struct token tok;

		for (scan_next(&sc, &tok); tok.kind != TOKEN_END; scan_next(&sc, &tok)) {
			if (tok.kind == TOKEN_PLACEHOLDER && tok.len == name_len &&
			    memcmp(tok.text, name, name_len) == 0)
				return 1;
		}
		return 0;
	}
	default:
		return 0;
	}
}

bool jitrd_policy_template_uses(const struct jitrd_policy_template *tpl, const char *name)
{
	if (!tpl || !name)
		return 0;
	return node_uses(tpl->doc, name, strlen(name));
}

static int node_each_string(struct json_object *node, jitrd_template_string_fn fn, void *ctx)
{
	int rc = 0;

	switch (json_object_get_type(node)) {
	case json_type_object: {
		struct json_object_iter it;
		json_object_object_foreachC(node, it)
		{
			/* keys too: a Condition key is text AWS reads as well */
			if ((rc = fn(ctx, it.key, strlen(it.key))) != 0 ||
			    (it.val && (rc = node_each_string(it.val, fn, ctx)) != 0))
				return rc;
		}
		return 0;
	}
	case json_type_array: {
		size_t n = json_object_array_length(node);
		for (size_t i = 0; i < n; i++) {
			struct json_object *item = json_object_array_get_idx(node, i);
			if (item && (rc = node_each_string(item, fn, ctx)) != 0)
				return rc;
		}
		return 0;
	}
	case json_type_string: {
		int len = json_object_get_string_len(node);
		return fn(ctx, json_object_get_string(node), len > 0 ? (size_t)len : 0);
	}
	default:
		return 0;
	}
}

int jitrd_policy_template_each_string(const struct jitrd_policy_template *tpl,
                                      jitrd_template_string_fn fn, void *ctx)
{
	if (!tpl || !fn)
		return 0;
	return node_each_string(tpl->doc, fn, ctx);
}

/* ---- names ---- */

static int name_char_ok(unsigned char c, enum jitrd_name_kind kind)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	    c == '_' || c == '-')
		return 1;
	if (kind == JITRD_NAME_POLICY)
		return c == '+' || c == '=' || c == ',' || c == '.' || c == '@';
	return c == ':';
}

static const char *kind_label(enum jitrd_name_kind kind)
{
	return kind == JITRD_NAME_POLICY ? "policy name" : "thing name";
}

static const char *kind_pattern(enum jitrd_name_kind kind)
{
	return kind == JITRD_NAME_POLICY ? "[\\w+=,.@-]{1,128}" : "[a-zA-Z0-9:_-]{1,128}";
}

/* AWS's pattern allows "." and "..", but a policy name is a segment of the request's path
 * (/policies/{policyName}): these two are dot-segments that HTTP clients and SigV4 remove
 * (RFC 3986 §5.2.4), so the request would name another resource. */
static bool is_dot_segment(const char *name, enum jitrd_name_kind kind)
{
	return kind == JITRD_NAME_POLICY && (strcmp(name, ".") == 0 || strcmp(name, "..") == 0);
}

bool jitrd_name_valid(const char *name, enum jitrd_name_kind kind)
{
	size_t len;

	if (!name)
		return false;
	len = strnlen(name, JITRD_NAME_MAX + 1);
	if (len == 0 || len > JITRD_NAME_MAX)
		return false;
	for (size_t i = 0; i < len; i++) {
		if (!name_char_ok((unsigned char)name[i], kind))
			return false;
	}
	return !is_dot_segment(name, kind);
}

enum jitrd_err jitrd_name_template_check(const char *pattern, struct jitrd_diag *diag)
{
	enum jitrd_err result = JITRD_ERR_INVALID_ARG;
	struct scanner sc = {.s = pattern};
	char quoted[QUOTE_MAX];
	char token[QUOTE_MAX];
	struct token tok;

	if (!pattern) {
		jitrd_diag_set(diag, "name template: missing");
		goto cleanup;
	}
	result = JITRD_ERR_TOO_LARGE;
	sc.len = strnlen(pattern, NAME_TEMPLATE_MAX_BYTES + 1);
	if (sc.len > NAME_TEMPLATE_MAX_BYTES) {
		jitrd_diag_set(diag, "name template: over %d bytes", NAME_TEMPLATE_MAX_BYTES);
		goto cleanup;
	}
	result = JITRD_ERR_TEMPLATE;
	for (scan_next(&sc, &tok); tok.kind != TOKEN_END; scan_next(&sc, &tok)) {
		if (tok.kind == TOKEN_ERROR) {
			jitrd_quote(quoted, sizeof(quoted), pattern, sc.len);
			jitrd_quote(token, sizeof(token), tok.text, tok.len);
			jitrd_diag_set(diag, "name template \"%s\": %s %s at position %zu", quoted,
			               tok.reason, token, tok.offset + 1);
			goto cleanup;
		}
	}
	result = JITRD_OK;
cleanup:
	return result;
}

bool jitrd_name_template_uses(const char *pattern, const char *name)
{
	struct scanner sc = {.s = pattern};
	size_t name_len;
	struct token tok;

	if (!pattern || !name)
		return 0;
	name_len = strlen(name);
	sc.len = strnlen(pattern, NAME_TEMPLATE_MAX_BYTES + 1);
	for (scan_next(&sc, &tok); tok.kind != TOKEN_END; scan_next(&sc, &tok)) {
		if (tok.kind == TOKEN_PLACEHOLDER && tok.len == name_len &&
		    memcmp(tok.text, name, name_len) == 0)
			return 1;
	}
	return 0;
}

enum jitrd_err jitrd_name_template_render(const char *pattern, enum jitrd_name_kind kind,
                                          const struct jitrd_template_var *vars, size_t nvars,
                                          char out[JITRD_NAME_MAX + 1], struct jitrd_diag *diag)
{
	enum jitrd_err result;
	struct scanner sc = {.s = pattern};
	char name[JITRD_NAME_MAX + 2]; /* one more than allowed, to see "too long" */
	char quoted[QUOTE_MAX];
	char bad[24];
	size_t total = 0, kept;
	struct token tok;

	result = jitrd_name_template_check(pattern, diag);
	if (result != JITRD_OK)
		goto cleanup;
	result = JITRD_ERR_INVALID_ARG;
	if (!out || (!vars && nvars)) {
		jitrd_diag_set(diag, "name template: invalid argument");
		goto cleanup;
	}
	sc.len = strlen(pattern);
	for (scan_next(&sc, &tok); tok.kind != TOKEN_END; scan_next(&sc, &tok)) {
		const char *piece = tok.text;
		size_t len = tok.len;
		if (tok.kind == TOKEN_PLACEHOLDER) {
			const struct jitrd_template_var *var =
			    find_var(vars, nvars, tok.text, tok.len);
			if (!var || !var->value) {
				result = JITRD_ERR_FIELD_ABSENT;
				jitrd_diag_set(
				    diag, "%s: placeholder {{%.*s}}: certificate lacks the field",
				    kind_label(kind), (int)tok.len, tok.text);
				goto cleanup;
			}
			piece = var->value;
			len = strlen(var->value);
		}
		/* verbatim: the pattern check below is what keeps a value in bounds */
		for (size_t i = 0; i < len; i++, total++) {
			if (total < sizeof(name) - 1)
				name[total] = piece[i];
		}
	}
	kept = total < sizeof(name) - 1 ? total : sizeof(name) - 1;
	name[kept] = '\0';
	result = JITRD_ERR_NAME_PATTERN;
	if (total == 0) {
		jitrd_diag_set(diag, "%s: empty after rendering", kind_label(kind));
		goto cleanup;
	}
	jitrd_quote(quoted, sizeof(quoted), name, kept);
	for (size_t i = 0; i < kept; i++) {
		unsigned char c = (unsigned char)name[i];
		if (!name_char_ok(c, kind)) {
			/* quote the whole UTF-8 sequence, not just its first byte */
			size_t n = c >= 0x80 ? jitrd_utf8_sequence((const unsigned char *)name + i,
			                                           kept - i)
			                     : 1;
			jitrd_quote(bad, sizeof(bad), name + i, n ? n : 1);
			jitrd_diag_set(diag,
			               "%s \"%s\": character '%s' at position %zu is outside %s",
			               kind_label(kind), quoted, bad, i + 1, kind_pattern(kind));
			goto cleanup;
		}
	}
	if (total > JITRD_NAME_MAX) {
		jitrd_diag_set(diag, "%s \"%s\": %zu characters, over %d", kind_label(kind), quoted,
		               total, JITRD_NAME_MAX);
		goto cleanup;
	}
	if (is_dot_segment(name, kind)) {
		jitrd_diag_set(diag, "%s \"%s\": a path segment of its own (RFC 3986 §5.2.4)",
		               kind_label(kind), quoted);
		goto cleanup;
	}
	memcpy(out, name, total + 1);
	result = JITRD_OK;
cleanup:
	return result;
}
