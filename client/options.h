/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include "client/client.h"
#include "common/daemon/options.h"

G_BEGIN_DECLS

/* trellis-client's options, described once (common/daemon/options.h). */
extern const TrOptDesc tr_client_options[];
extern const guint tr_client_n_options;

#define TR_CLIENT_CONFIG_GROUP "client"
#define TR_CLIENT_SUMMARY      "Trellis VPN client"
#define TR_CLIENT_DESCRIPTION                                                                      \
	"trellis-client connects to a Trellis hub over TLS 1.3, authenticates with a certificate " \
	"or a shared key (and a password when the hub asks for one), brings up a tun device "      \
	"with the address, routes, DNS and MTU the hub pushes, and carries packets over UDP, "     \
	"falling back to the TLS stream when UDP does not get through. It reconnects by itself "   \
	"after network failures and hub restarts."

/* Fills @config (tr_client_config_init first) from parsed @options. */
gboolean tr_client_config_from_options(TrOptions *options, TrClientConfig *config, GError **error);

/* The same without the password (neither read nor prompted for): for
 * embedders that get it elsewhere (the NetworkManager plugin's secrets). */
gboolean tr_client_config_apply_options(TrOptions *options, TrClientConfig *config, GError **error);

G_END_DECLS
