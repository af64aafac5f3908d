import { Migration } from '@mikro-orm/migrations';

export class Migration20261123184432DefaultAccessPolicies extends Migration {
  override async up(): Promise<void> {
    this.addSql(
      'create table "default_access_policies" ("id" varchar(255) not null, "organization_id" varchar(255) not null, "scope_kind" text check ("scope_kind" in (\'system\', \'deployment-target\')) not null, "server_id" varchar(255) null, "scope_key" varchar(150) not null, "mode" text check ("mode" in (\'disabled\', \'provider\', \'custom-template\')) not null, "provider_key" varchar(60) null, "template_ref" varchar(255) null, "created_at" timestamptz not null, "updated_at" timestamptz not null, constraint "default_access_policies_pkey" primary key ("id"))',
    );
    this.addSql(
      'alter table "default_access_policies" add constraint "default_access_policies_organization_id_scope_key_unique" unique ("organization_id", "scope_key")',
    );
    this.addSql(
      'alter table "default_access_policies" add constraint "default_access_policies_organization_id_foreign" foreign key ("organization_id") references "organizations" ("id") on update cascade on delete cascade',
    );
    this.addSql(
      'alter table "default_access_policies" add constraint "default_access_policies_server_id_foreign" foreign key ("server_id") references "servers" ("id") on update cascade on delete cascade',
    );
  }
}
