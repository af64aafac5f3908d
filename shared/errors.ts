import { status as GrpcStatus } from '@grpc/grpc-js';

/**
 * The public error codes of seed `000`. They are the contract: clients switch on them, so a value is never renamed.
 */
export const publicErrorCodes = [
  'VALIDATION_ERROR',
  'READONLY_FIELD',
  'UNAUTHORIZED',
  'FORBIDDEN_SCOPE',
  'FORBIDDEN_ROLE',
  'NOT_FOUND',
  'CONFLICT',
  'IDEMPOTENCY_KEY_REUSED',
  'RATE_LIMITED',
  'SERVICE_UNAVAILABLE',
  'INTERNAL',
] as const;

/** One of the seed's public error codes. */
export type PublicErrorCode = (typeof publicErrorCodes)[number];

/**
 * Who can fix an error, as the reference clients read it: `user` (change the request), `infra` (the platform or a
 * server is unwell), `provider` (an outside system refused), `retryable` (try again later unchanged), `timeout`.
 */
export type ErrorCategory = 'user' | 'infra' | 'provider' | 'retryable' | 'timeout';

/** What one internal error kind means on every transport. */
export interface ErrorKindSpec {
  /** The public code clients switch on. */
  code: PublicErrorCode;
  /** The HTTP status of the envelope. */
  httpStatus: number;
  /** The gRPC status the agent gateway uses for the same failure. */
  grpcStatus: GrpcStatus;
  category: ErrorCategory;
  /** Whether repeating the same request unchanged may succeed. */
  retryable: boolean;
  /** One sentence for the docs' error table. */
  description: string;
}

/**
 * The single table from internal error kinds to their public code, HTTP status, gRPC status and category.
 * Internal kinds may be finer than public codes (a too-large body and a bad field are both `VALIDATION_ERROR`,
 * with different statuses); everything that answers an error looks its kind up here.
 */
export const errorKinds = {
  validation_failed: {
    code: 'VALIDATION_ERROR',
    httpStatus: 400,
    grpcStatus: GrpcStatus.INVALID_ARGUMENT,
    category: 'user',
    retryable: false,
    description: 'A parameter, query value or body field is missing, malformed or out of range.',
  },
  body_too_large: {
    code: 'VALIDATION_ERROR',
    httpStatus: 413,
    grpcStatus: GrpcStatus.RESOURCE_EXHAUSTED,
    category: 'user',
    retryable: false,
    description: 'The request body is larger than the configured limit.',
  },
  request_head_too_large: {
    code: 'VALIDATION_ERROR',
    httpStatus: 431,
    grpcStatus: GrpcStatus.RESOURCE_EXHAUSTED,
    category: 'user',
    retryable: false,
    description: "The request's URL and headers together are larger than the server accepts (16 KiB).",
  },
  unsupported_media_type: {
    code: 'VALIDATION_ERROR',
    httpStatus: 415,
    grpcStatus: GrpcStatus.INVALID_ARGUMENT,
    category: 'user',
    retryable: false,
    description: 'The request body is not sent as application/json.',
  },
  readonly_field: {
    code: 'READONLY_FIELD',
    httpStatus: 400,
    grpcStatus: GrpcStatus.INVALID_ARGUMENT,
    category: 'user',
    retryable: false,
    description: 'The request tries to set a field that Berth observes and does not accept as input.',
  },
  unauthenticated: {
    code: 'UNAUTHORIZED',
    httpStatus: 401,
    grpcStatus: GrpcStatus.UNAUTHENTICATED,
    category: 'user',
    retryable: false,
    description: 'No valid bearer token was sent, or the credentials are wrong, expired or revoked.',
  },
  forbidden_scope: {
    code: 'FORBIDDEN_SCOPE',
    httpStatus: 403,
    grpcStatus: GrpcStatus.PERMISSION_DENIED,
    category: 'user',
    retryable: false,
    description: "The token's scope does not cover this operation or object.",
  },
  forbidden_role: {
    code: 'FORBIDDEN_ROLE',
    httpStatus: 403,
    grpcStatus: GrpcStatus.PERMISSION_DENIED,
    category: 'user',
    retryable: false,
    description: "The caller's role in the organization does not permit this operation.",
  },
  not_found: {
    code: 'NOT_FOUND',
    httpStatus: 404,
    grpcStatus: GrpcStatus.NOT_FOUND,
    category: 'user',
    retryable: false,
    description: 'The addressed object does not exist or is not visible to the caller.',
  },
  route_not_found: {
    code: 'NOT_FOUND',
    httpStatus: 404,
    grpcStatus: GrpcStatus.UNIMPLEMENTED,
    category: 'user',
    retryable: false,
    description: 'No route matches the method and path.',
  },
  conflict: {
    code: 'CONFLICT',
    httpStatus: 409,
    grpcStatus: GrpcStatus.ALREADY_EXISTS,
    category: 'user',
    retryable: false,
    description:
      'The request conflicts with the current state: a duplicate name, a wrong lifecycle state, a second bootstrap.',
  },
  concurrent_update: {
    code: 'CONFLICT',
    httpStatus: 409,
    grpcStatus: GrpcStatus.ABORTED,
    category: 'retryable',
    retryable: true,
    description:
      'The object kept changing while this request wrote it (an agent reported meanwhile); retry the request.',
  },
  idempotency_key_reused: {
    code: 'IDEMPOTENCY_KEY_REUSED',
    httpStatus: 409,
    grpcStatus: GrpcStatus.ALREADY_EXISTS,
    category: 'user',
    retryable: false,
    description: 'An idempotency key was reused with a different request.',
  },
  rate_limited: {
    code: 'RATE_LIMITED',
    httpStatus: 429,
    grpcStatus: GrpcStatus.RESOURCE_EXHAUSTED,
    category: 'retryable',
    retryable: true,
    description: 'Too many attempts; retry after the number of seconds in the Retry-After header.',
  },
  service_unavailable: {
    code: 'SERVICE_UNAVAILABLE',
    httpStatus: 503,
    grpcStatus: GrpcStatus.UNAVAILABLE,
    category: 'infra',
    retryable: true,
    description: 'A dependency of the control plane (its database, an agent) is not reachable right now.',
  },
  internal: {
    code: 'INTERNAL',
    httpStatus: 500,
    grpcStatus: GrpcStatus.INTERNAL,
    category: 'infra',
    retryable: false,
    description: 'An unexpected failure inside Berth; the requestId finds it in the logs.',
  },
} as const satisfies Record<string, ErrorKindSpec>;

/** An internal error kind, a key of {@link errorKinds}. */
export type ErrorKind = keyof typeof errorKinds;

/** Scalar or string-array values only, so every client can render `details` without knowing its shape. */
export type ErrorDetails = Record<string, string | number | boolean | null | string[]>;

/** Optional parts of an {@link AppError}. */
export interface AppErrorOptions {
  /** The input field the error is about, as the client named it (`name`, `confirmation.projectId`, `limit`). */
  field?: string;
  /** What the caller can do about it. */
  hint?: string;
  details?: ErrorDetails;
  /** For `rate_limited`: seconds until a retry may succeed; becomes the Retry-After header. */
  retryAfterSeconds?: number;
  cause?: unknown;
}

/**
 * The one error type of Berth's own code. Services throw it with a kind from the table; the transports turn it
 * into the seed's envelope (HTTP) or a status (gRPC). Never match on `message`: it is for people.
 */
export class AppError extends Error {
  override readonly name = 'AppError';
  readonly kind: ErrorKind;
  readonly field: string | undefined;
  readonly hint: string | undefined;
  readonly details: ErrorDetails | undefined;
  readonly retryAfterSeconds: number | undefined;

  constructor(kind: ErrorKind, message: string, options: AppErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.kind = kind;
    this.field = options.field;
    this.hint = options.hint;
    this.details = options.details;
    this.retryAfterSeconds = options.retryAfterSeconds;
  }

  /** The table entry for this error's kind. */
  get spec(): ErrorKindSpec {
    return errorKinds[this.kind];
  }

  /**
   * Wraps anything thrown into an AppError: an AppError is returned as it is, anything else becomes `internal`
   * with the original kept as `cause` (for the log, never for the client).
   */
  static from(error: unknown): AppError {
    if (error instanceof AppError) return error;
    return new AppError('internal', 'Internal error.', { cause: error });
  }
}

/** Shorthand for the most common failure: an object that does not exist (or is not the caller's). */
export function notFound(what: string, id: string, field?: string): AppError {
  return new AppError('not_found', `${what} "${id}" was not found.`, field === undefined ? {} : { field });
}

/**
 * The stable codes an agent (or the control plane, about a command) gives a failed command: CommandResult's
 * `error_code`, stored on the command and shown as a deployment's `latestFailure.code`. Clients and the control plane
 * switch on them, so a code is never renamed; `docs/errors.md` lists them (checked by test/error-codes.test.ts).
 */
export const agentErrorCodes = {
  unknown_command:
    'The agent does not know the command kind (an older agent than the control plane); upgrade the agent.',
  invalid_payload:
    "The command's payload is not valid JSON or does not match the kind's schema; the message names the field.",
  handler_failed: 'The command handler failed unexpectedly; the agent log has the details.',
  unsupported: 'This agent was started without the collaborator the command needs (no container runtime).',
  deadline_exceeded: 'The command did not finish, or could not start, before its deadline.',
  invalid_result: "The agent's answer is not valid JSON or does not match the kind's result schema.",
  failed: 'The agent reported a failure without a code (an older agent).',
  canceled: 'The deployment was canceled; what it started was removed.',
  unhealthy: 'The new container never passed its health check; it was removed and the running version kept serving.',
  exited: 'The new container exited during verification; its exit code and last lines are in the log.',
  image_not_found: 'The image is neither on the server nor pullable under that name.',
  image_pull_failed: 'Pulling the image failed (registry unreachable, refused, or the pull broke off).',
  docker_unavailable: "The server's Docker engine does not answer.",
  container_create_failed: 'The Docker engine refused to create the container; the message carries its reason.',
  container_start_failed: 'The container was created but did not start (or did not become healthy after a start).',
  container_not_found: "The deployment's container is not on the server (removed outside Berth); redeploy.",
  container_not_running: "The deployment's container is stopped; start the resource before opening a terminal in it.",
  not_managed: 'The container is not labelled by Berth, so Berth leaves it alone.',
  engine_error: 'The Docker engine refused a call; the message carries its reason.',
  proxy_unavailable: "Caddy's admin API does not answer on the agent's BERTH_CADDY_ADMIN_URL.",
  proxy_rejected: "Caddy refused a config change; the message carries Caddy's own error. What it served is unchanged.",
  proxy_binary_missing:
    'No Caddy answers and there is no `caddy` binary on the server to start (apt-get install caddy).',
  proxy_start_failed:
    'The agent started Caddy but it exited or its admin API never answered; the message has its output.',
} as const satisfies Record<string, string>;

/** One of {@link agentErrorCodes}. */
export type AgentErrorCode = keyof typeof agentErrorCodes;

/**
 * The finer reasons of domain-binding and certificate failures: a refused request carries one in `details.reason`
 * (its public code stays `VALIDATION_ERROR` or `CONFLICT`), and a certificate attempt or ownership check that failed
 * stores one as its `errorCode`. Never renamed; `docs/errors.md` lists them (checked by the certificates tests).
 */
export const domainErrorCodes = {
  domain_name_invalid: 'The domain name is not lower-case RFC 1123 labels (1–63 characters each, 253 in all).',
  domain_name_wildcard: 'The domain name is a wildcard (`*.example.com`); bind each host name on its own.',
  domain_name_ip_literal: 'The domain name is an IP address; bind a DNS name that points at the server.',
  domain_already_bound: 'The domain is already bound (to this or another resource) on this Berth instance.',
  resource_scope_mismatch: 'The resource is not in the project and environment the request names.',
  redirect_target_invalid: 'The redirect target is not another live binding of the organization that serves traffic.',
  proxy_kind_unsupported: 'Berth routes bindings through Caddy only; `traefik` is refused.',
  ownership_record_missing: 'The ownership check found no TXT record or HTTP token (DNS may not have propagated yet).',
  ownership_mismatch: 'The ownership check found a TXT record or HTTP answer, but not the binding’s challenge token.',
  ownership_lookup_failed:
    'The ownership check could not complete (the DNS resolver or the HTTP server did not answer).',
  certificate_chain_invalid: '`certificateChain` holds no PEM certificate, or a block that is not one.',
  private_key_invalid: '`privateKey` is not a PEM private key Node can read.',
  private_key_encrypted: '`privateKey` is encrypted; import it unencrypted (Berth seals it at rest itself).',
  certificate_key_mismatch: 'The private key does not belong to the first (leaf) certificate of the chain.',
  certificate_chain_incomplete:
    'A certificate of the chain is not issued by the next one, or the last one is neither a root nor issued by a known root.',
  certificate_signature_invalid: "A certificate's signature does not verify with the next certificate's public key.",
  certificate_expired: 'A certificate of the chain is past its notAfter.',
  certificate_not_yet_valid: 'A certificate of the chain has a notBefore in the future.',
  certificate_domain_mismatch: "The leaf certificate's names do not cover the binding's domain.",
  certificate_tls_disabled:
    'The binding has tlsMode "disabled" or certificatePolicy "disabled": it takes no certificate.',
  certificate_policy_manual: 'The binding has certificatePolicy "manual": import a certificate instead of issuing one.',
  certificate_not_routed:
    'The binding has proxyKind "none": Berth\'s edge proxy does not serve it, so it cannot obtain a certificate for it.',
  certificate_active: 'The certificate is in use; revoke it (or import a replacement) before deleting it.',
  certificate_not_retriable: 'Only a managed certificate whose latest attempt failed can be retried.',
  certificate_not_served:
    'The edge proxy did not serve a certificate for the domain before the deadline (the ACME order failed, DNS does not point at the server, or the agent is away).',
  certificate_revoked:
    'The attempt ended before it was issued: its certificate was revoked, deleted or replaced by an import.',
  certificate_expired_unrenewed: 'A certificate reached its notAfter without a renewal being observed.',
  renewal_overdue: 'A managed certificate expires within 30 days and the edge proxy has not renewed it yet.',
  imported_certificate_expiring: 'An imported certificate expires within 30 days; import a renewed one.',
} as const satisfies Record<string, string>;

/** One of {@link domainErrorCodes}. */
export type DomainErrorCode = keyof typeof domainErrorCodes;
