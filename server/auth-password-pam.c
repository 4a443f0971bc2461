/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The PAM password backend. Every check runs its own PAM transaction
 * (pam_start .. pam_end) and the backend itself is immutable after creation,
 * so checks from several worker threads need no lock. The modules in the
 * service's stack must be thread-safe themselves (Linux-PAM's are).
 */
#include "server/auth-password.h"
#include "server/auth-password-private.h"
#include "common/base/error.h"

#include <errno.h>
#include <pwd.h>
#include <security/pam_appl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct {
	TrPasswordBackend parent;
	char *service;
	char *confdir; /* NULL: the system's PAM configuration */
} PamBackend;

/* What the conversation function answers with, for one transaction. */
typedef struct {
	const char *user;
	const char *password;
} Answers;

static void
drop_responses(struct pam_response *resp, int count)
{
	for (int i = 0; i < count; i++) {
		if (resp[i].resp) {
			explicit_bzero(resp[i].resp, strlen(resp[i].resp));
			free(resp[i].resp);
		}
	}
	free(resp);
}

/* PAM frees the responses with free(): they must come from malloc. */
static int
conversation(int count, const struct pam_message **msg, struct pam_response **resp, void *data)
{
	const Answers *answers = data;
	struct pam_response *out;

	if (count <= 0 || count > PAM_MAX_NUM_MSG)
		return PAM_CONV_ERR;
	out = calloc((size_t)count, sizeof(*out));
	if (!out)
		return PAM_BUF_ERR;

	for (int i = 0; i < count; i++) {
		switch (msg[i]->msg_style) {
		case PAM_PROMPT_ECHO_OFF:
			out[i].resp = strdup(answers->password);
			break;
		case PAM_PROMPT_ECHO_ON:
			out[i].resp = strdup(answers->user);
			break;
		case PAM_ERROR_MSG:
		case PAM_TEXT_INFO:
			/* Nobody to show it to; modules log the reason themselves. */
			g_debug("PAM says: %s", msg[i]->msg ? msg[i]->msg : "");
			continue;
		default:
			drop_responses(out, count);
			return PAM_CONV_ERR;
		}
		if (!out[i].resp) {
			drop_responses(out, count);
			return PAM_BUF_ERR;
		}
	}
	*resp = out;
	return PAM_SUCCESS;
}

/* Results that mean "these credentials are refused", not "PAM is broken". */
static gboolean
is_refusal(int rc)
{
	switch (rc) {
	case PAM_AUTH_ERR:
	case PAM_USER_UNKNOWN:
	case PAM_MAXTRIES:
	case PAM_CRED_INSUFFICIENT:
	case PAM_PERM_DENIED:
	case PAM_ACCT_EXPIRED:
	case PAM_NEW_AUTHTOK_REQD:
	case PAM_AUTHTOK_EXPIRED:
		return TRUE;
	default:
		return FALSE;
	}
}

/* Where pam_unix reads the local accounts' password hashes. */
#define SHADOW_FILE "/etc/shadow"

/*
 * Why local accounts cannot be checked, or NULL when they can (or the
 * backend reads a private configuration): pam_unix reads /etc/shadow itself,
 * and its setgid helper unix_chkpwd checks only the calling user's password.
 */
static char *
shadow_problem(const PamBackend *self)
{
	const struct passwd *pw;
	int errsv;

	if (self->confdir || access(SHADOW_FILE, F_OK) < 0 || access(SHADOW_FILE, R_OK) == 0)
		return NULL;
	errsv = errno;
	pw = getpwuid(geteuid());
	return g_strdup_printf(
	        "this server runs as user %s, which cannot read " SHADOW_FILE
	        " (%s): pam_unix checks no local account's password but that user's. "
	        "Give the server the group shadow (under systemd: systemctl edit "
	        "trellis-server@NAME, then [Service] SupplementaryGroups=shadow), or use a "
	        "PAM stack that needs no " SHADOW_FILE,
	        pw ? pw->pw_name : "(unknown)", g_strerror(errsv));
}

static const char *
hint(int rc)
{
	switch (rc) {
	case PAM_NEW_AUTHTOK_REQD:
	case PAM_AUTHTOK_EXPIRED:
		return " (the password has expired: change it on the server)";
	case PAM_AUTHINFO_UNAVAIL:
		return " (can the server read the user database, e.g. /etc/shadow?)";
	case PAM_ABORT:
	case PAM_SYSTEM_ERR:
	case PAM_CONV_ERR:
	case PAM_BUF_ERR:
		return " (see the system log and the PAM service file)";
	default:
		return "";
	}
}

static gboolean
pam_check(TrPasswordBackend *backend, const char *user, const char *password, GError **error)
{
	PamBackend *self = (PamBackend *)backend;
	Answers answers = {user, password};
	const struct pam_conv conv = {conversation, &answers};
	g_autofree char *who = tr_password_user_for_log(user);
	pam_handle_t *pamh = NULL;
	const char *stage = "authentication";
	int rc;

#ifdef TR_HAVE_PAM_START_CONFDIR
	if (self->confdir)
		rc = pam_start_confdir(self->service, user, &conv, self->confdir, &pamh);
	else
#endif
		rc = pam_start(self->service, user, &conv, &pamh);
	if (rc != PAM_SUCCESS) {
		g_set_error(error, TR_ERROR, TR_ERROR_FAILED,
		            "PAM service '%s' could not start for user '%s': %s", self->service,
		            who, pam_strerror(pamh, rc));
		if (pamh)
			pam_end(pamh, rc);
		return FALSE;
	}

	rc = pam_authenticate(pamh, PAM_SILENT | PAM_DISALLOW_NULL_AUTHTOK);
	if (rc == PAM_SUCCESS) {
		stage = "account check";
		rc = pam_acct_mgmt(pamh, PAM_SILENT | PAM_DISALLOW_NULL_AUTHTOK);
	}
	if (rc != PAM_SUCCESS) {
		/* pam_unix without /etc/shadow: AUTHINFO_UNAVAIL, or, through a
		 * stack ending in pam_deny (Debian's common-auth), AUTH_ERR. */
		g_autofree char *problem = rc == PAM_AUTHINFO_UNAVAIL || rc == PAM_AUTH_ERR
		                                   ? shadow_problem(self)
		                                   : NULL;
		g_autofree char *why =
		        problem ? g_strdup_printf(" (%s)", problem) : g_strdup(hint(rc));

		if (is_refusal(rc))
			g_set_error(error, TR_ERROR, TR_ERROR_AUTH,
			            "PAM service '%s' refused user '%s' at %s: %s%s", self->service,
			            who, stage, pam_strerror(pamh, rc), why);
		else
			g_set_error(error, TR_ERROR, TR_ERROR_FAILED,
			            "PAM service '%s' failed for user '%s' at %s: %s%s",
			            self->service, who, stage, pam_strerror(pamh, rc), why);
	}
	pam_end(pamh, rc);
	return rc == PAM_SUCCESS;
}

static void
pam_backend_free(TrPasswordBackend *backend)
{
	PamBackend *self = (PamBackend *)backend;

	g_free(self->service);
	g_free(self->confdir);
	g_free(self);
}

static void
pam_warn_access(TrPasswordBackend *backend)
{
	g_autofree char *problem = shadow_problem((PamBackend *)backend);

	if (problem)
		g_warning("PAM service '%s': %s", ((PamBackend *)backend)->service, problem);
}

static const TrPasswordBackendOps pam_ops = {
        .name = "pam",
        .check = pam_check,
        .reload = NULL, /* PAM reads its service files on every pam_start */
        .warn_access = pam_warn_access,
        .free = pam_backend_free,
};

gboolean
tr_password_pam_has_confdir(void)
{
#ifdef TR_HAVE_PAM_START_CONFDIR
	return TRUE;
#else
	return FALSE;
#endif
}

/* Whether PAM will find @service, so a typo fails at startup, not per login. */
static gboolean
find_service(const char *service, const char *confdir, GError **error)
{
	static const char *const system_dirs[] = {"/etc/pam.d", "/usr/lib/pam.d"};
	g_autofree char *path = NULL;

	if (confdir) {
		path = g_build_filename(confdir, service, NULL);
		if (g_file_test(path, G_FILE_TEST_IS_REGULAR))
			return TRUE;
	} else {
		/* Without /etc/pam.d, Linux-PAM reads the single file /etc/pam.conf. */
		if (!g_file_test("/etc/pam.d", G_FILE_TEST_IS_DIR))
			return TRUE;
		for (size_t i = 0; i < G_N_ELEMENTS(system_dirs); i++) {
			g_free(path);
			path = g_build_filename(system_dirs[i], service, NULL);
			if (g_file_test(path, G_FILE_TEST_IS_REGULAR))
				return TRUE;
		}
		g_free(path);
		path = g_build_filename("/etc/pam.d", service, NULL);
	}
	g_set_error(error, TR_ERROR, TR_ERROR_CONFIG,
	            "PAM service file %s not found (install data/pam.d/trellis there, or set "
	            "another service name)",
	            path);
	return FALSE;
}

TrPasswordBackend *
tr_password_pam_backend_new(const char *service, const char *confdir, GError **error)
{
	PamBackend *self;

	if (!service)
		service = TR_PASSWORD_PAM_SERVICE;
	if (service[0] == '\0' || strchr(service, '/') || g_str_equal(service, ".") ||
	    g_str_equal(service, "..")) {
		g_set_error(error, TR_ERROR, TR_ERROR_CONFIG,
		            "'%s' is not a PAM service name (a file name in /etc/pam.d)", service);
		return NULL;
	}
	if (confdir && !tr_password_pam_has_confdir()) {
		g_set_error_literal(
		        error, TR_ERROR, TR_ERROR_UNSUPPORTED,
		        "this build's PAM has no pam_start_confdir (needs Linux-PAM "
		        ">= 1.4): a private PAM configuration directory is not possible");
		return NULL;
	}
	if (!find_service(service, confdir, error))
		return NULL;

	self = g_new0(PamBackend, 1);
	self->parent.ops = &pam_ops;
	self->service = g_strdup(service);
	self->confdir = g_strdup(confdir);
	return &self->parent;
}
