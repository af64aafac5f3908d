import { Migration } from '@mikro-orm/migrations';

export class Migration20261123145133Initial extends Migration {
  override async up(): Promise<void> {
    this.addSql(
      'create table "login_failures" ("id" bigserial primary key, "key" varchar(400) not null, "failed_at" timestamptz not null)',
    );
    this.addSql('create index "login_failures_key_failed_at_index" on "login_failures" ("key", "failed_at")');
    this.addSql(
      'create table "organizations" ("id" varchar(255) not null, "name" varchar(100) not null, "slug" varchar(100) not null, "created_at" timestamptz not null, "updated_at" timestamptz not null, constraint "organizations_pkey" primary key ("id"))',
    );
    this.addSql('alter table "organizations" add constraint "organizations_slug_unique" unique ("slug")');
    this.addSql(
      'create table "projects" ("id" varchar(255) not null, "organization_id" varchar(255) not null, "name" varchar(100) not null, "name_key" varchar(100) not null, "slug" varchar(100) not null, "description" varchar(500) null, "lifecycle_status" text check ("lifecycle_status" in (\'active\', \'archived\', \'deleted\')) not null default \'active\', "archived_at" timestamptz null, "archive_reason" varchar(500) null, "created_at" timestamptz not null, "updated_at" timestamptz not null, "version" int not null default 1, constraint "projects_pkey" primary key ("id"))',
    );
    this.addSql(
      'alter table "projects" add constraint "projects_organization_id_name_key_unique" unique ("organization_id", "name_key")',
    );
    this.addSql(
      'alter table "projects" add constraint "projects_organization_id_slug_unique" unique ("organization_id", "slug")',
    );
    this.addSql(
      'create table "users" ("id" varchar(255) not null, "email" varchar(320) not null, "display_name" varchar(100) not null, "password_hash" varchar(300) not null, "created_at" timestamptz not null, "updated_at" timestamptz not null, constraint "users_pkey" primary key ("id"))',
    );
    this.addSql('alter table "users" add constraint "users_email_unique" unique ("email")');
    this.addSql(
      'create table "sessions" ("id" varchar(255) not null, "user_id" varchar(255) not null, "organization_id" varchar(255) not null, "token_hash" varchar(64) not null, "client_kind" varchar(20) not null, "display_name" varchar(100) null, "ip_address" varchar(64) null, "user_agent" varchar(500) null, "created_at" timestamptz not null, "expires_at" timestamptz not null, "last_active_at" timestamptz not null, "revoked_at" timestamptz null, constraint "sessions_pkey" primary key ("id"))',
    );
    this.addSql('alter table "sessions" add constraint "sessions_token_hash_unique" unique ("token_hash")');
    this.addSql(
      'create table "memberships" ("id" varchar(255) not null, "organization_id" varchar(255) not null, "user_id" varchar(255) not null, "role" text check ("role" in (\'owner\', \'admin\', \'member\', \'viewer\')) not null, "joined_at" timestamptz not null, constraint "memberships_pkey" primary key ("id"))',
    );
    this.addSql(
      'alter table "memberships" add constraint "memberships_organization_id_user_id_unique" unique ("organization_id", "user_id")',
    );
    this.addSql(
      'alter table "projects" add constraint "projects_organization_id_foreign" foreign key ("organization_id") references "organizations" ("id") on update cascade on delete cascade',
    );
    this.addSql(
      'alter table "sessions" add constraint "sessions_user_id_foreign" foreign key ("user_id") references "users" ("id") on update cascade on delete cascade',
    );
    this.addSql(
      'alter table "sessions" add constraint "sessions_organization_id_foreign" foreign key ("organization_id") references "organizations" ("id") on update cascade on delete cascade',
    );
    this.addSql(
      'alter table "memberships" add constraint "memberships_organization_id_foreign" foreign key ("organization_id") references "organizations" ("id") on update cascade on delete cascade',
    );
    this.addSql(
      'alter table "memberships" add constraint "memberships_user_id_foreign" foreign key ("user_id") references "users" ("id") on update cascade on delete cascade',
    );
  }
}
