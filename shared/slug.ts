/**
 * A URL-friendly slug of `name`: lower-case ASCII letters, digits and single hyphens, at most `maxLength` characters,
 * never starting or ending with a hyphen. Accents are folded (`Café` → `cafe`); a name with nothing usable gives
 * `fallback`.
 */
export function slugify(name: string, fallback: string, maxLength = 60): string {
  const slug = name
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, maxLength)
    .replace(/-+$/g, '');
  return slug === '' ? fallback : slug;
}

/** `base`, or `base-2`, `base-3`, … — the first that `taken` does not contain. */
export function uniqueSlug(base: string, taken: ReadonlySet<string>, maxLength = 60): string {
  if (!taken.has(base)) return base;
  for (let n = 2; ; n++) {
    const suffix = `-${n}`;
    const candidate = `${base.slice(0, maxLength - suffix.length).replace(/-+$/g, '')}${suffix}`;
    if (!taken.has(candidate)) return candidate;
  }
}
