import { Migration } from '@mikro-orm/migrations';

/** Scheduled capacity prune policies: one per organization, scope and server (null: every server). */
export class Migration20261207231124CapacityPrunePolicies extends Migration {
  override async up(): Promise<void> {
    this.addSql(
      'create table "capacity_prune_policies" ("id" varchar(255) not null, "organization_id" varchar(255) not null, "scope" text check ("scope" in (\'defaults\', \'system\', \'organization\', \'project\', \'environment\', \'deployment-snapshot\')) not null, "server_id" varchar(60) null, "retention_days" int not null, "destructive" boolean not null, "categories" jsonb not null, "retry_on_failure" boolean not null, "enabled" boolean not null, "revision" int not null, "updated_at" timestamptz not null, "last_runs" jsonb not null default \'[]\', constraint "capacity_prune_policies_pkey" primary key ("id"))',
    );
    this.addSql(
      'alter table "capacity_prune_policies" add constraint "capacity_prune_policies_organization_id_scope_server_id_unique" unique nulls not distinct ("organization_id", "scope", "server_id")',
    );
    this.addSql(
      'alter table "capacity_prune_policies" add constraint "capacity_prune_policies_organization_id_foreign" foreign key ("organization_id") references "organizations" ("id") on update cascade on delete cascade',
    );
  }
}
