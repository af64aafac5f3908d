import { defineEntity, type InferEntity, p } from '@mikro-orm/core';

/** The control plane's internal CA; the private key is stored sealed by the key-encryption key, never in clear. */
export const CertificateAuthorityRecord = defineEntity({
  name: 'CertificateAuthorityRecord',
  tableName: 'certificate_authorities',
  properties: {
    id: p.string().primary(),
    certificatePem: p.text(),
    sealedPrivateKey: p.text(),
    createdAt: p.datetime(),
  },
});
export type CertificateAuthorityRecord = InferEntity<typeof CertificateAuthorityRecord>;
