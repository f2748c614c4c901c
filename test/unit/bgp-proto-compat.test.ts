// Wire compatibility of proto/ with GoBGP's own v3 .proto files (Debian
// golang-github-osrg-gobgp-dev): every message, field, enum value and RPC of
// our subset must exist upstream with the same number, type, label and
// streaming. Skipped when the upstream files are not installed.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import * as protoLoader from '@grpc/proto-loader';
import { PROTO_FILES, protoDir } from '../../src/bgp/proto-files.js';

const UPSTREAM = '/usr/share/gocode/src/github.com/osrg/gobgp/api';

interface FieldDesc {
  name: string;
  number: number;
  label: string;
  type: string;
  typeName: string;
}
interface EnumDesc {
  name: string;
  value: { name: string; number: number }[];
}
interface MessageDesc {
  name: string;
  field: FieldDesc[];
  nestedType: MessageDesc[];
  enumType: EnumDesc[];
  oneofDecl: { name: string }[];
}
interface MethodDesc {
  path: string;
  requestStream: boolean;
  responseStream: boolean;
  requestType: { type: MessageDesc };
  responseType: { type: MessageDesc };
}
interface Catalog {
  messages: Map<string, MessageDesc>;
  enums: Map<string, EnumDesc>;
  methods: Map<string, MethodDesc>;
}

function load(dir: string): Catalog {
  const def = protoLoader.loadSync([...PROTO_FILES], { includeDirs: [dir], keepCase: true });
  const cat: Catalog = { messages: new Map(), enums: new Map(), methods: new Map() };
  const addMessage = (full: string, m: MessageDesc): void => {
    cat.messages.set(full, m);
    for (const n of m.nestedType) addMessage(`${full}.${n.name}`, n);
    for (const e of m.enumType) cat.enums.set(`${full}.${e.name}`, e);
  };
  for (const [name, entry] of Object.entries(def)) {
    if (!name.startsWith('apipb.')) continue;
    // A package definition entry is a message, an enum or a service; the descriptor shapes are proto-loader's.
    const e = entry as unknown as { format?: string; type?: unknown };
    if (e.format === 'Protocol Buffer 3 DescriptorProto') addMessage(name, e.type as MessageDesc);
    else if (e.format === 'Protocol Buffer 3 EnumDescriptorProto') cat.enums.set(name, e.type as EnumDesc);
    else for (const [rpc, m] of Object.entries(entry as unknown as Record<string, MethodDesc>)) cat.methods.set(`${name}/${rpc}`, m);
  }
  return cat;
}

function messageProblems(ours: Catalog, theirs: Catalog): string[] {
  const problems: string[] = [];
  for (const [name, m] of ours.messages) {
    const up = theirs.messages.get(name);
    if (!up) {
      problems.push(`message ${name} missing upstream`);
      continue;
    }
    for (const f of m.field) {
      const uf = up.field.find((x) => x.name === f.name);
      if (!uf) {
        problems.push(`${name}.${f.name} missing upstream`);
        continue;
      }
      for (const k of ['number', 'type', 'label', 'typeName'] as const) {
        if (f[k] !== uf[k]) problems.push(`${name}.${f.name}: ${k} ${f[k]} here, ${uf[k]} upstream`);
      }
    }
    for (const o of m.oneofDecl) {
      if (!up.oneofDecl.some((x) => x.name === o.name)) problems.push(`${name}: oneof ${o.name} missing upstream`);
    }
  }
  return problems;
}

const haveUpstream = PROTO_FILES.every((f) => existsSync(`${UPSTREAM}/${f}`));

describe('proto/ is wire-compatible with GoBGP v3 (upstream .proto files)', { skip: haveUpstream ? false : `upstream protos not installed at ${UPSTREAM} (apt-get install golang-github-osrg-gobgp-dev)` }, () => {
  const ours = load(protoDir());
  const theirs = haveUpstream ? load(UPSTREAM) : ours;

  it('our subset is not empty', () => {
    assert.ok(ours.messages.size > 50, `only ${ours.messages.size} messages`);
    assert.equal(ours.methods.size, 21);
  });

  it('every message and field exists upstream with the same number, type, label and type name', () => {
    assert.deepEqual(messageProblems(ours, theirs), []);
  });

  it('every enum value exists upstream with the same number', () => {
    const problems: string[] = [];
    for (const [name, e] of ours.enums) {
      const up = theirs.enums.get(name);
      if (!up) {
        problems.push(`enum ${name} missing upstream`);
        continue;
      }
      for (const v of e.value) {
        const uv = up.value.find((x) => x.name === v.name);
        if (!uv) problems.push(`${name}.${v.name} missing upstream`);
        else if (uv.number !== v.number) problems.push(`${name}.${v.name}: ${v.number} here, ${uv.number} upstream`);
      }
    }
    assert.deepEqual(problems, []);
  });

  it('every RPC has the same path, request/response types and streaming', () => {
    const problems: string[] = [];
    for (const [name, m] of ours.methods) {
      const up = theirs.methods.get(name);
      if (!up) {
        problems.push(`rpc ${name} missing upstream`);
        continue;
      }
      if (m.path !== up.path) problems.push(`${name}: path ${m.path} vs ${up.path}`);
      if (m.requestType.type.name !== up.requestType.type.name) problems.push(`${name}: request ${m.requestType.type.name} vs ${up.requestType.type.name}`);
      if (m.responseType.type.name !== up.responseType.type.name) problems.push(`${name}: response ${m.responseType.type.name} vs ${up.responseType.type.name}`);
      if (m.requestStream !== up.requestStream) problems.push(`${name}: requestStream differs`);
      if (m.responseStream !== up.responseStream) problems.push(`${name}: responseStream differs`);
    }
    assert.deepEqual(problems, []);
  });

  it('the check itself reports a changed field number', () => {
    const path = ours.messages.get('apipb.Path');
    assert.ok(path);
    const broken: Catalog = {
      ...ours,
      messages: new Map([['apipb.Path', { ...path, field: path.field.map((f) => (f.name === 'neighbor_ip' ? { ...f, number: 16 } : f)) }]]),
    };
    assert.deepEqual(messageProblems(broken, theirs), ['apipb.Path.neighbor_ip: number 16 here, 15 upstream']);
  });
});
