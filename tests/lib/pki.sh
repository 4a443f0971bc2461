# SPDX-License-Identifier: GPL-2.0-or-later
# Certificates for the netns tests, made with `trellis pki` (needs $B, the
# build root). Each returns non-zero when trellis fails; the caller says
# what failed:
#
#   pki_network "$S" c1 lanc=198.19.50.0/24 || fail "pki"
#   pki_init "$O" --network other && pki_issue "$O" stranger || fail "other CA"

# pki_init DIR [args] -> a CA in DIR (args: --network NAME, ...)
pki_init() {
	local dir=$1
	shift
	"$B/cli/trellis" pki init --state-dir "$dir" "$@" >/dev/null
}

# pki_issue DIR NAME [args] -> a certificate NAME of DIR's CA, in
# DIR/issued/NAME.crt and .key (args: --server, --subnet PREFIX, ...)
pki_issue() {
	local dir=$1 name=$2
	shift 2
	"$B/cli/trellis" pki issue "$name" --state-dir "$dir" "$@" >/dev/null
}

# pki_network DIR [NAME[=SUBNET]]... -> a CA in DIR, the server certificate
# "hub", and a client certificate per NAME (granting SUBNET where given)
pki_network() {
	local dir=$1 x
	shift
	pki_init "$dir" && pki_issue "$dir" hub --server || return 1
	for x in "$@"; do
		if [ "${x#*=}" != "$x" ]; then
			pki_issue "$dir" "${x%%=*}" --subnet "${x#*=}" || return 1
		else
			pki_issue "$dir" "$x" || return 1
		fi
	done
}
