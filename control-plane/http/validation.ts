import { Ajv, type Options } from 'ajv';
import addFormatsModule from 'ajv-formats';
import type { FastifyInstance } from 'fastify';

// ajv-formats is CommonJS; under NodeNext its default export arrives wrapped.
const addFormats = addFormatsModule as unknown as (ajv: Ajv) => Ajv;

function newAjv(options: Options): Ajv {
  const ajv = new Ajv({
    allErrors: true,
    useDefaults: true,
    // Unknown body fields are refused by `additionalProperties: false`, never silently dropped.
    removeAdditional: false,
    strict: false,
    ...options,
  });
  addFormats(ajv);
  return ajv;
}

/**
 * Installs Berth's validators: bodies are checked strictly (no type coercion, so `"name": 5` is an error, not
 * `"5"`), while query strings, path parameters and headers are coerced from text (`limit=10`, `includeArchived=true`).
 */
export function installValidators(app: FastifyInstance): void {
  const strict = newAjv({ coerceTypes: false });
  const coercing = newAjv({ coerceTypes: 'array' });
  app.setValidatorCompiler(({ schema, httpPart }) =>
    httpPart === 'body' ? strict.compile(schema) : coercing.compile(schema),
  );
}
