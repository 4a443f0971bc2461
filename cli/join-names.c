/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * After `trellis join`: the certificate name of every hub the invite lists,
 * so that the client can fail over between hubs of one CA (each hub's
 * certificate carries its own name; docs/PKI.md, "Invites"). Each hub is
 * asked at once with a TLS handshake on the machine's new certificate; its
 * certificate is verified against the network's CA, its name read, and
 * the session closed with a CLOSE before any HELLO.
 */
#include "cli/cli.h"
#include "common/base/addr.h"
#include "common/base/error.h"
#include "common/ctrl/conn.h"
#include "common/ctrl/dialer.h"

#define NAMES_CONNECT_MS 5000
#define NAMES_TIMEOUT_S  15

typedef struct Names Names;

typedef struct {
	Names *all;
	TrDialer *dialer;
	TrCtrl *ctrl;
	char *name; /* the verified certificate name */
	char *why;  /* or why there is none */
	gboolean done;
} Probe;

struct Names {
	GMainLoop *loop;
	TrTlsCreds *creds;
	Probe *probes;
	guint n;
	guint pending;
};

static void
probe_done(Probe *p, const char *why)
{
	if (p->done)
		return;
	p->done = TRUE;
	if (p->name == NULL && p->why == NULL)
		p->why = g_strdup(why ? why : "closed");
	if (--p->all->pending == 0)
		g_main_loop_quit(p->all->loop);
}

static void
on_established(TrCtrl *ctrl, gpointer user_data)
{
	Probe *p = user_data;
	g_autoptr(GError) error = NULL;

	/* Done when the CLOSE is out (the closed callback). */
	if (!tr_tls_verify_peer(tr_ctrl_get_tls(ctrl), &p->name, &error))
		p->why = g_strdup(error->message);
	tr_ctrl_close(ctrl, TR_MSG_CLOSE, TR_REFUSE_NONE,
	              "trellis join: read this hub's certificate name");
}

static void
on_message(TrCtrl *ctrl, TrMsg *msg, gpointer user_data)
{
	Probe *p = user_data;

	if (msg->type == TR_MSG_ERROR || msg->type == TR_MSG_CLOSE)
		probe_done(p, msg->reason ? msg->reason : tr_refusal_to_string(msg->error_code));
}

static void
on_closed(TrCtrl *ctrl, const GError *error, gpointer user_data)
{
	probe_done(user_data, error ? error->message : NULL);
}

static const TrCtrlCallbacks probe_callbacks = {
        .established = on_established,
        .message = on_message,
        .closed = on_closed,
};

static void
on_dialled(TrDialer *dialer, int fd, const struct sockaddr *remote, socklen_t remote_len,
           const GError *error, gpointer user_data)
{
	Probe *p = user_data;
	g_autoptr(GError) err = NULL;
	char desc[80];

	if (fd < 0) {
		probe_done(p, error->message);
		return;
	}
	tr_sockaddr_to_string(remote, desc, sizeof(desc));
	p->ctrl = tr_ctrl_new(p->all->creds, fd, NULL, desc, &probe_callbacks, p, &err);
	if (p->ctrl == NULL) {
		probe_done(p, err->message);
		return;
	}
	tr_ctrl_start(p->ctrl, NAMES_CONNECT_MS);
}

static gboolean
on_timeout(gpointer user_data)
{
	g_main_loop_quit(user_data);
	return G_SOURCE_REMOVE;
}

void
tr_cli_hub_names(TrTlsCreds *creds, const char *const *servers, guint16 port, guint skip,
                 char **names, char **whys)
{
	Names all = {.creds = creds};
	guint timeout;

	all.n = g_strv_length((char **)servers);
	all.probes = g_new0(Probe, all.n);
	all.loop = g_main_loop_new(NULL, FALSE);
	for (guint i = 0; i < all.n; i++) {
		Probe *p = &all.probes[i];

		p->all = &all;
		if (i == skip) {
			p->done = TRUE;
			continue;
		}
		all.pending++;
		p->dialer = tr_dialer_new(servers[i], port, NAMES_CONNECT_MS, on_dialled, p);
		tr_dialer_start(p->dialer);
	}
	if (all.pending > 0) {
		timeout = g_timeout_add_seconds(NAMES_TIMEOUT_S, on_timeout, all.loop);
		g_main_loop_run(all.loop);
		g_clear_handle_id(&timeout, g_source_remove);
	}
	for (guint i = 0; i < all.n; i++) {
		Probe *p = &all.probes[i];

		if (p->ctrl != NULL) {
			tr_ctrl_abort(p->ctrl);
			tr_ctrl_unref(p->ctrl);
		}
		tr_dialer_free(p->dialer);
		names[i] = p->name;
		whys[i] = p->name == NULL && i != skip
		                  ? (p->why ? p->why : g_strdup("no answer in time"))
		                  : NULL;
		if (p->name != NULL)
			g_free(p->why);
	}
	g_free(all.probes);
	g_main_loop_unref(all.loop);
}
