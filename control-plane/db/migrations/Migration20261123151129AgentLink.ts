import { Migration } from '@mikro-orm/migrations';

export class Migration20261123151129AgentLink extends Migration {
  override async up(): Promise<void> {
    this.addSql(
      'create table "certificate_authorities" ("id" varchar(255) not null, "certificate_pem" text not null, "sealed_private_key" text not null, "created_at" timestamptz not null, constraint "certificate_authorities_pkey" primary key ("id"))',
    );
    this.addSql(
      'create table "servers" ("id" varchar(255) not null, "organization_id" varchar(255) not null, "name" varchar(100) not null, "name_key" varchar(100) not null, "host" varchar(255) not null, "port" int null, "provider_key" varchar(60) not null, "target_kind" varchar(40) not null, "proxy_kind" varchar(20) not null, "lifecycle_status" text check ("lifecycle_status" in (\'active\', \'inactive\', \'deleted\')) not null default \'active\', "deactivated_at" timestamptz null, "deactivation_reason" varchar(500) null, "created_at" timestamptz not null, "updated_at" timestamptz not null, "connection_state" text check ("connection_state" in (\'never-connected\', \'connected\', \'unreachable\')) not null default \'never-connected\', "last_seen_at" timestamptz null, "connected_since" timestamptz null, "agent_version" varchar(40) null, "docker_version" varchar(40) null, "docker_reachable" boolean null, "host_facts" jsonb null, "credentials_revoked_at" timestamptz null, "certificate_serial" varchar(64) null, "certificate_not_after" timestamptz null, "version" int not null default 1, constraint "servers_pkey" primary key ("id"))',
    );
    this.addSql(
      'alter table "servers" add constraint "servers_organization_id_name_key_unique" unique ("organization_id", "name_key")',
    );
    this.addSql(
      'create table "agent_enrollments" ("id" varchar(255) not null, "server_id" varchar(255) not null, "token_hash" varchar(64) not null, "created_at" timestamptz not null, "expires_at" timestamptz not null, "used_at" timestamptz null, "superseded_at" timestamptz null, constraint "agent_enrollments_pkey" primary key ("id"))',
    );
    this.addSql(
      'alter table "agent_enrollments" add constraint "agent_enrollments_token_hash_unique" unique ("token_hash")',
    );
    this.addSql(
      'create table "agent_commands" ("id" varchar(255) not null, "server_id" varchar(255) not null, "kind" varchar(60) not null, "payload" jsonb not null, "state" text check ("state" in (\'queued\', \'sent\', \'acknowledged\', \'succeeded\', \'failed\', \'expired\')) not null default \'queued\', "issued_at" timestamptz not null, "deadline" timestamptz not null, "sent_at" timestamptz null, "send_count" int not null default 0, "acknowledged_at" timestamptz null, "completed_at" timestamptz null, "result" jsonb null, "error_code" varchar(60) null, "error_message" text null, constraint "agent_commands_pkey" primary key ("id"))',
    );
    this.addSql('create index "agent_commands_server_id_state_index" on "agent_commands" ("server_id", "state")');
    this.addSql(
      'alter table "servers" add constraint "servers_organization_id_foreign" foreign key ("organization_id") references "organizations" ("id") on update cascade on delete cascade',
    );
    this.addSql(
      'alter table "agent_enrollments" add constraint "agent_enrollments_server_id_foreign" foreign key ("server_id") references "servers" ("id") on update cascade on delete cascade',
    );
    this.addSql(
      'alter table "agent_commands" add constraint "agent_commands_server_id_foreign" foreign key ("server_id") references "servers" ("id") on update cascade on delete cascade',
    );
  }
}
