/** A container image reference split into its parts, as the user wrote it (no `docker.io/library/` added). */
export interface ImageReference {
  /** Optional registry host and the repository path, without tag or digest: `nginx`, `localhost:5000/team/app`. */
  name: string;
  /** The tag, or null when none was given; defaulting to `latest` is the caller's decision. */
  tag: string | null;
  /** The digest such as `sha256:…`, or null when none was given. */
  digest: string | null;
  /** The whole reference without a `docker://` prefix: `name[:tag][@digest]`. */
  locator: string;
}

/** Thrown by `parseImageReference` when the input is not a valid image reference; the message says why. */
export class ImageReferenceError extends Error {
  override readonly name = 'ImageReferenceError';
}

// The grammar of github.com/distribution/reference (regexp.go), anchored piece by piece so each failure gets its own
// message instead of one "invalid reference format".
const domainComponent = '(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])';
const domainPattern = new RegExp(`^(?:${domainComponent}(?:\\.${domainComponent})*|\\[[a-fA-F0-9:]+\\])(?::[0-9]+)?$`);
const pathComponentPattern = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const tagPattern = /^[\w][\w.-]{0,127}$/;
const digestPattern = /^[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}$/;
// Registered algorithms have a fixed length and lowercase hex (opencontainers/go-digest); the generic grammar above
// only asks for 32 or more hex digits.
const knownDigestLengths: ReadonlyMap<string, number> = new Map([
  ['sha256', 64],
  ['sha384', 96],
  ['sha512', 128],
]);
const maxNameLength = 255;
const maxTagLength = 128;

/**
 * Parses a Docker image reference such as `nginx:1.27`, `localhost:5000/team/app:v1` or
 * `registry.example.com/a/b@sha256:<64 hex>`, after removing an optional `docker://` prefix.
 *
 * The first path component is a registry host only when the reference has a `/` after it and it contains `.` or
 * `:` or is `localhost`, so `localhost:5000` alone is the image `localhost` with tag `5000`, as Docker reads it.
 * Repository paths must be lowercase; tags are `[\w][\w.-]{0,127}`; digests are `algorithm:hex`, with `sha256`
 * needing exactly 64 lowercase hex digits. The name may be at most 255 characters.
 *
 * @throws {ImageReferenceError} when the reference is empty, contains whitespace or breaks the grammar.
 */
export function parseImageReference(input: string): ImageReference {
  const reference = input.startsWith('docker://') ? input.slice('docker://'.length) : input;
  const fail = (reason: string): never => {
    throw new ImageReferenceError(`invalid image reference ${JSON.stringify(input)}: ${reason}`);
  };
  if (reference === '') fail('it is empty');
  if (/\s/.test(reference)) fail('it must not contain whitespace');

  const at = reference.indexOf('@');
  const digest = at === -1 ? null : reference.slice(at + 1);
  const nameAndTag = at === -1 ? reference : reference.slice(0, at);
  if (digest !== null) checkDigest(digest, fail);

  // A colon after the last slash starts the tag; one before it belongs to the registry's port.
  const colon = nameAndTag.lastIndexOf(':');
  const hasTag = colon > nameAndTag.lastIndexOf('/');
  const name = hasTag ? nameAndTag.slice(0, colon) : nameAndTag;
  const tag = hasTag ? nameAndTag.slice(colon + 1) : null;
  if (tag !== null) checkTag(tag, fail);
  checkName(name, fail);

  return { name, tag, digest, locator: formatImageReference({ name, tag, digest }) };
}

/** The locator `name[:tag][@digest]` of the given parts; it does not validate them. */
export function formatImageReference(parts: Pick<ImageReference, 'name' | 'tag' | 'digest'>): string {
  const tag = parts.tag === null ? '' : `:${parts.tag}`;
  const digest = parts.digest === null ? '' : `@${parts.digest}`;
  return `${parts.name}${tag}${digest}`;
}

function checkName(name: string, fail: (reason: string) => never): void {
  if (name === '') fail('the repository name is empty');
  if (name.length > maxNameLength) fail(`the name is longer than ${maxNameLength} characters`);
  const components = name.split('/');
  const first = components[0]!;
  if (components.length > 1 && (first.includes('.') || first.includes(':') || first === 'localhost')) {
    if (!domainPattern.test(first)) fail(`${JSON.stringify(first)} is not a valid registry host[:port]`);
    components.shift();
  }
  for (const component of components) {
    if (component === '') fail('the repository path has an empty component (a leading, trailing or double "/")');
    if (pathComponentPattern.test(component)) continue;
    if (pathComponentPattern.test(component.toLowerCase())) fail('repository names must be lowercase');
    fail(
      `${JSON.stringify(component)} is not a valid repository path component: use lowercase letters and digits, ` +
        'separated by ".", "_", "__" or "-"',
    );
  }
}

function checkTag(tag: string, fail: (reason: string) => never): void {
  if (tag === '') fail('the tag after ":" is empty');
  if (tag.length > maxTagLength) fail(`the tag is longer than ${maxTagLength} characters`);
  if (!tagPattern.test(tag)) {
    fail('the tag may contain only letters, digits, "_", "." and "-", and must not start with "." or "-"');
  }
}

function checkDigest(digest: string, fail: (reason: string) => never): void {
  if (!digestPattern.test(digest)) fail('the digest after "@" must look like sha256:<64 lowercase hex digits>');
  const [algorithm, hex] = digest.split(':') as [string, string];
  const length = knownDigestLengths.get(algorithm);
  if (length !== undefined && !new RegExp(`^[a-f0-9]{${length}}$`).test(hex)) {
    fail(`a ${algorithm} digest must be ${length} lowercase hex digits`);
  }
}
