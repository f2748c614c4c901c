// Loads proto/cri/api.proto (our subset of runtime.v1) for the client and the
// lab kubelet's server, with the same options as the GoBGP client.
import * as protoLoader from '@grpc/proto-loader';
import type { ServiceDefinition } from '@grpc/proto-loader';
import { join } from 'node:path';
import { protoDir } from '../bgp/proto-files.js';

export const CRI_SERVICE = 'runtime.v1.RuntimeService';

let cached: ServiceDefinition | undefined;

export function criServiceDefinition(): ServiceDefinition {
  if (cached) return cached;
  const def = protoLoader.loadSync([join('cri', 'api.proto')], {
    includeDirs: [protoDir()],
    keepCase: true,
    enums: String,
    longs: Number,
    defaults: true,
    oneofs: true,
  });
  // The service entry of a package definition is a ServiceDefinition (record of methods).
  cached = def[CRI_SERVICE] as unknown as ServiceDefinition;
  return cached;
}

/** The messages as proto-loader hands them over (keepCase, enums as names, longs as numbers). */
export interface WireSandboxMetadata {
  name?: string;
  uid?: string;
  namespace?: string;
  attempt?: number;
}

export type WireSandboxState = 'SANDBOX_READY' | 'SANDBOX_NOTREADY';

export interface WirePodSandbox {
  id?: string;
  metadata?: WireSandboxMetadata | null;
  state?: WireSandboxState;
  created_at?: number;
  labels?: Record<string, string>;
}

export interface WireListPodSandboxRequest {
  filter?: { id?: string; state?: { state: WireSandboxState } | null; label_selector?: Record<string, string> } | null;
}

export interface WireListPodSandboxResponse {
  items?: WirePodSandbox[];
}

export interface WirePodSandboxStatusRequest {
  pod_sandbox_id?: string;
  verbose?: boolean;
}

export type WireNamespaceMode = 'POD' | 'CONTAINER' | 'NODE' | 'TARGET';

export interface WirePodSandboxStatus {
  id?: string;
  metadata?: WireSandboxMetadata | null;
  state?: WireSandboxState;
  created_at?: number;
  network?: { ip?: string; additional_ips?: { ip?: string }[] } | null;
  linux?: { namespaces?: { options?: { network?: WireNamespaceMode } | null } | null } | null;
  labels?: Record<string, string>;
}

export interface WirePodSandboxStatusResponse {
  status?: WirePodSandboxStatus | null;
  info?: Record<string, string>;
}

export interface WireVersionResponse {
  version?: string;
  runtime_name?: string;
  runtime_version?: string;
  runtime_api_version?: string;
}
