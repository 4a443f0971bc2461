/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include "common/daemon/options.h"
#include "server/hub.h"

G_BEGIN_DECLS

/* trellis-server's options, described once (common/daemon/options.h). */
extern const TrOptDesc tr_server_options[];
extern const guint tr_server_n_options;

#define TR_SERVER_CONFIG_GROUP "server"
#define TR_SERVER_SUMMARY      "Trellis VPN hub"
#define TR_SERVER_DESCRIPTION                                                                      \
	"trellis-server accepts Trellis clients over TLS 1.3 on a TCP port and carries their "     \
	"data "                                                                                    \
	"over UDP on the same port number. It authenticates every client (certificates from the "  \
	"network's CA, checked against its CRL, or a shared key, optionally with a password on "   \
	"top), decides each session's settings and pushes the client its address from a pool "     \
	"(stable per identity), routes, DNS, MTU, cipher and compression, and routes packets "     \
	"between its tun device and the clients and between clients. Nodes configured alike "      \
	"can also --connect each other with nothing pushed (the symmetric model)."

/* Fills @config (tr_hub_config_init first) from parsed @options. */
gboolean tr_hub_config_from_options(TrOptions *options, TrHubConfig *config, GError **error);

G_END_DECLS
