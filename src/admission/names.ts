// Kubernetes name rules and the encoding of usernames into the namespace owner label.

const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS1123_SUBDOMAIN_PART = DNS1123_LABEL;

/** A namespace name: a DNS-1123 label (lower-case alphanumerics and '-', at most 63). */
export function dns1123LabelProblem(value: string): string | undefined {
  if (value.length === 0) return 'must not be empty';
  if (value.length > 63) return 'must be at most 63 characters';
  if (!DNS1123_LABEL.test(value)) return "must be lower-case letters, digits and '-', starting and ending with a letter or digit";
  return undefined;
}

/** A cluster-scoped object's name (User, Role, Team): a DNS-1123 subdomain. */
export function dns1123SubdomainProblem(value: string): string | undefined {
  if (value.length === 0) return 'must not be empty';
  if (value.length > 253) return 'must be at most 253 characters';
  if (!value.split('.').every((part) => DNS1123_SUBDOMAIN_PART.test(part))) {
    return "must be lower-case letters, digits, '-' and '.', each dot-separated part starting and ending with a letter or digit";
  }
  return undefined;
}


// The owner-label encoding is part of the label contract, shared with the index: src/api/owner.ts.
export { OWNER_USERNAME_ANNOTATION, ownerLabelValue, isNamespaceOwner, namespaceOwner, isValidLabelValue } from '../api/owner.js';
