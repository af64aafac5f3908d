import { Migration } from '@mikro-orm/migrations';

export class Migration20261123150145DeployTokens extends Migration {
  override async up(): Promise<void> {
    this.addSql(
      'create table "deploy_tokens" ("id" varchar(255) not null, "organization_id" varchar(255) not null, "created_by_id" varchar(255) null, "display_name" varchar(100) not null, "token_hash" varchar(64) not null, "secret_suffix" varchar(8) not null, "scope" jsonb not null, "status" text check ("status" in (\'active\', \'revoked\')) not null default \'active\', "created_at" timestamptz not null, "expires_at" timestamptz not null, "last_used_at" timestamptz null, "rotated_at" timestamptz null, "revoked_at" timestamptz null, constraint "deploy_tokens_pkey" primary key ("id"))',
    );
    this.addSql('alter table "deploy_tokens" add constraint "deploy_tokens_token_hash_unique" unique ("token_hash")');
    this.addSql(
      'alter table "deploy_tokens" add constraint "deploy_tokens_organization_id_foreign" foreign key ("organization_id") references "organizations" ("id") on update cascade on delete cascade',
    );
    this.addSql(
      'alter table "deploy_tokens" add constraint "deploy_tokens_created_by_id_foreign" foreign key ("created_by_id") references "users" ("id") on update cascade on delete set null',
    );
  }
}
