import { Migration } from '@mikro-orm/migrations';

export class Migration20261123170657EnvironmentsResources extends Migration {
  override async up(): Promise<void> {
    this.addSql(
      'create table "environments" ("id" varchar(255) not null, "organization_id" varchar(255) not null, "project_id" varchar(255) not null, "name" varchar(100) not null, "name_key" varchar(100) not null, "kind" text check ("kind" in (\'local\', \'development\', \'test\', \'staging\', \'production\', \'preview\', \'custom\')) not null, "parent_environment_id" varchar(255) null, "lifecycle_status" text check ("lifecycle_status" in (\'active\', \'locked\', \'archived\')) not null default \'active\', "locked_at" timestamptz null, "lock_reason" varchar(500) null, "archived_at" timestamptz null, "archive_reason" varchar(500) null, "created_at" timestamptz not null, "updated_at" timestamptz not null, "version" int not null default 1, constraint "environments_pkey" primary key ("id"))',
    );
    this.addSql(
      'create index "environments_organization_id_created_at_index" on "environments" ("organization_id", "created_at")',
    );
    this.addSql(
      'alter table "environments" add constraint "environments_project_id_name_key_unique" unique ("project_id", "name_key")',
    );
    this.addSql(
      'create table "resources" ("id" varchar(255) not null, "organization_id" varchar(255) not null, "project_id" varchar(255) not null, "environment_id" varchar(255) not null, "name" varchar(100) not null, "name_key" varchar(100) not null, "slug" varchar(60) not null, "kind" text check ("kind" in (\'application\', \'service\', \'database\', \'cache\', \'compose-stack\', \'worker\', \'static-site\', \'external\')) not null, "description" varchar(500) null, "services" jsonb not null, "source" jsonb null, "runtime_profile" jsonb null, "network_profile" jsonb null, "access_profile" jsonb null, "health_policy" jsonb null, "lifecycle_status" text check ("lifecycle_status" in (\'active\', \'archived\')) not null default \'active\', "archived_at" timestamptz null, "archive_reason" varchar(500) null, "created_at" timestamptz not null, "updated_at" timestamptz not null, "version" int not null default 1, constraint "resources_pkey" primary key ("id"))',
    );
    this.addSql(
      'create index "resources_organization_id_created_at_index" on "resources" ("organization_id", "created_at")',
    );
    this.addSql(
      'alter table "resources" add constraint "resources_environment_id_name_key_unique" unique ("environment_id", "name_key")',
    );
    this.addSql(
      'alter table "resources" add constraint "resources_environment_id_slug_unique" unique ("environment_id", "slug")',
    );
    this.addSql(
      'create table "config_entries" ("id" varchar(255) not null, "organization_id" varchar(255) not null, "environment_id" varchar(255) not null, "resource_id" varchar(255) null, "scope" text check ("scope" in (\'environment\', \'resource\')) not null, "owner_id" varchar(255) not null, "key" varchar(255) not null, "exposure" text check ("exposure" in (\'build-time\', \'runtime\')) not null, "kind" text check ("kind" in (\'plain-config\', \'secret\', \'provider-specific\', \'deployment-strategy\')) not null, "is_secret" boolean not null, "plain_value" text null, "sealed_value" text null, "created_at" timestamptz not null, "updated_at" timestamptz not null, constraint "config_entries_pkey" primary key ("id"))',
    );
    this.addSql('create index "config_entries_environment_id_index" on "config_entries" ("environment_id")');
    this.addSql('create index "config_entries_resource_id_index" on "config_entries" ("resource_id")');
    this.addSql(
      'alter table "config_entries" add constraint "config_entries_owner_id_key_exposure_is_secret_unique" unique ("owner_id", "key", "exposure", "is_secret")',
    );
    this.addSql(
      'alter table "environments" add constraint "environments_organization_id_foreign" foreign key ("organization_id") references "organizations" ("id") on update cascade on delete cascade',
    );
    this.addSql(
      'alter table "environments" add constraint "environments_project_id_foreign" foreign key ("project_id") references "projects" ("id") on update cascade on delete cascade',
    );
    this.addSql(
      'alter table "resources" add constraint "resources_organization_id_foreign" foreign key ("organization_id") references "organizations" ("id") on update cascade on delete cascade',
    );
    this.addSql(
      'alter table "resources" add constraint "resources_project_id_foreign" foreign key ("project_id") references "projects" ("id") on update cascade on delete cascade',
    );
    this.addSql(
      'alter table "resources" add constraint "resources_environment_id_foreign" foreign key ("environment_id") references "environments" ("id") on update cascade on delete cascade',
    );
    this.addSql(
      'alter table "config_entries" add constraint "config_entries_organization_id_foreign" foreign key ("organization_id") references "organizations" ("id") on update cascade on delete cascade',
    );
    this.addSql(
      'alter table "config_entries" add constraint "config_entries_environment_id_foreign" foreign key ("environment_id") references "environments" ("id") on update cascade on delete cascade',
    );
    this.addSql(
      'alter table "config_entries" add constraint "config_entries_resource_id_foreign" foreign key ("resource_id") references "resources" ("id") on update cascade on delete cascade',
    );
  }
}
