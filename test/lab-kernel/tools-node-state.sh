#!/bin/sh
# The whole network state of the node this runs in (a lab node namespace),
# normalised so that two dumps of an unchanged node are byte-identical:
# links (with details), addresses, routes of every table, policy rules,
# ipset names, iptables (no counters, no generation comments), IPVS.
# Used by test/lab/cleanup.yaml to compare a node before the agent ran and
# after --cleanup-config.
set -u
section() { echo "### $1"; }
section "ip -d link"
# Timers (bridge gc/hello timers) tick; they are not state.
ip -d link show | sed -E 's/ [a-z_]+_timer +[0-9.]+//g'
section "ip addr"
ip addr show
section "ip route (v4, all tables)"
ip route show table all
section "ip route (v6, all tables)"
ip -6 route show table all
section "ip rule"
ip rule show
section "ip -6 rule"
ip -6 rule show
section "ipset list -n"
ipset list -n | sort
section "iptables-save"
iptables-save | sed -E -e '/^#/d' -e 's/\[[0-9]+:[0-9]+\]//g'
section "ip6tables-save"
ip6tables-save | sed -E -e '/^#/d' -e 's/\[[0-9]+:[0-9]+\]//g'
section "ipvsadm -Sn"
ipvsadm -Sn
