import { readdirSync, readFileSync } from 'node:fs';
import ts from 'typescript';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, type TestApp } from '../../helpers/build-test-app.js';
import { documentedOperations, seed } from './shape.js';

/** The calls that register scenarios, each with an object literal of `METHOD /seed/path` keys (see scenarios.ts). */
const REGISTRARS = new Set(['describeSeedScenarios', 'describeSeedStreams', 'describeSeedLogStreams']);
const folder = new URL('./', import.meta.url);

/** Every scenario key of one file, read from its source; a key that cannot be read statically is an error. */
function scenarioKeys(file: string): string[] {
  const source = ts.createSourceFile(file, readFileSync(new URL(file, folder), 'utf8'), ts.ScriptTarget.Latest, true);
  const keys: string[] = [];
  const visit = (node: ts.Node): void => {
    if (ts.isCallExpression(node) && ts.isIdentifier(node.expression) && REGISTRARS.has(node.expression.text)) {
      const scenarios = node.arguments[1];
      if (!scenarios || !ts.isObjectLiteralExpression(scenarios)) {
        throw new Error(`${file}: ${node.expression.text} needs an object literal of scenarios`);
      }
      for (const property of scenarios.properties) {
        if (!property.name || !ts.isStringLiteral(property.name)) {
          throw new Error(`${file}: scenario keys must be string literals, got ${property.getText(source)}`);
        }
        keys.push(property.name.text);
      }
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return keys;
}

const scenarioFiles = readdirSync(folder).filter((name) => name.endsWith('.test.ts'));
const covered = scenarioFiles.flatMap((file) => scenarioKeys(file).map((key) => ({ file, key })));

let t: TestApp;
let documented: Set<string>;

beforeAll(async () => {
  t = await buildTestApp();
  documented = documentedOperations((await t.request({ method: 'GET', url: '/openapi.json' })).json());
});
afterAll(async () => {
  await t?.close();
});

describe('seed 001 contract: coverage', () => {
  it('has a scenario for exactly the seed endpoints listed in /openapi.json', () => {
    const implemented = seed.map((e) => `${e.method} ${e.path}`).filter((key) => documented.has(key));
    expect(implemented.length).toBeGreaterThan(0);
    const keys = covered.map(({ key }) => key);
    expect({
      implementedWithoutScenario: implemented.filter((key) => !keys.includes(key)),
      scenarioWithoutImplementedEndpoint: keys.filter((key) => !implemented.includes(key)),
      scenarioInMoreThanOnePlace: covered
        .filter(({ key }, i) => keys.indexOf(key) !== i)
        .map(({ file, key }) => `${key} (again in ${file})`),
    }).toEqual({
      implementedWithoutScenario: [],
      scenarioWithoutImplementedEndpoint: [],
      scenarioInMoreThanOnePlace: [],
    });
  });
});
