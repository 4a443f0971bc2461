# SPDX-License-Identifier: GPL-2.0-or-later
# Packet filters on one namespace for the netns tests, as a host's firewall
# has them (nftables; the test checks nft is there). Sourced after netns.sh.
# A namespace's filters are one table (inet lab_filter), gone with
# filter_lift:
#
#   filter_from "$h1" 198.18.5.3       # hub-1 takes nothing from there
#   filter_udp_port "$c1" 3210         # c1's UDP to and from port 3210 dropped
#   filter_lift "$h1"

# filter_chain NS CHAIN HOOK -> the table and CHAIN (a filter on HOOK) in NS
filter_chain() {
	ip netns exec "$1" nft add table inet lab_filter &&
		ip netns exec "$1" nft add chain inet lab_filter "$2" "{ type filter hook $3 priority 0; }"
}

# filter_from NS ADDR -> nothing from ADDR gets into NS
filter_from() {
	filter_chain "$1" input input &&
		ip netns exec "$1" nft add rule inet lab_filter input ip saddr "$2" drop
}

# filter_udp_port NS PORT -> NS's UDP to and from PORT is dropped (TCP passes)
filter_udp_port() {
	filter_chain "$1" input input && filter_chain "$1" output output &&
		ip netns exec "$1" nft add rule inet lab_filter input udp sport "$2" drop &&
		ip netns exec "$1" nft add rule inet lab_filter output udp dport "$2" drop
}

# filter_lift NS -> NS's filters are gone
filter_lift() { ip netns exec "$1" nft delete table inet lab_filter; }
