/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The file password backend: "username:hash" lines checked with crypt_r.
 *
 * The table of users is immutable once parsed; reload builds a new one and
 * swaps the pointer under a lock, and check() takes a reference to whichever
 * table is current, so checks never wait on a reload or on each other.
 */
#include "server/auth-password.h"
#include "server/auth-password-private.h"
#include "common/base/error.h"

#include <crypt.h>
#include <errno.h>
#include <string.h>

#define HASH_HINT "make one with: mkpasswd -m yescrypt"

typedef struct {
	char *hash;
	guint line;
} Entry;

typedef struct {
	TrPasswordBackend parent;
	char *path; /* NULL when made from data: nothing to reload */
	GMutex lock;
	GHashTable *users; /* user name -> Entry; replaced whole under @lock */
	/* A yescrypt setting hashed for unknown users, so they cost the same time. */
	char *dummy;
} FileBackend;

static void
entry_free(gpointer p)
{
	Entry *entry = p;

	g_free(entry->hash);
	g_free(entry);
}

/*
 * The schemes we accept and the shape of their full hashes: the number of
 * '$'-separated fields after the first '$', and the length of the last one
 * (the checksum; for bcrypt, salt and checksum together).
 */
typedef struct {
	const char *prefix;
	guint min_fields, max_fields;
	size_t tail_len;
} Scheme;

/* clang-format off */
static const Scheme good_schemes[] = {
	{"$y$",  4, 4, 43}, /* yescrypt: $y$params$salt$hash */
	{"$7$",  3, 3, 43}, /* scrypt: $7$params+salt$hash */
	{"$6$",  3, 4, 86}, /* sha512crypt: $6$[rounds=N$]salt$hash */
	{"$5$",  3, 4, 43}, /* sha256crypt */
	{"$2b$", 3, 3, 53}, /* bcrypt: $2b$cost$salt+hash */
	{"$2y$", 3, 3, 53},
};
/* clang-format on */

static const Scheme *
find_scheme(const char *hash)
{
	for (size_t i = 0; i < G_N_ELEMENTS(good_schemes); i++)
		if (g_str_has_prefix(hash, good_schemes[i].prefix))
			return &good_schemes[i];
	return NULL;
}

/* Names the weak or unknown scheme of @hash (one find_scheme() did not know). */
static const char *
weak_scheme(const char *hash)
{
	/* clang-format off */
	static const struct {
		const char *prefix;
		const char *name;
	} weak[] = {
		{"$1$",    "MD5"},
		{"$md5",   "Sun MD5"},
		{"$3$",    "NT hash"},
		{"$sha1$", "SHA-1"},
		{"$2a$",   "old bcrypt ($2a$)"},
		{"$2x$",   "old bcrypt ($2x$)"},
		{"_",      "BSDi DES"},
		{"!",      "a locked account"},
		{"*",      "a disabled account"},
	};
	/* clang-format on */

	for (size_t i = 0; i < G_N_ELEMENTS(weak); i++)
		if (g_str_has_prefix(hash, weak[i].prefix))
			return weak[i].name;
	if (hash[0] != '$')
		return "traditional DES";
	return "an unknown scheme";
}

/* Whether @hash is a whole hash of @scheme, not just a setting or a cut copy. */
static gboolean
well_formed(const Scheme *scheme, const char *hash)
{
	g_auto(GStrv) fields = g_strsplit(hash + 1, "$", 0);
	guint n = g_strv_length(fields);

	if (n < scheme->min_fields || n > scheme->max_fields)
		return FALSE;
	for (guint i = 0; i < n; i++)
		if (fields[i][0] == '\0')
			return FALSE;
	if (n == 4 && scheme->min_fields == 3 && !g_str_has_prefix(fields[1], "rounds="))
		return FALSE;
	return strlen(fields[n - 1]) == scheme->tail_len;
}

static gboolean
valid_user(const char *user)
{
	if (user[0] == '\0' || !g_utf8_validate(user, -1, NULL))
		return FALSE;
	for (const char *p = user; *p; p++)
		if (g_ascii_isspace(*p) || g_ascii_iscntrl(*p))
			return FALSE;
	return TRUE;
}

/* crypt(3) output only uses [./0-9A-Za-z] plus '$', ',' and '=' as separators. */
static gboolean
valid_hash_chars(const char *hash)
{
	for (const char *p = hash; *p; p++)
		if (!g_ascii_isalnum(*p) && !strchr("./$,=", *p))
			return FALSE;
	return TRUE;
}

/* Parses one non-comment line into @users. */
static gboolean
parse_line(GHashTable *users, char *line, const char *origin, guint lineno, GError **error)
{
	char *colon = strchr(line, ':');
	const char *user = line, *hash;
	const Scheme *scheme;
	Entry *entry, *seen;
	int salt;

	if (!colon) {
		g_set_error(error, TR_ERROR, TR_ERROR_INVALID,
		            "%s:%u: expected 'username:hash' but found no ':' (%s)", origin, lineno,
		            HASH_HINT);
		return FALSE;
	}
	*colon = '\0';
	hash = colon + 1;
	if (!valid_user(user)) {
		g_set_error(error, TR_ERROR, TR_ERROR_INVALID,
		            "%s:%u: the user name before ':' is empty or has spaces, control "
		            "characters or invalid UTF-8",
		            origin, lineno);
		return FALSE;
	}
	if (hash[0] == '\0') {
		g_set_error(error, TR_ERROR, TR_ERROR_INVALID, "%s:%u: user '%s' has no hash (%s)",
		            origin, lineno, user, HASH_HINT);
		return FALSE;
	}
	scheme = find_scheme(hash);
	if (!scheme) {
		g_set_error(error, TR_ERROR, TR_ERROR_INVALID,
		            "%s:%u: user '%s': the hash is %s, which is refused; use yescrypt "
		            "($y$), or $7$, $6$, $5$, $2b$ (%s)",
		            origin, lineno, user, weak_scheme(hash), HASH_HINT);
		return FALSE;
	}
	/*
	 * The scheme list above decides what is too weak; libxcrypt may call
	 * $5$ "legacy" but it is still sound, so only INVALID/DISABLED count.
	 */
	salt = valid_hash_chars(hash) ? crypt_checksalt(hash) : CRYPT_SALT_INVALID;
	if ((salt != CRYPT_SALT_OK && salt != CRYPT_SALT_METHOD_LEGACY) ||
	    !well_formed(scheme, hash)) {
		g_set_error(error, TR_ERROR, TR_ERROR_INVALID,
		            "%s:%u: user '%s': the hash is malformed (%s)", origin, lineno, user,
		            HASH_HINT);
		return FALSE;
	}
	seen = g_hash_table_lookup(users, user);
	if (seen) {
		g_set_error(
		        error, TR_ERROR, TR_ERROR_INVALID,
		        "%s:%u: user '%s' is already defined on line %u; keep one line per user",
		        origin, lineno, user, seen->line);
		return FALSE;
	}
	entry = g_new0(Entry, 1);
	entry->hash = g_strdup(hash);
	entry->line = lineno;
	g_hash_table_insert(users, g_strdup(user), entry);
	return TRUE;
}

static GHashTable *
parse_users(const char *data, gsize len, const char *origin, GError **error)
{
	g_autoptr(GHashTable) users =
	        g_hash_table_new_full(g_str_hash, g_str_equal, g_free, entry_free);
	const char *end = data + len;
	guint lineno = 0;

	for (const char *p = data; p < end;) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *stop = nl ? nl : end;
		g_autofree char *line = NULL;
		char *text;

		lineno++;
		if (memchr(p, '\0', (size_t)(stop - p))) {
			g_set_error(error, TR_ERROR, TR_ERROR_INVALID,
			            "%s:%u: contains a NUL byte; is this a text file?", origin,
			            lineno);
			return NULL;
		}
		line = g_strndup(p, (gsize)(stop - p));
		p = nl ? nl + 1 : end;

		text = g_strstrip(line); /* also drops a CR from CRLF files */
		if (text[0] == '\0' || text[0] == '#')
			continue;
		if (!parse_line(users, text, origin, lineno, error))
			return NULL;
	}
	return g_steal_pointer(&users);
}

static GHashTable *
load_file(const char *path, GError **error)
{
	g_autofree char *data = NULL;
	gsize len;

	if (!g_file_get_contents(path, &data, &len, error)) {
		g_prefix_error(error, "reading the password file: ");
		return NULL;
	}
	return parse_users(data, len, path, error);
}

/* Compares two strings in time that depends only on their lengths. */
static gboolean
equal_const_time(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	unsigned char diff = 0;

	if (la != lb)
		return FALSE;
	for (size_t i = 0; i < la; i++)
		diff |= (unsigned char)(a[i] ^ b[i]);
	return diff == 0;
}

static gboolean
file_check(TrPasswordBackend *backend, const char *user, const char *password, GError **error)
{
	FileBackend *self = (FileBackend *)backend;
	g_autoptr(GHashTable) users = NULL;
	g_autofree char *computed = NULL;
	g_autofree char *who = tr_password_user_for_log(user);
	const Entry *entry;
	gboolean match;

	g_mutex_lock(&self->lock);
	users = g_hash_table_ref(self->users);
	g_mutex_unlock(&self->lock);

	entry = g_hash_table_lookup(users, user);
	/* Unknown users pay for a hash too, so timing does not tell them apart. */
	computed = tr_password_crypt(password, entry ? entry->hash : self->dummy, error);
	if (!computed)
		return FALSE;
	match = entry && equal_const_time(computed, entry->hash);

	if (!entry) {
		g_set_error(error, TR_ERROR, TR_ERROR_AUTH, "unknown user '%s'", who);
		return FALSE;
	}
	if (!match) {
		g_set_error(error, TR_ERROR, TR_ERROR_AUTH, "wrong password for user '%s'", who);
		return FALSE;
	}
	return TRUE;
}

static gboolean
file_reload(TrPasswordBackend *backend, GError **error)
{
	FileBackend *self = (FileBackend *)backend;
	GHashTable *users, *old;

	if (!self->path)
		return TRUE;
	users = load_file(self->path, error);
	if (!users)
		return FALSE;
	g_mutex_lock(&self->lock);
	old = self->users;
	self->users = users;
	g_mutex_unlock(&self->lock);
	g_hash_table_unref(old);
	return TRUE;
}

static void
file_free(TrPasswordBackend *backend)
{
	FileBackend *self = (FileBackend *)backend;

	g_clear_pointer(&self->users, g_hash_table_unref);
	g_mutex_clear(&self->lock);
	g_free(self->path);
	g_free(self->dummy);
	g_free(self);
}

static const TrPasswordBackendOps file_ops = {
        .name = "file",
        .check = file_check,
        .reload = file_reload,
        .free = file_free,
};

static TrPasswordBackend *
file_backend_new(const char *path, GHashTable *users, GError **error)
{
	char dummy[CRYPT_GENSALT_OUTPUT_SIZE];
	FileBackend *self;

	errno = 0;
	if (!crypt_gensalt_rn("$y$", 0, NULL, 0, dummy, sizeof(dummy))) {
		tr_set_error_errno(error, errno ? errno : EINVAL, "making a yescrypt salt failed");
		g_hash_table_unref(users);
		return NULL;
	}
	self = g_new0(FileBackend, 1);
	self->parent.ops = &file_ops;
	self->path = g_strdup(path);
	g_mutex_init(&self->lock);
	self->users = users;
	self->dummy = g_strdup(dummy);
	return &self->parent;
}

TrPasswordBackend *
tr_password_file_backend_new(const char *path, GError **error)
{
	GHashTable *users = load_file(path, error);

	if (!users)
		return NULL;
	return file_backend_new(path, users, error);
}

TrPasswordBackend *
tr_password_file_backend_new_from_data(const char *data, gsize len, const char *origin,
                                       GError **error)
{
	GHashTable *users = parse_users(data, len, origin, error);

	if (!users)
		return NULL;
	return file_backend_new(NULL, users, error);
}
