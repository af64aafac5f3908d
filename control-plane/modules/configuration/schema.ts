import { Type } from 'typebox';
import { variableExposures, variableKinds } from './entity.js';
import { maxValueLength } from './service.js';

/** A variable name as a shell and Docker accept it. */
export const variableKeyPattern = '^[A-Za-z_][A-Za-z0-9_]*$';

export const VariableKey = Type.String({
  minLength: 1,
  maxLength: 255,
  pattern: variableKeyPattern,
  description: 'Letters, digits and underscores, not starting with a digit (at most 255).',
});
export const VariableValue = Type.String({
  maxLength: maxValueLength,
  description: `At most ${maxValueLength} characters.`,
});
export const Exposure = Type.Enum(variableExposures, {
  description: '`runtime` (the container environment) or `build-time`. Defaults to runtime.',
});
export const VariableKindSchema = Type.Enum(variableKinds);

/** The seed's variable entry; a secret's value is always `****`. */
export const EntryView = Type.Object({
  key: Type.String(),
  value: Type.String(),
  scope: Type.String({ examples: ['environment', 'resource'] }),
  exposure: Exposure,
  isSecret: Type.Boolean(),
  kind: Type.String({ examples: ['plain-config', 'secret'] }),
  updatedAt: Type.String({ format: 'date-time' }),
});

/** One value hidden by a higher layer of the precedence ladder. */
export const OverrideView = Type.Object({
  key: Type.String(),
  exposure: Exposure,
  effectiveScope: Type.String(),
  effectiveLayer: Type.String(),
  overriddenScope: Type.String(),
  overriddenLayer: Type.String(),
  rule: Type.String({ examples: ['resource-overrides-environment'] }),
});

/** `POST …/variables`. */
export const SetVariableBody = Type.Object(
  {
    key: VariableKey,
    value: VariableValue,
    exposure: Type.Optional(Exposure),
    kind: Type.Optional(VariableKindSchema),
    isSecret: Type.Optional(
      Type.Boolean({ description: 'Same as kind "secret": stored encrypted, read back as ****.' }),
    ),
  },
  { additionalProperties: false },
);

/** `DELETE …/variables/{key}`: which exposure to remove (both when left out). */
export const UnsetVariableBody = Type.Object(
  { exposure: Type.Optional(Exposure), scope: Type.Optional(Type.String({ maxLength: 50 })) },
  { additionalProperties: false, description: 'Without an exposure, the key is removed in both exposures.' },
);

/**
 * The seed's variable calls answer the JSON value `null`. Wrapped in a union because the OpenAPI generator drops
 * the content of a bare `{type: "null"}` response, and clients generated from the document would then expect none.
 */
export const JsonNull = Type.Union([Type.Null()], { description: 'The JSON value null.' });
