import { Type } from 'typebox';

/** `POST /auth/sessions` body. */
export const LoginBody = Type.Object(
  {
    email: Type.String({ minLength: 1, maxLength: 320 }),
    password: Type.String({ minLength: 1, maxLength: 1024 }),
    clientKind: Type.Optional(Type.String({ minLength: 1, maxLength: 20, examples: ['cli'] })),
    displayName: Type.Optional(Type.String({ minLength: 1, maxLength: 100 })),
  },
  { additionalProperties: false },
);

/** `POST /auth/sessions` response: the token is shown this once. */
export const LoginResult = Type.Object({
  sessionId: Type.String(),
  token: Type.String({ description: 'Send as "Authorization: Bearer <token>".' }),
  expiresAt: Type.String({ format: 'date-time' }),
});

const NullableString = Type.Union([Type.String(), Type.Null()]);

/** `GET /account/sessions` response. */
export const SessionList = Type.Object({
  items: Type.Array(
    Type.Object({
      sessionId: Type.String(),
      userId: Type.String(),
      clientKind: Type.String(),
      displayName: NullableString,
      createdAt: Type.String({ format: 'date-time' }),
      expiresAt: Type.String({ format: 'date-time' }),
      ipAddress: NullableString,
      userAgent: NullableString,
      current: Type.Boolean(),
      lastActiveAt: Type.String({ format: 'date-time' }),
    }),
  ),
  nextCursor: NullableString,
});

/** `POST /account/sessions/{sessionId}/revoke` params, body and response. */
export const SessionParams = Type.Object({ sessionId: Type.String({ minLength: 1, maxLength: 100 }) });
export const RevokeBody = Type.Object({}, { additionalProperties: false });
export const RevokeResult = Type.Object({ sessionId: Type.String(), revokedAt: Type.String({ format: 'date-time' }) });
