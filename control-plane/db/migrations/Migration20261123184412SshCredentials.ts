import { Migration } from '@mikro-orm/migrations';

export class Migration20261123184412SshCredentials extends Migration {
  override async up(): Promise<void> {
    this.addSql(
      'create table "ssh_credentials" ("id" varchar(255) not null, "organization_id" varchar(255) not null, "name" varchar(100) not null, "name_key" varchar(100) not null, "username" varchar(100) null, "public_key" text null, "sealed_private_key" text not null, "sealed_passphrase" text null, "created_at" timestamptz not null, "rotated_at" timestamptz null, constraint "ssh_credentials_pkey" primary key ("id"))',
    );
    this.addSql(
      'alter table "ssh_credentials" add constraint "ssh_credentials_organization_id_name_key_unique" unique ("organization_id", "name_key")',
    );
    this.addSql(
      'alter table "ssh_credentials" add constraint "ssh_credentials_organization_id_foreign" foreign key ("organization_id") references "organizations" ("id") on update cascade on delete cascade',
    );
    this.addSql(
      'alter table "servers" add column "ssh_credential_kind" text check ("ssh_credential_kind" in (\'local-ssh-agent\', \'ssh-private-key\', \'stored-ssh-private-key\')) null, add column "ssh_username" varchar(100) null, add column "ssh_public_key" text null, add column "sealed_ssh_private_key" text null, add column "sealed_ssh_passphrase" text null, add column "ssh_credential_id" varchar(255) null',
    );
    this.addSql(
      'alter table "servers" add constraint "servers_ssh_credential_id_foreign" foreign key ("ssh_credential_id") references "ssh_credentials" ("id") on update cascade on delete no action',
    );
  }
}
