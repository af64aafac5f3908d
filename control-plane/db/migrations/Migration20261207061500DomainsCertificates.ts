import { Migration } from '@mikro-orm/migrations';

export class Migration20261207061500DomainsCertificates extends Migration {
  override async up(): Promise<void> {
    this.addSql(
      'create table "domain_bindings" ("id" varchar(255) not null, "organization_id" varchar(255) not null, "project_id" varchar(255) not null, "environment_id" varchar(255) not null, "resource_id" varchar(255) not null, "server_id" varchar(255) null, "domain_name" varchar(253) not null, "domain_key" varchar(253) null, "path_prefix" varchar(200) not null, "proxy_kind" text check ("proxy_kind" in (\'none\', \'traefik\', \'caddy\')) not null, "tls_mode" text check ("tls_mode" in (\'auto\', \'disabled\')) not null, "certificate_policy" text check ("certificate_policy" in (\'auto\', \'manual\', \'disabled\')) not null, "redirect_to" varchar(253) null, "redirect_status" int null, "challenge_token" varchar(64) not null, "ownership_verified_at" timestamptz null, "verification_attempts" jsonb not null, "dns_observation" jsonb not null, "created_at" timestamptz not null, "updated_at" timestamptz not null, "deleted_at" timestamptz null, constraint "domain_bindings_pkey" primary key ("id"))',
    );
    this.addSql(
      'alter table "domain_bindings" add constraint "domain_bindings_domain_key_unique" unique ("domain_key")',
    );
    this.addSql(
      'create index "domain_bindings_organization_id_created_at_index" on "domain_bindings" ("organization_id", "created_at")',
    );
    this.addSql('create index "domain_bindings_resource_id_index" on "domain_bindings" ("resource_id")');
    this.addSql(
      'create table "certificates" ("id" varchar(255) not null, "organization_id" varchar(255) not null, "domain_binding_id" varchar(255) not null, "domain_name" varchar(253) not null, "source" text check ("source" in (\'managed\', \'imported\')) not null, "status" text check ("status" in (\'pending\', \'issuing\', \'active\', \'renewing\', \'failed\', \'expired\', \'disabled\', \'revoked\', \'deleted\')) not null, "provider_key" varchar(60) not null, "challenge_type" varchar(40) not null, "issued_at" timestamptz null, "not_before" timestamptz null, "expires_at" timestamptz null, "fingerprint" varchar(100) null, "serial_number" varchar(100) null, "issuer" varchar(500) null, "key_algorithm" varchar(40) null, "subject_alternative_names" jsonb not null, "chain_pem" text null, "sealed_private_key" text null, "attempts" jsonb not null, "expiry_warning" varchar(500) null, "observed_at" timestamptz null, "created_at" timestamptz not null, "updated_at" timestamptz not null, "revoked_at" timestamptz null, "deleted_at" timestamptz null, constraint "certificates_pkey" primary key ("id"))',
    );
    this.addSql(
      'create index "certificates_domain_binding_id_created_at_index" on "certificates" ("domain_binding_id", "created_at")',
    );
    this.addSql(
      'create index "certificates_organization_id_created_at_index" on "certificates" ("organization_id", "created_at")',
    );
    this.addSql(
      'alter table "domain_bindings" add constraint "domain_bindings_organization_id_foreign" foreign key ("organization_id") references "organizations" ("id") on update cascade on delete cascade',
    );
    this.addSql(
      'alter table "domain_bindings" add constraint "domain_bindings_project_id_foreign" foreign key ("project_id") references "projects" ("id") on update cascade on delete cascade',
    );
    this.addSql(
      'alter table "domain_bindings" add constraint "domain_bindings_environment_id_foreign" foreign key ("environment_id") references "environments" ("id") on update cascade on delete cascade',
    );
    this.addSql(
      'alter table "domain_bindings" add constraint "domain_bindings_resource_id_foreign" foreign key ("resource_id") references "resources" ("id") on update cascade on delete cascade',
    );
    this.addSql(
      'alter table "domain_bindings" add constraint "domain_bindings_server_id_foreign" foreign key ("server_id") references "servers" ("id") on update cascade on delete set null',
    );
    this.addSql(
      'alter table "certificates" add constraint "certificates_organization_id_foreign" foreign key ("organization_id") references "organizations" ("id") on update cascade on delete cascade',
    );
    this.addSql(
      'alter table "certificates" add constraint "certificates_domain_binding_id_foreign" foreign key ("domain_binding_id") references "domain_bindings" ("id") on update cascade on delete cascade',
    );
  }
}
