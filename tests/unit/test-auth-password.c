/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "server/auth-password.h"
#include "common/base/error.h"
#include "tests/unit/assert-message.h"

#include <crypt.h>
#include <glib/gstdio.h>
#include <string.h>

/* Made once: yescrypt is slow on purpose. */
static char *alice_hash; /* "s3cret" */
static char *bob_hash;   /* "hunter2" */

static TrPasswordBackend *
backend_from_text(const char *text, GError **error)
{
	return tr_password_file_backend_new_from_data(text, strlen(text), "users.conf", error);
}

static void
assert_accepts(TrPasswordBackend *backend, const char *user, const char *password)
{
	g_autoptr(GError) error = NULL;

	g_assert_true(tr_password_backend_check(backend, user, password, &error));
	g_assert_no_error(error);
}

static void
assert_refuses(TrPasswordBackend *backend, const char *user, const char *password,
               const char *fragment)
{
	g_autoptr(GError) error = NULL;

	g_assert_false(tr_password_backend_check(backend, user, password, &error));
	g_assert_error(error, TR_ERROR, TR_ERROR_AUTH);
	tr_assert_message_has(error, fragment);
	/* Whatever the reason, the password itself never shows up in the message. */
	if (strlen(password) >= 3)
		g_assert_null(strstr(error->message, password));
}

static char *
hash_with(const char *prefix, const char *password)
{
	char setting[CRYPT_GENSALT_OUTPUT_SIZE];
	struct crypt_data *data = g_new0(struct crypt_data, 1);
	char *hash;

	g_assert_nonnull(crypt_gensalt_rn(prefix, 0, NULL, 0, setting, sizeof(setting)));
	hash = g_strdup(crypt_r(password, setting, data));
	g_free(data);
	g_assert_true(g_str_has_prefix(hash, prefix));
	return hash;
}

static void
test_hash_roundtrip(void)
{
	g_autoptr(GError) error = NULL;
	g_autofree char *again = NULL;
	g_autofree char *text = NULL;
	g_autoptr(TrPasswordBackend) backend = NULL;

	g_assert_true(g_str_has_prefix(alice_hash, "$y$"));
	/* A fresh salt every time. */
	g_assert_true(tr_password_hash("s3cret", &again, &error));
	g_assert_no_error(error);
	g_assert_cmpstr(again, !=, alice_hash);

	text = g_strdup_printf("alice:%s\n", again);
	backend = backend_from_text(text, &error);
	g_assert_no_error(error);
	g_assert_cmpstr(tr_password_backend_name(backend), ==, "file");
	assert_accepts(backend, "alice", "s3cret");
	assert_refuses(backend, "alice", "s3cret ", "wrong password");

	g_clear_pointer(&again, g_free);
	g_assert_false(tr_password_hash("", &again, &error));
	g_assert_error(error, TR_ERROR, TR_ERROR_INVALID);
	g_assert_null(again);
}

static void
test_file_check(void)
{
	g_autoptr(GError) error = NULL;
	g_autofree char *text = g_strdup_printf("# users\r\n\n  alice:%s  \r\n\t# bob\nbob:%s",
	                                        alice_hash, bob_hash);
	g_autoptr(TrPasswordBackend) backend = backend_from_text(text, &error);

	g_assert_no_error(error);
	assert_accepts(backend, "alice", "s3cret");
	assert_accepts(backend, "bob", "hunter2");
	assert_refuses(backend, "alice", "hunter2", "wrong password for user 'alice'");
	assert_refuses(backend, "bob", "", "wrong password for user 'bob'");
	assert_refuses(backend, "carol", "s3cret", "unknown user 'carol'");
	assert_refuses(backend, "Alice", "s3cret", "unknown user");
	/* User names from the network are escaped in the log message. */
	assert_refuses(backend, "eve\n\x1b[2J", "x", "unknown user 'eve\\n\\033[2J'");
}

static void
test_file_other_schemes(void)
{
	static const char *const prefixes[] = {"$6$", "$5$", "$2b$", "$7$"};

	for (size_t i = 0; i < G_N_ELEMENTS(prefixes); i++) {
		g_autoptr(GError) error = NULL;
		g_autofree char *hash = hash_with(prefixes[i], "pa:ss word");
		g_autofree char *text = g_strdup_printf("dave:%s\n", hash);
		g_autoptr(TrPasswordBackend) backend = backend_from_text(text, &error);

		g_assert_no_error(error);
		assert_accepts(backend, "dave", "pa:ss word");
		assert_refuses(backend, "dave", "pa:ss", "wrong password");
	}
}

static void
assert_load_fails(const char *text, const char *fragment)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(TrPasswordBackend) backend =
	        tr_password_file_backend_new_from_data(text, strlen(text), "users.conf", &error);

	g_assert_null(backend);
	g_assert_error(error, TR_ERROR, TR_ERROR_INVALID);
	tr_assert_message_has(error, fragment);
}

static void
test_file_malformed(void)
{
	g_autofree char *dup = g_strdup_printf("alice:%s\n\nalice:%s\n", alice_hash, bob_hash);
	g_autofree char *spaced = g_strdup_printf("#\nal ice:%s\n", alice_hash);
	g_autofree char *colon = g_strdup_printf("alice:%s:0:0\n", alice_hash);
	static const char nul[] = "# x\nalice\0:$y$\n";
	g_autoptr(GError) error = NULL;

	assert_load_fails("# comment\n\nalice $y$j9T$abc\n",
	                  "users.conf:3: expected 'username:hash'");
	assert_load_fails("alice $y$", "mkpasswd -m yescrypt");
	assert_load_fails(":$y$j9T$x\n", "users.conf:1: the user name");
	assert_load_fails("alice:\n", "users.conf:1: user 'alice' has no hash");
	assert_load_fails("alice:$y$!!!$x\n", "users.conf:1: user 'alice': the hash is malformed");
	assert_load_fails("alice:$y$\n", "the hash is malformed");
	assert_load_fails("alice:$y$j9T$abc\n", "the hash is malformed"); /* a setting only */
	{
		/* A hash cut short, or with a character too many. */
		g_autofree char *cut =
		        g_strdup_printf("alice:%.*s\n", (int)strlen(alice_hash) - 1, alice_hash);
		g_autofree char *longer = g_strdup_printf("alice:%sA\n", alice_hash);

		assert_load_fails(cut, "users.conf:1: user 'alice': the hash is malformed");
		assert_load_fails(longer, "the hash is malformed");
	}
	assert_load_fails(colon, "users.conf:1: user 'alice': the hash is malformed");
	assert_load_fails(dup, "users.conf:3: user 'alice' is already defined on line 1");
	assert_load_fails(spaced, "users.conf:2: the user name");
	assert_load_fails("\xff\xfe:$y$j9T$x\n", "invalid UTF-8");

	g_assert_null(
	        tr_password_file_backend_new_from_data(nul, sizeof(nul) - 1, "users.conf", &error));
	g_assert_error(error, TR_ERROR, TR_ERROR_INVALID);
	tr_assert_message_has(error, "users.conf:2: contains a NUL byte");
}

static void
test_file_weak(void)
{
	assert_load_fails("alice:$1$saltsalt$qjXMvbEw8oaL.CzflDugX/\n",
	                  "users.conf:1: user 'alice': the hash is MD5, which is refused");
	assert_load_fails("alice:abJnggxhB/yWI\n", "the hash is traditional DES");
	assert_load_fails("alice:_J9..salt3WdXkuTLm3g.\n", "BSDi DES");
	assert_load_fails("alice:$2a$05$abcdefghijklmnopqrstuu5s2v8.iXieOjg/.AySBTTZIIVFJeBui\n",
	                  "old bcrypt");
	assert_load_fails("alice:$3$$8846f7eaee8fb117ad06bdd830b7586c\n", "NT hash");
	assert_load_fails("alice:!$y$j9T$x$y\n", "locked");
	assert_load_fails("alice:$gy$j9T$x$y\n", "unknown scheme");
}

static void
write_file(const char *path, const char *text)
{
	g_autoptr(GError) error = NULL;

	g_assert_true(g_file_set_contents(path, text, -1, &error));
	g_assert_no_error(error);
}

static void
test_file_reload(void)
{
	g_autoptr(GError) error = NULL;
	g_autofree char *dir = g_dir_make_tmp("trellis-auth-XXXXXX", &error);
	g_autofree char *path = g_build_filename(dir, "users", NULL);
	g_autofree char *v1 = g_strdup_printf("alice:%s\n", alice_hash);
	g_autofree char *v2 = g_strdup_printf("# alice left\nbob:%s\n", bob_hash);
	g_autoptr(TrPasswordBackend) backend = NULL;
	g_autoptr(TrPasswordBackend) missing = NULL;
	g_autofree char *missing_path = g_build_filename(dir, "nope", NULL);

	g_assert_no_error(error);
	write_file(path, v1);
	backend = tr_password_file_backend_new(path, &error);
	g_assert_no_error(error);
	assert_accepts(backend, "alice", "s3cret");
	assert_refuses(backend, "bob", "hunter2", "unknown user 'bob'");

	write_file(path, v2);
	g_assert_true(tr_password_backend_reload(backend, &error));
	g_assert_no_error(error);
	assert_refuses(backend, "alice", "s3cret", "unknown user 'alice'");
	assert_accepts(backend, "bob", "hunter2");

	/* A broken edit is reported with file:line, and the old users stay. */
	write_file(path, "bob:$1$saltsalt$qjXMvbEw8oaL.CzflDugX/\n");
	g_assert_false(tr_password_backend_reload(backend, &error));
	g_assert_error(error, TR_ERROR, TR_ERROR_INVALID);
	{
		g_autofree char *where = g_strdup_printf("file backend: %s:1: user 'bob'", path);
		tr_assert_message_has(error, where);
	}
	g_clear_error(&error);
	assert_accepts(backend, "bob", "hunter2");

	missing = tr_password_file_backend_new(missing_path, &error);
	g_assert_null(missing);
	g_assert_error(error, G_FILE_ERROR, G_FILE_ERROR_NOENT);
	tr_assert_message_has(error, "reading the password file: ");

	g_assert_cmpint(g_unlink(path), ==, 0);
	g_assert_cmpint(g_rmdir(dir), ==, 0);
}

/* Checks from several threads while the main thread reloads. */
static gpointer
check_thread(gpointer data)
{
	TrPasswordBackend *backend = data;

	for (int i = 0; i < 3; i++) {
		g_autoptr(GError) error = NULL;

		if (!tr_password_backend_check(backend, "bob", "hunter2", &error))
			return g_strdup(error->message);
	}
	return NULL;
}

static void
test_file_threads(void)
{
	g_autoptr(GError) error = NULL;
	g_autofree char *dir = g_dir_make_tmp("trellis-auth-XXXXXX", &error);
	g_autofree char *path = g_build_filename(dir, "users", NULL);
	g_autofree char *text = g_strdup_printf("bob:%s\n", bob_hash);
	g_autoptr(TrPasswordBackend) backend = NULL;
	GThread *threads[3];

	write_file(path, text);
	backend = tr_password_file_backend_new(path, &error);
	g_assert_no_error(error);
	for (size_t i = 0; i < G_N_ELEMENTS(threads); i++)
		threads[i] = g_thread_new("check", check_thread, backend);
	for (int i = 0; i < 20; i++) {
		g_assert_true(tr_password_backend_reload(backend, &error));
		g_assert_no_error(error);
	}
	for (size_t i = 0; i < G_N_ELEMENTS(threads); i++) {
		g_autofree char *failure = g_thread_join(threads[i]);

		g_assert_null(failure);
	}
	g_assert_cmpint(g_unlink(path), ==, 0);
	g_assert_cmpint(g_rmdir(dir), ==, 0);
}

/* ---- PAM ------------------------------------------------------------------ */

typedef struct {
	char *dir;
} PamFixture;

static void
pam_setup(PamFixture *fx, gconstpointer unused)
{
	g_autoptr(GError) error = NULL;
	g_autofree char *grep = g_find_program_in_path("grep");
	g_autofree char *exec = NULL;
	struct {
		const char *name;
		const char *text;
	} services[] = {
	        {"trellis", "auth required pam_permit.so\naccount required pam_permit.so\n"},
	        {"deny", "auth required pam_deny.so\naccount required pam_permit.so\n"},
	        {"expired", "auth required pam_permit.so\naccount required pam_deny.so\n"},
	        {"alice-only", "auth required pam_succeed_if.so quiet user = alice\n"
	                       "account required pam_permit.so\n"},
	        {"password", NULL},
	};

	g_assert_nonnull(grep);
	/*
	 * pam_exec hands the password from our conversation to grep's stdin,
	 * NUL-ended. It fails with PAM_SYSTEM_ERR, so stack it the way Debian's
	 * common-auth stacks pam_unix: success skips pam_deny.
	 */
	exec = g_strdup_printf("auth [success=1 default=ignore] pam_exec.so quiet expose_authtok "
	                       "%s -qzxF s3cret\n"
	                       "auth requisite pam_deny.so\n"
	                       "auth required pam_permit.so\n"
	                       "account required pam_permit.so\n",
	                       grep);
	services[G_N_ELEMENTS(services) - 1].text = exec;

	fx->dir = g_dir_make_tmp("trellis-pam-XXXXXX", &error);
	g_assert_no_error(error);
	for (size_t i = 0; i < G_N_ELEMENTS(services); i++) {
		g_autofree char *path = g_build_filename(fx->dir, services[i].name, NULL);

		write_file(path, services[i].text);
	}
}

static void
pam_teardown(PamFixture *fx, gconstpointer unused)
{
	const char *name;
	g_autoptr(GDir) dir = g_dir_open(fx->dir, 0, NULL);

	while (dir && (name = g_dir_read_name(dir)) != NULL) {
		g_autofree char *path = g_build_filename(fx->dir, name, NULL);

		g_unlink(path);
	}
	g_rmdir(fx->dir);
	g_free(fx->dir);
}

static TrPasswordBackend *
pam_backend(PamFixture *fx, const char *service)
{
	g_autoptr(GError) error = NULL;
	TrPasswordBackend *backend = tr_password_pam_backend_new(service, fx->dir, &error);

	g_assert_no_error(error);
	g_assert_cmpstr(tr_password_backend_name(backend), ==, "pam");
	return backend;
}

static gboolean
pam_skip(void)
{
	if (tr_password_pam_has_confdir())
		return FALSE;
	g_test_skip("this libpam has no pam_start_confdir (Linux-PAM < 1.4): cannot point PAM "
	            "at a private service directory");
	return TRUE;
}

static void
test_pam_permit(PamFixture *fx, gconstpointer unused)
{
	g_autoptr(TrPasswordBackend) backend = NULL;

	if (pam_skip())
		return;
	backend = pam_backend(fx, NULL); /* the default service name, "trellis" */
	assert_accepts(backend, "alice", "anything");
	g_assert_true(tr_password_backend_reload(backend, NULL));
}

static void
test_pam_deny(PamFixture *fx, gconstpointer unused)
{
	g_autoptr(TrPasswordBackend) deny = NULL;
	g_autoptr(TrPasswordBackend) expired = NULL;

	if (pam_skip())
		return;
	deny = pam_backend(fx, "deny");
	assert_refuses(deny, "alice", "s3cret",
	               "pam backend: PAM service 'deny' refused user 'alice' at authentication: "
	               "Authentication failure");
	expired = pam_backend(fx, "expired");
	assert_refuses(expired, "alice", "s3cret", "refused user 'alice' at account check");
}

static void
test_pam_user_and_password(PamFixture *fx, gconstpointer unused)
{
	g_autoptr(TrPasswordBackend) alice_only = NULL;
	g_autoptr(TrPasswordBackend) password = NULL;

	if (pam_skip())
		return;
	/* The user name reaches PAM... */
	alice_only = pam_backend(fx, "alice-only");
	assert_accepts(alice_only, "alice", "x");
	assert_refuses(alice_only, "bob", "x", "refused user 'bob' at authentication");

	/* ...and so does the password, through the conversation function. */
	password = pam_backend(fx, "password");
	assert_accepts(password, "alice", "s3cret");
	assert_refuses(password, "alice", "s3cret2", "refused user 'alice' at authentication");
}

static void
test_pam_config_errors(PamFixture *fx, gconstpointer unused)
{
	static const char *const bad_names[] = {"", "../trellis", "..", "a/b"};
	g_autoptr(GError) error = NULL;
	g_autoptr(TrPasswordBackend) backend = NULL;

	for (size_t i = 0; i < G_N_ELEMENTS(bad_names); i++) {
		backend = tr_password_pam_backend_new(bad_names[i], fx->dir, &error);
		g_assert_null(backend);
		g_assert_error(error, TR_ERROR, TR_ERROR_CONFIG);
		tr_assert_message_has(error, "is not a PAM service name");
		g_clear_error(&error);
	}
	if (pam_skip())
		return;
	backend = tr_password_pam_backend_new("no-such-service", fx->dir, &error);
	g_assert_null(backend);
	g_assert_error(error, TR_ERROR, TR_ERROR_CONFIG);
	tr_assert_message_has(error, "no-such-service not found");
}

int
main(int argc, char **argv)
{
	g_autoptr(GError) error = NULL;
	int rc;

	g_test_init(&argc, &argv, NULL);
	g_assert_true(tr_password_hash("s3cret", &alice_hash, &error));
	g_assert_true(tr_password_hash("hunter2", &bob_hash, &error));
	g_assert_no_error(error);

	g_test_add_func("/auth-password/hash-roundtrip", test_hash_roundtrip);
	g_test_add_func("/auth-password/file/check", test_file_check);
	g_test_add_func("/auth-password/file/other-schemes", test_file_other_schemes);
	g_test_add_func("/auth-password/file/malformed", test_file_malformed);
	g_test_add_func("/auth-password/file/weak", test_file_weak);
	g_test_add_func("/auth-password/file/reload", test_file_reload);
	g_test_add_func("/auth-password/file/threads", test_file_threads);
	g_test_add("/auth-password/pam/permit", PamFixture, NULL, pam_setup, test_pam_permit,
	           pam_teardown);
	g_test_add("/auth-password/pam/deny", PamFixture, NULL, pam_setup, test_pam_deny,
	           pam_teardown);
	g_test_add("/auth-password/pam/user-and-password", PamFixture, NULL, pam_setup,
	           test_pam_user_and_password, pam_teardown);
	g_test_add("/auth-password/pam/config-errors", PamFixture, NULL, pam_setup,
	           test_pam_config_errors, pam_teardown);
	rc = g_test_run();
	g_free(alice_hash);
	g_free(bob_hash);
	return rc;
}
