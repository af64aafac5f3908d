import { type Static, Type } from 'typebox';
import { nullable } from './deployment-command.js';

/**
 * The edge-proxy commands (`edge.sync`, `edge.bootstrap`, `edge.inspect`) as they cross the wire. The control plane
 * owns what should be served (the edge document: host routes, TLS, imported certificates); the agent owns how it is
 * served (Caddy's admin API, the loopback resolver that names each resource's current container) and reports back
 * what Caddy really serves. See docs/edge-proxy.md.
 */

const port = Type.Integer({ minimum: 1, maximum: 65535 });
const hostname = Type.String({ minLength: 1, maxLength: 253 });

/** How a host route is served over TLS: not at all, a certificate Caddy obtains by ACME, or an imported one. */
export const edgeTlsModes = ['none', 'acme', 'imported'] as const;
export type EdgeTlsMode = (typeof edgeTlsModes)[number];

/** One host (and path prefix) Caddy serves for a resource, or redirects to another host. */
export const EdgeRouteSchema = Type.Object({
  /** Stable and unique in the document: the generated route of a resource, or a domain binding's id. */
  routeId: Type.String({ minLength: 1, maxLength: 100, pattern: '^[a-z0-9][a-z0-9-]*$' }),
  hostname,
  /** `/` for the whole host. */
  pathPrefix: Type.String({ minLength: 1, maxLength: 200 }),
  resourceId: Type.String({ minLength: 1 }),
  /** The container port the app listens on. */
  targetPort: port,
  tls: Type.Union([Type.Literal('none'), Type.Literal('acme'), Type.Literal('imported')]),
  /** With `tls` other than `none`, plain-HTTP requests for the host are redirected to HTTPS. */
  redirect: nullable(
    Type.Object({
      /** A host name (the canonical binding): the request's path and query are kept. */
      to: hostname,
      status: Type.Union([Type.Literal(301), Type.Literal(302), Type.Literal(307), Type.Literal(308)]),
    }),
  ),
});
export type EdgeRoute = Static<typeof EdgeRouteSchema>;

/** An imported certificate as it is stored while queued: the private key is added as the command is sent. */
export const EdgeCertificateQueuedSchema = Type.Object({
  certificateId: Type.String({ minLength: 1 }),
  hostnames: Type.Array(hostname),
  chainPem: Type.String({ minLength: 1 }),
});

/** An imported certificate, with its key, as the agent receives it. */
export const EdgeCertificateSchema = Type.Object({
  ...EdgeCertificateQueuedSchema.properties,
  keyPem: Type.String({ minLength: 1 }),
});
export type EdgeCertificate = Static<typeof EdgeCertificateSchema>;

const edgeDocumentFields = {
  /** Grows with every change of the server's edge document; an agent ignores one older than it applied. */
  version: Type.Integer({ minimum: 0 }),
  /** `none`: Berth's routes are removed from Caddy (anything else in Caddy is left alone). */
  proxyKind: Type.Union([Type.Literal('caddy'), Type.Literal('none')]),
  routes: Type.Array(EdgeRouteSchema),
};

/** `edge.sync`: the whole edge document of the server; the agent changes only what differs. */
export const EdgeSyncPayloadSchema = Type.Object({
  ...edgeDocumentFields,
  certificates: Type.Array(EdgeCertificateSchema),
});
export type EdgeSyncPayload = Static<typeof EdgeSyncPayloadSchema>;

/** `edge.sync` as it is queued: imported certificates without their private keys. */
export const EdgeSyncQueuedSchema = Type.Object({
  ...edgeDocumentFields,
  certificates: Type.Array(EdgeCertificateQueuedSchema),
});
export type EdgeSyncQueued = Static<typeof EdgeSyncQueuedSchema>;

/** What `edge.sync` answers. */
export const EdgeSyncResultSchema = Type.Object({
  /** The version now applied (an older one sent late answers with the newer version it keeps). */
  version: Type.Integer({ minimum: 0 }),
  status: Type.Union([Type.Literal('ready'), Type.Literal('disabled')]),
  /** Whether Caddy's config was changed (false: it already served exactly this). */
  changed: Type.Boolean(),
  appliedAt: Type.String(),
  httpPort: port,
  httpsPort: port,
});
export type EdgeSyncResult = Static<typeof EdgeSyncResultSchema>;

/** `edge.bootstrap`: make sure a Caddy answers on the agent's admin URL; start one from the host's binary if not. */
export const EdgeBootstrapPayloadSchema = Type.Object({});

/** What `edge.bootstrap` answers. */
export const EdgeBootstrapResultSchema = Type.Object({
  /** `started`: the agent started Caddy; `adopted`: one was already answering on the admin URL. */
  action: Type.Union([Type.Literal('started'), Type.Literal('adopted')]),
  caddyVersion: Type.String(),
  adminUrl: Type.String(),
  httpPort: port,
  httpsPort: port,
});
export type EdgeBootstrapResult = Static<typeof EdgeBootstrapResultSchema>;

/** `edge.inspect`: what Caddy serves now, and the certificate served for each of `hostnames` on the TLS port. */
export const EdgeInspectPayloadSchema = Type.Object({
  /** Only Berth's routes of these resources (all of Berth's routes when absent). */
  resourceIds: Type.Optional(Type.Array(Type.String({ minLength: 1 }))),
  /** Host names to open a TLS connection for (SNI) and read the served certificate of. */
  tlsHostnames: Type.Array(hostname),
});
export type EdgeInspectPayload = Static<typeof EdgeInspectPayloadSchema>;

/** The certificate served for one host name on the TLS port, read from a real handshake. */
export const ServedCertificateSchema = Type.Object({
  hostname,
  /** Whether a handshake for the name succeeded with a certificate that covers it. */
  served: Type.Boolean(),
  /** Why not, when not served (handshake refused, a certificate for other names, …). */
  error: Type.String(),
  issuer: nullable(Type.String()),
  subject: nullable(Type.String()),
  serialNumber: nullable(Type.String()),
  notBefore: nullable(Type.String()),
  notAfter: nullable(Type.String()),
  /** SHA-256 of the DER certificate, as `AA:BB:…`. */
  fingerprint: nullable(Type.String()),
  subjectAlternativeNames: Type.Array(Type.String()),
  /** e.g. `ECDSA P-256`, `RSA 2048`. */
  keyAlgorithm: nullable(Type.String()),
});
export type ServedCertificate = Static<typeof ServedCertificateSchema>;

/** One of Berth's routes as read back from Caddy's config. */
export const ServedRouteSchema = Type.Object({
  routeId: Type.String(),
  hostname,
  pathPrefix: Type.String(),
  scheme: Type.Union([Type.Literal('http'), Type.Literal('https')]),
  behavior: Type.Union([Type.Literal('serve'), Type.Literal('redirect')]),
  /** For a redirect: the Location it answers with (a template, e.g. `https://{host}{uri}`). */
  redirectTo: nullable(Type.String()),
  redirectStatus: nullable(Type.Integer()),
  resourceId: nullable(Type.String()),
  /** The name Caddy looks the upstream up by (the agent's resolver), and the port it dials. */
  upstreamName: nullable(Type.String()),
  upstreamPort: nullable(port),
  /** What that name resolves to now (the resource's current container), or null when nothing does. */
  resolvedUpstream: nullable(Type.String()),
});
export type ServedRoute = Static<typeof ServedRouteSchema>;

/** What `edge.inspect` answers. A Caddy that does not answer is a success with `reachable: false`. */
export const EdgeInspectResultSchema = Type.Object({
  observedAt: Type.String(),
  reachable: Type.Boolean(),
  error: Type.String(),
  adminUrl: Type.String(),
  httpPort: port,
  httpsPort: port,
  /** The edge document version the agent applied last (0 before any). */
  appliedVersion: Type.Integer({ minimum: 0 }),
  routes: Type.Array(ServedRouteSchema),
  /** Routes in Caddy that Berth did not create (left alone). */
  foreignRouteCount: Type.Integer({ minimum: 0 }),
  certificates: Type.Array(ServedCertificateSchema),
});
export type EdgeInspectResult = Static<typeof EdgeInspectResultSchema>;
