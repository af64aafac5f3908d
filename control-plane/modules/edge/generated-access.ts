import { createHash } from 'node:crypto';
import { isIPv4 } from 'node:net';
import { hostnameProblem } from '../../../shared/hostnames.js';
import { slugify } from '../../../shared/slug.js';

/**
 * Generated access: the host name a deployed resource gets without any domain of its own, from the default access
 * policy that applies to its server (the server's own policy, else the organization's `system` one, else Berth's
 * default `sslip`). Pure, so the access summary, the edge document and the policy check compute the same name.
 */

/** The policy fields that decide the name. */
export interface GeneratedAccessPolicy {
  mode: 'disabled' | 'provider' | 'custom-template';
  providerKey: string | null;
  templateRef: string | null;
}

/** Berth's policy where none is stored: sslip names, as Coolify gives them. */
export const defaultGeneratedAccessPolicy: GeneratedAccessPolicy = {
  mode: 'provider',
  providerKey: 'sslip',
  templateRef: null,
};

/** What a name is made from. */
export interface GeneratedAccessSubject {
  resourceId: string;
  resourceSlug: string;
  environmentName: string;
  projectSlug: string;
  /** The server's address as registered (`host`). */
  serverHost: string;
}

/** The outcome: a host name, none by policy, or none because the policy cannot make one (and why). */
export type GeneratedHostname =
  | { kind: 'hostname'; hostname: string; providerKey: string }
  | { kind: 'disabled' }
  | { kind: 'unavailable'; code: string; message: string };

/** The placeholders a `custom-template` may use. */
export const templatePlaceholders = ['{resource}', '{environment}', '{project}'] as const;

/** A short, stable tag of the resource, so two resources with one slug on one server get distinct names. */
function shortHash(resourceId: string): string {
  return createHash('sha256').update(resourceId).digest('hex').slice(0, 6);
}

/** Renders a template with the subject's slugs; the result is checked by the caller. */
export function renderTemplate(template: string, subject: Omit<GeneratedAccessSubject, 'serverHost'>): string {
  return template
    .replaceAll('{resource}', subject.resourceSlug)
    .replaceAll('{environment}', slugify(subject.environmentName, 'env'))
    .replaceAll('{project}', subject.projectSlug)
    .toLowerCase();
}

/**
 * Why `template` cannot make host names (unknown placeholder, an invalid name once rendered), or null. Checked with
 * sample slugs when a policy is stored, so a bad template is refused before any deployment depends on it.
 */
export function templateProblem(template: string): string | null {
  const unknown = template.match(/\{[^}]*\}/g)?.find((p) => !(templatePlaceholders as readonly string[]).includes(p));
  if (unknown) return `uses the unknown placeholder ${unknown} (known: ${templatePlaceholders.join(', ')})`;
  const sample = renderTemplate(template, {
    resourceId: 'res-sample',
    resourceSlug: 'web',
    environmentName: 'production',
    projectSlug: 'shop',
  });
  const problem = hostnameProblem(sample);
  return problem === null ? null : `renders "${sample}", which ${problem}`;
}

/** The generated host name of `subject` under `policy`. */
export function generatedHostname(policy: GeneratedAccessPolicy, subject: GeneratedAccessSubject): GeneratedHostname {
  if (policy.mode === 'disabled') return { kind: 'disabled' };
  if (policy.mode === 'custom-template' && policy.templateRef) {
    const hostname = renderTemplate(policy.templateRef, subject);
    const problem = hostnameProblem(hostname);
    if (problem !== null) {
      return {
        kind: 'unavailable',
        code: 'access_template_invalid',
        message: `The access template renders "${hostname}", which ${problem}.`,
      };
    }
    return { kind: 'hostname', hostname, providerKey: policy.providerKey ?? 'custom-template' };
  }
  if (!isIPv4(subject.serverHost)) {
    return {
      kind: 'unavailable',
      code: 'access_provider_needs_ipv4',
      message: `sslip names need the server's IPv4 address; the server is registered as "${subject.serverHost}".`,
    };
  }
  const label = `${subject.resourceSlug.slice(0, 56).replace(/-+$/, '')}-${shortHash(subject.resourceId)}`;
  return { kind: 'hostname', hostname: `${label}.${subject.serverHost}.sslip.io`, providerKey: 'sslip' };
}
