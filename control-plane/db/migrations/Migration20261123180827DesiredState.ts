import { Migration } from '@mikro-orm/migrations';

export class Migration20261123180827DesiredState extends Migration {
  override async up(): Promise<void> {
    this.addSql(
      'create table "server_desired_states" ("server_id" varchar(255) not null, "version" int not null, "document" jsonb not null, "updated_at" timestamptz not null, constraint "server_desired_states_pkey" primary key ("server_id"))',
    );
    this.addSql(
      'alter table "server_desired_states" add constraint "server_desired_states_server_id_foreign" foreign key ("server_id") references "servers" ("id") on update cascade on delete cascade',
    );
  }
}
