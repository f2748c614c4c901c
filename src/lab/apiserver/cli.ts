// `kube-router-lab apiserver`: placeholder until the lab API server lands.
export async function runApiServerCommand(_argv: string[]): Promise<number> {
  process.stderr.write('kube-router-lab apiserver: not built yet\n');
  return 1;
}
