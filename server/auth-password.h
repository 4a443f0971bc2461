/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/*
 * Username/password authentication on the server: a small backend interface
 * with two implementations, a file of crypt(3) hashes and PAM.
 *
 * Refusals: tr_password_backend_check() returns FALSE with TR_ERROR_AUTH when
 * the credentials are wrong. The message says why (unknown user, wrong
 * password, PAM's reason) and is meant for the server's log only; the client
 * must only ever be told TR_PASSWORD_REFUSED_MESSAGE, so that it cannot learn
 * which user names exist. Any other error code means the backend itself failed
 * (PAM misconfigured, hashing failed); refuse the peer the same way and log it.
 *
 * Threads: check() is slow on purpose (yescrypt, PAM modules that sleep after
 * a failure or talk to the network). The server must call it from a worker
 * thread (g_task_run_in_thread), never from the main loop. Every backend is
 * safe to call from several threads at once, and concurrently with
 * tr_password_backend_reload() from the main loop.
 */
#include <glib.h>

G_BEGIN_DECLS

/* The only refusal text a client ever sees. */
#define TR_PASSWORD_REFUSED_MESSAGE "invalid username or password"

/* Default PAM service name: /etc/pam.d/trellis. */
#define TR_PASSWORD_PAM_SERVICE "trellis"

/* Windows: why the hub has no password backend there (auth-password-none.c). */
#define TR_PASSWORD_NONE_REASON                                                                    \
	"password authentication is not available in the Windows build of trellis-server: "        \
	"its backends need crypt(3) (password-file) and PAM (pam-service), which Windows does "    \
	"not have; use client certificates or the shared key there (docs/WINDOWS.md)"

typedef struct _TrPasswordBackend TrPasswordBackend;

/* The operations of one backend kind; each implementation has one const table. */
typedef struct {
	const char *name; /* "file", "pam" */
	gboolean (*check)(TrPasswordBackend *backend, const char *user, const char *password,
	                  GError **error);
	/* Re-reads the backend's configuration (SIGHUP); NULL when there is none. */
	gboolean (*reload)(TrPasswordBackend *backend, GError **error);
	/* Logs what the backend will not be able to read as the process runs
	 * now; NULL when there is nothing to check. */
	void (*warn_access)(TrPasswordBackend *backend);
	void (*free)(TrPasswordBackend *backend);
} TrPasswordBackendOps;

/* Every backend starts with this header; implementations embed it first. */
struct _TrPasswordBackend {
	const TrPasswordBackendOps *ops;
};

/*
 * File backend: @path holds "username:hash" lines, '#' comments and blank
 * lines. Hashes are crypt(3) strings: yescrypt ($y$) preferred, also $7$,
 * $6$, $5$ and $2b$/$2y$; DES, MD5 and other weak or unknown schemes are
 * refused at load time. Errors name "path:line" and give a hint.
 */
TrPasswordBackend *tr_password_file_backend_new(const char *path, GError **error);

/*
 * The same from bytes already in memory (tests, fuzzing); @origin names the
 * data in error messages. A backend made this way has nothing to reload.
 */
TrPasswordBackend *tr_password_file_backend_new_from_data(const char *data, gsize len,
                                                          const char *origin, GError **error);

/*
 * PAM backend: runs pam_authenticate() then pam_acct_mgmt() for service
 * @service (NULL: TR_PASSWORD_PAM_SERVICE). @confdir (NULL: the system's
 * /etc/pam.d) points PAM at another directory of service files; it needs
 * pam_start_confdir() (Linux-PAM >= 1.4) and fails with TR_ERROR_UNSUPPORTED
 * otherwise. Fails with TR_ERROR_CONFIG when the service file does not exist.
 */
TrPasswordBackend *tr_password_pam_backend_new(const char *service, const char *confdir,
                                               GError **error);

/* Whether tr_password_pam_backend_new() accepts a @confdir in this build. */
gboolean tr_password_pam_has_confdir(void);

/* "file" or "pam". */
const char *tr_password_backend_name(const TrPasswordBackend *backend);

/*
 * Checks @user's @password. TRUE: accepted. FALSE + TR_ERROR_AUTH: refused
 * (the message, for the log, says why). FALSE + another code: backend failure.
 * Blocks: call from a worker thread. Never logs or keeps @password.
 */
gboolean tr_password_backend_check(TrPasswordBackend *backend, const char *user,
                                   const char *password, GError **error);

/*
 * Re-reads the backend's source (the server calls it on SIGHUP). On error the
 * backend keeps what it had, so a bad edit never locks everyone out.
 */
gboolean tr_password_backend_reload(TrPasswordBackend *backend, GError **error);

/*
 * Warns in the log when the backend, as the process runs now (after
 * dropping privileges), cannot read what its checks will need: PAM on the
 * system's configuration without read access to /etc/shadow, which pam_unix
 * needs for every local account but the process's own. A warning, not an
 * error: the PAM stack may check accounts elsewhere (LDAP, Kerberos).
 */
void tr_password_backend_warn_access(TrPasswordBackend *backend);

void tr_password_backend_free(TrPasswordBackend *backend);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(TrPasswordBackend, tr_password_backend_free)

/*
 * Hashes @password with yescrypt and a fresh random salt into a string for
 * the password file ("$y$j9T$..."); free *hash with g_free().
 */
gboolean tr_password_hash(const char *password, char **hash, GError **error);

G_END_DECLS
