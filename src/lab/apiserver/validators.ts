// Generic field validators with kube-apiserver's wording (apimachinery
// validation: IsDNS1123Subdomain, IsDNS1123Label, IsDNS1035Label, label
// keys and values, IPs, CIDRs, port numbers).

import net from 'node:net';
import type { FieldError } from './status.js';
import { isObject } from './obj.js';

const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const DNS1035_LABEL = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;
const QUALIFIED_NAME = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;
const IANA_SVC_NAME = /^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/;

export type NameRule = 'dns1123subdomain' | 'dns1123label' | 'dns1035label';

const MSG_SUBDOMAIN =
  "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";
const MSG_LABEL =
  "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')";
const MSG_1035 =
  "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')";

/** Messages for a name that breaks `rule` (empty when it is fine). */
export function checkName(rule: NameRule, name: string): string[] {
  const out: string[] = [];
  if (rule === 'dns1123subdomain') {
    if (name.length > 253) out.push('must be no more than 253 characters');
    if (!DNS1123_SUBDOMAIN.test(name)) out.push(MSG_SUBDOMAIN);
  } else if (rule === 'dns1123label') {
    if (name.length > 63) out.push('must be no more than 63 characters');
    if (!DNS1123_LABEL.test(name)) out.push(MSG_LABEL);
  } else {
    if (name.length > 63) out.push('must be no more than 63 characters');
    if (!DNS1035_LABEL.test(name)) out.push(MSG_1035);
  }
  return out;
}

export function validateName(rule: NameRule, name: string, field: string, errs: FieldError[]): void {
  for (const detail of checkName(rule, name)) errs.push({ type: 'FieldValueInvalid', field, value: name, detail });
}

export function isDns1123Label(s: string): boolean {
  return s.length <= 63 && DNS1123_LABEL.test(s);
}

export function isQualifiedName(key: string): boolean {
  const slash = key.indexOf('/');
  const name = slash < 0 ? key : key.slice(slash + 1);
  if (slash >= 0) {
    const prefix = key.slice(0, slash);
    if (prefix.length === 0 || prefix.length > 253 || !DNS1123_SUBDOMAIN.test(prefix)) return false;
  }
  return name.length > 0 && name.length <= 63 && QUALIFIED_NAME.test(name);
}

export function isLabelValue(v: string): boolean {
  return v.length <= 63 && LABEL_VALUE.test(v);
}

export function validateLabels(labels: unknown, field: string, errs: FieldError[]): void {
  if (labels === undefined || labels === null) return;
  if (!isObject(labels)) {
    errs.push({ type: 'FieldValueInvalid', field, value: labels, detail: 'must be a map of strings' });
    return;
  }
  for (const [k, v] of Object.entries(labels)) {
    if (!isQualifiedName(k)) {
      errs.push({
        type: 'FieldValueInvalid',
        field,
        value: k,
        detail:
          "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')",
      });
    }
    if (typeof v !== 'string' || !isLabelValue(v)) {
      errs.push({
        type: 'FieldValueInvalid',
        field,
        value: v,
        detail:
          "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')",
      });
    }
  }
}

export function validateAnnotations(annotations: unknown, field: string, errs: FieldError[]): void {
  if (annotations === undefined || annotations === null) return;
  if (!isObject(annotations)) {
    errs.push({ type: 'FieldValueInvalid', field, value: annotations, detail: 'must be a map of strings' });
    return;
  }
  for (const [k, v] of Object.entries(annotations)) {
    if (!isQualifiedName(k.toLowerCase())) {
      errs.push({ type: 'FieldValueInvalid', field, value: k, detail: 'name part must consist of alphanumeric characters, \'-\', \'_\' or \'.\'' });
    }
    if (typeof v !== 'string') errs.push({ type: 'FieldValueInvalid', field: `${field}.${k}`, value: v, detail: 'must be a string' });
  }
}

export const PORT_RANGE = 'must be between 1 and 65535, inclusive';

export function isPortNumber(v: unknown): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v >= 1 && v <= 65535;
}

export function validatePortNumber(v: unknown, field: string, errs: FieldError[]): void {
  if (!isPortNumber(v)) errs.push({ type: 'FieldValueInvalid', field, value: v, detail: PORT_RANGE });
}

/** An int-or-string port: a number in range or an IANA service name. */
export function validatePortNumOrName(v: unknown, field: string, errs: FieldError[]): void {
  if (typeof v === 'number') {
    validatePortNumber(v, field, errs);
    return;
  }
  if (typeof v === 'string') {
    if (v.length > 15 || !IANA_SVC_NAME.test(v) || !/[a-z]/.test(v) || v.includes('--')) {
      errs.push({ type: 'FieldValueInvalid', field, value: v, detail: 'must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)' });
    }
    return;
  }
  errs.push({ type: 'FieldValueInvalid', field, value: v, detail: 'must be an int or a string' });
}

export const PROTOCOLS = ['SCTP', 'TCP', 'UDP'] as const;

export function validateProtocol(v: unknown, field: string, errs: FieldError[]): void {
  if (v === undefined) return;
  if (typeof v !== 'string' || !(PROTOCOLS as readonly string[]).includes(v)) {
    errs.push({ type: 'FieldValueNotSupported', field, value: v, detail: 'supported values: "SCTP", "TCP", "UDP"' });
  }
}

export function validateEnum(v: unknown, allowed: readonly string[], field: string, errs: FieldError[]): void {
  if (v === undefined) return;
  if (typeof v !== 'string' || !allowed.includes(v)) {
    errs.push({ type: 'FieldValueNotSupported', field, value: v, detail: `supported values: ${allowed.map((a) => `"${a}"`).join(', ')}` });
  }
}

export const IP_DETAIL = 'must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)';

export function validateIP(v: unknown, field: string, errs: FieldError[]): void {
  if (typeof v !== 'string' || net.isIP(v) === 0) errs.push({ type: 'FieldValueInvalid', field, value: v, detail: IP_DETAIL });
}

export function isCidr(s: string): boolean {
  const slash = s.indexOf('/');
  if (slash < 0) return false;
  const ip = s.slice(0, slash);
  const bits = s.slice(slash + 1);
  const fam = net.isIP(ip);
  if (fam === 0 || !/^\d{1,3}$/.test(bits)) return false;
  const n = Number(bits);
  return n <= (fam === 4 ? 32 : 128);
}

export function validateCidr(v: unknown, field: string, errs: FieldError[]): void {
  if (typeof v !== 'string' || !isCidr(v)) {
    errs.push({ type: 'FieldValueInvalid', field, value: v, detail: 'must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)' });
  }
}

/** metav1.LabelSelector validation (matchLabels, matchExpressions). */
export function validateLabelSelector(sel: unknown, field: string, errs: FieldError[]): void {
  if (sel === undefined || sel === null) return;
  if (!isObject(sel)) {
    errs.push({ type: 'FieldValueInvalid', field, value: sel, detail: 'must be a label selector' });
    return;
  }
  validateLabels(sel.matchLabels, `${field}.matchLabels`, errs);
  const exprs = sel.matchExpressions;
  if (exprs === undefined || exprs === null) return;
  if (!Array.isArray(exprs)) {
    errs.push({ type: 'FieldValueInvalid', field: `${field}.matchExpressions`, value: exprs, detail: 'must be a list' });
    return;
  }
  exprs.forEach((e: unknown, i) => {
    const f = `${field}.matchExpressions[${i}]`;
    if (!isObject(e)) {
      errs.push({ type: 'FieldValueInvalid', field: f, value: e, detail: 'must be an object' });
      return;
    }
    const values = Array.isArray(e.values) ? e.values : [];
    if (typeof e.key !== 'string' || !isQualifiedName(e.key)) {
      errs.push({ type: 'FieldValueInvalid', field: `${f}.key`, value: e.key, detail: 'must be a qualified name' });
    }
    if (e.operator === 'In' || e.operator === 'NotIn') {
      if (values.length === 0) errs.push({ type: 'FieldValueRequired', field: `${f}.values`, detail: 'must be specified when `operator` is \'In\' or \'NotIn\'' });
    } else if (e.operator === 'Exists' || e.operator === 'DoesNotExist') {
      if (values.length > 0) errs.push({ type: 'FieldValueForbidden', field: `${f}.values`, detail: 'may not be specified when `operator` is \'Exists\' or \'DoesNotExist\'' });
    } else {
      errs.push({ type: 'FieldValueInvalid', field: `${f}.operator`, value: e.operator, detail: 'not a valid selector operator' });
    }
  });
}
