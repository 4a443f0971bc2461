# SPDX-License-Identifier: GPL-2.0-or-later
# shellcheck shell=bash
#
# A NAT lab for netns tests: an "internet" namespace that routes between
# everything attached to it, NAT routers as namespaces with nftables
# masquerade, and hosts on the routers' LANs. Source it after netns.sh:
#
#   . "$TR_SOURCE_ROOT/tests/lib/netns.sh"
#   . "$TR_SOURCE_ROOT/tests/lib/nat.sh"
#   nat_require                         # skips without nft
#   nat_internet                        # $NAT_INET
#   nat_attach "$hub" 10                # hub at 198.18.10.2, internet 198.18.10.1
#   nat_router r1 home 1 cone           # WAN 198.18.1.2, LAN 198.19.1.1/24 (a bridge)
#   nat_host a laptop "$r1" 1 2         # 198.19.1.2, default route via 198.19.1.1
#   nat_block_udp "$r1"                 # the LAN's UDP no longer leaves
#   nat_cut_udp 198.18.1.2 198.18.2.2   # the internet drops UDP between two
#   nat_mend_udp                        # ... and passes it again
#
#            [internet] 198.18.N.1 -- 198.18.N.2 [router N] 198.19.N.1 -- br -- 198.19.N.H [host]
#
# Router modes (both are Linux conntrack NAT, so filtering is always per
# remote address and port: only answers to what went out get in):
#   cone       masquerade: the source port is kept when it is free, so one
#              socket keeps one public address and port whatever the
#              destination (endpoint-independent mapping). Two cone NATs can
#              be punched through.
#   symmetric  masquerade random,fully-random: every new destination gets a
#              new random public port (endpoint-dependent mapping). What a
#              third party saw is useless to a peer; two such NATs cannot be
#              punched through.
# Unsolicited packets to a router are dropped, not answered, as home routers
# do: a conntrack entry for them would never be confirmed, so a peer's early
# probe cannot take the port the router's own mapping needs (without this, two
# clients punching at the same moment break each other's mapping).
# Addresses: the internet side 198.18.0.0/16, LANs 198.19.0.0/16, nothing else.

# (Sourced twice, as mesh.sh does, it keeps the internet made meanwhile.)
NAT_INET=${NAT_INET:-}

nat_require() {
	command -v nft >/dev/null || netns_skip "nftables (nft) is not installed"
}

# nat_internet -> the internet namespace in $NAT_INET, forwarding on
nat_internet() {
	netns_new NAT_INET inet || return 1
	ip netns exec "$NAT_INET" sysctl -qw net.ipv4.ip_forward=1
}

# nat_attach NS N -> NS at 198.18.N.2/24 on the internet (which is 198.18.N.1),
# its default route through the internet
nat_attach() {
	local ns=$1 n=$2
	netns_link "$NAT_INET" "198.18.$n.1/24" "$ns" "198.18.$n.2/24" || return 1
	NAT_WAN_IF=$NETNS_IFB
	ip -n "$ns" route add default via "198.18.$n.1"
}

# nat_router VAR LABEL N MODE -> a NAT router (cone or symmetric): WAN
# 198.18.N.2 on the internet, LAN 198.19.N.1/24 on the bridge br0.
nat_router() {
	local var=$1 label=$2 n=$3 mode=$4 ns flags=
	case "$mode" in
	cone) ;;
	symmetric) flags=" random,fully-random" ;;
	*)
		netns_log "nat_router: mode '$mode', expected cone or symmetric"
		return 1
		;;
	esac
	netns_new "$var" "$label" || return 1
	ns=${!var}
	nat_attach "$ns" "$n" || return 1
	ip -n "$ns" link add br0 type bridge || return 1
	ip -n "$ns" addr add "198.19.$n.1/24" dev br0 || return 1
	ip -n "$ns" link set br0 up || return 1
	ip netns exec "$ns" sysctl -qw net.ipv4.ip_forward=1
	ip netns exec "$ns" nft -f - <<NFT || return 1
table ip nat_lab {
	chain post {
		type nat hook postrouting priority srcnat; policy accept;
		oifname "$NAT_WAN_IF" ip saddr 198.19.$n.0/24 masquerade$flags
	}
	chain lan_block {
	}
	chain wan_in {
		type filter hook input priority filter; policy accept;
		iifname "$NAT_WAN_IF" ct state new drop
	}
	chain forward_lan {
		type filter hook forward priority filter; policy accept;
		iifname "br0" jump lan_block
	}
}
NFT
}

# nat_host VAR LABEL ROUTER N H -> a host 198.19.N.H/24 on ROUTER's LAN
# (router N), default route through the router
nat_host() {
	local var=$1 label=$2 router=$3 n=$4 h=$5 ns ifr ifh
	case "$n.$h" in *[!0-9.]*) return 1 ;; esac
	netns_new "$var" "$label" || return 1
	ns=${!var}
	NETNS_LINKS=$((NETNS_LINKS + 1))
	ifr="veth${NETNS_LINKS}a" ifh="veth${NETNS_LINKS}b"
	ip -n "$router" link add "$ifr" type veth peer name "$ifh" netns "$ns" || return 1
	ip -n "$router" link set "$ifr" master br0 up || return 1
	ip -n "$ns" addr add "198.19.$n.$h/24" dev "$ifh" || return 1
	ip -n "$ns" link set "$ifh" up || return 1
	ip -n "$ns" route add default via "198.19.$n.1"
}

# nat_block_udp ROUTER -> UDP from the LAN no longer leaves (TCP still does)
nat_block_udp() {
	ip netns exec "$1" nft add rule ip nat_lab lan_block meta l4proto udp drop
}

# nat_unblock_udp ROUTER -> UDP leaves again
nat_unblock_udp() {
	ip netns exec "$1" nft flush chain ip nat_lab lan_block
}

# nat_wan_if NS -> the name of NS's interface towards its default route (the
# WAN of a router, the link of a host attached with nat_attach)
nat_wan_if() {
	ip -n "$1" -o route show default | awk '{ for (i = 1; i < NF; i++) if ($i == "dev") print $(i + 1) }'
}

# nat_cut_udp A B [NS] -> NS (the internet unless given) drops UDP between A
# and B (addresses or prefixes, both IPv4 or both IPv6), both ways, until
# nat_mend_udp: a direct path that stops answering, while the hub is still
# reached. One cut at a time per namespace.
nat_cut_udp() {
	local a=$1 b=$2 ns=${3:-$NAT_INET} fam=ip
	case "$a" in *:*) fam=ip6 ;; esac
	ip netns exec "$ns" nft -f - <<NFT
table $fam cut {
	chain between {
		type filter hook forward priority filter; policy accept;
		$fam saddr $a $fam daddr $b meta l4proto udp drop
		$fam saddr $b $fam daddr $a meta l4proto udp drop
	}
}
NFT
}

# nat_mend_udp [NS] -> the cut of nat_cut_udp in NS (the internet unless
# given) is gone; fails when there was none
nat_mend_udp() {
	local ns=${1:-$NAT_INET} fam
	for fam in ip ip6; do
		ip netns exec "$ns" nft list table "$fam" cut >/dev/null 2>&1 || continue
		ip netns exec "$ns" nft delete table "$fam" cut
		return
	done
	return 1
}
