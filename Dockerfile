# syntax=docker/dockerfile:1.7
# The kube-router-ts image: `docker build -t <registry>/kube-router-ts:v0.1.0 .`
# The manifests in daemonset/ name ghcr.io/kube-router-ts/kube-router-ts:v0.1.0.
#
# test/unit/dockerfile.test.ts checks this file: every binary the agent runs
# (the exec/spawn call sites in src/), the entrypoint below and the init
# container of daemonset/ run comes from a package installed here, and every
# package installed here provides one of them or an operator tool that
# docs/troubleshooting.md runs inside the pod.

# ---- build: compile and bundle the TypeScript (dev dependencies stay in this stage) ----
FROM node:20-bookworm-slim AS build
WORKDIR /src
COPY package.json package-lock.json tsconfig.json ./
RUN npm ci --no-audit --no-fund
COPY src ./src
COPY scripts/bundle.mjs ./scripts/bundle.mjs
# tsc, then esbuild bundles the agent into dist/kube-router.mjs (scripts/bundle.mjs).
RUN npx tsc -p tsconfig.json && node scripts/bundle.mjs

# ---- runtime ----
FROM node:20-bookworm-slim
# agent:    iptables (iptables, ip6tables, *-nft/-legacy-save/-restore), ipset,
#           iproute2 (ip link add kube-bridge), kmod (modprobe br_netfilter),
#           gobgpd (the BGP daemon the routing controller supervises),
#           conntrack (the proxy deletes the flows of removed UDP endpoints).
# init:     containernetworking-plugins (bridge, host-local, portmap, loopback
#           copied to the host's /opt/cni/bin by the install-cni container).
# operator: ipvsadm (and gobgp, shipped with gobgpd) for `kubectl exec` as
#           docs/troubleshooting.md shows.
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      iptables ipset iproute2 kmod gobgpd conntrack \
      containernetworking-plugins \
      ipvsadm \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /opt/kube-router-ts
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force
# The bundled agent; netlink and @kubernetes/client-node stay in node_modules.
COPY --from=build /src/dist/kube-router.mjs ./dist/kube-router.mjs
# GoBGP's gRPC API definitions, loaded at run time (src/bgp/proto-files.ts).
COPY proto ./proto
COPY cni ./cni

# The agent detects the iptables backend with `iptables --version`, which in a
# container reports the image's default. Point the alternatives at the
# backend the HOST already uses (the kubelet's canary chains, else whichever
# holds more rules), as kube-proxy's image does, so rules never split across
# nf_tables and legacy.
COPY --chmod=0755 <<'SCRIPT' /usr/local/bin/kube-router-entrypoint
#!/bin/sh
set -eu
# Rules and kubelet canary chains of one backend, both families.
rules() { "$@" 2>/dev/null | grep -c '^-' || true; }
hints() { "$@" -t mangle 2>/dev/null | grep -c 'KUBE-IPTABLES-HINT\|KUBE-KUBELET-CANARY' || true; }
mode=nft
if [ $(( $(hints iptables-legacy-save) + $(hints ip6tables-legacy-save) )) -gt 0 ]; then mode=legacy
elif [ $(( $(hints iptables-nft-save) + $(hints ip6tables-nft-save) )) -gt 0 ]; then mode=nft
elif [ $(( $(rules iptables-legacy-save) + $(rules ip6tables-legacy-save) )) -gt \
       $(( $(rules iptables-nft-save) + $(rules ip6tables-nft-save) )) ]; then mode=legacy
fi
update-alternatives --set iptables "/usr/sbin/iptables-$mode" >/dev/null
update-alternatives --set ip6tables "/usr/sbin/ip6tables-$mode" >/dev/null
exec node /opt/kube-router-ts/dist/kube-router.mjs "$@"
SCRIPT

ENTRYPOINT ["/usr/local/bin/kube-router-entrypoint"]
