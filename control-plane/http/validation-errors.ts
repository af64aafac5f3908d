import type { FastifySchemaValidationError } from 'fastify/types/schema.js';
import { AppError } from '../../shared/errors.js';

const partNames: Record<string, string> = {
  body: 'Body field',
  querystring: 'Query parameter',
  params: 'Path parameter',
  headers: 'Header',
};

// ajv reports `/confirmation/projectId`; clients name fields with dots.
function fieldOf(error: FastifySchemaValidationError): string | undefined {
  const path = error.instancePath
    .split('/')
    .filter((s) => s !== '')
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
  const params = error.params as Record<string, unknown>;
  if (error.keyword === 'required' && typeof params['missingProperty'] === 'string')
    path.push(params['missingProperty']);
  if (error.keyword === 'additionalProperties' && typeof params['additionalProperty'] === 'string') {
    path.push(params['additionalProperty']);
  }
  return path.length > 0 ? path.join('.') : undefined;
}

function describe(error: FastifySchemaValidationError, part: string, field: string | undefined): string {
  const params = error.params as Record<string, unknown>;
  const subject =
    field === undefined
      ? part === 'body'
        ? 'The request body'
        : `The ${part}`
      : `${partNames[part] ?? 'Field'} "${field}"`;
  switch (error.keyword) {
    case 'required':
      return `${subject} is required.`;
    case 'additionalProperties':
      return `${subject} is not accepted by this operation.`;
    case 'minLength':
      return params['limit'] === 1
        ? `${subject} must not be empty.`
        : `${subject} must have at least ${params['limit']} characters.`;
    case 'maxLength':
      return `${subject} must have at most ${params['limit']} characters.`;
    case 'minimum':
    case 'maximum':
    case 'exclusiveMinimum':
    case 'exclusiveMaximum':
      return `${subject} must be ${params['comparison']} ${params['limit']}.`;
    case 'enum':
      return `${subject} must be one of: ${(params['allowedValues'] as unknown[]).join(', ')}.`;
    case 'type':
      return `${subject} must be ${params['type'] === 'object' ? 'a JSON object' : `of type ${params['type']}`}.`;
    default:
      return `${subject} ${error.message ?? 'is invalid'}.`;
  }
}

/**
 * Turns fastify/ajv schema errors into one `VALIDATION_ERROR`: the first problem in `message` and `field`, and every
 * problem as a line in `details.violations` (so a client fixing a form sees all of them at once).
 */
export function fromValidationError(errors: FastifySchemaValidationError[], context: string | undefined): AppError {
  const part = context ?? 'body';
  const violations = errors.map((e) => {
    const field = fieldOf(e);
    return { field, message: describe(e, part, field) };
  });
  const first = violations[0] ?? { field: undefined, message: 'The request is invalid.' };
  return new AppError('validation_failed', first.message, {
    ...(first.field === undefined ? {} : { field: first.field }),
    details: { in: part, violations: violations.map((v) => v.message) },
  });
}
