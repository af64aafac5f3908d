import { describe, expect, it } from 'vitest';
import { formatImageReference, ImageReferenceError, parseImageReference } from './image-reference.js';

const hex64 = 'a3ed95caeb02ffe68cdd9fd84406680ae93d633cb16422d00e8a7c22955b46d4';
const sha256 = `sha256:${hex64}`;

describe('parseImageReference', () => {
  // Columns: input, name, tag, digest, locator (null when it is the input itself).
  it.each([
    ['nginx', 'nginx', null, null, 'nginx'],
    ['nginx:1.27', 'nginx', '1.27', null, 'nginx:1.27'],
    ['library/nginx:latest', 'library/nginx', 'latest', null, 'library/nginx:latest'],
    ['localhost:5000/team/app:v1', 'localhost:5000/team/app', 'v1', null, 'localhost:5000/team/app:v1'],
    ['localhost/app', 'localhost/app', null, null, 'localhost/app'],
    [`registry.example.com/a/b@${sha256}`, 'registry.example.com/a/b', null, sha256, null],
    [`app:v1@${sha256}`, 'app', 'v1', sha256, `app:v1@${sha256}`],
    ['docker://busybox:1.36', 'busybox', '1.36', null, 'busybox:1.36'],
    ['ghcr.io/org/my_app__x.y-z---w:1.0_RC-2', 'ghcr.io/org/my_app__x.y-z---w', '1.0_RC-2', null, null],
    ['Registry.Example.com:443/app', 'Registry.Example.com:443/app', null, null, null],
    ['[::1]:5000/app:dev', '[::1]:5000/app', 'dev', null, null],
    // Without a slash after it, "localhost:5000" is the image "localhost" with tag "5000", as Docker reads it.
    ['localhost:5000', 'localhost', '5000', null, null],
    [`app@sha512:${'0'.repeat(128)}`, 'app', null, `sha512:${'0'.repeat(128)}`, null],
    [`app@multihash+base58:${'f'.repeat(32)}`, 'app', null, `multihash+base58:${'f'.repeat(32)}`, null],
    [`app:${'t'.repeat(128)}`, 'app', 't'.repeat(128), null, null],
  ])('parses %s', (input, name, tag, digest, locator) => {
    expect(parseImageReference(input)).toEqual({ name, tag, digest, locator: locator ?? input });
  });

  it.each([
    ['an uppercase repository', 'Nginx:1.27', 'repository names must be lowercase'],
    ['an uppercase path after a registry', 'ghcr.io/Org/app', 'repository names must be lowercase'],
    ['an empty string', '', 'empty'],
    ['only the docker:// prefix', 'docker://', 'empty'],
    ['a space inside', 'nginx :1.27', 'whitespace'],
    ['surrounding spaces', ' nginx ', 'whitespace'],
    ['a newline', 'nginx\n', 'whitespace'],
    ['bad characters in the tag', 'nginx:1.27!', 'the tag may contain only'],
    ['a tag starting with a dot', 'nginx:.hidden', 'must not start with'],
    ['a tag that is too long', `nginx:${'t'.repeat(129)}`, 'the tag is longer than 128 characters'],
    ['a short sha256 digest', `nginx@sha256:${hex64.slice(1)}`, 'sha256 digest must be 64 lowercase hex digits'],
    ['an uppercase sha256 digest', `nginx@sha256:${hex64.toUpperCase()}`, 'lowercase hex'],
    ['a digest without an algorithm', `nginx@${hex64}`, 'the digest after "@"'],
    ['an empty digest', 'nginx@', 'the digest after "@"'],
    ['a second @', `nginx@${sha256}@${sha256}`, 'the digest after "@"'],
    ['a trailing colon', 'nginx:', 'the tag after ":" is empty'],
    ['a double slash', 'library//nginx', 'empty component'],
    ['a trailing slash', 'library/nginx/', 'empty component'],
    ['a leading slash', '/nginx', 'empty component'],
    ['a missing name before the tag', ':1.27', 'the repository name is empty'],
    ['a separator at the end of a component', 'my-/app', '"my-" is not a valid repository path component'],
    ['three underscores', 'my___app', 'is not a valid repository path component'],
    ['a bad registry host', 'bad_host.io/app', 'is not a valid registry host'],
    ['a name that is too long', `${'a'.repeat(200)}/${'b'.repeat(55)}`, 'longer than 255 characters'],
  ])('rejects %s', (_case, input, message) => {
    expect(() => parseImageReference(input)).toThrow(ImageReferenceError);
    expect(() => parseImageReference(input)).toThrow(message);
  });

  it('accepts a name of exactly 255 characters', () => {
    const name = `${'a'.repeat(200)}/${'b'.repeat(54)}`;
    expect(parseImageReference(name).name).toHaveLength(255);
  });

  it('quotes the input in the error message', () => {
    expect(() => parseImageReference('docker://Nginx')).toThrow('invalid image reference "docker://Nginx": ');
  });

  it('throws an error whose name identifies it', () => {
    try {
      parseImageReference('');
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(ImageReferenceError);
      expect((error as Error).name).toBe('ImageReferenceError');
    }
  });
});

describe('formatImageReference', () => {
  it.each([
    [{ name: 'nginx', tag: null, digest: null }, 'nginx'],
    [{ name: 'nginx', tag: '1.27', digest: null }, 'nginx:1.27'],
    [{ name: 'localhost:5000/app', tag: null, digest: sha256 }, `localhost:5000/app@${sha256}`],
    [{ name: 'app', tag: 'v1', digest: sha256 }, `app:v1@${sha256}`],
  ])('formats %o as %s', (parts, locator) => {
    expect(formatImageReference(parts)).toBe(locator);
  });

  it('round-trips with parseImageReference', () => {
    for (const input of ['nginx', 'localhost:5000/team/app:v1', `app:v1@${sha256}`]) {
      expect(formatImageReference(parseImageReference(input))).toBe(input);
    }
  });
});
