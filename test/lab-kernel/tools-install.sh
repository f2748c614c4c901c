#!/bin/sh
# Installs /usr/local/bin/kube-router in the lab guest: this checkout's agent
# (dist/kube-router.mjs, the bundle the agents run; the kernel command line's
# lab.sup= names the checkout's dist/) with the agents' kubeconfig. The guest
# root is one file system for every node, so one install serves all nodes; the
# node name comes from the node's hostname (nodeN) as it does for the agent.
set -eu
D=$(sed -E 's/.*lab\.sup=([^ ]*)\/dist\/src\/lab\/guest\/supervisor\.js.*/\1/' /proc/cmdline)
N=$(tr ' ' '\n' </proc/cmdline | sed -n 's/^lab\.node=//p')
[ -n "$N" ] || N=$(command -v node)
# The subcommand (dump, plan, explain) must stay the first argument.
cat >/usr/local/bin/kube-router <<SCRIPT
#!/bin/sh
cmd=\$1; shift
exec $N $D/dist/kube-router.mjs "\$cmd" --kubeconfig=/var/lib/kube-router-lab/agent.kubeconfig "\$@"
SCRIPT
chmod +x /usr/local/bin/kube-router
ln -sf $D/test/lab-kernel/tools-node-state.sh /usr/local/bin/kr-node-state
cat >/usr/local/bin/kr-plan-vs-dump <<SCRIPT
#!/bin/sh
exec $N $D/dist/test/lab-kernel/tools-compare.js "\$@"
SCRIPT
chmod +x /usr/local/bin/kr-plan-vs-dump
echo "installed kube-router from $D"
