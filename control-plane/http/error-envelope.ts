import { Type } from 'typebox';
import { type AppError, type ErrorCategory, type ErrorDetails, publicErrorCodes } from '../../shared/errors.js';

/** The body of every error response: seed `000`'s envelope plus `category`, `retryable` and `details`. */
export interface ErrorEnvelope {
  code: string;
  message: string;
  field?: string;
  hint?: string;
  requestId: string;
  category: ErrorCategory;
  retryable: boolean;
  details?: ErrorDetails;
}

/** JSON schema of {@link ErrorEnvelope}, registered once as `ErrorEnvelope` and referenced by every route. */
export const errorEnvelopeSchema = Type.Object(
  {
    code: Type.Enum(publicErrorCodes, { description: 'Stable, machine-readable error code.' }),
    message: Type.String({ description: 'Human-readable error message.' }),
    field: Type.Optional(
      Type.String({ description: 'The input field the error is about (dotted for nested fields).' }),
    ),
    hint: Type.Optional(Type.String({ description: 'What to do about it.' })),
    requestId: Type.String({ description: 'Server-assigned request id; quote it when reporting issues.' }),
    category: Type.Enum(['user', 'infra', 'provider', 'retryable', 'timeout'], { description: 'Who can fix it.' }),
    retryable: Type.Boolean({ description: 'Whether the same request may succeed later.' }),
    details: Type.Optional(
      Type.Record(
        Type.String(),
        Type.Union([Type.String(), Type.Number(), Type.Boolean(), Type.Null(), Type.Array(Type.String())]),
      ),
    ),
  },
  { $id: 'ErrorEnvelope', additionalProperties: false },
);

/** The envelope for `error` answering request `requestId`. */
export function toEnvelope(error: AppError, requestId: string): ErrorEnvelope {
  const spec = error.spec;
  const envelope: ErrorEnvelope = {
    code: spec.code,
    message: error.message,
    requestId,
    category: spec.category,
    retryable: spec.retryable,
  };
  if (error.field !== undefined) envelope.field = error.field;
  if (error.hint !== undefined) envelope.hint = error.hint;
  if (error.details !== undefined) envelope.details = error.details;
  return envelope;
}
