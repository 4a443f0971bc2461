/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Config files: the option table's file parser and the client and server
 * settings built from what it accepts. */
#include "client/options.h"
#include "server/options.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	g_autoptr(TrOptions) c =
	        tr_options_new("trellis-client", tr_client_options, tr_client_n_options);
	g_autoptr(TrOptions) s =
	        tr_options_new("trellis-server", tr_server_options, tr_server_n_options);

	if (tr_options_load_data(c, (const char *)data, size, "/fuzz/client.conf", "client",
	                         NULL)) {
		TrClientConfig cfg;
		tr_client_config_init(&cfg);
		/* Reading a password file or prompting is not for a fuzzer. */
		if (!tr_options_is_set(c, "username"))
			tr_client_config_from_options(c, &cfg, NULL);
		tr_client_config_clear(&cfg);
	}
	if (tr_options_load_data(s, (const char *)data, size, "/fuzz/server.conf", "server",
	                         NULL)) {
		TrHubConfig cfg;
		tr_hub_config_init(&cfg);
		tr_hub_config_from_options(s, &cfg, NULL);
		tr_hub_config_clear(&cfg);
	}
	return 0;
}
